//! Data access: backend selection, the connection pool, embedded migrations, the schema and
//! one module of queries per table. Nothing here knows about HTTP.

pub mod api_tokens;
pub mod archive;
pub mod articles;
mod conn;
pub mod counters;
mod fragments;
pub mod health;
pub mod login_limits;
pub mod media;
pub mod notify;
mod pool;
pub mod replicas;
pub mod revisions;
pub mod schema;
pub mod search;
pub mod site;
pub mod sitemap;
pub mod slow_queries;
pub mod sso;
pub mod tags;
pub mod tokens;
pub mod users;
pub mod webhooks;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use conn::{DbConn, MultiBackend};
pub use fragments::{
    TagIdsOfArticle, count_of, id_in, in_subquery, is_true, limit_written, matches, row_after,
};
pub use pool::{ConnectionSettings, Pool, PoolOptions, PoolStats};

// SQL lower(): ASCII-only on SQLite, so case-insensitive matching covers ASCII letters there.
diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
diesel::define_sql_function! {
    /// A count that may be missing (no counter row, no rows), as 0 when it is.
    #[sql_name = "coalesce"]
    fn or_zero(x: diesel::sql_types::Nullable<diesel::sql_types::BigInt>, y: diesel::sql_types::BigInt) -> diesel::sql_types::BigInt
}

use crate::error::AppError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database a URL points at. Decided by the scheme alone, so a typo never silently
/// becomes a new SQLite file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed database URL.
#[derive(Debug, Clone)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// What the driver is given: a file path for SQLite, the URL itself for PostgreSQL.
    target: String,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: url.to_owned(),
            });
        }
        match url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Some("") => Err("the SQLite URL names no file (sqlite://path/to/folio.db)".into()),
            Some(path) => Ok(Self {
                backend: Backend::Sqlite,
                target: path.to_owned(),
            }),
            None => Err(format!(
                "unsupported database URL {url:?}: use sqlite://path or postgres://user@host/db"
            )),
        }
    }

    /// What the driver is given: the file path (SQLite) or the URL (PostgreSQL).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The URL without credentials or options (`host:port/db`, or the file path): how logs
    /// and probes name a database.
    pub fn display_name(&self) -> String {
        match self.backend {
            Backend::Sqlite => self.target.clone(),
            Backend::Postgres => {
                let rest = self.target.split_once("://").map_or("", |(_, rest)| rest);
                let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                rest.split('?').next().unwrap_or(rest).to_owned()
            }
        }
    }

    pub(crate) fn connect(&self) -> ConnectionResult<DbConn> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.target).map(DbConn::Postgres),
            Backend::Sqlite => SqliteConnection::establish(&self.target).map(DbConn::Sqlite),
        }
    }
}

/// How many times a write transaction is tried when PostgreSQL aborts it for a serialization
/// failure or a deadlock, which guarantee that nothing of it was committed.
const WRITE_ATTEMPTS: u32 = 4;

