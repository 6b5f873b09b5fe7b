//! Settings, from flags or `FOLIO_*` environment variables, with defaults that run Folio on
//! a local SQLite file with nothing else installed.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Where the content lives: sqlite://path/to/file.db or postgres://user@host/db.
    #[arg(
        long,
        global = true,
        env = "FOLIO_DATABASE_URL",
        default_value = "sqlite://folio.db"
    )]
    pub database_url: String,

    /// PostgreSQL read replicas (comma-separated URLs): anonymous reads go to a healthy one.
    #[arg(
        long,
        global = true,
        env = "FOLIO_DATABASE_REPLICA_URLS",
        default_value = "",
        hide_env_values = true
    )]
    pub database_replica_urls: CommaList,

    /// Milliseconds a replica may lag behind the primary and still take reads.
    #[arg(
        long,
        global = true,
        env = "FOLIO_REPLICA_MAX_LAG_MS",
        default_value_t = 1000
    )]
    pub replica_max_lag_ms: u64,

    /// Log every database statement that takes at least this many milliseconds, with its SQL
    /// and values (0: every statement; unset: none).
    #[arg(long, global = true, env = "FOLIO_SLOW_QUERY_MS")]
    pub slow_query_ms: Option<u64>,

    /// Also log the slow statements' bound values (they may hold emails, password hashes,
    /// drafts: for diagnosis only).
    #[arg(
        long,
        global = true,
        env = "FOLIO_SLOW_QUERY_BINDS",
        default_value_t = false
    )]
    pub slow_query_binds: bool,

    /// Send `Strict-Transport-Security` (only when clients reach Folio over HTTPS, usually
    /// through a proxy that terminates TLS).
    #[arg(long, global = true, env = "FOLIO_HSTS", default_value_t = false)]
    pub hsts: bool,

    /// Accept email and password sign-ins (`false`: single sign-on only).
    #[arg(
        long,
        global = true,
        env = "FOLIO_PASSWORD_LOGIN",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub password_login: bool,

    #[command(flatten)]
    pub oidc: OidcConfig,

    /// Address and port to listen on.
    #[arg(
        long,
        global = true,
        env = "FOLIO_BIND",
        default_value = "127.0.0.1:8080"
    )]
    pub bind: SocketAddr,

    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, global = true, env = "FOLIO_WORKERS")]
    pub workers: Option<usize>,

    /// Database connections for requests (default: four per CPU core, 4 to 16).
    #[arg(long, global = true, env = "FOLIO_DB_POOL_SIZE", default_value_t = default_pool_size())]
    pub db_pool_size: u32,

    /// Milliseconds a request waits for a database connection before it gets a 503.
    #[arg(
        long,
        global = true,
        env = "FOLIO_DB_ACQUIRE_TIMEOUT_MS",
        default_value_t = 2000
    )]
    pub db_acquire_timeout_ms: u64,

    /// PostgreSQL statement timeout in milliseconds: a slower statement is cancelled and its
    /// request answered 503 (0: no limit).
    #[arg(
        long,
        global = true,
        env = "FOLIO_DB_STATEMENT_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub db_statement_timeout_ms: u64,

    /// SQLite `synchronous`: `normal` (a write acknowledged survives a crash of Folio; a power
    /// loss may lose the last ones) or `full` (it survives a power loss too, for an fsync per
    /// commit).
    #[arg(long, global = true, env = "FOLIO_SQLITE_SYNCHRONOUS", default_value = "normal", value_parser = ["normal", "full"])]
    pub sqlite_synchronous: String,

    /// Milliseconds a SQLite statement waits for a lock another connection holds (another
    /// process writing the file) before its request is answered 503.
    #[arg(
        long,
        global = true,
        env = "FOLIO_SQLITE_BUSY_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub sqlite_busy_timeout_ms: u64,

    /// Milliseconds a request may wait on the database in all (for a connection, behind
    /// other writers, for its statements); then it is answered 503 (0: no limit).
    #[arg(
        long,
        global = true,
        env = "FOLIO_REQUEST_TIMEOUT_MS",
        default_value_t = 15_000
    )]
    pub request_timeout_ms: u64,

    /// Seconds in-flight requests get to finish on SIGTERM or SIGINT.
    #[arg(
        long,
        global = true,
        env = "FOLIO_SHUTDOWN_TIMEOUT_SECS",
        default_value_t = 10
    )]
    pub shutdown_timeout_secs: u64,

    /// `max-age` in seconds of the Cache-Control header on anonymous reads.
    #[arg(long, global = true, env = "FOLIO_CACHE_MAX_AGE", default_value_t = 60)]
    pub cache_max_age: u32,

    /// `s-maxage` in seconds: how long shared caches (CDNs, proxies) may serve an anonymous
    /// read without asking again.
    #[arg(
        long,
        global = true,
        env = "FOLIO_CACHE_S_MAXAGE",
        default_value_t = 60
    )]
    pub cache_s_maxage: u32,

    /// `stale-while-revalidate` in seconds (RFC 5861): how long a cache may serve a stale
    /// anonymous read while it fetches a fresh one.
    #[arg(
        long,
        global = true,
        env = "FOLIO_CACHE_STALE_WHILE_REVALIDATE",
        default_value_t = 30
    )]
    pub cache_stale_while_revalidate: u32,

    /// `stale-if-error` in seconds (RFC 5861): how long caches, and Folio itself, may serve
    /// a stale anonymous read when the database is unreachable.
    #[arg(
        long,
        global = true,
        env = "FOLIO_STALE_IF_ERROR_SECS",
        default_value_t = 86_400
    )]
    pub stale_if_error_secs: u32,

    /// Megabytes of response bodies kept as last good copies, served while the database is
    /// unreachable (0: none).
    #[arg(
        long,
        global = true,
        env = "FOLIO_STALE_CACHE_MB",
        default_value_t = 64
    )]
    pub stale_cache_mb: u64,

    /// Milliseconds an anonymous response is kept in memory (0 turns the cache off). Writes
    /// drop it at once on every instance (`jobs::listener`), so this only bounds the
    /// staleness of what no write announces.
    #[arg(
        long,
        global = true,
        env = "FOLIO_READ_CACHE_TTL_MS",
        default_value_t = 60_000
    )]
    pub read_cache_ttl_ms: u64,

    /// Milliseconds a list total is reused across the pages of the same filter (0: count
    /// every time).
    #[arg(
        long,
        global = true,
        env = "FOLIO_COUNT_CACHE_TTL_MS",
        default_value_t = 60_000
    )]
    pub count_cache_ttl_ms: u64,

    /// How many anonymous responses (and list totals) the in-memory caches hold at most.
    #[arg(
        long,
        global = true,
        env = "FOLIO_READ_CACHE_ENTRIES",
        default_value_t = 10_000
    )]
    pub read_cache_entries: usize,

    /// A list total is counted up to this many matches; beyond, `total` is this number and
    /// `meta.total_exact` is false (lists the counters answer are always exact).
    #[arg(
        long,
        global = true,
        env = "FOLIO_COUNT_LIMIT",
        default_value_t = 10_000
    )]
    pub count_limit: i64,

    /// Revisions kept per article, the oldest pruned beyond; 0 keeps all.
    #[arg(
        long,
        global = true,
        env = "FOLIO_REVISIONS_KEEP",
        default_value_t = 100
    )]
    pub revisions_keep: u32,

    /// The first retry of a failed webhook delivery waits about this long (half fixed, half
    /// random), each further one twice as long as the last, at most six hours.
    #[arg(
        long,
        global = true,
        env = "FOLIO_WEBHOOK_RETRY_BASE_MS",
        default_value_t = 5_000
    )]
    pub webhook_retry_base_ms: u64,

    /// A webhook request without a complete answer in this time has failed.
    #[arg(
        long,
        global = true,
        env = "FOLIO_WEBHOOK_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub webhook_timeout_ms: u64,

    /// How long an endpoint's opened circuit breaker waits before a probe; each reopening
    /// waits twice as long, at most an hour.
    #[arg(
        long,
        global = true,
        env = "FOLIO_WEBHOOK_BREAKER_COOLDOWN_MS",
        default_value_t = 30_000
    )]
    pub webhook_breaker_cooldown_ms: u64,

    /// Let webhooks reach loopback, private and link-local addresses (development, tests).
    /// Off by default: anyone who may register a webhook could otherwise make Folio call
    /// services inside its network (server-side request forgery).
    #[arg(
        long,
        global = true,
        env = "FOLIO_WEBHOOK_ALLOW_PRIVATE_NETWORKS",
        default_value_t = false
    )]
    pub webhook_allow_private_networks: bool,

    /// Delivered webhook deliveries stay in the log this many days.
    #[arg(
        long,
        global = true,
        env = "FOLIO_WEBHOOK_KEEP_DAYS",
        default_value_t = 30
    )]
    pub webhook_keep_days: u32,

    /// Deepest numbered page, as `page × limit`; deeper is a 400 pointing to `cursor`.
    #[arg(
        long,
        global = true,
        env = "FOLIO_MAX_OFFSET",
        default_value_t = 10_000
    )]
    pub max_offset: i64,

    /// HMAC secret for access tokens, at least 32 bytes. Without it Folio generates one once
    /// and keeps it in the database, so tokens survive restarts and all instances agree.
    #[arg(long, global = true, env = "FOLIO_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,

    /// Lifetime of an access token, in seconds.
    #[arg(
        long,
        global = true,
        env = "FOLIO_ACCESS_TOKEN_TTL_SECS",
        default_value_t = 900
    )]
    pub access_token_ttl_secs: u64,

    /// Lifetime of a refresh token, in days.
    #[arg(
        long,
        global = true,
        env = "FOLIO_REFRESH_TOKEN_TTL_DAYS",
        default_value_t = 30
    )]
    pub refresh_token_ttl_days: u64,

    /// `iss` and `aud` of access tokens; tokens with others are refused.
    #[arg(long, global = true, env = "FOLIO_JWT_ISSUER", default_value = "folio")]
    pub jwt_issuer: String,

    /// Origins whose browser apps may call the API: exact origins
    /// (`https://blog.example,http://localhost:5173`), `*` for any, or empty for none.
    #[arg(long, global = true, env = "FOLIO_CORS_ORIGINS", default_value = "*")]
    pub cors_origins: CorsOrigins,

    /// URLs per sitemap file; past it, `/sitemap.xml` is an index of numbered files
    /// (the protocol's maximum, 50,000, by default).
    #[arg(long, global = true, env = "FOLIO_SITEMAP_LIMIT", default_value_t = 50_000,
          value_parser = clap::value_parser!(u32).range(1..=50_000))]
    pub sitemap_limit: u32,

    /// Seconds a draft preview link works.
    #[arg(
        long,
        global = true,
        env = "FOLIO_PREVIEW_TTL_SECS",
        default_value_t = 86_400
    )]
    pub preview_ttl_secs: u64,

    /// With FOLIO_ADMIN_PASSWORD: the admin created at start when the database has none.
    #[arg(long, global = true, env = "FOLIO_ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    #[arg(
        long,
        global = true,
        env = "FOLIO_ADMIN_PASSWORD",
        hide_env_values = true
    )]
    pub admin_password: Option<Secret>,

    /// Login attempts allowed per client address per minute (0: no limit).
    #[arg(
        long,
        global = true,
        env = "FOLIO_LOGIN_LIMIT_PER_ADDRESS",
        default_value_t = 20
    )]
    pub login_limit_per_address: u32,

    /// Login attempts allowed per account per minute (0: no limit).
    #[arg(
        long,
        global = true,
        env = "FOLIO_LOGIN_LIMIT_PER_ACCOUNT",
        default_value_t = 10
    )]
    pub login_limit_per_account: u32,

    /// Proxies (CIDRs or addresses, comma-separated) whose `Forwarded` / `X-Forwarded-For`
    /// headers say who the client is; from any other peer they are ignored.
    #[arg(long, global = true, env = "FOLIO_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,

    /// Requests per minute per client address for anonymous reads (0: no limit).
    #[arg(
        long,
        global = true,
        env = "FOLIO_RATE_LIMIT_ANONYMOUS",
        default_value_t = 6000
    )]
    pub rate_limit_anonymous: u32,

    /// Requests per minute per user for signed-in reads (0: no limit).
    #[arg(
        long,
        global = true,
        env = "FOLIO_RATE_LIMIT_AUTHENTICATED",
        default_value_t = 3000
    )]
    pub rate_limit_authenticated: u32,

    /// Writes per minute per user, or per client address without a token (0: no limit).
    #[arg(
        long,
        global = true,
        env = "FOLIO_RATE_LIMIT_WRITES",
        default_value_t = 600
    )]
    pub rate_limit_writes: u32,

    /// Serve `GET /metrics` (Prometheus text) to anyone. Off by default: the metrics tell
    /// an outsider a lot about the server.
    #[arg(long, global = true, env = "FOLIO_METRICS", default_value_t = false)]
    pub metrics: bool,

    /// Serve `GET /metrics` to requests that carry `Authorization: Bearer <this token>`.
    #[arg(
        long,
        global = true,
        env = "FOLIO_METRICS_TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<Secret>,

    /// Where uploaded images are stored: `local` (FOLIO_MEDIA_DIR, served by Folio at
    /// `/media/{key}`) or `s3` (any S3-compatible service, served from its public URL).
    #[arg(long, global = true, env = "FOLIO_MEDIA_STORAGE", default_value = "local", value_parser = ["local", "s3"])]
    pub media_storage: String,

    /// The directory of local media storage.
    #[arg(long, global = true, env = "FOLIO_MEDIA_DIR", default_value = "media")]
    pub media_dir: std::path::PathBuf,

    /// Where readers fetch stored media (`{this}/{key}`): a CDN, the bucket's public URL, or
    /// Folio's own address. Default: `/media` on Folio (local), the path-style bucket URL (s3).
    #[arg(long, global = true, env = "FOLIO_MEDIA_PUBLIC_URL")]
    pub media_public_url: Option<String>,

    /// Largest image upload, in bytes; more is a 413.
    #[arg(
        long,
        global = true,
        env = "FOLIO_MEDIA_MAX_BYTES",
        default_value_t = 10 * 1024 * 1024
    )]
    pub media_max_bytes: u64,

    /// Most pixels (width × height) an uploaded image may have, judged before it is decoded
    /// (decompression bombs); more is a 422.
    #[arg(
        long,
        global = true,
        env = "FOLIO_MEDIA_MAX_PIXELS",
        default_value_t = 40_000_000
    )]
    pub media_max_pixels: u64,

    /// The S3 service's endpoint (e.g. http://127.0.0.1:9000 for MinIO); AWS when unset.
    #[arg(long, global = true, env = "FOLIO_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    #[arg(
        long,
        global = true,
        env = "FOLIO_S3_REGION",
        default_value = "us-east-1"
    )]
    pub s3_region: String,

    #[arg(long, global = true, env = "FOLIO_S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// Credentials; without them the usual AWS sources (environment, instance role) are used.
    #[arg(long, global = true, env = "FOLIO_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,

    #[arg(
        long,
        global = true,
        env = "FOLIO_S3_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub s3_secret_access_key: Option<Secret>,

    /// Address the bucket in the path (`{endpoint}/{bucket}/{key}`), as MinIO and most
    /// self-hosted services need, instead of as a subdomain.
    #[arg(
        long,
        global = true,
        env = "FOLIO_S3_PATH_STYLE",
        default_value_t = false
    )]
    pub s3_path_style: bool,

    /// Log filter, in tracing's EnvFilter syntax (`info`, `folio=debug,warn`).
    #[arg(long, global = true, env = "FOLIO_LOG", default_value = "info")]
    pub log: String,

    /// Log format: `text` for people, `json` for log pipelines.
    #[arg(long, global = true, env = "FOLIO_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

