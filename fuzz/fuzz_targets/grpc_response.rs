//! The gRPC health check's response side (HTTP/2 frames, HPACK) on arbitrary
//! server bytes. The first input byte chooses a split point in the rest: the
//! decision and its reason are the same whole, split there, and byte by byte.
//! A reason is given exactly on failure, is printable ASCII (it becomes one
//! line of stderr), and replies are only whole SETTINGS and PING ACK frames
//! within their buffer. Once decided, more input changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchprobe::policy::target::GrpcTarget;
use scratchprobe::proto::grpc::GrpcCheck;
use scratchprobe::proto::http::status_list::StatusList;
use scratchprobe::proto::{REPLY_MAX, Reply, Settings, Step};
use scratchprobe::text::line::Line;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Progress {
    NeedMore,
    Pass,
    Fail,
}

struct Run {
    progress: Progress,
    reason: Vec<u8>,
    /// Every frame sent back, in order.
    replies: Vec<Vec<u8>>,
}

/// The progress and the reason's text of a step.
fn said(step: Step) -> (Progress, Vec<u8>) {
    let mut line = Line::new();
    let progress = match step {
        Step::More => Progress::NeedMore,
        Step::Pass(reason) => {
            reason.write(&mut line);
            Progress::Pass
        }
        Step::Fail(reason) => {
            reason.write(&mut line);
            Progress::Fail
        }
    };
    (progress, line.as_bytes().to_vec())
}

fn run(pieces: &[&[u8]]) -> Run {
    let target = GrpcTarget {
        service: b"",
        port: Some(50051),
    };
    let settings = Settings {
        method: b"GET",
        headers: &[],
        statuses: StatusList::DEFAULT,
        timeout_ms: 2000,
    };
    let mut check = GrpcCheck::new(&target, &settings);
    let mut replies = Vec::new();
    let mut progress = Progress::NeedMore;
    let mut reason = Vec::new();
    for piece in pieces {
        let mut reply = Reply::new();
        (progress, reason) = said(check.feed(piece, &mut reply));
        replies.extend(frames(reply.as_slice()));
        let _ = check.phase();
        if progress != Progress::NeedMore {
            break;
        }
    }
    if progress != Progress::NeedMore {
        // Decided: further input is ignored.
        let mut reply = Reply::new();
        let again = check.feed(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00trailing", &mut reply);
        assert_eq!(again, Step::More, "more input after the decision");
        assert!(reply.as_slice().is_empty(), "replied after the decision");
    } else {
        let (closed, why) = said(check.closed());
        assert_eq!(closed, Progress::Fail);
        assert!(!why.is_empty());
    }
    Run {
        progress,
        reason,
        replies,
    }
}

fn frames(mut reply: &[u8]) -> Vec<Vec<u8>> {
    assert!(reply.len() <= REPLY_MAX);
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
        Progress::NeedMore => assert!(whole.reason.is_empty()),
        Progress::Pass => assert_eq!(whole.reason, b"SERVING"),
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
