//! Field Squared: `POST /{Workspace}/UserImport` (see `docs/architecture.md`) with User DTOs, and its
//! ServiceStack-style `ResponseStatus` answers.
//!
//! - The workspace comes from `--workspace`, else the tenant's `fieldsquared_workspace`.
//! - `RequestId` is UUID-shaped (version 8) from xxh3-128 of `roster:<plan>:<batch>`, so a
//!   batch sent again is recognisably the same request.
//! - `Enabled` is the canonical `active`, `true` when the user does not say: the DTO's
//!   default is `false`, which would create disabled users.
//! - UserImport cannot delete: a delete is sent as `Enabled: false` with a warning
//!   (`fieldsquared_delete = Deactivate`, the default) or refuses the export (`Refuse`).
//! - `WorkWeek` days are 0–6 (Sunday 0, as .NET's `DayOfWeek`) or day names; times are
//!   minutes after midnight, given as a number or `HH:MM`.

use serde_json::{json, Map, Value};
use xxhash_rust::xxh3::xxh3_128;

use super::results::{self, Outcome};
use super::{
    attributes, column, items_in_batches, list, percent_encode, put, text_or_null, Batch, Context,
    ExportUser, Hook, Operation, Vendor,
};
use crate::error::{Error, RefusedKind, Result};
use crate::model::structured::{self, Address, Phone, WorkWeek};
use crate::model::user::Field;
use crate::rules::DeletePolicy;

/// The HTTP method of the endpoint.
pub const METHOD: &str = "POST";

