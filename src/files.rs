//! File targets: a worker's heartbeat (`?max-age=`), a "make me unhealthy"
//! flag (`?absent`), a pending-updates report (`?empty`), or plain existence.
//! Files are only ever opened read-only, and before the sandbox closes `open`.

use crate::bytes;
use crate::duration;
use crate::line::Line;
use crate::output;
use crate::probe::push_errno;
use crate::target::Check;
use core::ffi::CStr;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Checks the file at `path`; returns whether it passed, with the reason (or,
/// for `-v`, what was seen) in `reason`.
#[inline(never)]
pub fn check(check: Check, path: &[u8], reason: &mut Line) -> bool {
    let mut buf = [0u8; bytes::PATH_MAX];
    let Some(path) = bytes::c_path(path, &mut buf) else {
        reason.push(b"bad file path");
        return false;
    };
    if check == Check::FileEmpty {
        return check_empty(path, reason);
    }
    let stat = match rustix::fs::stat(path) {
        Ok(stat) => stat,
        Err(Errno::NOENT) if check == Check::FileAbsent => {
            reason.push(b"absent");
            return true;
        }
        Err(e) => {
            push_errno(reason, e);
            return false;
        }
    };
    match check {
        Check::FileAbsent => {
            reason.push(b"file exists");
            false
        }
        Check::FileMaxAge(max_ms) => {
            let Some(now) = wall_clock() else {
                reason.push(b"cannot read the clock");
                return false;
            };
            // Whole seconds are precise enough for a heartbeat; a file from the
            // future (clock skew) counts as fresh.
            let age_ms = now.0.saturating_sub(stat.st_mtime).max(0) as u64 * 1000;
            let age_ms = age_ms
                .saturating_add(u64::from(now.1 / 1_000_000))
                .saturating_sub(stat.st_mtime_nsec / 1_000_000);
            reason
                .push(b"heartbeat ")
                .push_u64(age_ms / 1000)
                .push(b"s old (max ");
            duration::push(reason, max_ms);
            reason.push(b")");
            age_ms <= max_ms
        }
        _ => {
            reason.push(b"exists");
            true
        }
    }
}

/// Passes when the file is missing or empty; otherwise says its first line.
fn check_empty(path: &CStr, reason: &mut Line) -> bool {
    // NONBLOCK: a FIFO must not hang the probe; NOCTTY: nor a terminal adopt it.
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => {
            reason.push(b"absent");
            return true;
        }
        Err(e) => {
            push_errno(reason, e);
            return false;
        }
    };
    let mut buf = [0u8; 160];
    match rustix::io::read(&fd, &mut buf) {
        Ok(0) => {
            reason.push(b"empty");
            true
        }
        Ok(n) => {
            let text = &buf[..n];
            let first_line = text.split(|&b| b == b'\n').next().unwrap_or(text);
            output::push_printable(reason, first_line.trim_ascii());
            if reason.is_empty() {
                reason.push(b"not empty");
            }
            false
        }
        Err(Errno::ISDIR) => {
            reason.push(b"is a directory");
            false
        }
        Err(e) => {
            push_errno(reason, e);
            false
        }
    }
}

/// The wall clock as (seconds, nanoseconds) since the epoch.
///
/// Read through a realtime [`timerfd_create(2)`] armed at a fixed absolute
/// time: what is left until then gives the time now. This costs two syscalls
/// but none of the vDSO lookup code behind `clock_gettime`, a few kilobytes
/// in a binary this size.
///
/// [`timerfd_create(2)`]: https://man7.org/linux/man-pages/man2/timerfd_create.2.html
fn wall_clock() -> Option<(i64, u32)> {
    use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};
    // Year 2096: later than any clock this runs under, and within the kernel's range.
    const FAR: i64 = 4_000_000_000;
    let timer =
        rustix::time::timerfd_create(TimerfdClockId::Realtime, TimerfdFlags::CLOEXEC).ok()?;
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let at = Itimerspec {
        it_interval: zero,
        it_value: Timespec {
            tv_sec: FAR,
            tv_nsec: 0,
        },
    };
    rustix::time::timerfd_settime(&timer, TimerfdTimerFlags::ABSTIME, &at).ok()?;
    let left = rustix::time::timerfd_gettime(&timer).ok()?.it_value;
    let nanos = 1_000_000_000 - left.tv_nsec;
    Some(if left.tv_nsec == 0 {
        (FAR - left.tv_sec, 0)
    } else {
        (FAR - left.tv_sec - 1, nanos as u32)
    })
}
