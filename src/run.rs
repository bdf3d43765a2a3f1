//! One run, from the arguments to the exit status: read the command line
//! into a plan, check file targets, install the sandbox, check the network
//! targets under the deadline, and say what failed.

use crate::cli::{self, Command, Plan};
use crate::engine::{self, deadline::Deadline, probe::Outcome, probe::Probe};
use crate::proto::file;
use crate::report::output::{self, Stream};
use crate::report::{Notice, PREFIX, push_target};
use crate::rt::{seccomp, signals};
use crate::text::line::Line;

const HELP: &[u8] = include_bytes!("cli/help.txt");
#[cfg(feature = "tls")]
const HELP_TLS: &[u8] = include_bytes!("cli/help-tls.txt");
#[cfg(not(feature = "tls"))]
const HELP_TLS: &[u8] = b"";

/// `--version`: the build's name and version.
#[cfg(not(feature = "tls"))]
const VERSION: &str = concat!("scratchprobe ", env!("CARGO_PKG_VERSION"), "\n");
#[cfg(feature = "tls")]
const VERSION: &str = concat!("scratchprobe-tls ", env!("CARGO_PKG_VERSION"), "\n");

/// Runs the probe with `args` (without the program name) and the process
/// environment; returns the exit status, 0 or 1.
pub fn run<'a>(
    args: impl Iterator<Item = &'a [u8]>,
    environ: impl Iterator<Item = &'a [u8]> + Clone,
) -> i32 {
    signals::block_sigpipe();
    let mut arena = [0u8; cli::ARENA];
    let mut slots = cli::Slots::new();
    let command = match cli::parse(args, environ, &mut arena, &mut slots) {
        Ok(command) => command,
        Err(usage_error) => {
            let mut line = Line::new();
            line.push(PREFIX);
            usage_error.write(&mut line);
            output::emit(Stream::Stderr, &mut line);
            return 1;
        }
    };
    match command {
        Command::Check(plan) => check(&plan),
        Command::Idle => {
            let _ = seccomp::install();
            signals::wait_for_stop();
            0
        }
        Command::Help => {
            output::write_all(Stream::Stdout, HELP);
            output::write_all(Stream::Stdout, HELP_TLS);
            0
        }
        Command::Version => {
            output::write_all(Stream::Stdout, VERSION.as_bytes());
            0
        }
    }
}

/// Checks every target of `plan` and reports; the exit status.
fn check(plan: &Plan) -> i32 {
    let mut all: [Probe; cli::MAX_TARGETS] = core::array::from_fn(|_| Probe::unused());
    let probes = &mut all[..plan.targets.len()];
    for (probe, named) in probes.iter_mut().zip(plan.targets) {
        *probe = Probe::new(named, &plan.settings);
    }
    // The deadline's timer, and the files, before the sandbox forbids
    // creating the one and opening the others.
    let deadline = match probes.iter().any(|p| !p.is_file()) {
        true => Some(Deadline::start(plan.timeout_ms)),
        false => None,
    };
    let mut scratch = file::Scratch::new();
    for probe in probes.iter_mut().filter(|p| p.is_file()) {
        probe.check_file(&mut scratch);
    }
    let sandbox = seccomp::install();
    if let (Err(errno), true) = (sandbox, plan.verbose) {
        let mut line = Line::new();
        line.push(PREFIX);
        Notice::Unfiltered(errno).write(&mut line);
        output::emit(Stream::Stdout, &mut line);
    }
    match deadline {
        Some(Ok(deadline)) => engine::run(probes, &deadline),
        // No timer: every network check fails with why.
        Some(Err(errno)) => probes.iter_mut().for_each(|p| p.stopped(Err(errno))),
        None => {}
    }
    report(probes, plan.verbose)
}

/// One line per failed target on stderr, and per passing one on stdout
/// with `-v`; the exit status: 0 if every target passed.
fn report(probes: &[Probe], verbose: bool) -> i32 {
    let mut status = 0;
    for probe in probes {
        let passed = probe.verdict.outcome == Outcome::Pass;
        if !passed {
            status = 1;
        }
        if passed && !verbose {
            continue;
        }
        let mut line = Line::new();
        line.push(PREFIX);
        push_target(&mut line, probe.named.0);
        line.push(probe.verdict.reason.as_bytes());
        output::emit(
            if passed {
                Stream::Stdout
            } else {
                Stream::Stderr
            },
            &mut line,
        );
    }
    status
}
