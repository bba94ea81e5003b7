//! The rejects file of `plan`, `rules check --data` and `report`: written whole, and said
//! where on stderr.

use std::path::Path;

use super::Hint;
use crate::cli::Globals;
use crate::error::Result;
use crate::render::{file, rejects};

/// Writes a rejects file whole (see [`rejects::write`]); returns the rows written.
pub(super) fn write_rejects(path: &Path, rows: &mut rejects::Rows) -> Result<u64> {
    let mut written = 0;
    file::write_whole(path, |out| {
        written = rejects::write(path, out, rows)?;
        Ok(())
    })?;
    Ok(written)
}

/// Says on stderr where the rejected rows went, and how to plan them once fixed.
pub(super) fn rejects_note(globals: &Globals, path: &Path, written: u64) {
    if !globals.quiet {
        eprintln!(
            "Wrote {written} rejected row(s) to `{}`: fix them there, then plan them with {}.",
            path.display(),
            Hint::new(globals).arg("plan").arg(path.display())
        );
    }
}
