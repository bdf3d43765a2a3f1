//! Targets as users write them (`http://:8080/healthz`, `tcp://[::1]:5432`,
//! `unix:/run/app.sock`, `file:/tmp/hb?max-age=30s`, ...), parsed into where
//! to connect and what to check. The loopback rule is applied here, before
//! any socket exists: a target that names another host is an error.

use crate::policy::loopback::{self, Host};
use crate::report::TargetError;
use crate::text::duration;

/// How many targets one run checks at most.
pub const MAX_TARGETS: usize = 16;

/// A target as given (after expansion), for the output line, and what it says.
pub type Named<'a> = (&'a [u8], Target<'a>);

/// The longest Unix socket path: `sun_path` holds 108 bytes with the NUL.
pub const UNIX_PATH_MAX: usize = 107;

/// One parsed target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    /// Where the check goes.
    pub endpoint: Endpoint<'a>,
    /// What decides whether it passes.
    pub check: Check<'a>,
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

/// What decides whether a target passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check<'a> {
    /// The connection is accepted (`tcp://`, `unix:`).
    Connect,
    /// The final HTTP status is accepted (`http://`, `https://`, `http+unix:`).
    Http(HttpTarget<'a>),
    /// `grpc.health.v1.Health/Check` answers SERVING (`grpc://`, `grpc+unix:`).
    Grpc(GrpcTarget<'a>),
    /// The file is as the query asks (`file:`).
    File(FileCheck),
}

/// What an HTTP target asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpTarget<'a> {
    /// Path and query, as written (empty: `/`).
    pub path: &'a [u8],
    /// The port to name in `Host:`, when not the scheme's default.
    pub host_port: Option<u16>,
    /// Over TLS (`https://`).
    pub tls: bool,
}

/// What a gRPC target asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrpcTarget<'a> {
    /// The service to ask about; empty: the whole server.
    pub service: &'a [u8],
    /// The port, for `:authority` (none over a Unix socket).
    pub port: Option<u16>,
}

/// What a file target checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileCheck {
    /// The file exists.
    Exists,
    /// The file exists and was modified within this many milliseconds.
    MaxAge(u64),
    /// The file does not exist.
    Absent,
    /// The file is missing or empty.
    Empty,
}

/// A target's scheme: the text before its host, socket or path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Tcp,
    Http,
    Https,
    Grpc,
    Unix,
    HttpUnix,
    GrpcUnix,
    File,
}

/// Every scheme as written. None is a prefix of one listed before it.
const SCHEMES: [(&[u8], Scheme); 8] = [
    (b"tcp://", Scheme::Tcp),
    (b"http://", Scheme::Http),
    (b"https://", Scheme::Https),
    (b"grpc://", Scheme::Grpc),
    (b"unix:", Scheme::Unix),
    (b"http+unix:", Scheme::HttpUnix),
    (b"grpc+unix:", Scheme::GrpcUnix),
    (b"file:", Scheme::File),
];

/// Parses one target.
pub fn parse(text: &[u8]) -> Result<Target<'_>, TargetError<'_>> {
    let scheme = SCHEMES.iter().find(|(prefix, _)| text.starts_with(prefix));
    match scheme {
        Some(&(prefix, scheme)) => {
            let rest = &text[prefix.len()..];
            match scheme {
                Scheme::Tcp | Scheme::Http | Scheme::Https | Scheme::Grpc => {
                    parse_inet(scheme, rest)
                }
                Scheme::Unix | Scheme::HttpUnix | Scheme::GrpcUnix => parse_unix(scheme, rest),
                Scheme::File => parse_file(rest),
            }
        }
        // No scheme is `http://`; an unknown one is refused.
        None if contains(text, b"://") => Err(TargetError::UnsupportedScheme),
        None => parse_inet(Scheme::Http, text),
    }
}

