//! scratchprobe: a loopback-only health-check probe for container images with
//! nothing in them. The logic lives here, free of `std`, so that the parsers
//! are tested on the host; `main.rs` is only the entry point.
#![cfg_attr(not(test), no_std)]

pub mod app;
pub mod bytes;
pub mod duration;
pub mod env;
pub mod files;
pub mod grpc;
pub mod hpack;
pub mod huffman;
pub mod line;
pub mod loopback;
pub mod options;
pub mod output;
pub mod probe;
pub mod request;
pub mod seccomp;
pub mod signals;
pub mod status_line;
pub mod status_list;
pub mod target;
#[cfg(feature = "tls")]
pub mod tls;