impl Config {
    /// A configuration for tests: the given database, a free port, no in-memory read cache
    /// (tests read their own writes), and the defaults for everything else.
    pub fn for_tests(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            database_replica_urls: CommaList::default(),
            replica_max_lag_ms: 1000,
            slow_query_ms: None,
            slow_query_binds: false,
            hsts: false,
            password_login: true,
            oidc: OidcConfig::default(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: Some(1),
            db_pool_size: 4,
            db_acquire_timeout_ms: 2000,
            db_statement_timeout_ms: 5000,
            sqlite_synchronous: "normal".into(),
            sqlite_busy_timeout_ms: 5000,
            request_timeout_ms: 15_000,
            shutdown_timeout_secs: 10,
            cache_max_age: 60,
            cache_s_maxage: 60,
            cache_stale_while_revalidate: 30,
            stale_if_error_secs: 86_400,
            stale_cache_mb: 64,
            read_cache_ttl_ms: 0,
            read_cache_entries: 0,
            count_cache_ttl_ms: 0,
            count_limit: 10_000,
            revisions_keep: 100,
            webhook_retry_base_ms: 5_000,
            webhook_timeout_ms: 10_000,
            webhook_breaker_cooldown_ms: 30_000,
            webhook_allow_private_networks: false,
            webhook_keep_days: 30,
            max_offset: 10_000,
            log: "warn".into(),
            log_format: "text".into(),
            jwt_secret: None,
            access_token_ttl_secs: 900,
            refresh_token_ttl_days: 30,
            jwt_issuer: "folio".into(),
            preview_ttl_secs: 86_400,
            cors_origins: CorsOrigins::Any,
            sitemap_limit: 50_000,
            admin_email: None,
            admin_password: None,
            login_limit_per_address: 20,
            login_limit_per_account: 10,
            trusted_proxies: TrustedProxies::default(),
            rate_limit_anonymous: 0,
            rate_limit_authenticated: 0,
            rate_limit_writes: 0,
            metrics: false,
            metrics_token: None,
            media_storage: "local".into(),
            // Each test server its own directory, so their objects never meet.
            media_dir: std::env::temp_dir().join(format!("folio-media-{}", uuid::Uuid::new_v4())),
            media_public_url: None,
            media_max_bytes: 10 * 1024 * 1024,
            media_max_pixels: 40_000_000,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_bucket: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_path_style: false,
        }
    }

