//! Writing lines to standard output and standard error.

use crate::text::line::{LINE_MAX, Line};
use rustix::fd::BorrowedFd;

/// Where a line goes: results of passing targets (`-v`), help and version on
/// standard output; failures and usage errors on standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn fd(self) -> i32 {
        match self {
            Stream::Stdout => 1,
            Stream::Stderr => 2,
        }
    }
}

/// Writes all of `bytes` to `stream` with [`write(2)`], retrying after a
/// signal. Errors are ignored: a probe whose stderr is closed or full must
/// still exit with its status.
///
/// [`write(2)`]: https://man7.org/linux/man-pages/man2/write.2.html
pub fn write_all(stream: Stream, mut bytes: &[u8]) {
    // SAFETY: fds 1 and 2 are used for the whole life of the process and
    // never closed by it; when the parent left one closed, the write fails
    // with EBADF, which is ignored.
    let fd = unsafe { BorrowedFd::borrow_raw(stream.fd()) };
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(n) if n > 0 => bytes = &bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            _ => return,
        }
    }
}

/// Ends `line` with a newline (giving up its last byte if it is full) and
/// writes it in one write, so that lines from one run never interleave.
pub fn emit(stream: Stream, line: &mut Line) {
    line.truncate(LINE_MAX - 1);
    line.push(b"\n");
    write_all(stream, line.as_bytes());
}
