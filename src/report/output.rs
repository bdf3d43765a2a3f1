//! Writing to stdout and stderr, and the one-line messages.

use crate::text::line::{LINE_MAX, Line};
use rustix::fd::BorrowedFd;

/// Standard output.
pub const STDOUT: i32 = 1;
/// Standard error.
pub const STDERR: i32 = 2;

/// Writes all of `bytes` to `fd` with [`write(2)`]; errors are ignored, since
/// a probe with a closed or full stderr must still exit with its status.
///
/// [`write(2)`]: https://man7.org/linux/man-pages/man2/write.2.html
pub fn write_all(fd: i32, mut bytes: &[u8]) {
    // SAFETY: fds 0-2 are open for the whole life of the process, or writes
    // to them fail with EBADF, which is ignored.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(n) if n > 0 => bytes = &bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            _ => return,
        }
    }
}

/// The longest part of a target's text a message repeats.
const TARGET_SHOWN: usize = 96;

/// What every message line starts with.
pub const PREFIX: &[u8] = b"scratchprobe: ";

/// Appends a target's text and `: `, cut with `...` when long so that the
/// reason after it still fits the line.
pub fn push_target(line: &mut Line, text: &[u8]) {
    push_printable(line, &text[..text.len().min(TARGET_SHOWN)]);
    if text.len() > TARGET_SHOWN {
        line.push(b"...");
    }
    line.push(b": ");
}

/// Appends `text` with every byte outside printable ASCII replaced by `?`,
/// so that nothing a target or a server says can drive a terminal.
#[inline(never)]
pub fn push_printable(line: &mut Line, text: &[u8]) {
    for &b in text {
        line.push(&[if (b' '..=b'~').contains(&b) { b } else { b'?' }]);
    }
}

/// Ends `line` with a newline (the last byte is given up if it is full) and
/// writes it to `fd` in one write.
pub fn emit(fd: i32, line: &mut Line) {
    line.truncate(LINE_MAX - 1);
    line.push(b"\n");
    write_all(fd, line.as_bytes());
}
