//! HTTP/2 frames (RFC 9113 4 and 6): the frame header, the types and flags
//! the check uses, writing a frame's header, and an incremental reader that
//! takes bytes in any split and hands out each frame's content with its
//! padding and priority fields taken off.

use crate::text::Writer;

/// The connection preface every HTTP/2 client sends first (RFC 9113 3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The largest frame payload a peer may send before SETTINGS_MAX_FRAME_SIZE
/// is raised, which we never do; also the most we send in one frame.
pub const MAX_FRAME_SIZE: u32 = 16_384;
/// The size of a frame header.
pub const HEADER_LEN: usize = 9;

// Frame types (RFC 9113 6).
pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const CONTINUATION: u8 = 0x9;

// Flags.
/// On SETTINGS and PING: this frame acknowledges the peer's.
pub const ACK: u8 = 0x1;
/// On DATA and HEADERS: the last frame of the stream.
pub const END_STREAM: u8 = 0x1;
/// On HEADERS and CONTINUATION: the header block is complete.
pub const END_HEADERS: u8 = 0x4;
/// On DATA and HEADERS: a pad length byte first, padding last.
pub const PADDED: u8 = 0x8;
/// On HEADERS: 5 bytes of priority fields before the header block.
pub const PRIORITY: u8 = 0x20;

/// SETTINGS_HEADER_TABLE_SIZE (RFC 9113 6.5.2).
pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;

/// A frame's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The payload's length.
    pub len: u32,
    pub kind: u8,
    pub flags: u8,
    /// The stream, without the reserved bit.
    pub stream: u32,
}

impl Header {
    /// True when `flag` is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn parse(bytes: &[u8; HEADER_LEN]) -> Header {
        let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = *bytes;
        Header {
            len: u32::from_be_bytes([0, l0, l1, l2]),
            kind,
            flags,
            stream: u32::from_be_bytes([s0 & 0x7f, s1, s2, s3]),
        }
    }
}

/// Writes a frame header; the payload's length may be patched in later with
/// [`patch_len`] when it is not known yet.
pub fn write_header(w: &mut Writer, header: Header) {
    w.put(&header.len.to_be_bytes()[1..]);
    w.put_byte(header.kind);
    w.put_byte(header.flags);
    w.put(&header.stream.to_be_bytes());
}

/// Sets the length of the frame whose header was written at `at` to what was
/// written after it; `None` when that is more than one frame may carry.
pub fn patch_len(w: &mut Writer, at: usize) -> Option<()> {
    let len = u32::try_from(w.len() - at - HEADER_LEN).ok()?;
    if len > MAX_FRAME_SIZE {
        return None;
    }
    w.patch(at, &len.to_be_bytes()[1..]);
    Some(())
}

/// A frame the peer may not send: larger than [`MAX_FRAME_SIZE`], or with
/// more padding than payload (RFC 9113 6.1: a connection error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameError;

/// What [`Reader::next`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A frame starts.
    Start(Header),
    /// Some of its content (padding and priority fields taken off).
    Content(&'a [u8]),
    /// The frame is complete.
    End,
}

/// Where the reader is in the current frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// The header: `got` of its 9 bytes so far.
    Header {
        got: usize,
    },
    /// The pad length byte of a PADDED frame.
    PadLength,
    /// A HEADERS frame's priority fields, `left` to skip.
    Priority {
        left: u32,
    },
    Content {
        left: u32,
    },
    Padding {
        left: u32,
    },
    /// Every byte of the payload is read.
    Done,
}

/// Reads frames from bytes in any split.
#[derive(Clone, Copy, Debug)]
pub struct Reader {
    part: Part,
    head: [u8; HEADER_LEN],
    header: Header,
    /// Payload bytes of the current frame not read yet.
    payload_left: u32,
    /// The current frame's padding length.
    pad: u32,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

impl Reader {
    pub const fn new() -> Self {
        Reader {
            part: Part::Header { got: 0 },
            head: [0; HEADER_LEN],
            header: Header {
                len: 0,
                kind: 0,
                flags: 0,
                stream: 0,
            },
            payload_left: 0,
            pad: 0,
        }
    }

