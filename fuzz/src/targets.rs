//! What each fuzz target feeds roster and what it checks besides "no panic".
//!
//! Shared by the libFuzzer binaries of `fuzz/` and by `tests/it/fuzz_replay.rs`, which runs every
//! seed and every kept crash through the same checks on stable Rust, in the normal test suite.
//! A check that fails panics with the reason, which libFuzzer reports as a crash.
//!
//! The readers' targets take the first byte as the read options (see [`options_from`]) and
//! the rest as the file, so the fuzzer explores delimiters and encodings too.

use roster::model::vendor::Vendor;
use roster::read::{self, Encoding, Format, ReadOptions, Row};
use roster::rules::{parse_validation, Settings};
use roster::vendor::VendorReading;
use roster::Error;

/// The CSV reader, with the delimiter and encoding chosen by the first byte.
pub fn read_csv(data: &[u8]) {
    let (options, file) = options_from(data, Format::Csv);
    check_read("fuzz.csv", file, &options);
}

/// The JSON reader (an array of users, bare or under one key).
pub fn read_json(data: &[u8]) {
    let (options, file) = options_from(data, Format::Json);
    check_read("fuzz.json", file, &options);
}

/// The NDJSON reader (one user per line).
pub fn read_ndjson(data: &[u8]) {
    let (options, file) = options_from(data, Format::Ndjson);
    check_read("fuzz.ndjson", file, &options);
}

/// `--format auto` on a name without an extension: the first bytes pick the reader.
pub fn read_sniffed(data: &[u8]) {
    let (options, file) = options_from(data, Format::Auto);
    check_read("fuzz", file, &options);
}

/// The vendor-format readers (`--format servicepower|esystems|fieldsquared`), the vendor
/// chosen by the first byte; every row they give is mapped to a canonical user too.
pub fn read_vendor(data: &[u8]) {
    let Some((&first, file)) = data.split_first() else {
        return;
    };
    let vendor = [Vendor::ServicePower, Vendor::ESystems, Vendor::FieldSquared][first as usize % 3];
    let options = ReadOptions {
        format: Format::Vendor(vendor),
        vendor: Some(std::sync::Arc::new(VendorReading::default())),
        ..ReadOptions::default()
    };
    for row in check_read("fuzz.json", file, &options) {
        roster::map::map_columns(row.columns, ';');
    }
}

/// The spreadsheet reader. The first byte's low bits pick how the rest is taken: as a whole
/// file (any workbook format), or as the XML of a sheet and its shared strings (split at the
/// first `0xFF` byte) put into an `.xlsx` here, or as the `content.xml` of an `.ods`, so the
/// fuzzer works on the cells rather than on the zip around them. Its higher bits give
/// `--sheet 2` and `--header-row N`.
pub fn read_spreadsheet(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let mut options = ReadOptions::default();
    if first & 0x04 != 0 {
        options.sheet = Some("2".into());
    }
    if first & 0x08 != 0 {
        options.header_row = Some(u64::from(first >> 4) + 1);
    }
    let (name, book) = match first & 3 {
        0 => {
            // A whole file may be text, where `--header-row` is refused for JSON.
            options.header_row = None;
            ("fuzz.xlsx", rest.to_vec())
        }
        1 | 2 => {
            let (sheet, strings) = match rest.iter().position(|&b| b == 0xFF) {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &b""[..]),
            };
            ("fuzz.xlsx", workbooks::xlsx(sheet, strings))
        }
        _ => ("fuzz.ods", workbooks::ods(rest)),
    };
    let _ = check_read_places(name, &book, &options, Places::Layered);
}

/// The compressed readers. The first byte's low bits pick the shape of the rest: as a file as
/// it is; gzipped here; gzipped and cut short; or the parts between its `0xFF` bytes zipped
/// here as `m0.csv`, `m1.csv`, …. Its higher bits pick a `--max-decompressed` limit (none,
/// 16 B, 256 B, 4 KiB) and `--member m1.csv`.
pub fn read_compressed(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let limit = [None, Some(16), Some(256), Some(4096)][usize::from(first >> 2 & 3)];
    let options = ReadOptions {
        max_decompressed: limit,
        member: (first & 0x10 != 0).then(|| "m1.csv".to_string()),
        ..ReadOptions::default()
    };
    match first & 3 {
        0 => {
            let _ = check_read_places("fuzz.gz", rest, &options, Places::Layered);
        }
        1 => {
            let places = if is_layered(rest) {
                Places::Layered
            } else {
                let lines = rest.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                Places::Text { lines }
            };
            let read = check_read_places("fuzz.csv.gz", &workbooks::gzip(rest), &options, places);
            if let (Ok(_), Some(limit)) = (&read, limit) {
                assert!(
                    rest.len() as u64 <= limit,
                    "{} bytes read past a limit of {limit}",
                    rest.len()
                );
            }
        }
        2 => {
            // Cut at 2 bytes or more (gzip's magic kept), and at least one byte short.
            let whole = workbooks::gzip(rest);
            let keep = 2 + (usize::from(first) * 31 + rest.len()) % (whole.len() - 2);
            let cut = &whole[..keep];
            let read = check_read_places("fuzz.csv.gz", cut, &options, Places::Layered);
            assert!(read.is_err(), "a gzip file cut short was read");
        }
        _ => {
            let parts: Vec<&[u8]> = rest.split(|&b| b == 0xFF).collect();
            let zip = workbooks::zip(
                parts
                    .iter()
                    .enumerate()
                    .map(|(i, part)| (format!("m{i}.csv"), *part)),
            );
            let _ = check_read_places("fuzz.zip", &zip, &options, Places::Layered);
        }
    }
}

