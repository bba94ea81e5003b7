//! ServicePower ServiceMobility: `POST /seiapi/v3/bulk/Users` with User Objects, and its
//! `{code, detail}` responses (see `docs/architecture.md`).
//!
//! `UserID` is the canonical `username` when set, else `external_id`. `Roles`, `Password` and
//! `ResetPassword` are sent only when the plan sets them: the vendor leaves an absent `Roles`
//! or `Password` unmodified, and a stored `reset_password: true` must not reset the password
//! again on every later update. `ResetPassword: true` makes the vendor ignore `Password`, so
//! the two are never sent together. Updates carry the whole record, so the vendor ends up
//! with what the state holds.

use serde::Serialize;
use serde_json::{Map, Value};

use super::results::{self, Outcome};
use super::{
    attributes, boolean, column, items_in_batches, list, put, text_or_null, Batch, Context,
    ExportUser, Hook, Operation, OrEmpty, PayloadItem, Text,
};
use crate::error::{Error, RefusedKind, Result};
use crate::model::structured::Phone;
use crate::model::user::{Field, CUD};

/// The HTTP method of the bulk endpoint.
pub const METHOD: &str = "POST";

/// The bulk endpoint. The deprecated `customerid`/`customercode` query is left out: the
/// vendor authenticates with the `x-access-token` header.
pub const PATH: &str = "/seiapi/v3/bulk/Users";

/// The files of a ServicePower export: `{"Users": […]}`, at most `batch_size` users each.
/// An update that changes a `username` is refused: the username is the `UserID`, and
/// sending the new one would create a second user rather than rename the first.
pub fn batches(
    users: &[ExportUser],
    context: &Context,
    hook: Option<&mut Hook>,
) -> Result<Vec<Batch>> {
    users.iter().try_for_each(refuse_rename)?;
    let key = context.settings.servicepower_key_extension.as_deref();
    let batches = items_in_batches(users, context.batch_size, hook, &mut |u| item(u, key))?;
    Ok(batches
        .into_iter()
        .map(|items| {
            Batch::new(METHOD, PATH.to_string(), items, context, |users| Body {
                users,
            })
        })
        .collect())
}

/// Refuses an update that changes a `username`: the username is the `UserID`, and sending
/// the new one would create a second user rather than rename the first.
pub(super) fn refuse_rename(user: &ExportUser) -> Result<()> {
    if user.operation == Operation::Update && user.plan_touches(Field::Username) {
        return Err(Error::refused(RefusedKind::Vendor, format!(
            "user {} changes `username`, which is its ServicePower `UserID` and cannot be renamed by the bulk API; keep the username, or delete the user and create it again",
            user.describe()
        )));
    }
    Ok(())
}

/// The body of a bulk request.
#[derive(Serialize)]
struct Body<T> {
    #[serde(rename = "Users")]
    users: Vec<T>,
}

/// One User Object, its properties in the order a JSON object of them sorts in.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserObject<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    activated: Option<bool>,
    /// 1 create, 2 update, 3 delete.
    #[serde(rename = "CUD")]
    cud: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extensions: Option<Extensions<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_mobile_worker: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language_code: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phones: Option<Phones<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reset_password: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<OrEmpty<'a>>,
    #[serde(rename = "ServiceTeamID", skip_serializing_if = "Option::is_none")]
    service_team_id: Option<&'a Value>,
    #[serde(rename = "UserID")]
    user_id: &'a str,
}

impl PayloadItem for UserObject<'_> {
    fn has_password(&self) -> bool {
        self.password.is_some()
    }
}

