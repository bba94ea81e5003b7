//! Small `.xlsx` workbooks for tests, written with rust_xlsxwriter: typed cells, named sheets.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

/// One cell as a spreadsheet holds it.
#[derive(Debug, Clone)]
pub enum Cell {
    /// Text, kept as typed (`007`).
    Text(&'static str),
    /// A number.
    Number(f64),
    /// `TRUE` or `FALSE`.
    Bool(bool),
    /// A date (`2024-01-05`) or a date and time (`2024-01-05 10:30:00`), formatted as one.
    Date(&'static str),
    /// Nothing.
    Empty,
}

/// An `.xlsx` file of `sheets`, each a name and rows of cells (row 1 first).
pub fn xlsx(sheets: &[(&str, Vec<Vec<Cell>>)]) -> Vec<u8> {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let date_time = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    for (name, rows) in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match cell {
                    Cell::Text(text) => {
                        sheet.write_string(r, c, *text).unwrap();
                    }
                    Cell::Number(n) => {
                        sheet.write_number(r, c, *n).unwrap();
                    }
                    Cell::Bool(b) => {
                        sheet.write_boolean(r, c, *b).unwrap();
                    }
                    Cell::Date(text) => {
                        let value = ExcelDateTime::parse_from_str(text).unwrap();
                        let format = if text.len() > 10 { &date_time } else { &date };
                        sheet
                            .write_datetime_with_format(r, c, &value, format)
                            .unwrap();
                    }
                    Cell::Empty => {}
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

/// An `.xlsx` file of one sheet, `Sheet1`, whose cells are the texts of a CSV file (a text
/// that is a whole number is written as a number, the way Excel takes it in).
pub fn xlsx_of_csv(csv: &str) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes());
    for (r, record) in reader.records().enumerate() {
        for (c, text) in record.unwrap().iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match text.parse::<i32>() {
                _ if text.is_empty() => {}
                Ok(n) => {
                    sheet.write_number(r, c, f64::from(n)).unwrap();
                }
                Err(_) => {
                    sheet.write_string(r, c, text).unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}