/// Files the fuzz targets build around the fuzzer's bytes.
mod workbooks {
    use std::io::Write;

    /// A zip of stored (uncompressed) members.
    pub fn zip(members: impl IntoIterator<Item = (String, impl AsRef<[u8]>)>) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, bytes) in members {
            zip.start_file(name, stored).unwrap();
            zip.write_all(bytes.as_ref()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// `bytes` gzipped.
    pub fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// An `.xlsx` of two sheets, `Staff` (the XML `sheet`) and `Other`, with `strings` as its
    /// shared strings and a date style (`s="1"`).
    pub fn xlsx(sheet: &[u8], strings: &[u8]) -> Vec<u8> {
        const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
        const RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
        const DOC: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
        let types = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#;
        let rels = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
        );
        let workbook = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{DOC}"><sheets><sheet name="Staff" sheetId="1" r:id="rId1"/><sheet name="Other" sheetId="2" r:id="rId2"/></sheets></workbook>"#
        );
        let workbook_rels = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{DOC}/worksheet" Target="worksheets/sheet2.xml"/><Relationship Id="rId3" Type="{DOC}/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId4" Type="{DOC}/styles" Target="styles.xml"/></Relationships>"#
        );
        let styles = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#
        );
        let other = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>external_id</t></is></c></row><row r="2"><c r="A2"><v>7</v></c></row></sheetData></worksheet>"#
        );
        zip([
            ("[Content_Types].xml".to_string(), types.as_bytes()),
            ("_rels/.rels".to_string(), rels.as_bytes()),
            ("xl/workbook.xml".to_string(), workbook.as_bytes()),
            (
                "xl/_rels/workbook.xml.rels".to_string(),
                workbook_rels.as_bytes(),
            ),
            ("xl/styles.xml".to_string(), styles.as_bytes()),
            ("xl/worksheets/sheet1.xml".to_string(), sheet),
            ("xl/worksheets/sheet2.xml".to_string(), other.as_bytes()),
            ("xl/sharedStrings.xml".to_string(), strings),
        ])
    }

    /// An `.ods` whose `content.xml` is `content`.
    pub fn ods(content: &[u8]) -> Vec<u8> {
        let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
        zip([
            (
                "mimetype".to_string(),
                &b"application/vnd.oasis.opendocument.spreadsheet"[..],
            ),
            ("META-INF/manifest.xml".to_string(), manifest.as_bytes()),
            ("content.xml".to_string(), content),
        ])
    }
}

/// The `validation.json` loader (a `ListValidation` list, bare or as `{"Extra": [...]}`).
pub fn validation_json(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match parse_validation("validation.json", source, ';') {
        Ok(rules) => {
            let items = serde_json::from_str::<serde_json::Value>(source)
                .ok()
                .and_then(|root| match root {
                    serde_json::Value::Array(items) => Some(items.len()),
                    serde_json::Value::Object(o) => o
                        .get("Extra")
                        .and_then(serde_json::Value::as_array)
                        .map(Vec::len),
                    _ => None,
                });
            assert_eq!(items, Some(rules.len()), "one rule per item of the list");
        }
        Err(Error::Rules(error)) => {
            check_pack_message("validation.json", source, &error.to_string())
        }
        Err(other) => panic!("validation.json gave a {other:?} error, not a rules error"),
    }
}

/// The `tenant.toml` loader.
pub fn tenant_toml(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match Settings::parse("tenant.toml", source) {
        Ok(settings) => {
            if let Some(percent) = settings.max_delete_percent {
                assert!(
                    (0.0..=100.0).contains(&percent),
                    "max_delete_percent {percent} accepted"
                );
            }
        }
        Err(Error::Rules(error)) => check_pack_message("tenant.toml", source, &error.to_string()),
        Err(other) => panic!("tenant.toml gave a {other:?} error, not a rules error"),
    }
}

/// Splits off the options byte: bit 0 picks windows-1252, bits 1–2 force a delimiter
/// (none, `,`, `;`, tab). An empty input reads as an empty file with the defaults.
fn options_from(data: &[u8], format: Format) -> (ReadOptions, &[u8]) {
    let (first, file) = data.split_first().map_or((0, data), |(&b, rest)| (b, rest));
    let options = ReadOptions {
        format,
        encoding: if first & 1 == 1 {
            Encoding::Windows1252
        } else {
            Encoding::Utf8
        },
        delimiter: [None, Some(b','), Some(b';'), Some(b'\t')][usize::from(first >> 1 & 3)],
        ..ReadOptions::default()
    };
    (options, file)
}

