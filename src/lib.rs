//! scratchprobe: a loopback-only health-check probe for container images with
//! nothing in them. The logic lives here, free of `std`, so that the parsers
//! are tested on the host; `main.rs` is only the entry point.
#![cfg_attr(not(test), no_std)]

pub mod cli;
pub mod engine;
pub mod policy;
pub mod proto;
pub mod report;
pub mod rt;
pub mod run;
pub mod text;
