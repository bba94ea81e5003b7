//! What a workbook must pass before calamine reads it. calamine trusts sizes and sector
//! numbers written in the file, and expands an OpenDocument sheet's repeated cells whole, so
//! a damaged or hostile file could make it ask for terabytes or loop forever. These checks
//! refuse such a file with a message first (the fuzzer found the first within seconds).

use std::cell::Cell;
use std::io::{self, Cursor, Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use quick_xml::events::{BytesStart, Event};
use zip::ZipArchive;

use crate::{Error, Result};

/// The most cells an `.ods` sheet may expand to (calamine holds each one, twice over, while
/// it reads): about 30 times the cells of 100,000 users of a dozen columns.
pub(super) const MAX_ODS_CELLS: u64 = 5_000_000;

/// What an OLE compound file holds.
pub(super) enum Compound {
    /// An encrypted package: a password-protected workbook.
    Encrypted,
    /// An `.xls` workbook, as a compound file written here around its workbook stream alone.
    Workbook(Vec<u8>),
}

/// Opens an OLE compound file with the `cfb` crate, which checks its allocation tables,
/// directory and chains of sectors as it reads, and takes out the workbook stream (no longer
/// than the file). calamine then reads a compound file `cfb` wrote, so nothing it trusts was
/// written by the file's maker (its own reader allocates whatever a sector number asks for).
pub(super) fn compound(place: &str, bytes: &[u8]) -> Result<Compound> {
    let damaged = |e: io::Error| {
        Error::input(
            place,
            format!(
                "the workbook is damaged ({}); open it in Excel or LibreOffice and save it \
                 again, or export the sheet as CSV",
                e.to_string().to_lowercase()
            ),
        )
    };
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(damaged)?;
    if file.is_stream("EncryptedPackage") {
        return Ok(Compound::Encrypted);
    }
    let Some(name) = ["Workbook", "Book"].into_iter().find(|n| file.is_stream(n)) else {
        return Err(damaged(io::Error::other("it holds no workbook stream")));
    };
    let len = file.entry(name).map_err(damaged)?.len();
    if len > bytes.len() as u64 {
        return Err(damaged(io::Error::other(format!(
            "its workbook stream claims {len} bytes in a file of {}",
            bytes.len()
        ))));
    }
    let mut stream = Vec::new();
    file.open_stream(name)
        .and_then(|mut s| s.read_to_end(&mut stream))
        .map_err(damaged)?;
    prepare_stream(&mut stream).map_err(|e| damaged(io::Error::other(e)))?;
    let mut clean = cfb::CompoundFile::create(Cursor::new(Vec::new())).map_err(damaged)?;
    clean
        .create_stream(name)
        .and_then(|mut s| s.write_all(&stream))
        .map_err(damaged)?;
    clean.flush().map_err(damaged)?;
    Ok(Compound::Workbook(clean.into_inner().into_inner()))
}

/// Makes an `.xls` workbook stream safe for calamine, which lays each sheet out as a
/// rectangle of cells and believes the file about its size (both found by fuzzing):
/// - zeroes the sizes in DIMENSIONS records (0x0200), for which calamine reserves as many
///   cells as they claim (up to 2^48); the record is only a hint, the cells give the size;
/// - refuses a cell past column IV, the last an `.xls` has (a column number up to 65,535
///   would make that rectangle 137 GB).
///
/// The records are found where calamine reads them: from the start of the stream, and from
/// each sheet's offset that a BoundSheet8 record (0x0085) gives.
fn prepare_stream(stream: &mut [u8]) -> std::result::Result<(), String> {
    const LAST_COLUMN: u16 = 0xFF;
    /// Records whose data starts with the row and column of the cell they hold.
    const CELLS: &[u16] = &[0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x0006];
    /// MulRk: a row, a first column, values, a last column.
    const MUL_RK: u16 = 0x00BD;
    let mut starts = vec![0];
    each_record(stream, 0, |typ, data| {
        if typ == 0x0085 && data.len() >= 4 {
            starts.push(u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize);
        }
    });
    let mut past = None;
    let column = |bytes: &[u8]| u16::from_le_bytes([bytes[0], bytes[1]]);
    for start in starts {
        each_record(stream, start, |typ, data| {
            let columns = match typ {
                0x0200 => {
                    data.fill(0);
                    return;
                }
                _ if CELLS.contains(&typ) && data.len() >= 4 => [column(&data[2..4]), 0],
                MUL_RK if data.len() >= 6 => [column(&data[2..4]), column(&data[data.len() - 2..])],
                _ => return,
            };
            if let Some(&c) = columns.iter().find(|&&c| c > LAST_COLUMN) {
                past.get_or_insert(c);
            }
        });
    }
    match past {
        Some(c) => Err(format!(
            "a cell is in column {}, past column IV, the last of an .xls",
            u32::from(c) + 1
        )),
        None => Ok(()),
    }
}

/// Calls `f` with the type and data of each BIFF record from `start` on: a type (u16), a
/// length (u16), the data.
fn each_record(stream: &mut [u8], start: usize, mut f: impl FnMut(u16, &mut [u8])) {
    let mut at = start;
    while let Some(head) = stream.get(at..at + 4) {
        let typ = u16::from_le_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let Some(data) = stream.get_mut(at + 4..at + 4 + len) else {
            return;
        };
        f(typ, data);
        at += 4 + len;
    }
}

/// Checks that no sheet of an `.ods` expands past [`MAX_ODS_CELLS`], counting its repeated
/// rows and cells as calamine will lay them out.
pub(super) fn check_ods(place: &str, bytes: &[u8]) -> Result<()> {
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| damaged(place, &e))?;
    let content = zip.by_name("content.xml").map_err(|e| damaged(place, &e))?;
    let mut xml = quick_xml::Reader::from_reader(io::BufReader::new(content));
    // As calamine reads it.
    xml.config_mut().check_end_names = false;
    let mut buffer = Vec::new();
    let mut sheet = Sheet::default();
    let mut table = String::new();
    // Elements calamine reads to their end tag, which it must find: it loops forever at the
    // end of the XML otherwise.
    let mut open_tables = 0u64;
    let mut open_names = 0u64;
    loop {
        let event = xml
            .read_event_into(&mut buffer)
            .map_err(|e| damaged(place, &e))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.name().as_ref() {
                    b"table:table" if !empty => {
                        open_tables += 1;
                        sheet = Sheet::default();
                        table = attribute(e, b"table:name").unwrap_or_default();
                    }
                    b"table:named-expressions" if !empty => open_names += 1,
                    b"table:table-row" => sheet.row(repeats(e, b"table:number-rows-repeated")),
                    b"table:table-cell" | b"table:covered-table-cell" => {
                        let valued = !empty
                            || attribute(e, b"office:value-type").is_some()
                            || attribute(e, b"table:formula").is_some();
                        sheet.cell(repeats(e, b"table:number-columns-repeated"), valued);
                    }
                    _ => {}
                }
            }
            Event::End(ref e) if e.name().as_ref() == b"table:table-row" => sheet.end_row(),
            Event::End(ref e) if e.name().as_ref() == b"table:named-expressions" => {
                open_names = open_names.saturating_sub(1);
            }
            Event::End(ref e) if e.name().as_ref() == b"table:table" => {
                open_tables = open_tables.saturating_sub(1);
                let cells = sheet.cells();
                if cells > MAX_ODS_CELLS {
                    return Err(Error::input(
                        place,
                        format!(
                            "sheet `{table}` repeats its cells into more than {MAX_ODS_CELLS} \
                             cells, more than roster reads from an .ods; save it as .xlsx or \
                             export it as CSV"
                        ),
                    ));
                }
            }
            Event::Eof if open_tables + open_names > 0 => {
                return Err(damaged(place, &"the sheet's XML ends inside a table"));
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
        buffer.clear();
    }
}

