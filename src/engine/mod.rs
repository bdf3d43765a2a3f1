//! The engine: every network target's check, driven by one `poll` loop
//! under one deadline, in one thread. Probes connect, send and read as their
//! sockets become ready; the loop ends when every check is decided or the
//! deadline passes, which fails the rest with what they were waiting for.

pub mod deadline;
pub mod probe;

use crate::policy::target::MAX_TARGETS;
use deadline::Deadline;
use probe::Probe;
use rustix::event::{PollFd, PollFlags, poll};
use rustix::io::Errno;

/// The most sockets polled at once: two per target (the race of 127.0.0.1
/// and ::1), and the deadline's timer.
const POLL_MAX: usize = 1 + 2 * MAX_TARGETS;

/// Runs every network probe (file probes are done already) until each is
/// decided or the deadline passes.
pub fn run(probes: &mut [Probe], deadline: &Deadline) {
    for probe in probes.iter_mut().filter(|p| !p.is_file()) {
        probe.start();
    }
    let stopped = poll_until_decided(probes, deadline);
    for probe in probes.iter_mut() {
        probe.stopped(stopped.map(|()| deadline));
    }
}

/// The poll loop: `Ok` when the deadline passed (or nothing is pending),
/// `Err` when `poll` itself failed.
fn poll_until_decided(probes: &mut [Probe], deadline: &Deadline) -> Result<(), Errno> {
    loop {
        // Which probe and socket each poll entry belongs to (entry 0 is the
        // timer), and which of them are ready after the poll.
        let mut owners = [(0, 0); POLL_MAX];
        let mut ready = [(0, 0); POLL_MAX];
        let mut ready_count = 0;
        {
            let mut fds: [PollFd; POLL_MAX] =
                core::array::from_fn(|_| PollFd::from_borrowed_fd(deadline.fd(), PollFlags::IN));
            let mut count = 1;
            for (p, probe) in probes.iter().enumerate() {
                for (slot, socket, reading) in probe.pollable() {
                    let events = if reading {
                        PollFlags::IN
                    } else {
                        PollFlags::OUT
                    };
                    fds[count] = PollFd::from_borrowed_fd(socket, events);
                    owners[count] = (p, slot);
                    count += 1;
                }
            }
            if count == 1 {
                return Ok(());
            }
            // poll(2) with no timeout of its own: the timer is the deadline.
            match poll(&mut fds[..count], None) {
                Ok(_) => {}
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e),
            }
            if !fds[0].revents().is_empty() {
                return Ok(());
            }
            for i in 1..count {
                if !fds[i].revents().is_empty() {
                    ready[ready_count] = owners[i];
                    ready_count += 1;
                }
            }
        }
        // The poll set borrowed the probes' sockets; handling needs them back.
        for &(p, slot) in &ready[..ready_count] {
            if probes[p].is_pending() {
                probes[p].on_ready(slot, deadline);
            }
        }
    }
}
