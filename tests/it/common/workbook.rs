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

/// An `.xlsx` put together from the XML of its one sheet and of its shared strings, for
/// workbooks no spreadsheet program would write.
pub fn xlsx_of_xml(sheet: &str, strings: &str) -> Vec<u8> {
    use std::io::Write;
    const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
    const DOC: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let parts = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#.to_string()),
        ("_rels/.rels", format!(r#"<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#)),
        ("xl/workbook.xml", format!(r#"<workbook xmlns="{MAIN}" xmlns:r="{DOC}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#)),
        ("xl/_rels/workbook.xml.rels", format!(r#"<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{DOC}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#)),
        ("xl/worksheets/sheet1.xml", sheet.to_string()),
        ("xl/sharedStrings.xml", strings.to_string()),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in parts {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}
