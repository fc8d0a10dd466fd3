//! Slows down password guessing: sign-in attempts per account and per client address.
use std::{net::IpAddr, num::NonZeroU32};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct SignInLimits {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl SignInLimits {
    /// `per_minute` attempts per account; four times as many per address (offices share one).
    pub fn new(per_minute: u32) -> Self {
        let account = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let address =
            NonZeroU32::new(per_minute.max(1).saturating_mul(4)).unwrap_or(NonZeroU32::MIN);
        Self {
            per_account: RateLimiter::keyed(Quota::per_minute(account)),
            per_address: RateLimiter::keyed(Quota::per_minute(address)),
        }
    }

    /// Counts one attempt; false when either limit is reached.
    pub fn allow(&self, email: &str, addr: IpAddr) -> bool {
        let address_ok = self.per_address.check_key(&addr).is_ok();
        let account_ok = self.per_account.check_key(&email.trim().to_lowercase()).is_ok();
        address_ok && account_ok
    }

    /// Forgets keys that are back to full allowance, so memory stays bounded.
    pub fn tidy(&self) {
        self.per_account.retain_recent();
        self.per_address.retain_recent();
    }
}
