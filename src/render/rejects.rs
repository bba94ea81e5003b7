//! The rejects file: the rejected source rows as they came (the source's columns and cells,
//! in input order) plus what rejected each, for the customer to fix in a spreadsheet and
//! send back to be planned again.
//!
//! It is CSV in UTF-8 with a byte-order mark, so Excel reads it right. A cell that a
//! spreadsheet would take for a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
//! carriage return) gets a `'` in front (OWASP's advice against CSV injection), and the row's
//! `roster_neutralised` cell lists those columns, so that reading the file back takes off
//! exactly those prefixes (see [`crate::read::rejects`]): `-5` and `+47 400 00 001` survive
//! the round trip. Password cells are never written: a column that held one is left out.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::read::rejects::{COLUMNS, NEUTRALISER};
use crate::store::plans::StoredReject;

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// What the byte-order mark tells Excel: this is UTF-8.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// Visits rejected rows in input order; called once per pass over them.
pub type Rows<'a> = dyn FnMut(&mut dyn FnMut(&StoredReject) -> Result<()>) -> Result<()> + 'a;

/// Writes the rejects file to `out` (for messages, the file is `path`): `rows` is run twice,
/// once to learn the columns, once to write. Returns how many rows it wrote.
pub fn write(path: &Path, out: &mut dyn Write, rows: &mut Rows) -> Result<u64> {
    let write_error = |e: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source: e,
    };
    let columns = Columns::of(rows)?;
    out.write_all(BOM).map_err(write_error)?;
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let header = columns
        .names
        .iter()
        .map(|name| escape_name(name))
        .chain(COLUMNS.iter().map(|name| name.to_string()));
    csv.write_record(header)
        .map_err(|e| write_error(e.into()))?;
    let mut written = 0;
    rows(&mut |row| {
        csv.write_record(columns.line(row))
            .map_err(|e| write_error(e.into()))?;
        written += 1;
        Ok(())
    })?;
    csv.flush().map_err(write_error)?;
    Ok(written)
}

/// The source columns of the rejected rows: every column of any row, in the order first
/// seen, less those that held a password in any row.
struct Columns {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Columns {
    fn of(rows: &mut Rows) -> Result<Columns> {
        let mut all = Columns {
            names: Vec::new(),
            index: HashMap::new(),
        };
        let mut withheld = Vec::new();
        rows(&mut |row| {
            for (name, cell) in &row.cells {
                if !all.index.contains_key(name) {
                    all.index.insert(name.clone(), all.names.len());
                    all.names.push(name.clone());
                }
                if cell.is_none() && !withheld.contains(name) {
                    withheld.push(name.clone());
                }
            }
            Ok(())
        })?;
        all.names.retain(|name| !withheld.contains(name));
        all.index = all
            .names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i))
            .collect();
        Ok(all)
    }

    /// One row of the file: the source's cells (neutralised), then roster's columns.
    fn line(&self, row: &StoredReject) -> Vec<String> {
        let mut cells = vec![String::new(); self.names.len()];
        let mut neutralised = Vec::new();
        for (name, cell) in &row.cells {
            let (Some(&i), Some(text)) = (self.index.get(name), cell) else {
                continue;
            };
            cells[i] = match neutralise(text) {
                Some(safe) => {
                    neutralised.push(name.as_str());
                    safe
                }
                None => text.clone(),
            };
        }
        let rules = distinct(row.problems.iter().map(|p| p.rule.as_str()));
        let fields = distinct(row.problems.iter().filter_map(|p| p.field.as_deref()));
        let messages: Vec<&str> = row.problems.iter().map(|p| p.message.as_str()).collect();
        let listed = match neutralised.is_empty() {
            true => String::new(),
            false => serde_json::to_string(&neutralised).expect("names serialise"),
        };
        // Roster's own columns are dropped when the file is read back: neutralised, unlisted.
        let ours = [
            row.source.clone(),
            rules,
            fields,
            messages.join("; "),
            listed,
        ]
        .map(|text| neutralise(&text).unwrap_or(text));
        cells.extend(ours);
        cells
    }
}

/// The items once each, in order, joined with `; `.
fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen.join("; ")
}

/// `text` with a `'` in front when a spreadsheet would take it for a formula.
fn neutralise(text: &str) -> Option<String> {
    text.starts_with(FORMULA_STARTS)
        .then(|| format!("{NEUTRALISER}{text}"))
}

/// A source column's name in the header: one more `'` in front when it starts with a `'` or
/// a formula character, which the reader always takes off.
fn escape_name(name: &str) -> String {
    match name.starts_with(FORMULA_STARTS) || name.starts_with(NEUTRALISER) {
        true => format!("{NEUTRALISER}{name}"),
        false => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::problem::Severity;
    use crate::store::plans::StoredProblem;

    fn problem(rule: &str, field: Option<&str>, message: &str) -> StoredProblem {
        StoredProblem {
            severity: Severity::Error,
            key: None,
            source: None,
            path: None,
            field: field.map(str::to_string),
            rule: rule.to_string(),
            message: message.to_string(),
        }
    }

    fn reject(
        source: &str,
        cells: &[(&str, Option<&str>)],
        problems: Vec<StoredProblem>,
    ) -> StoredReject {
        StoredReject {
            source: source.to_string(),
            key: None,
            cells: cells
                .iter()
                .map(|(n, c)| (n.to_string(), c.map(str::to_string)))
                .collect(),
            problems,
        }
    }

    fn written(rejects: &[StoredReject]) -> String {
        let mut out = Vec::new();
        let n = write(Path::new("r.csv"), &mut out, &mut |visit| {
            rejects.iter().try_for_each(&mut *visit)
        })
        .unwrap();
        assert_eq!(n, rejects.len() as u64);
        assert!(out.starts_with(BOM));
        String::from_utf8(out[BOM.len()..].to_vec()).unwrap()
    }

    #[test]
    fn rows_keep_their_columns_and_order_and_say_what_rejected_them() {
        let text = written(&[
            reject(
                "a.csv:3",
                &[("id", Some("u1")), ("email", Some("x")), ("pw", None)],
                vec![
                    problem("Pattern", Some("email"), "`x` is not an e-mail"),
                    problem("Required", Some("name"), "name is missing"),
                ],
            ),
            reject(
                "b.csv:2",
                &[("id", Some("u2")), ("note", Some("=1+1"))],
                vec![problem("Script", None, "-5 is too low")],
            ),
        ]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "id,email,note,roster_source,roster_rule,roster_field,roster_message,roster_neutralised"
        );
        assert_eq!(
            lines[1],
            "u1,x,,a.csv:3,Pattern; Required,email; name,`x` is not an e-mail; name is missing,"
        );
        assert_eq!(
            lines[2],
            r#"u2,,'=1+1,b.csv:2,Script,,'-5 is too low,"[""note""]""#
        );
        assert_eq!(lines[3], "");
    }

    #[test]
    fn every_formula_start_is_neutralised() {
        for start in ["=", "+", "-", "@", "\t", "\r"] {
            let text = format!("{start}x");
            assert_eq!(neutralise(&text), Some(format!("'{text}")));
        }
        assert_eq!(neutralise("'t Hooft"), None);
        assert_eq!(neutralise("ok=1"), None);
        assert_eq!(escape_name("=a"), "'=a");
        assert_eq!(escape_name("'a"), "''a");
        assert_eq!(escape_name("a"), "a");
    }
}
