//! What a vendor's final answer to a batch means for the push: the batch is settled (the
//! vendor's word on each user), cut (refused because of users it names, who are left out so
//! the others can be sent again), or failed as a whole. The answers are read by the same
//! parsers as `roster results`.

use serde_json::Value;

use crate::model::vendor::{Status, Vendor};
use crate::vendor::results::Outcome;
use crate::vendor::{esystems, fieldsquared, servicepower};

/// What an answer decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The vendor's word on each user sent, in order.
    Settled(Vec<Outcome>),
    /// Refused because of the users `rejected` names: send the others again without them.
    /// `delivered` are creates the vendor has already, from an earlier send of this push.
    Cut {
        rejected: Vec<Outcome>,
        delivered: Vec<Outcome>,
    },
    /// Refused as a whole, naming no user.
    Failed(String),
}

/// The batch an answer is for.
pub struct Sent<'a> {
    /// The users sent, in order (`Users[i]` is `keys[i]`).
    pub keys: &'a [String],
    /// For each user sent, whether the plan creates it.
    pub creates: &'a [bool],
    /// Whether an earlier send of the batch may have reached the vendor.
    pub maybe_delivered: bool,
}

/// What an answer (not 401/403, not one worth retrying) means for the batch sent. A conflict
/// on a create this push may have sent before counts as delivered.
pub fn verdict(vendor: Vendor, status: u16, body: &str, sent: &Sent) -> Verdict {
    let json = if body.trim().is_empty() {
        Some(Value::Object(Default::default()))
    } else {
        serde_json::from_str::<Value>(body).ok()
    };
    let Some(json) = json else {
        let shown: String = body.chars().take(200).collect();
        return if (200..300).contains(&status) {
            Verdict::Settled(accepted(sent.keys.len()))
        } else {
            Verdict::Failed(format!("the vendor answered {status}: {shown}"))
        };
    };
    let mut outcomes = match vendor {
        Vendor::ServicePower => servicepower::outcomes(&json, sent.keys),
        Vendor::ESystems => esystems::outcomes(&json, sent.keys),
        Vendor::FieldSquared => fieldsquared::outcomes(&json, sent.keys),
    };
    let refused = |o: &Outcome| matches!(o.status, Status::Rejected | Status::Failed);
    if status >= 400 && !outcomes.iter().any(refused) {
        for outcome in &mut outcomes {
            outcome.status = Status::Failed;
            outcome.message = format!("the vendor answered {status}");
        }
    }
    let mut delivered = Vec::new();
    for outcome in &mut outcomes {
        let ours = sent.maybe_delivered && sent.creates.get(outcome.index) == Some(&true);
        if outcome.status == Status::Rejected && outcome.conflict && ours {
            outcome.status = Status::Accepted;
            outcome.message = format!(
                "created by an earlier send of this push (the vendor answered: {})",
                outcome.message
            );
            delivered.push(outcome.clone());
        }
    }
    let failed = outcomes.iter().find(|o| o.status == Status::Failed);
    match failed {
        None => Verdict::Settled(outcomes),
        Some(failed) => {
            let rejected: Vec<Outcome> = outcomes
                .iter()
                .filter(|o| o.status == Status::Rejected)
                .cloned()
                .collect();
            if rejected.is_empty() && delivered.is_empty() {
                Verdict::Failed(failed.message.clone())
            } else {
                Verdict::Cut {
                    rejected,
                    delivered,
                }
            }
        }
    }
}

fn accepted(count: usize) -> Vec<Outcome> {
    crate::vendor::results::complete(Vec::new(), None, &vec![String::new(); count])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys() -> Vec<String> {
        ["a", "b", "c"].map(String::from).to_vec()
    }

    #[test]
    fn named_users_cut_the_batch_and_a_bare_refusal_fails_it() {
        let keys = keys();
        let sent = Sent {
            keys: &keys,
            creates: &[true, true, true],
            maybe_delivered: false,
        };
        let body =
            json!({"code": 400, "detail": {"message": "bad e-mail", "dataPath": "Users[1].Email"}});
        let Verdict::Cut {
            rejected,
            delivered,
        } = verdict(Vendor::ServicePower, 400, &body.to_string(), &sent)
        else {
            panic!("not cut")
        };
        assert_eq!(
            (rejected.len(), rejected[0].index, delivered.len()),
            (1, 1, 0)
        );
        assert!(matches!(
            verdict(Vendor::ServicePower, 400, "{\"code\": 400}", &sent),
            Verdict::Failed(m) if m.contains("400")
        ));
        assert!(matches!(
            verdict(Vendor::FieldSquared, 422, "", &sent),
            Verdict::Failed(m) if m.contains("422")
        ));
        let Verdict::Settled(all) = verdict(Vendor::FieldSquared, 200, "", &sent) else {
            panic!("not settled")
        };
        assert!(all.iter().all(|o| o.status == Status::Accepted));
    }

    #[test]
    fn a_conflict_on_a_create_this_push_may_have_sent_counts_as_delivered() {
        let keys = keys();
        let conflict = json!([
            {"code": 409, "detail": {"message": "User a already exists", "dataPath": "Users[0].UserID"}},
            {"code": 409, "detail": {"message": "User b already exists", "dataPath": "Users[1].UserID"}}
        ]);
        let maybe = Sent {
            keys: &keys,
            creates: &[true, false, true],
            maybe_delivered: true,
        };
        let Verdict::Cut {
            rejected,
            delivered,
        } = verdict(Vendor::ServicePower, 409, &conflict.to_string(), &maybe)
        else {
            panic!("not cut")
        };
        assert_eq!(delivered.len(), 1);
        assert_eq!(delivered[0].index, 0);
        assert_eq!(delivered[0].status, Status::Accepted);
        // `b` is an update: its conflict is the vendor's verdict.
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].index, 1);
        let first_send = Sent {
            maybe_delivered: false,
            ..maybe
        };
        let Verdict::Cut { delivered, .. } = verdict(
            Vendor::ServicePower,
            409,
            &conflict.to_string(),
            &first_send,
        ) else {
            panic!("not cut")
        };
        assert!(delivered.is_empty());
    }
}
