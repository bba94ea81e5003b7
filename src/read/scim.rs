//! SCIM 2.0 User resources (RFC 7643) as canonical columns, so an identity system's export
//! plans without a map hook.
//!
//! A resource is a whole user: SCIM treats an attribute a resource leaves out as unassigned,
//! the same as `null` (RFC 7643 §2.5), so every mapped field is a column of every row and an
//! attribute left out clears the stored value. `name` is the exception: without a
//! `displayName` it is left out, to be derived from the given and family names as for any
//! row. Attribute names match in any case, as SCIM says they do. docs/inputs.md has the table.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::Row;
use crate::model::structured::{self, Phone};
use crate::model::user::Field;

/// The array a SCIM `ListResponse` keeps its resources in (RFC 7644 §3.4.2).
pub(super) const LIST_ARRAY: &str = "Resources";

/// The core User schema, as a resource's `schemas` names it.
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// The enterprise User extension: an object under this key, or its attributes as
/// `URN:attribute` keys.
const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The enterprise attributes kept in `attributes`, by their SCIM names (`manager` is its
/// `value`, the manager's id).
const ENTERPRISE_ATTRIBUTES: &[&str] = &[
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
];

/// Whether a JSON object names the core User schema in its `schemas`.
pub(super) fn is_user(row: &Row) -> bool {
    match attribute(&row.columns, "schemas") {
        Some(Value::Array(schemas)) => schemas.iter().any(|s| {
            s.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(USER_SCHEMA))
        }),
        _ => false,
    }
}

/// A User resource as canonical columns.
pub(super) fn row(row: Row) -> Row {
    let resource = &row.columns;
    let name = attribute(resource, "name");
    let text = |value: Option<&Value>| match value {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(Value::String(s.clone())),
        Some(other @ (Value::Number(_) | Value::Bool(_))) => Some(other.clone()),
        _ => None,
    };
    let external_id =
        text(attribute(resource, "externalId")).or_else(|| text(attribute(resource, "userName")));

    let mut columns: Vec<(Field, Value)> = vec![
        (Field::ExternalId, external_id.unwrap_or(Value::Null)),
        (Field::Username, or_null(attribute(resource, "userName"))),
        (
            Field::FirstName,
            or_null(name.and_then(|n| member(n, "givenName"))),
        ),
        (
            Field::LastName,
            or_null(name.and_then(|n| member(n, "familyName"))),
        ),
    ];
    if let Some(display) = text(attribute(resource, "displayName")) {
        columns.push((Field::Name, display));
    }
    columns.extend([
        (Field::Email, email(attribute(resource, "emails"))),
        (Field::Phones, phones(attribute(resource, "phoneNumbers"))),
        (Field::Active, or_null(attribute(resource, "active"))),
        (
            Field::Language,
            text(attribute(resource, "preferredLanguage"))
                .or_else(|| text(attribute(resource, "locale")))
                .unwrap_or(Value::Null),
        ),
        (Field::Timezone, or_null(attribute(resource, "timezone"))),
        (Field::UserType, or_null(attribute(resource, "userType"))),
        (Field::Address, address(attribute(resource, "addresses"))),
        (Field::Attributes, enterprise(resource)),
    ]);
    Row {
        position: row.position,
        columns: columns
            .into_iter()
            .map(|(field, value)| (Arc::from(field.name()), value))
            .collect(),
    }
}

/// A resource's attribute, by its name in any case.
fn attribute<'r>(resource: &'r [(Arc<str>, Value)], name: &str) -> Option<&'r Value> {
    resource
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// A sub-attribute of a complex attribute, by its name in any case.
fn member<'v>(object: &'v Value, name: &str) -> Option<&'v Value> {
    object
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn or_null(value: Option<&Value>) -> Value {
    value.cloned().unwrap_or(Value::Null)
}

