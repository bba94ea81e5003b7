//! The canonical user: its fields, their kinds, and the absent / clear / value tri-state.
//!
//! A [`User`] holds only the fields a source row carried. A field that is absent leaves the
//! stored value alone; a field present as `Value::Null` clears it; any other value sets it.
//! Values are kept as `serde_json::Value` in a normal form per [`FieldKind`], so two users
//! compare, hash and serialise the same way whatever file format they came from. The
//! structured fields read typed ([`User::phones`], [`User::address`], [`User::work_week`]):
//! their shapes are the types of [`super::structured`].

use std::borrow::Cow;
use std::fmt;

use enum_map::EnumMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::structured::{self, Address, Phone, WorkDay, WorkWeek};

/// The operation a source row asks for (the vendors' `CUD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Op {
    /// `1`: insert; an error when the user already exists.
    Create,
    /// `2`: update, or insert when missing (the default).
    #[default]
    Upsert,
    /// `3`: delete; a warning when the user does not exist.
    Delete,
}

impl Op {
    /// Parses `1`/`2`/`3` or `create`/`upsert`/`delete` (also `insert`, `update`), any case.
    pub fn parse(text: &str) -> Option<Op> {
        match text.trim().to_ascii_lowercase().as_str() {
            "1" | "create" | "insert" => Some(Op::Create),
            "2" | "upsert" | "update" | "" => Some(Op::Upsert),
            "3" | "delete" | "remove" => Some(Op::Delete),
            _ => None,
        }
    }
}

/// How a field's value is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A string.
    Text,
    /// A boolean; text accepts true/false/yes/no/1/0.
    Bool,
    /// A list of strings; text is split on the tenant's list separator.
    List,
    /// A list of [`Phone`]s.
    Phones,
    /// An [`Address`].
    Address,
    /// A [`WorkWeek`]: a list of [`WorkDay`]s.
    WorkWeek,
    /// A map of string to string.
    Attributes,
    /// A password: never printed, stored only as a salted hash.
    Secret,
}

macro_rules! fields {
    ($($variant:ident => $name:literal, $kind:ident;)*) => {
        /// A canonical user field: what every source maps to and every vendor payload is made from.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, enum_map::Enum)]
        pub enum Field { $($variant),* }

        impl Field {
            /// Every field, in the order tables and payloads list them.
            pub const ALL: &'static [Field] = &[$(Field::$variant),*];

            /// The snake_case name used in files, rules and the workspace.
            pub fn name(self) -> &'static str {
                match self { $(Field::$variant => $name),* }
            }

            /// Finds a field by its exact canonical name.
            pub fn from_name(name: &str) -> Option<Field> {
                match name { $($name => Some(Field::$variant),)* _ => None }
            }

            /// The shape of the field's value.
            pub fn kind(self) -> FieldKind {
                match self { $(Field::$variant => FieldKind::$kind),* }
            }
        }
    };
}

fields! {
    ExternalId => "external_id", Text;
    Username => "username", Text;
    FirstName => "first_name", Text;
    LastName => "last_name", Text;
    Name => "name", Text;
    Initials => "initials", Text;
    Email => "email", Text;
    Phones => "phones", Phones;
    Roles => "roles", List;
    Teams => "teams", List;
    Skills => "skills", List;
    Language => "language", Text;
    Timezone => "timezone", Text;
    UserType => "user_type", Text;
    Location => "location", Text;
    Active => "active", Bool;
    Locked => "locked", Bool;
    MobileWorker => "mobile_worker", Bool;
    ResetPassword => "reset_password", Bool;
    Password => "password", Secret;
    Address => "address", Address;
    WorkWeek => "work_week", WorkWeek;
    Attributes => "attributes", Attributes;
}

/// A yes or no for each field (which fields a step reads, say).
pub type FieldSet = EnumMap<Field, bool>;

/// The name of the column or map key that carries the operation.
pub const CUD: &str = "cud";

impl Field {
    /// Finds a field by its canonical name, ignoring case and treating spaces and dashes
    /// as underscores (`First Name` is `first_name`).
    pub fn parse(name: &str) -> Option<Field> {
        Field::from_name(name).or_else(|| Field::from_name(&normalize_name(name)))
    }

