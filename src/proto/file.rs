//! File targets: a worker's heartbeat (`?max-age=`), a "make me unhealthy"
//! flag (`?absent`), a pending-updates report (`?empty`), or plain existence.
//! Files are only ever opened read-only, and before the sandbox closes `open`.

use crate::bytes;
use crate::engine::probe::push_errno;
use crate::policy::target::Check;
use crate::report::output;
use crate::text::duration;
use crate::text::line::Line;
use core::ffi::CStr;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Checks the file at `path` (`None`: not a path the kernel takes); returns
/// whether it passed, with the reason (or, for `-v`, what was seen) in
/// `reason`.
// Out of line on x86_64, inlined on aarch64: measured smaller on each.
#[cfg_attr(target_arch = "x86_64", inline(never))]
pub fn check(check: Check, path: Option<&CStr>, reason: &mut Line) -> bool {
    let Some(path) = path else {
        reason.push(b"bad file path");
        return false;
    };
    let stat = match rustix::fs::stat(path) {
        Ok(stat) => stat,
        // Missing is what `absent` wants, and an empty report too.
        Err(Errno::NOENT) if matches!(check, Check::FileAbsent | Check::FileEmpty) => {
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
            // A file from the future (clock skew) counts as fresh.
            let mtime_ms = stat.st_mtime * 1000 + (stat.st_mtime_nsec / 1_000_000) as i64;
            let age_ms = now.saturating_sub(mtime_ms).max(0) as u64;
            reason
                .push(b"heartbeat ")
                .push_u64(age_ms / 1000)
                .push(b"s old (max ");
            duration::push(reason, u64::from(max_ms));
            reason.push(b")");
            age_ms <= u64::from(max_ms)
        }
        // A FIFO or a device of size 0 is empty without reading it (a FIFO's
        // writer may never write). A regular file is read: /proc and sysfs
        // files have content behind a size of 0 (or 4096).
        Check::FileEmpty if stat.st_size == 0 && stat.st_mode & S_IFMT != S_IFREG => {
            reason.push(b"empty");
            true
        }
        Check::FileEmpty => read_report(path, reason),
        _ => {
            reason.push(b"exists");
            true
        }
    }
}

/// The file type bits of `st_mode`, and a regular file's, as in `<sys/stat.h>`.
/// (rustix's `FileType::from_raw_mode` is a compare chain here: 72 bytes more.)
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;

/// Reads a report file that should be empty: passes if there is nothing to
/// read, else fails saying its first line.
fn read_report(path: &CStr, reason: &mut Line) -> bool {
    // NONBLOCK: a FIFO must not hang the probe; NOCTTY: nor a terminal adopt it.
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    let mut buf = [0u8; 160];
    let read =
        rustix::fs::open(path, flags, Mode::empty()).and_then(|fd| rustix::io::read(&fd, &mut buf));
    match read {
        Ok(0) => {
            reason.push(b"empty");
            return true;
        }
        Ok(n) => {
            let text = &buf[..n];
            let line = &text[..bytes::until(text, b'\n')];
            output::push_printable(reason, line.trim_ascii());
        }
        Err(e) => push_errno(reason, e),
    }
    if reason.is_empty() {
        reason.push(b"not empty");
    }
    false
}

/// The wall clock in milliseconds since the epoch.
///
/// Read through a realtime [`timerfd_create(2)`] armed at a fixed absolute
/// time: what is left until then gives the time now. This costs two syscalls
/// but none of the vDSO lookup code behind `clock_gettime`, a few kilobytes
/// in a binary this size.
///
/// [`timerfd_create(2)`]: https://man7.org/linux/man-pages/man2/timerfd_create.2.html
fn wall_clock() -> Option<i64> {
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
    Some(FAR * 1000 - left.tv_sec * 1000 - left.tv_nsec / 1_000_000)
}
