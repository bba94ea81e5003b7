//! The `roster` binary: parse the command line, run the library, turn the outcome into an
//! exit status.

use std::process::ExitCode;

use std::io::IsTerminal;

use roster::cli::Cli;
use roster::render::terminal::{paint, ERROR};
use roster::Error;

/// Planning and exporting build and drop millions of small maps and strings; mimalloc does
/// that markedly faster than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::parse_given(std::env::args_os()) {
        Ok(cli) => cli,
        // Help and version go to stdout with 0; a usage error is a failure like any other
        // (exit 1), so that 2 keeps meaning "changes" under `plan --detailed-exitcode`.
        Err(usage) => {
            let _ = usage.print();
            return ExitCode::from(if usage.use_stderr() { 1 } else { 0 });
        }
    };
    match roster::cmd::run(&cli) {
        Ok(status) => ExitCode::from(status as u8),
        Err(Error::Write { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(error) => {
            let prefix = match cli.color.enabled(std::io::stderr().is_terminal()) {
                true => paint("error", ERROR),
                false => "error".to_string(),
            };
            eprintln!("{prefix}: {error}");
            ExitCode::from(error.exit_status() as u8)
        }
    }
}
