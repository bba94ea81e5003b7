//! Compressed sources: a `.gz` file streamed through flate2, and a `.zip` archive holding one
//! data file (or the one `--member` names), both bounded so a decompression bomb stops the
//! read with a message instead of filling the disk or the memory.
//!
//! A failure inside a layer (damaged data, the limit reached) travels up through the readers
//! as an I/O error carrying a [`Stop`]; [`super::source::io_error`] turns it back into the
//! message made here, so every reader reports it the same way.

use std::fmt;
use std::io::{self, Cursor, Read};

use bytesize::ByteSize;
use flate2::read::MultiGzDecoder;
use zip::result::ZipError;
use zip::ZipArchive;

use super::spreadsheet::WorkbookKind;
use crate::{Error, Result};

/// Output allowed for each compressed byte, by default.
const RATIO: u64 = 100;
/// Output always allowed, however small the compressed file (a tiny file of repeated rows
/// compresses far better than 100 to 1).
const FLOOR: u64 = 1024 * 1024;
/// Output never allowed by default, however large the compressed file.
const CEILING: u64 = 4 * 1024 * 1024 * 1024;

/// The most a compressed layer may decompress to, and how that was decided.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limit {
    bytes: u64,
    /// The compressed size the default limit was computed from; `None` when `--max-decompressed`
    /// set it.
    compressed: Option<u64>,
}

/// The limit for a layer of `size` compressed bytes: `--max-decompressed` when given, else 100
/// times the size (at least 1 MiB), at most 4 GiB. An unknown size gets the ceiling.
pub(super) fn limit(size: Option<u64>, chosen: Option<u64>) -> Limit {
    match chosen {
        Some(bytes) => Limit {
            bytes,
            compressed: None,
        },
        None => Limit {
            bytes: size.map_or(CEILING, |size| {
                size.saturating_mul(RATIO).clamp(FLOOR, CEILING)
            }),
            compressed: Some(size.unwrap_or(u64::MAX)),
        },
    }
}

impl Limit {
    /// The message for output past the limit.
    fn exceeded(&self, what: &str) -> String {
        let limit = ByteSize(self.bytes);
        let why = match self.compressed {
            None => "the `--max-decompressed` limit".to_string(),
            Some(u64::MAX) => "the default limit".to_string(),
            Some(size) => format!(
                "the default limit for this file ({RATIO} times its {} compressed, at least \
                 {} and at most {})",
                ByteSize(size),
                ByteSize(FLOOR),
                ByteSize(CEILING)
            ),
        };
        format!(
            "{what} decompresses to more than {limit}, {why}; reading stopped, as a file that \
             grows this much is likely a decompression bomb. If the file is genuine, raise the \
             limit with `--max-decompressed 16GiB` (or the size you expect)"
        )
    }
}

/// Why a layer stopped the read: one message at a place, carried through the readers inside
/// an `io::Error`.
#[derive(Debug)]
pub(super) struct Stop {
    at: String,
    message: String,
}

/// An I/O error carrying a [`Stop`].
fn stopped(at: &str, message: String) -> io::Error {
    io::Error::other(Stop {
        at: at.to_string(),
        message,
    })
}

impl Stop {
    /// The crate's error for it.
    pub(super) fn error(&self) -> Error {
        Error::input(&self.at, &self.message)
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

impl std::error::Error for Stop {}

/// A decompressing reader that counts what it gives and words its inner failures.
struct Bounded<'p, R> {
    inner: R,
    given: u64,
    limit: Limit,
    place: &'p str,
    /// `the gzip data`, `the zip member`: what a message calls the layer.
    what: &'static str,
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte past the limit is enough to know it is passed.
        let room = self
            .limit
            .bytes
            .saturating_sub(self.given)
            .saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self
            .inner
            .read(&mut buf[..want])
            .map_err(|e| stopped(self.place, damaged(self.what, &e)))?;
        self.given += n as u64;
        if self.given > self.limit.bytes {
            return Err(stopped(self.place, self.limit.exceeded(self.what)));
        }
        Ok(n)
    }
}

/// The message for data a decoder cannot read.
fn damaged(what: &str, e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return format!(
            "{what} ends before it should: the file is cut short; copy or download it again"
        );
    }
    let detail = e.to_string().to_lowercase();
    format!("{what} is damaged ({detail}); copy or download the file again")
}

/// Streams a gzip file's text (one member or several) to `then`, within `limit`.
pub(super) fn gunzip<T>(
    place: &str,
    input: &mut dyn Read,
    limit: Limit,
    then: &mut dyn FnMut(&mut dyn Read) -> Result<T>,
) -> Result<T> {
    let mut text = Bounded {
        inner: MultiGzDecoder::new(input),
        given: 0,
        limit,
        place,
        what: "the gzip data",
    };
    then(&mut text)
}

