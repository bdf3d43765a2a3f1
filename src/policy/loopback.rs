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

/// Applies the loopback rule to a host as written in a target (IPv6 inside
/// brackets, in one of three spellings: `[::1]`, `[::]`, `[::ffff:IPv4]`).
/// `None` means refused.
// Out of line on x86_64, inlined on aarch64: measured smaller on each.
#[cfg_attr(target_arch = "x86_64", inline(never))]
pub fn parse_host(text: &[u8]) -> Option<Host> {
    // `localhost` in any case: `| 0x20` folds exactly the letters it has.
    let localhost = text.len() == 9 && text.iter().zip(b"localhost").all(|(x, y)| x | 0x20 == *y);
    if text.is_empty() || localhost {
        return Some(Host::Both);
    }
    let mut v4 = text;
    if let [b'[', inner @ .., b']'] = text {
        // The inner text with its `]`, against the three spellings.
        match bytes::prefix_in(b"::ffff:\0::1]\0::]\0", &text[1..]) {
            (0, _) => v4 = inner.get(7..)?,
            (_, len) if len == inner.len() + 1 => return Some(Host::V6Loopback),
            _ => return None,
        }
    }
    let ip = parse_ipv4(v4)?;
    // `0.0.0.0` (not inside brackets) means 127.0.0.1.
    if u32::from_ne_bytes(ip) == 0 && v4.len() == text.len() {
        return Some(Host::V4([127, 0, 0, 1]));
    }
    (ip[0] == 127).then_some(Host::V4(ip))
}

/// True for a connected peer's IPv4 address in 127.0.0.0/8.
pub fn is_loopback_v4(ip: [u8; 4]) -> bool {
    ip[0] == 127
}

/// True for a connected peer's IPv6 address `::1` or `::ffff:127.x.y.z`.
pub fn is_loopback_v6(ip: [u8; 16]) -> bool {
    let ip = u128::from_be_bytes(ip);
    ip == 1 || ip >> 24 == 0x00ff_ff7f
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
