//! The command line, from the arguments to one [`Plan`] of the run. Which
//! arguments are options is read from them as written; option values and
//! targets are then expanded from the environment (`$NAME`, see [`env`]),
//! parsed and checked, targets against the loopback rule. Nothing here does
//! I/O: a bad command line is a [`UsageError`] for the caller to print.

pub mod env;
pub mod options;

pub use crate::policy::target::{MAX_TARGETS, Named, Target};
use crate::proto::Settings;
use crate::report::UsageError;

/// How many `-H` headers one run sends at most.
pub const MAX_HEADERS: usize = 16;
/// The deadline when `-t` is not given.
pub const DEFAULT_TIMEOUT_MS: u64 = 2000;
/// Room for every option value and target after expansion.
pub const ARENA: usize = 8192;

/// What the command line asks for.
#[derive(Debug)]
pub enum Command<'a> {
    /// Check the targets.
    Check(Plan<'a>),
    /// `--idle`: check nothing, wait for SIGTERM or SIGINT.
    Idle,
    /// Print the help text.
    Help,
    /// Print the version.
    Version,
}

/// Everything a run of checks needs.
#[derive(Debug)]
pub struct Plan<'a> {
    /// One deadline for the whole run.
    pub timeout_ms: u64,
    /// Print a line for each passing target too.
    pub verbose: bool,
    /// What the protocols share: method, headers, accepted statuses, deadline.
    pub settings: Settings<'a>,
    /// The targets, in the order given.
    pub targets: &'a [Named<'a>],
}

/// Where the parsed targets and headers are kept: made by the caller, so
/// that the plan can borrow them.
pub struct Slots<'a> {
    targets: [Named<'a>; MAX_TARGETS],
    headers: [&'a [u8]; MAX_HEADERS],
}

impl Default for Slots<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl Slots<'_> {
    pub const fn new() -> Self {
        const UNUSED: Named<'static> = (
            b"",
            Target {
                endpoint: crate::policy::target::Endpoint::File(b""),
                check: crate::policy::target::Check::Connect,
            },
        );
        Slots {
            targets: [UNUSED; MAX_TARGETS],
            headers: [b""; MAX_HEADERS],
        }
    }
}

/// Reads the command line: `args` without the program name, `environ` the
/// process environment (`NAME=value` entries). Expanded text is kept in
/// `arena`, targets and headers in `slots`; the plan borrows them.
pub fn parse<'e: 'a, 'a>(
    args: impl Iterator<Item = &'e [u8]>,
    environ: impl Iterator<Item = &'e [u8]> + Clone,
    arena: &'a mut [u8],
    slots: &'a mut Slots<'a>,
) -> Result<Command<'a>, UsageError<'a>> {
    options::Parser::new(environ, arena, slots).parse(args)
}
