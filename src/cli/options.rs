//! Command-line options and targets, after environment expansion.

use crate::cli::status_list::StatusList;
use crate::policy::target::{self, Target, TargetError};
use crate::proto::http::request;
use crate::report::output;
use crate::text::duration;
use crate::text::line::Line;

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
    /// The `-H` headers, each `Name: value`, moved to the front of the
    /// arguments (see `parse`).
    headers: &'a [&'a [u8]],
    /// The targets in the order given, in the caller's slots (see `parse`).
    targets: &'a [Named<'a>],
}

impl<'a> Options<'a> {
    /// The `-H` headers given.
    pub fn headers(&self) -> &'a [&'a [u8]] {
        self.headers
    }

    /// The targets given.
    pub fn targets(&self) -> &'a [Named<'a>] {
        self.targets
    }
}

/// An unused slot for a target: `Options::parse` takes an array of them.
pub const NO_TARGET: Named<'static> = (&[], Target::EMPTY);

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

/// The short options without their `-`, in the order of `LONG`, NUL-terminated;
/// the first four take a value. The last entry, `-`, is never a short name:
/// it makes the index past the real ones `UNKNOWN`.
const SHORT: &[u8] = b"t\0s\0X\0H\0v\0h\0V\0-\0";
/// The long options without their `--`, NUL-terminated (see `bytes::prefix_in`).
const LONG: &[u8] = b"timeout\0status\0method\0header\0verbose\0help\0version\0idle\0";
/// Not an option.
const UNKNOWN: usize = 8;

impl<'a> Options<'a> {
    /// The defaults, before any argument.
    // Not inlined: measured smaller on x86_64.
    #[inline(never)]
    pub const fn new() -> Self {
        Options {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            statuses: StatusList::DEFAULT,
            method: b"GET",
            verbose: false,
            idle: false,
            headers: &[],
            targets: &[],
        }
    }

    /// Parses the arguments after the program name into `self` and the
    /// targets into `targets` (`[NO_TARGET; MAX_TARGETS]`: an array the caller
    /// makes is made in place, one inside `Options` would be made aside and
    /// copied in). The headers are moved to the front of `args`, over
    /// arguments already read (the Nth header is at least the Nth argument).
    /// On a usage error, says why in `why` (the text after `scratchprobe: `)
    /// and returns `None`.
    #[inline(never)]
    pub fn parse(
        &mut self,
        args: &'a mut [&'a [u8]],
        targets: &'a mut [Named<'a>; MAX_TARGETS],
        why: &mut Line,
    ) -> Option<Command> {
        let mut header_count = 0;
        let mut target_count = 0;
        // Cells: the headers are written into `args` while it is read.
        let cells = core::cell::Cell::from_mut(&mut *args).as_slice_of_cells();
        let mut read = cells.iter().map(core::cell::Cell::get);
        let mut only_targets = false;
        while let Some(arg) = read.next() {
            if only_targets || arg.len() < 2 || arg[0] != b'-' {
                // Parsed straight into its slot: moving a target costs code.
                let Some(slot) = targets.get_mut(target_count) else {
                    why.push(b"too many targets");
                    return None;
                };
                slot.0 = arg;
                if let Err(e) = target::parse_into(arg, &mut slot.1) {
                    output::push_target(why, arg);
                    match e {
                        TargetError::NotLoopback(host) => {
                            why.push(b"refused: ");
                            output::push_printable(why, host);
                            why.push(b" is not a loopback address");
                        }
                        TargetError::Invalid(text) => {
                            why.push(text.as_bytes());
                        }
                    }
                    return None;
                }
                target_count += 1;
                continue;
            }
            if arg == b"--" {
                only_targets = true;
                continue;
            }
            // `--name=value` carries its value; other options take the next
            // argument. Short and long names are looked up alike, without
            // their dashes: the name must be a whole entry.
            let (list, dashes, end) = if arg[1] == b'-' {
                (LONG, 2, crate::bytes::until(arg, b'='))
            } else {
                (SHORT, 1, arg.len())
            };
            let name = &arg[..end];
            let inline = arg.get(end + 1..);
            let which = match crate::bytes::prefix_in(list, &name[dashes..]) {
                (which, len) if len == end - dashes => which,
                _ => UNKNOWN,
            };
            let value = match inline {
                _ if which >= UNKNOWN => None,
                Some(_) if which >= 4 => None,
                Some(v) => Some(v),
                None if which >= 4 => Some(&b""[..]),
                None => read.next(),
            };
            let Some(value) = value else {
                let problem: &[u8] = if which < 4 && inline.is_none() {
                    b"missing value for "
                } else {
                    b"unknown option "
                };
                why.push(problem);
                output::push_printable(why, if which < UNKNOWN { arg } else { name });
                why.push(TRY_HELP);
                return None;
            };
            let ok = match which {
                0 => duration::parse_ms(value)
                    .map(|ms| self.timeout_ms = ms)
                    .is_some(),
                1 => self.statuses.set(value),
                2 => {
                    request::is_token(value) && {
                        self.method = value;
                        true
                    }
                }
                3 => {
                    request::split_header(value).is_some() && {
                        if header_count == MAX_HEADERS {
                            why.push(b"too many headers");
                            return None;
                        }
                        cells[header_count].set(value);
                        header_count += 1;
                        true
                    }
                }
                4 => {
                    self.verbose = true;
                    true
                }
                5 => return Some(Command::Help),
                6 => return Some(Command::Version),
                _ => {
                    self.idle = true;
                    true
                }
            };
            if !ok {
                why.push(b"bad ");
                why.push(crate::bytes::nth(WHAT, which));
                why.push(b": ");
                output::push_printable(why, value);
                return None;
            }
        }
        if target_count == 0 && !self.idle {
            why.push(b"no target given");
            why.push(TRY_HELP);
            return None;
        }
        self.headers = &args[..header_count];
        self.targets = &targets[..target_count];
        Some(Command::Run)
    }
}

