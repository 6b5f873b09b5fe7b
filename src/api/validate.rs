//! Shape checks on request bodies, collected so a 422 lists every bad field at once.

use serde::{Deserialize, Deserializer};

use crate::error::{AppError, FieldError};

#[derive(Debug, Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    pub fn require(&mut self, ok: bool, field: &str, message: &str) {
        if !ok {
            self.0.push(FieldError::new(field, message));
        }
    }

    /// A trimmed text of `min..=max` characters.
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) {
        // Blank space does not make a text long enough, and counts toward making it too long
        // (the document's `maxLength` counts every character).
        if value.trim().chars().count() < min {
            self.0.push(FieldError::new(
                field,
                if min == 1 {
                    "must not be empty".to_owned()
                } else {
                    format!("must be at least {min} characters")
                },
            ));
        } else if value.chars().count() > max {
            self.0.push(FieldError::new(
                field,
                format!("must be at most {max} characters"),
            ));
        }
    }

    /// Deliberately loose (something@something, no spaces): the only real check of an email
    /// address is mail arriving there.
    pub fn email(&mut self, field: &str, value: &str) {
        let ok = value.chars().count() <= 254
            && value
                .rsplit_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
            && !value.chars().any(char::is_whitespace);
        self.require(ok, field, "must be an email address");
    }

    /// Whether `value` is an http(s) URL of at most 2000 characters; records why not.
    pub fn url(&mut self, field: &str, value: &str) -> bool {
        let ok = value.chars().count() <= 2000
            && (value.starts_with("https://") || value.starts_with("http://"))
            && !value.chars().any(char::is_whitespace);
        self.require(ok, field, "must be an http(s) URL");
        ok
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self.0))
        }
    }
}

/// For PATCH fields that can be cleared: absent is `None`, `null` is `Some(None)`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
