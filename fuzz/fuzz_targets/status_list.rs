//! `-s` status lists on arbitrary bytes, against a plain reference: the same
//! texts are accepted, the same codes contained, and no code outside
//! 100..=599 is ever contained.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchprobe::proto::http::status_list::{MAX_RANGES, StatusList};

fuzz_target!(|text: &[u8]| {
    let fast = StatusList::parse(text);
    let reference = reference(text);
    assert_eq!(fast.is_some(), reference.is_some(), "{text:?}");
    if let (Some(fast), Some(ranges)) = (fast, reference) {
        for code in 0..=1000 {
            let want = ranges.iter().any(|&(l, h)| l <= code && code <= h);
            assert_eq!(fast.contains(code), want, "{code} in {text:?}");
            if want {
                assert!((100..=599).contains(&code));
            }
        }
    }
});

fn reference(text: &[u8]) -> Option<Vec<(u16, u16)>> {
    let text = std::str::from_utf8(text).ok()?;
    let code = |s: &str| {
        (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u16>().unwrap())
            .filter(|c| (100..=599).contains(c))
    };
    let mut ranges = Vec::new();
    for item in text.split(',') {
        let (l, h) = item.split_once('-').unwrap_or((item, item));
        let (l, h) = (code(l)?, code(h)?);
        if l > h {
            return None;
        }
        ranges.push((l, h));
    }
    (ranges.len() <= MAX_RANGES).then_some(ranges)
}
