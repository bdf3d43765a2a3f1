//! The incremental status-line parser on arbitrary responses. The first input
//! byte chooses a split point in the rest: feeding the response whole, in two
//! pieces at that point, and byte by byte must give the same answer, which
//! must also be a plain reference implementation's. A final code is always
//! 101 or in 200..=599.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchprobe::proto::http::reference;
use scratchprobe::proto::http::status_line::StatusLine;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, response)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut) % (response.len() + 1);

    let whole = StatusLine::new().feed(response);
    if let Ok(Some(code)) = whole {
        assert!((100..=599).contains(&code), "code {code} out of range");
        assert!(
            code == 101 || code >= 200,
            "interim {code} returned as final"
        );
    }

    let mut parser = StatusLine::new();
    let split = match parser.feed(&response[..cut]) {
        Ok(None) => parser.feed(&response[cut..]),
        decided => decided,
    };
    assert_eq!(split, whole, "split at {cut} of {response:?}");

    let mut parser = StatusLine::new();
    let mut bytewise = Ok(None);
    for b in response {
        bytewise = parser.feed(core::slice::from_ref(b));
        if bytewise != Ok(None) {
            break;
        }
    }
    assert_eq!(bytewise, whole, "byte by byte, {response:?}");

    assert_eq!(
        whole,
        reference::status_line(response),
        "reference, {response:?}"
    );
});