/// `HOST[:PORT][/PATH][?QUERY][#FRAGMENT]`: the fragment is dropped; the
/// port is needed but for HTTP(S).
fn parse_inet(scheme: Scheme, rest: &[u8]) -> Result<Target<'_>, TargetError<'_>> {
    let rest = &rest[..position(rest, |b| b == b'#').unwrap_or(rest.len())];
    let authority_end = position(rest, |b| b == b'/' || b == b'?').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    // The port follows the last `:` that is not inside brackets.
    let (host_text, port_text) = match authority.iter().rposition(|&b| b == b':' || b == b']') {
        Some(i) if authority[i] == b':' => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    let host = loopback::parse_host(host_text).ok_or(TargetError::NotLoopback(host_text))?;
    let default_port = match scheme {
        Scheme::Http => Some(80),
        Scheme::Https => Some(443),
        _ => None,
    };
    let port = match port_text {
        Some(digits) => parse_port(digits),
        None => default_port,
    }
    .ok_or(TargetError::BadPort)?;
    let check = match scheme {
        Scheme::Grpc => Check::Grpc(GrpcTarget {
            service: path.strip_prefix(b"/").unwrap_or(path),
            port: Some(port),
        }),
        Scheme::Http | Scheme::Https => Check::Http(HttpTarget {
            path,
            host_port: (Some(port) != default_port).then_some(port),
            tls: scheme == Scheme::Https,
        }),
        _ => Check::Connect,
    };
    check_path_text(path)?;
    Ok(Target {
        endpoint: Endpoint::Inet(host, port),
        check,
    })
}

/// A port: 1 to 65535 in decimal, at most five digits, nothing else.
fn parse_port(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let port = digits
        .iter()
        .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    u16::try_from(port).ok().filter(|&port| port != 0)
}

/// `SOCKET` (`unix:`), `SOCKET[:/PATH]` (`http+unix:`: the path starts at
/// the first `:/`), `SOCKET[:SERVICE]` (`grpc+unix:`: after the last `:`).
fn parse_unix(scheme: Scheme, rest: &[u8]) -> Result<Target<'_>, TargetError<'_>> {
    let split = match scheme {
        Scheme::HttpUnix => rest.windows(2).position(|w| w == b":/"),
        Scheme::GrpcUnix => rest.iter().rposition(|&b| b == b':'),
        _ => None,
    };
    let (socket, after) = match split {
        Some(colon) => (&rest[..colon], &rest[colon + 1..]),
        None => (rest, &[][..]),
    };
    if socket.is_empty() || socket == b"@" || contains(socket, b"\0") {
        return Err(TargetError::BadSocketPath);
    }
    if socket.len() > UNIX_PATH_MAX {
        return Err(TargetError::SocketPathTooLong);
    }
    let check = match scheme {
        Scheme::HttpUnix => Check::Http(HttpTarget {
            path: after,
            host_port: None,
            tls: false,
        }),
        Scheme::GrpcUnix => Check::Grpc(GrpcTarget {
            service: after,
            port: None,
        }),
        _ => Check::Connect,
    };
    check_path_text(after)?;
    Ok(Target {
        endpoint: Endpoint::Unix(socket),
        check,
    })
}

/// `PATH[?max-age=DUR|?absent|?empty]`.
fn parse_file(rest: &[u8]) -> Result<Target<'_>, TargetError<'_>> {
    let (path, query) = match rest.iter().rposition(|&b| b == b'?') {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };
    let check = match query {
        None => FileCheck::Exists,
        Some(b"absent") => FileCheck::Absent,
        Some(b"empty") => FileCheck::Empty,
        Some(query) => match query.strip_prefix(b"max-age=") {
            Some(age) => FileCheck::MaxAge(duration::parse_ms(age).ok_or(TargetError::BadMaxAge)?),
            None => return Err(TargetError::UnknownFileCheck),
        },
    };
    if path.is_empty() || contains(path, b"\0") {
        return Err(TargetError::BadFilePath);
    }
    Ok(Target {
        endpoint: Endpoint::File(path),
        check: Check::File(check),
    })
}

/// An HTTP path or a gRPC service is sent as written: visible ASCII only, so
/// that nothing can be injected into the request.
fn check_path_text(path: &[u8]) -> Result<(), TargetError<'static>> {
    if path.iter().all(u8::is_ascii_graphic) {
        Ok(())
    } else {
        Err(TargetError::InvalidCharacterInPath)
    }
}

fn position(text: &[u8], found: impl Fn(u8) -> bool) -> Option<usize> {
    text.iter().position(|&b| found(b))
}

