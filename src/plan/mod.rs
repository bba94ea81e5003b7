//! Planning: canonical users diffed against the stored state, with the vendors' CUD rules.

pub mod fingerprint;
pub mod planner;
pub mod reject;
