//! Settings, from flags or `FOLIO_*` environment variables, with defaults that run Folio on
//! a local SQLite file with nothing else installed.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Where the content lives: sqlite://path/to/file.db or postgres://user@host/db.
    #[arg(long, env = "FOLIO_DATABASE_URL", default_value = "sqlite://folio.db")]
    pub database_url: String,

    /// Address and port to listen on.
    #[arg(long, env = "FOLIO_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "FOLIO_WORKERS")]
    pub workers: Option<usize>,

    /// Database connections in the pool.
    #[arg(long, env = "FOLIO_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,

    /// Milliseconds a request waits for a database connection before it gets a 503.
    #[arg(long, env = "FOLIO_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 2000)]
    pub db_acquire_timeout_ms: u64,

    /// `max-age` in seconds of the Cache-Control header on anonymous reads.
    #[arg(long, env = "FOLIO_CACHE_MAX_AGE", default_value_t = 60)]
    pub cache_max_age: u32,

    /// Milliseconds an anonymous response is kept in memory (0 turns the cache off).
    #[arg(long, env = "FOLIO_READ_CACHE_TTL_MS", default_value_t = 1000)]
    pub read_cache_ttl_ms: u64,

    /// How many anonymous responses the in-memory cache holds at most.
    #[arg(long, env = "FOLIO_READ_CACHE_ENTRIES", default_value_t = 10_000)]
    pub read_cache_entries: usize,

    /// Log filter, in tracing's EnvFilter syntax (`info`, `folio=debug,warn`).
    #[arg(long, env = "FOLIO_LOG", default_value = "info")]
    pub log: String,

    /// Log format: `text` for people, `json` for log pipelines.
    #[arg(long, env = "FOLIO_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

impl Config {
    /// A configuration for tests: the given database, a free port, no in-memory read cache
    /// (tests read their own writes), and the defaults for everything else.
    pub fn for_tests(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: Some(1),
            db_pool_size: 4,
            db_acquire_timeout_ms: 2000,
            cache_max_age: 60,
            read_cache_ttl_ms: 0,
            read_cache_entries: 0,
            log: "warn".into(),
            log_format: "text".into(),
        }
    }

    pub fn db_acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.db_acquire_timeout_ms)
    }
}