    pub fn db_acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.db_acquire_timeout_ms)
    }

    /// SQLite's `synchronous` pragma value.
    pub fn sqlite_synchronous(&self) -> &'static str {
        if self.sqlite_synchronous.eq_ignore_ascii_case("full") {
            "FULL"
        } else {
            "NORMAL"
        }
    }
}

/// Single sign-on through an OpenID Connect provider: on when an issuer is set.
#[derive(Debug, Clone, Args)]
pub struct OidcConfig {
    /// The provider's issuer URL (discovery at `{issuer}/.well-known/openid-configuration`).
    #[arg(long = "oidc-issuer", global = true, env = "FOLIO_OIDC_ISSUER")]
    pub issuer: Option<String>,

    /// Folio's client id at the provider.
    #[arg(long = "oidc-client-id", global = true, env = "FOLIO_OIDC_CLIENT_ID")]
    pub client_id: Option<String>,

    /// Folio's client secret (unset for a public client, which PKCE protects).
    #[arg(
        long = "oidc-client-secret",
        global = true,
        env = "FOLIO_OIDC_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<Secret>,

    /// The audience a provider's token must name to be accepted as a bearer (default: the
    /// client id).
    #[arg(long = "oidc-audience", global = true, env = "FOLIO_OIDC_AUDIENCE")]
    pub audience: Option<String>,

