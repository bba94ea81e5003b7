//! The `roster` binary: parse the command line, run the library, turn the outcome into an
//! exit status.

use std::process::ExitCode;

use clap::Parser;
use roster::cli::Cli;
use roster::Error;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match roster::cmd::run(&cli) {
        Ok(status) => ExitCode::from(status as u8),
        Err(Error::Write { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_status() as u8)
        }
    }
}