/// What each option with a value takes, for "bad ...: VALUE".
const WHAT: &[u8] = b"timeout\0status list\0method\0header";
const TRY_HELP: &[u8] = b" (try --help)";

impl Default for Options<'_> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `parse`, with the arguments and slots leaked for the test's sake.
    fn parse<'a>(args: &[&'a str], why: &mut Line) -> (Option<Command>, Options<'a>) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let targets = Box::leak(Box::new([NO_TARGET; MAX_TARGETS]));
        let mut opts = Options::new();
        (opts.parse(args.leak(), targets, why), opts)
    }

    /// The options, or the usage error's text.
    fn run<'a>(args: &[&'a str]) -> Result<Options<'a>, String> {
        let mut why = Line::new();
        match parse(args, &mut why) {
            (Some(command), opts) => {
                assert_eq!(command, Command::Run);
                Ok(opts)
            }
            (None, _) => Err(String::from_utf8(why.as_bytes().to_vec()).unwrap()),
        }
    }

    fn err(args: &[&str]) -> String {
        run(args).err().expect("a usage error")
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
        // Headers moved to the front of the arguments, past targets too.
        let o = run(&[":80", "--header=A: b", "-v", "-H", "C: d", ":81"]).unwrap();
        assert_eq!(o.headers(), [&b"A: b"[..], b"C: d"]);
        let texts: Vec<&[u8]> = o.targets().iter().map(|t| t.0).collect();
        assert_eq!(texts, [&b":80"[..], b":81"]);
        let o = run(&[
            "--timeout=1m",
            "--status=503",
            "--header",
            "X: y",
            "--",
            "-weird-but-a-target:80",
        ]);
        assert_eq!(
            o.err().unwrap(),
            "-weird-but-a-target:80: refused: -weird-but-a-target is not a loopback address"
        );
        let o = run(&["--timeout=1m", "--", ":80"]).unwrap();
        assert_eq!(o.timeout_ms, 60_000);
        assert_eq!(run(&[":80"]).unwrap().timeout_ms, DEFAULT_TIMEOUT_MS);
        assert!(run(&["--idle"]).unwrap().idle);
    }

    #[test]
    fn help_and_version_win() {
        let mut why = Line::new();
        assert_eq!(
            parse(&["-V", "nonsense://"], &mut why).0,
            Some(Command::Version)
        );
        assert_eq!(parse(&["--help"], &mut why).0, Some(Command::Help));
    }

    #[test]
    fn usage_errors() {
        assert_eq!(err(&[]), "no target given (try --help)");
        assert_eq!(
            err(&["--bogus", ":80"]),
            "unknown option --bogus (try --help)"
        );
        assert_eq!(err(&["-q", ":80"]), "unknown option -q (try --help)");
        assert_eq!(
            err(&["--verbose=1", ":80"]),
            "unknown option --verbose=1 (try --help)"
        );
        assert_eq!(err(&[":80", "-t"]), "missing value for -t (try --help)");
        assert_eq!(
            err(&[":80", "--status"]),
            "missing value for --status (try --help)"
        );
        assert_eq!(err(&["-t", "soon", ":80"]), "bad timeout: soon");
        assert_eq!(err(&["-s", "2xx", ":80"]), "bad status list: 2xx");
        assert_eq!(err(&["-X", "GET /x", ":80"]), "bad method: GET /x");
        assert_eq!(
            err(&["-H", "A: b\r\nC: d", ":80"]),
            "bad header: A: b??C: d"
        );
        assert_eq!(err(&["-H", "nocolon", ":80"]), "bad header: nocolon");
        assert_eq!(
            err(&["http://10.0.0.5/"]),
            "http://10.0.0.5/: refused: 10.0.0.5 is not a loopback address"
        );
        assert_eq!(err(&["ftp://x/"]), "ftp://x/: unsupported scheme");
        let many: Vec<&str> = std::iter::repeat_n(":80", MAX_TARGETS + 1).collect();
        assert_eq!(err(&many), "too many targets");
        let headers: Vec<&str> = std::iter::repeat_n(["-H", "A: b"], MAX_HEADERS + 1)
            .flatten()
            .collect();
        assert_eq!(err(&headers), "too many headers");
    }
}
