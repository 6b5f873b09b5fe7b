//! How an `AppError` looks on the wire: RFC 9457 problem+json, with the request id, the
//! `errors` array for validation failures and the headers each status calls for.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, FieldError};

/// An error, as `application/problem+json` (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "about:blank", "title": "Bad Request", "status": 400,
    "detail": "limit: must be between 1 and 100",
    "errors": [{"field": "limit", "message": "must be between 1 and 100"}],
    "request_id": "5f0c6d3e-2a55-4a43-9b1e-6f1f0c2d8e11"
}))]
pub struct Problem {
    /// Always `about:blank`: the status code says what kind of problem this is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The HTTP status phrase.
    pub title: &'static str,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// One entry per bad field or parameter.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The `X-Request-Id` of the request, to quote in a bug report.
    pub request_id: String,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden
            | Self::Refused(_)
            | Self::MissingScope(_)
            | Self::CrossOriginRefused(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } | Self::Timeout | Self::Contended => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            // The cause is logged here, once; the client gets no internals.
            Self::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                "an unexpected error occurred; quote the request_id when reporting it".to_owned()
            }
            other => other.to_string(),
        };
        let errors = match self {
            Self::Invalid(errors) => errors.clone(),
            Self::BadRequest {
                field: Some(field),
                message,
            } => vec![field_error(field, message)],
            Self::Conflict {
                field: Some(field),
                message,
            } => vec![field_error(field, message)],
            Self::MissingScope(scope) => {
                vec![FieldError::new("scope", format!("{scope} is required"))]
            }
            _ => Vec::new(),
        };
        let body = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            errors,
            request_id: super::middleware::current_request_id().unwrap_or_default(),
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            Self::Unauthenticated => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::Unavailable {
                retry_after_secs, ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.max(&1).to_string()));
            }
            Self::Timeout | Self::Contended => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            Self::TooManyRequests { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::MethodNotAllowed { allowed, .. } => {
                if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
                    response.insert_header((header::ALLOW, value));
                }
            }
            _ => {}
        }
        response.body(serde_json::to_vec(&body).unwrap_or_default())
    }
}

/// The `errors` entry of a message that leads with its field (`slug: is already taken`).
fn field_error(field: &str, message: &str) -> FieldError {
    let message = message
        .strip_prefix(&format!("{field}: "))
        .unwrap_or(message);
    FieldError::new(field, message)
}

/// A path segment that does not parse (`/articles/abc`) names the segment.
pub fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    AppError::BadRequest {
        message: format!("invalid path parameter: {err}"),
        field: None,
    }
    .into()
}
