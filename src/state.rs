//! What every handler shares.

use std::sync::{Arc, OnceLock};

use crate::auth::oidc::Provider;
use crate::auth::password::PasswordWorker;
use crate::auth::token::TokenKeys;
use crate::cache::Generation;
use crate::config::Config;
use crate::db::replicas::Replicas;
use crate::db::{DbConn, Pool};
use crate::error::AppError;
use crate::limits::Limits;
use crate::service::articles::ArticleLists;

#[derive(Clone)]
pub struct AppState {
    pub db: Pool,
    /// Where anonymous reads go when any is healthy (`read`); empty without replicas.
    pub replicas: Replicas,
    pub config: Arc<Config>,
    /// What list requests share (totals counted lately, the tags in memory).
    pub lists: ArticleLists,
    /// Bumped by every content write: drops the count cache and the read cache.
    pub generation: Generation,
    /// Set once the signing secret is known (at once when configured, else when the
    /// database is ready).
    pub tokens: Arc<OnceLock<TokenKeys>>,
    pub passwords: PasswordWorker,
    /// The identity provider, when single sign-on is configured.
    pub oidc: Option<Arc<Provider>>,
    pub limits: Arc<Limits>,
}

impl AppState {
    /// The access-token keys, or 503 while the database that holds the secret is not ready.
    pub fn tokens(&self) -> Result<&TokenKeys, AppError> {
        self.tokens
            .get()
            .ok_or_else(|| AppError::unavailable("the database is not ready yet"))
    }

    /// Runs a read: an anonymous reader's on a healthy replica when there is one (round
    /// robin), anyone else's on the primary, so a signed-in author always reads their own
    /// writes. A replica that fails the read (down since its last check) hands it to the
    /// primary: the reader never sees the replica's trouble.
    pub async fn read<T, F>(&self, anonymous: bool, work: F) -> Result<T, AppError>
    where
        F: Fn(&mut DbConn) -> Result<T, AppError> + Send + Sync + 'static,
        T: Send + 'static,
    {
        let replica = if anonymous {
            self.replicas.pick()
        } else {
            None
        };
        let Some(replica) = replica else {
            return self.db.run(work).await;
        };
        let work = Arc::new(work);
        let on_replica = work.clone();
        match replica.pool.run(move |conn| on_replica(conn)).await {
            Err(AppError::Unavailable { .. } | AppError::Timeout | AppError::Contended) => {
                metrics::counter!("folio_replica_fallbacks_total").increment(1);
                self.db.run(move |conn| work(conn)).await
            }
            answered => answered,
        }
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