const DAYS: &[&str] = &[
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// The files of a Field Squared export: `{"Workspace", "Users", "RequestId"}`.
pub fn batches(
    users: &[ExportUser],
    context: &Context,
    hook: Option<&mut Hook>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Batch>> {
    let workspace = context
        .workspace
        .or(context.settings.fieldsquared_workspace.as_deref())
        .filter(|w| !w.trim().is_empty())
        .ok_or_else(|| {
            Error::Usage(
                "Field Squared needs a workspace: pass `--workspace W` or set `fieldsquared_workspace` in the tenant's settings"
                    .into(),
            )
        })?;
    let deletes: Vec<&ExportUser> = users
        .iter()
        .filter(|u| u.operation == Operation::Delete)
        .collect();
    if !deletes.is_empty() {
        let keys: Vec<&str> = deletes.iter().map(|u| u.key.as_str()).collect();
        if context.settings.fieldsquared_delete == DeletePolicy::Refuse {
            return Err(Error::refused(RefusedKind::Vendor, format!(
                "plan {} deletes {}, but Field Squared's UserImport cannot delete and the tenant's `fieldsquared_delete` is `Refuse`; delete them in Field Squared, or set `fieldsquared_delete` to `Deactivate` to send them disabled",
                context.plan_id,
                keys.join(", ")
            )));
        }
        warnings.push(format!(
            "Field Squared's UserImport cannot delete: {} {} sent with `Enabled: false` instead",
            keys.join(", "),
            if keys.len() == 1 { "is" } else { "are" }
        ));
    }
    let path = format!("/{}/UserImport", percent_encode(workspace));
    let batches = items_in_batches(users, context.batch_size, hook, &mut item)?;
    Ok(batches
        .into_iter()
        .enumerate()
        .map(|(number, items)| {
            Batch::new(METHOD, path.clone(), items, context, |users| {
                json!({
                    "Workspace": workspace,
                    "Users": users,
                    "RequestId": request_id(context.plan_id, context.first_batch + number + 1),
                })
            })
        })
        .collect())
}

/// The `RequestId` of batch `number` (1-based) of a plan: a version-8 UUID of
/// xxh3-128(`roster:<plan>:<number>`).
pub fn request_id(plan_id: i64, number: usize) -> String {
    uuid_of(&format!("roster:{plan_id}:{number}"))
}

/// The `RequestId` of batch `number` (1-based) sent without some of its users for the
/// `revision`-th time: a new request, so the vendor does not answer it as the batch it
/// refused. Revision 0 is the batch as exported ([`request_id`]).
pub fn request_id_of_revision(plan_id: i64, number: usize, revision: u32) -> String {
    if revision == 0 {
        return request_id(plan_id, number);
    }
    uuid_of(&format!("roster:{plan_id}:{number}:r{revision}"))
}

/// A version-8 UUID of xxh3-128 of `text`.
fn uuid_of(text: &str) -> String {
    uuid::Uuid::new_v8(xxh3_128(text.as_bytes()).to_be_bytes()).to_string()
}

/// One User DTO.
pub fn item(user: &ExportUser) -> Result<Value> {
    let mut item = Map::new();
    put(
        &mut item,
        "ObjectId",
        user.platform_id(Vendor::FieldSquared)
            .map(|id| Value::String(id.as_str().map_or_else(|| id.to_string(), str::to_string))),
    );
    put(
        &mut item,
        "ExternalId",
        text_or_null(user.get(Field::ExternalId)),
    );
    if user.operation == Operation::Delete {
        item.insert("Enabled".into(), Value::Bool(false));
        return Ok(Value::Object(item));
    }
    put(&mut item, "Name", text_or_null(user.get(Field::Name)));
    put(
        &mut item,
        "Initials",
        text_or_null(user.get(Field::Initials)),
    );
    put(
        &mut item,
        "Phone",
        user.phones()?
            .map(|phones| phones.into_iter().next().map(|phone| phone.number)),
    );
    put(&mut item, "Email", text_or_null(user.get(Field::Email)));
    put(
        &mut item,
        "UserType",
        text_or_null(user.get(Field::UserType)),
    );
    put(
        &mut item,
        "TimeZone",
        text_or_null(user.get(Field::Timezone)),
    );
    put(&mut item, "SkillTags", list(user.get(Field::Skills)));
    put(&mut item, "Teams", list(user.get(Field::Teams)));
    let enabled = user.get(Field::Active).and_then(Value::as_bool);
    item.insert("Enabled".into(), Value::Bool(enabled.unwrap_or(true)));
    put(&mut item, "Address", user.address()?.map(|a| address(&a)));
    put(&mut item, "Data", attributes(user.get(Field::Attributes)));
    if let Some(days) = user.work_week()? {
        item.insert("WorkWeek".into(), work_week(user, &days)?);
    }
    if let Some(password) = &user.password {
        item.insert("Password".into(), Value::String(password.clone()));
    }
    Ok(Value::Object(item))
}

/// The address as an `Address` DTO, its coordinates as `Location`; `null` when cleared.
fn address(address: &Address) -> Value {
    if address.is_empty() {
        return Value::Null;
    }
    let mut out = Map::new();
    for (to, part) in [
        ("Street", &address.street),
        ("Unit", &address.unit),
        ("City", &address.city),
        ("State", &address.state),
        ("Zip", &address.zip),
        ("Country", &address.country),
    ] {
        put(&mut out, to, part.as_deref());
    }
    let coordinate = |part: Option<&str>| part?.trim().parse::<f64>().ok();
    let (lat, lon) = (address.lat.as_deref(), address.lon.as_deref());
    if let (Some(lat), Some(lon)) = (coordinate(lat), coordinate(lon)) {
        out.insert("Location".into(), json!({"y": lat, "x": lon}));
    }
    Value::Object(out)
}

/// The work week as `WorkWeek` DTOs: days 0–6, times in minutes. A day given with nothing in
/// it is `{}`.
fn work_week(user: &ExportUser, days: &WorkWeek) -> Result<Value> {
    let refuse = |what: &str, text: &str| {
        Error::refused(
            RefusedKind::Vendor,
            format!(
                "cannot export user {} to Field Squared: work_week {what} `{text}` is not {}",
                user.describe(),
                if what == "day" {
                    "a day (0–6, Sunday 0, or a day name)"
                } else {
                    "a time (minutes after midnight, or HH:MM)"
                }
            ),
        )
    };
    days.iter()
        .map(|day| {
            let mut out = Map::new();
            let Some(day) = day else {
                return Ok(Value::Object(out));
            };
            if let Some(text) = day.day.as_deref() {
                out.insert(
                    "DayOfWeek".into(),
                    day_number(text).ok_or_else(|| refuse("day", text))?.into(),
                );
            }
            for (from, to, time) in [
                ("start", "Start", &day.start),
                ("end", "End", &day.end),
                ("lunch", "Lunch", &day.lunch),
            ] {
                if let Some(text) = time.as_deref() {
                    out.insert(
                        to.into(),
                        minutes(text).ok_or_else(|| refuse(from, text))?.into(),
                    );
                }
            }
            Ok(Value::Object(out))
        })
        .collect::<Result<Vec<_>>>()
        .map(Value::Array)
}

fn day_number(text: &str) -> Option<u8> {
    let text = text.trim().to_ascii_lowercase();
    match text.parse::<u8>() {
        Ok(n) if n < 7 => Some(n),
        Ok(_) => None,
        Err(_) if text.len() >= 3 => DAYS
            .iter()
            .position(|d| d.starts_with(&text))
            .map(|n| n as u8),
        Err(_) => None,
    }
}

fn minutes(text: &str) -> Option<u32> {
    let text = text.trim();
    match text.split_once(':') {
        Some((h, m)) => {
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 24 && m < 60).then_some(h * 60 + m)
        }
        None => text.parse().ok().filter(|m| *m <= 24 * 60),
    }
}

/// A User DTO (from a Field Squared file given as input) as canonical columns; `ObjectId`
/// becomes `platform_id.fieldsquared`, `Phone` the one phone, `Address.Location` the
/// address's `lat`/`lon`.
pub fn fieldsquared_columns(item: &Map<String, Value>) -> Vec<(String, Value)> {
    let mut columns = Vec::new();
    for (name, value) in item {
        let canonical = match name.as_str() {
            "ObjectId" => "platform_id.fieldsquared",
            "ExternalId" => Field::ExternalId.name(),
            "Name" => Field::Name.name(),
            "Initials" => Field::Initials.name(),
            "Email" => Field::Email.name(),
            "Password" => Field::Password.name(),
            "UserType" => Field::UserType.name(),
            "TimeZone" => Field::Timezone.name(),
            "SkillTags" => Field::Skills.name(),
            "Teams" => Field::Teams.name(),
            "Enabled" => Field::Active.name(),
            "Data" => Field::Attributes.name(),
            "Phone" => {
                let phones = match value {
                    Value::String(n) if !n.trim().is_empty() => structured::write(&[Phone {
                        number: n.into(),
                        kind: None,
                    }]),
                    _ => Value::Null,
                };
                columns.push((Field::Phones.name().into(), phones));
                continue;
            }
            "Address" => {
                columns.push((Field::Address.name().into(), canonical_address(value)));
                continue;
            }
            "WorkWeek" => {
                columns.push((Field::WorkWeek.name().into(), canonical_work_week(value)));
                continue;
            }
            other => other,
        };
        columns.push(column(canonical, value));
    }
    columns
}

fn canonical_address(value: &Value) -> Value {
    let Some(address) = value.as_object() else {
        return Value::Null;
    };
    let mut out = Map::new();
    for (from, to) in [
        ("Street", "street"),
        ("Unit", "unit"),
        ("City", "city"),
        ("State", "state"),
        ("Zip", "zip"),
        ("Country", "country"),
    ] {
        put(
            &mut out,
            to,
            address.get(from).filter(|v| !v.is_null()).cloned(),
        );
    }
    if let Some(location) = address.get("Location").filter(|l| l.is_object()) {
        put(&mut out, "lat", location.get("y").cloned());
        put(&mut out, "lon", location.get("x").cloned());
    }
    Value::Object(out)
}

fn canonical_work_week(value: &Value) -> Value {
    let days = value.as_array().map(Vec::as_slice).unwrap_or_default();
    Value::Array(
        days.iter()
            .map(|day| {
                let mut out = Map::new();
                for (from, to) in [
                    ("DayOfWeek", "day"),
                    ("Start", "start"),
                    ("End", "end"),
                    ("Lunch", "lunch"),
                ] {
                    put(&mut out, to, day.get(from).cloned());
                }
                Value::Object(out)
            })
            .collect(),
    )
}

/// What a response says about each user of the batch. roster reads the ServiceStack shape
/// Field Squared's API answers with: `{"ResponseStatus": {"ErrorCode", "Message", "Errors":
/// [{"ErrorCode", "FieldName", "Message"}]}}`, where a `FieldName` like `Users[3].Email`
/// names `keys[3]`. An `ErrorCode` fails the users no error names; no `ErrorCode` (or an
/// empty body) accepts them, with a warning for each named one.
pub fn outcomes(response: &Value, keys: &[String]) -> Vec<Outcome> {
    let status = &response["ResponseStatus"];
    let code = status["ErrorCode"].as_str().filter(|c| !c.is_empty());
    let mut named = Vec::new();
    for error in status["Errors"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let path = error["FieldName"].as_str().unwrap_or_default();
        if let Some(index) = results::item_index(path).filter(|i| *i < keys.len()) {
            let message = match error["ErrorCode"].as_str() {
                Some(code) => format!("{code}: {}", error["Message"].as_str().unwrap_or_default()),
                None => error["Message"].as_str().unwrap_or_default().to_string(),
            };
            let mut outcome = Outcome::named(index, code.is_some(), path, &message);
            outcome.conflict = matches!(
                error["ErrorCode"].as_str(),
                Some("Conflict" | "AlreadyExists" | "DuplicateKey")
            );
            named.push(outcome);
        }
    }
    let failure = code.map(|code| {
        format!(
            "the vendor answered {code}: {}",
            status["Message"].as_str().unwrap_or_default()
        )
    });
    results::complete(named, failure, keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::change::{Action, Change};
    use crate::model::vendor::Status;

    fn create(after: Value) -> ExportUser {
        let change = Change {
            action: Action::Create,
            key: "T1".into(),
            source: Some("in.csv:2".into()),
            fields: Vec::new(),
            before: None,
            after: after.as_object().cloned(),
            platform_ids: Some(json!({"fieldsquared": "5f1"})),
        };
        ExportUser::from_change(change, Some("pw".into()))
    }

    #[test]
    fn a_user_becomes_a_user_dto() {
        let user = create(json!({
            "external_id": "T1", "name": "Ada Lovelace", "initials": "AL",
            "phones": [{"number": "+1 555"}], "skills": ["hvac"], "teams": ["North"],
            "address": {"city": "Oslo", "lat": "59.9", "lon": "10.7"},
            "work_week": [{"day": "monday", "start": "08:00", "end": "960", "lunch": "30"}],
            "attributes": {"Badge": "7"}
        }));
        assert_eq!(
            item(&user).unwrap(),
            json!({
                "ObjectId": "5f1", "ExternalId": "T1", "Name": "Ada Lovelace", "Initials": "AL",
                "Phone": "+1 555", "SkillTags": ["hvac"], "Teams": ["North"], "Enabled": true,
                "Address": {"City": "Oslo", "Location": {"y": 59.9, "x": 10.7}},
                "Data": {"Badge": "7"},
                "WorkWeek": [{"DayOfWeek": 1, "Start": 480, "End": 960, "Lunch": 30}],
                "Password": "pw"
            })
        );
    }

    #[test]
    fn a_stored_value_roster_did_not_make_stops_the_export_naming_it() {
        for (field, value) in [
            ("address", json!("Oslo")),
            ("phones", json!([{"number": "555", "ext": "1"}])),
            ("work_week", json!({"day": "monday"})),
        ] {
            let user = create(json!({"external_id": "T1", field: value}));
            let error = item(&user).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!(
                    "cannot export user `T1` (in.csv:2): `{field}` is not shaped as roster stores it"
                )) && error.ends_with("restore it from a backup"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_bad_work_day_names_the_user_and_row() {
        let user = create(json!({"external_id": "T1", "work_week": [{"day": "funday"}]}));
        let error = item(&user).unwrap_err().to_string();
        assert!(
            error.contains("`T1` (in.csv:2)") && error.contains("`funday`"),
            "{error}"
        );
    }

    #[test]
    fn request_ids_are_stable_uuids() {
        let id = request_id(7, 1);
        assert_eq!(id, request_id(7, 1));
        assert_ne!(id, request_id(7, 2));
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "8");
    }

    #[test]
    fn a_user_dto_maps_back_to_canonical_columns() {
        let dto = json!({"Workspace": "acme", "ObjectId": "5f1", "ExternalId": "T1",
            "Name": "Ada", "Phone": "+1 555", "Enabled": false, "SkillTags": ["hvac"],
            "Address": {"Street": "1 Main", "City": null, "Location": {"y": 59.9, "x": 10.7}},
            "WorkWeek": [{"DayOfWeek": 1, "Start": 480, "End": 960, "Lunch": 30}],
            "Data": {"Badge": "7"}});
        let columns: Map<String, Value> = fieldsquared_columns(dto.as_object().unwrap())
            .into_iter()
            .collect();
        assert_eq!(columns["platform_id.fieldsquared"], "5f1");
        assert_eq!(columns["phones"], json!([{"number": "+1 555"}]));
        assert_eq!(columns["active"], false);
        assert_eq!(columns["skills"], json!(["hvac"]));
        assert_eq!(
            columns["address"],
            json!({"street": "1 Main", "lat": 59.9, "lon": 10.7})
        );
        assert_eq!(
            columns["work_week"][0],
            json!({"day": 1, "start": 480, "end": 960, "lunch": 30})
        );
        assert_eq!(columns["attributes"], json!({"Badge": "7"}));
        assert_eq!(columns["Workspace"], "acme");
    }

    #[test]
    fn field_errors_name_users() {
        let keys: Vec<String> = ["T1", "T2"].map(String::from).to_vec();
        let response = json!({"ResponseStatus": {"ErrorCode": "ValidationException",
            "Message": "Validation failed", "Errors": [{"ErrorCode": "Email",
            "FieldName": "Users[1].Email", "Message": "not an e-mail"}]}});
        let failed = outcomes(&response, &keys);
        assert_eq!(failed[1].status, Status::Rejected);
        assert_eq!(failed[0].status, Status::Failed);
        assert!(outcomes(&json!({}), &keys)
            .iter()
            .all(|o| o.status == Status::Accepted));
    }
}
