//! Text every layer shares, pure and without syscalls: the fixed-capacity
//! [`line::Line`] messages are built in, durations as users write and read
//! them, and decimal numbers.

pub mod buffer;
pub mod duration;
pub mod line;
pub mod percent;

use core::ffi::CStr;

/// The longest path passed to the kernel, its NUL included (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;

/// `path` with a NUL after it, in `buf`, for a syscall that takes a path;
/// `None` when it does not fit or holds a NUL itself.
pub fn c_path<'b>(path: &[u8], buf: &'b mut [u8; PATH_MAX]) -> Option<&'b CStr> {
    let with_nul = buf.get_mut(..=path.len())?;
    with_nul[..path.len()].copy_from_slice(path);
    with_nul[path.len()] = 0;
    CStr::from_bytes_with_nul(with_nul).ok()
}

/// `n` in decimal, written at the end of `digits` (20 digits hold any `u64`).
pub fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &digits[start..];
        }
    }
}

/// Writes bytes into a buffer one after the other, counting those that did
/// not fit too: a request is built in one pass and refused whole if it was
/// too long, never sent cut.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }

    /// Appends `bytes`.
    // Never inlined, as `Line::push`: constant bytes would be spelled out as
    // store instructions.
    #[inline(never)]
    pub fn put(&mut self, bytes: &[u8]) {
        if let Some(room) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            room.copy_from_slice(bytes);
        }
        self.len += bytes.len();
    }

    /// Appends one byte.
    pub fn put_byte(&mut self, byte: u8) {
        self.put(&[byte]);
    }

    /// How many bytes were written (or would have been).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Overwrites bytes written before, at `at`; a no-op where they did not fit.
    pub fn patch(&mut self, at: usize, bytes: &[u8]) {
        if let Some(room) = self.buf.get_mut(at..at + bytes.len()) {
            room.copy_from_slice(bytes);
        }
    }

    /// The length written, if all of it fit.
    pub fn finish(self) -> Option<usize> {
        (self.len <= self.buf.len()).then_some(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_paths() {
        let mut buf = [0u8; PATH_MAX];
        assert_eq!(c_path(b"/tmp/x", &mut buf).unwrap().to_bytes(), b"/tmp/x");
        assert!(c_path(b"a\0b", &mut buf).is_none());
        assert!(c_path(&[b'a'; PATH_MAX], &mut buf).is_none());
        assert!(c_path(&[b'a'; PATH_MAX - 1], &mut buf).is_some());
    }

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 65535, u64::MAX] {
            assert_eq!(decimal(n, &mut [0; 20]), n.to_string().as_bytes());
        }
    }

    #[test]
    fn writer_counts_what_does_not_fit() {
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        w.put(b"ab");
        w.put(b"cde");
        w.put_byte(b'f');
        assert_eq!(w.len(), 6);
        assert_eq!(w.finish(), None);
        let mut w = Writer::new(&mut buf);
        w.put(b"abcd");
        w.patch(1, b"X");
        w.patch(3, b"YZ");
        assert_eq!(w.finish(), Some(4));
        assert_eq!(&buf, b"aXcd");
    }
}
