//! HPACK (RFC 7541) header block decoding for one gRPC response, without a
//! dynamic table: our SETTINGS set its size to 0.
//!
//! Only `:status` (static entries 8 to 14) has its value from the static
//! table: no other static entry matters to a health check, and the full
//! table would cost ~700 bytes. Static names reach the caller as the bare
//! index.

use crate::proto::grpc::huffman;

/// The server referenced or resized a dynamic table we said has size 0. The
/// errors are numbers of reasons in `grpc`'s table of them: this one is
/// "HPACK dynamic table used".
pub const DYNAMIC: u32 = 24;
/// Any other decoding error (RFC 7541's COMPRESSION_ERROR, a connection
/// error of HTTP/2): "HTTP/2 protocol error".
pub const MALFORMED: u32 = 20;

/// Capacity for a name: longer ones are cut, which is safe because every
/// name we compare is shorter.
const NAME_MAX: usize = 32;
/// Capacity for a value: enough for a `grpc-message` in a 200-byte line;
/// longer values are cut.
pub const VALUE_MAX: usize = 160;
/// Room the caller lends `decode` for decoded names and values.
pub const SCRATCH: usize = NAME_MAX + VALUE_MAX;

/// The values of static entries 8 to 14, all `:status`.
const STATUSES: &[u8; 21] = b"200204206304400404500";

/// Receives each decoded header: static index, name, value (see `decode`).
/// A `dyn`: one copy of the decoder, whoever calls it.
pub type OnField<'a> = &'a mut dyn FnMut(usize, &[u8], &[u8]);

/// `decode_in` with room of its own.
pub fn decode(b: &[u8], field: OnField) -> Result<(), u32> {
    decode_in(b, &mut [0; SCRATCH], field)
}

/// Decodes a complete header block, calling `field(index, name, value)` for
/// each header: `index` is the static table index the name came from (0 for
/// a literal name; then `name` is the name, else it is empty), and `value`
/// is empty for fully indexed fields other than `:status`. A table size
/// update to 0 is reported as index 0 with an empty name, as is the invalid
/// indexed field 0: one path less, and callers ignore both. Plain strings are
/// not copied; Huffman-coded ones are decoded into `scratch`.
pub fn decode_in(mut b: &[u8], scratch: &mut [u8; SCRATCH], field: OnField) -> Result<(), u32> {
    let (name_buf, value_buf) = scratch.split_at_mut(NAME_MAX);
    while let Some(&first) = b.first() {
        // The representation's prefix size: 7 bits for an indexed field
        // (1xxxxxxx), 6 for a literal with incremental indexing (01xxxxxx,
        // not stored), 5 for a table size update (001xxxxx), 4 for a literal
        // without indexing or never indexed (000xxxxx). Literals have even
        // prefixes.
        let bits = 7 - first.leading_zeros().min(3);
        let index = int(&mut b, bits).ok_or(MALFORMED)?;
        // A table size update (5 bits) to 0, as our SETTINGS_HEADER_TABLE_SIZE
        // said, is all we allow; it goes on as index 0.
        if index > 61 || bits == 5 && index != 0 {
            return Err(DYNAMIC);
        }
        // Static entries 8 to 14: `:status` with the value at `status`.
        let status = index.wrapping_sub(8);
        let mut name: &[u8] = b"";
        let mut value: &[u8] = b"";
        if bits % 2 == 0 {
            // A literal: a new name if the index is 0, then the value.
            if index == 0 {
                name = string(&mut b, name_buf).ok_or(MALFORMED)?;
            }
            value = string(&mut b, value_buf).ok_or(MALFORMED)?;
        } else if status < 7 {
            value = STATUSES.get(status * 3..status * 3 + 3).unwrap_or_default();
        }
        field(index, name, value);
    }
    Ok(())
}

/// Reads an integer with a `bits`-bit prefix (RFC 7541 5.1), with at most 3
/// continuation bytes: values up to 2^21, far beyond any block we accept.
fn int(b: &mut &[u8], bits: u32) -> Option<usize> {
    let max = (1 << bits) - 1;
    let (&first, mut rest) = b.split_first()?;
    let mut value = usize::from(first) & max;
    let mut more = value == max;
    let mut shift = 0;
    while more {
        if shift > 14 {
            return None;
        }
        let (&c, tail) = rest.split_first()?;
        rest = tail;
        value += usize::from(c & 0x7f) << shift;
        more = c >= 0x80;
        shift += 7;
    }
    *b = rest;
    Some(value)
}

