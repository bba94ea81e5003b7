//! eSystems: `PATCH /Endpoint/rest/api/v1/Location/{Id}/Users?Name=KEY[&DeleteNotExists=true]`.
//!
//! - Users are upserted by the field the query `Name` names (`Id` when absent); a new user
//!   gets the next `Id`.
//! - The `Extra` list is checked on the server, as the platform does: `DefaultValue`,
//!   `Required`, `Pattern`, `Min`/`Max` (numbers by value, text by length), `Unique` (in the
//!   request and against stored users), and a `FieldName` lookup of `LocationId` in the
//!   Location table (the path's location, and the values its users carried: a location
//!   seen for the first time takes the value it is sent with).
//! - `DeleteNotExists=true` deletes the location's users missing from the request.
//! - A batch is all or nothing: errors name each refused user by its `External_Id` (and key)
//!   and nothing is stored.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::faults::Injector;
use super::store::{self, Stored};

const VENDOR: &str = "esystems";

/// One request to the Location Users endpoint.
pub(super) struct Patch<'a> {
    /// The `{Id}` path segment, percent-decoded (`base64|…` or the location itself).
    pub location: &'a str,
    /// The query `Name`: the field users are upserted by.
    pub key_field: &'a str,
    /// The query `DeleteNotExists`.
    pub delete_not_exists: bool,
    /// The request body.
    pub body: &'a [u8],
}

/// The vendor's error body.
pub(super) fn error(status: u16, title: &str, errors: &[String], instance: &str) -> Value {
    let mut key = [0u8; 16];
    let _ = getrandom::getrandom(&mut key);
    let key = hex::encode(key);
    json!({
        "Errors": errors,
        "Type": format!("/Errors/{title}"),
        "Title": title,
        "StatusCode": status,
        "Instance": instance,
        "RequestKey": format!("{}-{}-{}-{}-{}", &key[..8], &key[8..12], &key[12..16], &key[16..20], &key[20..]),
    })
}

/// The location a path segment names: `base64|…` decoded, else the segment itself.
pub(super) fn location(segment: &str) -> Option<String> {
    match segment.strip_prefix("base64|") {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok()),
        None => Some(segment.to_string()),
    }
}

/// Handles one PATCH.
pub(super) fn patch(
    conn: &Connection,
    faults: &Injector,
    request: &Patch,
) -> rusqlite::Result<(u16, Value)> {
    let instance = format!("/Endpoint/rest/api/v1/Location/{}/Users", request.location);
    let bad = |errors: Vec<String>| Ok((400, error(400, "Bad Request", &errors, &instance)));
    let Some(location) = location(request.location) else {
        return bad(vec![format!(
            "The Location Id `{}` is not valid base64",
            request.location
        )]);
    };
    let body: Map<String, Value> = match serde_json::from_slice(request.body) {
        Ok(Value::Object(body)) => body,
        _ => {
            return bad(vec![
                "The value does not match the specified entity structure".into(),
            ])
        }
    };
    let rules: Vec<Map<String, Value>> = body
        .get("Extra")
        .and_then(Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .filter_map(|r| r.as_object().cloned())
                .collect()
        })
        .unwrap_or_default();
    let Some(Value::Array(items)) = body.get("Users") else {
        return bad(vec!["The request has no `Users` list".into()]);
    };
    let mut users: Vec<Map<String, Value>> = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for item in items {
        match item {
            Value::Object(user) => users.push(user.clone()),
            _ => errors.push("A `Users` item is not an object".to_string()),
        }
    }
    for rule in &rules {
        check_rule(
            conn,
            rule,
            &location,
            request.key_field,
            &mut users,
            &mut errors,
        )?;
    }
    let mut keys = HashSet::new();
    for user in &users {
        let who = who(user, request.key_field);
        let Some(key) = text(user.get(request.key_field)) else {
            errors.push(format!(
                "{who}: the key field `{}` is empty",
                request.key_field
            ));
            continue;
        };
        if !keys.insert(key.clone()) {
            errors.push(format!(
                "{who}: there are multiple rows in the request for the same value"
            ));
        }
        if let Some(id) = platform_id(user) {
            if store::get_by_id(conn, VENDOR, &id)?.is_none() {
                errors.push(format!("{who}: there is no User with Id {id}"));
            }
        }
        if user
            .get("Email")
            .and_then(Value::as_str)
            .is_some_and(|e| faults.rejects_email(e))
        {
            errors.push(format!("{who}: the domain of `Email` is refused"));
        }
    }
    if !errors.is_empty() {
        return bad(errors);
    }
    let mut data = Vec::with_capacity(users.len());
    for user in users {
        let key = text(user.get(request.key_field)).unwrap_or_default();
        let existing = match platform_id(&user) {
            Some(id) => store::get_by_id(conn, VENDOR, &id)?,
            None => store::get(conn, VENDOR, &key)?,
        };
        let created = existing.is_none();
        let (id, mut object) = match existing {
            Some(Stored {
                key: old,
                id,
                object,
            }) => {
                if old != key {
                    store::delete(conn, VENDOR, &old)?;
                }
                (
                    id.unwrap_or_default(),
                    object.as_object().cloned().unwrap_or_default(),
                )
            }
            None => (store::next_id(conn, VENDOR)?.to_string(), Map::new()),
        };
        object.extend(user);
        object.insert("Id".into(), json!(id.parse::<i64>().unwrap_or_default()));
        let stored = Stored {
            key,
            id: Some(id),
            object: Value::Object(object),
        };
        store::put(conn, VENDOR, &stored, Some(&location), created)?;
        data.push(stored.object);
    }
    if request.delete_not_exists {
        for key in store::keys_at(conn, VENDOR, &location)? {
            if !keys.contains(&key) {
                store::delete(conn, VENDOR, &key)?;
            }
        }
    }
    let count = data.len();
    Ok((
        200,
        json!({
            "Meta": {"TotalItems": count, "CurrentPage": 1, "PageSize": count},
            "Type": "User",
            "Data": data,
        }),
    ))
}

