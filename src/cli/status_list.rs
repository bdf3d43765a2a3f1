//! Accepted HTTP statuses: `-s 200`, `-s 200-299`, `-s 200-299,304`.

/// How many ranges one list may hold.
pub const MAX_RANGES: usize = 8;

/// A short list of inclusive status ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusList {
    ranges: [(u16, u16); MAX_RANGES],
    len: u8,
}

impl StatusList {
    /// Kubernetes' rule: 200 to 399.
    pub const DEFAULT: StatusList = StatusList {
        ranges: [(200, 399); MAX_RANGES],
        len: 1,
    };

    /// Parses a comma-separated list of codes and ranges, each in 100..=599.
    pub fn parse(text: &[u8]) -> Option<StatusList> {
        let mut list = StatusList::DEFAULT;
        list.set(text).then_some(list)
    }

    /// Replaces the list with the one `text` gives, in place; false when
    /// `text` is not a valid list (the list is then unspecified).
    pub fn set(&mut self, text: &[u8]) -> bool {
        self.len = 0;
        // The code being read and its digit count; the low end of a range
        // after its `-` (0 before).
        let mut code: u16 = 0;
        let mut digits = 0;
        let mut low = 0;
        let mut i = 0;
        while i <= text.len() {
            // The end closes the last item as a comma does.
            let b = text.get(i).copied().unwrap_or(b',');
            i += 1;
            let digit = b.wrapping_sub(b'0');
            if digit <= 9 {
                // Wrapping: past three digits the code is refused anyway.
                code = code.wrapping_mul(10).wrapping_add(u16::from(digit));
                digits += 1;
                continue;
            }
            if digits != 3 || !(100..=599).contains(&code) {
                return false;
            }
            if b == b'-' && low == 0 {
                low = code;
            } else if b == b',' {
                if low == 0 {
                    low = code;
                }
                let Some(slot) = self.ranges.get_mut(usize::from(self.len)) else {
                    return false;
                };
                if low > code {
                    return false;
                }
                *slot = (low, code);
                self.len += 1;
                low = 0;
            } else {
                return false;
            }
            code = 0;
            digits = 0;
        }
        true
    }

    /// True when `code` is in one of the ranges.
    pub fn contains(&self, code: u16) -> bool {
        self.ranges[..usize::from(self.len)]
            .iter()
            .any(|&(low, high)| low <= code && code <= high)
    }
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
