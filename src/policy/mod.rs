pub mod loopback;
pub mod target;
