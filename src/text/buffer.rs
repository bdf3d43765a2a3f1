//! A fixed-capacity byte buffer that keeps what fits and remembers that
//! something did not: for bytes collected from a peer, where "too much" is
//! an answer of its own.

/// Up to `N` bytes, appended to.
#[derive(Clone, Copy, Debug)]
pub struct Buffer<const N: usize> {
    bytes: [u8; N],
    len: usize,
    overflowed: bool,
}

impl<const N: usize> Default for Buffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Buffer<N> {
    pub const fn new() -> Self {
        Buffer {
            bytes: [0; N],
            len: 0,
            overflowed: false,
        }
    }

    /// Appends what fits of `more`.
    pub fn extend(&mut self, more: &[u8]) {
        let room = &mut self.bytes[self.len..];
        let n = more.len().min(room.len());
        room[..n].copy_from_slice(&more[..n]);
        self.len += n;
        self.overflowed |= n < more.len();
    }

    /// Appends all of `more`, or nothing if it does not fit (without
    /// counting that as an overflow): for whole frames, never cut.
    pub fn extend_whole(&mut self, more: &[u8]) -> bool {
        let fits = more.len() <= N - self.len;
        if fits {
            self.extend(more);
        }
        fits
    }

    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.len = 0;
        self.overflowed = false;
    }

    /// The bytes kept.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// True when some appended bytes did not fit since the last `clear`.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_fits() {
        let mut b = Buffer::<4>::new();
        b.extend(b"ab");
        assert!(!b.overflowed());
        b.extend(b"cde");
        assert_eq!((b.as_slice(), b.overflowed()), (&b"abcd"[..], true));
        b.clear();
        assert!(b.extend_whole(b"abc"));
        assert!(!b.extend_whole(b"de"));
        assert_eq!((b.as_slice(), b.overflowed()), (&b"abc"[..], false));
    }
}
