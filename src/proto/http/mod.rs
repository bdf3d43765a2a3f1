pub mod request;
pub mod status_line;