fn contains(text: &[u8], needle: &[u8]) -> bool {
    text.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use TargetError::*;

    fn ok(text: &str) -> Target<'_> {
        parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    fn err(text: &str) -> TargetError<'_> {
        parse(text.as_bytes()).expect_err(text)
    }

    fn http(text: &str) -> HttpTarget<'_> {
        match ok(text).check {
            Check::Http(http) => http,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn http_forms() {
        let t = ok("http://:8080/healthz?full=1#frag");
        assert_eq!(t.endpoint, Endpoint::Inet(Host::Both, 8080));
        assert_eq!(
            t.check,
            Check::Http(HttpTarget {
                path: b"/healthz?full=1",
                host_port: Some(8080),
                tls: false
            })
        );
        let t = ok("http://localhost/");
        assert_eq!(t.endpoint, Endpoint::Inet(Host::Both, 80));
        assert_eq!(http("http://localhost/").host_port, None);
        assert_eq!(http("http://127.0.0.2:81").path, b"");
        assert_eq!(http("http://[::1]:81?x").path, b"?x");
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
        let https = http("https://:8443/");
        assert!(https.tls);
        assert_eq!(https.host_port, Some(8443));
        assert_eq!(http("https://localhost:443").host_port, None);
        assert_eq!(http("https://localhost:80").host_port, Some(80));
    }

    #[test]
    fn tcp_and_grpc_need_ports() {
        assert_eq!(ok("tcp://127.0.0.1:5432").check, Check::Connect);
        assert_eq!(err("tcp://127.0.0.1"), BadPort);
        assert_eq!(err("grpc://:"), BadPort);
        assert_eq!(
            ok("grpc://:50051/my.Service").check,
            Check::Grpc(GrpcTarget {
                service: b"my.Service",
                port: Some(50051)
            })
        );
        assert_eq!(
            ok("grpc://[::1]:50051").check,
            Check::Grpc(GrpcTarget {
                service: b"",
                port: Some(50051)
            })
        );
    }

    #[test]
    fn local_forms() {
        let u = ok("unix:@admin");
        assert_eq!(
            (u.check, u.endpoint),
            (Check::Connect, Endpoint::Unix(b"@admin"))
        );
        let h = ok("http+unix:/run/app.sock:/healthz");
        assert_eq!(h.endpoint, Endpoint::Unix(b"/run/app.sock"));
        assert_eq!(http("http+unix:/run/app.sock:/healthz").path, b"/healthz");
        assert_eq!(http("http+unix:/run/app.sock").path, b"");
        let g = ok("grpc+unix:/run/g.sock:svc");
        assert_eq!(
            (g.endpoint, g.check),
            (
                Endpoint::Unix(b"/run/g.sock"),
                Check::Grpc(GrpcTarget {
                    service: b"svc",
                    port: None
                })
            )
        );
        assert_eq!(
            ok("file:/tmp/hb?max-age=30s").check,
            Check::File(FileCheck::MaxAge(30_000))
        );
        assert_eq!(
            ok("file:/tmp/down?absent").check,
            Check::File(FileCheck::Absent)
        );
        assert_eq!(
            ok("file:/tmp/updates?empty").check,
            Check::File(FileCheck::Empty)
        );
        assert_eq!(ok("file:/tmp/x").endpoint, Endpoint::File(b"/tmp/x"));
        assert_eq!(err("file:/tmp/x?max-age=5x"), BadMaxAge);
        assert_eq!(err("file:/tmp/\0x"), BadFilePath);
        assert_eq!(err("unix:/run/\0x"), BadSocketPath);
        assert_eq!(err("grpc+unix:/run/\0x:svc"), BadSocketPath);
        assert_eq!(err("file:?absent"), BadFilePath);
        assert_eq!(err("file:/tmp/x?present"), UnknownFileCheck);
        assert_eq!(err("unix:"), BadSocketPath);
        assert_eq!(err("unix:@"), BadSocketPath);
        assert_eq!(
            err(&format!("unix:/{}", "a".repeat(107))),
            SocketPathTooLong
        );
        assert!(parse(format!("unix:/{}", "a".repeat(106)).as_bytes()).is_ok());
    }

    #[test]
    fn refusals() {
        assert_eq!(err("http://10.0.0.5/"), NotLoopback(b"10.0.0.5"));
        assert_eq!(
            err("http://127.0.0.1@10.0.0.1/"),
            NotLoopback(b"127.0.0.1@10.0.0.1")
        );
        assert_eq!(err("example.com:80"), NotLoopback(b"example.com"));
        assert_eq!(
            err("http://[2001:db8::1]:80/"),
            NotLoopback(b"[2001:db8::1]")
        );
        assert_eq!(err("http://::1/"), NotLoopback(b":"));
        assert_eq!(err("ftp://localhost/"), UnsupportedScheme);
        assert_eq!(err("http://:0/"), BadPort);
        assert_eq!(err("http://:65536/"), BadPort);
        assert_eq!(err("http://:/"), BadPort);
        assert_eq!(err("http://:+80/"), BadPort);
        assert_eq!(err("http://:080000/"), BadPort);
        assert_eq!(err("http://:80/a b"), InvalidCharacterInPath);
        assert_eq!(err("http://:80/a\r\nX: y"), InvalidCharacterInPath);
        assert_eq!(err("http://:80/\0"), InvalidCharacterInPath);
        assert_eq!(err("grpc://:80/a b"), InvalidCharacterInPath);
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
                if let Check::Http(HttpTarget { path, .. }) = t.check {
                    proptest::prop_assert!(path.iter().all(|b| b.is_ascii_graphic()));
                }
            }
        }

        /// Ports: exactly the decimal numbers 1 to 65535 without a sign.
        #[test]
        fn ports_agree_with_std(text in "[0-9+]{0,6}") {
            let want = text.parse::<u16>().ok().filter(|&p| p != 0 && !text.starts_with('+'));
            proptest::prop_assert_eq!(parse_port(text.as_bytes()), want);
        }
    }
}