    /// The next event from `input`, which is advanced past what it used;
    /// `Ok(None)` when `input` is used up mid-frame.
    pub fn next<'i>(&mut self, input: &mut &'i [u8]) -> Result<Option<Event<'i>>, FrameError> {
        loop {
            match self.part {
                Part::Header { got } => {
                    let Some((&byte, rest)) = input.split_first() else {
                        return Ok(None);
                    };
                    *input = rest;
                    self.head[got] = byte;
                    if got + 1 < HEADER_LEN {
                        self.part = Part::Header { got: got + 1 };
                        continue;
                    }
                    let header = Header::parse(&self.head);
                    if header.len > MAX_FRAME_SIZE {
                        return Err(FrameError);
                    }
                    self.header = header;
                    self.payload_left = header.len;
                    self.pad = 0;
                    let may_pad = header.kind == DATA || header.kind == HEADERS;
                    self.part = if may_pad && header.has(PADDED) {
                        Part::PadLength
                    } else {
                        self.after_pad_length()
                    };
                    return Ok(Some(Event::Start(header)));
                }
                Part::PadLength => {
                    let Some(byte) = self.take(input, 1).first().copied() else {
                        if self.payload_left == 0 {
                            // PADDED without room for the pad length.
                            return Err(FrameError);
                        }
                        return Ok(None);
                    };
                    self.pad = u32::from(byte);
                    if self.pad > self.payload_left {
                        return Err(FrameError);
                    }
                    self.part = self.after_pad_length();
                }
                Part::Priority { left } => {
                    if self.payload_left < left + self.pad {
                        return Err(FrameError);
                    }
                    let skipped = self.take(input, left).len() as u32;
                    if skipped < left {
                        self.part = Part::Priority {
                            left: left - skipped,
                        };
                        return Ok(None);
                    }
                    self.part = Part::Content {
                        left: self.payload_left - self.pad,
                    };
                }
                Part::Content { left } => {
                    if left == 0 {
                        self.part = Part::Padding { left: self.pad };
                        continue;
                    }
                    let content = self.take(input, left);
                    if content.is_empty() {
                        return Ok(None);
                    }
                    self.part = Part::Content {
                        left: left - content.len() as u32,
                    };
                    return Ok(Some(Event::Content(content)));
                }
                Part::Padding { left } => {
                    let skipped = self.take(input, left).len() as u32;
                    if skipped < left {
                        self.part = Part::Padding {
                            left: left - skipped,
                        };
                        return Ok(None);
                    }
                    self.part = Part::Done;
                }
                Part::Done => {
                    self.part = Part::Header { got: 0 };
                    return Ok(Some(Event::End));
                }
            }
        }
    }

    /// What follows the pad length (or the header, without one).
    fn after_pad_length(&self) -> Part {
        if self.header.kind == HEADERS && self.header.has(PRIORITY) {
            Part::Priority { left: 5 }
        } else {
            // The pad length was checked to fit the payload.
            Part::Content {
                left: self.payload_left - self.pad,
            }
        }
    }

    /// Takes up to `n` bytes of the payload from `input`.
    fn take<'i>(&mut self, input: &mut &'i [u8], n: u32) -> &'i [u8] {
        let n = n.min(self.payload_left) as usize;
        let (taken, rest) = input.split_at(n.min(input.len()));
        *input = rest;
        self.payload_left -= taken.len() as u32;
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        f.extend([kind, flags]);
        f.extend(stream.to_be_bytes());
        f.extend(payload);
        f
    }

    /// Every frame in `input` as (header, content), read in pieces of `step`.
    fn read_all(input: &[u8], step: usize) -> Result<Vec<(Header, Vec<u8>)>, FrameError> {
        let mut reader = Reader::new();
        let mut frames = Vec::new();
        let mut current: Option<(Header, Vec<u8>)> = None;
        for mut piece in input.chunks(step) {
            while let Some(event) = reader.next(&mut piece)? {
                match event {
                    Event::Start(h) => current = Some((h, Vec::new())),
                    Event::Content(c) => current.as_mut().unwrap().1.extend(c),
                    Event::End => frames.push(current.take().unwrap()),
                }
            }
        }
        Ok(frames)
    }

    #[test]
    fn strips_padding_and_priority() {
        let input = [
            frame(
                HEADERS,
                END_HEADERS | PADDED | PRIORITY,
                1,
                &[2, 0x80, 0, 0, 0, 16, 0x88, 0, 0],
            ),
            frame(DATA, PADDED, 1, &[3, b'a', b'b', 0, 0, 0]),
            frame(PING, 0, 0, b"12345678"),
            frame(SETTINGS, ACK, 0, b""),
            // PADDED means nothing on other frame types.
            frame(PING, PADDED, 0, b"abcdefgh"),
        ]
        .concat();
        for step in [input.len(), 1, 2, 5] {
            let frames = read_all(&input, step).unwrap();
            let contents: Vec<&[u8]> = frames.iter().map(|(_, c)| &c[..]).collect();
            assert_eq!(
                contents,
                [&b"\x88"[..], b"ab", b"12345678", b"", b"abcdefgh"]
            );
            assert_eq!(frames[0].0.stream, 1);
            assert!(frames[0].0.has(END_HEADERS));
        }
    }

    #[test]
    fn refuses_what_a_peer_may_not_send() {
        let too_big = frame(DATA, 0, 1, &[0; MAX_FRAME_SIZE as usize + 1]);
        assert_eq!(read_all(&too_big, 1000), Err(FrameError));
        let largest = frame(DATA, 0, 1, &[0; MAX_FRAME_SIZE as usize]);
        assert!(read_all(&largest, 1000).is_ok());
        // More padding than payload, and a PADDED frame without its pad length.
        assert_eq!(
            read_all(&frame(DATA, PADDED, 1, &[5, 1]), 1),
            Err(FrameError)
        );
        assert_eq!(read_all(&frame(DATA, PADDED, 1, &[]), 1), Err(FrameError));
        assert_eq!(
            read_all(&frame(HEADERS, PADDED | PRIORITY, 1, &[1, 0, 0, 0]), 1),
            Err(FrameError)
        );
        // Exactly as much padding as payload after the pad length: no content.
        assert_eq!(
            read_all(&frame(DATA, PADDED, 1, &[2, 0, 0]), 1).unwrap()[0].1,
            b""
        );
    }

    #[test]
    fn writes_headers_the_reader_reads() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        let at = w.len();
        let header = Header {
            len: 0,
            kind: HEADERS,
            flags: END_HEADERS,
            stream: 1,
        };
        write_header(&mut w, header);
        w.put(b"abc");
        patch_len(&mut w, at).unwrap();
        let n = w.finish().unwrap();
        let frames = read_all(&buf[..n], 1).unwrap();
        assert_eq!(frames, [(Header { len: 3, ..header }, b"abc".to_vec())]);
    }

    proptest! {
        #[test]
        fn any_split_reads_the_same(input in proptest::collection::vec(any::<u8>(), 0..200), step in 1usize..20) {
            prop_assert_eq!(read_all(&input, step), read_all(&input, input.len().max(1)));
        }
    }
}
