//! File targets: a worker's heartbeat (`?max-age=`), a "make me unhealthy"
//! flag (`?absent`), a pending-updates report (`?empty`), or plain existence.
//! Files are only ever opened read-only, and before the sandbox, which
//! forbids `open`.

use crate::policy::target::FileCheck;
use crate::proto::Step;
use crate::report::Reason;
use crate::text::{PATH_MAX, c_path};
use core::ffi::CStr;
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

/// Room for a file check: the path with its NUL, and the start of a report
/// file, whose first line is the reason it fails.
pub struct Scratch {
    path: [u8; PATH_MAX],
    report: [u8; 160],
}

impl Scratch {
    pub const fn new() -> Self {
        Scratch {
            path: [0; PATH_MAX],
            report: [0; 160],
        }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

/// Checks the file at `path` as `check` asks.
pub fn check<'s>(check: FileCheck, path: &[u8], scratch: &'s mut Scratch) -> Step<'s> {
    let Some(path) = c_path(path, &mut scratch.path) else {
        return Step::Fail(Reason::BadFilePath);
    };
    // stat(2), following symlinks: a heartbeat may be a link to the real file.
    let stat = match rustix::fs::stat(path) {
        Ok(stat) => stat,
        // Missing is what `absent` wants, and an empty report too.
        Err(Errno::NOENT) if matches!(check, FileCheck::Absent | FileCheck::Empty) => {
            return Step::Pass(Reason::FileAbsent);
        }
        Err(e) => return Step::Fail(Reason::Os(e)),
    };
    match check {
        FileCheck::Exists => Step::Pass(Reason::FileExists),
        FileCheck::Absent => Step::Fail(Reason::FileShouldBeAbsent),
        FileCheck::MaxAge(max_ms) => {
            let Some(now_ms) = wall_clock_ms() else {
                return Step::Fail(Reason::ClockUnreadable);
            };
            let mtime_ms = stat.st_mtime * 1000 + stat.st_mtime_nsec as i64 / 1_000_000;
            // A file from the future (clock skew) counts as fresh.
            let age_ms = now_ms.saturating_sub(mtime_ms).max(0) as u64;
            let heartbeat = Reason::Heartbeat { age_ms, max_ms };
            if age_ms <= max_ms {
                Step::Pass(heartbeat)
            } else {
                Step::Fail(heartbeat)
            }
        }
        FileCheck::Empty => {
            // A FIFO or a device of size 0 is empty without reading it (a
            // FIFO's writer may never write). A regular file is read: /proc
            // and sysfs files have content behind a size of 0 (or 4096).
            let regular = FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile;
            if stat.st_size == 0 && !regular {
                Step::Pass(Reason::FileEmpty)
            } else {
                read_report(path, &mut scratch.report)
            }
        }
    }
}

/// Reads a report file that should be empty: passes if there is nothing to
/// read, else fails with its first line.
fn read_report<'s>(path: &CStr, buf: &'s mut [u8; 160]) -> Step<'s> {
    // NONBLOCK: a FIFO must not hang the probe; NOCTTY: nor a terminal adopt it.
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    // open(2) and read(2); the fd is closed when dropped.
    let read = rustix::fs::open(path, flags, Mode::empty())
        .and_then(|fd| rustix::io::read(&fd, &mut *buf));
    match read {
        Ok(0) => Step::Pass(Reason::FileEmpty),
        Ok(n) => {
            let text = &buf[..n];
            let first_line = text.split(|&b| b == b'\n').next().unwrap_or_default();
            Step::Fail(Reason::FileNotEmpty(first_line.trim_ascii()))
        }
        Err(e) => Step::Fail(Reason::Os(e)),
    }
}

/// The wall clock in milliseconds since the epoch.
///
/// Read through a realtime [`timerfd_create(2)`] armed at a fixed absolute
/// time: what is left until then gives the time now. This costs two syscalls
/// but none of the vDSO lookup code behind `clock_gettime` (kilobytes in a
/// binary this size), and uses the timer syscalls the probe has anyway.
///
/// [`timerfd_create(2)`]: https://man7.org/linux/man-pages/man2/timerfd_create.2.html
fn wall_clock_ms() -> Option<i64> {
    use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};
    // Year 2096: later than any clock this runs under, and within the kernel's range.
    const FAR: i64 = 4_000_000_000;
    let timer =
        rustix::time::timerfd_create(TimerfdClockId::Realtime, TimerfdFlags::CLOEXEC).ok()?;
    let at = Itimerspec {
        it_interval: Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: Timespec {
            tv_sec: FAR,
            tv_nsec: 0,
        },
    };
    rustix::time::timerfd_settime(&timer, TimerfdTimerFlags::ABSTIME, &at).ok()?;
    let left = rustix::time::timerfd_gettime(&timer).ok()?.it_value;
    Some(FAR * 1000 - left.tv_sec * 1000 - left.tv_nsec / 1_000_000)
}
