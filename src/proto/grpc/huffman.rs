//! The HPACK Huffman code (RFC 7541 Appendix B): the table as the RFC prints
//! it, and a decoder.
//!
//! The code is canonical: the codes of one length are consecutive numbers,
//! given to the symbols in increasing order, and each length's first code
//! follows from the previous length's. So a decoder needs, per length, how
//! many codes have it and the first of them, and the symbols in code order;
//! [`CANONICAL`] derives those from [`TABLE`] at compile time (and fails the
//! build if the table were not canonical). Decoding then reads one bit at a
//! time and looks the code read so far up in its length's range.

/// RFC 7541 Appendix B: (bit length, code) for each byte value, then EOS
/// (symbol 256). Also the reference the tests and `fuzz/` encode with.
#[rustfmt::skip]
pub const TABLE: [(u8, u32); 257] = [
    (13, 0x1ff8), (23, 0x7fffd8), (28, 0xfffffe2), (28, 0xfffffe3),
    (28, 0xfffffe4), (28, 0xfffffe5), (28, 0xfffffe6), (28, 0xfffffe7),
    (28, 0xfffffe8), (24, 0xffffea), (30, 0x3ffffffc), (28, 0xfffffe9),
    (28, 0xfffffea), (30, 0x3ffffffd), (28, 0xfffffeb), (28, 0xfffffec),
    (28, 0xfffffed), (28, 0xfffffee), (28, 0xfffffef), (28, 0xffffff0),
    (28, 0xffffff1), (28, 0xffffff2), (30, 0x3ffffffe), (28, 0xffffff3),
    (28, 0xffffff4), (28, 0xffffff5), (28, 0xffffff6), (28, 0xffffff7),
    (28, 0xffffff8), (28, 0xffffff9), (28, 0xffffffa), (28, 0xffffffb),
    (6, 0x14), (10, 0x3f8), (10, 0x3f9), (12, 0xffa),
    (13, 0x1ff9), (6, 0x15), (8, 0xf8), (11, 0x7fa),
    (10, 0x3fa), (10, 0x3fb), (8, 0xf9), (11, 0x7fb),
    (8, 0xfa), (6, 0x16), (6, 0x17), (6, 0x18),
    (5, 0x0), (5, 0x1), (5, 0x2), (6, 0x19),
    (6, 0x1a), (6, 0x1b), (6, 0x1c), (6, 0x1d),
    (6, 0x1e), (6, 0x1f), (7, 0x5c), (8, 0xfb),
    (15, 0x7ffc), (6, 0x20), (12, 0xffb), (10, 0x3fc),
    (13, 0x1ffa), (6, 0x21), (7, 0x5d), (7, 0x5e),
    (7, 0x5f), (7, 0x60), (7, 0x61), (7, 0x62),
    (7, 0x63), (7, 0x64), (7, 0x65), (7, 0x66),
    (7, 0x67), (7, 0x68), (7, 0x69), (7, 0x6a),
    (7, 0x6b), (7, 0x6c), (7, 0x6d), (7, 0x6e),
    (7, 0x6f), (7, 0x70), (7, 0x71), (7, 0x72),
    (8, 0xfc), (7, 0x73), (8, 0xfd), (13, 0x1ffb),
    (19, 0x7fff0), (13, 0x1ffc), (14, 0x3ffc), (6, 0x22),
    (15, 0x7ffd), (5, 0x3), (6, 0x23), (5, 0x4),
    (6, 0x24), (5, 0x5), (6, 0x25), (6, 0x26),
    (6, 0x27), (5, 0x6), (7, 0x74), (7, 0x75),
    (6, 0x28), (6, 0x29), (6, 0x2a), (5, 0x7),
    (6, 0x2b), (7, 0x76), (6, 0x2c), (5, 0x8),
    (5, 0x9), (6, 0x2d), (7, 0x77), (7, 0x78),
    (7, 0x79), (7, 0x7a), (7, 0x7b), (15, 0x7ffe),
    (11, 0x7fc), (14, 0x3ffd), (13, 0x1ffd), (28, 0xffffffc),
    (20, 0xfffe6), (22, 0x3fffd2), (20, 0xfffe7), (20, 0xfffe8),
    (22, 0x3fffd3), (22, 0x3fffd4), (22, 0x3fffd5), (23, 0x7fffd9),
    (22, 0x3fffd6), (23, 0x7fffda), (23, 0x7fffdb), (23, 0x7fffdc),
    (23, 0x7fffdd), (23, 0x7fffde), (24, 0xffffeb), (23, 0x7fffdf),
    (24, 0xffffec), (24, 0xffffed), (22, 0x3fffd7), (23, 0x7fffe0),
    (24, 0xffffee), (23, 0x7fffe1), (23, 0x7fffe2), (23, 0x7fffe3),
    (23, 0x7fffe4), (21, 0x1fffdc), (22, 0x3fffd8), (23, 0x7fffe5),
    (22, 0x3fffd9), (23, 0x7fffe6), (23, 0x7fffe7), (24, 0xffffef),
    (22, 0x3fffda), (21, 0x1fffdd), (20, 0xfffe9), (22, 0x3fffdb),
    (22, 0x3fffdc), (23, 0x7fffe8), (23, 0x7fffe9), (21, 0x1fffde),
    (23, 0x7fffea), (22, 0x3fffdd), (22, 0x3fffde), (24, 0xfffff0),
    (21, 0x1fffdf), (22, 0x3fffdf), (23, 0x7fffeb), (23, 0x7fffec),
    (21, 0x1fffe0), (21, 0x1fffe1), (22, 0x3fffe0), (21, 0x1fffe2),
    (23, 0x7fffed), (22, 0x3fffe1), (23, 0x7fffee), (23, 0x7fffef),
    (20, 0xfffea), (22, 0x3fffe2), (22, 0x3fffe3), (22, 0x3fffe4),
    (23, 0x7ffff0), (22, 0x3fffe5), (22, 0x3fffe6), (23, 0x7ffff1),
    (26, 0x3ffffe0), (26, 0x3ffffe1), (20, 0xfffeb), (19, 0x7fff1),
    (22, 0x3fffe7), (23, 0x7ffff2), (22, 0x3fffe8), (25, 0x1ffffec),
    (26, 0x3ffffe2), (26, 0x3ffffe3), (26, 0x3ffffe4), (27, 0x7ffffde),
    (27, 0x7ffffdf), (26, 0x3ffffe5), (24, 0xfffff1), (25, 0x1ffffed),
    (19, 0x7fff2), (21, 0x1fffe3), (26, 0x3ffffe6), (27, 0x7ffffe0),
    (27, 0x7ffffe1), (26, 0x3ffffe7), (27, 0x7ffffe2), (24, 0xfffff2),
    (21, 0x1fffe4), (21, 0x1fffe5), (26, 0x3ffffe8), (26, 0x3ffffe9),
    (28, 0xffffffd), (27, 0x7ffffe3), (27, 0x7ffffe4), (27, 0x7ffffe5),
    (20, 0xfffec), (24, 0xfffff3), (20, 0xfffed), (21, 0x1fffe6),
    (22, 0x3fffe9), (21, 0x1fffe7), (21, 0x1fffe8), (23, 0x7ffff3),
    (22, 0x3fffea), (22, 0x3fffeb), (25, 0x1ffffee), (25, 0x1ffffef),
    (24, 0xfffff4), (24, 0xfffff5), (26, 0x3ffffea), (23, 0x7ffff4),
    (26, 0x3ffffeb), (27, 0x7ffffe6), (26, 0x3ffffec), (26, 0x3ffffed),
    (27, 0x7ffffe7), (27, 0x7ffffe8), (27, 0x7ffffe9), (27, 0x7ffffea),
    (27, 0x7ffffeb), (28, 0xffffffe), (27, 0x7ffffec), (27, 0x7ffffed),
    (27, 0x7ffffee), (27, 0x7ffffef), (27, 0x7fffff0), (26, 0x3ffffee),
    (30, 0x3fffffff),
];
/// The end-of-string symbol: never valid inside a string.
const EOS: usize = 256;
/// The longest code, in bits.
const MAX_LEN: usize = 30;

