//! Login attempt budgets in PostgreSQL, shared by every instance (GCRA, the algorithm the
//! in-memory limiter uses too): a key may make `burst` attempts at once, then one every
//! `interval`. One statement per attempt, atomic under concurrency.

use diesel::prelude::*;
use diesel::sql_types::{Double, Text};

use super::DbConn;

/// Spends one attempt of `key`: `None` if it had one, else the seconds until it has one.
/// SQLite keeps no shared budgets (`limits::LoginLimiter` keeps them in memory): `None`.
pub fn take(
    conn: &mut DbConn,
    key: &str,
    interval_secs: f64,
    burst: u32,
) -> QueryResult<Option<f64>> {
    #[derive(QueryableByName)]
    struct Wait {
        #[diesel(sql_type = Double)]
        wait: f64,
    }
    let DbConn::Postgres(conn) = conn else {
        return Ok(None);
    };
    let tolerance = interval_secs * f64::from(burst);
    // The new arrival time is the old one (or now, if it passed) plus one interval; within the
    // tolerance the attempt is allowed and recorded, beyond it nothing changes.
    let allowed = diesel::sql_query(
        "WITH clock AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS now) \
         INSERT INTO login_limits AS l (key, ready_at) SELECT $1, now + $2 FROM clock \
         ON CONFLICT (key) DO UPDATE SET ready_at = GREATEST(l.ready_at, \
             (SELECT now FROM clock)) + $2 \
         WHERE GREATEST(l.ready_at, (SELECT now FROM clock)) + $2 <= (SELECT now FROM clock) + $3 \
         RETURNING 0::float8 AS wait",
    )
    .bind::<Text, _>(key)
    .bind::<Double, _>(interval_secs)
    .bind::<Double, _>(tolerance)
    .get_result::<Wait>(conn)
    .optional()?;
    if allowed.is_some() {
        return Ok(None);
    }
    diesel::sql_query(
        "SELECT GREATEST(ready_at + $2 - extract(epoch FROM clock_timestamp())::float8 - $3, 0) \
         AS wait FROM login_limits WHERE key = $1",
    )
    .bind::<Text, _>(key)
    .bind::<Double, _>(interval_secs)
    .bind::<Double, _>(tolerance)
    .get_result::<Wait>(conn)
    .optional()
    .map(|wait| Some(wait.map_or(interval_secs, |w| w.wait)))
}

/// Forgets keys whose budget is whole again (what they hold is the default).
pub fn prune(conn: &mut DbConn) -> QueryResult<usize> {
    match conn {
        DbConn::Postgres(conn) => diesel::sql_query(
            "DELETE FROM login_limits WHERE ready_at < extract(epoch FROM clock_timestamp())",
        )
        .execute(conn),
        DbConn::Sqlite(_) => Ok(0),
    }
}
