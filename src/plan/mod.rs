//! Planning: canonical users diffed against the stored state, with the vendors' CUD rules.

pub mod fingerprint;
pub mod outlet;
mod pipeline;
pub mod planner;
pub mod reject;
pub mod revert;
mod seen;
mod settle;
pub mod stored;
pub mod summary;
mod unique;