    /// Whether the value must never be shown.
    pub fn is_secret(self) -> bool {
        self.kind() == FieldKind::Secret
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Lowercases a column name and turns spaces and dashes into underscores.
pub fn normalize_name(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The known name nearest to `name` (for "did you mean" hints), if any is close.
pub fn nearest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = normalize_name(name);
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(&wanted, k), k))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// The field nearest to an unknown name.
pub fn nearest_field(name: &str) -> Option<Field> {
    nearest(name, Field::ALL.iter().map(|f| f.name())).and_then(Field::parse)
}

/// One canonical user as read from a source: only the fields the source carried.
///
/// A slot per field, indexed by the field itself: reading or setting a field is an array
/// access, and the present fields come out in canonical order. The slots are boxed, so a
/// user moves between threads and stages as one pointer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    fields: Box<EnumMap<Field, Option<Value>>>,
}

impl User {
    /// An empty user (no field present).
    pub fn new() -> User {
        User::default()
    }

    /// The key, when present and not empty.
    pub fn key(&self) -> Option<&str> {
        self.get(Field::ExternalId)
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
    }

    /// The field's value: `None` when absent, `Some(Null)` when cleared.
    pub fn get(&self, field: Field) -> Option<&Value> {
        self.fields[field].as_ref()
    }

    /// Sets a field to an already normalised value (`Null` clears it).
    pub fn set(&mut self, field: Field, value: Value) {
        self.fields[field] = Some(value);
    }

    /// Keeps only the fields `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(Field) -> bool) {
        for (field, slot) in self.fields.iter_mut() {
            if slot.is_some() && !keep(field) {
                *slot = None;
            }
        }
    }

    /// Makes the field absent again.
    pub fn remove(&mut self, field: Field) -> Option<Value> {
        self.fields[field].take()
    }

    /// Whether the field is present (set or cleared).
    pub fn has(&self, field: Field) -> bool {
        self.fields[field].is_some()
    }

    /// The present fields with their values, in canonical order.
    pub fn fields(&self) -> impl Iterator<Item = (Field, &Value)> {
        self.fields
            .iter()
            .filter_map(|(field, slot)| slot.as_ref().map(|value| (field, value)))
    }

    /// The present fields with their values, taken out of the user.
    pub fn into_fields(self) -> impl Iterator<Item = (Field, Value)> {
        self.fields
            .into_iter()
            .filter_map(|(field, slot)| slot.map(|value| (field, value)))
    }

    /// Fills `name` and `initials` from the first and last names when the source left them out.
    pub fn derive_names(&mut self) {
        let first = text(self.get(Field::FirstName));
        let last = text(self.get(Field::LastName));
        if first.is_none() && last.is_none() {
            return;
        }
        let parts = [first, last].into_iter().flatten();
        let name = (!self.has(Field::Name)).then(|| {
            let mut name =
                String::with_capacity(first.map_or(0, str::len) + 1 + last.map_or(0, str::len));
            for part in parts.clone() {
                if !name.is_empty() {
                    name.push(' ');
                }
                name.push_str(part);
            }
            name
        });
        let initials = (!self.has(Field::Initials)).then(|| {
            parts
                .filter_map(|s| s.chars().next())
                .flat_map(char::to_uppercase)
                .collect::<String>()
        });
        if let Some(name) = name {
            self.set(Field::Name, Value::String(name));
        }
        if let Some(initials) = initials {
            self.set(Field::Initials, Value::String(initials));
        }
    }

    /// The phones: `None` when absent, empty when cleared.
    pub fn phones(&self) -> Result<Option<Vec<Phone<'_>>>, ValueError> {
        self.typed(Field::Phones)
    }

    /// The address: `None` when absent, empty when cleared.
    pub fn address(&self) -> Result<Option<Address<'_>>, ValueError> {
        self.typed(Field::Address)
    }

    /// The work week: `None` when absent, empty when cleared.
    pub fn work_week(&self) -> Result<Option<WorkWeek<'_>>, ValueError> {
        self.typed(Field::WorkWeek)
    }

    fn typed<'a, T: Deserialize<'a> + Default>(
        &'a self,
        field: Field,
    ) -> Result<Option<T>, ValueError> {
        self.get(field)
            .map(|value| read_typed(field, value))
            .transpose()
    }

    /// The user as a JSON object (cleared fields as `null`).
    pub fn to_json(&self) -> Map<String, Value> {
        self.fields()
            .map(|(f, v)| (f.name().to_string(), v.clone()))
            .collect()
    }
}

fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(trim)
        .filter(|s| !s.is_empty())
}

/// Why a value does not fit its field.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueError(pub String);

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads a structured field's value (see [`structured::read`]). Values [`normalize`] made
/// always read; any other value is refused, naming the field.
pub fn read_typed<'a, T: Deserialize<'a> + Default>(
    field: Field,
    value: &'a Value,
) -> Result<T, ValueError> {
    structured::read(value)
        .map_err(|e| ValueError(format!("`{field}` is not shaped as roster stores it ({e})")))
}

/// Turns a raw value (a CSV string, or any JSON value) into the field's normal form.
/// Empty strings, empty lists and `null` become `Null` (clear the field). Text that needs no
/// trimming is moved, not copied.
pub fn normalize(field: Field, raw: Value, list_separator: char) -> Result<Value, ValueError> {
    if is_empty(&raw) {
        return Ok(Value::Null);
    }
    match field.kind() {
        FieldKind::Text | FieldKind::Secret => match raw {
            Value::String(s) => Ok(Value::String(trimmed(s))),
            _ => scalar_text(&raw)
                .map(Value::String)
                .ok_or_else(|| ValueError(format!("expected text, found {}", describe(&raw)))),
        },
        FieldKind::Bool => parse_bool_value(&raw).map(Value::Bool),
        FieldKind::List => match raw {
            Value::String(item) if is_one_item(&item, list_separator) => {
                Ok(Value::Array(vec![Value::String(trimmed(item))]))
            }
            raw => normalize_list(&raw, list_separator),
        },
        FieldKind::Phones => normalize_phones(&raw, list_separator),
        FieldKind::Address => normalize_object(&raw, Address::keys(), "address"),
        FieldKind::WorkWeek => normalize_work_week(&raw),
        FieldKind::Attributes => normalize_attributes(&raw),
    }
}

/// Whether [`normalize`] surely accepts `text` as the value of `field`, told without
/// building the value: blank text, text for a text field, a boolean word, and a plain list
/// or phones cell (not JSON). For anything else only `normalize` can tell.
pub fn accepts_text(field: Field, text: &str) -> bool {
    match field.kind() {
        FieldKind::Text | FieldKind::Secret => true,
        FieldKind::Bool => parse_bool(text).is_some() || trim(text).is_empty(),
        FieldKind::List | FieldKind::Phones => !text.trim_start().starts_with(['[', '{']),
        FieldKind::Address | FieldKind::WorkWeek | FieldKind::Attributes => trim(text).is_empty(),
    }
}

