//! The options and targets on the command line.
//!
//! Whether an argument is an option is decided on its text as written,
//! before any expansion: the environment supplies values, never options
//! (`${X}` that expands to `--help` is a target, and refused as one). `--`
//! ends the options.

use crate::cli::env::{self, ExpandError};
use crate::cli::{Command, DEFAULT_TIMEOUT_MS, MAX_HEADERS, MAX_TARGETS, Plan, Slots};
use crate::policy::target;
use crate::proto::Settings;
use crate::proto::http::request::{self, HeaderError};
use crate::proto::http::status_list::StatusList;
use crate::report::UsageError;
use crate::text::duration;

/// The options, by what they do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opt {
    Timeout,
    Status,
    Method,
    Header,
    Verbose,
    Help,
    Version,
    Idle,
}

/// Every option: its short name, its long name, what it does.
const OPTIONS: [(&[u8], &[u8], Opt); 8] = [
    (b"-t", b"--timeout", Opt::Timeout),
    (b"-s", b"--status", Opt::Status),
    (b"-X", b"--method", Opt::Method),
    (b"-H", b"--header", Opt::Header),
    (b"-v", b"--verbose", Opt::Verbose),
    (b"-h", b"--help", Opt::Help),
    (b"-V", b"--version", Opt::Version),
    (b"", b"--idle", Opt::Idle),
];

impl Opt {
    /// The option a name (with its dashes) stands for.
    fn named(name: &[u8]) -> Option<Opt> {
        let mut options = OPTIONS.iter();
        let found = options.find(|(short, long, _)| name == *short || name == *long);
        found.map(|&(_, _, option)| option)
    }

    fn takes_value(self) -> bool {
        matches!(self, Opt::Timeout | Opt::Status | Opt::Method | Opt::Header)
    }
}

/// The methods `-X` takes: the safe ones (RFC 9110 9.2.1), which ask a server
/// to change nothing. A health check only reads; with any other method an
/// `http+unix:` target could drive a local API (a Docker socket: kill, pull,
/// build...).
const SAFE_METHODS: [&[u8]; 3] = [b"GET", b"HEAD", b"OPTIONS"];

/// True for an argument that is written as an option: a dash and more (a
/// lone `-` is a target).
fn is_option(arg: &[u8]) -> bool {
    arg.len() > 1 && arg[0] == b'-'
}

/// Reads arguments into a plan.
pub struct Parser<'a, E> {
    environ: E,
    /// What is left of the arena for expanded text.
    free: &'a mut [u8],
    targets: &'a mut [crate::cli::Named<'a>; MAX_TARGETS],
    headers: &'a mut [&'a [u8]; MAX_HEADERS],
    target_count: usize,
    header_count: usize,
}

