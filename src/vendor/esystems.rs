//! eSystems: `PATCH /Endpoint/rest/api/v1/Location/{Id}/Users` (docs/architecture.md), one payload group
//! per canonical `location`, and its `{Errors[], …}` / `{Meta, Type, Data[]}` responses.
//!
//! - Users are upserted by the field the query `Name` names: the tenant's
//!   `esystems_key_field`, `External_Id` by default. A user without a value for it is refused.
//! - `LocationId` is a text foreign key, resolved by the vendor through the `Extra` entry
//!   `{"Name": "LocationId", "FieldName": F}`, F the tenant's `esystems_location_field`
//!   (`Name` by default). The value sent is the one F holds for the user's location: from the
//!   tenant's reference table `location` (the row whose id is the location) when it has that
//!   column, else the `location` as it is. See [`LocationField`].
//! - The path's `{Id}` is the location as it is when it is URL-safe (letters, digits, `-._~`),
//!   else `base64|` and its standard base64 (the form eSystems documents), percent-encoded.
//! - A user without a `location` cannot be sent: the export is refused, naming them.
//! - eSystems deletes only through `DeleteNotExists=true`, which removes every user of the
//!   location missing from the request. So only a plan made with `--sync` may delete, and its
//!   export puts each touched location's remaining users (changed or not) in ONE file,
//!   whatever `--batch-size` says. A delete in a plan without `--sync` is refused.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use serde_json::{json, Map, Value};

use super::results::{self, Outcome};
use super::{
    boolean, column, items_in_batches, percent_encode, put, text_or_null, Batch, Context,
    ExportUser, Hook, Operation, Text, Vendor,
};
use crate::error::{Error, RefusedKind, Result, RuleError};
use crate::model::reference::RefTable;
use crate::model::structured::{self, Phone};
use crate::model::user::Field;
use crate::model::vendor::Status;

/// The HTTP method of the endpoint.
pub const METHOD: &str = "PATCH";

/// The key field used when the tenant names none.
pub const DEFAULT_KEY_FIELD: &str = "External_Id";

/// User record properties that can identify a user for the upsert.
const KEY_FIELDS: &[&str] = &[
    "Id",
    "Name",
    "Username",
    "Email",
    "MobilePhone",
    "External_Id",
];

/// Most keys listed in one message.
const SHOWN_KEYS: usize = 5;

/// How `LocationId` names a location: the Location field eSystems looks the value up by, and
/// the value that field holds for each of the tenant's locations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationField {
    /// The field (`esystems_location_field`); `None` for `Name`.
    field: Option<String>,
    /// Location id → the value `field` holds, from reference table `location`.
    values: HashMap<String, String>,
}

impl LocationField {
    /// The field the tenant names (`Name` when `None`), with its values from the tenant's
    /// reference table `location` when one is loaded. A table without that column is an
    /// error: the values sent would not be the ones eSystems looks up.
    pub fn new(field: Option<&str>, table: Option<&RefTable>) -> Result<LocationField> {
        let name = field.unwrap_or(DEFAULT_LOCATION_FIELD);
        let values = match table {
            None => HashMap::new(),
            Some(table) => table.values_by_id(name).ok_or_else(|| {
                Error::Rules(RuleError::new(format!(
                    "`esystems_location_field` is `{name}`, but reference table `{}` has no such column (it has {}); name one of its columns, or load a table that has it",
                    table.name,
                    table.columns.join(", ")
                )))
            })?,
        };
        Ok(LocationField {
            field: field.map(str::to_string),
            values,
        })
    }

    /// The field's name, the `Extra` entry's `FieldName`.
    pub fn name(&self) -> &str {
        self.field.as_deref().unwrap_or(DEFAULT_LOCATION_FIELD)
    }

    /// What `LocationId` carries for a location.
    pub fn value<'a>(&'a self, location: &'a str) -> &'a str {
        self.values.get(location).map_or(location, String::as_str)
    }

    /// The location a `LocationId` value names (the reverse of [`LocationField::value`]).
    pub fn location<'a>(&'a self, value: &'a str) -> &'a str {
        self.values
            .iter()
            .find(|(_, v)| *v == value)
            .map_or(value, |(location, _)| location.as_str())
    }
}

/// The Location field `LocationId` is looked up by when the tenant names none.
pub const DEFAULT_LOCATION_FIELD: &str = "Name";

