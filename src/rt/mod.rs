//! The runtime: what a program without libc must do for itself. In the
//! library: the signals the probe relies on ([`signals`]) and the sandbox
//! ([`seccomp`]). In the binary only (`main.rs` includes them): the entry
//! point `_start` for each architecture (`start.rs`) and the few C functions
//! the compiler calls (`libc.rs`).

pub mod seccomp;
pub mod signals;
