//! Arguments as the probe gets them: environment expansion, then option and
//! target parsing, then the HTTP request each target would send.
//!
//! Input: byte 0 sizes the expansion buffer (×2, so 0..=510 bytes), byte 1
//! says how many of the NUL-separated pieces that follow are environment
//! entries (`NAME=value`, 0..=8); the other pieces are the arguments (argv
//! strings, which cannot hold a NUL).
//!
//! Expansion never writes past the buffer it is given (nor past what it
//! reports), text without `$` comes out unchanged, and the result is a plain
//! reference implementation's. Options accepted for a run hold only valid
//! targets, methods and headers, and the requests built from them keep CR and
//! LF to the line endings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchprobe::text::duration::MAX_MS;
use scratchprobe::cli::env::{self, ExpandError};
use scratchprobe::cli::options::{Command, MAX_HEADERS, MAX_TARGETS, NO_TARGET, Options};
use scratchprobe::proto::http::request::{self, Request};
use scratchprobe::policy::target::{self, Check};
use scratchprobe_fuzz::{check_request, within};

/// The probe takes at most this many arguments (`app::MAX_ARGS`).
const MAX_ARGS: usize = 64;
const GUARD: usize = 32;
const FILL: u8 = 0xA5;

fuzz_target!(|data: &[u8]| {
    let [size, env_count, rest @ ..] = data else {
        return;
    };
    let size = usize::from(*size) * 2;
    let mut pieces = rest.split(|&b| b == 0);
    let environ: Vec<&[u8]> = pieces.by_ref().take(usize::from(*env_count % 9)).collect();
    let args: Vec<&[u8]> = pieces.take(MAX_ARGS).collect();
    let lookup = |name: &[u8]| env::lookup(environ.iter().copied(), name);

    let mut expanded: Vec<Vec<u8>> = Vec::new();
    for &arg in &args {
        // With the fuzzer's buffer size, fenced by guard bytes.
        let mut buf = vec![FILL; size + GUARD];
        let got = env::expand(arg, lookup, &mut buf[..size]);
        assert!(
            buf[size..].iter().all(|&b| b == FILL),
            "wrote past the buffer: {arg:?}"
        );
        let want = reference(arg, &environ, size);
        match (&got, &want) {
            (Ok(len), Ok(text)) => {
                assert_eq!(&buf[..*len], &text[..], "expansion of {arg:?}");
                assert!(
                    buf[*len..size].iter().all(|&b| b == FILL),
                    "wrote past its result"
                );
            }
            (Err(ExpandError::Unset(name)), Err(Ref::Unset(at, len))) => {
                assert!(within(name, arg), "Unset name not from the argument");
                assert_eq!(*name, &arg[*at..*at + *len], "unset name of {arg:?}");
            }
            (Err(ExpandError::BadSyntax), Err(Ref::BadSyntax)) => {}
            (Err(ExpandError::TooLong), Err(Ref::TooLong)) => {}
            _ => panic!("{arg:?}: expand gave {got:?}, reference {want:?}"),
        }
        if !arg.contains(&b'$') {
            match got {
                Ok(len) => assert_eq!(&buf[..len], arg, "text without $ changed"),
                Err(e) => {
                    assert_eq!(e, ExpandError::TooLong);
                    assert!(arg.len() > size);
                }
            }
        }
        // The probe's own arena is large: expand again with room to spare.
        let Ok(full) = reference(arg, &environ, usize::MAX) else {
            return; // the probe stops at the first argument that fails
        };
        let mut buf = vec![FILL; full.len() + GUARD];
        let n = env::expand(arg, lookup, &mut buf[..full.len()]).expect("fits exactly");
        assert_eq!(&buf[..n], &full[..]);
        expanded.push(full);
    }

    let argv: Vec<&[u8]> = expanded.iter().map(|a| &a[..]).collect();
    // `parse` moves the headers to the front of the arguments it is given.
    let mut parsed = argv.clone();
    let mut targets = [NO_TARGET; MAX_TARGETS];
    let mut opts = Options::new();
    let mut why = scratchprobe::text::line::Line::new();
    let Some(command) = opts.parse(&mut parsed, &mut targets, &mut why) else {
        // A usage error is said in printable text that fits the line.
        assert!(!why.is_empty());
        assert!(why.as_bytes().iter().all(|&b| b == b' ' || b.is_ascii_graphic()));
        return;
    };
    if command != Command::Run {
        return;
    }
    assert!(opts.targets().len() <= MAX_TARGETS && opts.headers().len() <= MAX_HEADERS);
    assert!(
        !opts.targets().is_empty() || opts.idle,
        "a run with nothing to do"
    );
    assert!((1..=MAX_MS).contains(&opts.timeout_ms));
    assert!(request::is_token(opts.method), "method {:?}", opts.method);
    for h in opts.headers() {
        assert!(request::split_header(h).is_some(), "header {h:?}");
        assert!(
            argv.iter().any(|a| within(h, a)),
            "header not from the arguments"
        );
    }
    for (text, t) in opts.targets() {
        assert!(
            argv.iter()
                .any(|a| a.as_ptr() == text.as_ptr() && a.len() == text.len())
        );
        assert_eq!(target::parse(text), Ok(*t), "target {text:?}");
        if matches!(t.check, Check::Http | Check::Https) {
            let req = Request {
                method: opts.method,
                path: t.path,
                host_port: t.host_port,
                headers: opts.headers(),
            };
            let mut out = vec![0u8; 1 << 16];
            let len = request::write(&mut out, &req).expect("request does not fit 64 KiB");
            check_request(&out[..len], &req);
        }
    }
});

