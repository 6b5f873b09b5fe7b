//! Request extractors whose failures are problems that name the culprit.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Query parameters parsed strictly: an unknown or repeated parameter, or a value of the
/// wrong type, is a 400 that names the parameter (actix's `web::Query` does not say which).
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T> QueryParams<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = err
            .into_inner()
            .to_string()
            .replacen("unknown field", "unknown query parameter", 1)
            .replacen("duplicate field", "repeated query parameter", 1);
        // Struct-level errors have no path; serde names the parameter inside the message.
        let field = match path.as_str() {
            "." | "?" => message.split('`').nth(1).unwrap_or_default().to_owned(),
            _ => path,
        };
        if field.is_empty() {
            AppError::BadRequest {
                message,
                field: None,
            }
        } else {
            AppError::bad_param(&field, message)
        }
    })
}

impl<T: DeserializeOwned> FromRequest for QueryParams<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(QueryParams))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only parsing is tested")]
    struct Params {
        limit: Option<i64>,
    }

    fn field_of(query: &str) -> Option<String> {
        match parse_query::<Params>(query) {
            Err(AppError::BadRequest { field, .. }) => field,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn every_rejection_names_the_parameter() {
        assert_eq!(field_of("limit=abc").as_deref(), Some("limit"));
        assert_eq!(field_of("colour=red").as_deref(), Some("colour"));
        assert_eq!(field_of("limit=1&limit=2").as_deref(), Some("limit"));
    }
}
