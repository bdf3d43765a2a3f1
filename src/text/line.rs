//! A fixed-capacity byte line: how every message is assembled without an
//! allocator. Pushing past the capacity silently truncates, so no message can
//! overflow its buffer or the 200-byte output limit.

/// Capacity of one output line, newline included; the spec caps lines at 200.
pub const LINE_MAX: usize = 199;

/// A byte string of at most `LINE_MAX` bytes, built by appending.
// C layout, `len` first: it is then at a small offset, which x86_64
// instructions encode in one byte instead of four.
#[repr(C)]
pub struct Line {
    len: u8,
    /// Room for any `u8` length, so that indexing with `len` needs no bounds
    /// check (less code); only the first `LINE_MAX` bytes are ever used.
    buf: [u8; 256],
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl Line {
    /// An empty line.
    pub const fn new() -> Self {
        Self {
            len: 0,
            buf: [0; 256],
        }
    }

    /// Appends `bytes`, keeping what fits.
    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            if usize::from(self.len) == LINE_MAX {
                break;
            }
            self.buf[usize::from(self.len)] = b;
            self.len += 1;
        }
        self
    }

    /// Appends `n` in decimal.
    pub fn push_u64(&mut self, n: u64) -> &mut Self {
        self.push(decimal(n, &mut [0; 20]))
    }

    /// Bytes pushed so far.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when nothing has been pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops everything after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.len = len as u8;
        }
    }

    /// The line's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

/// `n` in decimal, written at the end of `digits`: the one integer formatter.
pub fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_text_and_numbers() {
        let mut line = Line::new();
        line.push(b"HTTP ").push_u64(503);
        assert_eq!(line.as_bytes(), b"HTTP 503");
        let mut zero = Line::new();
        zero.push_u64(0).push(b"/").push_u64(u64::MAX);
        assert_eq!(zero.as_bytes(), b"0/18446744073709551615");
    }

    #[test]
    fn truncates_at_capacity() {
        let mut line = Line::new();
        for _ in 0..100 {
            line.push(b"abc");
        }
        assert_eq!(line.len(), LINE_MAX);
    }
}
