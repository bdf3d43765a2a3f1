//! Accepted HTTP statuses: `-s 200`, `-s 200-299`, `-s 200-299,304`.

/// How many ranges one list may hold.
pub const MAX_RANGES: usize = 8;

/// A short list of inclusive status ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusList {
    ranges: [(u16, u16); MAX_RANGES],
    len: usize,
}

impl StatusList {
    /// Kubernetes' rule: 200 to 399.
    pub const DEFAULT: StatusList = StatusList {
        ranges: [(200, 399); MAX_RANGES],
        len: 1,
    };

    /// Parses a comma-separated list of codes (`304`) and inclusive ranges
    /// (`200-299`), each code three digits from 100 to 599; `None` when the
    /// text is anything else or holds more than [`MAX_RANGES`] items.
    pub fn parse(text: &[u8]) -> Option<StatusList> {
        let mut list = StatusList {
            ranges: [(0, 0); MAX_RANGES],
            len: 0,
        };
        for item in text.split(|&b| b == b',') {
            let mut ends = item.split(|&b| b == b'-');
            let low = code(ends.next()?)?;
            let high = match ends.next() {
                Some(high) => code(high)?,
                None => low,
            };
            if ends.next().is_some() || low > high {
                return None;
            }
            *list.ranges.get_mut(list.len)? = (low, high);
            list.len += 1;
        }
        Some(list)
    }

    /// True when `code` is in one of the ranges.
    pub fn contains(&self, code: u16) -> bool {
        self.ranges[..self.len]
            .iter()
            .any(|&(low, high)| low <= code && code <= high)
    }
}

/// A status code: exactly three digits, 100 to 599.
fn code(text: &[u8]) -> Option<u16> {
    let [a, b, c] = *text else { return None };
    if ![a, b, c].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
    (100..=599).contains(&code).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists() {
        let list = StatusList::parse(b"200-299,304").unwrap();
        assert!(list.contains(200) && list.contains(299) && list.contains(304));
        assert!(!list.contains(300) && !list.contains(199) && !list.contains(305));
        let one = StatusList::parse(b"503").unwrap();
        assert!(one.contains(503) && !one.contains(200));
        assert!(StatusList::DEFAULT.contains(200) && StatusList::DEFAULT.contains(399));
        assert!(!StatusList::DEFAULT.contains(400) && !StatusList::DEFAULT.contains(101));
        assert!(StatusList::parse(b"1,2,3").is_none());
        assert!(StatusList::parse(b"100,101,102,103,200,201,202,203").is_some());
    }

    #[test]
    fn refuses_bad_lists() {
        for text in [
            "",
            ",",
            "200,",
            "200-",
            "-200",
            "299-200",
            "2000",
            "20",
            "600",
            "099",
            "200-600",
            "200 ",
            "a",
            "200-299-300",
            "100,101,102,103,200,201,202,203,204",
        ] {
            assert_eq!(StatusList::parse(text.as_bytes()), None, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_reference(text in "[0-9,-]{0,20}", code in 100u16..600) {
            let reference = (|| {
                let mut ranges = Vec::new();
                for item in text.split(',') {
                    let (l, h) = item.split_once('-').unwrap_or((item, item));
                    let p = |s: &str| (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
                        .then(|| s.parse::<u16>().unwrap())
                        .filter(|c| (100..=599).contains(c));
                    let (l, h) = (p(l)?, p(h)?);
                    if l > h { return None; }
                    ranges.push((l, h));
                }
                (ranges.len() <= MAX_RANGES).then_some(ranges)
            })();
            let fast = StatusList::parse(text.as_bytes());
            proptest::prop_assert_eq!(fast.is_some(), reference.is_some());
            if let (Some(f), Some(r)) = (fast, reference) {
                proptest::prop_assert_eq!(f.contains(code), r.iter().any(|&(l, h)| l <= code && code <= h));
            }
        }
    }
}
