//! Fitting a table to the terminal: the widest columns give way first, and each line of a
//! cell wraps on its own (at a space when one is near), so a cell's lines never run into
//! each other.

use tabled::settings::width::Wrap;

/// Narrowest a column is made.
const MIN_COLUMN: usize = 6;

/// What the sharp style adds around `columns` columns: `│ ` before each, ` │` after the last.
fn frame(columns: usize) -> usize {
    3 * columns + 1
}

/// The cells of `records` (the header first) wrapped so that the table is at most `width`
/// characters wide, as far as columns can narrow (to six characters).
pub fn fit(mut records: Vec<Vec<String>>, width: usize) -> Vec<Vec<String>> {
    let columns = records.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in &records {
        for (c, cell) in row.iter().enumerate() {
            let widest = cell.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            widths[c] = widths[c].max(widest);
        }
    }
    let budget = width.saturating_sub(frame(columns));
    let natural = widths.clone();
    while widths.iter().sum::<usize>() > budget {
        let Some(widest) = (0..columns).max_by_key(|&c| widths[c]) else {
            break;
        };
        if widths[widest] <= MIN_COLUMN {
            break;
        }
        widths[widest] -= 1;
    }
    for row in &mut records {
        for (c, cell) in row.iter_mut().enumerate() {
            if widths[c] < natural[c] {
                *cell = wrap(cell, widths[c]);
            }
        }
    }
    records
}

/// Each line of `cell` wrapped to `width` characters.
fn wrap(cell: &str, width: usize) -> String {
    cell.lines()
        .map(|line| match line.chars().count() > width {
            true => Wrap::wrap(line, width, true),
            false => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn the_widest_column_wraps_line_by_line() {
        let records = vec![
            row(&["key", "changes"]),
            row(&[
                "u1",
                "email = a@x.example\nnote = a long value that goes on and on",
            ]),
        ];
        let fitted = fit(records, 30);
        assert_eq!(fitted[1][0], "u1");
        for line in fitted[1][1].lines() {
            assert!(line.chars().count() <= 30 - frame(2) - 3, "{line}");
        }
        assert!(
            fitted[1][1].starts_with("email = a@x.example\n"),
            "{}",
            fitted[1][1]
        );
    }

    #[test]
    fn a_table_that_fits_is_left_alone() {
        let records = vec![row(&["key", "changes"]), row(&["u1", "a = b\nc = d"])];
        assert_eq!(fit(records.clone(), 80), records);
    }
}
