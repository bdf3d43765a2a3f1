//! A fixed-capacity byte line: how every message is assembled without an
//! allocator. Pushing past the capacity keeps what fits, so that no message
//! can overflow its buffer or the contract's 200-byte line.

/// The most bytes one output line holds, its newline included: the contract
/// says every line is under 200 bytes.
pub const LINE_MAX: usize = 199;

/// A byte string of at most [`LINE_MAX`] bytes, built by appending.
pub struct Line {
    buf: [u8; LINE_MAX],
    len: usize,
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
            buf: [0; LINE_MAX],
            len: 0,
        }
    }

    /// Appends `bytes`, keeping what fits.
    // Never inlined: with a constant text inlined, the compiler spells the
    // text out as store instructions, several times its size.
    #[inline(never)]
    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        let room = &mut self.buf[self.len..];
        let n = bytes.len().min(room.len());
        room[..n].copy_from_slice(&bytes[..n]);
        self.len += n;
        self
    }

    /// Appends `text` with every byte outside printable ASCII shown as `?`,
    /// so that nothing a target or a server says can drive a terminal or
    /// split the line.
    pub fn push_printable(&mut self, text: &[u8]) -> &mut Self {
        for &b in text {
            let shown = if (b' '..=b'~').contains(&b) { b } else { b'?' };
            self.push(&[shown]);
        }
        self
    }

    /// Appends `n` in decimal.
    pub fn push_decimal(&mut self, n: u64) -> &mut Self {
        self.push(super::decimal(n, &mut [0; 20]))
    }

    /// Bytes pushed so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing has been pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// The line's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_text_and_numbers() {
        let mut line = Line::new();
        line.push(b"HTTP ").push_decimal(503);
        assert_eq!(line.as_bytes(), b"HTTP 503");
        let mut zero = Line::new();
        zero.push_decimal(0).push(b"/").push_decimal(u64::MAX);
        assert_eq!(zero.as_bytes(), b"0/18446744073709551615");
    }

    #[test]
    fn shows_only_printable_ascii() {
        let mut line = Line::new();
        line.push_printable(b"a\r\nb\x1b[0m\xc3\xa9~ ");
        assert_eq!(line.as_bytes(), b"a??b?[0m??~ ");
    }

    #[test]
    fn keeps_what_fits() {
        let mut line = Line::new();
        for _ in 0..100 {
            line.push(b"abc");
        }
        assert_eq!(line.len(), LINE_MAX);
        line.truncate(3);
        assert_eq!(line.as_bytes(), b"abc");
        line.truncate(10);
        assert_eq!(line.as_bytes(), b"abc");
    }
}