/// The items of a multi-valued attribute, the `primary` one first.
fn by_primary(values: Option<&Value>) -> Vec<&Value> {
    let mut items: Vec<&Value> = match values {
        Some(Value::Array(items)) => items.iter().filter(|item| item.is_object()).collect(),
        _ => Vec::new(),
    };
    // A stable sort: the primary first, the others in the order given.
    items.sort_by_key(|item| member(item, "primary") != Some(&Value::Bool(true)));
    items
}

/// The primary e-mail address, else the first.
fn email(emails: Option<&Value>) -> Value {
    by_primary(emails)
        .into_iter()
        .find_map(|item| member(item, "value").cloned())
        .unwrap_or(Value::Null)
}

/// Every phone number with its type, the primary first.
fn phones(numbers: Option<&Value>) -> Value {
    let phones: Vec<Phone> = by_primary(numbers)
        .into_iter()
        .filter_map(|item| {
            Some(Phone {
                number: member(item, "value")?.as_str()?.into(),
                kind: member(item, "type").and_then(Value::as_str).map(Into::into),
            })
        })
        .collect();
    if phones.is_empty() {
        Value::Null
    } else {
        structured::write(&phones)
    }
}

/// The primary postal address, else the first, in canonical keys.
fn address(addresses: Option<&Value>) -> Value {
    let Some(first) = by_primary(addresses).into_iter().next() else {
        return Value::Null;
    };
    let mut out = Map::new();
    for (from, to) in [
        ("streetAddress", "street"),
        ("locality", "city"),
        ("region", "state"),
        ("postalCode", "zip"),
        ("country", "country"),
    ] {
        if let Some(value) = member(first, from).filter(|v| !v.is_null()) {
            out.insert(to.to_string(), value.clone());
        }
    }
    if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    }
}

