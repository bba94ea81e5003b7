//! The `roster-emulator` binary: parse the command line and serve until killed.

use std::process::ExitCode;

use clap::Parser;
use roster::emulator::{self, Config};

fn main() -> ExitCode {
    let config = Config::parse();
    match emulator::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
