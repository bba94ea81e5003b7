//! Rejections remembered by fingerprint, so a plan need not run the rules again on a row they
//! rejected before (see [`crate::plan::fingerprint`] for what a fingerprint covers).
//!
//! A row the rules reject never becomes a stored user, so its fingerprint names none; without
//! this it would be evaluated on every plan. What is remembered is only what the evaluation
//! itself said, and only when that alone rejects the row: its operation, its key and `Unique`
//! values (which still take part in the checks between rows, as any row's do) and its own
//! problems without their place. A later row with the fingerprint is rebuilt from it at its
//! own position and settled like an evaluated row: duplicate keys, `Unique` and the key's
//! place for `--sync` are worked out again on every plan. A row with unknown columns (warned
//! about only on the first row that has them) or a password (never stored) is not remembered.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::position::Position;
use crate::model::problem::{Problem, Severity};
use crate::model::user::{Field, Op, User};
use crate::rules::Evaluated;

/// What the rules said of a row that they reject on their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// The operation the row asks for.
    op: RememberedOp,
    /// The key and the `Unique` fields the rules made, by canonical name.
    fields: Map<String, Value>,
    /// The row's problems, in order, without their place.
    problems: Vec<UnplacedProblem>,
}

/// A problem of a row without its position and data path, which are the row's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UnplacedProblem {
    severity: Severity,
    key: Option<String>,
    field: Option<String>,
    rule: String,
    message: String,
}

impl Rejection {
    /// What to remember of `evaluated`, when it is a rejection the row's own evaluation
    /// decides: an error among its problems, or no key (an error too, see `settle.rs`).
    /// `kept` are the fields the checks between rows read (the key and the `Unique` fields).
    pub fn of(evaluated: &Evaluated, kept: &[Field]) -> Option<Rejection> {
        let rejected = evaluated.user.key().is_none()
            || evaluated
                .problems
                .iter()
                .any(|p| p.severity == Severity::Error);
        let remembered = rejected
            && evaluated.unknown_columns.is_empty()
            && !evaluated.user.has(Field::Password);
        if !remembered {
            return None;
        }
        let fields = kept
            .iter()
            .filter_map(|&field| {
                let value = evaluated.user.get(field)?;
                Some((field.name().to_string(), value.clone()))
            })
            .collect();
        let problems = evaluated
            .problems
            .iter()
            .map(|p| UnplacedProblem {
                severity: p.severity,
                key: p.key.clone(),
                field: p.field.clone(),
                rule: p.rule.clone(),
                message: p.message.clone(),
            })
            .collect();
        Some(Rejection {
            op: evaluated.op.into(),
            fields,
            problems,
        })
    }

    /// The evaluation of a row at `position` with this rejection's fingerprint: what the
    /// rules made of the row the rejection was taken from, placed at this one.
    pub fn evaluated(&self, position: &Position) -> Evaluated {
        let mut user = User::new();
        for (name, value) in &self.fields {
            // Checked by `from_json`.
            if let Some(field) = Field::from_name(name) {
                user.set(field, value.clone());
            }
        }
        let problems = self
            .problems
            .iter()
            .map(|p| {
                let unplaced = match p.severity {
                    Severity::Error => Problem::error(&p.rule, p.message.clone()),
                    Severity::Warning => Problem::warning(&p.rule, p.message.clone()),
                };
                let problem = Problem {
                    key: p.key.clone(),
                    field: p.field.clone(),
                    ..unplaced
                };
                problem.at(position, None)
            })
            .collect();
        Evaluated {
            op: self.op.into(),
            user,
            problems,
            ..Evaluated::default()
        }
    }

