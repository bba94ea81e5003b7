//! The summary chart's geometry: one horizontal bar per outcome, drawn by the HTML template
//! as inline SVG. Numbers only; the template escapes nothing it gets from here but labels.

use serde::Serialize;

use crate::store::plans::Summary;

/// The chart's width, in SVG units (pixels at 100%).
const WIDTH: u32 = 640;
/// Room on the left for the labels.
const LABEL: u32 = 110;
/// Room on the right for the figures.
const FIGURE: u32 = 90;
/// One bar's row.
const ROW: u32 = 28;
/// A bar's thickness.
const BAR: u32 = 18;
/// The longest bar drawn as text.
const TEXT_BAR: usize = 24;

/// A bar chart of a plan's outcomes.
#[derive(Debug, Serialize)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub label_x: u32,
    pub bars: Vec<Bar>,
}

/// One bar: its label, figure and box.
#[derive(Debug, Serialize)]
pub struct Bar {
    pub label: &'static str,
    /// A CSS class naming the outcome (its colour).
    pub class: &'static str,
    pub value: u64,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    /// Where the label and figure sit (their baseline).
    pub text_y: u32,
    pub figure_x: u32,
    /// The bar as text (`█` blocks, at most [`TEXT_BAR`]), for Markdown.
    pub text: String,
}

/// The chart of a plan's counts: create, update, delete, unchanged, rejected.
pub(super) fn bars(summary: &Summary) -> Chart {
    let outcomes = [
        ("create", "create", summary.create),
        ("update", "update", summary.update),
        ("delete", "delete", summary.delete),
        ("unchanged", "unchanged", summary.unchanged),
        ("rejected", "rejected", summary.error),
    ];
    let most = outcomes
        .iter()
        .map(|(_, _, n)| *n)
        .max()
        .unwrap_or(0)
        .max(1);
    let room = WIDTH - LABEL - FIGURE;
    let bars = outcomes
        .iter()
        .enumerate()
        .map(|(i, (label, class, value))| {
            let y = i as u32 * ROW + (ROW - BAR) / 2;
            // A bar of a non-zero count is never thinner than a hairline.
            let share = *value as f64 / most as f64;
            let width = match value {
                0 => 0,
                _ => (share * room as f64).round().max(2.0) as u32,
            };
            let blocks = match value {
                0 => 0,
                _ => ((share * TEXT_BAR as f64).round() as usize).max(1),
            };
            Bar {
                label,
                class,
                value: *value,
                x: LABEL,
                y,
                width,
                height: BAR,
                text_y: y + BAR - 4,
                figure_x: LABEL + width + 6,
                text: "█".repeat(blocks),
            }
        })
        .collect();
    Chart {
        width: WIDTH,
        height: outcomes.len() as u32 * ROW,
        label_x: LABEL - 8,
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_count_and_zero_draws_nothing() {
        let summary = Summary {
            create: 200_000,
            update: 1,
            error: 50_000,
            ..Summary::default()
        };
        let chart = bars(&summary);
        let widths: Vec<u32> = chart.bars.iter().map(|b| b.width).collect();
        assert_eq!(widths, [440, 2, 0, 0, 110]);
        assert!(chart.bars.iter().all(|b| b.figure_x + 60 < chart.width));
        let texts: Vec<usize> = chart.bars.iter().map(|b| b.text.chars().count()).collect();
        assert_eq!(texts, [24, 1, 0, 0, 6]);
        let empty = bars(&Summary::default());
        assert!(empty.bars.iter().all(|b| b.width == 0));
    }
}
