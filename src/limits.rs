//! Rate limits. Today: login attempts, per client address and per account.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;

/// Login attempts allowed per client address and per account, each a burst of `n` refilled
/// at `n` a minute. Per instance: with several instances the effective limit is multiplied,
/// which still stops brute force.
pub struct LoginLimiter {
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
            by_address: per_minute(per_address),
            by_account: per_minute(per_account),
            clock: DefaultClock::default(),
        }
    }

    pub fn check(&self, address: Option<IpAddr>, account: &str) -> Result<(), AppError> {
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
