//! Small byte-string helpers, written as plain loops: core's versions are
//! vectorised, several times larger, and buy nothing on strings this short.

use core::ffi::CStr;

/// ASCII case-insensitive equality.
pub fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// True when `byte` occurs in `haystack`.
#[allow(clippy::manual_contains)] // `contains` is the vectorised one
pub fn has(haystack: &[u8], byte: u8) -> bool {
    haystack.iter().any(|&b| b == byte)
}

/// Entry `n` of a NUL-separated list (empty past the end).
pub fn nth(list: &[u8], n: usize) -> &[u8] {
    let mut rest = list;
    for _ in 0..n {
        rest = &rest[until(rest, 0)..];
        rest = rest.get(1..).unwrap_or_default();
    }
    &rest[..until(rest, 0)]
}

/// How many bytes of `text` come before the first `byte` (all if none).
pub fn until(text: &[u8], byte: u8) -> usize {
    text.iter().position(|&b| b == byte).unwrap_or(text.len())
}

/// The first entry of `list`, a string of NUL-terminated entries, that `text`
/// starts with: its index and length; past the last entry, the number of
/// entries and 0. One string and one loop are smaller than a table of slices.
pub fn prefix_in(list: &[u8], text: &[u8]) -> (usize, usize) {
    let mut index = 0;
    let mut len = 0;
    let mut matches = true;
    for &b in list {
        if b == 0 {
            if matches {
                return (index, len);
            }
            index += 1;
            len = 0;
            matches = true;
        } else {
            matches &= text.get(len) == Some(&b);
            len += 1;
        }
    }
    (index, 0)
}

/// Longest path passed to the kernel, NUL included (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;

/// Copies `path` into `buf` with a NUL after it, for the kernel; `None` when
/// it does not fit or holds a NUL. One shared conversion, instead of one
/// inlined at every rustix call that takes a path.
pub fn c_path<'b>(path: &[u8], buf: &'b mut [u8; PATH_MAX]) -> Option<&'b CStr> {
    let with_nul = buf.get_mut(..=path.len())?;
    for (to, &b) in with_nul.iter_mut().zip(path) {
        if b == 0 {
            return None;
        }
        *to = b;
    }
    with_nul[path.len()] = 0;
    CStr::from_bytes_until_nul(with_nul).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert!(eq_ignore_case(b"LocalHost", b"localhost"));
        assert!(!eq_ignore_case(b"localhost.", b"localhost"));
        assert!(has(b"a:b", b':') && !has(b"ab", b':'));
        let mut buf = [0u8; PATH_MAX];
        assert_eq!(c_path(b"/tmp/x", &mut buf).unwrap().to_bytes(), b"/tmp/x");
        assert!(c_path(b"a\0b", &mut buf).is_none());
        assert!(c_path(&[b'a'; PATH_MAX], &mut buf).is_none());
        assert!(c_path(&[b'a'; PATH_MAX - 1], &mut buf).is_some());
        assert_eq!(prefix_in(b"ab\0c\0", b"abc"), (0, 2));
        assert_eq!(prefix_in(b"ab\0c\0", b"cd"), (1, 1));
        assert_eq!(prefix_in(b"ab\0c\0", b"a"), (2, 0));
    }
}