    /// The claim that carries the user's groups or roles (a string or a list of strings).
    #[arg(
        long = "oidc-role-claim",
        global = true,
        env = "FOLIO_OIDC_ROLE_CLAIM",
        default_value = "groups"
    )]
    pub role_claim: String,

    /// Claim values and the roles they give (`folio-admins:admin,writers:author`); a user with
    /// several gets the highest.
    #[arg(
        long = "oidc-role-map",
        global = true,
        env = "FOLIO_OIDC_ROLE_MAP",
        default_value = ""
    )]
    pub role_map: String,

    /// The role of users whose claim maps to none; unset: such users are refused.
    #[arg(long = "oidc-default-role", global = true, env = "FOLIO_OIDC_DEFAULT_ROLE", value_parser = ["contributor", "author", "editor", "admin"])]
    pub default_role: Option<String>,

    /// Where a sign-in may send its tokens (comma-separated, exact match).
    #[arg(
        long = "oidc-redirect-uris",
        global = true,
        env = "FOLIO_OIDC_REDIRECT_URIS",
        default_value = ""
    )]
    pub redirect_uris: CommaList,

    /// Scopes asked of the provider.
    #[arg(
        long = "oidc-scopes",
        global = true,
        env = "FOLIO_OIDC_SCOPES",
        default_value = "openid email profile"
    )]
    pub scopes: String,

    /// Folio's callback URL as registered at the provider (default: this server's public
    /// origin + `/api/v1/auth/oidc/callback`).
    #[arg(
        long = "oidc-callback-url",
        global = true,
        env = "FOLIO_OIDC_CALLBACK_URL"
    )]
    pub callback_url: Option<String>,
}

