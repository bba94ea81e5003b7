//! Revert plans: every user an apply touched, put back as it was before.

use serde_json::Value;

use crate::error::Result;
use crate::model::change::{self, Action, Change};
use crate::model::record::Record;
use crate::plan::outlet::Changes;
use crate::plan::settle::deletion;
use crate::plan::stored::StoredState;
use crate::plan::summary::Summary;

/// Puts back each user of `targets` (key, record before the apply, platform ids), as it was
/// before the apply: each change goes to `changes`, and the counts come back.
pub fn revert(
    state: &dyn StoredState,
    changes: &mut dyn Changes,
    apply_id: i64,
    targets: Vec<(String, Option<Record>, Option<Value>)>,
) -> Result<Summary> {
    let mut summary = Summary::default();
    let source = Some(format!("revert of apply {apply_id}"));
    for (key, target, ids) in targets {
        let current = state.get(&key)?;
        let change = match (current, target) {
            (None, None) => continue,
            (Some(current), None) => deletion(&key, current),
            (current, Some(target)) => {
                let before = current.as_ref().map(|c| &c.record);
                if before == Some(&target) {
                    summary.unchanged += 1;
                    continue;
                }
                Change {
                    action: if before.is_some() {
                        Action::Update
                    } else {
                        Action::Create
                    },
                    key: key.clone(),
                    source: source.clone(),
                    fields: change::difference(before, Some(&target)),
                    before: before.cloned(),
                    after: Some(target),
                    platform_ids: ids.or_else(|| current.and_then(|c| c.platform_ids)),
                }
            }
        };
        let change = Change {
            source: source.clone(),
            ..change
        };
        summary.count(change.action);
        changes.change(&change, None)?;
    }
    Ok(summary)
}
