//! The typed values of the structured fields: a [`Phone`], an [`Address`], a [`WorkDay`].
//!
//! These types are the shapes of the normal form: their serde derives say which keys a
//! phone, an address and a work-week day hold (`model::user::normalize` refuses any other,
//! reading the keys from here), and reading a normal-form value typed and writing it back
//! gives the same JSON. Every part is text (`lat`/`lon` too, as the source wrote the
//! number), borrowed from the value it is read from where it can be.
//!
//! A slot's `null` (a cleared field) reads as the empty value: no phones, an address with
//! no part, no days.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One phone of a user's `phones`: `{"number": …, "type": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phone<'a> {
    /// The number as the source wrote it (`+47 22 00 00 00`).
    #[serde(borrow)]
    pub number: Cow<'a, str>,
    /// What kind of phone (`mobile`, `work`…), when the source says.
    #[serde(
        rename = "type",
        default,
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<Cow<'a, str>>,
}

impl Phone<'_> {
    /// The keys a phone object may hold.
    pub fn keys() -> &'static [&'static str] {
        keys_of::<Phone<'static>>()
    }

    /// The phone as [`write()`] makes it, `{"number": …, "type": …}`, built without a
    /// serializer and moving the owned texts.
    pub fn into_value(self) -> Value {
        let mut object = serde_json::Map::new();
        object.insert(
            "number".to_string(),
            Value::String(self.number.into_owned()),
        );
        if let Some(kind) = self.kind {
            object.insert("type".to_string(), Value::String(kind.into_owned()));
        }
        Value::Object(object)
    }
}

/// A phone as one text: `type:number`, or the number alone (how a flat file writes it).
impl fmt::Display for Phone<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Some(kind) => write!(f, "{kind}:{}", self.number),
            None => f.write_str(&self.number),
        }
    }
}

/// A user's `address`; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Address<'a> {
    /// Street and house number.
    #[serde(
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub street: Option<Cow<'a, str>>,
    /// Flat, suite or floor.
    #[serde(
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub unit: Option<Cow<'a, str>>,
    /// City or town.
    #[serde(
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub city: Option<Cow<'a, str>>,
    /// State, region or county.
    #[serde(
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<Cow<'a, str>>,
    /// Postal code.
    #[serde(
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub zip: Option<Cow<'a, str>>,
    /// Country, as the source names it.
    #[serde(
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub country: Option<Cow<'a, str>>,
    /// Latitude in degrees, as text (checks and vendors parse it).
    #[serde(
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub lat: Option<Cow<'a, str>>,
    /// Longitude in degrees, as text.
    #[serde(
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub lon: Option<Cow<'a, str>>,
}

impl Address<'_> {
    /// The keys an address object may hold, in the order hints prefer them.
    pub fn keys() -> &'static [&'static str] {
        keys_of::<Address<'static>>()
    }

    /// Whether no part is given: how a cleared address reads.
    pub fn is_empty(&self) -> bool {
        *self == Address::default()
    }
}

/// One day of a user's `work_week`; every part optional, as the source wrote it (a day name
/// or number, `HH:MM` or minutes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkDay<'a> {
    /// The day (`monday`, `1`…).
    #[serde(
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub day: Option<Cow<'a, str>>,
    /// When work starts.
    #[serde(
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub start: Option<Cow<'a, str>>,
    /// When work ends.
    #[serde(
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub end: Option<Cow<'a, str>>,
    /// The lunch break.
    #[serde(
        borrow,
        deserialize_with = "optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub lunch: Option<Cow<'a, str>>,
}

impl WorkDay<'_> {
    /// The keys a work-week day may hold.
    pub fn keys() -> &'static [&'static str] {
        keys_of::<WorkDay<'static>>()
    }
}

/// A user's `work_week`: its days in the source's order. A day the source gave with nothing
/// in it stays in the list as `None` (`null` in the normal form).
pub type WorkWeek<'a> = Vec<Option<WorkDay<'a>>>;

/// Reads a structured field's normal-form value as its typed value (`Vec<Phone>`,
/// [`Address`], [`WorkWeek`]); `null` reads as the empty value. Text is borrowed from
/// `value`. A value `normalize` did not make may not read: the error says why.
pub fn read<'a, T: Deserialize<'a> + Default>(value: &'a Value) -> Result<T, serde_json::Error> {
    if value.is_null() {
        Ok(T::default())
    } else {
        T::deserialize(value)
    }
}

/// Writes a typed value in its normal form: [`read`]'s inverse for every value but `null`,
/// which reads as the empty value and is the caller's to write (an empty list of phones is
/// `null`; a work week given as `[]` stays `[]`).
pub fn write(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("typed values have text keys")
}

