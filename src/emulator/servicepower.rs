//! ServicePower ServiceMobility: the bulk Users endpoint (`CUD` 1 insert, 2 update or
//! insert, 3 delete) and the single User Object read back.
//!
//! A batch is all or nothing: a user the emulator refuses (a create of an existing user is a
//! 409 conflict; a refused e-mail domain, a missing `UserID` or `CUD` a 400) is named by its
//! `dataPath` and nothing of the batch is stored. Deleting a missing user is a soft warning
//! in a 200 answer.

use std::collections::HashSet;

use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::faults::Injector;
use super::store::{self, Stored};

const VENDOR: &str = "servicepower";

/// The answer body in the vendor's shape `{code, detail: {message, params, dataPath}}`.
pub(super) fn answer(code: u16, message: &str, data_path: &str, params: Value) -> Value {
    json!({"code": code, "detail": {"message": message, "params": params, "dataPath": data_path}})
}

/// `POST /seiapi/v3/bulk/Users`.
pub(super) fn bulk(
    conn: &Connection,
    faults: &Injector,
    body: &[u8],
) -> rusqlite::Result<(u16, Value)> {
    let items = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut body)) => match body.remove("Users") {
            Some(Value::Array(items)) => items,
            _ => {
                return Ok((
                    400,
                    answer(400, "the body has no `Users` array", "Users", json!({})),
                ))
            }
        },
        Ok(_) => {
            return Ok((
                400,
                answer(400, "the body is not a JSON object", "", json!({})),
            ))
        }
        Err(e) => {
            return Ok((
                400,
                answer(400, &format!("the body is not JSON: {e}"), "", json!({})),
            ))
        }
    };
    let mut errors = Vec::new();
    let mut conflicts = 0;
    let mut seen = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let user_id = item["UserID"].as_str().filter(|id| !id.is_empty());
        let Some(user_id) = user_id else {
            errors.push(answer(
                400,
                "UserID is required",
                &format!("Users[{i}].UserID"),
                json!({}),
            ));
            continue;
        };
        let params = json!({"value": user_id});
        if !seen.insert(user_id) {
            errors.push(answer(
                400,
                &format!("User {user_id} appears twice in the request"),
                &format!("Users[{i}].UserID"),
                params,
            ));
            continue;
        }
        match item["CUD"].as_u64() {
            Some(1) if store::get(conn, VENDOR, user_id)?.is_some() => {
                conflicts += 1;
                errors.push(answer(
                    409,
                    &format!("User {user_id} already exists"),
                    &format!("Users[{i}].UserID"),
                    params,
                ));
            }
            Some(1 | 2) => {
                if let Some(email) = item["Email"].as_str().filter(|e| faults.rejects_email(e)) {
                    errors.push(answer(
                        400,
                        &format!("User {user_id}: the e-mail domain is refused"),
                        &format!("Users[{i}].Email"),
                        json!({"value": email}),
                    ));
                }
            }
            Some(3) => {}
            _ => errors.push(answer(
                400,
                "CUD must be 1, 2 or 3",
                &format!("Users[{i}].CUD"),
                params,
            )),
        }
    }
    if !errors.is_empty() {
        let status = if conflicts == errors.len() { 409 } else { 400 };
        let body = if errors.len() == 1 {
            errors.remove(0)
        } else {
            Value::Array(errors)
        };
        return Ok((status, body));
    }
    let mut warnings = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut item) = item else {
            continue;
        };
        let cud = item.remove("CUD").and_then(|c| c.as_u64());
        let user_id = item["UserID"].as_str().unwrap_or_default().to_string();
        if cud == Some(3) {
            if !store::delete(conn, VENDOR, &user_id)? {
                warnings.push(answer(
                    200,
                    &format!("User {user_id} does not exist"),
                    &format!("Users[{i}].UserID"),
                    json!({"value": user_id}),
                ));
            }
            continue;
        }
        // A password is taken and never given back; a reset is an action, not a property.
        item.remove("Password");
        item.remove("ResetPassword");
        let existing = store::get(conn, VENDOR, &user_id)?;
        let created = existing.is_none();
        let mut object = match existing {
            Some(Stored {
                object: Value::Object(object),
                ..
            }) => object,
            _ => Map::new(),
        };
        object.extend(item);
        let user = Stored {
            key: user_id,
            id: None,
            object: Value::Object(object),
        };
        store::put(conn, VENDOR, &user, None, created)?;
    }
    let done = answer(200, "OK", "", json!({}));
    Ok((
        200,
        if warnings.is_empty() {
            done
        } else {
            warnings.insert(0, done);
            Value::Array(warnings)
        },
    ))
}

/// `GET /seiapi/v3/trans/User/{UserID}`: the stored User Object.
pub(super) fn user(conn: &Connection, user_id: &str) -> rusqlite::Result<(u16, Value)> {
    Ok(match store::get(conn, VENDOR, user_id)? {
        Some(user) => (200, user.object),
        None => (
            404,
            answer(
                404,
                &format!("User {user_id} does not exist"),
                "UserID",
                json!({"value": user_id}),
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::Faults;
    use crate::emulator::store::Store;

    fn send(store: &Store, faults: &Injector, body: Value) -> (u16, Value) {
        store
            .transaction(|conn| bulk(conn, faults, body.to_string().as_bytes()))
            .unwrap()
    }

    #[test]
    fn cud_semantics_and_all_or_nothing_batches() {
        let store = Store::open(None).unwrap();
        let faults = Injector::new(Faults {
            reject_email_domain: vec!["blocked.example".into()],
            ..Faults::default()
        });
        let (status, _) = send(
            &store,
            &faults,
            json!({"Users": [
            {"UserID": "a", "CUD": 1, "FirstName": "Ada", "Password": "pw"},
            {"UserID": "b", "CUD": 2, "FirstName": "Bo"}]}),
        );
        assert_eq!(status, 200);
        // A create of `a` conflicts and a refused domain is named: nothing of this batch stays.
        let (status, body) = send(
            &store,
            &faults,
            json!({"Users": [
            {"UserID": "c", "CUD": 1},
            {"UserID": "a", "CUD": 1},
            {"UserID": "d", "CUD": 2, "Email": "d@blocked.example"}]}),
        );
        assert_eq!(status, 400);
        assert_eq!(body[0]["code"], 409);
        assert_eq!(body[0]["detail"]["dataPath"], "Users[1].UserID");
        assert_eq!(body[1]["detail"]["dataPath"], "Users[2].Email");
        // An update keeps what it does not name; a delete of a missing user is a warning.
        let (status, body) = send(
            &store,
            &faults,
            json!({"Users": [
            {"UserID": "a", "CUD": 2, "LastName": "Lovelace"},
            {"UserID": "zz", "CUD": 3}]}),
        );
        assert_eq!(status, 200);
        assert_eq!(body[1]["detail"]["dataPath"], "Users[1].UserID");
        let (_, a) = store.transaction(|conn| user(conn, "a")).unwrap();
        assert_eq!(
            a,
            json!({"UserID": "a", "FirstName": "Ada", "LastName": "Lovelace"})
        );
        let (users, creates) = store.dump(VENDOR).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(creates.values().sum::<u64>(), 2);
        assert_eq!(store.transaction(|conn| user(conn, "c")).unwrap().0, 404);
    }
}
