//! HPACK (RFC 7541) for one gRPC exchange, without a dynamic table: our
//! SETTINGS set its size to 0, so every header block stands alone.
//!
//! Decoding hands each field to the caller with its name as a static-table
//! index or a literal. Of the static table's values only `:status`'s (entries
//! 8 to 14) are kept: no other static value matters to a health check.
//! Encoding writes the few representations our request uses, without
//! Huffman coding.

use crate::proto::grpc::huffman;
use crate::text::Writer;

/// Why a header block could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HpackError {
    /// The server referenced or resized a dynamic table we said has size 0.
    DynamicTable,
    /// Anything else: RFC 7541's COMPRESSION_ERROR.
    Malformed,
}

/// A field's name: an index into the static table, or a literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Name<'a> {
    Static(usize),
    Literal(&'a [u8]),
}

impl Name<'_> {
    /// True for `:status`: static entries 8 to 14, or the literal name.
    pub fn is_status(&self) -> bool {
        match *self {
            Name::Static(index) => STATUS_ENTRIES.contains(&index),
            Name::Literal(name) => name == b":status",
        }
    }
}

/// One decoded header field. `value` is empty for an indexed field other
/// than `:status`; a table size update reaches the caller as static index 0
/// with an empty value (nothing to do with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: Name<'a>,
    pub value: &'a [u8],
}

/// Static entries 8 to 14 are `:status` with these values (RFC 7541 A).
const STATUS_ENTRIES: core::ops::RangeInclusive<usize> = 8..=14;
const STATUS_VALUES: [&[u8]; 7] = [b"200", b"204", b"206", b"304", b"400", b"404", b"500"];
/// The last static entry; indices above it are the dynamic table's.
const STATIC_LAST: usize = 61;

/// The most of a name that is kept: longer names are cut, which is safe
/// because every name we compare is shorter.
const NAME_MAX: usize = 32;
/// The most of a value that is kept: enough for a `grpc-message` in a
/// 200-byte line; longer values are cut.
pub const VALUE_MAX: usize = 160;
/// Room the caller lends `decode` for Huffman-decoded names and values.
pub const SCRATCH: usize = NAME_MAX + VALUE_MAX;

