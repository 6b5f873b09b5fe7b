//! Building and running the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::web::{self, Data};
use actix_web::{App, HttpServer};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::docs::{self, DocsCache};
use crate::api::read_cache::ReadCache;
use crate::api::{self, RouteTable, encoding, middleware::request_context, problem};
use crate::auth::password::PasswordWorker;
use crate::auth::token::TokenKeys;
use crate::bootstrap;
use crate::cache::{Generation, TtlCache};
use crate::config::Config;
use crate::db::{self, DatabaseUrl, Pool, PoolOptions};
use crate::limits::LoginLimiter;
use crate::state::AppState;

/// Largest JSON body accepted; more is a 413.
const MAX_JSON_BYTES: usize = 1024 * 1024;

/// A bound, not yet running server, with its background jobs.
pub struct Application {
    server: Server,
    port: u16,
    jobs: crate::jobs::Runner,
}

impl Application {
    /// Migrates the database, binds the listener and prepares the workers.
    pub fn build(config: Config) -> anyhow::Result<Self> {
        let url = DatabaseUrl::parse(&config.database_url).map_err(anyhow::Error::msg)?;
        for name in db::migrate(&url)? {
            tracing::info!(migration = %name, "applied migration");
        }
        let secret = {
            let mut conn = db::connect(&url)?;
            bootstrap::admin_from_config(&mut conn, &config)?;
            bootstrap::signing_secret(&mut conn, config.jwt_secret.as_ref())?
        };
        let tokens = TokenKeys::new(
            &secret,
            &config.jwt_issuer,
            &config.jwt_issuer,
            Duration::from_secs(config.access_token_ttl_secs),
            Duration::from_secs(config.refresh_token_ttl_days * 24 * 3600),
        );
        let pool = Pool::new(
            &url,
            &PoolOptions {
                max_size: config.db_pool_size,
                acquire_timeout: config.db_acquire_timeout(),
            },
        )?;
        let jobs = crate::jobs::Runner::start(pool.clone(), &url)?;
        let doc = crate::openapi::document();
        let served_doc = crate::openapi::document_value();
        let generation = Generation::default();
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
            counts: TtlCache::new(
                config.read_cache_entries,
                Duration::from_millis(config.count_cache_ttl_ms),
                generation.clone(),
            ),
            generation,
            tokens: Arc::new(tokens),
            passwords: PasswordWorker::for_this_machine(),
            login_limiter: Arc::new(LoginLimiter::new(
                config.login_limit_per_address,
                config.login_limit_per_account,
            )),
            config: Arc::new(config),
        };
        let listener = TcpListener::bind(state.config.bind)?;
        let port = listener.local_addr()?.port();
        let workers = state.config.workers;
        let state = Data::new(state);
        let mut server = HttpServer::new(move || {
            App::new()
                .into_utoipa_app()
                .app_data(state.clone())
                .app_data(read_cache.clone())
                .app_data(routes.clone())
                .app_data(docs.clone())
                .app_data(web::PayloadConfig::new(MAX_JSON_BYTES))
                .app_data(web::PathConfig::default().error_handler(problem::path_error))
                .configure(api::configure)
                .into_app()
                .service(
                    SwaggerUi::new("/swagger-ui/{_:.*}")
                        .external_url_unchecked("/api-docs/openapi.json", served_doc.clone())
                        .config(utoipa_swagger_ui::Config::default().validator_url("none")),
                )
                .service(web::redirect("/swagger-ui", "/swagger-ui/"))
                .default_service(web::to(api::fallback))
                // Outermost last: the request context sees everything, encoding sees every
                // response but the ones settled earlier (read cache, documentation).
                .wrap(from_fn(docs::serve_documentation))
                .wrap(from_fn(encoding::encode_responses))
                .wrap(from_fn(request_context))
        })
        .shutdown_timeout(10)
        .listen(listener)?;
        if let Some(workers) = workers {
            server = server.workers(workers);
        }
        tracing::info!(address = %format!("http://127.0.0.1:{port}"), "listening");
        Ok(Self {
            server: server.run(),
            port,
            jobs,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let _jobs = self.jobs;
        self.server.await
    }
}
