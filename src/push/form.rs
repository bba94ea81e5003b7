//! The form a batch is sent in. Its body is what `export` writes, except where sending it
//! again must not do anything twice:
//! - once a ServicePower batch may have reached the vendor without an answer, its creates go
//!   as `CUD` 2 (update, or insert when missing), so a second send cannot create a user twice;
//! - a Field Squared batch sent without users the vendor refused is a new request, with a new
//!   `RequestId`; the same batch sent again keeps its `RequestId`, which the vendor answers
//!   once;
//! - eSystems upserts by key, so its batches are safe to send again as they are.

use serde_json::Value;

use crate::model::vendor::Vendor;
use crate::vendor::{fieldsquared, pretty};

/// What decides a batch's form.
#[derive(Debug, Clone, Copy)]
pub struct Form {
    /// The vendor.
    pub vendor: Vendor,
    /// The plan.
    pub plan_id: i64,
    /// The batch's place, from 0.
    pub seq: usize,
    /// How many times users were left out of it.
    pub revision: u32,
}

impl Form {
    /// The body as first sent.
    pub fn first(&self, body: Vec<u8>) -> Vec<u8> {
        if self.vendor != Vendor::FieldSquared || self.revision == 0 {
            return body;
        }
        let id = fieldsquared::request_id_of_revision(self.plan_id, self.seq + 1, self.revision);
        edit(body, |json| json["RequestId"] = Value::String(id))
    }

    /// The body to send again once an earlier send may have reached the vendor.
    pub fn again(&self, body: Vec<u8>) -> Vec<u8> {
        if self.vendor != Vendor::ServicePower {
            return body;
        }
        edit(body, |json| {
            let items = json
                .get_mut("Users")
                .and_then(Value::as_array_mut)
                .map(Vec::as_mut_slice)
                .unwrap_or_default();
            for item in items {
                if item.get("CUD").and_then(Value::as_u64) == Some(1) {
                    item["CUD"] = Value::from(2);
                }
            }
        })
    }
}

/// The body with `change` made to its JSON (a body that is not JSON is left as it is).
fn edit(body: Vec<u8>, change: impl FnOnce(&mut Value)) -> Vec<u8> {
    match serde_json::from_slice::<Value>(&body) {
        Ok(mut json) if json.is_object() => {
            change(&mut json);
            pretty(&json)
        }
        _ => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn servicepower_creates_go_as_cud_2_once_a_send_may_have_arrived() {
        let form = Form {
            vendor: Vendor::ServicePower,
            plan_id: 3,
            seq: 0,
            revision: 0,
        };
        let body =
            pretty(&json!({"Users": [{"UserID": "a", "CUD": 1}, {"UserID": "b", "CUD": 3}]}));
        assert_eq!(form.first(body.clone()), body);
        let again: Value = serde_json::from_slice(&form.again(body)).unwrap();
        assert_eq!(again["Users"][0]["CUD"], 2);
        assert_eq!(again["Users"][1]["CUD"], 3);
    }

    #[test]
    fn a_field_squared_batch_cut_down_is_a_new_request_and_the_same_one_again_is_not() {
        let form = |revision| Form {
            vendor: Vendor::FieldSquared,
            plan_id: 3,
            seq: 1,
            revision,
        };
        let body = pretty(
            &json!({"Workspace": "w", "Users": [], "RequestId": fieldsquared::request_id(3, 2)}),
        );
        assert_eq!(form(0).first(body.clone()), body);
        assert_eq!(form(0).again(body.clone()), body);
        let cut: Value = serde_json::from_slice(&form(1).first(body)).unwrap();
        assert_eq!(
            cut["RequestId"],
            fieldsquared::request_id_of_revision(3, 2, 1)
        );
        assert_ne!(cut["RequestId"], fieldsquared::request_id(3, 2));
    }
}
