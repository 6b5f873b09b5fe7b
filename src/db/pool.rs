//! The connection pool, and the one way handlers and jobs reach the database: through the
//! circuit breaker (`health`), with a short wait for a connection taken in arrival order,
//! reads retried on a fresh connection when theirs broke, and SQLite writers queued in order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, CustomizeConnection, ManageConnection, R2D2Connection};

use super::health::{Health, Refusal};
use super::{Backend, DatabaseUrl, DbConn};
use crate::error::{AppError, CONNECTION_LOST};

/// Tries a read gets when its connection breaks; the retries use new connections
/// (`Pool::renew`).
const READ_ATTEMPTS: u32 = 3;

/// Connects by scheme and reports the driver's own error (diesel's generic `establish` on a
/// `MultiConnection` tries each backend in turn and hides why PostgreSQL failed).
#[derive(Debug)]
struct Manager(DatabaseUrl);

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        self.0.connect().map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

/// Settings each new connection gets.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// PostgreSQL `statement_timeout`, so a slow query cannot hold a connection for long
    /// (0: none).
    pub statement_timeout_ms: u64,
    /// SQLite `synchronous`: `NORMAL` (a committed write survives a crash of Folio; a power
    /// loss may lose the last ones) or `FULL` (it survives a power loss too, for an fsync
    /// per commit).
    pub sqlite_synchronous: &'static str,
    /// SQLite `busy_timeout`: how long a statement waits for another connection's lock.
    pub sqlite_busy_timeout_ms: u64,
}

impl CustomizeConnection<DbConn, r2d2::Error> for ConnectionSettings {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        let settings = match conn {
            // WAL is a property of the file, set once by `migrate`: setting it here from
            // several connections at once fails with "database is locked". mmap spares a
            // read() syscall per page on the read paths.
            DbConn::Sqlite(_) => format!(
                "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = {}; \
                 PRAGMA mmap_size = 268435456;",
                self.sqlite_busy_timeout_ms, self.sqlite_synchronous
            ),
            DbConn::Postgres(_) => format!("SET statement_timeout = {}", self.statement_timeout_ms),
        };
        conn.batch_execute(&settings)
            .map_err(r2d2::Error::QueryError)
    }
}

type Connections = Arc<r2d2::Pool<Manager>>;

/// A pool of connections that are made when first needed, so the server can start (and
/// report not-ready) while the database is down.
fn connections(url: &DatabaseUrl, options: &PoolOptions) -> Connections {
    Arc::new(
        r2d2::Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(1))
            .connection_timeout(options.acquire_timeout)
            // No ping before every checkout (a round trip per request on PostgreSQL): a
            // connection that broke shows when its query fails (`Pool::renew`).
            .test_on_check_out(false)
            .connection_customizer(Box::new(options.connection.clone()))
            .build_unchecked(Manager(url.clone())),
    )
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_size: u32,
    /// How long a request waits for a connection before it gets a 503.
    pub acquire_timeout: Duration,
    /// The longest a request waits on the database in all (queued, then working); then it
    /// is answered 503. The statement timeout stops the work itself on PostgreSQL.
    pub deadline: Option<Duration>,
    pub connection: ConnectionSettings,
}

/// What the pool holds now, for the metrics.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub connections: u32,
    pub idle: u32,
    /// Requests waiting for a connection.
    pub waiting: usize,
}

/// The connection pool and the database's health.
#[derive(Clone)]
pub struct Pool {
    /// The connections. Replaced whole when one is found broken (see `renew`).
    connections: Arc<RwLock<Connections>>,
    url: DatabaseUrl,
    options: PoolOptions,
    pub backend: Backend,
    pub health: Arc<Health>,
    waiting: Arc<AtomicUsize>,
    /// One turn per connection: requests wait here, in arrival order and without holding a
    /// thread, before they take a connection. r2d2's own wait lets a newcomer take a
    /// connection that was handed back for a request already waiting, so under load some
    /// requests waited many turns: PostgreSQL's p99 at 64 connections was 2.5× its median.
    turns: Arc<tokio::sync::Semaphore>,
    deadline: Option<Duration>,
    /// SQLite has one writer at a time. Writers queue here, in order, instead of in SQLite's
    /// busy handler, which sleeps and retries (up to 100 ms a time): under load that starved
    /// writers behind readers and gave a 1 s p99 to 8 concurrent writers.
    write_lane: Option<Arc<tokio::sync::Mutex<()>>>,
}

