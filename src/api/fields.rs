//! `fields=`: responses cut down to the top-level fields a client names (and `id`, always),
//! so a list of titles does not carry every excerpt and tag.
//!
//! Each resource names its fields in an enum (`ArticleField`, `TagField`, …) whose serde names
//! are the response's keys: the enum parses the parameter and documents it in the OpenAPI
//! document, and a test checks it against the keys a response really has.

use std::collections::BTreeSet;

use serde::de::IntoDeserializer;
use serde::de::value::Error as NameError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::AppError;

/// The fields a client asked for; `None` means all of them.
#[derive(Debug, Clone, Default)]
pub struct FieldSelection(Option<BTreeSet<String>>);

impl FieldSelection {
    /// Parses a comma-separated `fields` value; each name must be a variant of `F`.
    pub fn parse<'de, F: Deserialize<'de>>(value: Option<&str>) -> Result<Self, AppError> {
        let Some(value) = value else {
            return Ok(Self(None));
        };
        let mut names = BTreeSet::from(["id".to_owned()]);
        // No empty names: `fields=` or `fields=a,,b` is a mistake worth saying, not "just id".
        for name in value.split(',').map(str::trim) {
            parse_name::<F>("fields", "field", name)?;
            names.insert(name.to_owned());
        }
        Ok(Self(Some(names)))
    }

    /// Adds a field to a selection (a selection of everything has it already).
    pub fn add(&mut self, name: &str) {
        if let Some(names) = &mut self.0 {
            names.insert(name.to_owned());
        }
    }

    pub fn includes(&self, name: &str) -> bool {
        self.0.as_ref().is_none_or(|names| names.contains(name))
    }

    /// `value` with only the selected top-level fields.
    pub fn select<T: Serialize>(&self, value: T) -> Result<Selected<T>, AppError> {
        let Some(names) = &self.0 else {
            return Ok(Selected::Whole(value));
        };
        let mut value = serde_json::to_value(value).map_err(anyhow::Error::from)?;
        retain(&mut value, names);
        Ok(Selected::Cut(value))
    }

    /// A list response (`{data, meta}`) whose items have only the selected fields; `meta` is
    /// left whole.
    pub fn select_items<T: Serialize>(&self, list: T) -> Result<Selected<T>, AppError> {
        let Some(names) = &self.0 else {
            return Ok(Selected::Whole(list));
        };
        let mut list = serde_json::to_value(list).map_err(anyhow::Error::from)?;
        if let Some(items) = list.get_mut("data").and_then(Value::as_array_mut) {
            for item in items {
                retain(item, names);
            }
        }
        Ok(Selected::Cut(list))
    }
}

/// One name of an enumerated parameter: a 400 naming `param` and listing the known names
/// (`noun` says what they are) when it is not one of `F`'s.
pub fn parse_name<'de, F: Deserialize<'de>>(
    param: &str,
    noun: &str,
    name: &str,
) -> Result<F, AppError> {
    let parsed: Result<F, NameError> = F::deserialize(name.to_owned().into_deserializer());
    // serde says "unknown variant `x`, expected one of `a`, `b`": the list is the useful
    // part; "variant" is serde's word, not the client's.
    parsed
        .map_err(|error| AppError::bad_param(param, error.to_string().replacen("variant", noun, 1)))
}

fn retain(value: &mut Value, names: &BTreeSet<String>) {
    if let Some(object) = value.as_object_mut() {
        object.retain(|key, _| names.contains(key));
    }
}

/// A response, whole or cut down; serializes as what it holds.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Selected<T> {
    Whole(T),
    Cut(Value),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Field {
        Id,
        Title,
        ReadingTime,
    }

    #[derive(Serialize)]
    struct Item {
        id: i64,
        title: &'static str,
        reading_time: i32,
    }

    #[test]
    fn keeps_the_named_fields_and_the_id() {
        let fields = FieldSelection::parse::<Field>(Some(" reading_time ")).unwrap();
        let item = Item {
            id: 7,
            title: "T",
            reading_time: 3,
        };
        let cut = serde_json::to_value(fields.select(item).unwrap()).unwrap();
        assert_eq!(cut, serde_json::json!({"id": 7, "reading_time": 3}));
        assert!(fields.includes("reading_time") && !fields.includes("title"));
    }

    #[test]
    fn an_unknown_name_is_a_bad_parameter_listing_the_known_ones() {
        let error = FieldSelection::parse::<Field>(Some("title,body")).unwrap_err();
        let AppError::BadRequest { message, field } = error else {
            panic!("not a bad request: {error:?}");
        };
        assert_eq!(field.as_deref(), Some("fields"));
        assert!(
            message.contains("`body`") && message.contains("`reading_time`"),
            "{message}"
        );
    }

    #[test]
    fn an_empty_name_is_a_bad_parameter() {
        for value in ["", "title,", "title,,id"] {
            assert!(
                FieldSelection::parse::<Field>(Some(value)).is_err(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn no_parameter_selects_everything() {
        let fields = FieldSelection::parse::<Field>(None).unwrap();
        assert!(fields.includes("anything"));
    }
}
