//! Targets as users write them (`http://:8080/healthz`, `tcp://[::1]:5432`,
//! `unix:/run/app.sock`, `file:/tmp/hb?max-age=30s`, ...), parsed into what to
//! connect to and what to check. The loopback rule is applied here, before any
//! socket exists.

use crate::policy::loopback::{self, Host};
use crate::text::duration;

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
    /// The file exists and was modified within this many milliseconds (at
    /// most `duration::MAX_MS`: 32 bits keep the target smaller).
    FileMaxAge(u32),
    /// The file does not exist.
    FileAbsent,
    /// The file is missing or empty.
    FileEmpty,
}

// `Check::FileMaxAge` holds any duration `duration::parse_ms` accepts.
const _: () = assert!(duration::MAX_MS <= u32::MAX as u64);

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

impl Target<'_> {
    /// A placeholder for slots not filled yet.
    pub const EMPTY: Target<'static> = Target {
        check: Check::Connect,
        endpoint: Endpoint::File(&[]),
        path: &[],
        host_port: None,
    };
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

/// Every scheme with its separator, NUL-terminated (one string is smaller
/// than a table of slices). The order matters: an index under 4 is an inet
/// scheme, 4, 5 and 7 are Unix socket schemes, and for both the index's low
/// two bits give the check (see `check`).
const SCHEMES: &[u8] =
    b"tcp://\0http://\0https://\0grpc://\0unix:\0http+unix:\0file:\0grpc+unix:\0";

/// The check of an inet or Unix scheme, from the low two bits of its index
/// in `SCHEMES`.
fn check(scheme: usize) -> Check {
    match scheme & 3 {
        0 => Check::Connect,
        1 => Check::Http,
        2 => Check::Https,
        _ => Check::Grpc,
    }
}

/// Parses one target.
pub fn parse(text: &[u8]) -> Result<Target<'_>, TargetError<'_>> {
    let mut target = Target::EMPTY;
    parse_into(text, &mut target)?;
    Ok(target)
}

/// Parses one target into `out`, which is written when the result is `Ok`:
/// the target goes straight to where it is kept, without a copy.
pub(crate) fn parse_into<'a>(text: &'a [u8], out: &mut Target<'a>) -> Result<(), TargetError<'a>> {
    let mut host: &[u8] = &[];
    parse_or_say_why(text, out, &mut host).map_err(|why| match why {
        NOT_LOOPBACK => TargetError::NotLoopback(host),
        why => Invalid(why),
    })
}

/// What `parse_or_say_why` says for a host that is not loopback; `host` is
/// then the host text.
const NOT_LOOPBACK: &str = "";

/// `parse_into`, with only a message for an error: it fits in registers,
/// which makes each error a few bytes.
#[inline(never)]
fn parse_or_say_why<'a>(
    text: &'a [u8],
    out: &mut Target<'a>,
    host: &mut &'a [u8],
) -> Result<(), &'static str> {
    // The scheme's index in SCHEMES (8: none), and what follows it.
    let (mut scheme, len) = crate::bytes::prefix_in(SCHEMES, text);
    let rest = &text[len..];
    let mut path: &[u8] = &[];
    let mut host_port = None;
    // A socket or file path, for the kernel: it must hold no NUL (which
    // argv and the environment cannot carry, but other callers might).
    let mut local: &[u8] = &[];
    let check;
    let endpoint;
    if scheme < 4 || scheme == 8 {
        // No scheme means http://; an unknown one is refused.
        if scheme == 8 {
            if text.windows(3).any(|w| w == b"://") {
                return Err("unsupported scheme");
            }
            scheme = 1;
        }
        check = self::check(scheme);
        let default_port: u32 = match scheme {
            1 => 80,
            2 => 443,
            _ => 0,
        };
        // `HOST[:PORT][/PATH][?QUERY][#FRAGMENT]`; the fragment is dropped.
        let rest = &rest[..rest.iter().position(|&b| b == b'#').unwrap_or(rest.len())];
        let authority_len = rest.iter().position(|&b| b == b'/' || b == b'?');
        let authority;
        (authority, path) = rest.split_at(authority_len.unwrap_or(rest.len()));
        // The port follows the last `:` outside brackets.
        let host_end = match authority.iter().rposition(|&b| b == b':' || b == b']') {
            Some(i) if authority[i] == b':' => i,
            _ => authority.len(),
        };
        let port_text;
        (*host, port_text) = authority.split_at(host_end);
        let host = loopback::parse_host(host).ok_or(NOT_LOOPBACK)?;
        let mut port = default_port;
        if let [_colon, digits @ ..] = port_text {
            // At most five digits: no overflow; 0 and 65536.. are refused below.
            port = 0;
            for &d in digits {
                let d = d.wrapping_sub(b'0');
                if d > 9 || digits.len() > 5 {
                    port = 0;
                    break;
                }
                port = port * 10 + u32::from(d);
            }
        }
        if port == 0 || port > 65535 {
            return Err("bad port");
        }
        if let (Check::Grpc, [b'/', service @ ..]) = (check, path) {
            path = service;
        }
        endpoint = Endpoint::Inet(host, port as u16);
        host_port = (port != default_port).then_some(port as u16);
    } else if scheme != 6 {
        // `SOCKET`, `SOCKET[:/PATH]`, `SOCKET[:SERVICE]`.
        let split = match scheme {
            4 => None,
            5 => rest.windows(2).position(|w| w == b":/"),
            _ => rest.iter().rposition(|&b| b == b':'),
        };
        let (socket, after) = rest
            .split_at_checked(split.unwrap_or(rest.len()))
            .unwrap_or((rest, &[]));
        // After the `:` (the path keeps its `/`).
        path = after.get(1..).unwrap_or_default();
        check = self::check(scheme);
        if socket.is_empty() || socket == b"@" {
            return Err("bad socket path");
        }
        if socket.len() > UNIX_PATH_MAX {
            return Err("socket path too long");
        }
        local = socket;
        endpoint = Endpoint::Unix(socket);
    } else {
        // `PATH[?max-age=DUR|?absent|?empty]`.
        let q = rest.iter().rposition(|&b| b == b'?').unwrap_or(rest.len());
        let (file, query) = rest.split_at(q);
        // The query's index in the list (3: none), and what follows it.
        let (which, len) = crate::bytes::prefix_in(b"?absent\0?empty\0?max-age=\0", query);
        let value = query.get(len..).unwrap_or_default();
        check = match which {
            _ if query.is_empty() => Check::FileExists,
            0 if value.is_empty() => Check::FileAbsent,
            1 if value.is_empty() => Check::FileEmpty,
            2 => Check::FileMaxAge(duration::parse_ms(value).ok_or("bad max-age")? as u32),
            _ => return Err("unknown file check"),
        };
        if file.is_empty() {
            return Err("bad file path");
        }
        local = file;
        endpoint = Endpoint::File(file);
    }
    if !path.iter().all(|&b| b.is_ascii_graphic()) || crate::bytes::has(local, 0) {
        return Err("invalid character in path");
    }
    *out = Target {
        check,
        endpoint,
        path,
        host_port,
    };
    Ok(())
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
        assert_eq!(err("tcp://127.0.0.1"), Invalid("bad port"));
        assert_eq!(err("grpc://:"), Invalid("bad port"));
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
        assert!(matches!(err("file:/tmp/\0x"), Invalid(_)));
        assert!(matches!(err("unix:/run/\0x"), Invalid(_)));
        assert!(matches!(err("grpc+unix:/run/\0x:svc"), Invalid(_)));
        assert!(matches!(err("file:?absent"), Invalid(_)));
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