/// Off, with the command line's defaults for the rest.
impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            client_id: None,
            client_secret: None,
            audience: None,
            role_claim: "groups".into(),
            role_map: String::new(),
            default_role: None,
            redirect_uris: CommaList::default(),
            scopes: "openid email profile".into(),
            callback_url: None,
        }
    }
}

/// A comma-separated setting (`a, b,c`), blanks dropped: replica URLs, redirect URIs.
#[derive(Debug, Clone, Default)]
pub struct CommaList(pub Vec<String>);

impl std::str::FromStr for CommaList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(Self(
            s.split(',')
                .map(str::trim)
                .filter(|url| !url.is_empty())
                .map(str::to_owned)
                .collect(),
        ))
    }
}

/// Networks of proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    pub fn contains(&self, address: std::net::IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }
}

impl std::str::FromStr for TrustedProxies {
    type Err = String;

    /// `10.0.0.0/8, 192.168.1.7, ::1`: a plain address is a network of one.
    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<ipnet::IpNet>()
                    .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("{item:?} is neither an address nor a CIDR network"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    Any,
    /// Exact origins (`scheme://host[:port]`, lower case); none when empty.
    Only(Vec<String>),
}

impl std::str::FromStr for CorsOrigins {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim() == "*" {
            return Ok(Self::Any);
        }
        s.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(origin)
            .collect::<Result<_, _>>()
            .map(Self::Only)
    }
}

