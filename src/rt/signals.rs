//! Signals: SIGPIPE kept from killing the probe, and `--idle`, the main
//! process of a probe-only sidecar image, which does nothing until SIGTERM or
//! SIGINT, then returns so the process exits 0 at once, also as PID 1 (where
//! signals without a handler would be ignored). And a trap, the one
//! instruction a panic compiles to in the shipped builds, ends the probe with
//! exit status 1, never death by a signal.

use rustix::runtime_448b8ad740e2a26f::{
    self as runtime, How, KernelSigSet, KernelSigaction, Signal,
};

/// Catches the trap that a panic compiles to with `-Cpanic=immediate-abort`
/// (the shipped builds): `ud2`, SIGILL, on x86_64; `brk`, SIGTRAP, on
/// aarch64. The contract is exit 1, never a signal. Unreachable by design
/// (the parsers are fuzzed not to panic); this keeps the promise if that is
/// ever wrong, at the cost of a silent exit (as the panic handler's).
pub fn exit_1_on_trap() {
    let action = KernelSigaction {
        sa_handler_kernel: Some(exit_1),
        // x86_64 delivers a handled signal only with a restorer (measured:
        // SIGSEGV without one); the handler exits, so it is never used.
        #[cfg(target_arch = "x86_64")]
        sa_flags: runtime::KernelSigactionFlags::RESTORER,
        #[cfg(target_arch = "x86_64")]
        sa_restorer: Some(exit_1_restorer),
        ..Default::default()
    };
    let trap = if cfg!(target_arch = "x86_64") {
        Signal::ILL
    } else {
        Signal::TRAP
    };
    // SAFETY: [`rt_sigaction(2)`] with a handler that only exits, which is
    // async-signal-safe and never returns into the interrupted code.
    // [`rt_sigaction(2)`]: https://man7.org/linux/man-pages/man2/sigaction.2.html
    let _ = unsafe { runtime::kernel_sigaction(trap, Some(action)) };
}

extern "C" fn exit_1(_signal: core::ffi::c_int) {
    runtime::exit_group(1)
}

#[cfg(target_arch = "x86_64")]
extern "C" fn exit_1_restorer() {
    runtime::exit_group(1)
}

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
