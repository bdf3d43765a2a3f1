//! The scratchprobe binary: the runtime a program without libc needs (its
//! entry point and the C functions the compiler calls), around the library's
//! `run`. Everything else is in the library, tested on the host.
#![no_std]
#![no_main]

#[path = "rt/start.rs"]
mod start;

#[path = "rt/libc.rs"]
mod libc;
