//! One run, from arguments to exit status: expand, parse, check, report.

use crate::env::{self, ExpandError};
use crate::options::{self, Command, Options};
use crate::output::{self, STDERR, STDOUT};
use crate::probe::{self, Outcome, Probe};
use crate::signals;

/// The most arguments one run takes.
pub const MAX_ARGS: usize = 64;
/// Room for all arguments after expansion.
const ARENA: usize = 8192;

const HELP: &[u8] = include_bytes!("help.txt");
const VERSION: &[u8] = concat!("scratchprobe ", env!("CARGO_PKG_VERSION"), "\n").as_bytes();

/// Runs the probe with `args` (without the program name) and the process
/// environment; returns the exit status, 0 or 1.
pub fn run<'e>(
    args: impl Iterator<Item = &'e [u8]>,
    environ: impl Iterator<Item = &'e [u8]> + Clone,
) -> i32 {
    signals::block_sigpipe();
    let mut arena = [0u8; ARENA];
    let mut free = &mut arena[..];
    let mut expanded: [&[u8]; MAX_ARGS] = [&[]; MAX_ARGS];
    let mut count = 0;
    for arg in args {
        let Some(entry) = expanded.get_mut(count) else {
            return usage(b"too many arguments", None);
        };
        let lookup = |name: &[u8]| env::lookup(environ.clone(), name);
        let len = match env::expand(arg, lookup, free) {
            Ok(len) => len,
            Err(ExpandError::Unset(name)) => {
                let mut line = output::start(None);
                line.push(b"$");
                output::push_printable(&mut line, name);
                line.push(b" is not set (use ${NAME:-default})");
                output::emit(STDERR, line);
                return 1;
            }
            Err(ExpandError::BadSyntax) => return usage(b"bad ${...} in ", Some(arg)),
            Err(ExpandError::TooLong) => return usage(b"arguments too long", None),
        };
        let (this, rest) = core::mem::take(&mut free).split_at_mut(len);
        free = rest;
        *entry = this;
        count += 1;
    }
    let mut opts = Options::new();
    let mut why = output::start(None);
    match opts.parse(&expanded[..count], &mut why) {
        Some(Command::Run) => {}
        Some(Command::Help) => {
            output::write_all(STDOUT, HELP);
            return 0;
        }
        Some(Command::Version) => {
            output::write_all(STDOUT, VERSION);
            return 0;
        }
        None => {
            output::emit(STDERR, why);
            return 1;
        }
    }
    if opts.idle {
        let _ = crate::seccomp::install();
        signals::wait_for_stop();
        return 0;
    }
    let targets = opts.targets();
    let mut probes: [Probe; options::MAX_TARGETS] = core::array::from_fn(|_| Probe::new());
    let probes = &mut probes[..targets.len()];
    let sandbox = probe::run_all(probes, &opts);
    if let (Err(e), true) = (sandbox, opts.verbose) {
        let mut line = output::start(None);
        line.push(b"running unfiltered: the kernel refused the seccomp filter (");
        probe::push_errno(&mut line, e);
        line.push(b")");
        output::emit(STDOUT, line);
    }
    let mut status = 0;
    for (probe, (text, _)) in probes.iter().zip(targets) {
        let passed = probe.outcome == Outcome::Pass;
        if !passed {
            status = 1;
        }
        if !passed || opts.verbose {
            let mut line = output::start(Some(text));
            output::push_printable(&mut line, probe.reason.as_bytes());
            output::emit(if passed { STDOUT } else { STDERR }, line);
        }
    }
    status
}

#[inline(never)]
fn usage(what: &[u8], arg: Option<&[u8]>) -> i32 {
    let mut line = output::start(None);
    line.push(what);
    if let Some(arg) = arg {
        output::push_printable(&mut line, arg);
    }
    line.push(b" (try --help)");
    output::emit(STDERR, line);
    1
}
