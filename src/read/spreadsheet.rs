//! The spreadsheet reader: `.xlsx`, `.xlsm`, `.xlsb`, `.xls` and `.ods` workbooks through
//! calamine. One sheet is read as a CSV file is: a header row names the columns, every later
//! row that is not blank is one row of text cells, at `file.xlsx:Sheet:row`.
//!
//! Cells are text as the spreadsheet shows them: dates as `YYYY-MM-DD` (with a time,
//! `YYYY-MM-DDTHH:MM:SS`; a time alone `HH:MM:SS`), whole numbers without `.0` and others to
//! the 15 significant digits Excel shows, text as typed (leading zeros kept), booleans as
//! `true`/`false`, formula errors as shown (`#N/A`), empty cells empty. Number formats other
//! than dates are not applied: a cell showing `12%` reads `0.12`.
//!
//! `.xlsx` and `.xlsb` sheets are streamed cell by cell; `.xls` and `.ods` sheets are read
//! whole by calamine first (their formats allow nothing else).

use std::io::Cursor;
use std::sync::Arc;

use calamine::{
    CellErrorType, DataType, ExcelDateTime, Ods, Reader, Sheet, SheetType, SheetVisible, Xls,
    XlsError, Xlsb, Xlsx, XlsxError,
};
use serde_json::Value;

use super::header::{self, Columns};
use super::workbook_checks::{check_ods, compound, guarded, Compound};
use super::{Position, ReadOptions, Row, Sink};
use crate::{Error, Result};

/// The workbook formats, as a source's first bytes and parts tell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WorkbookKind {
    /// `.xlsx`, `.xlsm`: a zip of XML parts.
    Xlsx,
    /// `.xlsb`: a zip of binary parts.
    Xlsb,
    /// `.ods`: a zip of OpenDocument XML.
    Ods,
    /// An OLE compound file: an `.xls` workbook, or a password-protected `.xlsx`.
    Compound,
}

/// A workbook, whole in memory (its readers seek).
pub(super) struct Workbook {
    pub kind: WorkbookKind,
    pub bytes: Vec<u8>,
}

