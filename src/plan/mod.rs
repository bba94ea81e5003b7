//! Planning: canonical users diffed against the stored state, with the vendors' CUD rules.

pub mod fingerprint;
pub mod outlet;
pub mod planner;
pub mod reject;
pub mod revert;
pub mod stored;
pub mod summary;
