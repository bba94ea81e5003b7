//! What a vendor said about each user of an exported batch, whatever the vendor's response
//! shape: the per-vendor parsers produce [`Outcome`]s, one per key of the batch.

use crate::model::vendor::Status;

/// The vendor's word on one item of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The item's index in the batch (`Users[index]`).
    pub index: usize,
    /// How it went.
    pub status: Status,
    /// Where in the item, as the vendor said (`Users[3].Email`).
    pub path: Option<String>,
    /// The vendor's message (empty when accepted).
    pub message: String,
    /// Whether the vendor named the user because it exists already (a create's conflict).
    pub conflict: bool,
}

impl Outcome {
    /// An outcome for an item the vendor named: rejected when `error`, else a warning.
    pub fn named(index: usize, error: bool, path: &str, message: &str) -> Outcome {
        Outcome {
            index,
            status: if error {
                Status::Rejected
            } else {
                Status::Warning
            },
            path: (!path.is_empty()).then(|| path.to_string()),
            message: message.to_string(),
            conflict: false,
        }
    }
}

/// One outcome per key: the named ones (several for one item are joined), the rest failed
/// with `failure` when the batch failed, else accepted.
pub fn complete(named: Vec<Outcome>, failure: Option<String>, keys: &[String]) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = (0..keys.len())
        .map(|index| match &failure {
            Some(message) => Outcome {
                index,
                status: Status::Failed,
                path: None,
                message: message.clone(),
                conflict: false,
            },
            None => Outcome {
                index,
                status: Status::Accepted,
                path: None,
                message: String::new(),
                conflict: false,
            },
        })
        .collect();
    let mut seen = vec![false; keys.len()];
    for outcome in named {
        let slot = &mut outcomes[outcome.index];
        if seen[outcome.index] {
            if outcome.status == Status::Rejected {
                slot.status = Status::Rejected;
            }
            slot.conflict |= outcome.conflict;
            slot.message = format!("{}; {}", slot.message, outcome.message);
        } else {
            *slot = outcome;
            seen[slot.index] = true;
        }
    }
    outcomes
}

/// The item index of a data path into a batch: `Users[3].Email` → 3.
pub fn item_index(path: &str) -> Option<usize> {
    let rest = path.trim_start_matches('$').trim_start_matches('.');
    let rest = rest.strip_prefix("Users[")?;
    rest[..rest.find(']')?].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_paths_point_into_the_users_array() {
        assert_eq!(item_index("Users[3].Email"), Some(3));
        assert_eq!(item_index("$.Users[12]"), Some(12));
        assert_eq!(item_index("Email"), None);
        assert_eq!(item_index("Users[x]"), None);
    }

    #[test]
    fn several_messages_for_one_item_are_joined() {
        let keys = vec!["a".to_string()];
        let named = vec![
            Outcome::named(0, false, "Users[0].SMS", "deprecated"),
            Outcome::named(0, true, "Users[0].Email", "bad e-mail"),
        ];
        let outcomes = complete(named, None, &keys);
        assert_eq!(outcomes[0].status, Status::Rejected);
        assert_eq!(outcomes[0].message, "deprecated; bad e-mail");
    }
}
