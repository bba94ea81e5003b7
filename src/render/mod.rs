//! Rendering for people (tables, the sign-off report), programs (JSON) and customers (the
//! rejects file).

pub mod file;
pub mod fit;
pub mod json;
pub mod rejects;
pub mod report;
pub mod table;
pub mod terminal;
