//! Durations (`-t`, `max-age=`) on arbitrary bytes, against a plain
//! reference; an accepted duration is 1 ms to a day, and printing it the
//! short way reads back as the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchprobe::text::duration::{self, MAX_MS};
use scratchprobe::text::line::Line;

/// KNOWN BUG (reported, not yet fixed): `parse_ms` takes a bare number
/// after parts that add up to zero (`0s2` is 2 s, `0m0.5` is 500 ms), though
/// a bare number is meant to stand alone. Set to `false` once it refuses
/// them; the seed `zero_then_bare` then checks the fix.
const KNOWN_ZERO_PREFIX: bool = false;

fuzz_target!(|text: &[u8]| {
    let fast = duration::parse_ms(text);
    assert_eq!(fast, reference(text), "{text:?}");
    if let Some(ms) = fast {
        assert!((1..=MAX_MS).contains(&ms));
        let mut line = Line::new();
        duration::push(&mut line, ms);
        assert_eq!(
            duration::parse_ms(line.as_bytes()),
            Some(ms),
            "{ms} printed as {:?}",
            line.as_bytes()
        );
    }
});

/// `NUMBER` alone (seconds), or one or more `NUMBER UNIT` with UNIT one of
/// `ms`, `s`, `m`, `h`; NUMBER is digits with an optional fraction, of which
/// the first three digits count (rounded down, in the unit's thousandths).
fn reference(text: &[u8]) -> Option<u64> {
    let mut parts: Vec<(u128, u128, &[u8])> = Vec::new(); // (whole, thousandths, unit)
    let mut rest = text;
    while !rest.is_empty() {
        let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let (int, after) = rest.split_at(int_len);
        let (frac, after): (&[u8], &[u8]) = match after.strip_prefix(b".") {
            Some(f) => {
                let n = f.iter().take_while(|b| b.is_ascii_digit()).count();
                if n == 0 {
                    return None;
                }
                f.split_at(n)
            }
            None => (&[], after),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let whole = int.iter().fold(0u128, |v, d| {
            v.saturating_mul(10).saturating_add(u128::from(d - b'0'))
        });
        let mut thousandths = 0u128;
        for i in 0..3 {
            thousandths = thousandths * 10 + frac.get(i).map_or(0, |d| u128::from(d - b'0'));
        }
        let unit_len = if after.starts_with(b"ms") {
            2
        } else if matches!(after.first(), Some(b's' | b'm' | b'h')) {
            1
        } else {
            0
        };
        parts.push((whole, thousandths, &after[..unit_len]));
        rest = &after[unit_len..];
    }
    let unit_ms = |unit: &[u8]| match unit {
        b"ms" => 1u128,
        b"s" | b"" => 1000,
        b"m" => 60_000,
        _ => 3_600_000,
    };
    let mut total: u128 = 0;
    for (i, &(whole, thousandths, unit)) in parts.iter().enumerate() {
        if unit.is_empty() {
            // A bare number is seconds, and only on its own.
            let alone = parts.len() == 1;
            if i + 1 != parts.len() || !(alone || (KNOWN_ZERO_PREFIX && total == 0)) {
                return None;
            }
        }
        let u = unit_ms(unit);
        total = total.saturating_add(
            whole
                .saturating_mul(u)
                .saturating_add(thousandths * u / 1000),
        );
    }
    (total > 0 && total <= u128::from(MAX_MS)).then_some(total as u64)
}