/// Reads a string literal (RFC 7541 5.2): a plain one as it is in `b`, a
/// Huffman-coded one decoded into `buf`; as much as `buf` could hold.
fn string<'b: 'a, 'a>(b: &mut &'b [u8], buf: &'a mut [u8]) -> Option<&'a [u8]> {
    let huffman = *b.first()? >= 0x80;
    let len = int(b, 7)?;
    let (src, rest) = b.split_at_checked(len)?;
    *b = rest;
    if !huffman {
        return src.get(..len.min(buf.len()));
    }
    let n = huffman::decode(src, buf)?;
    buf.get(..n.min(buf.len()))
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

    fn fields(block: &[u8]) -> Result<Fields, u32> {
        let mut out = Vec::new();
        decode(block, &mut |i, n, v| {
            out.push((i, lossy(n), lossy(v)));
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
        assert_eq!(int(&mut a, 5), Some(10));
        assert_eq!(int(&mut b, 5), Some(1337));
        assert_eq!(int(&mut c, 8), Some(42));
        assert!(a.is_empty() && b.is_empty() && c.is_empty());
        // Truncated, and longer than 3 continuation bytes.
        assert_eq!(int(&mut &[0x1f, 0x9a][..], 5), None);
        assert_eq!(int(&mut &[0x1f, 0xff, 0xff, 0xff, 0x01][..], 5), None);
        // The largest value allowed.
        assert_eq!(
            int(&mut &[0x1f, 0xff, 0xff, 0x7f][..], 5),
            Some(31 + (1 << 21) - 1)
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
            Err(DYNAMIC)
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
        assert_eq!(fields(&hex("8286 84be 5886 a8eb 1064 9cbf")), Err(DYNAMIC));
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
        assert_eq!(fields(&hex("4883 640e ffc1 c0bf")), Err(DYNAMIC));
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
        assert_eq!(fields(&hex("be")), Err(DYNAMIC));
        assert_eq!(
            fields(&hex("7e 01 61")),
            Err(DYNAMIC),
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
        assert_eq!(fields(&hex("3f e1 1f 88")), Err(DYNAMIC));
        assert_eq!(fields(&hex("21")), Err(DYNAMIC));
    }

    #[test]
    fn huffman_names_and_long_values() {
        let name = crate::proto::grpc::huffman::tests::encode(b"grpc-status");
        let mut block = vec![0x00, 0x80 | name.len() as u8];
        block.extend(&name);
        block.extend([0x01, b'5']);
        assert_eq!(fields(&block), Ok(vec![f(0, "grpc-status", "5")]));
        // A 300-byte value: the length has a continuation byte; what is
        // reported is the first VALUE_MAX bytes, plain or Huffman-coded.
        let mut block = vec![0x00, 0x01, b'x', 0x7f, 0xad, 0x01]; // 127 + 45 + 128
        block.extend([b'v'; 300]);
        assert_eq!(fields(&block), Ok(vec![f(0, "x", &"v".repeat(VALUE_MAX))]));
        let value = crate::proto::grpc::huffman::tests::encode(&[b'v'; 200]);
        let mut block = vec![0x00, 0x01, b'x', 0xff, (value.len() - 127) as u8];
        block.extend(&value);
        assert_eq!(fields(&block), Ok(vec![f(0, "x", &"v".repeat(VALUE_MAX))]));
        // A name longer than NAME_MAX is cut too, plain or Huffman-coded.
        let long = "grpc-status".repeat(4);
        let mut block = vec![0x00, long.len() as u8];
        block.extend(long.as_bytes());
        block.extend([0x01, b'0']);
        assert_eq!(fields(&block), Ok(vec![f(0, &long[..NAME_MAX], "0")]));
        let name = crate::proto::grpc::huffman::tests::encode(long.as_bytes());
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
        assert_eq!(fields(&hex("0f")), Err(MALFORMED));
        // An indexed field 0 is not valid either, but harmless: ignored.
        assert_eq!(
            fields(&hex("80 88")),
            Ok(vec![f(0, "", ""), f(8, "", "200")])
        );
        assert_eq!(fields(&[]), Ok(vec![]));
    }

    proptest! {
        #[test]
        fn arbitrary_blocks_never_panic(block in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = fields(&block);
        }
    }
}