/// The canonical form of [`TABLE`], for decoding.
pub struct Canonical {
    /// How many codes have each length (index: length in bits).
    count: [u32; MAX_LEN + 1],
    /// The first code of each length.
    first: [u32; MAX_LEN + 1],
    /// Where each length's symbols start in `symbols`.
    start: [u16; MAX_LEN + 1],
    /// The symbols ordered by (code length, symbol): the order of their codes.
    symbols: [u16; 257],
}

impl Canonical {
    /// Derives the canonical form from a table of (length, code), checking
    /// that the table's codes are the canonical ones.
    pub const fn from_table(table: &[(u8, u32); 257]) -> Canonical {
        let mut c = Canonical {
            count: [0; MAX_LEN + 1],
            first: [0; MAX_LEN + 1],
            start: [0; MAX_LEN + 1],
            symbols: [0; 257],
        };
        let mut symbol = 0;
        while symbol < table.len() {
            c.count[table[symbol].0 as usize] += 1;
            symbol += 1;
        }
        let (mut code, mut at, mut len) = (0u32, 0usize, 1);
        while len <= MAX_LEN {
            code = (code + c.count[len - 1]) << 1;
            c.first[len] = code;
            c.start[len] = at as u16;
            // This length's symbols, in increasing order, get consecutive codes.
            let mut symbol = 0;
            while symbol < table.len() {
                if table[symbol].0 as usize == len {
                    assert!(table[symbol].1 == code + (at - c.start[len] as usize) as u32);
                    c.symbols[at] = symbol as u16;
                    at += 1;
                }
                symbol += 1;
            }
            len += 1;
        }
        assert!(at == 257);
        c
    }
}