/// The files of an eSystems export, grouped by location (in location order).
pub fn batches(
    users: &[ExportUser],
    context: &Context,
    mut hook: Option<&mut Hook>,
) -> Result<Vec<Batch>> {
    let key_field = key_field(context)?;
    let deletes: Vec<&ExportUser> = users
        .iter()
        .filter(|u| u.operation == Operation::Delete)
        .collect();
    if !context.sync && !deletes.is_empty() {
        return Err(Error::refused(RefusedKind::Vendor, format!(
            "plan {} deletes {}, but eSystems deletes users only through `DeleteNotExists`, which needs every remaining user of the location; plan with `--sync` to delete users absent from the input",
            context.plan_id,
            list_keys(&deletes)
        )));
    }
    let sent: Vec<&ExportUser> = users
        .iter()
        .filter(|u| u.operation != Operation::Delete)
        .filter(|u| context.sync || u.operation != Operation::Unchanged)
        .filter(|u| u.operation != Operation::Unchanged || location(u).is_some())
        .collect();
    let homeless: Vec<&ExportUser> = users
        .iter()
        .filter(|u| u.operation != Operation::Unchanged && location(u).is_none())
        .collect();
    if !homeless.is_empty() {
        return Err(Error::refused(RefusedKind::Vendor, format!(
            "eSystems loads users per location, but {} {} no `location`; set `location` in the source or the tenant's rules",
            list_keys(&homeless),
            if homeless.len() == 1 { "has" } else { "have" }
        )));
    }
    let mut groups: BTreeMap<&str, (Vec<&ExportUser>, Vec<String>)> = BTreeMap::new();
    for user in &sent {
        groups
            .entry(location(user).unwrap_or_default())
            .or_default()
            .0
            .push(user);
    }
    for user in &deletes {
        let group = groups
            .entry(location(user).unwrap_or_default())
            .or_default();
        group.1.push(user.key.clone());
    }
    let mut batches = Vec::new();
    for (location, (members, deleted)) in groups {
        let changed = |u: &&ExportUser| u.operation != Operation::Unchanged;
        if !deleted.is_empty() || members.iter().any(changed) {
            if members.is_empty() {
                return Err(Error::refused(RefusedKind::Vendor, format!(
                    "plan {} deletes every user of location `{location}` ({}); eSystems cannot send an empty `DeleteNotExists` request: delete them in the platform itself",
                    context.plan_id,
                    deleted.join(", ")
                )));
            }
            let size = if context.sync {
                usize::MAX
            } else {
                context.batch_size
            };
            let path = path(location, key_field, context.sync);
            let locations = context.locations;
            let mut make = |user: &ExportUser| item(user, key_field, locations);
            let extra = json!([{"Name": "LocationId", "FieldName": locations.name()}]);
            for items in items_in_batches(members, size, hook.as_deref_mut(), &mut make)? {
                let mut batch = Batch::new(
                    METHOD,
                    path.clone(),
                    items,
                    context,
                    |users| json!({"Extra": extra, "Users": users}),
                );
                batch.counts.delete = deleted.len() as u64;
                batch.deleted_by_sync = deleted.clone();
                batches.push(batch);
            }
        }
    }
    Ok(batches)
}

/// Hands each of some users to the visitor it is given, one at a time, in order.
pub type Users<'u> = dyn FnMut(&mut dyn FnMut(ExportUser) -> Result<()>) -> Result<()> + 'u;