/// An optional text part, borrowed from the input when it has no escapes (serde's own
/// `Option<Cow<str>>` always copies).
fn optional_text<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Text<'a>>::deserialize(deserializer)?.map(|text| text.0))
}

/// The keys serde's derive reads for the struct `T`, in their declared order and with their
/// serde names: the derive hands them to the deserializer, which keeps them and stops.
fn keys_of<T: Deserialize<'static>>() -> &'static [&'static str] {
    let mut keys: &'static [&'static str] = &[];
    // The deserializer always ends with an error, once it has the keys.
    let _ = T::deserialize(KeysOf(&mut keys));
    keys
}

/// A deserializer that only records the field names of the struct asked of it.
struct KeysOf<'k>(&'k mut &'static [&'static str]);

impl<'de> Deserializer<'de> for KeysOf<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only a struct's keys are read"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("only a struct's keys are read"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_keys_are_the_serde_names_in_declared_order() {
        assert_eq!(Phone::keys(), ["number", "type"]);
        assert_eq!(
            Address::keys(),
            ["street", "unit", "city", "state", "zip", "country", "lat", "lon"]
        );
        assert_eq!(WorkDay::keys(), ["day", "start", "end", "lunch"]);
    }

    #[test]
    fn a_phone_as_a_value_is_what_the_serializer_writes() {
        let phone = |number: &str, kind: Option<&str>| Phone {
            number: Cow::Owned(number.to_string()),
            kind: kind.map(|k| Cow::Owned(k.to_string())),
        };
        for phone in [phone("+47 1", Some("mobile")), phone("555", None)] {
            assert_eq!(phone.clone().into_value(), write(&phone));
        }
        assert_eq!(
            phone("555", Some("work")).into_value(),
            json!({"number": "555", "type": "work"})
        );
    }

    #[test]
    fn phones_round_trip_through_the_normal_form_borrowing_their_text() {
        let value = json!([{"number": "+47 22 00 00 00", "type": "work"}, {"number": "555"}]);
        let phones: Vec<Phone> = read(&value).unwrap();
        assert_eq!(phones[0].kind.as_deref(), Some("work"));
        assert!(matches!(phones[1].number, Cow::Borrowed("555")));
        assert_eq!(phones[1].kind, None);
        assert_eq!(write(&phones), value);
        assert_eq!(phones[0].to_string(), "work:+47 22 00 00 00");
        assert_eq!(phones[1].to_string(), "555");
    }

    #[test]
    fn an_address_keeps_its_coordinates_as_text() {
        let value = json!({"city": "Oslo", "lat": "59.91", "lon": "10.75"});
        let address: Address = read(&value).unwrap();
        assert_eq!(address.lat.as_deref(), Some("59.91"));
        assert_eq!(address.street, None);
        assert_eq!(write(&address), value);
        assert!(read::<Address>(&json!({"lat": 59.91})).is_err());
    }

    #[test]
    fn a_work_week_keeps_its_empty_days() {
        let value = json!([{"day": "monday", "start": "08:00"}, null]);
        let week: WorkWeek = read(&value).unwrap();
        assert_eq!(week[0].as_ref().unwrap().day.as_deref(), Some("monday"));
        assert_eq!(week[1], None);
        assert_eq!(write(&week), value);
    }

    #[test]
    fn unknown_keys_do_not_read() {
        let err = read::<Address>(&json!({"citty": "Oslo"})).unwrap_err();
        assert!(err.to_string().contains("unknown field `citty`"), "{err}");
        assert!(read::<Vec<Phone>>(&json!([{"number": "1", "kind": "x"}])).is_err());
        assert!(read::<Vec<Phone>>(&json!([{"type": "mobile"}])).is_err());
        assert!(read::<WorkWeek>(&json!([{"weekday": "mon"}])).is_err());
    }

    #[test]
    fn null_reads_as_the_empty_value() {
        let phones: Vec<Phone> = read(&Value::Null).unwrap();
        let address: Address = read(&Value::Null).unwrap();
        let week: WorkWeek = read(&Value::Null).unwrap();
        assert!(phones.is_empty() && address.is_empty() && week.is_empty());
    }

    #[test]
    fn text_is_borrowed_from_json_text_unless_it_has_escapes() {
        let address: Address =
            serde_json::from_str(r#"{"street": "1 \"Main\" St", "city": "Oslo"}"#).unwrap();
        assert!(matches!(address.street, Some(Cow::Owned(_))));
        assert_eq!(address.street.as_deref(), Some("1 \"Main\" St"));
        assert!(matches!(address.city, Some(Cow::Borrowed("Oslo"))));
    }
}
