//! The built-in mapping: columns that carry canonical names become user fields.
//!
//! Used for tenants without a `map` hook, and to turn the map a `map` hook returns into a
//! [`User`]. Column names match case-insensitively (`First Name` is `first_name`); dotted
//! columns fill structured fields (`address.city`, `attributes.cost_center`). A file mapped
//! so has its columns checked first ([`check_canonical_columns`]).

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::problem::Problem;
use crate::model::user::{self, Field, FieldKind, FieldSet, Op, User, CUD};

/// A row turned into a canonical user, with what went wrong on the way.
#[derive(Debug, Clone, Default)]
pub struct Mapped {
    /// The operation the row asks for.
    pub op: Op,
    /// The user's fields.
    pub user: User,
    /// Values that did not fit their field, and a bad `cud`.
    pub problems: Vec<Problem>,
    /// Column names that are not canonical fields (reported once per run by the planner).
    pub unknown_columns: Vec<String>,
    /// Ids the platforms assigned, from `platform_id.<vendor>` columns (vendor exports).
    pub platform_ids: Map<String, Value>,
}

/// The prefix of the columns that carry platform-assigned ids (`platform_id.esystems`).
pub const PLATFORM_ID: &str = "platform_id.";

/// Maps named values (source columns, or a map hook's result) to a canonical user; the values
/// are moved into it.
pub fn map_columns<Name: AsRef<str>>(
    columns: impl IntoIterator<Item = (Name, Value)>,
    list_separator: char,
) -> Mapped {
    let mut mapping = Mapping::new(list_separator, None);
    for (name, raw) in columns {
        mapping.cell(Column::of(name.as_ref()), raw);
    }
    mapping.finish()
}

/// [`map_columns`] of columns already told apart by their names ([`Column::of`], once per
/// header), building only the fields in `built` (all when `None`): the cells of the other
/// fields are only checked, so they report the same problems, and the user lacks them. The
/// structured fields that dotted columns fill are always built.
pub fn map_columns_building<'n>(
    columns: impl IntoIterator<Item = (Column<'n>, impl Cell)>,
    list_separator: char,
    built: Option<&FieldSet>,
) -> Mapped {
    let mut mapping = Mapping::new(list_separator, built);
    for (column, raw) in columns {
        mapping.cell(column, raw);
    }
    mapping.finish()
}