/// The files of an eSystems `--sync` export, one per location the plan touches, made as the
/// state is read: `changed` are the plan's users; `remaining` hands over every other user of
/// the state, one at a time, in key order. Each is turned into its item's bytes at once and
/// only those bytes are kept, so no location's users are ever held decoded. Files are as
/// [`batches`] makes them, byte for byte. A request body larger than `max_request_bytes` is
/// named in `warnings`: `DeleteNotExists` needs the whole location in that one request.
pub fn sync_batches(
    changed: &[ExportUser],
    context: &Context,
    mut hook: Option<&mut Hook>,
    remaining: &mut Users,
    max_request_bytes: u64,
    warnings: &mut Vec<String>,
) -> Result<Vec<Batch>> {
    let key_field = key_field(context)?;
    let homeless: Vec<&ExportUser> = changed
        .iter()
        .filter(|u| u.operation != Operation::Unchanged && location(u).is_none())
        .collect();
    if !homeless.is_empty() {
        return Err(Error::refused(RefusedKind::Vendor, format!(
            "eSystems loads users per location, but {} {} no `location`; set `location` in the source or the tenant's rules",
            list_keys(&homeless),
            if homeless.len() == 1 { "has" } else { "have" }
        )));
    }
    let mut groups: BTreeMap<String, SyncGroup> = BTreeMap::new();
    for user in changed {
        let group = groups
            .entry(location(user).unwrap_or_default().to_string())
            .or_default();
        if user.operation == Operation::Delete {
            group.deleted.push(user.key.clone());
        }
    }
    let mut add = |user: &ExportUser, group: &mut SyncGroup| -> Result<()> {
        let built = item(user, key_field, context.locations)?;
        let item = match hook.as_deref_mut() {
            Some(hook) => hook(user, built)?,
            None => built,
        };
        group.add(user, &item, context.bodies);
        Ok(())
    };
    for user in changed.iter().filter(|u| u.operation != Operation::Delete) {
        let group = groups
            .get_mut(location(user).unwrap_or_default())
            .expect("every changed user's location has a group");
        add(user, group)?;
    }
    remaining(
        &mut |user| match location(&user).and_then(|l| groups.get_mut(l)) {
            Some(group) => add(&user, group),
            None => Ok(()),
        },
    )?;
    let extra = json!([{"Name": "LocationId", "FieldName": context.locations.name()}]);
    let mut batches = Vec::with_capacity(groups.len());
    for (location, group) in groups {
        if group.keys.is_empty() {
            return Err(Error::refused(RefusedKind::Vendor, format!(
                "plan {} deletes every user of location `{location}` ({}); eSystems cannot send an empty `DeleteNotExists` request: delete them in the platform itself",
                context.plan_id,
                group.deleted.join(", ")
            )));
        }
        let body = if context.bodies {
            super::envelope(&extra, &group.items)
        } else {
            Vec::new()
        };
        if body.len() as u64 > max_request_bytes {
            warnings.push(format!(
                "the eSystems request for location `{location}` is {} ({} users), over the {} `esystems_max_request_mb` allows; `DeleteNotExists` needs every user of the location in that one request, so it is sent whole: check the platform takes it, or raise the limit",
                size_text(body.len()),
                group.keys.len(),
                size_text(max_request_bytes as usize)
            ));
        }
        let mut counts = group.counts;
        counts.delete = group.deleted.len() as u64;
        batches.push(Batch {
            method: METHOD,
            path: path(&location, key_field, true),
            body,
            keys: group.keys,
            deleted_by_sync: group.deleted,
            counts,
            passwords: group.passwords,
        });
    }
    Ok(batches)
}

const MIB: f64 = 1024.0 * 1024.0;

/// A body's size for a message: `12.3 MiB`, or bytes below a tenth of that.
fn size_text(bytes: usize) -> String {
    let mib = bytes as f64 / MIB;
    if mib >= 0.1 {
        format!("{mib:.1} MiB")
    } else {
        format!("{bytes} bytes")
    }
}

/// One location of a `--sync` export as it is made: its items' bytes, not its users.
#[derive(Default)]
struct SyncGroup {
    /// The items so far, each indented as the body holds it, separated by `,\n`.
    items: Vec<u8>,
    keys: Vec<String>,
    deleted: Vec<String>,
    counts: super::Counts,
    passwords: usize,
}

impl SyncGroup {
    fn add(&mut self, user: &ExportUser, item: &Value, bodies: bool) {
        self.counts.count(user.operation);
        self.keys.push(user.key.clone());
        self.passwords += usize::from(item.get("Password").is_some());
        if bodies {
            if !self.items.is_empty() {
                self.items.extend_from_slice(b",\n");
            }
            super::pretty_indented(&mut self.items, item, 2);
        }
    }
}

fn key_field<'c>(context: &'c Context) -> Result<&'c str> {
    let field = context
        .settings
        .esystems_key_field
        .as_deref()
        .unwrap_or(DEFAULT_KEY_FIELD);
    if KEY_FIELDS.contains(&field) {
        Ok(field)
    } else {
        Err(Error::Rules(RuleError::new(format!(
            "`esystems_key_field` is `{field}`, which is not a user field eSystems can upsert by; use one of {}",
            KEY_FIELDS.join(", ")
        ))))
    }
}

fn location(user: &ExportUser) -> Option<&str> {
    user.text(Field::Location).filter(|l| !l.trim().is_empty())
}