    /// The rejection as JSON text, as the workspace keeps it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("rejections serialise")
    }

    /// The rejection [`Rejection::to_json`] wrote.
    pub fn from_json(text: &str) -> serde_json::Result<Rejection> {
        let rejection: Rejection = serde_json::from_str(text)?;
        match rejection
            .fields
            .keys()
            .find(|name| Field::from_name(name).is_none())
        {
            Some(name) => Err(serde::de::Error::custom(format!(
                "`{name}` is not a canonical field"
            ))),
            None => Ok(rejection),
        }
    }
}

/// [`Op`] as a rejection keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RememberedOp {
    Create,
    Upsert,
    Delete,
}

impl From<Op> for RememberedOp {
    fn from(op: Op) -> RememberedOp {
        match op {
            Op::Create => RememberedOp::Create,
            Op::Upsert => RememberedOp::Upsert,
            Op::Delete => RememberedOp::Delete,
        }
    }
}

impl From<RememberedOp> for Op {
    fn from(op: RememberedOp) -> Op {
        match op {
            RememberedOp::Create => Op::Create,
            RememberedOp::Upsert => Op::Upsert,
            RememberedOp::Delete => Op::Delete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn at(line: u64) -> Position {
        Position {
            file: Arc::from("in.csv"),
            line,
            index: line - 2,
        }
    }

    fn evaluated(user: &[(Field, Value)], problems: Vec<Problem>, line: u64) -> Evaluated {
        let mut made = User::new();
        for (field, value) in user {
            made.set(*field, value.clone());
        }
        let key = made.key().map(str::to_string);
        Evaluated {
            op: Op::Create,
            user: made,
            problems: problems
                .into_iter()
                .map(|p| p.at(&at(line), key.as_deref()))
                .collect(),
            ..Evaluated::default()
        }
    }

    const KEPT: &[Field] = &[Field::ExternalId, Field::Email];

    #[test]
    fn a_rejection_placed_at_another_row_is_that_rows_evaluation() {
        let problems = || {
            vec![
                Problem::error("Required", "`email` is required").on_field("email"),
                Problem::warning("Script", "odd name"),
            ]
        };
        let user = [
            (Field::ExternalId, json!("u1")),
            (Field::Email, json!("")),
            (Field::FirstName, json!("Ann")),
        ];
        let first = evaluated(&user, problems(), 2);
        let rejection = Rejection::of(&first, KEPT).expect("rejected on its own");
        let text = rejection.to_json();
        let read = Rejection::from_json(&text).unwrap();
        let again = read.evaluated(&at(40));
        let expected = evaluated(&user[..2], problems(), 40);
        assert_eq!(again.op, expected.op);
        assert_eq!(again.user, expected.user);
        assert_eq!(again.problems, expected.problems);
        assert_eq!(again.problems[0].path.as_deref(), Some("Users[38].email"));
    }

    #[test]
    fn only_a_rejection_of_the_rows_own_is_remembered() {
        let error = || vec![Problem::error("Pattern", "bad")];
        let clean = evaluated(&[(Field::ExternalId, json!("u1"))], Vec::new(), 2);
        assert_eq!(Rejection::of(&clean, KEPT), None, "accepted");
        let warned = evaluated(
            &[(Field::ExternalId, json!("u1"))],
            vec![Problem::warning("Script", "hm")],
            2,
        );
        assert_eq!(Rejection::of(&warned, KEPT), None, "only warned");
        let keyless = evaluated(&[(Field::Email, json!("a@x"))], Vec::new(), 2);
        assert!(Rejection::of(&keyless, KEPT).is_some(), "no key");
        let with_password = evaluated(
            &[
                (Field::ExternalId, json!("u1")),
                (Field::Password, json!("s3cret!!")),
            ],
            error(),
            2,
        );
        assert_eq!(Rejection::of(&with_password, KEPT), None, "a password");
        let mut unknown = evaluated(&[(Field::ExternalId, json!("u1"))], error(), 2);
        unknown.unknown_columns.push("shoe size".into());
        assert_eq!(Rejection::of(&unknown, KEPT), None, "an unknown column");
    }
}
