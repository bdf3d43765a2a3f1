//! Durations as users write them: `250ms`, `2s`, `1m`, `1m30s`, `1h`, or plain
//! seconds `2`, `1.5`. Kept in whole milliseconds.

use crate::text::line::Line;

/// The longest duration accepted: a day, far beyond any health check.
pub const MAX_MS: u64 = 24 * 60 * 60 * 1000;

/// Parses a duration into milliseconds. `None` for anything malformed, zero,
/// or over [`MAX_MS`]. Each part is a number with an optional fraction of
/// which three digits count (`1.5`, `.25s`, `0.0015m`), then its unit; a
/// bare number is seconds and only allowed alone.
pub fn parse_ms(text: &[u8]) -> Option<u64> {
    // The number's digits (whole part and up to three of the fraction) are
    // held at N_MAX: that is past a day in any unit, so refused anyway, and
    // no product below overflows.
    const N_MAX: u64 = 1_000_000_000_000;
    let mut total: u64 = 0;
    let mut i = 0;
    while i < text.len() {
        let start = i;
        // The digits as one number, 10^(fraction digits kept), or 0 before a
        // dot, and the digits read (after the dot, once there is one).
        let mut n: u64 = 0;
        let mut scale: u64 = 0;
        let mut digits = 0;
        while let Some(&b) = text.get(i) {
            let digit = u64::from(b.wrapping_sub(b'0'));
            if digit <= 9 {
                if scale < 1000 {
                    n = (n * 10 + digit).min(N_MAX);
                    scale *= 10;
                }
                digits += 1;
            } else if b == b'.' && scale == 0 {
                scale = 1;
                digits = 0;
            } else {
                break;
            }
            i += 1;
        }
        if digits == 0 {
            return None;
        }
        let unit: u64 = match text.get(i) {
            Some(b'm') if text.get(i + 1) == Some(&b's') => {
                i += 1;
                1
            }
            Some(b's') => 1000,
            Some(b'm') => 60_000,
            Some(b'h') => 3_600_000,
            // A bare number is seconds, and only on its own (`2`, not `1m2`).
            None if start == 0 => 1000,
            _ => return None,
        };
        i += 1;
        total += n * unit / scale.max(1);
        if total > MAX_MS {
            return None;
        }
    }
    (total > 0).then_some(total)
}

/// Appends a duration the short way: `2s`, `90s`, `250ms`, `1500ms`.
pub fn push(line: &mut Line, ms: u64) {
    if ms.is_multiple_of(1000) {
        line.push_decimal(ms / 1000).push(b"s");
    } else {
        line.push_decimal(ms).push(b"ms");
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
            (".5", 500),
            ("0.0015m", 60),
            ("1.9999s", 1999),
            ("0000000000001s", 1000),
            ("1m0.5ms", 60_000),
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
            "0s2",
            "0m0.5",
            "0.5ms",
            "1.s",
            "1e3",
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

    /// A plain reference: `NUMBER` alone (seconds), or one or more `NUMBER
    /// UNIT` with UNIT one of `ms`, `s`, `m`, `h`; NUMBER is digits with an
    /// optional fraction, of which the first three digits count (rounded
    /// down, in the unit's thousandths).
    fn reference(text: &str) -> Option<u64> {
        let mut total: u128 = 0;
        let mut rest = text;
        let mut first = true;
        while !rest.is_empty() {
            let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (int, mut after) = rest.split_at(int_len);
            let mut frac = "";
            if let Some(f) = after.strip_prefix('.') {
                (frac, after) = f.split_at(f.bytes().take_while(u8::is_ascii_digit).count());
                if frac.is_empty() {
                    return None;
                }
            }
            if int.is_empty() && frac.is_empty() {
                return None;
            }
            let whole: u128 =
                int.parse()
                    .unwrap_or(if int.is_empty() { 0 } else { u128::MAX >> 2 });
            let thousandths: u128 = format!("{frac:0<3}")[..3].parse().unwrap();
            let (unit, unit_len) = match after.as_bytes() {
                [b'm', b's', ..] => (1, 2),
                [b's', ..] => (1000, 1),
                [b'm', ..] => (60_000, 1),
                [b'h', ..] => (3_600_000, 1),
                // A bare number: seconds, alone.
                [] if first => (1000, 0),
                _ => return None,
            };
            total = total.saturating_add(whole.saturating_mul(unit) + thousandths * unit / 1000);
            rest = &after[unit_len..];
            first = false;
        }
        (total > 0 && total <= u128::from(MAX_MS)).then_some(total as u64)
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_reference(text in "[0-9.smh]{0,12}|[0-9]{0,14}(\\.[0-9]{0,5})?(ms|s|m|h)?") {
            proptest::prop_assert_eq!(parse_ms(text.as_bytes()), reference(&text), "{}", text);
        }

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