/// Receives each decoded field (a `dyn`: one copy of the decoder, whoever
/// calls it).
pub type OnField<'f> = &'f mut dyn FnMut(Field<'_>);

/// Decodes a complete header block, calling `on_field` for each field.
/// Plain strings are passed as they are in `block`; Huffman-coded ones are
/// decoded into `scratch`.
pub fn decode(
    mut block: &[u8],
    scratch: &mut [u8; SCRATCH],
    on_field: OnField,
) -> Result<(), HpackError> {
    let (name_buf, value_buf) = scratch.split_at_mut(NAME_MAX);
    while let Some(&first) = block.first() {
        match Representation::of(first) {
            Representation::Indexed => {
                let index = integer(&mut block, 7)?;
                let value = match index.checked_sub(*STATUS_ENTRIES.start()) {
                    Some(i) if STATUS_ENTRIES.contains(&index) => STATUS_VALUES[i],
                    _ => b"",
                };
                // Index 0 is not valid, but harmless: passed on, ignored.
                on_field(Field {
                    name: Name::Static(static_index(index)?),
                    value,
                });
            }
            Representation::SizeUpdate => {
                // Down to 0, as our SETTINGS_HEADER_TABLE_SIZE said, is all
                // we allow.
                if integer(&mut block, 5)? != 0 {
                    return Err(HpackError::DynamicTable);
                }
                on_field(Field {
                    name: Name::Static(0),
                    value: b"",
                });
            }
            Representation::Literal { prefix_bits } => {
                let index = integer(&mut block, prefix_bits)?;
                let name = match index {
                    0 => Name::Literal(string(&mut block, name_buf)?),
                    index => Name::Static(static_index(index)?),
                };
                let value = string(&mut block, value_buf)?;
                on_field(Field { name, value });
            }
        }
    }
    Ok(())
}

/// The kinds of field representation (RFC 7541 6), told by the first byte.
enum Representation {
    /// `1xxxxxxx`: a whole field from the table.
    Indexed,
    /// `001xxxxx`: a dynamic table size update.
    SizeUpdate,
    /// A literal: with incremental indexing `01xxxxxx` (6-bit prefix;
    /// nothing is stored, our table has size 0), without indexing
    /// `0000xxxx` or never indexed `0001xxxx` (4-bit prefix).
    Literal { prefix_bits: u32 },
}

impl Representation {
    fn of(first: u8) -> Representation {
        match first {
            0x80..=0xff => Representation::Indexed,
            0x40..=0x7f => Representation::Literal { prefix_bits: 6 },
            0x20..=0x3f => Representation::SizeUpdate,
            _ => Representation::Literal { prefix_bits: 4 },
        }
    }
}

/// A static table index; anything above is the dynamic table, which is empty.
fn static_index(index: usize) -> Result<usize, HpackError> {
    if index > STATIC_LAST {
        return Err(HpackError::DynamicTable);
    }
    Ok(index)
}

/// Reads an integer with a `prefix_bits`-bit prefix (RFC 7541 5.1), with at
/// most 3 continuation bytes: values up to 2^21, far beyond any block we
/// accept.
fn integer(block: &mut &[u8], prefix_bits: u32) -> Result<usize, HpackError> {
    let max = (1 << prefix_bits) - 1;
    let (&first, mut rest) = block.split_first().ok_or(HpackError::Malformed)?;
    let mut value = usize::from(first) & max;
    if value == max {
        let mut shift = 0;
        loop {
            let (&byte, tail) = rest.split_first().ok_or(HpackError::Malformed)?;
            rest = tail;
            value += usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte < 0x80 {
                break;
            }
            if shift > 14 {
                return Err(HpackError::Malformed);
            }
        }
    }
    *block = rest;
    Ok(value)
}

/// Reads a string literal (RFC 7541 5.2): a plain one as it is in `block`, a
/// Huffman-coded one decoded into `buf`; as much as `buf` holds.
fn string<'b: 'a, 'a>(block: &mut &'b [u8], buf: &'a mut [u8]) -> Result<&'a [u8], HpackError> {
    let huffman = block.first().is_some_and(|&b| b & 0x80 != 0);
    let len = integer(block, 7)?;
    let (text, rest) = block.split_at_checked(len).ok_or(HpackError::Malformed)?;
    *block = rest;
    if huffman {
        let n = huffman::decode(text, buf).ok_or(HpackError::Malformed)?;
        Ok(&buf[..n.min(buf.len())])
    } else {
        Ok(&text[..len.min(buf.len())])
    }
}

/// Writes an integer with a `prefix_bits`-bit prefix after the pattern bits
/// `first` (RFC 7541 5.1).
fn write_integer(w: &mut Writer, first: u8, prefix_bits: u32, value: usize) {
    let max = (1 << prefix_bits) - 1;
    if value < max {
        w.put_byte(first | value as u8);
        return;
    }
    w.put_byte(first | max as u8);
    let mut rest = value - max;
    while rest >= 0x80 {
        w.put_byte(rest as u8 | 0x80);
        rest >>= 7;
    }
    w.put_byte(rest as u8);
}

/// Writes a string literal without Huffman coding, its letters lowered when
/// `lowercase` (header names in HTTP/2 are lowercase).
fn write_string(w: &mut Writer, text: &[u8], lowercase: bool) {
    write_integer(w, 0, 7, text.len());
    for &b in text {
        w.put_byte(if lowercase { b.to_ascii_lowercase() } else { b });
    }
}

/// Writes an indexed field: a whole field from the static table.
pub fn write_indexed(w: &mut Writer, index: usize) {
    write_integer(w, 0x80, 7, index);
}

/// Writes a literal field without indexing. A literal name is lowercased.
pub fn write_literal(w: &mut Writer, name: Name, value: &[u8]) {
    match name {
        Name::Static(index) => write_integer(w, 0, 4, index),
        Name::Literal(name) => {
            w.put_byte(0);
            write_string(w, name, true);
        }
    }
    write_string(w, value, false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Fields = Vec<(usize, String, String)>;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The fields of `block` as (static index or 0, literal name or "",
    /// value).
    fn fields(block: &[u8]) -> Result<Fields, HpackError> {
        let mut out = Vec::new();
        decode(block, &mut [0; SCRATCH], &mut |field| {
            let (i, n) = match field.name {
                Name::Static(i) => (i, &b""[..]),
                Name::Literal(n) => (0, n),
            };
            out.push((i, lossy(n), lossy(field.value)));
        })?;
        Ok(out)
    }

    fn lossy(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    fn f(i: usize, n: &str, v: &str) -> (usize, String, String) {
        (i, n.into(), v.into())
    }

    #[test]
    fn rfc_c1_integers() {
        // C.1.1: 10 in a 5-bit prefix; C.1.2: 1337; C.1.3: 42 in 8 bits.
        let (mut a, mut b, mut c): (&[u8], &[u8], &[u8]) = (&[0xea], &[0x1f, 0x9a, 0x0a], &[42]);
        assert_eq!(integer(&mut a, 5), Ok(10));
        assert_eq!(integer(&mut b, 5), Ok(1337));
        assert_eq!(integer(&mut c, 8), Ok(42));
        assert!(a.is_empty() && b.is_empty() && c.is_empty());
        // Truncated, and longer than 3 continuation bytes.
        assert_eq!(
            integer(&mut &[0x1f, 0x9a][..], 5),
            Err(HpackError::Malformed)
        );
        assert_eq!(
            integer(&mut &[0x1f, 0xff, 0xff, 0xff, 0x01][..], 5),
            Err(HpackError::Malformed)
        );
        // The largest value allowed.
        assert_eq!(
            integer(&mut &[0x1f, 0xff, 0xff, 0x7f][..], 5),
            Ok(31 + (1 << 21) - 1)
        );
    }

    #[test]
    fn rfc_c2_literal_forms() {
        let with_indexing = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
        assert_eq!(
            fields(&with_indexing),
            Ok(vec![f(0, "custom-key", "custom-header")])
        );
        let without = hex("040c 2f73 616d 706c 652f 7061 7468");
        assert_eq!(fields(&without), Ok(vec![f(4, "", "/sample/path")]));
        let never = hex("1008 7061 7373 776f 7264 0673 6563 7265 74");
        assert_eq!(fields(&never), Ok(vec![f(0, "password", "secret")]));
        assert_eq!(fields(&hex("82")), Ok(vec![f(2, "", "")]));
    }

    #[test]
    fn rfc_c3_requests_without_huffman() {
        let first = hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
        assert_eq!(
            fields(&first),
            Ok(vec![
                f(2, "", ""),
                f(6, "", ""),
                f(4, "", ""),
                f(1, "", "www.example.com")
            ])
        );
        // The second request refers to the entry the first one indexed.
        assert_eq!(
            fields(&hex("8286 84be 5808 6e6f 2d63 6163 6865")),
            Err(HpackError::DynamicTable)
        );
    }

    #[test]
    fn rfc_c4_requests_with_huffman() {
        let first = hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff");
        assert_eq!(
            fields(&first),
            Ok(vec![
                f(2, "", ""),
                f(6, "", ""),
                f(4, "", ""),
                f(1, "", "www.example.com")
            ])
        );
        assert_eq!(
            fields(&hex("8286 84be 5886 a8eb 1064 9cbf")),
            Err(HpackError::DynamicTable)
        );
    }

    #[test]
    fn rfc_c6_responses_with_huffman() {
        let first = hex(
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 \
             2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        );
        assert_eq!(
            fields(&first),
            Ok(vec![
                f(8, "", "302"),
                f(24, "", "private"),
                f(33, "", "Mon, 21 Oct 2013 20:13:21 GMT"),
                f(46, "", "https://www.example.com"),
            ])
        );
        assert_eq!(
            fields(&hex("4883 640e ffc1 c0bf")),
            Err(HpackError::DynamicTable)
        );
    }

    #[test]
    fn static_status_entries() {
        let all = fields(&hex("88 89 8a 8b 8c 8d 8e")).unwrap();
        let values: Vec<&str> = all
            .iter()
            .map(|(i, n, v)| {
                assert!((8..=14).contains(i) && n.is_empty());
                v.as_str()
            })
            .collect();
        assert_eq!(values, ["200", "204", "206", "304", "400", "404", "500"]);
        // Index 7 (:scheme https) and 15 are not :status.
        assert_eq!(fields(&hex("87 8f")), Ok(vec![f(7, "", ""), f(15, "", "")]));
        // The last static entry, and the first dynamic one.
        assert_eq!(fields(&hex("bd")), Ok(vec![f(61, "", "")]));
        assert_eq!(fields(&hex("be")), Err(HpackError::DynamicTable));
        assert_eq!(
            fields(&hex("7e 01 61")),
            Err(HpackError::DynamicTable),
            "literal with a dynamic name"
        );
    }

    #[test]
    fn table_size_updates() {
        // Size 0 is what we asked for, before or between fields: reported
        // as index 0, which callers ignore.
        let update = f(0, "", "");
        assert_eq!(
            fields(&hex("20 88")),
            Ok(vec![update.clone(), f(8, "", "200")])
        );
        assert_eq!(fields(&hex("88 20")), Ok(vec![f(8, "", "200"), update]));
        // Anything larger is not ours to allow: 4096 = 31 + 4065.
        assert_eq!(fields(&hex("3f e1 1f 88")), Err(HpackError::DynamicTable));
        assert_eq!(fields(&hex("21")), Err(HpackError::DynamicTable));
    }

    #[test]
    fn huffman_names_and_long_values() {
        let name = huffman::tests::encode(b"grpc-status");
        let mut block = vec![0x00, 0x80 | name.len() as u8];
        block.extend(&name);
        block.extend([0x01, b'5']);
        assert_eq!(fields(&block), Ok(vec![f(0, "grpc-status", "5")]));
        // A 300-byte value: the length has a continuation byte; what is
        // reported is the first VALUE_MAX bytes, plain or Huffman-coded.
        let mut block = vec![0x00, 0x01, b'x', 0x7f, 0xad, 0x01]; // 127 + 45 + 128
        block.extend([b'v'; 300]);
        assert_eq!(fields(&block), Ok(vec![f(0, "x", &"v".repeat(VALUE_MAX))]));
        let value = huffman::tests::encode(&[b'v'; 200]);
        let mut block = vec![0x00, 0x01, b'x', 0xff, (value.len() - 127) as u8];
        block.extend(&value);
        assert_eq!(fields(&block), Ok(vec![f(0, "x", &"v".repeat(VALUE_MAX))]));
        // A name longer than NAME_MAX is cut too, plain or Huffman-coded.
        let long = "grpc-status".repeat(4);
        let mut block = vec![0x00, long.len() as u8];
        block.extend(long.as_bytes());
        block.extend([0x01, b'0']);
        assert_eq!(fields(&block), Ok(vec![f(0, &long[..NAME_MAX], "0")]));
        let name = huffman::tests::encode(long.as_bytes());
        let mut block = vec![0x00, 0x80 | name.len() as u8];
        block.extend(&name);
        block.extend([0x01, b'0']);
        assert_eq!(fields(&block), Ok(vec![f(0, &long[..NAME_MAX], "0")]));
    }

    #[test]
    fn malformed_blocks() {
        for bad in [
            "40 05 61 62",       // name shorter than its length
            "00 01 61 02 62",    // value shorter than its length
            "41 85 ff",          // truncated Huffman value
            "00 81 00 00",       // Huffman name with zero padding
            "00 81 ff 00",       // Huffman name of all padding (8 bits)
            "0f",                // index needs a continuation byte
            "7f ff ff ff ff 0f", // index with too many continuation bytes
            "00",                // literal without its name
            "04",                // literal without its value
        ] {
            assert!(fields(&hex(bad)).is_err(), "{bad}");
        }
        assert_eq!(fields(&hex("0f")), Err(HpackError::Malformed));
        // An indexed field 0 is not valid either, but harmless: ignored.
        assert_eq!(
            fields(&hex("80 88")),
            Ok(vec![f(0, "", ""), f(8, "", "200")])
        );
        assert_eq!(fields(&[]), Ok(vec![]));
    }

    #[test]
    fn what_we_encode_decodes() {
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf);
        write_indexed(&mut w, 3);
        write_literal(&mut w, Name::Static(4), b"/grpc.health.v1.Health/Check");
        write_literal(&mut w, Name::Literal(b"X-Trace"), b"1");
        let long = "v".repeat(300);
        write_literal(&mut w, Name::Static(58), long.as_bytes());
        let n = w.finish().unwrap();
        assert_eq!(
            fields(&buf[..n]),
            Ok(vec![
                f(3, "", ""),
                f(4, "", "/grpc.health.v1.Health/Check"),
                f(0, "x-trace", "1"),
                f(58, "", &long[..VALUE_MAX]),
            ])
        );
        // RFC 7541 C.1.2's integer, written: 1337 in a 5-bit prefix.
        let mut w = Writer::new(&mut buf);
        write_integer(&mut w, 0, 5, 1337);
        assert_eq!(&buf[..3], [0x1f, 0x9a, 0x0a]);
    }

    proptest! {
        #[test]
        fn arbitrary_blocks_never_panic(block in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = fields(&block);
        }
    }
}