/// One User Object with its `CUD`: 1 create, 2 update, 3 delete (`UserID` and `CUD` only).
/// `key_extension` names the `Extensions` entry that carries roster's key, if any.
pub fn item<'a>(user: &'a ExportUser, key_extension: Option<&'a str>) -> Result<UserObject<'a>> {
    let user_id = user
        .text(Field::Username)
        .filter(|u| !u.is_empty())
        .unwrap_or(&user.key);
    let cud = match user.operation {
        Operation::Create => 1,
        Operation::Update | Operation::Unchanged => 2,
        Operation::Delete => 3,
    };
    let mut item = UserObject {
        user_id,
        cud,
        activated: None,
        email: None,
        extensions: None,
        first_name: None,
        is_mobile_worker: None,
        language_code: None,
        last_name: None,
        locked: None,
        password: None,
        phones: None,
        reset_password: None,
        roles: None,
        service_team_id: None,
    };
    if user.operation == Operation::Delete {
        return Ok(item);
    }
    item.first_name = text_or_null(user.get(Field::FirstName));
    item.last_name = text_or_null(user.get(Field::LastName));
    item.email = text_or_null(user.get(Field::Email));
    item.phones = user.phones()?.map(Phones);
    item.service_team_id = user.get(Field::Teams).map(|teams| {
        const NULL: &Value = &Value::Null;
        teams.as_array().and_then(|t| t.first()).unwrap_or(NULL)
    });
    item.language_code = text_or_null(user.get(Field::Language));
    item.is_mobile_worker = boolean(user.get(Field::MobileWorker));
    item.activated = boolean(user.get(Field::Active));
    item.locked = boolean(user.get(Field::Locked));
    item.extensions = Extensions::of(
        attributes(user.get(Field::Attributes)),
        key_extension,
        &user.key,
    );
    if user.plan_touches(Field::Roles) {
        item.roles = list(user.get(Field::Roles));
    }
    let reset = user.plan_touches(Field::ResetPassword)
        && user.get(Field::ResetPassword) == Some(&Value::Bool(true));
    if user.plan_touches(Field::ResetPassword) {
        item.reset_password = boolean(user.get(Field::ResetPassword));
    }
    item.password = user.password.as_deref().filter(|_| !reset);
    Ok(item)
}

/// `Extensions`: the attributes, plus roster's key under the tenant's `servicepower_key_field`.
#[derive(Debug)]
pub struct Extensions<'a> {
    attributes: Option<OrEmpty<'a>>,
    key: Option<(&'a str, &'a str)>,
}

impl<'a> Extensions<'a> {
    fn of(
        attributes: Option<OrEmpty<'a>>,
        key_extension: Option<&'a str>,
        key: &'a str,
    ) -> Option<Extensions<'a>> {
        let key = key_extension.map(|name| (name, key));
        (attributes.is_some() || key.is_some()).then_some(Extensions { attributes, key })
    }
}

impl Serialize for Extensions<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some((name, key)) = self.key else {
            return self.attributes.serialize(serializer);
        };
        let mut map = serializer.serialize_map(None)?;
        if let Some(OrEmpty::Value(Value::Object(attributes))) = &self.attributes {
            for (entry, value) in attributes.iter().filter(|(entry, _)| *entry != name) {
                map.serialize_entry(entry, value)?;
            }
        }
        map.serialize_entry(name, key)?;
        map.end()
    }
}

/// The canonical phones as ServicePower's `[{"PhoneNum", "PhoneType"}]`.
#[derive(Debug)]
pub struct Phones<'a>(Vec<Phone<'a>>);

impl Serialize for Phones<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|phone| PhoneObject {
            number: &phone.number,
            kind: phone.kind.as_deref(),
        }))
    }
}

#[derive(Serialize)]
struct PhoneObject<'a> {
    #[serde(rename = "PhoneNum")]
    number: &'a str,
    #[serde(rename = "PhoneType", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
}

/// A User Object (from a vendor file given as input) as canonical columns: `UserID` fills
/// `username`, and `external_id` too unless `key_extension` names the `Extensions` entry
/// that carries roster's key (then that entry fills `external_id`, and the other entries
/// the attributes). `ServiceTeamID` fills the one team, `CUD` the `cud` column. Properties
/// roster does not model keep their name, so the reader reports them.
pub fn servicepower_columns(
    item: &Map<String, Value>,
    key_extension: Option<&str>,
) -> Vec<(String, Value)> {
    let mut columns = Vec::new();
    let carried = key_extension.and_then(|name| item.get("Extensions")?.get(name));
    if let Some(key) = carried {
        columns.push(column(Field::ExternalId.name(), key));
    }
    for (name, value) in item {
        match name.as_str() {
            // An export sends the key as `UserID` when the user has no login of its own.
            "UserID" if carried.is_some_and(|key| key == value) => {}
            "UserID" => {
                if carried.is_none() {
                    columns.push(column(Field::ExternalId.name(), value));
                }
                columns.push(column(Field::Username.name(), value));
            }
            "Extensions" if carried.is_some() => {
                let mut rest = value.as_object().cloned().unwrap_or_default();
                rest.remove(key_extension.unwrap_or_default());
                if !rest.is_empty() {
                    columns.push((Field::Attributes.name().into(), Value::Object(rest)));
                }
            }
            "CUD" => columns.push(column(CUD, value)),
            "FirstName" => columns.push(column(Field::FirstName.name(), value)),
            "LastName" => columns.push(column(Field::LastName.name(), value)),
            "Email" => columns.push(column(Field::Email.name(), value)),
            "Phones" => columns.push((Field::Phones.name().into(), canonical_phones(value))),
            "ServiceTeamID" => {
                let teams = match value {
                    Value::Null => Value::Null,
                    team => Value::Array(vec![team.clone()]),
                };
                columns.push((Field::Teams.name().into(), teams));
            }
            "Roles" => columns.push(column(Field::Roles.name(), value)),
            "LanguageCode" => columns.push(column(Field::Language.name(), value)),
            "IsMobileWorker" => columns.push(column(Field::MobileWorker.name(), value)),
            "Activated" => columns.push(column(Field::Active.name(), value)),
            "Locked" => columns.push(column(Field::Locked.name(), value)),
            "ResetPassword" => columns.push(column(Field::ResetPassword.name(), value)),
            "Password" => columns.push(column(Field::Password.name(), value)),
            "Extensions" => columns.push(column(Field::Attributes.name(), value)),
            _ => columns.push(column(name, value)),
        }
    }
    columns
}

