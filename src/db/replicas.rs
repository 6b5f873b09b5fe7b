//! PostgreSQL read replicas: where anonymous reads go while a replica is healthy. Each
//! replica has its own pool and breaker; `jobs::replicas` measures each one's lag and marks it
//! usable or not, and `pick` spreads reads over the usable ones, round robin.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

use super::{DatabaseUrl, DbConn, Pool, PoolOptions};

/// What the last check found of a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Not checked yet: not used.
    Unknown = 0,
    /// Answers, and lags no more than allowed: reads go to it.
    Healthy = 1,
    /// Answers, but lags more than allowed.
    Lagging = 2,
    /// Does not answer, or is not a replica.
    Down = 3,
}

impl ReplicaState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Healthy => "healthy",
            Self::Lagging => "lagging",
            Self::Down => "down",
        }
    }

    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Healthy,
            2 => Self::Lagging,
            3 => Self::Down,
            _ => Self::Unknown,
        }
    }
}

pub struct Replica {
    /// Host, port and database: how logs, `/readyz` and the metrics name it (no password).
    pub name: String,
    pub pool: Pool,
    state: AtomicU8,
    lag_ms: AtomicU64,
}

impl Replica {
    pub fn state(&self) -> ReplicaState {
        ReplicaState::from_u8(self.state.load(Ordering::Relaxed))
    }

    pub fn lag_ms(&self) -> u64 {
        self.lag_ms.load(Ordering::Relaxed)
    }

    /// Records a check's finding; returns the state it replaced.
    pub fn set(&self, state: ReplicaState, lag_ms: u64) -> ReplicaState {
        self.lag_ms.store(lag_ms, Ordering::Relaxed);
        ReplicaState::from_u8(self.state.swap(state as u8, Ordering::Relaxed))
    }
}

/// The configured replicas (none on SQLite, or when none are configured).
#[derive(Clone, Default)]
pub struct Replicas {
    members: Arc<Vec<Replica>>,
    next: Arc<AtomicUsize>,
}

impl Replicas {
    /// Pools for the replicas at `urls`, made when first needed (like the primary's).
    pub fn new(urls: &[DatabaseUrl], options: &PoolOptions) -> Self {
        let members = urls
            .iter()
            .map(|url| {
                let pool = Pool::new(url, options);
                // A replica is used only once a check has found it healthy; its pool needs no
                // readiness of its own (`jobs::replicas` decides).
                pool.health.set_ready(None);
                Replica {
                    name: url.display_name(),
                    pool,
                    state: AtomicU8::new(ReplicaState::Unknown as u8),
                    lag_ms: AtomicU64::new(0),
                }
            })
            .collect();
        Self {
            members: Arc::new(members),
            next: Arc::default(),
        }
    }

    pub fn all(&self) -> &[Replica] {
        &self.members
    }

    /// The next healthy replica, round robin; `None` when none is (reads go to the primary).
    pub fn pick(&self) -> Option<&Replica> {
        let count = self.members.len();
        if count == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count)
            .filter_map(|offset| self.members.get((start + offset) % count))
            .find(|replica| replica.state() == ReplicaState::Healthy)
    }
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Nullable<BigInt>)]
    position: Option<i64>,
}

/// Where the primary's write-ahead log ends now, in bytes.
pub fn primary_position(conn: &mut DbConn) -> QueryResult<i64> {
    let DbConn::Postgres(conn) = conn else {
        return Ok(0);
    };
    diesel::sql_query("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS position")
        .get_result::<Position>(conn)
        .map(|p| p.position.unwrap_or(0))
}

/// How far a replica has replayed the primary's log, in bytes; `None` if it is not a
/// replica (a promoted or misconfigured server must not take reads meant for one).
pub fn replayed_position(conn: &mut DbConn) -> QueryResult<Option<i64>> {
    let DbConn::Postgres(conn) = conn else {
        return Ok(None);
    };
    diesel::sql_query(
        "SELECT CASE WHEN pg_is_in_recovery() \
         THEN (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint END AS position",
    )
    .get_result::<Position>(conn)
    .map(|p| p.position)
}