/// [`str::trim`], answered without decoding a character when both ends are visible ASCII
/// (almost every cell).
#[inline]
pub fn trim(text: &str) -> &str {
    match text.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        [only] if only.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// `text` without leading and trailing white space, reusing its buffer when it has none.
fn trimmed(text: String) -> String {
    let trim = trim(&text);
    if trim.len() == text.len() {
        text
    } else {
        trim.to_string()
    }
}

/// Whether a raw value means "clear": null, blank text, an empty list or object.
pub fn is_empty(raw: &Value) -> bool {
    match raw {
        Value::Null => true,
        Value::String(s) => trim(s).is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Parses true/false/yes/no/1/0 (any case).
pub fn parse_bool(text: &str) -> Option<bool> {
    const LONGEST: usize = "false".len();
    let text = trim(text).as_bytes();
    if text.len() > LONGEST {
        return None;
    }
    let mut lower = [0; LONGEST];
    for (to, from) in lower.iter_mut().zip(text) {
        *to = from.to_ascii_lowercase();
    }
    match &lower[..text.len()] {
        b"true" | b"yes" | b"y" | b"1" => Some(true),
        b"false" | b"no" | b"n" | b"0" => Some(false),
        _ => None,
    }
}

fn parse_bool_value(raw: &Value) -> Result<bool, ValueError> {
    match raw {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_i64() == Some(1) => Ok(true),
        Value::Number(n) if n.as_i64() == Some(0) => Ok(false),
        Value::String(s) => parse_bool(s).ok_or_else(|| {
            ValueError(format!(
                "`{s}` is not a boolean (use true/false/yes/no/1/0)"
            ))
        }),
        other => Err(ValueError(format!(
            "expected a boolean, found {}",
            describe(other)
        ))),
    }
}

fn scalar_text(raw: &Value) -> Option<String> {
    match raw {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn describe(raw: &Value) -> &'static str {
    match raw {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Text that holds JSON (`[…]` or `{…}`) is parsed, so flat files can carry structured fields.
fn structured(raw: &Value) -> Result<Option<Value>, ValueError> {
    match raw {
        Value::String(s) if s.trim_start().starts_with(['[', '{']) => serde_json::from_str(s)
            .map(Some)
            .map_err(|e| ValueError(format!("invalid JSON in the cell: {e}"))),
        _ => Ok(None),
    }
}

fn split_list(text: &str, separator: char) -> impl Iterator<Item = &str> {
    text.split(separator).map(trim).filter(|s| !s.is_empty())
}

/// Whether a list given as text is one item (neither JSON nor separated), which then keeps
/// its buffer. The caller has ruled out blank text.
fn is_one_item(text: &str, separator: char) -> bool {
    !text.contains(separator) && !trim(text).starts_with(['[', '{'])
}

fn normalize_list(raw: &Value, separator: char) -> Result<Value, ValueError> {
    let items: Vec<Value> = match structured(raw)?.as_ref().unwrap_or(raw) {
        Value::String(s) => split_list(s, separator)
            .map(|s| Value::String(s.to_string()))
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter(|v| !is_empty(v))
            .map(|v| {
                scalar_text(v)
                    .map(|s| Value::String(s.trim().to_string()))
                    .ok_or_else(|| {
                        ValueError(format!("list items must be text, found {}", describe(v)))
                    })
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(ValueError(format!(
                "expected a list, found {}",
                describe(other)
            )))
        }
    };
    Ok(if items.is_empty() {
        Value::Null
    } else {
        Value::Array(items)
    })
}

/// Phones in text are `type:number` or `number`, separated by the list separator.
fn normalize_phones(raw: &Value, separator: char) -> Result<Value, ValueError> {
    let phones: Vec<Phone> = match structured(raw)?.as_ref().unwrap_or(raw) {
        Value::String(s) => split_list(s, separator)
            .map(|item| match item.split_once(':') {
                Some((kind, number)) if !kind.trim().starts_with('+') => {
                    phone(number.trim(), Some(kind.trim()))
                }
                _ => phone(item, None),
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(phone(s.trim(), None)),
                Value::Object(o) => phone_of_object(o),
                other => Err(ValueError(format!(
                    "a phone must be text or {{number, type}}, found {}",
                    describe(other)
                ))),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(ValueError(format!(
                "expected phones, found {}",
                describe(other)
            )))
        }
    };
    Ok(if phones.is_empty() {
        Value::Null
    } else {
        Value::Array(phones.into_iter().map(Phone::into_value).collect())
    })
}

/// A phone given as an object: its `number` (text or a number) and optional `type`.
fn phone_of_object(object: &Map<String, Value>) -> Result<Phone<'static>, ValueError> {
    // `Phone`'s keys in declared order: the number's, then the type's.
    let (number_key, kind_key) = (Phone::keys()[0], Phone::keys()[1]);
    let number = object
        .get(number_key)
        .and_then(scalar_text)
        .ok_or_else(|| ValueError(format!("a phone needs a `{number_key}`")))?;
    let kind = object.get(kind_key).and_then(scalar_text);
    if let Some(extra) = object.keys().find(|k| !Phone::keys().contains(&k.as_str())) {
        return Err(ValueError(format!(
            "unknown phone key `{extra}` (phones have `{number_key}` and `{kind_key}`)"
        )));
    }
    Ok(phone(number.trim(), kind.as_deref().map(str::trim)))
}

fn phone(number: &str, kind: Option<&str>) -> Phone<'static> {
    Phone {
        number: Cow::Owned(number.to_string()),
        kind: kind
            .filter(|k| !k.is_empty())
            .map(|k| Cow::Owned(k.to_string())),
    }
}

fn normalize_object(raw: &Value, keys: &[&str], what: &str) -> Result<Value, ValueError> {
    let parsed = structured(raw)?;
    let Value::Object(object) = parsed.as_ref().unwrap_or(raw) else {
        return Err(ValueError(format!(
            "expected an {what} object, found {}",
            describe(raw)
        )));
    };
    let mut out = Map::new();
    for (key, value) in object {
        let key = normalize_name(key);
        if !keys.contains(&key.as_str()) {
            let hint = nearest(&key, keys.iter().copied())
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            return Err(ValueError(format!("unknown {what} key `{key}`{hint}")));
        }
        if !is_empty(value) {
            let text = scalar_text(value).ok_or_else(|| {
                ValueError(format!(
                    "{what} `{key}` must be text or a number, found {}",
                    describe(value)
                ))
            })?;
            out.insert(key, Value::String(text.trim().to_string()));
        }
    }
    Ok(if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    })
}

fn normalize_work_week(raw: &Value) -> Result<Value, ValueError> {
    let parsed = structured(raw)?;
    let Value::Array(days) = parsed.as_ref().unwrap_or(raw) else {
        return Err(ValueError(format!(
            "expected a work-week list, found {}",
            describe(raw)
        )));
    };
    let days = days
        .iter()
        .map(|day| normalize_object(day, WorkDay::keys(), "work-week day"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(days))
}

fn normalize_attributes(raw: &Value) -> Result<Value, ValueError> {
    let parsed = structured(raw)?;
    let Value::Object(object) = parsed.as_ref().unwrap_or(raw) else {
        return Err(ValueError(format!(
            "expected an attributes object, found {}",
            describe(raw)
        )));
    };
    let mut out = Map::new();
    for (key, value) in object {
        let text = match value {
            Value::Null => Value::Null,
            v => Value::String(scalar_text(v).ok_or_else(|| {
                ValueError(format!(
                    "attribute `{key}` must be text, found {}",
                    describe(v)
                ))
            })?),
        };
        out.insert(key.trim().to_string(), text);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_accepted_as_is_is_what_normalize_accepts() {
        let cells = [
            "",
            " ",
            "x",
            "yes",
            "perhaps",
            "a;b",
            "[1]",
            " {\"a\": 1}",
            "[\"a\"]",
        ];
        for field in Field::ALL.iter().copied() {
            for text in cells {
                if accepts_text(field, text) {
                    assert!(
                        normalize(field, json!(text), ';').is_ok(),
                        "{field} `{text}`"
                    );
                }
            }
        }
        assert!(!accepts_text(Field::Active, "perhaps"));
        assert!(!accepts_text(Field::Roles, " [1]"));
        assert!(accepts_text(Field::Email, "[1]"));
    }

    #[test]
    fn field_names_parse_case_and_space_insensitively() {
        assert_eq!(Field::parse("First Name"), Some(Field::FirstName));
        assert_eq!(Field::parse("EXTERNAL_ID"), Some(Field::ExternalId));
        assert_eq!(Field::parse("mobile-worker"), Some(Field::MobileWorker));
        assert_eq!(Field::parse("nickname"), None);
    }

    #[test]
    fn nearest_field_suggests_a_close_name() {
        assert_eq!(nearest_field("emial"), Some(Field::Email));
        assert_eq!(nearest_field("firstname"), Some(Field::FirstName));
        assert_eq!(nearest_field("zzzzzzzz"), None);
    }

    #[test]
    fn booleans_accept_the_usual_spellings() {
        for (text, want) in [
            ("TRUE", true),
            ("yes", true),
            ("1", true),
            ("No", false),
            ("0", false),
        ] {
            assert_eq!(
                normalize(Field::Active, json!(text), ';'),
                Ok(json!(want)),
                "{text}"
            );
        }
        assert!(normalize(Field::Active, json!("maybe"), ';').is_err());
        assert_eq!(parse_bool(" Y "), Some(true));
        assert_eq!(parse_bool("FALSE"), Some(false));
        for text in ["", "ye", "yess", "falsey", "0 0", "ｙes", "nö"] {
            assert_eq!(parse_bool(text), None, "{text}");
        }
    }

    #[test]
    fn text_is_trimmed_and_numbers_become_text() {
        for (raw, want) in [
            (json!(" Ada\t"), "Ada"),
            (json!("Ada"), "Ada"),
            (json!("Jean Luc"), "Jean Luc"),
            (json!(42), "42"),
        ] {
            assert_eq!(normalize(Field::FirstName, raw, ';'), Ok(json!(want)));
        }
    }

    #[test]
    fn empty_values_clear_the_field() {
        assert_eq!(normalize(Field::Email, json!("  "), ';'), Ok(Value::Null));
        assert_eq!(normalize(Field::Roles, json!(" ; "), ';'), Ok(Value::Null));
        assert_eq!(normalize(Field::Active, Value::Null, ';'), Ok(Value::Null));
    }

    #[test]
    fn lists_split_on_the_separator_and_trim() {
        assert_eq!(
            normalize(Field::Roles, json!(" tech ; lead;;"), ';'),
            Ok(json!(["tech", "lead"]))
        );
        assert_eq!(
            normalize(Field::Teams, json!(["a", " b "]), ';'),
            Ok(json!(["a", "b"]))
        );
    }

    #[test]
    fn phones_read_type_and_number() {
        assert_eq!(
            normalize(Field::Phones, json!("mobile:+1 555 0100; +1 555 0199"), ';'),
            Ok(json!([{"number": "+1 555 0100", "type": "mobile"}, {"number": "+1 555 0199"}]))
        );
    }

    #[test]
    fn address_rejects_unknown_keys_with_a_hint() {
        let err = normalize(Field::Address, json!({"citty": "Oslo"}), ';').unwrap_err();
        assert!(err.0.contains("did you mean `city`"), "{err}");
    }

    #[test]
    fn structured_values_refuse_unknown_keys_with_todays_messages() {
        let message = |field, raw| normalize(field, raw, ';').unwrap_err().0;
        assert_eq!(
            message(Field::WorkWeek, json!([{"strat": "08:00"}])),
            "unknown work-week day key `strat` (did you mean `start`?)"
        );
        assert_eq!(
            message(Field::Phones, json!([{"number": "555", "kind": "work"}])),
            "unknown phone key `kind` (phones have `number` and `type`)"
        );
        assert_eq!(
            message(Field::Phones, json!([{"type": "work"}])),
            "a phone needs a `number`"
        );
    }

    #[test]
    fn coordinates_given_as_numbers_are_kept_as_text() {
        let value = normalize(Field::Address, json!({"LAT": 59.91, "lon": -10}), ';').unwrap();
        assert_eq!(value, json!({"lat": "59.91", "lon": "-10"}));
        let mut user = User::new();
        user.set(Field::Address, value);
        let address = user.address().unwrap().unwrap();
        assert_eq!(address.lat.as_deref(), Some("59.91"));
        assert_eq!(address.lon.as_deref(), Some("-10"));
    }

    #[test]
    fn the_structured_fields_read_typed_absent_cleared_or_set() {
        let mut user = User::new();
        assert_eq!(user.phones(), Ok(None));
        user.set(Field::Phones, Value::Null);
        user.set(Field::WorkWeek, Value::Null);
        assert_eq!(user.phones(), Ok(Some(Vec::new())));
        assert_eq!(user.work_week(), Ok(Some(Vec::new())));
        let phones = normalize(Field::Phones, json!("work:+47 22 00 00 00"), ';').unwrap();
        user.set(Field::Phones, phones);
        let phones = user.phones().unwrap().unwrap();
        assert_eq!(phones[0].number, "+47 22 00 00 00");
        assert_eq!(phones[0].kind.as_deref(), Some("work"));
        user.set(Field::Address, json!("not an address"));
        let err = user.address().unwrap_err();
        assert!(
            err.0
                .starts_with("`address` is not shaped as roster stores it"),
            "{err}"
        );
    }

    #[test]
    fn names_and_initials_are_derived_when_absent() {
        let mut user = User::new();
        user.set(Field::FirstName, json!("Ada"));
        user.set(Field::LastName, json!("lovelace"));
        user.derive_names();
        assert_eq!(user.get(Field::Name), Some(&json!("Ada lovelace")));
        assert_eq!(user.get(Field::Initials), Some(&json!("AL")));
    }

    #[test]
    fn ops_parse_numbers_and_words() {
        assert_eq!(Op::parse("1"), Some(Op::Create));
        assert_eq!(Op::parse("Update"), Some(Op::Upsert));
        assert_eq!(Op::parse("3"), Some(Op::Delete));
        assert_eq!(Op::parse("7"), None);
    }

    mod structured_round_trip {
        use super::*;
        use proptest::prelude::*;

        /// Text with the characters the phone and list syntax cares about, and blanks.
        fn text() -> impl Strategy<Value = String> {
            "[ a-zA-Z0-9+:;.-]{0,10}"
        }

        fn scalar() -> impl Strategy<Value = Value> {
            prop_oneof![
                4 => text().prop_map(Value::String),
                1 => any::<i32>().prop_map(Value::from),
                1 => (-180.0..180.0f64).prop_map(Value::from),
                1 => any::<bool>().prop_map(Value::Bool),
                1 => Just(Value::Null),
            ]
        }

        /// An object of some of `keys`, each in one of the spellings a source may use.
        fn object(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
            proptest::collection::vec(
                (proptest::sample::select(keys), any::<bool>(), scalar()),
                0..5,
            )
            .prop_map(|parts| {
                let parts = parts.into_iter().map(|(key, upper, value)| {
                    let key = if upper {
                        key.to_uppercase()
                    } else {
                        key.to_string()
                    };
                    (key, value)
                });
                Value::Object(parts.collect())
            })
        }

        fn phones() -> impl Strategy<Value = Value> {
            let item = prop_oneof![
                text().prop_map(Value::String),
                (scalar(), proptest::option::of(scalar())).prop_map(|(number, kind)| {
                    let mut phone = Map::new();
                    phone.insert("number".into(), number);
                    if let Some(kind) = kind {
                        phone.insert("type".into(), kind);
                    }
                    Value::Object(phone)
                }),
            ];
            prop_oneof![
                text().prop_map(Value::String),
                proptest::collection::vec(item, 0..4).prop_map(Value::Array),
            ]
        }

        fn address() -> impl Strategy<Value = Value> {
            object(Address::keys())
        }

        fn work_week() -> impl Strategy<Value = Value> {
            proptest::collection::vec(object(WorkDay::keys()), 0..4).prop_map(Value::Array)
        }

        /// The raw value, or the same as JSON text in a flat file's cell.
        fn raw(value: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
            (value, any::<bool>()).prop_map(|(value, as_text)| match value {
                Value::Array(_) | Value::Object(_) if as_text => Value::String(value.to_string()),
                value => value,
            })
        }

        /// Normalises `raw`, then reads the normal form typed and writes it back (`rewrite`);
        /// `null` (cleared) is no typed value, and the raw values that do not fit are the
        /// normaliser's tests.
        fn round_trip(
            field: Field,
            raw: Value,
            rewrite: impl Fn(&Value) -> Result<Value, ValueError>,
        ) -> Result<(), TestCaseError> {
            let normal = match normalize(field, raw, ';') {
                Ok(Value::Null) | Err(_) => return Ok(()),
                Ok(normal) => normal,
            };
            let written = rewrite(&normal).map_err(|e| TestCaseError::fail(e.0))?;
            prop_assert_eq!(written, normal);
            Ok(())
        }

        proptest! {
            #[test]
            fn a_list_of_one_item_is_what_splitting_makes(text in "[ ;a-z\\[{]{1,6}") {
                let raw = Value::String(text);
                let split = match is_empty(&raw) {
                    true => Ok(Value::Null),
                    false => normalize_list(&raw, ';'),
                };
                prop_assert_eq!(normalize(Field::Roles, raw, ';'), split);
            }

            #[test]
            fn the_quick_trim_is_str_trim(text in "[ \t\u{a0}\u{2003}a-z\u{e9}.]{0,6}") {
                prop_assert_eq!(trim(&text), text.trim());
            }

            #[test]
            fn phones_read_typed_and_write_back_the_same(raw in raw(phones())) {
                round_trip(Field::Phones, raw, |normal| {
                    let phones: Vec<Phone> = read_typed(Field::Phones, normal)?;
                    Ok(structured::write(&phones))
                })?;
            }

            #[test]
            fn an_address_reads_typed_and_writes_back_the_same(raw in raw(address())) {
                round_trip(Field::Address, raw, |normal| {
                    let address: Address = read_typed(Field::Address, normal)?;
                    Ok(structured::write(&address))
                })?;
            }

            #[test]
            fn a_work_week_reads_typed_and_writes_back_the_same(raw in raw(work_week())) {
                round_trip(Field::WorkWeek, raw, |normal| {
                    let week: WorkWeek = read_typed(Field::WorkWeek, normal)?;
                    Ok(structured::write(&week))
                })?;
            }
        }
    }
}
