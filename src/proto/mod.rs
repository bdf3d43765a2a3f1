pub mod file;
pub mod grpc;
pub mod http;
#[cfg(feature = "tls")]
pub mod tls;
