//! Planning: canonical users diffed against the stored state, with the vendors' CUD rules.

pub mod problem;