/// Checks one `ListValidation` rule on every user, filling defaults first.
fn check_rule(
    conn: &Connection,
    rule: &Map<String, Value>,
    location: &str,
    key_field: &str,
    users: &mut [Map<String, Value>],
    errors: &mut Vec<String>,
) -> rusqlite::Result<()> {
    let Some(field) = rule.get("Name").and_then(Value::as_str) else {
        errors.push("An `Extra` item has no `Name`".into());
        return Ok(());
    };
    let flag = |name: &str| match rule.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let pattern = match rule
        .get("Pattern")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        Some(pattern) => match regex::Regex::new(pattern) {
            Ok(regex) => Some(regex),
            Err(_) => {
                errors.push(format!(
                    "The `Pattern` of `{field}` is not a valid expression"
                ));
                return Ok(());
            }
        },
        None => None,
    };
    let bound = |name: &str| text(rule.get(name));
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, user) in users.iter_mut().enumerate() {
        if text(user.get(field)).is_none() {
            if let Some(default) = rule.get("DefaultValue").filter(|d| !d.is_null()) {
                user.insert(field.to_string(), default.clone());
            }
        }
        let who = who(user, key_field);
        let Some(value) = text(user.get(field)) else {
            if flag("Required") {
                errors.push(format!("{who}: `{field}` is required"));
            }
            continue;
        };
        if pattern.as_ref().is_some_and(|p| !p.is_match(&value)) {
            errors.push(format!("{who}: `{field}` does not match the pattern"));
        }
        if let Some(min) =
            bound("Min").filter(|min| compare(&value, min) == Some(std::cmp::Ordering::Less))
        {
            errors.push(format!("{who}: `{field}` is below the minimum {min}"));
        }
        if let Some(max) =
            bound("Max").filter(|max| compare(&value, max) == Some(std::cmp::Ordering::Greater))
        {
            errors.push(format!("{who}: `{field}` is above the maximum {max}"));
        }
        if flag("Unique") {
            let own = text(user.get(key_field)).unwrap_or_default();
            let taken_here = seen.insert(value.clone(), index).is_some();
            let taken_there = store::holders(conn, VENDOR, field, &value)?
                .iter()
                .any(|k| *k != own);
            if taken_here || taken_there {
                errors.push(format!(
                    "{who}: the value of `{field}` must be unique and is already used"
                ));
            }
        }
        let lookup = rule
            .get("FieldName")
            .and_then(Value::as_str)
            .filter(|f| !f.is_empty());
        if let Some(lookup) = lookup.filter(|_| field == "LocationId") {
            if !names_location(conn, &value, location)? {
                errors.push(format!(
                    "{who}: `LocationId` is not the {lookup} of a Location"
                ));
            }
        }
    }
    Ok(())
}

/// Whether a `LocationId` value names a Location the emulator knows: the location of the
/// path itself, one that stored users carry, or anything for a location seen for the first
/// time (whose field values the emulator learns from its users).
fn names_location(conn: &Connection, value: &str, location: &str) -> rusqlite::Result<bool> {
    Ok(value == location
        || !store::has_location(conn, VENDOR, location)?
        || !store::holders(conn, VENDOR, "LocationId", value)?.is_empty())
}