impl Pool {
    /// Builds the pool without waiting for the database.
    pub fn new(url: &DatabaseUrl, options: &PoolOptions) -> Self {
        Self {
            connections: Arc::new(RwLock::new(connections(url, options))),
            url: url.clone(),
            options: options.clone(),
            backend: url.backend,
            health: Arc::new(Health::new()),
            waiting: Arc::default(),
            turns: Arc::new(tokio::sync::Semaphore::new(options.max_size as usize)),
            deadline: options.deadline,
            write_lane: (url.backend == Backend::Sqlite).then(Default::default),
        }
    }

    fn current(&self) -> Connections {
        self.connections
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the connections after one of `broken` broke: the database restarted or
    /// failed over, so every idle connection is broken too, and diesel cannot tell (it sees
    /// a PostgreSQL connection's failure only when a query fails on it). The old ones close
    /// as they come back; new ones are made as needed.
    fn renew(&self, broken: &Connections) {
        let mut current = self
            .connections
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Only the first to find the pool broken replaces it.
        if Arc::ptr_eq(&current, broken) {
            tracing::warn!("a database connection broke; opening new ones");
            *current = connections(&self.url, &self.options);
        }
    }

    pub fn stats(&self) -> PoolStats {
        let state = self.current().state();
        PoolStats {
            connections: state.connections,
            idle: state.idle_connections,
            waiting: self.waiting.load(Ordering::Relaxed),
        }
    }

    /// Checks out a connection, blocking at most the acquire timeout.
    fn get(&self, from: &Connections) -> Result<r2d2::PooledConnection<Manager>, AppError> {
        from.get().map_err(|e| {
            tracing::warn!(error = %e, "no database connection within the acquire timeout");
            no_connection_in_time()
        })
    }

    /// Waits for this request's turn at a connection, at most the acquire timeout. A wait
    /// that runs out counts against the breaker as a connection that did not come in time
    /// does: a database that hangs holds every connection, and the breaker must open.
    async fn turn(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
        let waiting = Waiting::count(&self.waiting);
        let permit = actix_web::rt::time::timeout(
            self.options.acquire_timeout,
            self.turns.clone().acquire_owned(),
        )
        .await;
        drop(waiting);
        match permit {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                let attempt = self.health.admit().map_err(refused)?;
                self.health.record(attempt, false);
                metrics::counter!("folio_db_errors_total", "kind" => "unavailable").increment(1);
                tracing::warn!("no database connection within the acquire timeout");
                Err(no_connection_in_time())
            }
        }
    }

    /// One try through the breaker: refused at once while it is open, and counted against it
    /// when the database cannot be reached or does not answer in time. A connection that
    /// broke before this request took it from the pool (the database restarted since) says
    /// nothing of the database now: it counts for nothing, and the pool drops it.
    fn attempt<T>(
        &self,
        work: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let attempt = self.health.admit().map_err(refused)?;
        let connections = self.current();
        let result = self.get(&connections).and_then(|mut conn| work(&mut conn));
        let failed = match &result {
            Err(AppError::Unavailable { detail, .. }) if *detail == CONNECTION_LOST => {
                self.renew(&connections);
                self.health.release(attempt);
                Some("connection_lost")
            }
            Err(AppError::Unavailable { .. }) => {
                self.health.record(attempt, false);
                Some("unavailable")
            }
            Err(AppError::Timeout) => {
                self.health.record(attempt, false);
                Some("timeout")
            }
            other => {
                self.health.record(attempt, true);
                match other {
                    Err(AppError::Contended) => Some("contended"),
                    Err(AppError::Internal(_)) => Some("internal"),
                    _ => None,
                }
            }
        };
        if let Some(kind) = failed {
            metrics::counter!("folio_db_errors_total", "kind" => kind).increment(1);
        }
        result
    }