fn damaged(place: &str, e: &dyn std::fmt::Display) -> Error {
    Error::input(
        place,
        format!(
            "the workbook is damaged ({}); open it in Excel or LibreOffice and save it again, \
             or export the sheet as CSV",
            e.to_string().to_lowercase()
        ),
    )
}

fn attribute(element: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    element
        .try_get_attribute(name)
        .ok()
        .flatten()
        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
}

/// A repeat count; what calamine cannot parse it refuses itself, so it counts once here.
fn repeats(element: &BytesStart<'_>, name: &[u8]) -> u64 {
    attribute(element, name)
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(1)
}

/// The cells a sheet expands to, as calamine lays them out: every row's cells up to its last
/// one with a value, then a rectangle as wide as the widest row from the first row with a
/// value to the last, repeated rows counted.
#[derive(Default)]
struct Sheet {
    /// Cells pushed so far, row by row.
    pushed: u64,
    /// The widest row, up to its last cell with a value.
    width: u64,
    /// Rows (repeats counted) up to the last row with a value, from the first.
    rows: u64,
    /// Rows seen since the last row with a value (or the first one), repeats counted.
    pending_rows: u64,
    seen_value: bool,
    /// The row being read: its repeats, the cells so far, up to its last value.
    row_repeats: u64,
    row_cells: u64,
    row_width: u64,
}

