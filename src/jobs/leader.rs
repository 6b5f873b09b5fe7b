//! Which instance runs the once-per-cluster work. On PostgreSQL it is the one holding a
//! session advisory lock on a connection of its own: if that instance dies, its connection
//! closes, the lock is released, and another instance takes it at its next tick. On SQLite
//! there is one process, and it leads.

use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::db::{Backend, DatabaseUrl};

/// The advisory lock key of the leader (an arbitrary constant: "folio" in ASCII).
const LEADER_LOCK: i64 = 0x0066_6f6c_696f;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

pub struct Leadership {
    url: DatabaseUrl,
    /// The connection that holds the lock (while leading) or tries for it (PostgreSQL).
    conn: Option<PgConnection>,
    leading: bool,
}

impl Leadership {
    pub fn new(url: &DatabaseUrl) -> Self {
        Self {
            url: url.clone(),
            conn: None,
            leading: false,
        }
    }

    /// Whether this instance leads now, taking the lead if it is free.
    pub fn is_leader(&mut self) -> bool {
        let leads = match self.url.backend {
            Backend::Sqlite => true,
            Backend::Postgres => self.check_or_take().unwrap_or(false),
        };
        if leads != self.leading {
            tracing::info!(leader = leads, "leadership changed");
        }
        self.leading = leads;
        leads
    }

    fn check_or_take(&mut self) -> Option<bool> {
        if self.conn.is_none() {
            self.conn = PgConnection::establish(self.url.target()).ok();
        }
        let conn = self.conn.as_mut()?;
        // The lock lives as long as the connection: one that still answers still holds it.
        let answer = if self.leading {
            diesel::sql_query("SELECT true AS locked").get_result::<Locked>(conn)
        } else {
            diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind::<diesel::sql_types::BigInt, _>(LEADER_LOCK)
                .get_result::<Locked>(conn)
        };
        match answer {
            Ok(row) => Some(row.locked),
            Err(e) => {
                tracing::debug!(error = %e, "leader connection lost");
                self.conn = None;
                None
            }
        }
    }

    /// Gives the lead up at once (on shutdown), rather than when the connection times out.
    pub fn resign(&mut self) {
        self.conn = None;
    }
}
