//! Planning: canonical users diffed against the stored state, with the vendors' CUD rules.

pub mod change;
pub mod fingerprint;
pub mod planner;
pub mod problem;
pub mod reject;
