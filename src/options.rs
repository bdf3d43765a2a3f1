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
    /// Extra request headers, each `Name: value`.
    pub headers: [&'a [u8]; MAX_HEADERS],
    /// How many of `headers` are used.
    pub header_count: usize,
    /// Print a line per passing target too.
    pub verbose: bool,
    /// Check nothing; wait for SIGTERM or SIGINT.
    pub idle: bool,
    /// The targets, in the order given.
    pub targets: [Named<'a>; MAX_TARGETS],
    /// How many of `targets` are used.
    pub target_count: usize,
}

impl<'a> Options<'a> {
    /// The `-H` headers given.
    pub fn headers(&self) -> &[&'a [u8]] {
        &self.headers[..self.header_count]
    }

    /// The targets given.
    pub fn targets(&self) -> &[Named<'a>] {
        &self.targets[..self.target_count]
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

/// Every option, short and long; the first four take a value. Looked up in a
/// table rather than matched, which keeps the code small.
const NAMES: [(&[u8], &[u8]); 8] = [
    (b"-t", b"--timeout"),
    (b"-s", b"--status"),
    (b"-X", b"--method"),
    (b"-H", b"--header"),
    (b"-v", b"--verbose"),
    (b"-h", b"--help"),
    (b"-V", b"--version"),
    (b"--idle", b"--idle"),
];

impl<'a> Options<'a> {
    /// The defaults, before any argument.
    pub const fn new() -> Self {
        Options {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            statuses: StatusList::DEFAULT,
            method: b"GET",
            headers: [&[]; MAX_HEADERS],
            header_count: 0,
            verbose: false,
            idle: false,
            targets: [(&[], EMPTY_TARGET); MAX_TARGETS],
            target_count: 0,
        }
    }

    /// Parses the arguments after the program name into `self`.
    #[inline(never)]
    pub fn parse(&mut self, args: &[&'a [u8]]) -> Result<Command, UsageError<'a>> {
        let mut i = 0;
        let mut only_targets = false;
        while let Some(&arg) = args.get(i) {
            i += 1;
            if only_targets || arg.first() != Some(&b'-') || arg == b"-" {
                let target = target::parse(arg).map_err(|e| UsageError::Target(arg, e))?;
                let slot = self.targets.get_mut(self.target_count);
                *slot.ok_or(UsageError::TooMany("targets"))? = (arg, target);
                self.target_count += 1;
                continue;
            }
            if arg == b"--" {
                only_targets = true;
                continue;
            }
            // `--name=value` carries its value; other options take the next argument.
            let (name, inline) = match arg.iter().position(|&b| b == b'=') {
                Some(eq) if arg.starts_with(b"--") => (&arg[..eq], Some(&arg[eq + 1..])),
                _ => (arg, None),
            };
            let which = NAMES
                .iter()
                .position(|&(short, long)| name == short || name == long);
            let which = which.ok_or(UsageError::UnknownOption(name))?;
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
                None => {
                    i += 1;
                    args.get(i - 1).ok_or(UsageError::MissingValue(name))?
                }
            };
            let bad = match which {
                0 => duration::parse_ms(value)
                    .map(|ms| self.timeout_ms = ms)
                    .ok_or("timeout"),
                1 => StatusList::parse(value)
                    .map(|list| self.statuses = list)
                    .ok_or("status list"),
                2 => request::is_token(value)
                    .then(|| self.method = value)
                    .ok_or("method"),
                _ => match request::split_header(value) {
                    None => Err("header"),
                    Some(_) => {
                        let slot = self.headers.get_mut(self.header_count);
                        *slot.ok_or(UsageError::TooMany("headers"))? = value;
                        self.header_count += 1;
                        Ok(())
                    }
                },
            };
            bad.map_err(|what| UsageError::BadValue(what, value))?;
        }
        if self.target_count == 0 && !self.idle {
            return Err(UsageError::NoTarget);
        }
        Ok(Command::Run)
    }
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self::new()
    }
}

const EMPTY_TARGET: Target<'static> = Target {
    check: target::Check::Connect,
    endpoint: target::Endpoint::File(&[]),
    path: &[],
    host_port: None,
};

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
