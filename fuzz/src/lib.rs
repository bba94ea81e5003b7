//! The fuzz targets' checks, shared with the replay test of the main crate.

pub mod targets;
