//! Signals: SIGPIPE kept from killing the probe, and `--idle`, the main
//! process of a probe-only sidecar image, which does nothing until SIGTERM or
//! SIGINT, then returns so the process exits 0 at once, also as PID 1 (where
//! signals without a handler would be ignored).

use rustix::runtime_448b8ad740e2a26f::{self as runtime, How, KernelSigSet, Signal};

/// Blocks SIGPIPE, so that writing to a stderr or stdout whose reader is gone
/// fails with EPIPE instead of killing the probe (sockets are written with
/// MSG_NOSIGNAL already).
pub fn block_sigpipe() {
    let mut pipe = KernelSigSet::empty();
    pipe.insert(Signal::PIPE);
    // SAFETY: [`rt_sigprocmask(2)`] on a single-threaded process with no
    // signal handlers; a blocked SIGPIPE only stays pending.
    // [`rt_sigprocmask(2)`]: https://man7.org/linux/man-pages/man2/sigprocmask.2.html
    let _ = unsafe { runtime::kernel_sigprocmask(How::BLOCK, Some(&pipe)) };
}

/// Blocks until SIGTERM or SIGINT arrives.
pub fn wait_for_stop() {
    let mut stop = KernelSigSet::empty();
    stop.insert(Signal::TERM);
    stop.insert(Signal::INT);
    // Blocked signals stay pending for `sigwait` instead of being acted on or,
    // for PID 1, dropped; the kernel delivers them even to an init process.
    // SAFETY: [`rt_sigprocmask(2)`] on a single-threaded process with no
    // signal handlers; nothing relies on these two signals being unblocked.
    // [`rt_sigprocmask(2)`]: https://man7.org/linux/man-pages/man2/sigprocmask.2.html
    if unsafe { runtime::kernel_sigprocmask(How::BLOCK, Some(&stop)) }.is_err() {
        return;
    }
    loop {
        // SAFETY: [`rt_sigtimedwait(2)`] with a valid set and no timeout; the
        // signals waited for are blocked, as sigwait requires.
        // [`rt_sigtimedwait(2)`]: https://man7.org/linux/man-pages/man2/sigwait.2.html
        if unsafe { runtime::kernel_sigwait(&stop) }.is_ok() {
            return;
        }
    }
}
