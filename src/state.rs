//! What every handler shares.

use std::sync::Arc;

use crate::api::RouteTable;
use crate::api::auth::LoginLimiter;
use crate::api::read_cache::ReadCache;
use crate::auth::password::PasswordWorker;
use crate::auth::token::TokenKeys;
use crate::cache::{CountCache, Generation};
use crate::config::Config;
use crate::db::Pool;

#[derive(Clone)]
pub struct AppState {
    pub db: Pool,
    pub config: Arc<Config>,
    pub cache: ReadCache,
    pub counts: CountCache,
    /// Bumped by every content write: drops both caches above.
    pub generation: Generation,
    pub routes: Arc<RouteTable>,
    pub tokens: Arc<TokenKeys>,
    pub passwords: PasswordWorker,
    pub login_limiter: Arc<LoginLimiter>,
}