/// How an error names a user: by `External_Id` (what roster finds), and by key when another.
fn who(user: &Map<String, Value>, key_field: &str) -> String {
    let external = text(user.get("External_Id"));
    let key = text(user.get(key_field));
    match (external, key) {
        (Some(external), Some(key)) if key_field != "External_Id" => {
            format!("user External_Id `{external}` ({key_field} `{key}`)")
        }
        (Some(external), _) => format!("user External_Id `{external}`"),
        (None, Some(key)) => format!("user {key_field} `{key}`"),
        (None, None) => "a user without a key".into(),
    }
}

/// A field's value as text; `None` when missing, null or empty.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The `Id` a user item gives (0 or none is a new user).
fn platform_id(user: &Map<String, Value>) -> Option<String> {
    text(user.get("Id")).filter(|id| id != "0")
}

/// Numbers by value, text by length against a numeric bound.
fn compare(value: &str, bound: &str) -> Option<std::cmp::Ordering> {
    let bound_number: f64 = bound.trim().parse().ok()?;
    match value.trim().parse::<f64>() {
        Ok(number) => number.partial_cmp(&bound_number),
        Err(_) => (value.chars().count() as f64).partial_cmp(&bound_number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::Faults;
    use crate::emulator::store::Store;

    fn send(store: &Store, location: &str, sync: bool, body: Value) -> (u16, Value) {
        let faults = Injector::new(Faults {
            reject_email_domain: vec!["blocked.example".into()],
            ..Faults::default()
        });
        let bytes = body.to_string();
        let request = Patch {
            location,
            key_field: "External_Id",
            delete_not_exists: sync,
            body: bytes.as_bytes(),
        };
        store
            .transaction(|conn| patch(conn, &faults, &request))
            .unwrap()
    }

    #[test]
    fn list_validation_runs_on_the_server_and_refuses_the_whole_batch() {
        let store = Store::open(None).unwrap();
        let extra = json!([{"Name": "LocationId", "FieldName": "Name"},
            {"Name": "Email", "Required": true, "Unique": true, "Pattern": "@"},
            {"Name": "Is_Active", "DefaultValue": true}]);
        let (status, body) = send(
            &store,
            "Oslo",
            false,
            json!({"Extra": extra, "Users": [
            {"External_Id": "T1", "Email": "a@x", "LocationId": "Oslo"},
            {"External_Id": "T2", "Email": "b@x", "LocationId": "Oslo"}]}),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["Data"][0]["Id"], 1);
        assert_eq!(body["Data"][1]["Is_Active"], true);
        let (status, body) = send(
            &store,
            "Oslo",
            false,
            json!({"Extra": extra, "Users": [
            {"External_Id": "T3", "Email": "a@x", "LocationId": "Oslo"},
            {"External_Id": "T4", "LocationId": "Nowhere", "Email": "d@x"},
            {"External_Id": "T5", "Email": "e@blocked.example", "LocationId": "Oslo"},
            {"External_Id": "T6", "Email": "f@x", "LocationId": "Oslo"}]}),
        );
        assert_eq!(status, 400);
        let errors = body["Errors"].to_string();
        assert!(
            errors.contains("`T3`: the value of `Email` must be unique"),
            "{errors}"
        );
        assert!(
            errors.contains("`T4`: `LocationId` is not the Name"),
            "{errors}"
        );
        assert!(
            errors.contains("`T5`: the domain of `Email` is refused"),
            "{errors}"
        );
        assert!(!errors.contains("T6"), "{errors}");
        assert_eq!(store.dump(VENDOR).unwrap().0.len(), 2);
    }

    #[test]
    fn upserts_by_key_and_deletes_the_missing_with_delete_not_exists() {
        let store = Store::open(None).unwrap();
        let users = json!([{"External_Id": "T1", "Name": "A"}, {"External_Id": "T2"}]);
        send(
            &store,
            "base64|QmVyZ2VuIFNlbnRydW0=",
            false,
            json!({"Users": users}),
        );
        let (status, body) = send(
            &store,
            "base64|QmVyZ2VuIFNlbnRydW0=",
            true,
            json!({"Users": [{"External_Id": "T1", "Name": "B"}]}),
        );
        assert_eq!(status, 200);
        assert_eq!(body["Data"][0]["Id"], 1);
        let (users, creates) = store.dump(VENDOR).unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0]["Name"], "B");
        assert_eq!(creates["T1"], 1);
        assert_eq!(
            location("base64|QmVyZ2VuIFNlbnRydW0=").as_deref(),
            Some("Bergen Sentrum")
        );
    }
}
