//! Slows down password guessing without letting a guesser lock the owner out: failed sign-ins are
//! counted per (account, client address) and per address, and those refuse; failures on an
//! account from everywhere only slow its sign-ins down, never refuse them from an address that
//! has not been failing.
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long failures are remembered.
const WINDOW: Duration = Duration::from_secs(60);

/// What to do with a sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// The account is being guessed at from elsewhere: check the password after a pause.
    SlowDown,
    /// This address has failed too often (for this account, or for any): refuse for now.
    Refuse,
}

/// How long a slowed-down attempt waits.
pub const SLOW_DOWN: Duration = Duration::from_secs(1);

pub struct SignInLimits {
    per_pair: u32,
    per_address: u32,
    failures: Mutex<Failures>,
}

#[derive(Default)]
struct Failures {
    by_pair: HashMap<(String, IpAddr), Window>,
    by_address: HashMap<IpAddr, Window>,
    by_account: HashMap<String, Window>,
}

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

impl Window {
    fn count_now(&self, now: Instant) -> u32 {
        if now.duration_since(self.started) < WINDOW {
            self.count
        } else {
            0
        }
    }
}

fn bump<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Window>, key: K, now: Instant) {
    let window = map.entry(key).or_insert(Window { started: now, count: 0 });
    if now.duration_since(window.started) >= WINDOW {
        *window = Window { started: now, count: 0 };
    }
    window.count = window.count.saturating_add(1);
}

fn key(email: &str) -> String {
    email.trim().to_lowercase()
}

impl SignInLimits {
    /// `per_minute` failures per account and address; four times as many per address, whatever
    /// the accounts (offices share one address).
    pub fn new(per_minute: u32) -> Self {
        let per_pair = per_minute.max(1);
        Self {
            per_pair,
            per_address: per_pair.saturating_mul(4),
            failures: Mutex::new(Failures::default()),
        }
    }

    /// Whether an attempt to sign in as `email` from `addr` may be checked now.
    pub fn verdict(&self, email: &str, addr: IpAddr) -> Verdict {
        let now = Instant::now();
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let of = |w: Option<&Window>| w.map_or(0, |w| w.count_now(now));
        let account = key(email);
        if of(failures.by_address.get(&addr)) >= self.per_address
            || of(failures.by_pair.get(&(account.clone(), addr))) >= self.per_pair
        {
            Verdict::Refuse
        } else if of(failures.by_account.get(&account)) >= self.per_pair {
            Verdict::SlowDown
        } else {
            Verdict::Allow
        }
    }

    /// Counts a failed attempt.
    pub fn failed(&self, email: &str, addr: IpAddr) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let account = key(email);
        bump(&mut failures.by_pair, (account.clone(), addr), now);
        bump(&mut failures.by_address, addr, now);
        bump(&mut failures.by_account, account, now);
    }

    /// Forgets windows that are over, so memory stays bounded.
    pub fn tidy(&self) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let recent = |w: &Window| now.duration_since(w.started) < WINDOW;
        failures.by_pair.retain(|_, w| recent(w));
        failures.by_address.retain(|_, w| recent(w));
        failures.by_account.retain(|_, w| recent(w));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guesser_elsewhere_slows_the_owner_down_but_never_locks_them_out() {
        let limits = SignInLimits::new(5);
        let attacker: IpAddr = [203, 0, 113, 9].into();
        let owner: IpAddr = [198, 51, 100, 1].into();
        for _ in 0..5 {
            assert_ne!(limits.verdict("admin@example.org", attacker), Verdict::Refuse);
            limits.failed("admin@example.org", attacker);
        }
        assert_eq!(limits.verdict("Admin@example.org", attacker), Verdict::Refuse);
        assert_eq!(limits.verdict("admin@example.org", owner), Verdict::SlowDown);
        assert_eq!(limits.verdict("someone@example.org", owner), Verdict::Allow);
    }

    #[test]
    fn an_address_failing_on_many_accounts_is_refused() {
        let limits = SignInLimits::new(5);
        let attacker: IpAddr = [203, 0, 113, 9].into();
        for i in 0..20 {
            limits.failed(&format!("person{i}@example.org"), attacker);
        }
        assert_eq!(limits.verdict("other@example.org", attacker), Verdict::Refuse);
    }
}
