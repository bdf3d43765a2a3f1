//! The gRPC health check's response side (HTTP/2 frames, HPACK) on arbitrary
//! server bytes. The first input byte chooses a split point in the rest: the
//! decision and its reason are the same whole, split there, and byte by byte.
//! A reason is given exactly on failure, is printable ASCII (it becomes one
//! line of stderr), and replies are only whole SETTINGS and PING ACK frames
//! within their buffer. Once decided, more input changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchprobe::proto::grpc::{GrpcCheck, Progress};
use scratchprobe::text::line::Line;

struct Run {
    progress: Progress,
    reason: Vec<u8>,
    /// Every frame sent back, in order.
    replies: Vec<Vec<u8>>,
}

fn run(pieces: &[&[u8]]) -> Run {
    let mut check = GrpcCheck::new();
    let mut reason = Line::new();
    let mut replies = Vec::new();
    let mut progress = Progress::NeedMore;
    for piece in pieces {
        progress = check.feed(piece, &mut reason);
        replies.extend(frames(check.reply()));
        let _ = check.phase();
    }
    // Decided: further input is ignored.
    if progress != Progress::NeedMore {
        let before = reason.as_bytes().to_vec();
        let again = check.feed(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00trailing", &mut reason);
        assert_eq!(again, progress, "decision changed by more input");
        assert_eq!(
            reason.as_bytes(),
            &before[..],
            "reason changed after the decision"
        );
        assert!(check.reply().is_empty(), "replied after the decision");
    } else {
        let mut closed = Line::new();
        check.closed(&mut closed);
        assert!(!closed.is_empty());
    }
    Run {
        progress,
        reason: reason.as_bytes().to_vec(),
        replies,
    }
}

/// Splits one `feed`'s reply into frames, asserting each is a SETTINGS ACK
/// or a PING ACK.
fn frames(mut reply: &[u8]) -> Vec<Vec<u8>> {
    assert!(reply.len() <= scratchprobe::proto::grpc::REPLY_MAX);
    let mut out = Vec::new();
    while !reply.is_empty() {
        let len = match reply {
            [0, 0, 0, 4, 1, 0, 0, 0, 0, ..] => 9,
            [0, 0, 8, 6, 1, 0, 0, 0, 0, ..] if reply.len() >= 17 => 17,
            _ => panic!("not a whole ACK frame: {reply:?}"),
        };
        out.push(reply[..len].to_vec());
        reply = &reply[len..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, input)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut) % (input.len() + 1);

    let whole = run(&[input]);
    match whole.progress {
        Progress::NeedMore | Progress::Pass => {
            assert!(
                whole.reason.is_empty(),
                "reason without a failure: {:?}",
                whole.reason
            )
        }
        Progress::Fail => assert!(!whole.reason.is_empty(), "failure without a reason"),
    }
    assert!(
        whole.reason.iter().all(|&b| (0x20..0x7f).contains(&b)),
        "reason not printable: {:?}",
        whole.reason
    );
    if whole.progress == Progress::Pass {
        assert_eq!(
            input.get(3..5).map(|h| (h[0], h[1] & 1)),
            Some((4, 0)),
            "passed without SETTINGS first"
        );
    }

    let split = run(&[&input[..cut], &input[cut..]]);
    assert_eq!(split.progress, whole.progress, "split at {cut}");
    assert_eq!(split.reason, whole.reason, "split at {cut}");

    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let bytewise = run(&bytes);
    assert_eq!(bytewise.progress, whole.progress, "byte by byte");
    assert_eq!(bytewise.reason, whole.reason, "byte by byte");
    // Fed a byte at a time nothing is dropped: the whole run's replies are a
    // prefix-free subset in order (ACKs that did not fit its buffer are lost).
    let mut rest = bytewise.replies.iter();
    for frame in &whole.replies {
        assert!(
            rest.any(|f| f == frame),
            "reply {frame:?} not in the byte-by-byte run"
        );
    }
});
