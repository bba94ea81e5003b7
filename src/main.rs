//! The `roster` binary: the library's command line, with the allocator it is measured with.

use std::process::ExitCode;

/// Planning and exporting build and drop millions of small maps and strings; mimalloc does
/// that markedly faster than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    without_huge_pages();
    roster::main(std::env::args_os())
}

/// Turns transparent huge pages off for this process: the allocator's 2 MiB pages held
/// 20–35 MiB more of every measured command's memory, for no time (see BENCHMARKS.md).
#[cfg(target_os = "linux")]
fn without_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE reads no memory; it sets a flag of this process. On a
    // kernel without it the call fails and the default stays.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

#[cfg(not(target_os = "linux"))]
fn without_huge_pages() {}