/// [`TABLE`] in canonical form.
pub const CANONICAL: Canonical = Canonical::from_table(&TABLE);

/// Decodes `src` into `out` and returns the decoded length, which may exceed
/// `out.len()`: then only the first `out.len()` bytes are kept (callers want a
/// prefix of long values; the whole string is still checked). `None` is a
/// decoding error (RFC 7541 5.2): the EOS symbol, or padding that is longer
/// than 7 bits or not all ones.
pub fn decode(src: &[u8], out: &mut [u8]) -> Option<usize> {
    let canonical = &CANONICAL;
    let mut n = 0;
    // The code read so far and its length in bits.
    let (mut code, mut len) = (0u32, 0usize);
    for &byte in src {
        for bit in (0..8).rev() {
            code = code << 1 | u32::from(byte >> bit & 1);
            len += 1;
            // Codes shorter than `first[len]` were complete earlier, so
            // `code - first[len]` is the code's place among this length's.
            let place = code.wrapping_sub(canonical.first[len]);
            if place < canonical.count[len] {
                let symbol = canonical.symbols[usize::from(canonical.start[len]) + place as usize];
                if usize::from(symbol) == EOS {
                    return None;
                }
                if let Some(slot) = out.get_mut(n) {
                    *slot = symbol as u8;
                }
                n += 1;
                (code, len) = (0, 0);
            }
            // The code is complete (RFC 7541 B): 30 bits always end a symbol.
        }
    }
    // What is left must be padding: at most 7 bits, all ones (a prefix of EOS).
    let padding_ok = len < 8 && code == (1 << len) - 1;
    padding_ok.then_some(n)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference encoder: the RFC's codes, padded with ones.
    pub(crate) fn encode(s: &[u8]) -> Vec<u8> {
        let (mut out, mut acc, mut bits) = (Vec::new(), 0u64, 0);
        for &b in s {
            let (len, code) = TABLE[b as usize];
            acc = acc << len | u64::from(code);
            bits += u32::from(len);
            while bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        if bits > 0 {
            out.push((acc << (8 - bits) | (0xff >> bits)) as u8);
        }
        out
    }

    fn decoded(src: &[u8]) -> Option<Vec<u8>> {
        let mut out = [0u8; 512];
        let n = decode(src, &mut out)?;
        Some(out[..n].to_vec())
    }

    #[test]
    fn the_code_is_complete() {
        // Kraft's sum is 1: every string of 30 bits ends a symbol, which the
        // decoder relies on.
        let kraft: u64 = TABLE.iter().map(|&(len, _)| 1u64 << (30 - len)).sum();
        assert_eq!(kraft, 1 << 30);
        assert_eq!(TABLE[EOS], (30, 0x3fff_ffff));
    }

    #[test]
    fn every_byte_round_trips() {
        for b in 0..=255u8 {
            assert_eq!(decoded(&encode(&[b])), Some(vec![b]), "byte {b}");
            assert_eq!(decoded(&encode(&[b, b'a', b])), Some(vec![b, b'a', b]));
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decoded(&encode(&all)), Some(all));
    }

    #[test]
    fn rfc_examples() {
        // C.4.1 "www.example.com", C.6.1 "302", C.4.2 "no-cache".
        let www = [
            0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
        ];
        assert_eq!(decoded(&www).as_deref(), Some(&b"www.example.com"[..]));
        assert_eq!(decoded(&[0x64, 0x02]).as_deref(), Some(&b"302"[..]));
        let no_cache = [0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf];
        assert_eq!(decoded(&no_cache).as_deref(), Some(&b"no-cache"[..]));
        assert_eq!(decoded(&[]).as_deref(), Some(&b""[..]));
    }

    #[test]
    fn padding_and_eos_errors() {
        // '0' is 00000; then 3 bits of padding.
        assert_eq!(decoded(&[0x07]).as_deref(), Some(&b"0"[..]));
        assert_eq!(decoded(&[0x00]), None, "padding not all ones");
        assert_eq!(decoded(&[0x06]), None, "padding not all ones");
        assert_eq!(decoded(&[0x07, 0xff]), None, "8 bits of padding");
        assert_eq!(decoded(&[0xff]), None, "a whole byte of padding");
        assert_eq!(decoded(&[0xff, 0xff, 0xff, 0xff]), None, "EOS");
        // A 13-bit code cut after 8 bits of ones-and-zeros: not padding.
        assert_eq!(decoded(&[0xff, 0xc0]), None);
    }

    #[test]
    fn every_padding_length() {
        // n times '0' (00000) leaves every padding length from 0 to 7 bits;
        // with any padding bit flipped to 0 it is not padding any more (an
        // error, or the start of one more symbol: 011111 is '9').
        for n in 1..=8 {
            let zeros = vec![b'0'; n];
            let mut coded = encode(&zeros);
            assert_eq!(decoded(&coded), Some(zeros.clone()), "{n} zeros");
            let padding = (8 - 5 * n % 8) % 8;
            for bit in 0..padding {
                *coded.last_mut().unwrap() ^= 1 << bit;
                assert_ne!(decoded(&coded), Some(zeros.clone()), "{n}, bit {bit}");
                *coded.last_mut().unwrap() ^= 1 << bit;
            }
        }
    }

    #[test]
    fn long_output_is_truncated_but_counted() {
        let mut out = [0u8; 4];
        assert_eq!(decode(&encode(b"abcdefgh"), &mut out), Some(8));
        assert_eq!(&out, b"abcd");
        assert_eq!(decode(&[0x00], &mut out), None);
        // Past the cut, bad padding is still found.
        let mut bad = encode(b"abcdefgh");
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&bad, &mut out), None);
    }

    proptest! {
        #[test]
        fn random_strings_round_trip(s in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(decoded(&encode(&s)), Some(s));
        }

        #[test]
        fn arbitrary_input_never_panics(s in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut out = [0u8; 8];
            let _ = decode(&s, &mut out);
        }
    }
}
