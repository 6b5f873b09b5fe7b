//! Rate limits: login attempts per client address and per account, and every route per
//! client (`RouteLimiter`).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::db::{Backend, Pool, login_limits};
use crate::error::AppError;

/// Login attempts allowed per client address and per account, each a burst of `n` refilled
/// at `n` a minute. On PostgreSQL the budgets live in the database, so every instance
/// spends from the same ones; on SQLite (one instance) in memory.
pub struct LoginLimiter {
    per_address: u32,
    per_account: u32,
    by_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    by_account: Option<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

fn per_minute<K: std::hash::Hash + Eq + Clone>(n: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl LoginLimiter {
    /// A limit of 0 means none.
    pub fn new(per_address: u32, per_account: u32) -> Self {
        Self {
            per_address,
            per_account,
            by_address: per_minute(per_address),
            by_account: per_minute(per_account),
            clock: DefaultClock::default(),
        }
    }

    /// Spends one attempt from the address's budget and the account's, or says when to retry.
    pub async fn check(
        &self,
        db: &Pool,
        address: Option<IpAddr>,
        account: &str,
    ) -> Result<(), AppError> {
        if db.backend != Backend::Postgres {
            return self.check_here(address, account);
        }
        let budgets: Vec<(String, u32)> = [
            address.map(|a| (format!("address {a}"), self.per_address)),
            Some((format!("account {account}"), self.per_account)),
        ]
        .into_iter()
        .flatten()
        .filter(|(_, per_minute)| *per_minute > 0)
        .collect();
        if budgets.is_empty() {
            return Ok(());
        }
        db.write(move |conn| {
            for (key, per_minute) in budgets {
                let interval = 60.0 / f64::from(per_minute);
                if let Some(wait) = login_limits::take(conn, &key, interval, per_minute)? {
                    return Err(AppError::TooManyRequests {
                        retry_after_secs: (wait.ceil() as u64).max(1),
                    });
                }
            }
            Ok(())
        })
        .await
    }

    fn check_here(&self, address: Option<IpAddr>, account: &str) -> Result<(), AppError> {
        let retry = |wait: Duration| AppError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        };
        if let (Some(limiter), Some(address)) = (&self.by_address, address) {
            limiter
                .check_key(&address)
                .map_err(|n| retry(n.wait_time_from(self.clock.now())))?;
            // Forget idle keys now and then, so the map stays bounded.
            if limiter.len() > 10_000 {
                limiter.retain_recent();
            }
        }
        if let Some(limiter) = &self.by_account {
            limiter
                .check_key(&account.to_owned())
                .map_err(|n| retry(n.wait_time_from(self.clock.now())))?;
            if limiter.len() > 10_000 {
                limiter.retain_recent();
            }
        }
        Ok(())
    }
}

/// What a rate limit counts requests by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// A signed-in user, whatever address they come from.
    User(i64),
    /// A personal access token this instance has seen verified (by its stored hash).
    Token(String),
    /// Anyone else, by client address.
    Address(IpAddr),
}

/// Every limit of one instance.
pub struct Limits {
    pub login: LoginLimiter,
    pub routes: RouteLimiter<RateKey>,
    /// Hashes of personal access tokens verified lately: such a token counts against its own
    /// budget. One not seen yet counts against its address, so made-up tokens cannot each
    /// get a fresh budget.
    pub verified_tokens: quick_cache::sync::Cache<String, ()>,
}

/// What a request counts against: reads without a token, reads with one, and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    AnonymousRead,
    AuthenticatedRead,
    Write,
}

impl RouteClass {
    /// The policy's name in the `RateLimit-Policy` and `RateLimit` headers.
    pub fn name(self) -> &'static str {
        match self {
            Self::AnonymousRead => "anonymous",
            Self::AuthenticatedRead => "authenticated",
            Self::Write => "writes",
        }
    }
}

type StatefulLimiter<K> = RateLimiter<
    K,
    governor::state::keyed::DefaultKeyedStateStore<K>,
    DefaultClock,
    governor::middleware::StateInformationMiddleware,
>;

/// The state of a client's budget after a request (IETF draft-ietf-httpapi-ratelimit-headers).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub class: RouteClass,
    /// Requests allowed per minute.
    pub quota: u32,
    pub remaining: u32,
    /// Seconds until the budget is whole again.
    pub reset_secs: u64,
}

/// A request over its budget: when to try again.
#[derive(Debug, Clone, Copy)]
pub struct OverBudget {
    pub class: RouteClass,
    pub quota: u32,
    pub retry_after_secs: u64,
}

/// Token buckets per client for every route: a minute's quota, refilled continuously. Keys
/// are users for signed-in requests and client addresses for the others.
pub struct RouteLimiter<K: std::hash::Hash + Eq + Clone> {
    anonymous: Option<(u32, StatefulLimiter<K>)>,
    authenticated: Option<(u32, StatefulLimiter<K>)>,
    writes: Option<(u32, StatefulLimiter<K>)>,
    clock: DefaultClock,
}

fn stateful<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<(u32, StatefulLimiter<K>)> {
    NonZeroU32::new(per_minute).map(|n| {
        (
            per_minute,
            RateLimiter::keyed(Quota::per_minute(n))
                .with_middleware::<governor::middleware::StateInformationMiddleware>(),
        )
    })
}

impl<K: std::hash::Hash + Eq + Clone> RouteLimiter<K> {
    /// Quotas per minute; 0 turns a class off.
    pub fn new(anonymous: u32, authenticated: u32, writes: u32) -> Self {
        Self {
            anonymous: stateful(anonymous),
            authenticated: stateful(authenticated),
            writes: stateful(writes),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request of `key` in `class`: `None` when that class is not limited.
    pub fn check(&self, class: RouteClass, key: &K) -> Option<Result<Budget, OverBudget>> {
        let (quota, limiter) = match class {
            RouteClass::AnonymousRead => self.anonymous.as_ref(),
            RouteClass::AuthenticatedRead => self.authenticated.as_ref(),
            RouteClass::Write => self.writes.as_ref(),
        }?;
        let outcome = match limiter.check_key(key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                // The bucket refills a token every 60/quota seconds.
                let missing = u64::from(quota.saturating_sub(remaining));
                Ok(Budget {
                    class,
                    quota: *quota,
                    remaining,
                    reset_secs: (missing * 60).div_ceil(u64::from(*quota)),
                })
            }
            Err(not_until) => Err(OverBudget {
                class,
                quota: *quota,
                retry_after_secs: not_until.wait_time_from(self.clock.now()).as_secs().max(1),
            }),
        };
        // Forget idle keys now and then, so the map stays bounded.
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        Some(outcome)
    }
}