/// What a source column is to the mapping, told by its name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column<'n> {
    /// The operation (`cud`).
    Op,
    /// An id a platform assigned (`platform_id.<vendor>`): the vendor.
    PlatformId(&'n str),
    /// A canonical field.
    Field(Field),
    /// A part of a structured field (`address.city`): the field and the part's name.
    Nested(Field, &'n str),
    /// Not a canonical field.
    Unknown(&'n str),
}

impl<'n> Column<'n> {
    /// What the column named `name` fills.
    pub fn of(name: &'n str) -> Column<'n> {
        if name.eq_ignore_ascii_case(CUD) {
            return Column::Op;
        }
        if let Some(vendor) = name.strip_prefix(PLATFORM_ID) {
            return Column::PlatformId(vendor);
        }
        if let Some(field) = Field::parse(name) {
            return Column::Field(field);
        }
        let nested = name.split_once('.').and_then(|(head, tail)| {
            Field::parse(head)
                .filter(|f| is_nested(*f))
                .map(|f| Column::Nested(f, tail.trim()))
        });
        nested.unwrap_or(Column::Unknown(name))
    }
}

/// A cell as the mapping takes it: a typed value, or a CSV cell's text that becomes a value
/// only when one is needed.
pub trait Cell {
    /// The cell's text, when it is text.
    fn text(&self) -> Option<&str>;
    /// The cell as a value.
    fn into_value(self) -> Value;
}

impl Cell for Value {
    fn text(&self) -> Option<&str> {
        self.as_str()
    }

    fn into_value(self) -> Value {
        self
    }
}

impl Cell for &str {
    fn text(&self) -> Option<&str> {
        Some(self)
    }

    fn into_value(self) -> Value {
        Value::String(self.to_string())
    }
}

/// A row being mapped, cell by cell.
struct Mapping<'b> {
    mapped: Mapped,
    nested: Vec<(Field, String, Value)>,
    separator: char,
    /// The fields to build (all when `None`).
    built: Option<&'b FieldSet>,
}

impl<'b> Mapping<'b> {
    fn new(separator: char, built: Option<&'b FieldSet>) -> Mapping<'b> {
        Mapping {
            mapped: Mapped::default(),
            nested: Vec::new(),
            separator,
            built,
        }
    }

    fn cell(&mut self, column: Column, raw: impl Cell) {
        let mapped = &mut self.mapped;
        match column {
            Column::Op => set_op(mapped, &raw.into_value()),
            Column::PlatformId(vendor) => {
                let raw = raw.into_value();
                if !user::is_empty(&raw) {
                    mapped.platform_ids.insert(vendor.to_string(), raw);
                }
            }
            Column::Field(field) => {
                let build = self
                    .built
                    .is_none_or(|built| built[field] || is_nested(field));
                if !build
                    && raw
                        .text()
                        .is_some_and(|text| user::accepts_text(field, text))
                {
                    return;
                }
                match user::normalize(field, raw.into_value(), self.separator) {
                    Ok(value) if build => mapped.user.set(field, value),
                    Ok(_) => {}
                    Err(e) => mapped
                        .problems
                        .push(Problem::error("Type", e.0).on_field(field.name())),
                }
            }
            Column::Nested(field, sub) => {
                self.nested.push((field, sub.to_string(), raw.into_value()))
            }
            Column::Unknown(name) => mapped.unknown_columns.push(name.to_string()),
        }
    }

    fn finish(mut self) -> Mapped {
        merge_nested(&mut self.mapped, self.nested, self.separator);
        if self
            .built
            .is_none_or(|built| built[Field::Name] || built[Field::Initials])
        {
            self.mapped.user.derive_names();
        }
        self.mapped
    }
}

/// Whether dotted columns fill the field (`address.city`).
fn is_nested(field: Field) -> bool {
    matches!(field.kind(), FieldKind::Address | FieldKind::Attributes)
}

fn set_op(mapped: &mut Mapped, raw: &Value) {
    let text = match raw {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match Op::parse(&text) {
        Some(op) => mapped.op = op,
        None => mapped.problems.push(
            Problem::error(
                "Type",
                format!("`{text}` is not an operation (use 1/2/3 or create/upsert/delete)"),
            )
            .on_field(CUD),
        ),
    }
}

/// Dotted columns (`address.city`) are gathered into one object per field, then normalised.
fn merge_nested(mapped: &mut Mapped, nested: Vec<(Field, String, Value)>, separator: char) {
    let mut objects: Vec<(Field, Map<String, Value>)> = Vec::new();
    for (field, sub, raw) in nested {
        let key = match field.kind() {
            FieldKind::Attributes => sub,
            _ => user::normalize_name(&sub),
        };
        match objects.iter_mut().find(|(f, _)| *f == field) {
            Some((_, object)) => {
                object.insert(key, raw);
            }
            None => objects.push((field, Map::from_iter([(key, raw)]))),
        }
    }
    for (field, object) in objects {
        if mapped.user.has(field) {
            mapped.problems.push(
                Problem::error(
                    "Type",
                    format!("`{field}` is given both whole and as dotted columns"),
                )
                .on_field(field.name()),
            );
            continue;
        }
        match user::normalize(field, Value::Object(object), separator) {
            Ok(value) => mapped.user.set(field, value),
            Err(e) => mapped
                .problems
                .push(Problem::error("Type", e.0).on_field(field.name())),
        }
    }
}

/// Without a map hook the columns are the fields: a file whose key column is missing, or
/// with two columns for one field, is refused whole rather than rejected row by row.
pub fn check_canonical_columns<'n>(at: &str, names: impl Iterator<Item = &'n str>) -> Result<()> {
    let columns: Vec<&str> = names.collect();
    let mut seen: HashMap<Field, &str> = HashMap::new();
    for &name in &columns {
        if let Some(field) = Field::parse(name) {
            if let Some(first) = seen.insert(field, name) {
                return Err(Error::input(
                    at,
                    format!(
                        "columns `{first}` and `{name}` both fill `{field}`; remove or rename one"
                    ),
                ));
            }
        }
    }
    if seen.contains_key(&Field::ExternalId) {
        return Ok(());
    }
    let hint = columns
        .iter()
        .find(|c| user::nearest_field(c) == Some(Field::ExternalId))
        .map(|c| {
            format!(
                "; is `{c}` the key? rename it to `external_id`, or map it in tenant.toml's `[map.columns]` (`\"{c}\" = \"external_id\"`)"
            )
        })
        .unwrap_or_else(|| "; add one, or map the key in tenant.toml's `[map.columns]` or a rules `map` hook".to_string());
    Err(Error::input(
        at,
        format!(
            "no key column `external_id` (the columns are {}){hint}",
            columns.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(pairs: &[(&str, Value)]) -> Mapped {
        map_columns(pairs.iter().map(|(k, v)| (*k, v.clone())), ';')
    }

    #[test]
    fn canonical_columns_map_case_insensitively() {
        let m = map(&[("External_ID", json!("u1")), ("Email", json!("a@b.c"))]);
        assert_eq!(m.user.key(), Some("u1"));
        assert_eq!(m.user.get(Field::Email), Some(&json!("a@b.c")));
        assert!(m.problems.is_empty() && m.unknown_columns.is_empty());
    }

    #[test]
    fn unknown_columns_are_collected() {
        let m = map(&[("external_id", json!("u1")), ("Cost Centre", json!("x"))]);
        assert_eq!(m.unknown_columns, vec!["Cost Centre".to_string()]);
    }

    #[test]
    fn dotted_columns_build_objects() {
        let m = map(&[
            ("external_id", json!("u1")),
            ("address.city", json!("Oslo")),
            ("attributes.Cost Center", json!("42")),
        ]);
        assert_eq!(m.user.get(Field::Address), Some(&json!({"city": "Oslo"})));
        assert_eq!(
            m.user.get(Field::Attributes),
            Some(&json!({"Cost Center": "42"}))
        );
    }

    #[test]
    fn platform_id_columns_are_kept_beside_the_user() {
        let m = map(&[
            ("external_id", json!("u1")),
            ("platform_id.esystems", json!(12)),
        ]);
        assert_eq!(m.platform_ids.get("esystems"), Some(&json!(12)));
        assert!(m.unknown_columns.is_empty() && !m.user.has(Field::Attributes));
    }

    #[test]
    fn cud_column_sets_the_operation() {
        assert_eq!(map(&[("CUD", json!("3"))]).op, Op::Delete);
        assert_eq!(map(&[("cud", json!(1))]).op, Op::Create);
        assert_eq!(map(&[("cud", json!("9"))]).problems[0].rule, "Type");
    }

    #[test]
    fn building_some_fields_checks_the_others_alike() {
        let cells = [
            ("external_id", " u1 "),
            ("first_name", "Ada"),
            ("active", "perhaps"),
            ("roles", "[[1]]"),
            ("teams", "a;b"),
            ("address", "Main St"),
            ("phones", "mobile:+47 1"),
            ("cud", "9"),
            ("Shoe size", "44"),
        ];
        let all = map_columns(cells.map(|(k, v)| (k, json!(v))), ';');
        let mut built = FieldSet::default();
        built[Field::ExternalId] = true;
        let columns = || cells.map(|(name, text)| (Column::of(name), text));
        let some = map_columns_building(columns(), ';', Some(&built));
        assert_eq!(some.problems, all.problems);
        assert_eq!(some.problems.len(), 4, "{:?}", some.problems);
        assert_eq!(some.unknown_columns, all.unknown_columns);
        let fields: Vec<Field> = some.user.fields().map(|(field, _)| field).collect();
        assert_eq!(fields, vec![Field::ExternalId]);
        assert_eq!(some.user.key(), Some("u1"));
        let everything = map_columns_building(columns(), ';', None);
        assert_eq!(everything.user, all.user);
    }

    #[test]
    fn a_bad_value_is_a_type_problem_on_its_field() {
        let m = map(&[("active", json!("perhaps"))]);
        assert_eq!(m.problems[0].field.as_deref(), Some("active"));
    }
}
