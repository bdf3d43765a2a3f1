pub mod env;
pub mod options;
pub mod status_list;