/// A zip file, whole in memory: an archive of files, or the container of a workbook.
pub(super) struct Archive {
    place: String,
    zip: ZipArchive<Cursor<Vec<u8>>>,
    size: u64,
}

impl Archive {
    /// Reads the archive's directory; `name` says, by its extension, whether a workbook was
    /// meant (for the message when it is damaged).
    pub(super) fn open(place: &str, name: &str, bytes: Vec<u8>) -> Result<Archive> {
        let size = bytes.len() as u64;
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
            let detail = zip_detail(&e);
            let lower = name.to_ascii_lowercase();
            let message = if [".xlsx", ".xlsm", ".xlsb", ".ods"]
                .iter()
                .any(|e| lower.ends_with(e))
            {
                format!(
                    "the workbook is damaged ({detail}); open it in Excel or LibreOffice and \
                     save it again, or copy it again"
                )
            } else {
                format!("the zip archive is damaged ({detail}); copy or download it again")
            };
            Error::input(place, message)
        })?;
        Ok(Archive {
            place: place.to_string(),
            zip,
            size,
        })
    }

    /// The archive's size in bytes.
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// The kind of workbook the archive is the container of, if it is one.
    pub(super) fn workbook(&mut self) -> Option<WorkbookKind> {
        let has = |zip: &ZipArchive<_>, name: &str| zip.index_for_name(name).is_some();
        if has(&self.zip, "xl/workbook.xml") {
            return Some(WorkbookKind::Xlsx);
        }
        if has(&self.zip, "xl/workbook.bin") {
            return Some(WorkbookKind::Xlsb);
        }
        let mut mimetype = String::new();
        let file = self.zip.by_name("mimetype").ok()?;
        file.take(200).read_to_string(&mut mimetype).ok()?;
        (mimetype.trim() == "application/vnd.oasis.opendocument.spreadsheet")
            .then_some(WorkbookKind::Ods)
    }

    /// Checks that a workbook's parts, as the archive declares their sizes, fit `limit`.
    pub(super) fn check_workbook(&self, limit: Limit) -> Result<()> {
        match self.zip.decompressed_size() {
            Some(total) if total > u128::from(limit.bytes) => {
                Err(Error::input(&self.place, limit.exceeded("the workbook")))
            }
            _ => Ok(()),
        }
    }

    /// The whole file.
    pub(super) fn into_bytes(self) -> Vec<u8> {
        self.zip.into_inner().into_inner()
    }

    /// The member to read: the one `chosen` names (its path, or its file name when that is
    /// unique), else the archive's only data file.
    pub(super) fn member(&self, chosen: Option<&str>) -> Result<String> {
        let data: Vec<&str> = self
            .zip
            .file_names()
            .filter(|name| is_data_file(name))
            .collect();
        let listed = || {
            let mut sorted = data.clone();
            sorted.sort_unstable();
            sorted
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(chosen) = chosen {
            if self.zip.index_for_name(chosen).is_some() {
                return Ok(chosen.to_string());
            }
            let by_file_name: Vec<&&str> = data
                .iter()
                .filter(|name| file_name(name) == chosen)
                .collect();
            if let [only] = by_file_name.as_slice() {
                return Ok(only.to_string());
            }
            return Err(Error::input(
                &self.place,
                format!(
                    "`--member {chosen}` is not in the archive, which holds {}; pass one of \
                     them",
                    if data.is_empty() {
                        "no data file".to_string()
                    } else {
                        listed()
                    }
                ),
            ));
        }
        match data.as_slice() {
            [] => Err(Error::input(
                &self.place,
                "the zip archive holds no data file; expected one CSV, JSON or spreadsheet file",
            )),
            [only] => Ok(only.to_string()),
            several => {
                let mut sorted = several.to_vec();
                sorted.sort_unstable();
                let likely = sorted
                    .iter()
                    .find(|name| has_data_extension(name))
                    .unwrap_or(&sorted[0]);
                Err(Error::input(
                    &self.place,
                    format!(
                        "the zip archive holds {} files: {}; roster reads one: choose it with \
                         `--member {}`",
                        several.len(),
                        listed(),
                        shell_word(likely),
                    ),
                ))
            }
        }
    }

    /// Streams `member` to `then`, within `limit`.
    pub(super) fn read_member<T>(
        mut self,
        member: &str,
        limit: Limit,
        then: &mut dyn FnMut(&mut dyn Read) -> Result<T>,
    ) -> Result<T> {
        let place = format!("{}:{member}", self.place);
        let file = self.zip.by_name(member).map_err(|e| {
            let message = match e {
                ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED) => {
                    "the zip member is password-protected; unzip it yourself and pass the file"
                        .to_string()
                }
                ZipError::UnsupportedArchive(what) => format!(
                    "the zip member is stored in a way roster cannot read ({}); zip it again \
                     with ordinary (deflate) compression, or unzip it yourself",
                    what.to_lowercase()
                ),
                other => format!(
                    "the zip member is damaged ({}); copy or download the archive again",
                    zip_detail(&other)
                ),
            };
            Error::input(&place, message)
        })?;
        let mut text = Bounded {
            inner: file,
            given: 0,
            limit,
            place: &place,
            what: "the zip member",
        };
        then(&mut text)
    }
}