/// Runs reads that must agree with each other in one transaction whose statements all see the
/// database as of the first: SQLite's (in WAL mode) does; PostgreSQL's is made REPEATABLE
/// READ, since each statement of a READ COMMITTED one sees the latest commits.
pub fn read_snapshot<T>(
    conn: &mut DbConn,
    work: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    conn.transaction(|conn| {
        if let DbConn::Postgres(c) = conn {
            c.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        work(conn)
    })
}

/// Runs `work` in a transaction that holds the write lock from its first statement, and runs
/// it again (a few times, after a short jittered pause) when the database aborted it for a
/// conflict with another transaction; `work` must therefore be repeatable.
///
/// SQLite's default (deferred) transaction starts as a reader; when it then writes after
/// another writer committed, it fails at once with SQLITE_BUSY instead of waiting.
/// `BEGIN IMMEDIATE` takes the lock up front, so concurrent writers queue on the busy
/// timeout. On PostgreSQL (READ COMMITTED) the version check inside each UPDATE decides
/// between editors; rules that read other rows first lock them.
pub fn write_transaction<T>(
    conn: &mut DbConn,
    mut work: impl FnMut(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let mut attempt = 1;
    loop {
        match one_write_transaction(conn, &mut work) {
            Err(AppError::Contended) if attempt < WRITE_ATTEMPTS => {
                tracing::debug!(attempt, "write transaction aborted by a conflict; retrying");
                std::thread::sleep(Duration::from_millis(fastrand::u64(
                    1..=10 * u64::from(attempt),
                )));
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn one_write_transaction<T>(
    conn: &mut DbConn,
    work: &mut impl FnMut(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConn::Sqlite(sqlite) = conn else {
        return conn.transaction(work);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let result = work(conn);
    let DbConn::Sqlite(sqlite) = conn else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "the connection changed backend"
        )));
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite)?;
            Ok(value)
        }
        Err(error) => {
            AnsiTransactionManager::rollback_transaction(sqlite)?;
            Err(error)
        }
    }
}

/// Opens one connection, applies pending migrations and returns their names.
pub fn migrate(url: &DatabaseUrl) -> anyhow::Result<Vec<String>> {
    let mut conn = url.connect()?;
    let applied: Vec<String> = match &mut conn {
        DbConn::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConn::Sqlite(c) => {
            c.batch_execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")?;
            c.run_pending_migrations(SQLITE_MIGRATIONS)
        }
    }
    .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?
    .iter()
    .map(ToString::to_string)
    .collect();
    // A database analyzed by an earlier version (or by hand) still holds the samples.
    if let DbConn::Sqlite(c) = &mut conn {
        drop_value_samples(c)?;
    }
    Ok(applied)
}

/// Fresh statistics for the planner, after a bulk load (seed, import). On PostgreSQL,
/// VACUUM also sets the visibility map that lets counts be answered from indexes alone.
pub fn analyze(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Postgres(c) => diesel::sql_query("VACUUM ANALYZE").execute(c).map(drop),
        DbConn::Sqlite(c) => {
            diesel::sql_query("ANALYZE").execute(c)?;
            drop_value_samples(c)
        }
    }
}

/// SQLite's ANALYZE keeps, beside each index's averages (`sqlite_stat1`), samples of its
/// values (`sqlite_stat4`; the bundled SQLite is built with them). A statement planned from
/// where a bound value falls among the samples is prepared again each time that value
/// changes: every list page, whose bound `now` moves, and every lookup FTS5 makes in its
/// term index. Preparing again was the largest cost of a page: without the samples, page 1
/// served 55% more requests a second and a rare word's search twice as many, at ten thousand
/// articles, with the same plans (`benches/plans.sh`). The averages stay.
fn drop_value_samples(c: &mut SqliteConnection) -> QueryResult<()> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let samples = diesel::sql_query(
        "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat4'",
    )
    .get_result::<Found>(c)?;
    if samples.n > 0 {
        // `ANALYZE sqlite_schema` makes this connection's planner reload the statistics.
        c.batch_execute("DELETE FROM sqlite_stat4; ANALYZE sqlite_schema;")?;
    }
    Ok(())
}

/// Reverts every migration (used by the migration round-trip test).
pub fn revert_all(url: &DatabaseUrl) -> anyhow::Result<()> {
    let mut conn = url.connect()?;
    match &mut conn {
        DbConn::Postgres(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(drop),
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(drop),
    }
    .map_err(|e| anyhow::anyhow!("revert failed: {e}"))
}

/// Opens a single connection outside the pool (CLI commands).
pub fn connect(url: &DatabaseUrl) -> anyhow::Result<DbConn> {
    let mut conn = url.connect()?;
    if let DbConn::Sqlite(c) = &mut conn {
        c.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")?;
    }
    Ok(conn)
}

/// The current time as stored: UTC, microseconds (PostgreSQL's precision), so values
/// compare equal after a round trip on both backends.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}
