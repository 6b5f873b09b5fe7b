//! The connection pool, and the one way handlers and jobs reach the database: through the
//! circuit breaker (`health`), with a short wait for a connection taken in arrival order,
//! reads retried on a fresh connection when theirs broke, and SQLite writers queued in order.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
            // No JIT: PostgreSQL compiles a plan whose estimate passes `jit_above_cost` on
            // every run, kept plans included, and a list excluding a tag at a million
            // articles is estimated so (271,404 for 21 rows): 12 ms of compiling for 0.5 ms of
            // work, 134 pages a second instead of thousands.
            DbConn::Postgres(_) => format!(
                "SET statement_timeout = {}; SET jit = off",
                self.statement_timeout_ms
            ),
        };
        conn.batch_execute(&settings)
            .map_err(r2d2::Error::QueryError)
    }
}

type Connections = Arc<r2d2::Pool<Manager>>;

/// Connections beyond the requests' turns, for the background jobs (which take no turn) and
/// SQLite's writer (which skips the queue: see `write`), so they seldom make a request that
/// has its turn wait again in r2d2.
const CONNECTIONS_BESIDE_TURNS: u32 = 2;

/// A pool of connections that are made when first needed, so the server can start (and
/// report not-ready) while the database is down.
fn connections(url: &DatabaseUrl, options: &PoolOptions) -> Connections {
    Arc::new(
        r2d2::Pool::builder()
            .max_size(options.max_size + CONNECTIONS_BESIDE_TURNS)
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
    /// Connections for requests (`CONNECTIONS_BESIDE_TURNS` more for jobs and SQLite's writer).
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
    /// Requests' work finished so far: a wait that runs out while none finished means the
    /// database is stuck, not just busy.
    finished: Arc<AtomicU64>,
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
            finished: Arc::default(),
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

    /// Waits for this request's turn at a connection, at most the acquire timeout; refused at
    /// once while the breaker is open. A wait that runs out while no other request's work
    /// finished counts against the breaker (a database that hangs holds every connection);
    /// one that runs out while work kept finishing is a database busier than its pool, a
    /// 503 that says nothing against the database, so overload cannot open the breaker.
    async fn turn(&self) -> Result<Turn, AppError> {
        self.health.check().map_err(refused)?;
        let finished_before = self.finished.load(Ordering::Relaxed);
        let waiting = Waiting::count(&self.waiting);
        let permit = actix_web::rt::time::timeout(
            self.options.acquire_timeout,
            self.turns.clone().acquire_owned(),
        )
        .await;
        drop(waiting);
        match permit {
            Ok(Ok(permit)) => Ok(Turn {
                _permit: permit,
                finished: Arc::clone(&self.finished),
            }),
            _ => {
                let kind = if self.finished.load(Ordering::Relaxed) == finished_before {
                    self.health.record_stalled_wait();
                    "unavailable"
                } else {
                    "busy"
                };
                metrics::counter!("folio_db_errors_total", "kind" => kind).increment(1);
                tracing::warn!(kind, "no database connection within the acquire timeout");
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

    /// Runs blocking work that writes. On SQLite, writers queue in their own lane, in order,
    /// and the one whose turn it is skips the readers' queue (a connection is kept beside the
    /// turns for it): queueing behind every reader while holding the lane would let through
    /// one write per read queue. A write whose connection broke is not retried here: whether
    /// it committed is unknown.
    pub async fn write<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let write = async {
            // The lane or the turn goes with the work, which may outlive a request past its
            // deadline.
            let (lane, turn) = match &self.write_lane {
                Some(lane) => {
                    self.health.check().map_err(refused)?;
                    (Some(Arc::clone(lane).lock_owned().await), None)
                }
                None => (None, Some(self.turn().await?)),
            };
            self.blocking(move |pool| {
                let _held = (lane, turn);
                pool.attempt(work)
            })
            .await
        };
        self.within_deadline(write).await
    }

    /// As `write`, for a thread of its own (the background jobs): on SQLite it waits in the
    /// same lane as the requests' writes. Jobs take no turn (see `CONNECTIONS_BESIDE_TURNS`).
    pub fn write_blocking<T>(
        &self,
        work: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let _lane = self.write_lane.as_ref().map(|lane| lane.blocking_lock());
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

/// A request's turn at a connection, held until its work ends, which it counts as it goes.
struct Turn {
    _permit: tokio::sync::OwnedSemaphorePermit,
    finished: Arc<AtomicU64>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.finished.fetch_add(1, Ordering::Relaxed);
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
    use std::future::Future;
    use std::sync::{Mutex, mpsc};

    use super::*;
    use crate::db::health::BreakerState;

    fn pool_of_one(dir: &tempfile::TempDir, acquire_timeout: Duration) -> Pool {
        let url = DatabaseUrl::parse(&format!("sqlite://{}/folio.db", dir.path().display()))
            .expect("a SQLite URL");
        let pool = Pool::new(
            &url,
            &PoolOptions {
                max_size: 1,
                acquire_timeout,
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

    async fn until(condition: impl Fn() -> bool) {
        while !condition() {
            actix_web::rt::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Takes the pool's one turn until the returned sender is used (or dropped).
    async fn hold_the_connection(
        pool: &Pool,
    ) -> (
        mpsc::Sender<()>,
        actix_web::rt::task::JoinHandle<Result<(), AppError>>,
    ) {
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
        until(|| pool.turns.available_permits() == 0).await;
        (release, holder)
    }

    fn no_work(pool: &Pool) -> impl Future<Output = Result<(), AppError>> + use<> {
        let pool = pool.clone();
        async move { pool.run(|_| Ok(())).await }
    }

    fn unavailable_saying(result: &Result<(), AppError>, words: &str) -> bool {
        matches!(result, Err(AppError::Unavailable { detail, .. }) if detail.contains(words))
    }

    /// Fails a test that would otherwise hang.
    async fn within_ten_seconds(test: impl Future<Output = ()>) {
        actix_web::rt::time::timeout(Duration::from_secs(10), test)
            .await
            .expect("the test finished within ten seconds");
    }

    #[actix_web::test]
    async fn requests_get_the_connection_in_the_order_they_asked_for_it() {
        within_ten_seconds(async {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let pool = pool_of_one(&dir, Duration::from_secs(30));
            let served = Arc::new(Mutex::new(Vec::new()));
            let (release, holder) = hold_the_connection(&pool).await;
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
                until(|| pool.stats().waiting == number).await;
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
            assert_eq!(pool.stats().waiting, 0);
        })
        .await;
    }

    #[actix_web::test]
    async fn a_database_that_holds_every_connection_opens_the_breaker_and_then_is_not_waited_for() {
        within_ten_seconds(async {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let pool = pool_of_one(&dir, Duration::from_millis(20));
            let (release, holder) = hold_the_connection(&pool).await;
            for _ in 0..5 {
                let waited = no_work(&pool).await;
                assert!(unavailable_saying(&waited, "in time"), "{waited:?}");
            }
            assert_eq!(pool.health.state(), BreakerState::Open);
            let refused = no_work(&pool).await;
            assert!(
                unavailable_saying(&refused, "unreachable"),
                "refused at once, not after another wait: {refused:?}"
            );
            release.send(()).expect("the holder waits");
            holder.await.expect("joined").expect("served");
        })
        .await;
    }

    #[actix_web::test]
    async fn a_database_busier_than_its_pool_gets_503s_but_never_opens_the_breaker() {
        within_ten_seconds(async {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let pool = pool_of_one(&dir, Duration::from_millis(300));
            let request = |work_ms: u64| {
                let pool = pool.clone();
                actix_web::rt::spawn(async move {
                    pool.run(move |_| {
                        std::thread::sleep(Duration::from_millis(work_ms));
                        Ok(())
                    })
                    .await
                })
            };
            // A short piece of work finishes while the others wait; then a long one holds
            // the connection, and the six queued behind it run out of time.
            let short = request(20);
            until(|| pool.turns.available_permits() == 0).await;
            let long = request(2_000);
            let queued: Vec<_> = (0..6).map(|_| request(10)).collect();
            for waited in queued {
                let waited = waited.await.expect("joined");
                assert!(unavailable_saying(&waited, "in time"), "{waited:?}");
            }
            assert_eq!(
                pool.health.state(),
                BreakerState::Closed,
                "six 503s while work kept finishing are not a database that is down"
            );
            short.await.expect("joined").expect("served");
            long.await.expect("joined").expect("served");
        })
        .await;
    }
}
