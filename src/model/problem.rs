//! Problems: what is wrong with a row, in the spirit of the vendors' `dataPath` and `Errors[]`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::position::Position;

/// How bad a problem is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Severity {
    /// The row is rejected and left out of the plan.
    Error,
    /// The row goes on; the user should look.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses `error` or `warning`.
    pub fn parse(text: &str) -> Option<Severity> {
        text.parse().ok()
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one row (or with the input as a whole, when `position` is `None`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// Error (row rejected) or warning.
    pub severity: Severity,
    /// The user's key, when known.
    pub key: Option<String>,
    /// `file:line` of the row.
    #[serde(serialize_with = "serialize_position")]
    pub position: Option<Position>,
    /// The data path, e.g. `Users[12].email`.
    pub path: Option<String>,
    /// The canonical field (or source column) concerned.
    pub field: Option<String>,
    /// The rule that found it: `Required`, `Unique`, `Pattern`, `Min`, `Max`, `Lookup`,
    /// `Script`, `Type`, `Duplicate`, `Conflict`, `Missing`, `Column`...
    pub rule: String,
    /// What is wrong, for a person.
    pub message: String,
}

fn serialize_position<S: serde::Serializer>(
    position: &Option<Position>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match position {
        Some(p) => serializer.serialize_str(&p.to_string()),
        None => serializer.serialize_none(),
    }
}

impl Problem {
    /// An error at a row.
    pub fn error(rule: &str, message: impl Into<String>) -> Problem {
        Problem::new(Severity::Error, rule, message)
    }

    /// A warning at a row.
    pub fn warning(rule: &str, message: impl Into<String>) -> Problem {
        Problem::new(Severity::Warning, rule, message)
    }

    fn new(severity: Severity, rule: &str, message: impl Into<String>) -> Problem {
        Problem {
            severity,
            key: None,
            position: None,
            path: None,
            field: None,
            rule: rule.to_string(),
            message: message.into(),
        }
    }

    /// Names the field the problem is about.
    pub fn on_field(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    /// Places the problem at a row (its position, key and data path).
    pub fn at(mut self, position: &Position, key: Option<&str>) -> Problem {
        self.path = Some(match &self.field {
            Some(field) => format!("Users[{}].{}", position.index, field),
            None => format!("Users[{}]", position.index),
        });
        self.position = Some(position.clone());
        if self.key.is_none() {
            self.key = key.map(str::to_string);
        }
        self
    }
}
