//! Building and running the HTTP server.

use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::web::{self, Data};
use actix_web::{App, HttpServer};
use utoipa_actix_web::AppExt;

use crate::api::docs::{self, DocsCache};
use crate::api::read_cache::ReadCache;
use crate::api::{
    self, RouteTable, cors, encoding, middleware::request_context, problem, rate_limit,
    security_headers,
};
use crate::auth::oidc::Provider;
use crate::auth::password::PasswordWorker;
use crate::bootstrap;
use crate::cache::{Generation, TtlCache};
use crate::config::Config;
use crate::db::replicas::Replicas;
use crate::db::{Backend, ConnectionSettings, DatabaseUrl, Pool, PoolOptions};
use crate::limits::{Limits, LoginLimiter, RouteLimiter};
use crate::service::articles::ArticleLists;
use crate::service::tags::TagCatalog;
use crate::state::AppState;

/// Largest JSON body accepted; more is a 413.
const MAX_JSON_BYTES: usize = 1024 * 1024;

/// Slack on top of the replica settle time for the listener's poll and scheduling.
const REPLICA_SETTLE_MARGIN: Duration = Duration::from_millis(100);

/// How long a read waits for a replica's connection before it goes to the primary.
const REPLICA_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(250);

/// The read replicas' URLs, which only a PostgreSQL primary can have.
fn replica_urls(config: &Config, primary: &DatabaseUrl) -> anyhow::Result<Vec<DatabaseUrl>> {
    let urls = config
        .database_replica_urls
        .0
        .iter()
        .map(|url| DatabaseUrl::parse(url).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(
        urls.is_empty()
            || (primary.backend == Backend::Postgres
                && urls.iter().all(|url| url.backend == Backend::Postgres)),
        "FOLIO_DATABASE_REPLICA_URLS are PostgreSQL replicas of a PostgreSQL primary"
    );
    Ok(urls)
}

fn webhook_settings(config: &Config) -> crate::service::webhooks::Settings {
    crate::service::webhooks::Settings {
        retry_base: Duration::from_millis(config.webhook_retry_base_ms),
        timeout: Duration::from_millis(config.webhook_timeout_ms),
        breaker_cooldown: Duration::from_millis(config.webhook_breaker_cooldown_ms),
        allow_private_networks: config.webhook_allow_private_networks,
        keep_delivered: chrono::Duration::days(i64::from(config.webhook_keep_days)),
    }
}

/// A bound, not yet running server, with its background jobs.
pub struct Application {
    server: Server,
    port: u16,
    jobs: crate::jobs::Runner,
    cache_listener: Option<crate::jobs::CacheListener>,
    replica_watch: Option<crate::jobs::ReplicaWatch>,
    webhook_sender: crate::jobs::WebhookSender,
}

impl Application {
    /// Binds the listener and prepares the workers. The database is made ready in the
    /// background (`bootstrap::spawn_until_ready`): until it is, `/healthz` answers and
    /// `/readyz` and every request that needs the database get a 503.
    pub fn build(config: Config) -> anyhow::Result<Self> {
        let url = DatabaseUrl::parse(&config.database_url).map_err(anyhow::Error::msg)?;
        bootstrap::check_config(&config)?;
        crate::metrics::recorder();
        crate::storage::install_tls_provider();
        crate::db::slow_queries::enable(
            config.slow_query_ms.map(Duration::from_millis),
            config.slow_query_binds,
        )?;
        let pool_options = PoolOptions {
            max_size: config.db_pool_size,
            acquire_timeout: config.db_acquire_timeout(),
            deadline: (config.request_timeout_ms > 0)
                .then(|| std::time::Duration::from_millis(config.request_timeout_ms)),
            connection: ConnectionSettings {
                statement_timeout_ms: config.db_statement_timeout_ms,
                sqlite_synchronous: config.sqlite_synchronous(),
                sqlite_busy_timeout_ms: config.sqlite_busy_timeout_ms,
            },
        };
        let pool = Pool::new(&url, &pool_options);
        let replicas = Replicas::new(
            &replica_urls(&config, &url)?,
            &PoolOptions {
                // A replica that does not give a connection at once is skipped for the
                // primary, not waited for.
                acquire_timeout: REPLICA_ACQUIRE_TIMEOUT,
                ..pool_options
            },
        );
        let tokens = Arc::new(OnceLock::new());
        if let Some(secret) = &config.jwt_secret {
            let _unset = tokens.set(bootstrap::token_keys(&config, secret.expose().as_bytes()));
        }
        let config = Arc::new(config);
        bootstrap::spawn_until_ready(
            url.clone(),
            config.clone(),
            Arc::downgrade(&pool.health),
            tokens.clone(),
        )?;
        let generation = Generation::default();
        let jobs = crate::jobs::Runner::start(
            pool.clone(),
            &url,
            generation.clone(),
            webhook_settings(&config).keep_delivered,
        )?;
        let webhook_sender = crate::jobs::WebhookSender::start(
            pool.clone(),
            webhook_settings(&config),
            generation.clone(),
        )?;
        let max_lag = Duration::from_millis(config.replica_max_lag_ms);
        let replica_watch =
            crate::jobs::ReplicaWatch::start(pool.clone(), replicas.clone(), max_lag)?;
        // A read on a replica just after a write may still see the data from before it; such
        // copies are dropped again once every replica in use has replayed it: a replica lags
        // at most `max_lag` when judged, the judgement is up to one check old, and it may see
        // the write's log position one check late.
        let replica_settle = (!replicas.all().is_empty())
            .then(|| max_lag + 2 * crate::jobs::REPLICA_CHECK + REPLICA_SETTLE_MARGIN);
        let cache_listener =
            crate::jobs::CacheListener::start(&url, generation.clone(), replica_settle)?;
        let doc = crate::openapi::document();
        let served_doc = crate::openapi::served_document(config.oidc.issuer.as_deref());
        let swagger_ui = docs::swagger_ui(served_doc, &config.oidc);
        let read_cache = Data::new(ReadCache::new(
            TtlCache::new(
                config.read_cache_entries,
                Duration::from_millis(config.read_cache_ttl_ms),
                generation.clone(),
            ),
            &config,
        ));
        let routes = Data::new(RouteTable::from_openapi(&doc));
        let docs = Data::new(DocsCache::default());
        let state = AppState {
            db: pool,
            replicas,
            lists: ArticleLists {
                counts: TtlCache::new(
                    config.read_cache_entries,
                    Duration::from_millis(config.count_cache_ttl_ms),
                    generation.clone(),
                ),
                count_limit: config.count_limit,
                tags: TagCatalog::default(),
            },
            generation,
            tokens,
            passwords: PasswordWorker::for_this_machine(),
            oidc: Provider::from_config(&config.oidc)?.map(Arc::new),
            limits: Arc::new(Limits {
                login: LoginLimiter::new(
                    config.login_limit_per_address,
                    config.login_limit_per_account,
                ),
                routes: RouteLimiter::new(
                    config.rate_limit_anonymous,
                    config.rate_limit_authenticated,
                    config.rate_limit_writes,
                ),
                verified_tokens: quick_cache::sync::Cache::new(10_000),
            }),
            config,
        };
        let listener = TcpListener::bind(state.config.bind)?;
        let port = listener.local_addr()?.port();
        let workers = state.config.workers;
        let shutdown_timeout = state.config.shutdown_timeout_secs;
        let cors_origins = state.config.cors_origins.clone();
        let media_max_bytes = state.config.media_max_bytes;
        // Beside the state rather than in it: the state holds what every handler shares.
        let media = Data::new(crate::service::media::MediaLibrary::new(&state.config)?);
        let state = Data::new(state);
        let mut server = HttpServer::new(move || {
            App::new()
                .into_utoipa_app()
                .app_data(state.clone())
                .app_data(read_cache.clone())
                .app_data(media.clone())
                .app_data(routes.clone())
                .app_data(docs.clone())
                .app_data(web::PayloadConfig::new(MAX_JSON_BYTES))
                .app_data(api::media::form_config(media_max_bytes))
                .app_data(web::PathConfig::default().error_handler(problem::path_error))
                .configure(api::configure)
                .into_app()
                .service(swagger_ui.clone())
                .service(web::redirect("/swagger-ui", "/swagger-ui/"))
                .default_service(web::to(api::fallback))
                // Outermost last: the request context sees everything, encoding sees every
                // response but the ones settled earlier (read cache, documentation).
                .wrap(from_fn(docs::serve_documentation))
                .wrap(from_fn(encoding::encode_responses))
                .wrap(from_fn(rate_limit::rate_limit))
                // Outside the rate limit: preflights are not counted, and a 429 carries the
                // CORS headers a browser app needs to read it.
                .wrap(cors::policy(&cors_origins))
                .wrap(from_fn(cors::refusals_as_problems))
                .wrap(from_fn(security_headers::security_headers))
                .wrap(from_fn(request_context))
        })
        .shutdown_timeout(shutdown_timeout)
        .listen(listener)?;
        if let Some(workers) = workers {
            server = server.workers(workers);
        }
        tracing::info!(address = %format!("http://127.0.0.1:{port}"), "listening");
        Ok(Self {
            server: server.run(),
            port,
            jobs,
            cache_listener,
            replica_watch,
            webhook_sender,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let _jobs = self.jobs;
        let _cache_listener = self.cache_listener;
        let _replica_watch = self.replica_watch;
        let _webhook_sender = self.webhook_sender;
        self.server.await
    }
}
