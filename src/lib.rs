//! roster: plan, check and load bulk user imports for field-service platforms.
//!
//! The modules follow the flow of `docs/architecture.md`: [`read`] files into rows, [`map`] rows to
//! canonical [`model::user`]s, [`plan`] them against the stored state, [`store`] the plan, and
//! write it as [`vendor`] payloads.

mod cli;
mod cmd;
pub mod emulator;
pub mod error;
pub mod generate;
pub mod hash;
pub mod map;
pub mod model;
pub mod overlap;
pub mod plan;
pub mod progress;
pub mod push;
pub mod read;
pub mod render;
pub mod rules;
pub mod secret;
pub mod store;
pub mod vendor;

pub use cmd::main;
pub use error::{Error, Result};
