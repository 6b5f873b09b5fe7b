//! What every handler shares.

use std::sync::Arc;

use crate::api::RouteTable;
use crate::api::read_cache::ReadCache;
use crate::config::Config;
use crate::db::Pool;

#[derive(Clone)]
pub struct AppState {
    pub db: Pool,
    pub config: Arc<Config>,
    pub cache: ReadCache,
    pub routes: Arc<RouteTable>,
}
