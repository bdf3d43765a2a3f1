//! The loopback rule: which host texts a target may name, and which peer
//! addresses a connected socket may have. Nothing here resolves names; a host
//! is either one of a few fixed spellings or refused.

use rustix::net::{AddressFamily, SocketAddrAny, SocketAddrV4, SocketAddrV6};

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
    let mut addr: u32 = 0;
    let mut parts = 0;
    // The octet being read, and how many digits it has.
    let mut value: u32 = 0;
    let mut digits = 0;
    let mut i = 0;
    while i <= text.len() {
        // The end closes the last octet as a dot does.
        let b = text.get(i).copied().unwrap_or(b'.');
        i += 1;
        if b == b'.' {
            if digits == 0 {
                return None;
            }
            addr = addr << 8 | value;
            parts += 1;
            value = 0;
            digits = 0;
        } else {
            // A non-digit, a leading zero, or a value past 255 is refused.
            let digit = b.wrapping_sub(b'0');
            if digit > 9 || digits > 0 && value == 0 {
                return None;
            }
            value = value * 10 + u32::from(digit);
            digits += 1;
            if value > 255 {
                return None;
            }
        }
    }
    (parts == 4).then_some(addr.to_be_bytes())
}

/// Applies the loopback rule to a host as written in a target: empty,
/// `localhost` (any case), a strict dotted quad in 127.0.0.0/8 or `0.0.0.0`,
/// or one of three bracketed IPv6 spellings: `[::1]`, `[::]`,
/// `[::ffff:127.x.y.z]`. `None` means refused. Other spellings of loopback
/// (`127.1`, `[0:0:0:0:0:0:0:1]`) are refused too: a host is one of these
/// texts, so that no other parser could read it as another address.
pub fn parse_host(text: &[u8]) -> Option<Host> {
    if text.is_empty() || text.eq_ignore_ascii_case(b"localhost") {
        return Some(Host::Both);
    }
    if let [b'[', inner @ .., b']'] = text {
        return match inner {
            b"::1" | b"::" => Some(Host::V6Loopback),
            [b':', b':', b'f', b'f', b'f', b'f', b':', v4 @ ..] => parse_ipv4(v4)
                .filter(|ip| is_loopback_v4(*ip))
                .map(Host::V4),
            _ => None,
        };
    }
    match parse_ipv4(text)? {
        // The bind-all address: connected to as 127.0.0.1.
        [0, 0, 0, 0] => Some(Host::V4([127, 0, 0, 1])),
        ip => is_loopback_v4(ip).then_some(Host::V4(ip)),
    }
}

/// The peer check, after connect: true for the address of a connected
/// socket's peer that is loopback (127.0.0.0/8, `::1`, `::ffff:127.x.y.z`) or
/// a Unix socket. Whatever the target said, a connection that ends anywhere
/// else is dropped before a byte is sent.
pub fn peer_is_loopback(peer: &SocketAddrAny) -> bool {
    match peer.address_family() {
        AddressFamily::INET => {
            SocketAddrV4::try_from(peer.clone()).is_ok_and(|a| is_loopback_v4(a.ip().octets()))
        }
        AddressFamily::INET6 => {
            SocketAddrV6::try_from(peer.clone()).is_ok_and(|a| is_loopback_v6(a.ip().octets()))
        }
        AddressFamily::UNIX => true,
        _ => false,
    }
}

/// True for an IPv4 address in 127.0.0.0/8.
pub fn is_loopback_v4(ip: [u8; 4]) -> bool {
    ip[0] == 127
}

/// True for the IPv6 address `::1` or `::ffff:127.x.y.z`.
pub fn is_loopback_v6(ip: [u8; 16]) -> bool {
    match ip {
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] => true,
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d] => is_loopback_v4([a, b, c, d]),
        _ => false,
    }
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
            ("[::ffff:127.1.2.3]", Host::V4([127, 1, 2, 3])),
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
            "[::FFFF:127.0.0.1]",
            "[::1:]",
            "[::ffff:]",
            "[::ffff]",
            "[::11]",
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