    /// Runs blocking work that writes, after the writers queued before it on SQLite. A write
    /// whose connection broke is not retried here: whether it committed is unknown.
    pub async fn write<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let write = async {
            let _turn = match &self.write_lane {
                Some(lane) => Some(lane.lock().await),
                None => None,
            };
            // The turn goes with the work, which may outlive a request past its deadline.
            let turn = self.turn().await?;
            self.blocking(move |pool| {
                let _turn = turn;
                pool.attempt(work)
            })
            .await
        };
        self.within_deadline(write).await
    }

    /// As `write`, for a thread of its own (the background jobs): on SQLite it waits for its
    /// turn in the same lane as the requests' writes.
    pub fn write_blocking<T>(
        &self,
        work: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let _turn = self.write_lane.as_ref().map(|lane| lane.blocking_lock());
        self.attempt(work)
    }

    /// Runs blocking database work that reads, on the blocking thread pool (never on an async
    /// worker). When the connection breaks under it, it runs again on a new one after a short
    /// jittered pause, a few times at most; a database that is really gone gives no new
    /// connection, which counts against the breaker, so it opens instead of drawing a storm
    /// of retries.
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: Fn(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let read = async {
            let turn = self.turn().await?;
            self.blocking(move |pool| {
                let _turn = turn;
                let mut tries = 1;
                loop {
                    match pool.attempt(&work) {
                        Err(AppError::Unavailable { detail, .. })
                            if detail == CONNECTION_LOST && tries < READ_ATTEMPTS =>
                        {
                            tracing::debug!(tries, "connection lost during a read; retrying");
                            // A moment's jitter: the next connection is likely fine already.
                            std::thread::sleep(Duration::from_millis(fastrand::u64(1..=5)));
                            tries += 1;
                        }
                        other => return other,
                    }
                }
            })
            .await
        };
        self.within_deadline(read).await
    }

    /// The request's wait on the database, bounded by the deadline: past it the request gets
    /// a 503 (the work it started finishes on its own, or stops at the statement timeout).
    async fn within_deadline<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        match self.deadline {
            None => work.await,
            Some(deadline) => actix_web::rt::time::timeout(deadline, work)
                .await
                .unwrap_or(Err(AppError::Timeout)),
        }
    }

    /// Runs database work on the calling thread, for code that is not on an async worker
    /// (the background jobs), through the breaker like any other.
    pub fn run_blocking<T>(
        &self,
        work: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.attempt(work)
    }

    async fn blocking<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&Pool) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.clone();
        let span = tracing::Span::current();
        actix_web::rt::task::spawn_blocking(move || {
            let _entered = span.enter();
            work(&pool)
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
    }
}

fn no_connection_in_time() -> AppError {
    AppError::unavailable("the database did not answer in time; retry")
}

fn refused(refusal: Refusal) -> AppError {
    match refusal {
        Refusal::NotReady(_) => AppError::unavailable("the database is not ready yet"),
        Refusal::Open { retry_after } => AppError::Unavailable {
            detail: "the database is unreachable; retry later",
            retry_after_secs: retry_after.as_secs().max(1),
        },
    }
}

/// Counts a request among those waiting for a connection while it waits, however its wait
/// ends (its deadline may drop it mid-wait).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        Self(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Mutex, mpsc};

    use super::*;

    fn pool_of_one(dir: &tempfile::TempDir) -> Pool {
        let url = DatabaseUrl::parse(&format!("sqlite://{}/folio.db", dir.path().display()))
            .expect("a SQLite URL");
        let pool = Pool::new(
            &url,
            &PoolOptions {
                max_size: 1,
                acquire_timeout: Duration::from_secs(30),
                deadline: None,
                connection: ConnectionSettings {
                    statement_timeout_ms: 0,
                    sqlite_synchronous: "NORMAL",
                    sqlite_busy_timeout_ms: 1000,
                },
            },
        );
        pool.health.set_ready(None);
        pool
    }

    async fn until_waiting(pool: &Pool, requests: usize) {
        while pool.stats().waiting < requests {
            actix_web::rt::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[actix_web::test]
    async fn requests_get_the_connection_in_the_order_they_asked_for_it() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let pool = pool_of_one(&dir);
        let served = Arc::new(Mutex::new(Vec::new()));
        let (release, released) = mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let holder = actix_web::rt::spawn({
            let pool = pool.clone();
            async move {
                pool.run(move |_| {
                    let _ = released.lock().expect("one holder").recv();
                    Ok(())
                })
                .await
            }
        });
        while pool.turns.available_permits() > 0 {
            actix_web::rt::time::sleep(Duration::from_millis(1)).await;
        }
        let queue_request = |number: usize| {
            let (pool, served) = (pool.clone(), Arc::clone(&served));
            actix_web::rt::spawn(async move {
                pool.run(move |_| {
                    served.lock().expect("not poisoned").push(number);
                    Ok(())
                })
                .await
            })
        };
        let mut requests = Vec::new();
        for number in 1..=5 {
            requests.push(queue_request(number));
            until_waiting(&pool, number).await;
        }
        // A request that arrives just as the connection comes back still goes last.
        release.send(()).expect("the holder waits");
        requests.push(queue_request(6));
        holder.await.expect("joined").expect("served");
        for request in requests {
            request.await.expect("joined").expect("served");
        }
        assert_eq!(
            *served.lock().expect("not poisoned"),
            vec![1, 2, 3, 4, 5, 6]
        );
    }
}
