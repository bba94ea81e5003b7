//! roster: plan, check and load bulk user imports for field-service platforms.
//!
//! The modules follow the flow of DESIGN.md: [`read`] files into rows, [`map`] rows to
//! canonical [`user`]s, [`plan`] them against the stored state.

pub mod error;
pub mod map;
pub mod plan;
pub mod read;
pub mod rules;
pub mod user;

pub use error::{Error, Result};