fn list_keys(users: &[&ExportUser]) -> String {
    let mut text = users
        .iter()
        .take(SHOWN_KEYS)
        .map(|u| u.describe())
        .collect::<Vec<_>>()
        .join(", ");
    if users.len() > SHOWN_KEYS {
        text.push_str(&format!(" and {} more", users.len() - SHOWN_KEYS));
    }
    text
}

/// The request path for one location: `…/Location/{Id}/Users?Name=…[&DeleteNotExists=true]`.
pub fn path(location: &str, key_field: &str, sync: bool) -> String {
    let id = if super::is_url_safe(location) {
        location.to_string()
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(location);
        percent_encode(&format!("base64|{encoded}"))
    };
    let delete = if sync { "&DeleteNotExists=true" } else { "" };
    format!("/Endpoint/rest/api/v1/Location/{id}/Users?Name={key_field}{delete}")
}

/// One user record with eSystems' property names; `LocationId` as `locations` names it.
pub fn item(user: &ExportUser, key_field: &str, locations: &LocationField) -> Result<Value> {
    let mut item = Map::new();
    put(&mut item, "Id", user.platform_id(Vendor::ESystems));
    put(&mut item, "Name", text_or_null(user.get(Field::Name)));
    put(
        &mut item,
        "Username",
        text_or_null(user.get(Field::Username)),
    );
    put(&mut item, "Email", text_or_null(user.get(Field::Email)));
    put(
        &mut item,
        "MobilePhone",
        user.phones()?
            .map(|phones| mobile(&phones).map(str::to_string)),
    );
    put(
        &mut item,
        "External_Id",
        text_or_null(user.get(Field::ExternalId)),
    );
    put(&mut item, "Is_Active", boolean(user.get(Field::Active)));
    let location = text_or_null(user.get(Field::Location)).map(|text| match text {
        Text::Str(location) => Text::Str(locations.value(location)),
        other => other,
    });
    put(&mut item, "LocationId", location);
    let has_key = item
        .get(key_field)
        .is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
    if !has_key {
        return Err(Error::refused(RefusedKind::Vendor, format!(
            "user {} has no `{key_field}`, the field eSystems upserts by (`esystems_key_field`); give it one or choose another key field",
            user.describe()
        )));
    }
    Ok(Value::Object(item))
}

/// The mobile phone's number: the first of type `mobile`, else the first; none when the
/// phones are cleared.
fn mobile<'p>(phones: &'p [Phone]) -> Option<&'p str> {
    phones
        .iter()
        .find(|p| {
            p.kind
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("mobile"))
        })
        .or(phones.first())
        .map(|p| &*p.number)
}

/// An eSystems user record (a response's `Data` item, or a request's `Users` item) as
/// canonical columns; `Id` becomes `platform_id.esystems`, and `LocationId` the location
/// `locations` says it names. A foreign key given as an object (the extended representation)
/// gives the value of the lookup field (`Name` by default).
pub fn esystems_columns(
    item: &Map<String, Value>,
    locations: &LocationField,
) -> Vec<(String, Value)> {
    let mut columns = Vec::new();
    for (name, value) in item {
        match name.as_str() {
            "Id" => columns.push(column("platform_id.esystems", value)),
            "Name" => columns.push(column(Field::Name.name(), value)),
            "Username" => columns.push(column(Field::Username.name(), value)),
            "Email" => columns.push(column(Field::Email.name(), value)),
            "MobilePhone" => {
                let phones = match value {
                    Value::String(n) if !n.trim().is_empty() => structured::write(&[Phone {
                        number: n.into(),
                        kind: Some("mobile".into()),
                    }]),
                    _ => Value::Null,
                };
                columns.push((Field::Phones.name().into(), phones));
            }
            "External_Id" => columns.push(column(Field::ExternalId.name(), value)),
            "Is_Active" => columns.push(column(Field::Active.name(), value)),
            "LocationId" => {
                let location = match value {
                    Value::Object(o) => o.get(locations.name()).or(o.get("Value")).cloned(),
                    other => Some(other.clone()),
                };
                let location = match location {
                    Some(Value::String(text)) => {
                        Some(Value::String(locations.location(&text).to_string()))
                    }
                    other => other,
                };
                columns.push((Field::Location.name().into(), location.unwrap_or_default()));
            }
            _ => columns.push(column(name, value)),
        }
    }
    columns
}

