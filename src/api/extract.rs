//! Request extractors whose failures are problems that name the culprit.

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage, HttpRequest, mime};
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// Query parameters parsed strictly: an unknown or repeated parameter, or a value of the
/// wrong type, is a 400 that names the parameter (actix's `web::Query` does not say which).
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T> QueryParams<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// The field a serde error is about: its path, or for struct-level errors ("unknown
/// field `x`", "missing field `y`"), the name serde quotes in the message.
fn field_of(path: String, message: &str) -> String {
    match path.as_str() {
        "." | "?" => message.split('`').nth(1).unwrap_or_default().to_owned(),
        _ => path,
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
        match field_of(path, &message) {
            field if field.is_empty() => AppError::BadRequest {
                message,
                field: None,
            },
            field => AppError::bad_param(&field, message),
        }
    })
}

/// A JSON request body. Wrong content type: 415; too large: 413; not JSON: 400; JSON of
/// the wrong shape (a missing, unknown or mistyped field): 422 naming the field.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    req.mime_type().ok().flatten().is_some_and(|mime| {
        mime.type_() == mime::APPLICATION
            && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
    })
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    refuse_nul(bytes)?;
    // Every body Folio takes is an object; serde would also fill a struct from an array of its
    // fields' values in order (`[null, null]`), which no client means.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(AppError::BadRequest {
            message: "the body must be a JSON object".into(),
            field: None,
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_data() {
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned();
            AppError::Invalid(vec![FieldError::new(field_of(path, &message), message)])
        } else {
            AppError::BadRequest {
                message: format!("malformed JSON body: {inner}"),
                field: None,
            }
        }
    })?;
    deserializer.end().map_err(|e| AppError::BadRequest {
        message: format!("malformed JSON body: {e}"),
        field: None,
    })?;
    Ok(value)
}

/// PostgreSQL cannot store U+0000 in text (its client library cuts the text there), so no
/// body may carry it, on any backend: a 422 naming each string that does. In JSON it can only
/// be written `\u0000`, so bodies without that sequence are not looked into.
fn refuse_nul(bytes: &[u8]) -> Result<(), AppError> {
    const ESCAPE: &[u8] = br"\u0000";
    if !bytes.windows(ESCAPE.len()).any(|window| window == ESCAPE) {
        return Ok(());
    }
    fn find(value: &serde_json::Value, path: String, found: &mut Vec<FieldError>) {
        match value {
            serde_json::Value::String(text) if text.contains('\0') => found.push(FieldError::new(
                path,
                "must not contain the NUL character (U+0000)",
            )),
            serde_json::Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    find(item, format!("{path}[{index}]"), found);
                }
            }
            serde_json::Value::Object(fields) => {
                for (name, field) in fields {
                    let path = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    find(field, path, found);
                }
            }
            _ => {}
        }
    }
    // Malformed JSON is left to the parser, which says what is wrong with it.
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(());
    };
    let mut found = Vec::new();
    find(&value, String::new(), &mut found);
    if found.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(found))
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let body = Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(AppError::UnsupportedMediaType(
                    "unsupported content type: send application/json",
                ));
            }
            let bytes = body
                .await
                .map_err(|e| match e.as_response_error().status_code() {
                    StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
                    _ => AppError::BadRequest {
                        message: format!("unreadable body: {e}"),
                        field: None,
                    },
                })?;
            parse_json(&bytes).map(JsonBody)
        })
    }
}

/// The version named by `If-Match`, required on writes that could overwrite someone else's.
/// `None` when the header names no version of ours (`*`, a weak or foreign tag): it matches
/// nothing, which the service reports as 412 once it knows the article exists and may be
/// changed by the caller.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<i32>);

impl FromRequest for IfMatch {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get(actix_web::http::header::IF_MATCH) else {
            return ready(Err(AppError::PreconditionRequired));
        };
        // The article ETag is "<version>-<hash>".
        let version = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().strip_prefix('"'))
            .and_then(|v| v.split(['-', '"']).next())
            .and_then(|v| v.parse().ok());
        ready(Ok(IfMatch(version)))
    }
}

impl<T: DeserializeOwned> FromRequest for QueryParams<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(QueryParams))
    }
}

/// Whether a request comes without credentials: only such reads may go to a read replica
/// (someone signed in reads from the primary, so they see their own writes at once).
pub fn is_anonymous(req: &HttpRequest) -> bool {
    !req.headers()
        .contains_key(actix_web::http::header::AUTHORIZATION)
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