impl<'e: 'a, 'a, E: Iterator<Item = &'e [u8]> + Clone> Parser<'a, E> {
    pub fn new(environ: E, arena: &'a mut [u8], slots: &'a mut Slots<'a>) -> Self {
        Parser {
            environ,
            free: arena,
            targets: &mut slots.targets,
            headers: &mut slots.headers,
            target_count: 0,
            header_count: 0,
        }
    }

    /// Reads all arguments.
    pub fn parse(
        mut self,
        args: impl Iterator<Item = &'e [u8]>,
    ) -> Result<Command<'a>, UsageError<'a>> {
        let mut args = args;
        let mut timeout_ms = DEFAULT_TIMEOUT_MS;
        let mut statuses = StatusList::DEFAULT;
        let mut method: &[u8] = b"GET";
        let mut verbose = false;
        let mut idle = false;
        let mut only_targets = false;
        while let Some(arg) = args.next() {
            if only_targets || !is_option(arg) {
                self.target(arg)?;
                continue;
            }
            if arg == b"--" {
                only_targets = true;
                continue;
            }
            // `--name=value` carries its value; other options with a value
            // take the next argument.
            let (name, inline) = match arg.iter().position(|&b| b == b'=') {
                Some(eq) if arg.starts_with(b"--") => (&arg[..eq], Some(&arg[eq + 1..])),
                _ => (arg, None),
            };
            let option = Opt::named(name).ok_or(UsageError::UnknownOption(name))?;
            if !option.takes_value() {
                if inline.is_some() {
                    return Err(UsageError::UnknownOption(arg));
                }
                match option {
                    Opt::Help => return Ok(Command::Help),
                    Opt::Version => return Ok(Command::Version),
                    Opt::Verbose => verbose = true,
                    _ => idle = true,
                }
                continue;
            }
            let written = match inline {
                Some(value) => value,
                None => args.next().ok_or(UsageError::MissingValue(arg))?,
            };
            let value = self.expand(written)?;
            match option {
                Opt::Timeout => {
                    timeout_ms = duration::parse_ms(value).ok_or(UsageError::BadTimeout(value))?;
                }
                Opt::Status => {
                    statuses = StatusList::parse(value).ok_or(UsageError::BadStatusList(value))?;
                }
                Opt::Method => {
                    if !SAFE_METHODS.contains(&value) {
                        return Err(UsageError::BadMethod(value));
                    }
                    method = value;
                }
                _ => self.header(value)?,
            }
        }
        if idle {
            return Ok(Command::Idle);
        }
        if self.target_count == 0 {
            return Err(UsageError::NoTarget);
        }
        let Parser {
            targets,
            headers,
            target_count,
            header_count,
            ..
        } = self;
        Ok(Command::Check(Plan {
            timeout_ms,
            verbose,
            settings: Settings {
                method,
                headers: &headers[..header_count],
                statuses,
                timeout_ms,
            },
            targets: &targets[..target_count],
        }))
    }

    /// Expands `$NAME`s in `written` into the arena.
    fn expand(&mut self, written: &'a [u8]) -> Result<&'a [u8], UsageError<'a>> {
        let environ = self.environ.clone();
        let free = core::mem::take(&mut self.free);
        let lookup = |name: &[u8]| -> Option<&'a [u8]> { env::lookup(environ.clone(), name) };
        let len = env::expand(written, lookup, free).map_err(|e| match e {
            ExpandError::Unset(name) => UsageError::Unset(name),
            ExpandError::BadSyntax => UsageError::BadExpansion(written),
            ExpandError::TooLong => UsageError::TooManyArguments,
        })?;
        let (expanded, rest) = free.split_at_mut(len);
        self.free = rest;
        Ok(expanded)
    }

    /// Expands, parses and keeps one target.
    fn target(&mut self, written: &'a [u8]) -> Result<(), UsageError<'a>> {
        let text = self.expand(written)?;
        let parsed = target::parse(text).map_err(|e| UsageError::Target(text, e))?;
        let slot = self
            .targets
            .get_mut(self.target_count)
            .ok_or(UsageError::TooManyTargets)?;
        *slot = (text, parsed);
        self.target_count += 1;
        Ok(())
    }

    /// Checks and keeps one `-H` header. Its value is never said in an
    /// error: it may carry a token.
    fn header(&mut self, header: &'a [u8]) -> Result<(), UsageError<'a>> {
        match request::check_header(header) {
            Ok(_) => {}
            Err(HeaderError::NoName) => return Err(UsageError::HeaderWithoutName),
            Err(HeaderError::BadName(name)) => return Err(UsageError::BadHeaderName(name)),
            Err(HeaderError::BadValue(name)) => return Err(UsageError::BadHeaderValue(name)),
        }
        let slot = self
            .headers
            .get_mut(self.header_count)
            .ok_or(UsageError::TooManyHeaders)?;
        *slot = header;
        self.header_count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::{self, ARENA, Command, MAX_HEADERS, MAX_TARGETS, Plan, Slots};
    use crate::report::UsageError;
    use crate::text::line::Line;

    /// Parses `args` with the environment `env` (arena and slots leaked for
    /// the test's sake).
    fn parse_with<'a>(args: &[&'a str], env: &[&'a str]) -> Result<Command<'a>, UsageError<'a>> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let env: Vec<&[u8]> = env.iter().map(|a| a.as_bytes()).collect();
        let arena = Box::leak(Box::new([0u8; ARENA]));
        let slots = Box::leak(Box::new(Slots::new()));
        let env: &'a [&'a [u8]] = env.leak();
        cli::parse(
            args.leak().iter().copied(),
            env.iter().copied(),
            arena,
            slots,
        )
    }

    fn plan<'a>(args: &[&'a str]) -> Plan<'a> {
        match parse_with(args, &[]) {
            Ok(Command::Check(plan)) => plan,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn err(args: &[&str]) -> String {
        err_with(args, &[])
    }

    fn err_with(args: &[&str], env: &[&str]) -> String {
        let e = parse_with(args, env).expect_err("a usage error");
        let mut line = Line::new();
        e.write(&mut line);
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn options_and_targets() {
        let p = plan(&[
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
        ]);
        assert_eq!(p.timeout_ms, 500);
        assert_eq!(p.settings.timeout_ms, 500);
        assert!(p.settings.statuses.contains(304) && !p.settings.statuses.contains(302));
        assert_eq!(p.settings.method, b"HEAD");
        assert_eq!(p.settings.headers, [&b"A: b"[..]]);
        assert!(p.verbose);
        assert_eq!(p.targets.len(), 2);
        assert_eq!(p.targets[1].0, b"tcp://127.0.0.1:1");
        let p = plan(&[":80", "--header=A: b", "-v", "-H", "C: d", ":81"]);
        assert_eq!(p.settings.headers, [&b"A: b"[..], b"C: d"]);
        let texts: Vec<&[u8]> = p.targets.iter().map(|t| t.0).collect();
        assert_eq!(texts, [&b":80"[..], b":81"]);
        assert_eq!(
            err(&[
                "--timeout=1m",
                "--status=503",
                "--header",
                "X: y",
                "--",
                "-weird:80"
            ]),
            "-weird:80: refused: -weird is not a loopback address"
        );
        assert_eq!(plan(&["--timeout=1m", "--", ":80"]).timeout_ms, 60_000);
        assert_eq!(plan(&[":80"]).timeout_ms, cli::DEFAULT_TIMEOUT_MS);
        assert!(matches!(parse_with(&["--idle"], &[]), Ok(Command::Idle)));
        // A lone dash is a target.
        assert_eq!(err(&["-"]), "-: refused: - is not a loopback address");
    }

    #[test]
    fn help_and_version_win() {
        assert!(matches!(
            parse_with(&["-V", "nonsense://"], &[]),
            Ok(Command::Version)
        ));
        assert!(matches!(parse_with(&["--help"], &[]), Ok(Command::Help)));
        assert!(matches!(parse_with(&[":80", "-h"], &[]), Ok(Command::Help)));
    }

    #[test]
    fn the_environment_gives_values_never_options() {
        let env = [
            "PORT=9090",
            "OPT=--help",
            "V=-v",
            "T=250ms",
            "H=X-Token: s3cret",
        ];
        let plan = match parse_with(&["-t", "$T", "-H", "$H", "http://:$PORT/"], &env) {
            Ok(Command::Check(plan)) => plan,
            other => panic!("{other:?}"),
        };
        assert_eq!(plan.timeout_ms, 250);
        assert_eq!(plan.settings.headers, [&b"X-Token: s3cret"[..]]);
        assert_eq!(plan.targets[0].0, b"http://:9090/");
        assert_eq!(
            err_with(&["${OPT}"], &env),
            "--help: refused: --help is not a loopback address"
        );
        assert_eq!(
            err_with(&["$V", ":80"], &env),
            "-v: refused: -v is not a loopback address"
        );
        assert_eq!(
            err_with(&["http://:$NOPE/"], &env),
            "$NOPE is not set (use ${NAME:-default})"
        );
        assert_eq!(err_with(&["-t", "${T"], &env), "bad ${...} in ${T");
    }

    #[test]
    fn usage_errors() {
        assert_eq!(err(&[]), "no target given (try --help)");
        assert_eq!(err(&["-v"]), "no target given (try --help)");
        assert_eq!(
            err(&["--bogus", ":80"]),
            "unknown option --bogus (try --help)"
        );
        assert_eq!(
            err(&["--bogus=1", ":80"]),
            "unknown option --bogus (try --help)"
        );
        assert_eq!(err(&["-q", ":80"]), "unknown option -q (try --help)");
        assert_eq!(err(&["-t5s", ":80"]), "unknown option -t5s (try --help)");
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
        assert_eq!(
            err(&["-X", "GET /x", ":80"]),
            "bad method: GET /x (a health check only reads: GET, HEAD or OPTIONS)"
        );
        for method in ["POST", "DELETE", "PUT", "PATCH", "get", "M-SEARCH"] {
            assert!(
                err(&["-X", method, ":80"]).starts_with("bad method: "),
                "{method}"
            );
        }
        for method in ["GET", "HEAD", "OPTIONS"] {
            assert_eq!(
                plan(&["-X", method, ":80"]).settings.method,
                method.as_bytes()
            );
        }
        // Header values are never said: they may be secrets.
        assert_eq!(
            err(&["-H", "s3cret", ":80"]),
            "bad header: not 'Name: value'"
        );
        assert_eq!(
            err(&["-H", "Bad Name: s3cret", ":80"]),
            "bad header name: Bad Name"
        );
        assert_eq!(
            err(&["-H", "Authorization: Bearer s3cr\x1bt", ":80"]),
            "bad header Authorization: its value holds a control character"
        );
        assert_eq!(
            err(&["http://10.0.0.5/"]),
            "http://10.0.0.5/: refused: 10.0.0.5 is not a loopback address"
        );
        assert_eq!(err(&["ftp://x/"]), "ftp://x/: unsupported scheme");
        let many: Vec<&str> = std::iter::repeat_n(":80", MAX_TARGETS + 1).collect();
        assert_eq!(err(&many), "too many targets");
        let mut headers: Vec<&str> = std::iter::repeat_n(["-H", "A: b"], MAX_HEADERS + 1)
            .flatten()
            .collect();
        headers.push(":80");
        assert_eq!(err(&headers), "too many headers");
        let long = "x".repeat(ARENA + 1);
        assert_eq!(err(&[&long]), "too many or too long arguments");
    }
}
