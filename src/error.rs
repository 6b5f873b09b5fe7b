//! One error type for the whole crate, in domain words. How it looks on the wire
//! (RFC 9457 problem+json) is decided in `api::problem`; nothing here knows about actix.

/// What a request is told when its connection broke under it (a restart, a failover).
pub const CONNECTION_LOST: &str = "the connection to the database was lost; retry";

/// A field that failed validation, reported in the problem's `errors` array.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The request field (body property or query parameter) at fault.
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 422: the body parsed but its values break the rules.
    #[error("validation failed")]
    Invalid(Vec<FieldError>),
    /// 400: a query parameter, cursor or body that cannot be understood.
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    #[error("authentication required")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    /// 403 with the reason, where "not allowed" would leave the client guessing (a sign-in
    /// the identity provider's claims do not allow, password sign-in turned off).
    #[error("{0}")]
    Refused(&'static str),
    /// 403: the role allows it, the personal access token's scopes do not.
    #[error("this token lacks the scope {0}")]
    MissingScope(&'static str),
    /// 403 to a CORS preflight the configured origins, methods or headers do not allow.
    #[error("cross-origin request refused: {0}")]
    CrossOriginRefused(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{method} is not allowed here")]
    MethodNotAllowed {
        method: String,
        allowed: Vec<String>,
    },
    /// 409: the request asks for something that clashes with what exists (a taken slug or
    /// email the client chose, the last admin). `field` names the request field at fault.
    #[error("{message}")]
    Conflict {
        message: String,
        field: Option<&'static str>,
    },
    #[error("the resource changed since it was read")]
    PreconditionFailed,
    #[error("If-Match is required")]
    PreconditionRequired,
    #[error("request body too large")]
    PayloadTooLarge,
    /// 415: a body of a type this endpoint does not take (not JSON, not an image it accepts).
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// 503: the database cannot be used now (not ready, unreachable, circuit breaker open).
    /// `detail` is Folio's own words, never the driver's.
    #[error("{detail}")]
    Unavailable {
        detail: &'static str,
        retry_after_secs: u64,
    },
    /// 503 once retries are spent: the database aborted the transaction for a conflict with
    /// a concurrent one (a serialization failure or a deadlock); nothing was written.
    #[error("too many concurrent changes; retry")]
    Contended,
    /// 503: the work took longer than its deadline (a statement timeout).
    #[error("the request took too long; retry")]
    Timeout,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A 503 for a database that cannot be used now, worth retrying in a second.
    pub fn unavailable(detail: &'static str) -> Self {
        Self::Unavailable {
            detail,
            retry_after_secs: 1,
        }
    }

    /// A 409 about one request field, in API terms (`slug`, `email`).
    pub fn conflict(field: &'static str, message: impl std::fmt::Display) -> Self {
        Self::Conflict {
            message: format!("{field}: {message}"),
            field: Some(field),
        }
    }

    /// A 400 about one named query parameter.
    pub fn bad_param(field: &str, message: impl std::fmt::Display) -> Self {
        Self::BadRequest {
            message: format!("{field}: {message}"),
            field: Some(field.to_owned()),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    /// Database errors become domain errors without their text: what the database said
    /// (constraint, table and driver names) goes to the log, never to the client.
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => Self::NotFound("resource"),
            // The server went away (restart, failover): the pool drops the connection and
            // the client may retry.
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => Self::unavailable(CONNECTION_LOST),
            // Derived values (slugs, tags) are resolved before they get here; what is left is
            // a value the client chose that another request took first.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                tracing::warn!(error = info.message(), "unique violation");
                match unique_field(info.as_ref()) {
                    Some(field) => Self::conflict(field, "is already taken"),
                    None => Self::Conflict {
                        message: "a conflicting change was made at the same time; retry".into(),
                        field: None,
                    },
                }
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
                tracing::warn!(error = info.message(), "foreign key violation");
                Self::Conflict {
                    message: "something this change refers to was removed at the same time; retry"
                        .into(),
                    field: None,
                }
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => Self::Contended,
            Error::DatabaseError(_, ref info) if info.message().contains("deadlock detected") => {
                tracing::warn!(error = info.message(), "deadlock");
                Self::Contended
            }
            // SQLite's busy timeout ran out: another connection holds the database.
            Error::DatabaseError(_, ref info) if info.message().contains("database is locked") => {
                tracing::warn!(error = info.message(), "database busy");
                Self::unavailable("the database is busy; retry")
            }
            Error::DatabaseError(_, ref info) if is_statement_timeout(info.message()) => {
                tracing::warn!(error = info.message(), "statement timeout");
                Self::Timeout
            }
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

/// PostgreSQL's message for SQLSTATE 57014 caused by `statement_timeout` (diesel does not
/// expose the SQLSTATE of errors it has no kind for).
fn is_statement_timeout(message: &str) -> bool {
    message.contains("statement timeout")
}

/// The API field behind a unique index, from the constraint name (PostgreSQL) or the
/// `table.column` in the message (SQLite: "UNIQUE constraint failed: users.email").
fn unique_field(info: &dyn diesel::result::DatabaseErrorInformation) -> Option<&'static str> {
    let name = info
        .constraint_name()
        .map(str::to_owned)
        .or_else(|| {
            info.message()
                .strip_prefix("UNIQUE constraint failed: ")
                .map(|cols| cols.replace('.', "_"))
        })
        .unwrap_or_default();
    if name.ends_with("_email") || name.ends_with("_email_key") {
        Some("email")
    } else if name.ends_with("_slug") || name.ends_with("_slug_key") {
        Some("slug")
    } else {
        None
    }
}
