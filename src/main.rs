//! The `roster` binary: the library's command line, with the allocator it is measured with.

use std::process::ExitCode;

/// Planning and exporting build and drop millions of small maps and strings; mimalloc does
/// that markedly faster than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    roster::main(std::env::args_os())
}