/// Reads `bytes` as the file `name` and checks what any read must satisfy; the rows. Bytes
/// that start like a compressed file or a workbook are read through that layer, and their
/// places are checked as [`check_read_layered`] does.
fn check_read(name: &str, bytes: &[u8], options: &ReadOptions) -> Vec<Row> {
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let places = if is_layered(bytes) {
        Places::Layered
    } else {
        Places::Text { lines }
    };
    check_read_places(name, bytes, options, places).unwrap_or_default()
}

/// Whether bytes start like a gzip file, a zip file or an OLE compound file (`.xls`).
fn is_layered(bytes: &[u8]) -> bool {
    [
        &b"\x1F\x8B"[..],
        b"PK\x03\x04",
        b"PK\x05\x06",
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
    ]
    .iter()
    .any(|magic| bytes.starts_with(magic))
}

/// What the places of a read's rows and errors must be.
#[derive(Clone, Copy)]
enum Places {
    /// A text file of `lines` lines, or a gzip file of such a text: rows at `name:line`,
    /// errors at `name`, `name:line` or `name:line:column`, the lines within the text.
    Text { lines: u64 },
    /// A workbook or an archive: rows at `name:…:row` (a sheet, a member), rows in order;
    /// errors at `name` or below it.
    Layered,
}

/// Reads `bytes` as the file `name`, checks the read against `places`; the rows, or the
/// error's message.
fn check_read_places(
    name: &str,
    bytes: &[u8],
    options: &ReadOptions,
    places: Places,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let result = read::read_from(name, bytes, options, &mut |row: Row| {
        rows.push(row);
        Ok(())
    });
    match result {
        Ok(summary) => {
            assert_eq!(
                summary.rows,
                rows.len() as u64,
                "the summary counts every row"
            );
            assert_eq!(
                summary.digest,
                format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes)),
                "the digest is of the raw bytes"
            );
            let mut previous = 1;
            for (index, row) in rows.iter().enumerate() {
                let position = &row.position;
                assert_eq!(position.index, index as u64, "rows are numbered in order");
                match places {
                    Places::Text { lines } => {
                        assert_eq!(&*position.file, name);
                        assert!(
                            (previous..=lines).contains(&position.line),
                            "row {index} at line {} (previous {previous}, the text has {lines})",
                            position.line
                        );
                    }
                    Places::Layered => {
                        assert!(
                            position.file.starts_with(&format!("{name}:"))
                                || &*position.file == name,
                            "row {index} is in `{}`, not in `{name}`",
                            position.file
                        );
                        assert!(
                            position.line >= previous,
                            "row {index} at row {} after row {previous}",
                            position.line
                        );
                    }
                }
                previous = position.line;
                if !summary.columns.is_empty() {
                    let names: Vec<&str> = row.columns.iter().map(|(n, _)| &**n).collect();
                    assert_eq!(names, summary.columns, "a row has the header's columns");
                }
            }
        }
        Err(Error::Input { at, message }) => {
            assert!(!message.trim().is_empty(), "an empty message at {at}");
            match places {
                Places::Text { lines } => check_place(name, &at, lines),
                Places::Layered => assert!(
                    at.starts_with(name),
                    "the error's place `{at}` does not name the file `{name}`"
                ),
            }
            return Err(message);
        }
        Err(other) => panic!("reading gave a {other:?} error, not an input error"),
    }
    Ok(rows)
}

/// An input error's place is `name`, `name:line` or `name:line:column`, both 1-based, the
/// line within the file.
pub fn check_place(name: &str, at: &str, lines: u64) {
    let Some(rest) = at.strip_prefix(name) else {
        panic!("the error's place `{at}` does not name the file `{name}`");
    };
    let numbers: Vec<u64> = rest
        .split(':')
        .skip(1)
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| panic!("`{at}` is not file:line:column"))
        })
        .collect();
    assert!(numbers.len() <= 2, "`{at}` has too many parts");
    assert!(numbers.iter().all(|&n| n >= 1), "`{at}` is not 1-based");
    if let Some(&line) = numbers.first() {
        assert!(line <= lines, "`{at}` is past the file's {lines} lines");
    }
}

/// A pack error starts `file:` and, when it names a line, that line is in the source.
pub fn check_pack_message(file: &str, source: &str, message: &str) {
    let head = message.lines().next().unwrap_or_default();
    let Some(rest) = head.strip_prefix(file).and_then(|r| r.strip_prefix(':')) else {
        panic!("the error `{head}` does not start with `{file}:`");
    };
    let mut parts = rest.splitn(3, ':');
    if let (Some(line), Some(column), Some(_)) = (parts.next(), parts.next(), parts.next()) {
        if let (Ok(line), Ok(column)) = (line.parse::<usize>(), column.parse::<usize>()) {
            let lines = source.matches('\n').count() + 1;
            assert!(
                (1..=lines).contains(&line),
                "`{head}` is past the {lines} lines"
            );
            assert!(column >= 1, "`{head}` has column 0");
        }
    }
}
