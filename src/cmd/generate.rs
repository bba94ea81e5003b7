//! `roster generate`: generated users for benchmarks and demos, with their counts.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::cli::GenerateArgs;
use crate::error::{Error, Result};
use crate::generate::{self, Counts, Spec};
use crate::render::table::stdout_error;

pub(super) fn run(args: &GenerateArgs, out: &mut dyn Write) -> Result<i32> {
    let spec = Spec {
        users: args.users,
        seed: args.seed,
        dirty: !args.clean,
    };
    let mut report = serde_json::Map::new();
    let base = write(&args.base, |file| generate::base(&spec, file))?;
    report.insert(
        "base".into(),
        serde_json::to_value(base).expect("counts serialise"),
    );
    if let Some(path) = &args.next {
        let next = write(path, |file| generate::next(&spec, file))?;
        report.insert(
            "next".into(),
            serde_json::to_value(next).expect("counts serialise"),
        );
    }
    serde_json::to_writer_pretty(&mut *out, &report).map_err(|e| stdout_error(e.into()))?;
    writeln!(out).map_err(stdout_error)?;
    Ok(0)
}

fn write(
    path: &Path,
    generate: impl FnOnce(BufWriter<File>) -> csv::Result<Counts>,
) -> Result<Counts> {
    let failed = |source: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(failed)?;
    generate(BufWriter::with_capacity(1 << 16, file)).map_err(|e| failed(e.into()))
}