/// The enterprise extension's attributes, from its object or from `URN:attribute` keys.
fn enterprise(resource: &[(Arc<str>, Value)]) -> Value {
    let extension = attribute(resource, ENTERPRISE_SCHEMA);
    let mut out = Map::new();
    for name in ENTERPRISE_ATTRIBUTES {
        let flat = format!("{ENTERPRISE_SCHEMA}:{name}");
        let value = extension
            .and_then(|e| member(e, name))
            .or_else(|| attribute(resource, &flat));
        let value = match value {
            Some(manager) if *name == "manager" && manager.is_object() => {
                member(manager, "value").cloned()
            }
            other => other.cloned(),
        };
        if let Some(value) = value.filter(|v| !v.is_null()) {
            out.insert(name.to_string(), value);
        }
    }
    if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Format, ReadOptions};
    use serde_json::json;

    const ADA: &str = r#"{
      "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
      "id": "2819c223-7f76-453a-919d-413861904646",
      "externalId": "E-0042",
      "userName": "ada@example.com",
      "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
      "displayName": "Ada L.",
      "emails": [
        {"value": "ada.home@example.org", "type": "home"},
        {"value": "ada@example.com", "type": "work", "primary": true}
      ],
      "phoneNumbers": [
        {"value": "+47 400 00 001", "type": "mobile"},
        {"value": "+47 22 00 00 00", "type": "work", "primary": true}
      ],
      "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "Oslo",
                     "postalCode": "0150", "country": "NO", "primary": true}],
      "active": true,
      "preferredLanguage": "nb-NO",
      "locale": "nb-NO",
      "timezone": "Europe/Oslo",
      "userType": "Employee",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "0042",
        "costCenter": "CC-7",
        "organization": "Acme",
        "division": "Field",
        "department": "Service",
        "manager": {"value": "E-0007", "displayName": "Grace"}
      },
      "meta": {"resourceType": "User"}
    }"#;

    fn list(resources: &[&str]) -> String {
        format!(
            "{{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],\n\
             \"totalResults\": {},\n\"Resources\": [\n{}\n]}}",
            resources.len(),
            resources.join(",\n")
        )
    }

    #[test]
    fn a_list_response_maps_the_core_and_enterprise_attributes() {
        let rows = rows("users.json", list(&[ADA]).as_bytes());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].position.to_string(), "users.json:4");
        assert_eq!(
            cells(&rows[0]),
            [
                ("external_id", "E-0042".into()),
                ("username", "ada@example.com".into()),
                ("first_name", "Ada".into()),
                ("last_name", "Lovelace".into()),
                ("name", "Ada L.".into()),
                ("email", "ada@example.com".into()),
                (
                    "phones",
                    json!([
                        {"number": "+47 22 00 00 00", "type": "work"},
                        {"number": "+47 400 00 001", "type": "mobile"}
                    ])
                    .to_string()
                ),
                ("active", "true".into()),
                ("language", "nb-NO".into()),
                ("timezone", "Europe/Oslo".into()),
                ("user_type", "Employee".into()),
                (
                    "address",
                    json!({"street": "1 Main St", "city": "Oslo", "zip": "0150", "country": "NO"})
                        .to_string()
                ),
                (
                    "attributes",
                    json!({"employeeNumber": "0042", "costCenter": "CC-7", "organization": "Acme",
                           "division": "Field", "department": "Service", "manager": "E-0007"})
                    .to_string()
                ),
            ]
        );
    }

    #[test]
    fn left_out_attributes_are_cleared_and_the_key_falls_back_to_the_user_name() {
        let bare = r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "USERNAME": "bo", "Emails": [{"value": "bo@x"}, {"value": "b2@x"}],
                       "locale": "en-GB"}"#;
        let rows = rows("-", list(&[bare]).as_bytes());
        let cells = cells(&rows[0]);
        assert_eq!(cells[0], ("external_id", "bo".into()));
        assert_eq!(cells[1], ("username", "bo".into()));
        assert_eq!(cells[2], ("first_name", "null".into()));
        // No displayName: `name` is left to be derived from the given and family names.
        assert!(!cells.iter().any(|(name, _)| *name == "name"));
        assert!(cells.contains(&("email", "bo@x".into())));
        assert!(cells.contains(&("language", "en-GB".into())));
        for cleared in ["phones", "active", "timezone", "address", "attributes"] {
            assert!(cells.contains(&(cleared, "null".into())), "{cleared}");
        }
    }

    #[test]
    fn one_resource_ndjson_and_forced_format_are_read_as_scim() {
        // One resource as the whole document, with its enterprise attributes as flat keys.
        let one = r#"{
          "userName": "cy",
          "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7",
          "emails": [{"value": "cy@x", "primary": true}],
          "phoneNumbers": [{"value": "1"}]
        }"#;
        let single = rows("cy.json", one.as_bytes());
        assert_eq!(single.len(), 1);
        assert_eq!(single[0].position.to_string(), "cy.json:1");
        assert_eq!(single[0].get("email"), Some(&json!("cy@x")));
        assert_eq!(
            single[0].get("attributes"),
            Some(&json!({"employeeNumber": "7"}))
        );

        // NDJSON of resources.
        let lines = "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"a\"}\n\
                     {\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"b\"}\n";
        let ndjson = rows("-", lines.as_bytes());
        assert_eq!(ndjson[1].get("external_id"), Some(&json!("b")));

        // `--format scim` maps resources that do not name their schema.
        let options = ReadOptions {
            format: Format::Scim,
            ..ReadOptions::default()
        };
        let (_, rows) = read_bytes("u.json", b"[{\"userName\": \"d\"}]", &options).unwrap();
        assert_eq!(rows[0].get("external_id"), Some(&json!("d")));
        // `--format json` keeps SCIM's own names, for a map hook.
        let options = ReadOptions {
            format: Format::Json,
            ..ReadOptions::default()
        };
        let (_, rows) = read_bytes("u.json", list(&[ADA]).as_bytes(), &options).unwrap();
        assert_eq!(rows[0].get("userName"), Some(&json!("ada@example.com")));
    }
}
