//! Progress on stderr for the steps that can take more than a second, shown only on a
//! terminal and never with `-q`, so pipes and logs stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress indicator that may be hidden.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// No progress shown (for library callers and tests).
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }

    /// Whether progress should be drawn: stderr is a terminal and the user did not ask for quiet.
    pub fn wanted(quiet: bool) -> bool {
        !quiet && std::io::stderr().is_terminal()
    }

    /// A counter of rows for a step whose total is unknown (reading a stream).
    pub fn counter(label: &str, shown: bool) -> Progress {
        Progress::make(
            shown,
            None,
            &format!("{{spinner}} {label}: {{human_pos}} rows ({{elapsed}})"),
        )
    }

    /// A bar for a step with a known number of items.
    pub fn bar(label: &str, total: u64, shown: bool) -> Progress {
        Progress::make(
            shown,
            Some(total),
            &format!("{label} [{{bar:30}}] {{human_pos}}/{{human_len}} ({{eta}} left)"),
        )
    }

    /// A bar for a step with a known number of items, followed by a status line
    /// ([`Progress::status`]).
    pub fn bar_with_status(label: &str, total: u64, shown: bool) -> Progress {
        Progress::make(
            shown,
            Some(total),
            &format!("{label} [{{bar:30}}] {{human_pos}}/{{human_len}} {{msg}}"),
        )
    }

    fn make(shown: bool, total: Option<u64>, template: &str) -> Progress {
        if !shown {
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template(template).expect("the template is valid"));
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar: Some(bar) }
    }

    /// Counts `n` more items done.
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Sets the status line after the bar.
    pub fn status(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_string());
        }
    }

    /// Removes the indicator.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