/// Four connections per core, 4 to 16: each request in flight costs CPU in Folio and in a
/// local database, so more connections than that only queue on the cores, where the scheduler
/// rather than arrival order decides who goes next. On 2 cores, 8 connections instead of 16
/// took PostgreSQL's p99 at 64 concurrent list requests from 47–61 ms to 32–35 ms, for the
/// same requests a second. At most 16, the old default: a big host (or a container that sees
/// the node's cores) must not open hundreds of connections per instance and per replica.
fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    u32::try_from(cores.saturating_mul(4).clamp(4, 16)).unwrap_or(16)
}

/// `item` as an origin as browsers send it: `http(s)://host[:port]`, nothing after.
fn origin(item: &str) -> Result<String, String> {
    let bad =
        || format!("{item:?} is not an origin like https://blog.example or http://localhost:3000");
    let uri: actix_web::http::Uri = item.parse().map_err(|_| bad())?;
    let scheme = uri.scheme_str().filter(|s| matches!(*s, "http" | "https"));
    match (scheme, uri.authority()) {
        (Some(scheme), Some(authority))
            if uri.path() == "/"
                && !item.ends_with('/')
                && uri.query().is_none()
                && !authority.as_str().contains('@') =>
        {
            Ok(format!("{scheme}://{authority}").to_lowercase())
        }
        _ => Err(bad()),
    }
}

/// A value that must not show up in logs or `Debug` output.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_are_exact_origins_or_a_wildcard() {
        assert_eq!("*".parse::<CorsOrigins>(), Ok(CorsOrigins::Any));
        assert_eq!(
            " https://Blog.example , http://localhost:3000".parse::<CorsOrigins>(),
            Ok(CorsOrigins::Only(vec![
                "https://blog.example".into(),
                "http://localhost:3000".into()
            ]))
        );
        assert_eq!("".parse::<CorsOrigins>(), Ok(CorsOrigins::Only(vec![])));
        for bad in [
            "blog.example",
            "https://blog.example/",
            "https://blog.example/app",
            "ftp://blog.example",
            "https://blog.example?x=1",
            "https://user@blog.example",
        ] {
            assert!(bad.parse::<CorsOrigins>().is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn single_sign_on_defaults_match_the_command_line() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            oidc: OidcConfig,
        }
        let parsed = Cli::parse_from(["folio"]).oidc;
        let default = OidcConfig::default();
        assert_eq!(parsed.role_claim, default.role_claim);
        assert_eq!(parsed.scopes, default.scopes);
        assert!(parsed.issuer.is_none() && parsed.redirect_uris.0.is_empty());
    }
}
