//! Keeps this instance's caches in step with other instances' writes (PostgreSQL): every
//! content write announces itself in its transaction (`db::notify`), and this thread, on a
//! connection of its own, drops the caches (bumps the generation) when an announcement
//! arrives, within `POLL` of the commit.
//!
//! If the connection is lost, announcements may be missed, so until it is back the caches
//! are dropped every `UNLISTENED_TTL`, as if their TTL were that short; after reconnecting
//! they are dropped once, for what was missed meanwhile. Staleness is thus bounded either way.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use backon::BackoffBuilder;

use crate::cache::Generation;
use crate::db::notify::Listener;
use crate::db::{Backend, DatabaseUrl};

/// How often the connection is read for announcements (a read of the socket, no round trip).
const POLL: Duration = Duration::from_millis(10);
/// How often an idle connection is checked with a round trip.
const CHECK: Duration = Duration::from_secs(5);
/// How old a cached entry may get while announcements cannot arrive.
const UNLISTENED_TTL: Duration = Duration::from_secs(1);
/// Reconnection backoff: doubling from the first, up to the last, with jitter.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

fn backoff() -> impl Iterator<Item = Duration> {
    backon::ExponentialBuilder::default()
        .with_min_delay(BACKOFF_FIRST)
        .with_max_delay(BACKOFF_MAX)
        .with_jitter()
        .without_max_times()
        .build()
}

/// The running listener; dropping it stops the thread within `POLL`.
pub struct CacheListener {
    _stop: mpsc::Sender<()>,
}

impl CacheListener {
    /// Starts listening on PostgreSQL; `None` on SQLite, where one process makes every write.
    /// With read replicas, `replica_settle` is how long after an announcement a replica in use
    /// has surely replayed it: the caches are dropped again then, for what was read from a
    /// replica in between.
    pub fn start(
        url: &DatabaseUrl,
        generation: Generation,
        replica_settle: Option<Duration>,
    ) -> std::io::Result<Option<Self>> {
        if url.backend != Backend::Postgres {
            return Ok(None);
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let url = url.clone();
        std::thread::Builder::new()
            .name("folio-listener".into())
            .spawn(move || listen(&url, &generation, replica_settle, &stopped))?;
        Ok(Some(Self { _stop: stop }))
    }
}

fn listen(
    url: &DatabaseUrl,
    generation: &Generation,
    replica_settle: Option<Duration>,
    stopped: &mpsc::Receiver<()>,
) {
    let mut delays = backoff();
    let mut reported = false;
    loop {
        let connected = Listener::connect(url);
        // Whatever was announced while not listening is unknown.
        generation.bump();
        match connected {
            Ok(mut listener) => {
                metrics::gauge!("folio_cache_listener_connected").set(1.0);
                tracing::info!("listening for other instances' writes");
                delays = backoff();
                reported = false;
                let lost = serve(&mut listener, generation, replica_settle, stopped);
                metrics::gauge!("folio_cache_listener_connected").set(0.0);
                match lost {
                    None => return,
                    Some(e) => tracing::warn!(
                        error = %e,
                        "lost the connection that hears other instances' writes; caching for \
                         at most {UNLISTENED_TTL:?} until it is back"
                    ),
                }
            }
            Err(e) if !reported => {
                reported = true;
                tracing::warn!(error = %e, "cannot listen for other instances' writes yet; retrying");
            }
            Err(_) => {}
        }
        // Until the connection is back, entries live at most UNLISTENED_TTL.
        let retry_at = Instant::now() + delays.next().unwrap_or(BACKOFF_MAX);
        while Instant::now() < retry_at {
            match stopped.recv_timeout(UNLISTENED_TTL.min(retry_at - Instant::now())) {
                Err(RecvTimeoutError::Timeout) => generation.bump(),
                _ => return,
            }
        }
    }
}

/// Drops the caches on each announcement until the connection fails (`Some`) or the listener
/// is stopped (`None`).
fn serve(
    listener: &mut Listener,
    generation: &Generation,
    replica_settle: Option<Duration>,
    stopped: &mpsc::Receiver<()>,
) -> Option<diesel::result::Error> {
    let mut checked = Instant::now();
    let mut settled_at: Option<Instant> = None;
    loop {
        match stopped.recv_timeout(POLL) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return None,
        }
        match listener.received() {
            Ok(0) => {}
            Ok(announcements) => {
                generation.bump();
                metrics::counter!("folio_cache_invalidations_total")
                    .increment(announcements as u64);
                settled_at = replica_settle.map(|settle| Instant::now() + settle);
            }
            Err(e) => return Some(e),
        }
        if settled_at.is_some_and(|at| Instant::now() >= at) {
            generation.bump();
            settled_at = None;
        }
        if checked.elapsed() >= CHECK {
            if let Err(e) = listener.check() {
                return Some(e);
            }
            checked = Instant::now();
        }
    }
}
