//! Targets as users write them (`http://:8080/healthz`, `tcp://[::1]:5432`,
//! `unix:/run/app.sock`, `file:/tmp/hb?max-age=30s`, ...), parsed into what to
//! connect to and what to check. The loopback rule is applied here, before any
//! socket exists.

use crate::duration;
use crate::loopback::{self, Host};

/// Longest Unix socket path: `sun_path` holds 108 bytes with the NUL.
pub const UNIX_PATH_MAX: usize = 107;

/// What decides whether a target passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The connection is accepted (`tcp://`, `unix:`).
    Connect,
    /// The final HTTP status is in the accepted list.
    Http,
    /// As `Http`, over TLS (only in the TLS build).
    Https,
    /// `grpc.health.v1.Health/Check` answers SERVING.
    Grpc,
    /// The file exists.
    FileExists,
    /// The file exists and was modified within this many milliseconds.
    FileMaxAge(u64),
    /// The file does not exist.
    FileAbsent,
    /// The file is missing or empty.
    FileEmpty,
}

/// Where the check goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// A loopback host and port.
    Inet(Host, u16),
    /// A Unix stream socket path; a leading `@` names an abstract socket.
    Unix(&'a [u8]),
    /// A file path.
    File(&'a [u8]),
}

/// One parsed target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    /// What decides the result.
    pub check: Check,
    /// Where to connect, or which file.
    pub endpoint: Endpoint<'a>,
    /// HTTP: path and query (may be empty: send `/`); gRPC: the service name.
    pub path: &'a [u8],
    /// HTTP: the port to name in `Host:`, when not the scheme's default.
    pub host_port: Option<u16>,
}