/// A zip error in a few lowercase words.
fn zip_detail(e: &ZipError) -> String {
    match e {
        ZipError::Io(e) => e.to_string().to_lowercase(),
        other => other.to_string().to_lowercase(),
    }
}

/// The last part of a member's path.
fn file_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Whether a member is a file a person put there: not a folder, not the resource forks macOS
/// adds (`__MACOSX/`), not a hidden file (`.DS_Store`) or Windows' `Thumbs.db`.
fn is_data_file(name: &str) -> bool {
    let file = file_name(name);
    !name.ends_with('/')
        && !name.starts_with("__MACOSX/")
        && !file.starts_with('.')
        && !file.eq_ignore_ascii_case("thumbs.db")
        && !file.eq_ignore_ascii_case("desktop.ini")
}

/// Whether a member's name says it is a file of users (`.txt`, often a note, does not).
fn has_data_extension(name: &str) -> bool {
    const DATA: &[&str] = &[
        "csv", "tsv", "json", "ndjson", "jsonl", "xlsx", "xlsm", "xlsb", "xls", "ods",
    ];
    name.rsplit_once('.')
        .is_some_and(|(_, extension)| DATA.iter().any(|d| d.eq_ignore_ascii_case(extension)))
}

/// A member name as the user would type it after `--member`.
fn shell_word(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
    {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::ReadOptions;
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn the_default_limit_is_100_times_the_size_between_1_mib_and_4_gib() {
        assert_eq!(limit(Some(10), None).bytes, FLOOR);
        assert_eq!(limit(Some(1 << 20), None).bytes, 100 << 20);
        assert_eq!(limit(Some(1 << 30), None).bytes, CEILING);
        assert_eq!(limit(None, None).bytes, CEILING);
        assert_eq!(limit(Some(10), Some(5)).bytes, 5);
    }

    #[test]
    fn gzip_is_read_by_its_first_bytes_and_several_members_are_one_file() {
        let mut bytes = gzip(b"id,name\n1,Ann\n");
        bytes.extend(gzip(b"2,Bo\n"));
        let (summary, rows) = read_bytes("export", &bytes, &ReadOptions::default()).unwrap();
        assert_eq!(summary.rows, 2);
        assert_eq!(rows[1].position.to_string(), "export:3");
        // The digest is of the compressed bytes, as read.
        assert_eq!(
            summary.digest,
            format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes))
        );
        // The name without `.gz` says what the text is.
        let (_, rows) = read_bytes(
            "u.ndjson.gz",
            &gzip(b"{\"id\": 1}\n"),
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn damaged_and_oversized_gzip_say_so() {
        let bytes = gzip(b"id\n1\n2\n3\n");
        let e = error("x.csv.gz", &bytes[..bytes.len() - 6]);
        assert!(
            e.starts_with("x.csv.gz: the gzip data ends before it should"),
            "{e}"
        );
        let mut bad = bytes.clone();
        bad[12] ^= 0xFF;
        let e = error("x.csv.gz", &bad);
        assert!(e.starts_with("x.csv.gz: the gzip data "), "{e}");
        let options = ReadOptions {
            max_decompressed: Some(4),
            ..ReadOptions::default()
        };
        assert_eq!(
            error_with("x.csv.gz", &bytes, &options),
            "x.csv.gz: the gzip data decompresses to more than 4 B, the `--max-decompressed` \
             limit; reading stopped, as a file that grows this much is likely a decompression \
             bomb. If the file is genuine, raise the limit with `--max-decompressed 16GiB` (or \
             the size you expect)"
        );
        let options = ReadOptions {
            max_decompressed: Some(10),
            ..ReadOptions::default()
        };
        assert!(read_bytes("x.csv.gz", &bytes, &options).is_ok());
    }

    #[test]
    fn members_that_are_not_data_do_not_count() {
        for name in ["a/", "__MACOSX/a/._x.csv", "a/.DS_Store", "Thumbs.db"] {
            assert!(!is_data_file(name), "{name}");
        }
        assert!(is_data_file("export/people.csv"));
        assert_eq!(shell_word("a b's.csv"), "'a b'\\''s.csv'");
        assert_eq!(shell_word("dir/x-1.csv"), "dir/x-1.csv");
    }
}
