//! What every handler shares.

use std::sync::{Arc, OnceLock};

use crate::auth::password::PasswordWorker;
use crate::auth::token::TokenKeys;
use crate::cache::{CountCache, Generation};
use crate::config::Config;
use crate::db::{DbConn, Pool};
use crate::error::AppError;
use crate::limits::Limits;

#[derive(Clone)]
pub struct AppState {
    pub db: Pool,
    pub config: Arc<Config>,
    pub counts: CountCache,
    /// Bumped by every content write: drops the count cache and the read cache.
    pub generation: Generation,
    /// Set once the signing secret is known (at once when configured, else when the
    /// database is ready).
    pub tokens: Arc<OnceLock<TokenKeys>>,
    pub passwords: PasswordWorker,
    pub limits: Arc<Limits>,
}

impl AppState {
    /// The access-token keys, or 503 while the database that holds the secret is not ready.
    pub fn tokens(&self) -> Result<&TokenKeys, AppError> {
        self.tokens
            .get()
            .ok_or_else(|| AppError::unavailable("the database is not ready yet"))
    }

    /// Runs a content write on the database, then drops the caches. The drop happens in the
    /// same blocking task, right after the commit, so it happens even if the client has gone.
    pub async fn write<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let generation = self.generation.clone();
        self.db
            .write(move |conn| {
                let written = work(conn)?;
                generation.bump();
                Ok(written)
            })
            .await
    }
}
