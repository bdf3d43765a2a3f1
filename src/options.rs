//! Command-line options and targets, after environment expansion.

use crate::duration;
use crate::request;
use crate::status_list::StatusList;
use crate::target::{self, Target, TargetError};

/// How many targets one run checks at most.
pub const MAX_TARGETS: usize = 16;
/// How many `-H` headers one run sends at most.
pub const MAX_HEADERS: usize = 16;
/// The deadline when `-t` is not given.
pub const DEFAULT_TIMEOUT_MS: u64 = 2000;

/// A target as written, and what it says.
pub type Named<'a> = (&'a [u8], Target<'a>);

/// Everything a run needs.
pub struct Options<'a> {
    /// One deadline for the whole run.
    pub timeout_ms: u64,
    /// Accepted HTTP statuses.
    pub statuses: StatusList,
    /// HTTP method.
    pub method: &'a [u8],
    /// Print a line per passing target too.
    pub verbose: bool,
    /// Check nothing; wait for SIGTERM or SIGINT.
    pub idle: bool,
    /// How many `-H` headers were given: `headers().len()` once `parse`
    /// returned `Command::Run`.
    pub header_count: usize,
    /// How many targets were given: `targets().len()` once `parse` returned
    /// `Command::Run`.
    pub target_count: usize,
    /// The `-H` headers, each `Name: value`, in the first `headers_set` slots.
    headers: [&'a [u8]; MAX_HEADERS],
    /// The targets in the order given, in the first `targets_set` slots.
    targets: [Named<'a>; MAX_TARGETS],
    /// How many slots of `headers` and `targets` are filled so far.
    headers_set: usize,
    targets_set: usize,
}

impl<'a> Options<'a> {
    /// The `-H` headers given.
    pub fn headers(&self) -> &[&'a [u8]] {
        &self.headers[..self.headers_set]
    }

    /// The targets given.
    pub fn targets(&self) -> &[Named<'a>] {
        &self.targets[..self.targets_set]
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Check the targets (or idle), as the options say.
    Run,
    /// Print the help text.
    Help,
    /// Print the version.
    Version,
}

/// Why the command line was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum UsageError<'a> {
    /// An option nobody knows.
    UnknownOption(&'a [u8]),
    /// An option without its value.
    MissingValue(&'a [u8]),
    /// A value that does not parse: which kind, and the text.
    BadValue(&'static str, &'a [u8]),
    /// No target and no `--idle`.
    NoTarget,
    /// More targets or headers than fit.
    TooMany(&'static str),
    /// A target that was refused.
    Target(&'a [u8], TargetError<'a>),
}

/// The short options, in the order of `LONG`; the first four take a value.
const SHORT: &[u8] = b"tsXHvhV";
/// The long options without their `--`, NUL-terminated (see `bytes::prefix_in`).
const LONG: &[u8] = b"timeout\0status\0method\0header\0verbose\0help\0version\0idle\0";
/// Not an option.
const UNKNOWN: usize = 8;

impl<'a> Options<'a> {
    /// The defaults, before any argument.
    pub const fn new() -> Self {
        Options {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            statuses: StatusList::DEFAULT,
            method: b"GET",
            verbose: false,
            idle: false,
            header_count: 0,
            target_count: 0,
            headers: [&[]; MAX_HEADERS],
            targets: [(&[], Target::EMPTY); MAX_TARGETS],
            headers_set: 0,
            targets_set: 0,
        }
    }

    /// Parses the arguments after the program name into `self`.
    #[inline(never)]
    pub fn parse(&mut self, args: &[&'a [u8]]) -> Result<Command, UsageError<'a>> {
        let mut args = args.iter();
        let mut only_targets = false;
        while let Some(&arg) = args.next() {
            if only_targets || arg.len() < 2 || arg[0] != b'-' {
                // Parsed straight into its slot: moving a target costs code.
                let slot = self.targets.get_mut(self.targets_set);
                let slot = slot.ok_or(UsageError::TooMany("targets"))?;
                slot.0 = arg;
                target::parse_into(arg, &mut slot.1).map_err(|e| UsageError::Target(arg, e))?;
                // Only now is the slot whole.
                self.targets_set += 1;
                continue;
            }
            if arg == b"--" {
                only_targets = true;
                continue;
            }
            // `--name=value` carries its value; other options take the next argument.
            let mut name = arg;
            let mut inline = None;
            let which = if arg[1] == b'-' {
                let eq = arg.iter().position(|&b| b == b'=').unwrap_or(arg.len());
                name = &arg[..eq];
                inline = arg.get(eq + 1..);
                match crate::bytes::prefix_in(LONG, &name[2..]) {
                    (which, len) if len == eq - 2 => which,
                    _ => UNKNOWN,
                }
            } else if arg.len() == 2 {
                SHORT.iter().position(|&c| c == arg[1]).unwrap_or(UNKNOWN)
            } else {
                UNKNOWN
            };
            if which >= UNKNOWN {
                return Err(UsageError::UnknownOption(name));
            }
            if which >= 4 {
                if inline.is_some() {
                    return Err(UsageError::UnknownOption(arg));
                }
                match which {
                    4 => self.verbose = true,
                    5 => return Ok(Command::Help),
                    6 => return Ok(Command::Version),
                    _ => self.idle = true,
                }
                continue;
            }
            let value = match inline {
                Some(v) => v,
                None => args.next().ok_or(UsageError::MissingValue(name))?,
            };
            let (ok, what) = match which {
                0 => (
                    duration::parse_ms(value).map(|ms| self.timeout_ms = ms),
                    "timeout",
                ),
                1 => (self.statuses.set(value).then_some(()), "status list"),
                2 => (
                    request::is_token(value).then(|| self.method = value),
                    "method",
                ),
                _ => {
                    let ok = request::split_header(value).is_some();
                    if ok {
                        let slot = self.headers.get_mut(self.headers_set);
                        *slot.ok_or(UsageError::TooMany("headers"))? = value;
                        self.headers_set += 1;
                    }
                    (ok.then_some(()), "header")
                }
            };
            ok.ok_or(UsageError::BadValue(what, value))?;
        }
        if self.targets_set == 0 && !self.idle {
            return Err(UsageError::NoTarget);
        }
        self.target_count = self.targets_set;
        self.header_count = self.headers_set;
        Ok(Command::Run)
    }
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<'a>(args: &[&'a str]) -> Result<Options<'a>, UsageError<'a>> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let mut opts = Options::new();
        assert_eq!(opts.parse(&args)?, Command::Run);
        Ok(opts)
    }

    #[test]
    fn options_and_targets() {
        let o = run(&[
            "-t",
            "500ms",
            "-s",
            "200-299,304",
            "-X",
            "HEAD",
            "-H",
            "A: b",
            "-v",
            "http://:8080/",
            "tcp://127.0.0.1:1",
        ])
        .unwrap();
        assert_eq!(o.timeout_ms, 500);
        assert!(o.statuses.contains(304) && !o.statuses.contains(302));
        assert_eq!(o.method, b"HEAD");
        assert_eq!(o.headers(), [&b"A: b"[..]]);
        assert!(o.verbose && !o.idle);
        assert_eq!(o.targets().len(), 2);
        assert_eq!(o.targets()[1].0, b"tcp://127.0.0.1:1");
        let o = run(&[
            "--timeout=1m",
            "--status=503",
            "--header",
            "X: y",
            "--",
            "-weird-but-a-target:80",
        ]);
        assert!(matches!(o, Err(UsageError::Target(..))));
        let o = run(&["--timeout=1m", "--", ":80"]).unwrap();
        assert_eq!(o.timeout_ms, 60_000);
        assert_eq!(run(&[":80"]).unwrap().timeout_ms, DEFAULT_TIMEOUT_MS);
        assert!(run(&["--idle"]).unwrap().idle);
    }

    #[test]
    fn help_and_version_win() {
        let args: [&[u8]; 2] = [b"-V", b"nonsense://"];
        assert_eq!(Options::new().parse(&args), Ok(Command::Version));
        assert_eq!(Options::new().parse(&[b"--help"]), Ok(Command::Help));
    }

    #[test]
    fn usage_errors() {
        assert_eq!(run(&[]).err(), Some(UsageError::NoTarget));
        assert_eq!(
            run(&["--bogus", ":80"]).err(),
            Some(UsageError::UnknownOption(b"--bogus"))
        );
        assert_eq!(
            run(&["--verbose=1", ":80"]).err(),
            Some(UsageError::UnknownOption(b"--verbose=1"))
        );
        assert_eq!(
            run(&[":80", "-t"]).err(),
            Some(UsageError::MissingValue(b"-t"))
        );
        assert_eq!(
            run(&["-t", "soon", ":80"]).err(),
            Some(UsageError::BadValue("timeout", b"soon"))
        );
        assert_eq!(
            run(&["-s", "2xx", ":80"]).err(),
            Some(UsageError::BadValue("status list", b"2xx"))
        );
        assert_eq!(
            run(&["-X", "GET /x", ":80"]).err(),
            Some(UsageError::BadValue("method", b"GET /x"))
        );
        assert_eq!(
            run(&["-H", "A: b\r\nC: d", ":80"]).err(),
            Some(UsageError::BadValue("header", b"A: b\r\nC: d"))
        );
        assert_eq!(
            run(&["-H", "nocolon", ":80"]).err(),
            Some(UsageError::BadValue("header", b"nocolon"))
        );
        let many: Vec<&str> = std::iter::repeat_n(":80", MAX_TARGETS + 1).collect();
        assert_eq!(run(&many).err(), Some(UsageError::TooMany("targets")));
    }
}
