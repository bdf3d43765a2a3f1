//! `target::parse` on arbitrary bytes: never panics, and whatever it accepts
//! keeps the loopback rule and puts only printable ASCII on the wire. For
//! http(s) targets it accepts, a WHATWG URL parser (the `url` crate, what
//! browsers and curl-alikes read) must agree that the host is loopback and
//! on the port.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchprobe::policy::loopback::Host;
use scratchprobe::policy::target::{self, Check, Endpoint, UNIX_PATH_MAX};
use scratchprobe::report::TargetError;
use scratchprobe_fuzz::within;

fuzz_target!(|text: &[u8]| {
    let result = target::parse(text);
    assert_eq!(result, target::parse(text), "not deterministic");
    let t = match result {
        Ok(t) => t,
        Err(TargetError::NotLoopback(host)) => {
            assert!(within(host, text), "refused host text not from the input");
            return;
        }
        Err(_) => return,
    };
    // What goes on the wire: printable ASCII only, from the input.
    let wire = match t.check {
        Check::Http(http) => http.path,
        Check::Grpc(grpc) => grpc.service,
        Check::Connect | Check::File(_) => b"",
    };
    assert!(
        wire.is_empty() || within(wire, text),
        "path not from the input"
    );
    assert!(
        wire.iter().all(|b| b.is_ascii_graphic()),
        "accepted path with a non-printable byte or a space: {wire:?}"
    );
    match t.endpoint {
        Endpoint::Inet(host, port) => {
            assert_ne!(port, 0);
            if let Host::V4(ip) = host {
                assert_eq!(ip[0], 127, "accepted non-loopback {ip:?} from {text:?}");
            }
            match t.check {
                Check::Http(http) => {
                    let default = if http.tls { 443 } else { 80 };
                    assert_eq!(
                        http.host_port,
                        (port != default).then_some(port),
                        "Host: port"
                    );
                    whatwg_agrees(text, port);
                }
                Check::Grpc(grpc) => assert_eq!(grpc.port, Some(port)),
                Check::Connect => {}
                other => panic!("{other:?} with an Inet endpoint"),
            }
        }
        Endpoint::Unix(socket) => {
            assert!(!matches!(t.check, Check::File(_)));
            if let Check::Http(http) = t.check {
                assert!(!http.tls && http.host_port.is_none());
            }
            if let Check::Grpc(grpc) = t.check {
                assert_eq!(grpc.port, None);
            }
            assert!(within(socket, text));
            assert!(!socket.is_empty() && socket != b"@" && socket.len() <= UNIX_PATH_MAX);
            assert!(!socket.contains(&0), "NUL in socket path");
        }
        Endpoint::File(path) => {
            assert!(text.starts_with(b"file:"));
            assert!(matches!(t.check, Check::File(_)));
            assert!(within(path, text));
            assert!(
                !path.is_empty() && !path.contains(&0),
                "bad file path {path:?}"
            );
        }
    }
});

/// The `url` crate's reading of an accepted http(s) target, when it can read
/// it at all, names a loopback host and the same port.
fn whatwg_agrees(text: &[u8], port: u16) {
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let after_scheme = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .unwrap_or(text);
    // A URL parser skips any number of slashes (and backslashes) before a
    // special scheme's host, where this parser reads an empty host (loopback)
    // and a path: `http:///x` is localhost's `/x` here, host `x` there. Both
    // readings stay on loopback here; compare only where there is a host.
    if after_scheme.starts_with(['/', '\\']) {
        return;
    }
    let with_scheme = if after_scheme.len() < text.len() {
        text.to_string()
    } else {
        format!("http://{text}")
    };
    let Ok(url) = url::Url::parse(&with_scheme) else {
        return;
    };
    let loopback = match url.host() {
        None => true,
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    };
    assert!(
        loopback,
        "accepted {text:?}, which a URL parser reads as host {:?}",
        url.host()
    );
    if let Some(url_port) = url.port_or_known_default() {
        assert_eq!(url_port, port, "port of {text:?}");
    }
}
