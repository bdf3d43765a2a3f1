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
pub enum Command<'a> {
    /// Check the targets (or idle).
    Run(Options<'a>),
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

/// Parses the arguments after the program name.
#[inline(never)]
pub fn parse<'a>(args: &[&'a [u8]]) -> Result<Command<'a>, UsageError<'a>> {
    let mut opts = Options {
        timeout_ms: DEFAULT_TIMEOUT_MS,
        statuses: StatusList::DEFAULT,
        method: b"GET",
        headers: [&[]; MAX_HEADERS],
        header_count: 0,
        verbose: false,
        idle: false,
        targets: [(&[], EMPTY_TARGET); MAX_TARGETS],
        target_count: 0,
    };
    let mut i = 0;
    let mut only_targets = false;
    while let Some(&arg) = args.get(i) {
        i += 1;
        if only_targets || arg.first() != Some(&b'-') || arg == b"-" {
            let target = target::parse(arg).map_err(|e| UsageError::Target(arg, e))?;
            *opts
                .targets
                .get_mut(opts.target_count)
                .ok_or(UsageError::TooMany("targets"))? = (arg, target);
            opts.target_count += 1;
            continue;
        }
        // `--name=value` carries its value; other options take the next argument.
        let (name, inline) = match arg.iter().position(|&b| b == b'=') {
            Some(eq) if arg.starts_with(b"--") => (&arg[..eq], Some(&arg[eq + 1..])),
            _ => (arg, None),
        };
        let mut value = || -> Result<&'a [u8], UsageError<'a>> {
            if let Some(v) = inline {
                return Ok(v);
            }
            let v = args.get(i).ok_or(UsageError::MissingValue(name))?;
            i += 1;
            Ok(v)
        };
        match name {
            b"--" => only_targets = true,
            b"-h" | b"--help" => return Ok(Command::Help),
            b"-V" | b"--version" => return Ok(Command::Version),
            b"-v" | b"--verbose" => opts.verbose = true,
            b"--idle" => opts.idle = true,
            b"-t" | b"--timeout" => {
                let v = value()?;
                opts.timeout_ms = duration::parse_ms(v).ok_or(UsageError::BadValue("timeout", v))?;
            }
            b"-s" | b"--status" => {
                let v = value()?;
                opts.statuses = StatusList::parse(v).ok_or(UsageError::BadValue("status list", v))?;
            }
            b"-X" | b"--method" => {
                let v = value()?;
                if !request::is_token(v) {
                    return Err(UsageError::BadValue("method", v));
                }
                opts.method = v;
            }
            b"-H" | b"--header" => {
                let v = value()?;
                if request::split_header(v).is_none() {
                    return Err(UsageError::BadValue("header", v));
                }
                *opts
                    .headers
                    .get_mut(opts.header_count)
                    .ok_or(UsageError::TooMany("headers"))? = v;
                opts.header_count += 1;
            }
            _ => return Err(UsageError::UnknownOption(name)),
        }
        if inline.is_some() && !matches!(name, b"-t" | b"--timeout" | b"-s" | b"--status" | b"-X" | b"--method" | b"-H" | b"--header") {
            return Err(UsageError::UnknownOption(arg));
        }
    }
    if opts.target_count == 0 && !opts.idle {
        return Err(UsageError::NoTarget);
    }
    Ok(Command::Run(opts))
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
        match parse(&args)? {
            Command::Run(opts) => Ok(opts),
            _ => panic!("not a run"),
        }
    }

    #[test]
    fn options_and_targets() {
        let o = run(&["-t", "500ms", "-s", "200-299,304", "-X", "HEAD", "-H", "A: b", "-v", "http://:8080/", "tcp://127.0.0.1:1"]).unwrap();
        assert_eq!(o.timeout_ms, 500);
        assert!(o.statuses.contains(304) && !o.statuses.contains(302));
        assert_eq!(o.method, b"HEAD");
        assert_eq!(o.headers(), [&b"A: b"[..]]);
        assert!(o.verbose && !o.idle);
        assert_eq!(o.targets().len(), 2);
        assert_eq!(o.targets()[1].0, b"tcp://127.0.0.1:1");
        let o = run(&["--timeout=1m", "--status=503", "--header", "X: y", "--", "-weird-but-a-target:80"]);
        assert!(matches!(o, Err(UsageError::Target(..))));
        let o = run(&["--timeout=1m", "--", ":80"]).unwrap();
        assert_eq!(o.timeout_ms, 60_000);
        assert_eq!(run(&[":80"]).unwrap().timeout_ms, DEFAULT_TIMEOUT_MS);
        assert!(run(&["--idle"]).unwrap().idle);
    }

    #[test]
    fn help_and_version_win() {
        let args: [&[u8]; 2] = [b"-V", b"nonsense://"];
        assert!(matches!(parse(&args), Ok(Command::Version)));
        assert!(matches!(parse(&[b"--help"]), Ok(Command::Help)));
    }

    #[test]
    fn usage_errors() {
        assert_eq!(run(&[]).err(), Some(UsageError::NoTarget));
        assert_eq!(run(&["--bogus", ":80"]).err(), Some(UsageError::UnknownOption(b"--bogus")));
        assert_eq!(run(&["--verbose=1", ":80"]).err(), Some(UsageError::UnknownOption(b"--verbose=1")));
        assert_eq!(run(&[":80", "-t"]).err(), Some(UsageError::MissingValue(b"-t")));
        assert_eq!(run(&["-t", "soon", ":80"]).err(), Some(UsageError::BadValue("timeout", b"soon")));
        assert_eq!(run(&["-s", "2xx", ":80"]).err(), Some(UsageError::BadValue("status list", b"2xx")));
        assert_eq!(run(&["-X", "GET /x", ":80"]).err(), Some(UsageError::BadValue("method", b"GET /x")));
        assert_eq!(run(&["-H", "A: b\r\nC: d", ":80"]).err(), Some(UsageError::BadValue("header", b"A: b\r\nC: d")));
        assert_eq!(run(&["-H", "nocolon", ":80"]).err(), Some(UsageError::BadValue("header", b"nocolon")));
        let many: Vec<&str> = std::iter::repeat(":80").take(MAX_TARGETS + 1).collect();
        assert_eq!(run(&many).err(), Some(UsageError::TooMany("targets")));
    }
}
