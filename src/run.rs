//! One run, from arguments to exit status: expand, parse, check, report.

use crate::cli::env::{self, ExpandError};
use crate::cli::options::{self, Command, Options};
use crate::engine::probe::{self, Outcome, Probe};
use crate::report::output::{self, STDERR, STDOUT};
use crate::rt::signals;
use crate::text::line::Line;

/// The most arguments one run takes.
pub const MAX_ARGS: usize = 64;
/// Room for all arguments after expansion.
const ARENA: usize = 8192;

const HELP: &[u8] = include_bytes!("cli/help.txt");
#[cfg(not(feature = "tls"))]
const VERSION: &[u8] = concat!("scratchprobe ", env!("CARGO_PKG_VERSION"), "\n").as_bytes();
#[cfg(feature = "tls")]
const VERSION: &[u8] = concat!("scratchprobe-tls ", env!("CARGO_PKG_VERSION"), "\n").as_bytes();

/// Runs the probe with `args` (without the program name) and the process
/// environment; returns the exit status, 0 or 1.
pub fn run<'e>(
    args: impl Iterator<Item = &'e [u8]>,
    environ: impl Iterator<Item = &'e [u8]> + Clone,
) -> i32 {
    signals::block_sigpipe();
    // Every message is said on this one line, started afresh for each: a
    // usage error (built here or by the parsers), or the results.
    // Made in place: a line returned by a function was copied here.
    let mut line = Line::new();
    line.push(output::PREFIX);
    let mut arena = [0u8; ARENA];
    let mut free = &mut arena[..];
    let mut expanded: [&[u8]; MAX_ARGS] = [&[]; MAX_ARGS];
    let mut count = 0;
    for arg in args {
        let lookup = |name: &[u8]| env::lookup(environ.clone(), name);
        let expansion = match expanded.get_mut(count) {
            Some(entry) => env::expand(arg, lookup, free).map(|len| (entry, len)),
            None => Err(ExpandError::TooLong),
        };
        let (entry, len) = match expansion {
            Ok(done) => done,
            Err(ExpandError::Unset(name)) => {
                line.push(b"$");
                output::push_printable(&mut line, name);
                line.push(b" is not set (use ${NAME:-default})");
                return fail(&mut line);
            }
            Err(ExpandError::BadSyntax) => {
                line.push(b"bad ${...} in ");
                output::push_printable(&mut line, arg);
                return fail(&mut line);
            }
            Err(ExpandError::TooLong) => {
                line.push(b"too many or too long arguments");
                return fail(&mut line);
            }
        };
        let (this, rest) = core::mem::take(&mut free).split_at_mut(len);
        free = rest;
        *entry = this;
        count += 1;
    }
    let mut targets = [options::NO_TARGET; options::MAX_TARGETS];
    let mut opts = Options::new();
    match opts.parse(&mut expanded[..count], &mut targets, &mut line) {
        Some(Command::Run) => {}
        Some(Command::Help) => {
            output::write_all(STDOUT, HELP);
            #[cfg(feature = "tls")]
            output::write_all(STDOUT, include_bytes!("cli/help-tls.txt"));
            return 0;
        }
        Some(Command::Version) => {
            output::write_all(STDOUT, VERSION);
            return 0;
        }
        None => return fail(&mut line),
    }
    if opts.idle {
        let _ = crate::rt::seccomp::install();
        signals::wait_for_stop();
        return 0;
    }
    let targets = opts.targets();
    let mut all_probes = [const { Probe::new() }; options::MAX_TARGETS];
    let probes = &mut all_probes[..targets.len()];
    let sandbox = probe::run_all(probes, &opts);
    if let (Err(e), true) = (sandbox, opts.verbose) {
        // Still `scratchprobe: ` alone: no usage error was said.
        line.push(b"running unfiltered: seccomp refused (");
        probe::push_errno(&mut line, e);
        line.push(b")");
        output::emit(STDOUT, &mut line);
    }
    let mut status = 0;
    for (probe, (text, _)) in probes.iter().zip(targets) {
        let passed = probe.outcome == Outcome::Pass;
        if !passed {
            status = 1;
        }
        if !passed || opts.verbose {
            line.truncate(output::PREFIX.len());
            output::push_target(&mut line, text);
            output::push_printable(&mut line, probe.reason.as_bytes());
            output::emit(if passed { STDOUT } else { STDERR }, &mut line);
        }
    }
    // `Probe::finish` closed each socket as its check ended (file checks
    // open none): nothing is left to drop, and dropping would cost code.
    core::mem::forget(all_probes);
    status
}

/// Prints a usage error line; the exit status is 1.
fn fail(why: &mut Line) -> i32 {
    output::emit(STDERR, why);
    1
}