/// Why a target was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetError<'a> {
    /// The host is not a loopback address (the host text as written).
    NotLoopback(&'a [u8]),
    /// Anything else, said in a few words.
    Invalid(&'static str),
}

use TargetError::Invalid;

/// Every scheme with its separator, in the order `parse` dispatches on.
/// Looked up in a table: matching literals one by one costs far more code.
const SCHEMES: [&[u8]; 8] = [
    b"http://",
    b"https://",
    b"tcp://",
    b"grpc://",
    b"unix:",
    b"http+unix:",
    b"grpc+unix:",
    b"file:",
];

/// Parses one target.
pub fn parse(text: &[u8]) -> Result<Target<'_>, TargetError<'_>> {
    let scheme = SCHEMES.iter().position(|s| text.starts_with(s));
    let rest = &text[scheme.map_or(0, |i| SCHEMES[i].len())..];
    match scheme {
        // No scheme means http://; an unknown one is refused.
        None if text.windows(3).any(|w| w == b"://") => Err(Invalid("unsupported scheme")),
        None | Some(0) => inet(Check::Http, rest, Some(80)),
        Some(1) => inet(Check::Https, rest, Some(443)),
        Some(2) => inet(Check::Connect, rest, None),
        Some(3) => inet(Check::Grpc, rest, None),
        Some(4) => unix(Check::Connect, rest, &[]),
        Some(5) => {
            let (socket, path) = match rest.windows(2).position(|w| w == b":/") {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            unix(Check::Http, socket, path)
        }
        Some(6) => {
            let (socket, service) = match rest.iter().rposition(|&b| b == b':') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            unix(Check::Grpc, socket, service)
        }
        Some(_) => file(rest),
    }
}

/// `HOST[:PORT][/PATH][?QUERY][#FRAGMENT]`; the fragment is dropped.
fn inet(
    check: Check,
    rest: &[u8],
    default_port: Option<u16>,
) -> Result<Target<'_>, TargetError<'_>> {
    let authority_len = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let (authority, mut path) = rest.split_at(authority_len);
    if let Some(hash) = path.iter().position(|&b| b == b'#') {
        path = &path[..hash];
    }
    // The port follows the last `:` outside brackets.
    let host_end = match authority.iter().rposition(|&b| b == b':' || b == b']') {
        Some(i) if authority[i] == b':' => i,
        _ => authority.len(),
    };
    let (host_text, port_text) = authority.split_at(host_end);
    let host = loopback::parse_host(host_text).ok_or(TargetError::NotLoopback(host_text))?;
    let port = match port_text {
        [] => default_port.ok_or(Invalid("missing port"))?,
        [_colon, digits @ ..] => parse_port(digits).ok_or(Invalid("bad port"))?,
    };
    let path = if check == Check::Grpc {
        path.strip_prefix(b"/").unwrap_or(path)
    } else {
        path
    };
    check_path(path)?;
    Ok(Target {
        check,
        endpoint: Endpoint::Inet(host, port),
        path,
        host_port: (Some(port) != default_port).then_some(port),
    })
}

fn unix<'a>(check: Check, socket: &'a [u8], path: &'a [u8]) -> Result<Target<'a>, TargetError<'a>> {
    check_path(path)?;
    if socket.is_empty() || socket == b"@" {
        return Err(Invalid("missing socket path"));
    }
    if socket.len() > UNIX_PATH_MAX {
        return Err(Invalid("socket path too long"));
    }
    if crate::bytes::has(socket, 0) {
        return Err(Invalid("invalid character in socket path"));
    }
    Ok(Target {
        check,
        endpoint: Endpoint::Unix(socket),
        path,
        host_port: None,
    })
}

/// `PATH[?max-age=DUR|?absent|?empty]`.
fn file(rest: &[u8]) -> Result<Target<'_>, TargetError<'_>> {
    let (path, check) = match rest.iter().rposition(|&b| b == b'?') {
        None => (rest, Check::FileExists),
        Some(i) => {
            let query = &rest[i + 1..];
            let check = if query == b"absent" {
                Check::FileAbsent
            } else if query == b"empty" {
                Check::FileEmpty
            } else if let Some(dur) = query.strip_prefix(b"max-age=") {
                Check::FileMaxAge(duration::parse_ms(dur).ok_or(Invalid("bad max-age"))?)
            } else {
                return Err(Invalid("unknown file check (max-age=DUR, absent or empty)"));
            };
            (&rest[..i], check)
        }
    };
    if path.is_empty() || crate::bytes::has(path, 0) {
        return Err(Invalid("bad file path"));
    }
    Ok(Target {
        check,
        endpoint: Endpoint::File(path),
        path: &[],
        host_port: None,
    })
}

/// A decimal port, 1 to 65535.
fn parse_port(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    let mut port: u32 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        port = port * 10 + u32::from(d - b'0');
    }
    u16::try_from(port).ok().filter(|&p| p != 0)
}

