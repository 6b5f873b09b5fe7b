//! PostgreSQL's LISTEN/NOTIFY, which tells every Folio instance on one database that content
//! changed, so each drops its caches (`jobs::listener`). A notification sent inside a write's
//! transaction is delivered only if that transaction commits, and only then.

use diesel::prelude::*;

use super::{DatabaseUrl, DbConn};

/// The channel content writes are announced on.
const CHANNEL: &str = "folio_content";

/// How the listening connection shows in `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "folio-listener";

/// Announces, inside the caller's transaction, that content changed (PostgreSQL; SQLite has
/// one process, which knows its own writes).
pub fn announce_content_change(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Postgres(conn) => diesel::sql_query(format!("NOTIFY {CHANNEL}"))
            .execute(conn)
            .map(drop),
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// A connection of its own that listens for content changes.
pub struct Listener {
    conn: PgConnection,
}

impl Listener {
    /// Connects and starts listening. Only for PostgreSQL URLs.
    pub fn connect(url: &DatabaseUrl) -> Result<Self, String> {
        let target = url.target();
        let separator = if target.contains('?') { '&' } else { '?' };
        let target = format!("{target}{separator}application_name={LISTENER_APPLICATION_NAME}");
        let mut conn = PgConnection::establish(&target).map_err(|e| e.to_string())?;
        diesel::sql_query(format!("LISTEN {CHANNEL}"))
            .execute(&mut conn)
            .map_err(|e| e.to_string())?;
        Ok(Self { conn })
    }

    /// How many notifications arrived since the last call, without waiting (the socket is
    /// read if it has data). An error means the connection is gone.
    pub fn received(&mut self) -> QueryResult<usize> {
        let mut count = 0;
        for notification in self.conn.notifications_iter() {
            notification?;
            count += 1;
        }
        Ok(count)
    }

    /// A round trip, to find a connection that died without closing (the network, not the
    /// server, went away).
    pub fn check(&mut self) -> QueryResult<()> {
        diesel::sql_query("SELECT 1")
            .execute(&mut self.conn)
            .map(drop)
    }
}
