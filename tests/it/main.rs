//! The integration tests: each module runs the real `roster` binary (and `roster-emulator`)
//! against temporary workspaces, one area of behaviour per module. One test crate, so that
//! rusqlite, rhai and the rest are linked once, not once per file.

// A test crate has no API: `pub` in its modules only shares helpers between them.
#![allow(unreachable_pub)]

mod common;

mod apply;
mod bad_inputs;
mod browser;
mod cli_help;
mod declarative;
mod esystems_location;
mod export;
mod export_standing;
mod fuzz_replay;
mod hints;
mod history;
mod inputs;
mod laws;
mod layers;
mod memory;
mod plan;
mod plans;
mod progress;
mod push;
mod read;
mod readme;
mod refs;
mod rejects;
mod reliability;
mod report;
mod results;
mod rules;
mod sandbox;
mod secrets;
mod snapshots;
mod state;
mod state_round_trip;
mod terminal;
mod vendor_input;
mod workspace;