#[derive(Debug)]
enum Ref {
    /// At this offset of the argument, a name of this length is unset.
    Unset(usize, usize),
    BadSyntax,
    TooLong,
}

/// Plain expansion, left to right: `$$`, `${NAME}`, `${NAME:-default}` (the
/// default when unset or empty), `$NAME`; any other `$` stays. The first
/// step that is malformed, unset, or does not fit `size` decides the error.
fn reference(arg: &[u8], environ: &[&[u8]], size: usize) -> Result<Vec<u8>, Ref> {
    let is_start = |b: u8| b.is_ascii_alphabetic() || b == b'_';
    let is_rest = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let get = |name: &[u8]| -> Option<Vec<u8>> {
        environ.iter().find_map(|e| {
            let eq = e.iter().position(|&b| b == b'=')?;
            (&e[..eq] == name).then(|| e[eq + 1..].to_vec())
        })
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < arg.len() {
        let step: Vec<u8>;
        if arg[i] != b'$' {
            step = vec![arg[i]];
            i += 1;
        } else if arg.get(i + 1) == Some(&b'$') {
            step = b"$".to_vec();
            i += 2;
        } else if arg.get(i + 1) == Some(&b'{') {
            let close = i + arg[i..]
                .iter()
                .position(|&b| b == b'}')
                .ok_or(Ref::BadSyntax)?;
            let inner = &arg[i + 2..close];
            let (name, default) = match inner.windows(2).position(|w| w == b":-") {
                Some(p) => (&inner[..p], Some(&inner[p + 2..])),
                None => (inner, None),
            };
            let valid =
                name.first().is_some_and(|&b| is_start(b)) && name.iter().all(|&b| is_rest(b));
            if !valid {
                return Err(Ref::BadSyntax);
            }
            step = match (get(name), default) {
                (Some(v), Some(d)) if v.is_empty() => d.to_vec(),
                (Some(v), _) => v,
                (None, Some(d)) => d.to_vec(),
                (None, None) => return Err(Ref::Unset(i + 2, name.len())),
            };
            i = close + 1;
        } else if arg.get(i + 1).is_some_and(|&b| is_start(b)) {
            let len = arg[i + 1..].iter().take_while(|&&b| is_rest(b)).count();
            step = get(&arg[i + 1..i + 1 + len]).ok_or(Ref::Unset(i + 1, len))?;
            i += 1 + len;
        } else {
            step = b"$".to_vec();
            i += 1;
        }
        if out.len() + step.len() > size {
            return Err(Ref::TooLong);
        }
        out.extend_from_slice(&step);
    }
    Ok(out)
}
