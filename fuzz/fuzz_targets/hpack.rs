//! HPACK header blocks and Huffman strings. Arbitrary bytes are decoded
//! three ways:
//! - as a Huffman string: the compact decoder agrees with a reference decoder
//!   built from RFC 7541's full code table, also into a short buffer (which
//!   keeps a prefix and still counts the whole);
//! - as text to round-trip: encoded with the RFC table, decoded back;
//! - as a header block: never panics, names and values stay within their
//!   buffers, indexes within the static table, names only from literals,
//!   and decoding is deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchprobe::proto::grpc::hpack::{self, Name};
use scratchprobe::proto::grpc::huffman;
use scratchprobe_fuzz::{huffman_decode, huffman_encode};

fuzz_target!(|data: &[u8]| {
    // Huffman against the reference.
    let mut out = vec![0u8; data.len() * 8 / 5 + 1]; // the shortest code is 5 bits
    let got = huffman::decode(data, &mut out);
    let want = huffman_decode(data);
    assert_eq!(got.map(|n| &out[..n]), want.as_deref(), "Huffman {data:?}");
    if let Some(want) = &want {
        let short = data.first().map_or(0, |&b| usize::from(b) % 16);
        let mut small = vec![0u8; short];
        assert_eq!(
            huffman::decode(data, &mut small),
            Some(want.len()),
            "short buffer count"
        );
        let kept = short.min(want.len());
        assert_eq!(&small[..kept], &want[..kept], "short buffer prefix");
    }

    // Round trip.
    let encoded = huffman_encode(data);
    let mut back = vec![0u8; data.len()];
    assert_eq!(
        huffman::decode(&encoded, &mut back),
        Some(data.len()),
        "round trip length"
    );
    assert_eq!(&back[..], data, "round trip");

    // A header block.
    let decode = |fields: &mut Vec<(usize, Vec<u8>, Vec<u8>)>| {
        hpack::decode(data, &mut [0; hpack::SCRATCH], &mut |field| {
            let (index, name) = match field.name {
                Name::Static(index) => (index, vec![]),
                Name::Literal(name) => (0, name.to_vec()),
            };
            fields.push((index, name, field.value.to_vec()));
        })
    };
    let mut fields = Vec::new();
    let result = decode(&mut fields);
    let mut again = Vec::new();
    assert_eq!(result, decode(&mut again));
    assert_eq!(fields, again, "not deterministic");
    if data.is_empty() {
        assert_eq!(result, Ok(()));
    }
    for (index, name, value) in &fields {
        assert!(*index <= 61, "dynamic index {index} reported");
        assert!(name.len() <= 32, "name of {} bytes", name.len());
        assert!(
            value.len() <= hpack::VALUE_MAX,
            "value of {} bytes",
            value.len()
        );
        if *index != 0 {
            assert!(name.is_empty(), "static name {index} with a literal");
        }
    }
});
