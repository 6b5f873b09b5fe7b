//! The one connection type that speaks to either backend. `MultiConnection` generates
//! `MultiBackend` and friends next to the enum, so it lives alone in this module.

/// A pooled connection to SQLite or PostgreSQL; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(diesel::PgConnection),
    // Last: SQLite would take any string as a file path.
    Sqlite(diesel::SqliteConnection),
}
