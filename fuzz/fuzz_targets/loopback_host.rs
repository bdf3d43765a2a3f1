//! The loopback rule on arbitrary host texts, checked against std's address
//! parsers: an accepted host is loopback (or bind-all) by std's reading too,
//! the strict dotted quad agrees with std exactly, and the peer checks agree
//! with std's `is_loopback` on the first 4 and 16 input bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchprobe::policy::loopback::{self, Host};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fuzz_target!(|text: &[u8]| {
    let utf8 = std::str::from_utf8(text).ok();

    // parse_ipv4 accepts exactly what std accepts (std is strict too: no
    // shorthands, no leading zeros).
    let ours = loopback::parse_ipv4(text);
    let std_v4 = utf8
        .and_then(|s| s.parse::<Ipv4Addr>().ok())
        .map(|ip| ip.octets());
    assert_eq!(ours, std_v4, "dotted quad {text:?}");

    match loopback::parse_host(text) {
        None => {}
        Some(Host::Both) => {
            assert!(
                text.is_empty() || text.eq_ignore_ascii_case(b"localhost"),
                "{text:?}"
            );
        }
        Some(Host::V6Loopback) => {
            assert!(text == b"[::1]" || text == b"[::]", "{text:?}");
        }
        Some(Host::V4(ip)) => {
            assert_eq!(ip[0], 127, "accepted non-loopback {ip:?} from {text:?}");
            let s = utf8.expect("accepted a host that is not even UTF-8");
            if let Some(inner) = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                let v6: Ipv6Addr = inner.parse().expect("bracketed host std cannot read");
                assert_eq!(v6.to_ipv4_mapped().map(|v4| v4.octets()), Some(ip), "{s}");
            } else {
                let v4: Ipv4Addr = s.parse().expect("host std cannot read");
                assert!(v4.is_loopback() || v4.is_unspecified(), "{s}");
                if !v4.is_unspecified() {
                    assert_eq!(v4.octets(), ip);
                }
            }
        }
    }
    // Whatever std reads as some other address is refused.
    if let Some(s) = utf8 {
        let inner = s.strip_prefix('[').and_then(|s| s.strip_suffix(']'));
        let std_ip = match inner {
            Some(inner) => inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
            None => s.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
        };
        if let Some(ip) = std_ip {
            let loop_or_any = match ip {
                IpAddr::V4(v4) => v4.is_loopback() || v4.is_unspecified(),
                IpAddr::V6(v6) => {
                    v6.is_loopback()
                        || v6.is_unspecified()
                        || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
                }
            };
            if !loop_or_any {
                assert_eq!(loopback::parse_host(text), None, "accepted {s}");
            }
        }
    }

    // Peer address checks agree with std.
    if let Some(b) = text.first_chunk::<4>() {
        assert_eq!(
            loopback::is_loopback_v4(*b),
            Ipv4Addr::from(*b).is_loopback()
        );
    }
    if let Some(b) = text.first_chunk::<16>() {
        let v6 = Ipv6Addr::from(*b);
        let std_says = v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback());
        assert_eq!(loopback::is_loopback_v6(*b), std_says, "{v6}");
    }
});
