pub mod seccomp;
pub mod signals;
