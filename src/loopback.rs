//! The loopback rule: which host texts a target may name, and which peer
//! addresses a connected socket may have. Nothing here resolves names; a host
//! is either one of a few fixed spellings or refused.

use crate::bytes;

/// Where a host text says to connect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// Empty or `localhost`: 127.0.0.1 and ::1, raced.
    Both,
    /// One IPv4 address in 127.0.0.0/8.
    V4([u8; 4]),
    /// `::1`.
    V6Loopback,
}

/// Parses a strict dotted quad: four decimal numbers 0–255 without leading
/// zeros. Shorthands (`127.1`), hex, octal and single integers are refused so
/// that no other parser could read the text as a different address.
pub fn parse_ipv4(text: &[u8]) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut value: u16 = 0;
        for &d in part {
            if !d.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(d - b'0');
        }
        *octet = u8::try_from(value).ok()?;
    }
    parts.next().is_none().then_some(octets)
}

/// Applies the loopback rule to a host as written in a target (IPv6 inside
/// brackets). `None` means refused.
pub fn parse_host(text: &[u8]) -> Option<Host> {
    if text.is_empty() || bytes::eq_ignore_case(text, b"localhost") {
        return Some(Host::Both);
    }
    if let [b'[', inner @ .., b']'] = text {
        if inner == b"::1" || inner == b"::" {
            return Some(Host::V6Loopback);
        }
        let mapped = inner
            .get(..7)
            .filter(|p| bytes::eq_ignore_case(p, b"::ffff:"))?;
        let ip = parse_ipv4(&inner[mapped.len()..])?;
        return (ip[0] == 127).then_some(Host::V4(ip));
    }
    match parse_ipv4(text)? {
        [0, 0, 0, 0] => Some(Host::V4([127, 0, 0, 1])),
        ip @ [127, ..] => Some(Host::V4(ip)),
        _ => None,
    }
}

/// True for a connected peer's IPv4 address in 127.0.0.0/8.
pub fn is_loopback_v4(ip: [u8; 4]) -> bool {
    ip[0] == 127
}

/// True for a connected peer's IPv6 address `::1` or `::ffff:127.x.y.z`.
pub fn is_loopback_v6(ip: [u8; 16]) -> bool {
    let (head, tail) = ip.split_at(12);
    (head == [0; 12] && tail == [0, 0, 0, 1])
        || (head == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] && tail[0] == 127)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn accepts_the_loopback_spellings() {
        for (text, host) in [
            ("", Host::Both),
            ("localhost", Host::Both),
            ("LocalHost", Host::Both),
            ("127.0.0.1", Host::V4([127, 0, 0, 1])),
            ("127.0.0.2", Host::V4([127, 0, 0, 2])),
            ("127.255.255.254", Host::V4([127, 255, 255, 254])),
            ("0.0.0.0", Host::V4([127, 0, 0, 1])),
            ("[::1]", Host::V6Loopback),
            ("[::]", Host::V6Loopback),
            ("[::ffff:127.0.0.1]", Host::V4([127, 0, 0, 1])),
            ("[::FFFF:127.1.2.3]", Host::V4([127, 1, 2, 3])),
        ] {
            assert_eq!(parse_host(text.as_bytes()), Some(host), "{text}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for text in [
            "10.0.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "128.0.0.1",
            "126.255.255.255",
            "example.com",
            "localhost.example",
            "localhost.",
            "127.0.0.1.nip.io",
            "[::ffff:10.0.0.1]",
            "[::ffff:0.0.0.0]",
            "[2001:db8::1]",
            "[0:0:0:0:0:0:0:1]",
            "[::1%lo]",
            "::1",
            "127.0.0.1@10.0.0.1",
            "0x7f.1",
            "0x7f000001",
            "2130706433",
            "127.1",
            "127.0.1",
            "017700000001",
            "0177.0.0.1",
            "127.0.0.01",
            "127.0.0.256",
            "127.0.0.1.",
            " 127.0.0.1",
            "[127.0.0.1]",
            "[",
            "[]",
        ] {
            assert_eq!(parse_host(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn peer_checks() {
        assert!(is_loopback_v4([127, 9, 9, 9]));
        assert!(!is_loopback_v4([10, 0, 0, 1]));
        assert!(is_loopback_v6(
            Ipv4Addr::new(127, 0, 0, 5).to_ipv6_mapped().octets()
        ));
        assert!(is_loopback_v6(std::net::Ipv6Addr::LOCALHOST.octets()));
        assert!(!is_loopback_v6(
            Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped().octets()
        ));
        assert!(!is_loopback_v6([0; 16]));
    }

    proptest::proptest! {
        /// Whatever the text, an accepted host is loopback by std's reading of
        /// it too, when std can read it at all.
        #[test]
        fn accepted_hosts_are_loopback_by_std(text in "[0-9a-fA-FxX:.\\[\\]]{0,20}") {
            if let Some(host) = parse_host(text.as_bytes()) {
                let inner = text.trim_start_matches('[').trim_end_matches(']');
                if let Ok(ip) = inner.parse::<IpAddr>() {
                    let ok = match ip {
                        IpAddr::V4(v4) => v4.is_loopback() || v4.is_unspecified(),
                        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified()
                            || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
                    };
                    proptest::prop_assert!(ok, "{text} -> {host:?}");
                }
            }
        }

        /// For every dotted quad, the strict parser agrees with std's.
        #[test]
        fn ipv4_matches_std(a: u8, b: u8, c: u8, d: u8) {
            let text = format!("{a}.{b}.{c}.{d}");
            proptest::prop_assert_eq!(parse_ipv4(text.as_bytes()), Some([a, b, c, d]));
        }

        #[test]
        fn ipv4_never_accepts_what_std_refuses(text in "[0-9.]{0,16}") {
            if let Some(ip) = parse_ipv4(text.as_bytes()) {
                proptest::prop_assert_eq!(text.parse::<Ipv4Addr>().ok(), Some(Ipv4Addr::from(ip)));
            }
        }
    }
}
