//! Field Squared: `POST /{Workspace}/UserImport` with `{"Workspace", "Users", "RequestId"}`.
//!
//! - A `RequestId` seen before gets the answer it got then, and changes nothing: a request
//!   sent twice imports once (unless `--forget-request-ids`).
//! - Users are matched by `ObjectId` when given (it must exist), else by `ExternalId`; a new
//!   one gets an `ObjectId`. `Enabled: false` deactivates; nothing deletes.
//! - A batch is all or nothing: refused users are named in the ServiceStack shape
//!   `{"ResponseStatus": {"ErrorCode", "Message", "Errors": [{"ErrorCode", "FieldName",
//!   "Message"}]}}` with `FieldName` `Users[i].…`, and nothing is stored.

use std::collections::HashSet;

use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::faults::Injector;
use super::store::{self, Stored};

const VENDOR: &str = "fieldsquared";

/// The vendor's error body.
pub(super) fn error(code: &str, message: &str, errors: Vec<Value>) -> Value {
    json!({"ResponseStatus": {"ErrorCode": code, "Message": message, "Errors": errors}})
}

fn field_error(code: &str, field: String, message: String) -> Value {
    json!({"ErrorCode": code, "FieldName": field, "Message": message})
}

/// Handles one import into `workspace`.
pub(super) fn import(
    conn: &Connection,
    faults: &Injector,
    workspace: &str,
    body: &[u8],
) -> rusqlite::Result<(u16, Value)> {
    let body: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(body)) => body,
        _ => {
            return Ok((
                400,
                error(
                    "SerializationException",
                    "the body is not a UserImport object",
                    Vec::new(),
                ),
            ))
        }
    };
    if body.get("Workspace").and_then(Value::as_str) != Some(workspace) {
        return Ok((
            400,
            error(
                "ValidationException",
                "`Workspace` in the body must be the workspace of the path",
                Vec::new(),
            ),
        ));
    }
    let request_id = body
        .get("RequestId")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(id) = request_id
        .as_deref()
        .filter(|_| !faults.forgets_request_ids())
    {
        if let Some((status, answer)) = store::answer_to(conn, id)? {
            return Ok((status, serde_json::from_str(&answer).unwrap_or(Value::Null)));
        }
    }
    let (status, answer) = apply(conn, faults, workspace, body)?;
    if let Some(id) = &request_id {
        store::remember(conn, id, status, &answer.to_string())?;
    }
    Ok((status, answer))
}

fn apply(
    conn: &Connection,
    faults: &Injector,
    workspace: &str,
    mut body: Map<String, Value>,
) -> rusqlite::Result<(u16, Value)> {
    let Some(Value::Array(items)) = body.remove("Users") else {
        return Ok((
            400,
            error("ValidationException", "`Users` is required", Vec::new()),
        ));
    };
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let external = item["ExternalId"].as_str().filter(|e| !e.is_empty());
        let Some(external) = external else {
            errors.push(field_error(
                "NotEmpty",
                format!("Users[{i}].ExternalId"),
                "'External Id' must not be empty.".into(),
            ));
            continue;
        };
        if !seen.insert(external) {
            errors.push(field_error(
                "Duplicate",
                format!("Users[{i}].ExternalId"),
                format!("user {external} appears twice in the request"),
            ));
        }
        if let Some(object_id) = item["ObjectId"].as_str().filter(|o| !o.is_empty()) {
            if store::get_by_id(conn, VENDOR, object_id)?.is_none() {
                errors.push(field_error(
                    "NotFound",
                    format!("Users[{i}].ObjectId"),
                    format!("user {external}: there is no user with this ObjectId"),
                ));
            }
        }
        if item["Email"]
            .as_str()
            .is_some_and(|e| faults.rejects_email(e))
        {
            errors.push(field_error(
                "Rejected",
                format!("Users[{i}].Email"),
                format!("user {external}: the e-mail domain is refused"),
            ));
        }
    }
    if !errors.is_empty() {
        let message = format!("{} user(s) refused; nothing was imported", errors.len());
        return Ok((400, error("ValidationException", &message, errors)));
    }
    let mut imported = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(mut item) = item else {
            continue;
        };
        item.remove("Password");
        let external = item["ExternalId"].as_str().unwrap_or_default().to_string();
        let existing = match item
            .get("ObjectId")
            .and_then(Value::as_str)
            .filter(|o| !o.is_empty())
        {
            Some(object_id) => store::get_by_id(conn, VENDOR, object_id)?,
            None => store::get(conn, VENDOR, &external)?,
        };
        let created = existing.is_none();
        let (object_id, mut object) = match existing {
            Some(Stored { key, id, object }) => {
                if key != external {
                    store::delete(conn, VENDOR, &key)?;
                }
                (
                    id.unwrap_or_default(),
                    object.as_object().cloned().unwrap_or_default(),
                )
            }
            None => (
                format!("{:024x}", store::next_id(conn, VENDOR)?),
                Map::new(),
            ),
        };
        object.extend(item);
        object.insert("ObjectId".into(), json!(object_id));
        object.insert("Workspace".into(), json!(workspace));
        imported.push(json!({"ExternalId": external, "ObjectId": object_id}));
        store::put(
            conn,
            VENDOR,
            &Stored {
                key: external,
                id: Some(object_id),
                object: Value::Object(object),
            },
            None,
            created,
        )?;
    }
    Ok((200, json!({"Users": imported, "ResponseStatus": {}})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::Faults;
    use crate::emulator::store::Store;

    fn send(store: &Store, faults: &Injector, body: Value) -> (u16, Value) {
        store
            .transaction(|conn| import(conn, faults, "acme", body.to_string().as_bytes()))
            .unwrap()
    }

    #[test]
    fn a_request_id_imports_once_and_refusals_name_users() {
        let store = Store::open(None).unwrap();
        let faults = Injector::new(Faults {
            reject_email_domain: vec!["blocked.example".into()],
            ..Faults::default()
        });
        let body = json!({"Workspace": "acme", "RequestId": "r1",
            "Users": [{"ExternalId": "T1", "Name": "Ada"}]});
        let first = send(&store, &faults, body.clone());
        assert_eq!(first.0, 200);
        assert_eq!(send(&store, &faults, body), first);
        let (_, creates) = store.dump(VENDOR).unwrap();
        assert_eq!(creates["T1"], 1);
        let (status, answer) = send(
            &store,
            &faults,
            json!({"Workspace": "acme", "RequestId": "r2",
            "Users": [{"ExternalId": "T2"}, {"ExternalId": "T3", "Email": "x@blocked.example"}]}),
        );
        assert_eq!(status, 400);
        assert_eq!(
            answer["ResponseStatus"]["Errors"][0]["FieldName"],
            "Users[1].Email"
        );
        assert_eq!(store.dump(VENDOR).unwrap().0.len(), 1);

        let forgetful = Injector::new(Faults {
            forget_request_ids: true,
            ..Faults::default()
        });
        let again = json!({"Workspace": "acme", "RequestId": "r1", "Users": [{"ExternalId": "T1", "Name": "Bo"}]});
        assert_eq!(send(&store, &forgetful, again).0, 200);
        let (users, creates) = store.dump(VENDOR).unwrap();
        assert_eq!((users[0]["Name"].as_str(), creates["T1"]), (Some("Bo"), 1));
    }
}
