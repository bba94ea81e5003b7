//! Output files written whole or not at all: into a hidden file beside the target, renamed
//! over it once complete, so a failed run never leaves half a report behind.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes `path` through `fill`; on any error the target is left as it was.
pub fn write_whole(path: &Path, fill: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let write_error = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "`{}` is a folder; give a file name to write",
            path.display()
        )));
    }
    let partial = partial_path(path);
    let file = File::create(&partial).map_err(write_error)?;
    let mut out = BufWriter::new(file);
    let written = fill(&mut out)
        .and_then(|()| out.flush().map_err(write_error))
        .and_then(|()| std::fs::rename(&partial, path).map_err(write_error));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// `dir/.name.partial`, beside the target (a rename within one folder is atomic).
fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.partial"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_fill_leaves_nothing_and_a_good_one_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.html");
        std::fs::write(&path, "old").unwrap();
        let failed = write_whole(&path, |out| {
            out.write_all(b"half").unwrap();
            Err(Error::Usage("stop".into()))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_whole(&path, |out| {
            out.write_all(b"new").map_err(|source| Error::Write {
                path: "r.html".into(),
                source,
            })
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