/// What a response says about each user of the batch. An error body
/// `{Errors[], Type, Title, StatusCode, Instance, RequestKey}` rejects the users an error
/// message names by key and fails the rest; a `{Meta, Type, Data[]}` body accepts them,
/// with a warning for a user missing from `Data`.
pub fn outcomes(response: &Value, keys: &[String]) -> Vec<Outcome> {
    let status = response["StatusCode"].as_i64().unwrap_or(200);
    let errors: Vec<&str> = response["Errors"]
        .as_array()
        .map(|e| e.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if status >= 400 || !errors.is_empty() {
        let mut named = Vec::new();
        for error in &errors {
            for (index, key) in keys.iter().enumerate() {
                if mentions(error, key) {
                    named.push(Outcome::named(index, true, "", error));
                }
            }
        }
        let title = response["Title"].as_str().unwrap_or("error");
        let failure = format!(
            "the vendor answered {status} {title}: {}",
            errors.join("; ")
        );
        return results::complete(named, Some(failure), keys);
    }
    let mut outcomes = results::complete(Vec::new(), None, keys);
    let returned: Vec<&str> = response["Data"]
        .as_array()
        .map(|d| d.iter().filter_map(|u| u["External_Id"].as_str()).collect())
        .unwrap_or_default();
    if !returned.is_empty() {
        for outcome in &mut outcomes {
            if !returned.contains(&keys[outcome.index].as_str()) {
                outcome.status = Status::Warning;
                outcome.message = "not in the vendor's answer (`Data`)".into();
            }
        }
    }
    outcomes
}

/// Whether `text` names `key` as a whole word (so `T1` is not found in `T10`).
fn mentions(text: &str, key: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(key).any(|(at, _)| {
        !word(text[..at].chars().next_back()) && !word(text[at + key.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_safe_locations_stay_others_are_base64() {
        assert_eq!(
            path("Oslo", "External_Id", false),
            "/Endpoint/rest/api/v1/Location/Oslo/Users?Name=External_Id"
        );
        // The seed's example: name@domain.com is base64|bmFtZUBkb21haW4uY29t.
        assert_eq!(
            path("name@domain.com", "Username", true),
            "/Endpoint/rest/api/v1/Location/base64%7CbmFtZUBkb21haW4uY29t/Users?Name=Username&DeleteNotExists=true"
        );
    }

    #[test]
    fn a_response_user_maps_back_to_canonical_columns() {
        // A 200 response's User record.
        let record = json!({"Id": 0, "Name": "Ada Lovelace", "Username": "ada",
            "Email": "ada@x", "MobilePhone": "+1 555", "External_Id": "T1",
            "Creation_Date": "1900-01-01T12:00:00Z", "Last_Login": "1900-01-01T12:00:00Z",
            "Is_Active": false, "LocationId": {"Id": 4, "Name": "Oslo"}});
        let columns: Map<String, Value> =
            esystems_columns(record.as_object().unwrap(), &LocationField::default())
                .into_iter()
                .collect();
        assert_eq!(columns["platform_id.esystems"], 0);
        assert_eq!(columns["external_id"], "T1");
        assert_eq!(
            columns["phones"],
            json!([{"number": "+1 555", "type": "mobile"}])
        );
        assert_eq!(columns["active"], false);
        assert_eq!(columns["location"], "Oslo");
        assert_eq!(columns["Creation_Date"], "1900-01-01T12:00:00Z");
    }

    #[test]
    fn errors_name_users_by_key_and_fail_the_rest() {
        let keys: Vec<String> = ["T1", "T10"].map(String::from).to_vec();
        // A 400 body, with a message naming a user.
        let response = json!({"Errors": ["There are multiple rows in the database for the same value T10"],
            "Type": "/Errors/Bad Input", "Title": "Bad Request", "StatusCode": 400,
            "Instance": "/OpenApi/rest/Xzy", "RequestKey": "894ea43c-b8a6-4195-9a9c-82c07d9cc33a"});
        let failed = outcomes(&response, &keys);
        assert_eq!(failed[1].status, Status::Rejected);
        assert_eq!(failed[0].status, Status::Failed);
        assert!(failed[0].message.contains("400 Bad Request"));
        let ok =
            json!({"Meta": {"TotalItems": 1}, "Type": "User", "Data": [{"External_Id": "T1"}]});
        let loaded = outcomes(&ok, &keys);
        assert_eq!(loaded[0].status, Status::Accepted);
        assert_eq!(loaded[1].status, Status::Warning);
    }
}
