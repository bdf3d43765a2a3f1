//! Durations as users write them: `250ms`, `2s`, `1m`, `1m30s`, `1h`, or plain
//! seconds `2`, `1.5`. Kept in whole milliseconds.

use crate::line::Line;

/// The longest duration accepted: a day, far beyond any health check, and small
/// enough that no arithmetic on it can overflow.
pub const MAX_MS: u64 = 24 * 60 * 60 * 1000;

/// Parses a duration into milliseconds. `None` for anything malformed, zero,
/// or over [`MAX_MS`].
pub fn parse_ms(text: &[u8]) -> Option<u64> {
    let mut total: u64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        // Whole part, then an optional fraction of up to three digits.
        let mut whole: u64 = 0;
        let mut digits = 0;
        while let Some(&d @ b'0'..=b'9') = rest.first() {
            whole = whole.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            rest = &rest[1..];
            digits += 1;
        }
        let mut thousandths: u64 = 0;
        if rest.first() == Some(&b'.') {
            rest = &rest[1..];
            if !matches!(rest.first(), Some(b'0'..=b'9')) {
                return None;
            }
            let mut scale = 100;
            while let Some(&d @ b'0'..=b'9') = rest.first() {
                thousandths += u64::from(d - b'0') * scale;
                scale /= 10;
                rest = &rest[1..];
                digits += 1;
            }
        }
        if digits == 0 {
            return None;
        }
        let (unit_ms, unit_len) = match rest {
            [b'm', b's', ..] => (1, 2),
            [b's', ..] => (1000, 1),
            [b'm', ..] => (60_000, 1),
            [b'h', ..] => (3_600_000, 1),
            // A bare number is seconds, and only on its own (`2`, not `1m2`).
            [] if total == 0 => (1000, 0),
            _ => return None,
        };
        rest = &rest[unit_len..];
        let part = whole
            .checked_mul(unit_ms)?
            .checked_add(thousandths * unit_ms / 1000)?;
        total = total.checked_add(part)?;
        if total > MAX_MS {
            return None;
        }
    }
    (total > 0).then_some(total)
}

/// Appends a duration the short way: `2s`, `90s`, `250ms`, `1500ms`.
pub fn push(line: &mut Line, ms: u64) {
    if ms.is_multiple_of(1000) {
        line.push_u64(ms / 1000).push(b"s");
    } else {
        line.push_u64(ms).push(b"ms");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_spec_forms() {
        for (text, ms) in [
            ("250ms", 250),
            ("2s", 2000),
            ("1m", 60_000),
            ("1m30s", 90_000),
            ("2", 2000),
            ("1.5", 1500),
            ("0.25", 250),
            ("1.5s", 1500),
            ("1h", 3_600_000),
            ("1h1m1s1ms", 3_661_001),
            ("24h", MAX_MS),
        ] {
            assert_eq!(parse_ms(text.as_bytes()), Some(ms), "{text}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for text in [
            "",
            "0",
            "0s",
            "s",
            "ms",
            "-1",
            "1x",
            "1 s",
            "1.",
            ".",
            "1m2",
            "25h",
            "1s1",
            "+1",
            "99999999999999999999",
            "1.5.5",
            "2S",
        ] {
            assert_eq!(parse_ms(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn prints_short_forms() {
        for (ms, text) in [
            (2000, "2s"),
            (90_000, "90s"),
            (250, "250ms"),
            (1500, "1500ms"),
        ] {
            let mut line = Line::new();
            push(&mut line, ms);
            assert_eq!(line.as_bytes(), text.as_bytes());
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24)) {
            let _ = parse_ms(&text);
        }

        #[test]
        fn whole_seconds_round_trip(s in 1u64..86_400) {
            proptest::prop_assert_eq!(parse_ms(format!("{s}s").as_bytes()), Some(s * 1000));
            proptest::prop_assert_eq!(parse_ms(format!("{s}").as_bytes()), Some(s * 1000));
        }
    }
}