impl Sheet {
    fn row(&mut self, repeats: u64) {
        self.row_repeats = repeats;
        self.row_cells = 0;
        self.row_width = 0;
    }

    fn cell(&mut self, repeats: u64, valued: bool) {
        self.row_cells = self.row_cells.saturating_add(repeats);
        if valued {
            self.row_width = self.row_cells;
        }
    }

    fn end_row(&mut self) {
        self.pending_rows = self.pending_rows.saturating_add(self.row_repeats);
        if self.row_width > 0 {
            self.pushed = self.pushed.saturating_add(self.row_width);
            self.width = self.width.max(self.row_width);
            if self.seen_value {
                self.rows = self.rows.saturating_add(self.pending_rows);
            } else {
                self.rows = self.row_repeats;
                self.seen_value = true;
            }
            self.pending_rows = 0;
        }
    }

    fn cells(&self) -> u64 {
        self.pushed
            .saturating_add(self.rows.saturating_mul(self.width))
    }
}

thread_local! {
    /// Set while this thread runs a step of calamine's under [`guarded`].
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs a step of calamine's, turning a panic (a damaged workbook it does not check for,
/// such as a cell naming a shared string past the end of the table) into one message about
/// the workbook. Such a panic is caught, so it is not printed either: the process's panic
/// hook is wrapped, once, to stay silent on a thread inside this function and to do what it
/// did before everywhere else.
pub(super) fn guarded<T>(place: &str, step: impl FnOnce() -> Result<T>) -> Result<T> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = GUARDED.with(|g| g.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(step));
    GUARDED.with(|g| g.set(outer));
    result.unwrap_or_else(|_| {
        Err(Error::input(
            place,
            "the workbook cannot be read: it is damaged in a way the spreadsheet reader does \
             not expect; open it in Excel or LibreOffice and save it again, or export the \
             sheet as CSV",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ods(content: &str) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("mimetype", stored).unwrap();
        zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
            .unwrap();
        zip.start_file("content.xml", stored).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn repeated_cells_and_rows_are_counted_as_calamine_expands_them() {
        // LibreOffice's trailing empty cells and rows cost nothing.
        let fine = r#"<table:table table:name="S"><table:table-row><table:table-cell office:value-type="string"><text:p>id</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16383"/></table:table-row><table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="16384"/></table:table-row></table:table>"#;
        assert!(check_ods("x.ods", &ods(fine)).is_ok());
        let wide = r#"<table:table table:name="S"><table:table-row><table:table-cell table:number-columns-repeated="9000000" office:value-type="float" office:value="1"/></table:table-row></table:table>"#;
        let e = check_ods("x.ods", &ods(wide)).unwrap_err().to_string();
        assert!(
            e.starts_with("x.ods: sheet `S` repeats its cells into more than"),
            "{e}"
        );
        let tall = r#"<table:table table:name="T"><table:table-row table:number-rows-repeated="1000000"><table:table-cell office:value-type="string" table:number-columns-repeated="10"/></table:table-row></table:table>"#;
        assert!(check_ods("x.ods", &ods(tall)).is_err());
        // Empty rows between two rows with values are laid out too.
        let cut = r#"<table:table table:name="C"><table:table-row><table:table-cell/>"#;
        let e = check_ods("x.ods", &ods(cut)).unwrap_err().to_string();
        assert!(e.contains("the sheet's xml ends inside a table"), "{e}");
        let gap = r#"<table:table table:name="G"><table:table-row><table:table-cell table:number-columns-repeated="100" office:value-type="float"/></table:table-row><table:table-row table:number-rows-repeated="100000"><table:table-cell/></table:table-row><table:table-row><table:table-cell office:value-type="float"/></table:table-row></table:table>"#;
        assert!(check_ods("x.ods", &ods(gap)).is_err());
    }

    #[test]
    fn a_panic_in_a_guarded_step_is_one_message() {
        let result: Result<String> = guarded("x.xlsx", || {
            let strings: Vec<String> = Vec::new();
            let index = std::hint::black_box(3);
            Ok(strings[index].clone())
        });
        assert_eq!(
            result.unwrap_err().to_string(),
            "x.xlsx: the workbook cannot be read: it is damaged in a way the spreadsheet \
             reader does not expect; open it in Excel or LibreOffice and save it again, or \
             export the sheet as CSV"
        );
        assert!(!GUARDED.with(Cell::get));
    }

    #[test]
    fn a_compound_file_is_rewritten_around_its_workbook_stream() {
        let good = include_bytes!("../../fixtures/inputs/staff.xls");
        let Ok(Compound::Workbook(clean)) = compound("x.xls", good) else {
            panic!("staff.xls is an .xls");
        };
        let mut file = cfb::CompoundFile::open(Cursor::new(clean)).unwrap();
        let names: Vec<String> = file.walk().map(|e| e.name().to_string()).collect();
        assert_eq!(names, ["Root Entry", "Workbook"]);
        let mut stream = Vec::new();
        file.open_stream("Workbook")
            .unwrap()
            .read_to_end(&mut stream)
            .unwrap();
        assert!(stream.len() > 1000);
        let locked = include_bytes!("../../fixtures/inputs/staff-password.xlsx");
        assert!(matches!(
            compound("x.xlsx", locked),
            Ok(Compound::Encrypted)
        ));
        // Its DIMENSIONS records are zeroed, and the sheet still reads whole.
        let mut records = Vec::new();
        each_record(&mut stream, 0, |typ, data| {
            records.push((typ, data.to_vec()))
        });
        assert!(records
            .iter()
            .filter(|(typ, _)| *typ == 0x0200)
            .all(|(_, data)| data.iter().all(|&b| b == 0)));
        // A cell past column IV is refused: a Number record (0x0203) in column 301.
        let mut number = vec![0x03, 0x02, 14, 0, 0, 0, 44, 1];
        number.extend([0; 10]);
        assert_eq!(
            prepare_stream(&mut number),
            Err("a cell is in column 301, past column IV, the last of an .xls".to_string())
        );
        let mut bad = good.to_vec();
        // The first sector of the directory chain, far past the end of the file.
        bad[48..52].copy_from_slice(&0x00FF_FFFFu32.to_le_bytes());
        let e = compound("x.xls", &bad).err().unwrap().to_string();
        assert!(e.starts_with("x.xls: the workbook is damaged ("), "{e}");
    }
}
