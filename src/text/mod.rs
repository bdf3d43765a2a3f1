pub mod duration;
pub mod line;