/// Paths, queries and service names go on the wire as they are: only visible
/// ASCII, so nothing can be injected into the request.
fn check_path(path: &[u8]) -> Result<(), TargetError<'static>> {
    if path.iter().all(|&b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Invalid("invalid character in path"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Target<'_> {
        parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    fn err(text: &str) -> TargetError<'_> {
        parse(text.as_bytes()).expect_err(text)
    }

    #[test]
    fn http_forms() {
        let t = ok("http://:8080/healthz?full=1#frag");
        assert_eq!(t.check, Check::Http);
        assert_eq!(t.endpoint, Endpoint::Inet(Host::Both, 8080));
        assert_eq!(t.path, b"/healthz?full=1");
        assert_eq!(t.host_port, Some(8080));
        let t = ok("http://localhost/");
        assert_eq!(
            (t.endpoint, t.host_port),
            (Endpoint::Inet(Host::Both, 80), None)
        );
        assert_eq!(ok("http://127.0.0.2:81").path, b"");
        assert_eq!(ok("http://[::1]:81?x").path, b"?x");
        assert_eq!(
            ok("http://[::1]:81").endpoint,
            Endpoint::Inet(Host::V6Loopback, 81)
        );
        assert_eq!(
            ok("localhost:8080/healthz").endpoint,
            Endpoint::Inet(Host::Both, 8080)
        );
        assert_eq!(ok(":8080").endpoint, Endpoint::Inet(Host::Both, 8080));
        assert_eq!(
            ok("127.0.0.1").endpoint,
            Endpoint::Inet(Host::V4([127, 0, 0, 1]), 80)
        );
        assert_eq!(ok("https://:8443/").check, Check::Https);
    }

    #[test]
    fn tcp_and_grpc_need_ports() {
        assert_eq!(ok("tcp://127.0.0.1:5432").check, Check::Connect);
        assert_eq!(err("tcp://127.0.0.1"), Invalid("missing port"));
        let g = ok("grpc://:50051/my.Service");
        assert_eq!((g.check, g.path), (Check::Grpc, &b"my.Service"[..]));
        assert_eq!(ok("grpc://[::1]:50051").path, b"");
    }

    #[test]
    fn local_forms() {
        let u = ok("unix:@admin");
        assert_eq!(
            (u.check, u.endpoint),
            (Check::Connect, Endpoint::Unix(b"@admin"))
        );
        let h = ok("http+unix:/run/app.sock:/healthz");
        assert_eq!(
            (h.endpoint, h.path),
            (Endpoint::Unix(b"/run/app.sock"), &b"/healthz"[..])
        );
        assert_eq!(ok("http+unix:/run/app.sock").path, b"");
        let g = ok("grpc+unix:/run/g.sock:svc");
        assert_eq!(
            (g.endpoint, g.path),
            (Endpoint::Unix(b"/run/g.sock"), &b"svc"[..])
        );
        assert_eq!(
            ok("file:/tmp/hb?max-age=30s").check,
            Check::FileMaxAge(30_000)
        );
        assert_eq!(ok("file:/tmp/down?absent").check, Check::FileAbsent);
        assert_eq!(ok("file:/tmp/updates?empty").check, Check::FileEmpty);
        assert_eq!(ok("file:/tmp/x").endpoint, Endpoint::File(b"/tmp/x"));
        assert_eq!(err("file:/tmp/x?max-age=5x"), Invalid("bad max-age"));
        assert!(matches!(err("file:/tmp/x?present"), Invalid(_)));
        assert!(matches!(err("unix:"), Invalid(_)));
        assert!(matches!(
            err(&format!("unix:/{}", "a".repeat(107))),
            Invalid(_)
        ));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            err("http://10.0.0.5/"),
            TargetError::NotLoopback(b"10.0.0.5")
        );
        assert_eq!(
            err("http://127.0.0.1@10.0.0.1/"),
            TargetError::NotLoopback(b"127.0.0.1@10.0.0.1")
        );
        assert_eq!(
            err("example.com:80"),
            TargetError::NotLoopback(b"example.com")
        );
        assert_eq!(
            err("http://[2001:db8::1]:80/"),
            TargetError::NotLoopback(b"[2001:db8::1]")
        );
        assert_eq!(err("http://::1/"), TargetError::NotLoopback(b":"));
        assert_eq!(err("ftp://localhost/"), Invalid("unsupported scheme"));
        assert_eq!(err("http://:0/"), Invalid("bad port"));
        assert_eq!(err("http://:65536/"), Invalid("bad port"));
        assert_eq!(err("http://:/"), Invalid("bad port"));
        assert_eq!(err("http://:+80/"), Invalid("bad port"));
        assert_eq!(err("http://:80/a b"), Invalid("invalid character in path"));
        assert_eq!(
            err("http://:80/a\r\nX: y"),
            Invalid("invalid character in path")
        );
        assert_eq!(err("http://:80/\0"), Invalid("invalid character in path"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let _ = parse(&text);
        }

        /// Whatever is accepted as an Inet endpoint is a loopback host, and an
        /// accepted path is printable.
        #[test]
        fn accepted_inet_targets_are_loopback(text in "(http|tcp|grpc)://[0-9a-z.:\\[\\]@]{0,24}(/[ -~]{0,8})?") {
            if let Ok(t) = parse(text.as_bytes()) {
                if let Endpoint::Inet(Host::V4(ip), _) = t.endpoint {
                    proptest::prop_assert_eq!(ip[0], 127);
                }
                proptest::prop_assert!(t.path.iter().all(|b| b.is_ascii_graphic()));
            }
        }
    }
}
