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
use scratchprobe::cli::env::{self, ExpandError};
use scratchprobe::cli::{self, ARENA, Command, MAX_HEADERS, MAX_TARGETS, Slots};
use scratchprobe::policy::target::{self, Check};
use scratchprobe::proto::http::request::{self, Request};
use scratchprobe::text::duration::MAX_MS;
use scratchprobe::text::line::Line;
use scratchprobe_fuzz::{check_request, within};

/// More arguments than any run needs.
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

    // The whole command line, as the probe reads it: options decided on the
    // text as written, values and targets expanded.
    let mut arena = vec![0u8; ARENA];
    let mut slots = Slots::new();
    let parsed = cli::parse(
        args.iter().copied(),
        environ.iter().copied(),
        &mut arena,
        &mut slots,
    );
    let plan = match parsed {
        Ok(Command::Check(plan)) => plan,
        Ok(_) => return,
        Err(e) => {
            // A usage error is said in printable text that fits the line.
            let mut why = Line::new();
            e.write(&mut why);
            assert!(!why.is_empty());
            assert!(
                why.as_bytes()
                    .iter()
                    .all(|&b| b == b' ' || b.is_ascii_graphic())
            );
            return;
        }
    };
    assert!(plan.targets.len() <= MAX_TARGETS && plan.settings.headers.len() <= MAX_HEADERS);
    assert!(!plan.targets.is_empty(), "a run with nothing to do");
    assert!((1..=MAX_MS).contains(&plan.timeout_ms));
    assert!(
        request::is_token(plan.settings.method),
        "method {:?}",
        plan.settings.method
    );
    for h in plan.settings.headers {
        assert!(request::split_header(h).is_some(), "header {h:?}");
    }
    for (text, t) in plan.targets {
        assert!(
            expanded.iter().any(|e| &e[..] == *text),
            "target {text:?} is no argument's expansion"
        );
        assert_eq!(target::parse(text), Ok(*t), "target {text:?}");
        if let Check::Http(http) = t.check {
            let req = Request {
                method: plan.settings.method,
                path: http.path,
                host_port: http.host_port,
                headers: plan.settings.headers,
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