/// The users a state load (plan `plan_id`) would re-key: each created user whose key is the
/// `UserID` a stored user of another key is exported with (its `username`), as
/// `(UserID, stored key)`. ServicePower's User Object does not carry roster's key unless the
/// tenant names the `Extensions` entry that does, so loading such an export would replace
/// every user that has a login of its own by a new one.
pub fn rekeyed(
    conn: &rusqlite::Connection,
    tenant: &str,
    plan_id: i64,
) -> Result<Vec<(String, String)>> {
    let mut logins = std::collections::HashMap::new();
    crate::store::state::for_each(conn, tenant, |key, user| {
        let login = user
            .record
            .get(Field::Username.name())
            .and_then(Value::as_str);
        if let Some(login) = login.filter(|l| !l.is_empty() && *l != key) {
            logins.insert(login.to_string(), key.to_string());
        }
        Ok(())
    })?;
    let mut rekeyed = Vec::new();
    crate::store::plans::for_each_change(conn, plan_id, |change| {
        if change.action == crate::model::change::Action::Create {
            if let Some(stored) = logins.get(&change.key) {
                rekeyed.push((change.key, stored.clone()));
            }
        }
        Ok(())
    })?;
    Ok(rekeyed)
}

fn canonical_phones(value: &Value) -> Value {
    match value {
        Value::Array(phones) => Value::Array(
            phones
                .iter()
                .map(|phone| {
                    let mut out = Map::new();
                    put(&mut out, "number", phone.get("PhoneNum").cloned());
                    put(
                        &mut out,
                        "type",
                        phone.get("PhoneType").filter(|t| !t.is_null()).cloned(),
                    );
                    Value::Object(out)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What a response `{code, detail: {message, params, dataPath}}` (or an array of them) says
/// about each user of the batch: a `dataPath` like `Users[3].Email` names `keys[3]` (rejected
/// with a code of 400 or more, else accepted with a warning; a 409 is a conflict). A code of
/// 400 or more means the request failed, so the users it does not name are `failed`, never
/// assumed loaded.
pub fn outcomes(response: &Value, keys: &[String]) -> Vec<Outcome> {
    let responses = match response {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    let mut named = Vec::new();
    let mut failure = None;
    for response in responses {
        let code = response["code"].as_i64().unwrap_or(200);
        let detail = &response["detail"];
        let message = detail["message"].as_str().unwrap_or_default();
        let message = match detail["params"].as_object().filter(|p| !p.is_empty()) {
            Some(params) => format!("{message} ({})", Value::Object(params.clone())),
            None => message.to_string(),
        };
        let path = detail["dataPath"].as_str().unwrap_or_default();
        if let Some(index) = results::item_index(path).filter(|i| *i < keys.len()) {
            let mut outcome = Outcome::named(index, code >= 400, path, &message);
            outcome.conflict = code == 409;
            named.push(outcome);
        }
        if code >= 400 {
            failure = Some(format!("the vendor answered {code}: {message}"));
        }
    }
    results::complete(named, failure, keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::change::{Action, Change};
    use crate::model::vendor::Status;
    use serde_json::json;

    fn json_item(user: &ExportUser) -> Value {
        serde_json::to_value(item(user, None).unwrap()).unwrap()
    }

    fn user(action: Action, after: Value, password: Option<&str>) -> ExportUser {
        let change = Change {
            action,
            key: "T1".into(),
            source: None,
            fields: Vec::new(),
            before: Some(
                json!({"external_id": "T1", "username": "ada"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            after: after.as_object().cloned(),
            platform_ids: None,
        };
        ExportUser::from_change(change, password.map(str::to_string))
    }

    #[test]
    fn a_create_carries_the_user_object_names() {
        let after = json!({
            "external_id": "T1", "first_name": "Ada", "email": "ada@x",
            "phones": [{"number": "+1 555", "type": "mobile"}], "teams": ["North", "South"],
            "language": "en", "mobile_worker": true, "active": false, "roles": ["tech"],
            "attributes": {"Cost Center": "42"}
        });
        let item = json_item(&user(Action::Create, after, Some("pw")));
        assert_eq!(
            item,
            json!({
                "UserID": "T1", "CUD": 1, "FirstName": "Ada", "Email": "ada@x",
                "Phones": [{"PhoneNum": "+1 555", "PhoneType": "mobile"}],
                "ServiceTeamID": "North", "LanguageCode": "en", "IsMobileWorker": true,
                "Activated": false, "Roles": ["tech"], "Extensions": {"Cost Center": "42"},
                "Password": "pw"
            })
        );
    }

    #[test]
    fn reset_password_wins_over_password() {
        let after = json!({"external_id": "T1", "username": "ada", "reset_password": true});
        let item = json_item(&user(Action::Create, after, Some("pw")));
        assert_eq!(item["UserID"], "ada");
        assert_eq!(item["ResetPassword"], true);
        assert!(item.get("Password").is_none());
    }

    #[test]
    fn a_username_change_is_refused() {
        let change = Change {
            action: Action::Update,
            key: "T1".into(),
            source: Some("in.csv:3".into()),
            fields: vec![crate::model::change::FieldChange {
                field: "username".into(),
                before: json!("ada"),
                after: json!("ada.l"),
            }],
            before: None,
            after: json!({"external_id": "T1", "username": "ada.l"})
                .as_object()
                .cloned(),
            platform_ids: None,
        };
        let users = [ExportUser::from_change(change, None)];
        let settings = crate::rules::RulePack::load(std::path::Path::new("rules"), "default")
            .unwrap()
            .settings()
            .clone();
        let context = Context {
            plan_id: 1,
            sync: false,
            batch_size: 1,
            settings: &settings,
            workspace: None,
            first_batch: 0,
            locations: &crate::vendor::esystems::LocationField::default(),
            bodies: true,
        };
        let error = batches(&users, &context, None).unwrap_err().to_string();
        assert!(
            error.contains("`T1` (in.csv:3) changes `username`"),
            "{error}"
        );
    }

    #[test]
    fn a_delete_is_the_user_id_and_cud_only() {
        let item = json_item(&user(Action::Delete, Value::Null, None));
        assert_eq!(item, json!({"UserID": "ada", "CUD": 3}));
    }

    #[test]
    fn a_user_object_maps_back_to_canonical_columns() {
        // A User Object with every property filled in.
        let object = json!({
            "Activated": true, "AuthenticationID": "", "Email": "ada@x",
            "Extensions": {"key1": "value1"}, "FirstName": "Ada", "IsMobileWorker": true,
            "LanguageCode": "en", "LastName": "Lovelace", "Locked": false,
            "Phones": [{"PhoneNum": "555", "PhoneType": "Mobile"}], "ResetPassword": false,
            "ServiceTeamID": "North", "UserID": "T1", "CUD": 2
        });
        let columns: Map<String, Value> = servicepower_columns(object.as_object().unwrap(), None)
            .into_iter()
            .collect();
        assert_eq!(columns["external_id"], "T1");
        assert_eq!(columns["username"], "T1");
        assert_eq!(columns["cud"], 2);
        assert_eq!(columns["teams"], json!(["North"]));
        assert_eq!(
            columns["phones"],
            json!([{"number": "555", "type": "Mobile"}])
        );
        assert_eq!(columns["attributes"], json!({"key1": "value1"}));
        assert_eq!(columns["active"], true);
        assert_eq!(columns["AuthenticationID"], "");
    }

    #[test]
    fn a_data_path_names_the_user_and_the_rest_fail_with_the_batch() {
        let keys: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let response = json!({"code": 400, "detail": {"message": "invalid e-mail",
            "params": {"value": "x@"}, "dataPath": "Users[1].Email"}});
        let failed = outcomes(&response, &keys);
        assert_eq!(failed[1].status, Status::Rejected);
        assert_eq!(failed[1].path.as_deref(), Some("Users[1].Email"));
        assert!(failed[1].message.contains("invalid e-mail"));
        assert_eq!(failed[0].status, Status::Failed);
        assert!(failed[0].message.contains("answered 400"));
        let ok = outcomes(&json!({"code": 200, "detail": {"message": ""}}), &keys);
        assert!(ok.iter().all(|o| o.status == Status::Accepted));
        let warned = outcomes(
            &json!({"code": 200, "detail": {"message": "deprecated", "dataPath": "Users[2].SMS"}}),
            &keys,
        );
        assert_eq!(warned[2].status, Status::Warning);
        assert_eq!(warned[0].status, Status::Accepted);
    }
}
