//! The run's one deadline: a timer fd in every poll set, readable once the
//! time is up. No clock is read: the kernel counts.

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};

/// A deadline `ms` milliseconds after it was started.
pub struct Deadline {
    timer: OwnedFd,
    ms: u64,
}

impl Deadline {
    /// Starts the deadline: [`timerfd_create(2)`] on the monotonic clock and
    /// [`timerfd_settime(2)`]. Done before the sandbox is installed, which
    /// allows neither.
    ///
    /// [`timerfd_create(2)`]: https://man7.org/linux/man-pages/man2/timerfd_create.2.html
    /// [`timerfd_settime(2)`]: https://man7.org/linux/man-pages/man2/timerfd_settime.2.html
    pub fn start(ms: u64) -> Result<Deadline, Errno> {
        let timer = rustix::time::timerfd_create(TimerfdClockId::Monotonic, TimerfdFlags::CLOEXEC)?;
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let when = Itimerspec {
            it_interval: zero,
            it_value: Timespec {
                tv_sec: (ms / 1000) as i64,
                tv_nsec: ((ms % 1000) * 1_000_000) as i64,
            },
        };
        rustix::time::timerfd_settime(&timer, TimerfdTimerFlags::empty(), &when)?;
        Ok(Deadline { timer, ms })
    }

    /// The timer, to poll: readable once the deadline has passed.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.timer.as_fd()
    }

    /// The deadline's length, for the reasons that name it.
    pub fn ms(&self) -> u64 {
        self.ms
    }
}