/// Reads the chosen sheet of a workbook; the rows read and the header. `place` is the file.
pub(super) fn read(
    place: &str,
    workbook: Workbook,
    options: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<(u64, Vec<String>)> {
    let wanted = options.sheet.as_deref();
    let header_row = options.header_row;
    let Workbook { kind, bytes } = workbook;
    match kind {
        WorkbookKind::Xlsx => {
            let mut book = guarded(place, || {
                Xlsx::new(Cursor::new(bytes)).map_err(|e| xlsx_error(place, e))
            })?;
            let sheet = choose(place, book.sheets_metadata(), wanted)?;
            let sheets = book.sheets_metadata().to_vec();
            let mut grid = Grid::new(place, &sheet, &sheets, header_row, sink);
            let mut cells = guarded(place, || {
                book.worksheet_cells_reader(&sheet)
                    .map_err(|e| damaged(place, &e))
            })?;
            while let Some(cell) =
                guarded(place, || cells.next_cell().map_err(|e| damaged(place, &e)))?
            {
                let (row, column) = cell.get_position();
                grid.cell(row, column, shown(cell.get_value()))?;
            }
            grid.finish()
        }
        WorkbookKind::Xlsb => {
            let mut book = guarded(place, || {
                Xlsb::new(Cursor::new(bytes)).map_err(|e| damaged(place, &e))
            })?;
            let sheet = choose(place, book.sheets_metadata(), wanted)?;
            let sheets = book.sheets_metadata().to_vec();
            let mut grid = Grid::new(place, &sheet, &sheets, header_row, sink);
            let mut cells = guarded(place, || {
                book.worksheet_cells_reader(&sheet)
                    .map_err(|e| damaged(place, &e))
            })?;
            while let Some(cell) =
                guarded(place, || cells.next_cell().map_err(|e| damaged(place, &e)))?
            {
                let (row, column) = cell.get_position();
                grid.cell(row, column, shown(cell.get_value()))?;
            }
            grid.finish()
        }
        WorkbookKind::Ods => {
            check_ods(place, &bytes)?;
            let book = guarded(place, || {
                Ods::new(Cursor::new(bytes)).map_err(|e| match e {
                    calamine::OdsError::Password => password(place),
                    other => damaged(place, &other),
                })
            })?;
            read_whole(place, book, wanted, header_row, sink)
        }
        WorkbookKind::Compound => {
            // A password-protected `.xlsx` is a compound file holding the encrypted package.
            let bytes = match compound(place, &bytes)? {
                Compound::Encrypted => return Err(password(place)),
                Compound::Workbook(bytes) => bytes,
            };
            let book = guarded(place, || {
                Xls::new(Cursor::new(bytes)).map_err(|e| match e {
                    XlsError::Password => password(place),
                    other => damaged(place, &other),
                })
            })?;
            read_whole(place, book, wanted, header_row, sink)
        }
    }
}

/// Reads a sheet calamine can only give whole.
fn read_whole<R: Reader<Cursor<B>>, B: AsRef<[u8]>>(
    place: &str,
    mut book: R,
    wanted: Option<&str>,
    header_row: Option<u64>,
    sink: &mut dyn Sink,
) -> Result<(u64, Vec<String>)>
where
    R::Error: std::fmt::Display,
    Cursor<B>: std::io::Read + std::io::Seek,
{
    let sheet = choose(place, book.sheets_metadata(), wanted)?;
    let sheets = book.sheets_metadata().to_vec();
    let range = guarded(place, || {
        book.worksheet_range(&sheet).map_err(|e| damaged(place, &e))
    })?;
    let mut grid = Grid::new(place, &sheet, &sheets, header_row, sink);
    let (top, left) = range.start().unwrap_or_default();
    for (row, column, value) in range.used_cells() {
        grid.cell(top + row as u32, left + column as u32, shown(value))?;
    }
    grid.finish()
}

fn xlsx_error(place: &str, e: XlsxError) -> Error {
    match e {
        XlsxError::Password => password(place),
        other => damaged(place, &other),
    }
}

fn password(place: &str) -> Error {
    Error::input(
        place,
        "the workbook is password-protected, and roster does not take passwords; open it in \
         Excel or LibreOffice, save a copy without the password, and read that",
    )
}

fn damaged(place: &str, e: &dyn std::fmt::Display) -> Error {
    let detail = e.to_string();
    let detail = detail.trim_end_matches('.');
    Error::input(
        place,
        format!(
            "the workbook cannot be read ({}); it may be damaged: open it in Excel or \
             LibreOffice and save it again, or export the sheet as CSV",
            lowercase_first(detail)
        ),
    )
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The sheet to read: the one `wanted` names (its name, in any case, or its 1-based number),
/// else the first visible worksheet.
fn choose(place: &str, sheets: &[Sheet], wanted: Option<&str>) -> Result<String> {
    let names = || {
        sheets
            .iter()
            .map(|s| format!("`{}`", s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(wanted) = wanted else {
        let worksheet = |s: &&Sheet| s.typ == SheetType::WorkSheet;
        return sheets
            .iter()
            .filter(worksheet)
            .find(|s| s.visible == SheetVisible::Visible)
            .or_else(|| sheets.iter().find(worksheet))
            .map(|s| s.name.clone())
            .ok_or_else(|| {
                Error::input(
                    place,
                    "the workbook has no worksheet (only charts or macros); export the data as \
                     a sheet or as CSV",
                )
            });
    };
    if let Some(sheet) = sheets.iter().find(|s| s.name == wanted) {
        return Ok(sheet.name.clone());
    }
    let by_case: Vec<&Sheet> = sheets
        .iter()
        .filter(|s| s.name.eq_ignore_ascii_case(wanted.trim()))
        .collect();
    if let [only] = by_case.as_slice() {
        return Ok(only.name.clone());
    }
    if let Some(sheet) = wanted
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| sheets.get(i))
    {
        return Ok(sheet.name.clone());
    }
    Err(Error::input(
        place,
        format!(
            "the workbook has no sheet `{wanted}`; its sheets are {}: pass one of them to \
             `--sheet`, or its number (1 to {})",
            names(),
            sheets.len()
        ),
    ))
}

/// Column letters, as a spreadsheet names columns: `A`, …, `Z`, `AA`, … for 0, 1, ….
fn column_letters(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// Gathers cells, given in row order, into the header and rows.
struct Grid<'s> {
    /// `file.xlsx:Sheet`, as positions name the sheet.
    file: Arc<str>,
    /// The other sheets, for the message when this one is empty.
    others: Vec<String>,
    header_row: Option<u64>,
    /// The header, once read, with its first column and its row.
    header: Option<(Vec<Arc<str>>, u32, u64)>,
    /// The 0-based row whose cells are being gathered.
    row: Option<u32>,
    cells: Vec<(u32, String)>,
    rows: u64,
    sink: &'s mut dyn Sink,
}

impl<'s> Grid<'s> {
    fn new(
        place: &str,
        sheet: &str,
        sheets: &[Sheet],
        header_row: Option<u64>,
        sink: &'s mut dyn Sink,
    ) -> Self {
        Grid {
            file: Arc::from(format!("{place}:{sheet}")),
            others: sheets
                .iter()
                .filter(|s| s.name != sheet && s.typ == SheetType::WorkSheet)
                .map(|s| format!("`{}`", s.name))
                .collect(),
            header_row,
            header: None,
            row: None,
            cells: Vec::new(),
            rows: 0,
            sink,
        }
    }

    /// Takes one cell's text; an empty one only moves the row on.
    fn cell(&mut self, row: u32, column: u32, text: String) -> Result<()> {
        if self.row != Some(row) {
            if let Some(previous) = self.row.filter(|previous| row < *previous) {
                return Err(Error::input(
                    format!("{}:{}", self.file, u64::from(row) + 1),
                    format!(
                        "this row comes after row {} in the file; the workbook is damaged: \
                         open it in Excel or LibreOffice and save it again",
                        u64::from(previous) + 1
                    ),
                ));
            }
            self.flush()?;
            self.row = Some(row);
        }
        if !text.is_empty() {
            self.cells.push((column, text));
        }
        Ok(())
    }

    /// Ends the current row: the header, a row handed to the sink, or a blank row skipped.
    fn flush(&mut self) -> Result<()> {
        let Some(row) = self.row else {
            return Ok(());
        };
        let mut cells = std::mem::take(&mut self.cells);
        if cells.is_empty() {
            return Ok(());
        }
        let line = u64::from(row) + 1;
        // Cells come in column order; a cell given twice keeps its last value.
        cells.sort_by_key(|(column, _)| *column);
        cells.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        let Some((names, first, header_line)) = &self.header else {
            return match self.header_row {
                Some(wanted) if line < wanted => Ok(()),
                Some(wanted) if line > wanted => Err(self.blank_header(wanted)),
                _ => self.read_header(line, &cells),
            };
        };
        let (first, width, header_line) = (*first, names.len() as u32, *header_line);
        let mut values = vec![String::new(); names.len()];
        for (column, text) in cells {
            if column < first || column >= first + width {
                return Err(Error::input(
                    format!("{}:{line}", self.file),
                    format!(
                        "cell {}{line} holds `{text}`, but its column has no name in the header \
                         (row {header_line}); name the column there or clear the cell, and if \
                         the header is a later row, pass `--header-row` with its number",
                        column_letters(column as usize)
                    ),
                ));
            }
            values[(column - first) as usize] = text;
        }
        let columns = names
            .iter()
            .cloned()
            .zip(values.into_iter().map(Value::String))
            .collect();
        let position = Position {
            file: self.file.clone(),
            line,
            index: self.rows,
        };
        self.sink.row(Row { position, columns })?;
        self.rows += 1;
        Ok(())
    }

    /// Takes the cells of row `line` as the header: from its first cell to its last.
    fn read_header(&mut self, line: u64, cells: &[(u32, String)]) -> Result<()> {
        let first = cells[0].0;
        // Cells are in column order: a gap is a column without a name, which the check
        // below reports (a header of two cells far apart is never laid out cell by cell).
        let mut texts: Vec<&str> = Vec::with_capacity(cells.len());
        for (i, (column, text)) in cells.iter().enumerate() {
            if u64::from(*column) != u64::from(first) + i as u64 {
                texts.push("");
                break;
            }
            texts.push(text);
        }
        let columns = Columns {
            label: &|i| column_letters(first as usize + i),
            empty_hint: ", or delete the column",
        };
        let at = format!("{}:{line}", self.file);
        let names = header::names(&at, texts, &columns)?;
        self.sink.header(&at, &names)?;
        self.header = Some((names, first, line));
        Ok(())
    }

    fn blank_header(&self, wanted: u64) -> Error {
        Error::input(
            format!("{}:{wanted}", self.file),
            format!(
                "row {wanted} is blank, and `--header-row {wanted}` says the header is there; \
                 give the row the header is on"
            ),
        )
    }

    /// Ends the sheet; the rows read and the header.
    fn finish(mut self) -> Result<(u64, Vec<String>)> {
        self.flush()?;
        match &self.header {
            Some((names, _, _)) => Ok((self.rows, names.iter().map(|n| n.to_string()).collect())),
            None if self.header_row.is_some() => {
                Err(self.blank_header(self.header_row.unwrap_or_default()))
            }
            None => {
                let others = if self.others.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (the workbook's other sheets: {}; choose one with `--sheet`)",
                        self.others.join(", ")
                    )
                };
                Err(Error::input(
                    &self.file,
                    format!("the sheet is empty; expected a header row{others}"),
                ))
            }
        }
    }
}

/// A cell's text as the spreadsheet shows it.
fn shown<D: DataType>(cell: &D) -> String {
    if cell.is_empty() {
        String::new()
    } else if let Some(text) = cell.get_string() {
        text.to_string()
    } else if let Some(int) = cell.get_int() {
        int.to_string()
    } else if let Some(float) = cell.get_float() {
        number(float)
    } else if let Some(bool) = cell.get_bool() {
        bool.to_string()
    } else if let Some(date) = cell.get_datetime() {
        date_time(date)
    } else if let Some(iso) = cell.get_datetime_iso() {
        iso_date_time(iso)
    } else if let Some(iso) = cell.get_duration_iso() {
        iso_duration(iso)
    } else if let Some(error) = cell.get_error() {
        error_text(error)
    } else {
        String::new()
    }
}

fn error_text(error: &CellErrorType) -> String {
    error.to_string()
}

/// A number as Excel shows it in a General cell: whole numbers without `.0`, others to 15
/// significant digits (so `0.1 + 0.2` is `0.3`).
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    let rounded: f64 = format!("{value:.14e}").parse().unwrap_or(value);
    format!("{rounded}")
}

/// A date, a date and time, a time, or a duration, as the cell's format says.
fn date_time(value: ExcelDateTime) -> String {
    let days = value.as_f64();
    if value.is_duration() {
        return clock((days * 86_400.0).round() as i64);
    }
    if (0.0..1.0).contains(&days) {
        return clock((days * 86_400.0).round() as i64 % 86_400);
    }
    let Some(moment) = value.as_datetime() else {
        return number(days);
    };
    // To the second, rounded: a time typed as 10:30 is stored as a fraction of a day.
    let moment = moment + chrono::Duration::milliseconds(500);
    let seconds = moment.and_utc().timestamp();
    let Some(moment) = chrono::DateTime::from_timestamp(seconds, 0).map(|m| m.naive_utc()) else {
        return number(days);
    };
    if moment.time() == chrono::NaiveTime::MIN {
        moment.format("%Y-%m-%d").to_string()
    } else {
        moment.format("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

/// `HH:MM:SS` for a number of seconds (hours past 24 for a duration).
fn clock(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let seconds = seconds.abs();
    format!(
        "{sign}{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// An OpenDocument date (`2024-01-05`) or date and time, to the second.
fn iso_date_time(iso: &str) -> String {
    let iso = iso.split('.').next().unwrap_or(iso);
    match iso.strip_suffix("T00:00:00") {
        Some(date) => date.to_string(),
        None => iso.to_string(),
    }
}

/// An OpenDocument time (`PT10H30M00S`) as `HH:MM:SS`; anything else as given.
fn iso_duration(iso: &str) -> String {
    let Some(rest) = iso.strip_prefix("PT").or_else(|| iso.strip_prefix("-PT")) else {
        return iso.to_string();
    };
    let mut seconds = 0.0;
    let mut number = String::new();
    for c in rest.chars() {
        let unit = match c {
            'H' => 3600.0,
            'M' => 60.0,
            'S' => 1.0,
            c if c.is_ascii_digit() || c == '.' => {
                number.push(c);
                continue;
            }
            _ => return iso.to_string(),
        };
        seconds += number.parse::<f64>().unwrap_or(0.0) * unit;
        number.clear();
    }
    let seconds = seconds.round() as i64;
    clock(if iso.starts_with('-') {
        -seconds
    } else {
        seconds
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, ExcelDateTimeType};

    #[test]
    fn cells_read_as_the_spreadsheet_shows_them() {
        assert_eq!(shown(&Data::Float(42.0)), "42");
        assert_eq!(shown(&Data::Float(4_740_000_001.0)), "4740000001");
        assert_eq!(shown(&Data::Float(0.1 + 0.2)), "0.3");
        assert_eq!(shown(&Data::Float(-2.5)), "-2.5");
        assert_eq!(shown(&Data::Int(7)), "7");
        assert_eq!(shown(&Data::String("007".into())), "007");
        assert_eq!(shown(&Data::Bool(true)), "true");
        assert_eq!(shown(&Data::Empty), "");
        assert_eq!(shown(&Data::Error(CellErrorType::NA)), "#N/A");
        let date = |value| {
            shown(&Data::DateTime(ExcelDateTime::new(
                value,
                ExcelDateTimeType::DateTime,
                false,
            )))
        };
        assert_eq!(date(45_296.0), "2024-01-05");
        assert_eq!(date(45_296.437_5), "2024-01-05T10:30:00");
        // Stored a hair below the second: still 10:30:00.
        assert_eq!(date(45_296.437_499_999), "2024-01-05T10:30:00");
        assert_eq!(date(0.75), "18:00:00");
        let duration = ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(shown(&Data::DateTime(duration)), "36:00:00");
        let in_1904 = ExcelDateTime::new(43_834.0, ExcelDateTimeType::DateTime, true);
        assert_eq!(shown(&Data::DateTime(in_1904)), "2024-01-05");
        assert_eq!(shown(&Data::DateTimeIso("2024-01-05".into())), "2024-01-05");
        assert_eq!(
            shown(&Data::DateTimeIso("2024-01-05T10:30:00.000".into())),
            "2024-01-05T10:30:00"
        );
        assert_eq!(shown(&Data::DurationIso("PT10H30M00S".into())), "10:30:00");
    }

    #[test]
    fn columns_have_letters() {
        let letters: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 701, 702]
            .into_iter()
            .map(column_letters)
            .collect();
        assert_eq!(
            letters,
            ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]
        );
    }

    /// A row as `(position, [(column, text)])`.
    type Shown = (String, Vec<(String, String)>);

    /// Runs cells `(row, column, text)` (0-based) through a grid; the rows, or the error's
    /// text.
    fn grid(cells: &[(u32, u32, &str)], header_row: Option<u64>) -> Result<Vec<Shown>, String> {
        let mut rows = Vec::new();
        let mut sink = |row: Row| {
            let cells = row
                .columns
                .iter()
                .map(|(name, value)| (name.to_string(), value.as_str().unwrap().to_string()))
                .collect();
            rows.push((row.position.to_string(), cells));
            Ok(())
        };
        let sheets = [sheet("S", SheetType::WorkSheet, SheetVisible::Visible)];
        let mut grid = Grid::new("x.xlsx", "S", &sheets, header_row, &mut sink);
        let result = cells
            .iter()
            .try_for_each(|(row, column, text)| grid.cell(*row, *column, text.to_string()))
            .and_then(|()| grid.finish());
        result.map_err(|e| e.to_string())?;
        Ok(rows)
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_table_may_start_below_and_right_of_a1_and_blank_rows_are_skipped() {
        let cells = [
            (1, 1, "id"),
            (1, 2, "name"),
            (2, 1, "1"),
            (3, 1, ""),
            (3, 2, ""),
            (4, 2, "Bo"),
            (4, 1, "2"),
        ];
        assert_eq!(
            grid(&cells, None).unwrap(),
            [
                ("x.xlsx:S:3".into(), pairs(&[("id", "1"), ("name", "")])),
                ("x.xlsx:S:5".into(), pairs(&[("id", "2"), ("name", "Bo")])),
            ]
        );
    }

    #[test]
    fn the_header_row_can_be_placed_and_must_be_there() {
        let cells = [(0, 0, "Export"), (2, 0, "id"), (3, 0, "7")];
        let rows = grid(&cells, Some(3)).unwrap();
        assert_eq!(rows, [("x.xlsx:S:4".into(), pairs(&[("id", "7")]))]);
        assert_eq!(
            grid(&cells, Some(2)).unwrap_err(),
            "x.xlsx:S:2: row 2 is blank, and `--header-row 2` says the header is there; give \
             the row the header is on"
        );
        assert!(grid(&cells, Some(9))
            .unwrap_err()
            .starts_with("x.xlsx:S:9: row 9 is blank"));
    }

    #[test]
    fn a_sheet_without_a_header_or_with_a_gap_in_it_is_an_error() {
        assert_eq!(
            grid(&[], None).unwrap_err(),
            "x.xlsx:S: the sheet is empty; expected a header row"
        );
        assert_eq!(
            grid(&[(0, 0, "id"), (0, 2, "name")], None).unwrap_err(),
            "x.xlsx:S:1: column B of the header has no name; name every column, or delete the \
             column"
        );
        assert_eq!(
            grid(&[(0, 0, "id"), (0, 1, "ID "), (0, 2, "id")], None).unwrap_err(),
            "x.xlsx:S:1: column `id` appears twice in the header (columns A and C); rename or \
             remove one of them"
        );
        assert!(grid(&[(0, 0, "id"), (3, 0, "1"), (2, 0, "2")], None)
            .unwrap_err()
            .starts_with("x.xlsx:S:3: this row comes after row 4 in the file"));
    }

    fn sheet(name: &str, typ: SheetType, visible: SheetVisible) -> Sheet {
        Sheet {
            name: name.into(),
            typ,
            visible,
        }
    }

    #[test]
    fn the_sheet_is_chosen_by_name_number_or_as_the_first_visible_worksheet() {
        let sheets = [
            sheet("Chart", SheetType::ChartSheet, SheetVisible::Visible),
            sheet("Lookup", SheetType::WorkSheet, SheetVisible::Hidden),
            sheet("Staff", SheetType::WorkSheet, SheetVisible::Visible),
        ];
        assert_eq!(choose("x.xlsx", &sheets, None).unwrap(), "Staff");
        assert_eq!(choose("x.xlsx", &sheets, Some("Lookup")).unwrap(), "Lookup");
        assert_eq!(choose("x.xlsx", &sheets, Some("staff")).unwrap(), "Staff");
        assert_eq!(choose("x.xlsx", &sheets, Some("2")).unwrap(), "Lookup");
        assert_eq!(
            choose("x.xlsx", &sheets, Some("People"))
                .unwrap_err()
                .to_string(),
            "x.xlsx: the workbook has no sheet `People`; its sheets are `Chart`, `Lookup`, \
             `Staff`: pass one of them to `--sheet`, or its number (1 to 3)"
        );
        assert!(choose("x.xlsx", &sheets, Some("4")).is_err());
        assert!(choose("x.xlsx", &sheets[..1], None).is_err());
    }
}
