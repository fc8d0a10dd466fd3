//! Rate limits, each kind of action on its own budget (what one kind spends never refuses
//! another).
//!
//! Sign-in failures slow down password guessing without letting a guesser lock the owner out:
//! they are counted per (account, client address) and per address, and those refuse; failures
//! on an account from everywhere only slow its sign-ins down, never refuse them from an address
//! that has not been failing. Only failed sign-ins count there: reset requests, sign-ups or join
//! requests from the same address never make a right password wait.
//!
//! Every action that makes the site write to someone else (`Action`: a reset link, a sign-up's
//! mail, a join request to the owners, an invitation, a comment, a new page, entry or topic, the
//! people a comment names) has a budget per account (or, signed out, per address it names) and
//! per client address.
use crate::error;
use ruche_accounts as accounts;
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long sign-in failures are remembered.
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
pub(crate) const SLOW_DOWN: Duration = Duration::from_secs(1);

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
    fn count_now(&self, now: Instant, length: Duration) -> u32 {
        if now.duration_since(self.started) < length {
            self.count
        } else {
            0
        }
    }
}

fn bump<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Window>,
    key: K,
    now: Instant,
    length: Duration,
) {
    let window = map.entry(key).or_insert(Window { started: now, count: 0 });
    if now.duration_since(window.started) >= length {
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
        let of = |w: Option<&Window>| w.map_or(0, |w| w.count_now(now, WINDOW));
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
        bump(&mut failures.by_pair, (account.clone(), addr), now, WINDOW);
        bump(&mut failures.by_address, addr, now, WINDOW);
        bump(&mut failures.by_account, account, now, WINDOW);
    }

    /// Forgets windows that are over, so memory stays bounded.
    pub(crate) fn tidy(&self) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let recent = |w: &Window| now.duration_since(w.started) < WINDOW;
        failures.by_pair.retain(|_, w| recent(w));
        failures.by_address.retain(|_, w| recent(w));
        failures.by_account.retain(|_, w| recent(w));
    }
}

/// A kind of action that makes the site write to someone else, each with its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `POST /password/forgot`: a reset link mailed to the address named.
    ResetRequest,
    /// `POST /signup`: a mail to the address given (its confirmation, or a word to its owner).
    SignUp,
    /// A right password on an account whose address is not confirmed: the link again.
    Confirmation,
    /// Asking to join a space: a mail to each of its owners.
    JoinRequest,
    /// Adding someone to a space, inviting them or sending their invitation again: a mail.
    Invitation,
    /// A comment: notifications (and mails) to the people it mentions and to the followers.
    Comment,
    /// A new entry of a form, a discussion topic among them: its followers are told.
    NewEntry,
    /// The people a comment names: each is told. Counted per person told, never refused (the
    /// comment is taken; beyond the budget, the people it names are not told).
    Mention,
}

// Why each number: per account (or address named), the most a person doing this in good faith
// needs in the window, with room to spare. Per client address, a room of people behind one box
// or wifi (a workshop, an office, a training day): several dozen people, each doing it in good
// faith, are never refused for what the others did.

/// Reset links for one address an hour: one is needed, a second covers a mail lost among the
/// spam, a third a mistyped address corrected; more would only fill that mailbox.
const RESETS_PER_MAILBOX: u32 = 3;
/// Reset requests from one client address an hour, whatever the addresses named: a room where
/// many have forgotten their password after the summer.
const RESETS_PER_ADDRESS: u32 = 100;
/// Sign-ups naming one address an hour (each one mails it).
const SIGN_UPS_PER_MAILBOX: u32 = 3;
/// Sign-ups from one client address an hour: a workshop where everyone makes their account.
const SIGN_UPS_PER_ADDRESS: u32 = 100;
/// Confirmation links sent again to one account an hour (its owner signing in before
/// confirming); beyond, the page says the last one is on its way.
const CONFIRMATIONS_PER_ACCOUNT: u32 = 3;
const CONFIRMATIONS_PER_ADDRESS: u32 = 100;
/// Join requests by one person an hour: someone new asks to join a few spaces at once; ten
/// spaces is already a lot. Asking the same space again mails nobody and spends nothing
/// (`spaces::requests`).
const JOIN_REQUESTS_PER_ACCOUNT: u32 = 10;
/// A room of newcomers each asking to join the two or three spaces of their work.
const JOIN_REQUESTS_PER_ADDRESS: u32 = 100;
/// People one owner adds or invites (or invites again) an hour: a working group of a few
/// dozen set up at once; more than that an hour is a mailing, not invitations.
const INVITATIONS_PER_ACCOUNT: u32 = 50;
const INVITATIONS_PER_ADDRESS: u32 = 100;
/// New entries and topics by one person an hour: each tells the followers of its space and
/// form; thirty is an afternoon of careful entry.
const NEW_ENTRIES_PER_ACCOUNT: u32 = 30;
/// A room where everyone enters their structure's sheet and a few events.
const NEW_ENTRIES_PER_ADDRESS: u32 = 200;
/// People told by mentions in comments an hour: per person, the notifications already say
/// (`notifications::MENTIONS_PER_HOUR`); per client address, two people naming whole teams.
const MENTIONS_PER_ACCOUNT: u32 = 50;
const MENTIONS_PER_ADDRESS: u32 = 100;
/// Comments from one client address, as a multiple of those of one person (the setting
/// `comments_per_minute`): a room of people discussing the same page at once.
const COMMENTS_ADDRESS_FACTOR: u32 = 10;

const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

/// How much of an action one account (or address named) and one client address may do, and
/// over how long.
#[derive(Debug, Clone, Copy)]
struct Budget {
    per_account: u32,
    per_address: u32,
    window: Duration,
}

impl Action {
    const ALL: [Action; 8] = [
        Action::ResetRequest,
        Action::SignUp,
        Action::Confirmation,
        Action::JoinRequest,
        Action::Invitation,
        Action::Comment,
        Action::NewEntry,
        Action::Mention,
    ];

    /// The kind of a refusal, in the translations: `…_title` is its heading, the key itself
    /// its message when the person's own budget is spent, `…_network` when their network's is.
    fn refusal_key(self) -> &'static str {
        match self {
            Action::ResetRequest => "error.too_many_resets",
            Action::SignUp | Action::Confirmation => "error.too_many_sign_ups",
            Action::JoinRequest => "error.too_many_join_requests",
            Action::Invitation => "error.too_many_invitations",
            Action::Comment | Action::Mention => "error.too_many_comments",
            Action::NewEntry => "error.too_many_entries",
        }
    }

    /// The message when the client address's budget is spent, not the person's.
    fn network_key(self) -> &'static str {
        match self {
            Action::ResetRequest => "error.too_many_resets_network",
            Action::SignUp | Action::Confirmation => "error.too_many_sign_ups_network",
            Action::JoinRequest => "error.too_many_join_requests_network",
            Action::Invitation => "error.too_many_invitations_network",
            Action::Comment | Action::Mention => "error.too_many_comments_network",
            Action::NewEntry => "error.too_many_entries_network",
        }
    }
}

/// Who does an action.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// A signed-in person.
    Account(accounts::UserId),
    /// Someone signed out, by the address they name (the one that would receive the mail).
    Mailbox(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(i64),
    Mailbox(String),
    Address(IpAddr),
}

/// An IPv6 client holds a whole /64 (one address each second would be a fresh budget), so it
/// is counted by its network; an IPv4 client by its address.
fn network(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

/// The budgets of every `Action`, and what was spent of them.
pub struct ActionLimits {
    budgets: HashMap<Action, Budget>,
    spent: Mutex<HashMap<(Action, Key), Window>>,
}

/// Whose budget refused an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// The person's own (their account, or the address they named): they did ask that much.
    Own,
    /// Their client address's: people on the same network (one box or wifi) asked that much,
    /// maybe not them at all.
    Network,
}

/// An action refused: its budget is spent for now. Answers 429 with a page (or JSON) saying
/// which kind of action was refused, whose budget it was, about when to try again (in the
/// reader's time zone) and, when the handler says, the way back to where the person was.
#[derive(Debug, Clone)]
pub struct Spent {
    pub action: Action,
    pub whose: Whose,
    /// When the budget that refused has room again.
    pub retry_after: Duration,
    /// A way back (its path and its words), besides the home page.
    back: Option<(String, String)>,
    /// Words to add (already in the person's language): what they wrote, kept for them.
    detail: Option<String>,
}

impl Spent {
    /// The refusal page offers to go back to `path`, with the link saying `words`.
    pub(crate) fn back_to(mut self, path: String, words: String) -> Self {
        self.back = Some((path, words));
        self
    }

    /// The refusal page says `words` too.
    pub(crate) fn with_detail(mut self, words: String) -> Self {
        self.detail = Some(words);
        self
    }

    /// When the person may try again.
    pub(crate) fn retry_at(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::from_std(self.retry_after).unwrap_or_default()
    }
}

impl axum::response::IntoResponse for Spent {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::TOO_MANY_REQUESTS;
        let key = self.action.refusal_key();
        let message = match self.whose {
            Whose::Own => None,
            Whose::Network => Some(self.action.network_key()),
        };
        let retry_at = Some(self.retry_at());
        let mut response = (status, key).into_response();
        let info = error::ErrorInfo {
            status,
            key,
            detail: self.detail,
            message,
            retry_at,
            back: self.back,
        };
        response.extensions_mut().insert(info);
        response
    }
}

impl ActionLimits {
    /// The budgets; comments follow the site's `comments_per_minute` setting.
    pub fn new(comments_per_minute: u32) -> Self {
        let budget = |per_account, per_address, window| Budget { per_account, per_address, window };
        let comments = comments_per_minute.max(1);
        let budgets = Action::ALL
            .into_iter()
            .map(|action| {
                let b = match action {
                    Action::ResetRequest => budget(RESETS_PER_MAILBOX, RESETS_PER_ADDRESS, HOUR),
                    Action::SignUp => budget(SIGN_UPS_PER_MAILBOX, SIGN_UPS_PER_ADDRESS, HOUR),
                    Action::Confirmation => {
                        budget(CONFIRMATIONS_PER_ACCOUNT, CONFIRMATIONS_PER_ADDRESS, HOUR)
                    }
                    Action::JoinRequest => {
                        budget(JOIN_REQUESTS_PER_ACCOUNT, JOIN_REQUESTS_PER_ADDRESS, HOUR)
                    }
                    Action::Invitation => {
                        budget(INVITATIONS_PER_ACCOUNT, INVITATIONS_PER_ADDRESS, HOUR)
                    }
                    Action::Comment => {
                        budget(comments, comments.saturating_mul(COMMENTS_ADDRESS_FACTOR), MINUTE)
                    }
                    Action::NewEntry => {
                        budget(NEW_ENTRIES_PER_ACCOUNT, NEW_ENTRIES_PER_ADDRESS, HOUR)
                    }
                    Action::Mention => budget(MENTIONS_PER_ACCOUNT, MENTIONS_PER_ADDRESS, HOUR),
                };
                (action, b)
            })
            .collect();
        Self { budgets, spent: Mutex::new(HashMap::new()) }
    }

    /// Spends one `action` by `who` from `addr`, or refuses it (spending nothing) when either
    /// budget is spent.
    pub fn spend(&self, action: Action, who: Who<'_>, addr: IpAddr) -> Result<(), Spent> {
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        self.check_in(&spent, action, who, addr)?;
        self.record_in(&mut spent, action, who, addr);
        Ok(())
    }

    /// Whether one more `action` is within both budgets, spending nothing: for an action that
    /// may yet be refused for another reason, `record`ed once it is done.
    pub fn check(&self, action: Action, who: Who<'_>, addr: IpAddr) -> Result<(), Spent> {
        let spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        self.check_in(&spent, action, who, addr)
    }

    /// Counts one `action` done (after `check`).
    pub fn record(&self, action: Action, who: Who<'_>, addr: IpAddr) {
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        self.record_in(&mut spent, action, who, addr);
    }

    /// How many more of `action` `who` may do from `addr` now (the lesser room of both
    /// budgets): for an action done many at once, as the people one comment names.
    pub fn room(&self, action: Action, who: Who<'_>, addr: IpAddr) -> u32 {
        let Some(budget) = self.budgets.get(&action).copied() else { return u32::MAX };
        let spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let limits = [budget.per_account, budget.per_address];
        Self::keys(who, addr)
            .into_iter()
            .zip(limits)
            .map(|(k, limit)| {
                let used = spent.get(&(action, k)).map_or(0, |w| w.count_now(now, budget.window));
                limit.saturating_sub(used)
            })
            .min()
            .unwrap_or(0)
    }

    /// Counts `count` of `action` done at once (within the `room` there was).
    pub(crate) fn record_many(&self, action: Action, who: Who<'_>, addr: IpAddr, count: u32) {
        let Some(budget) = self.budgets.get(&action).copied() else { return };
        if count == 0 {
            return;
        }
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        for k in Self::keys(who, addr) {
            bump(&mut spent, (action, k.clone()), now, budget.window);
            if let Some(w) = spent.get_mut(&(action, k)) {
                w.count = w.count.saturating_add(count - 1);
            }
        }
    }

    fn keys(who: Who<'_>, addr: IpAddr) -> [Key; 2] {
        let account = match who {
            Who::Account(id) => Key::Account(id.0),
            Who::Mailbox(email) => Key::Mailbox(key(email)),
        };
        [account, Key::Address(network(addr))]
    }

    fn check_in(
        &self,
        spent: &HashMap<(Action, Key), Window>,
        action: Action,
        who: Who<'_>,
        addr: IpAddr,
    ) -> Result<(), Spent> {
        let Some(budget) = self.budgets.get(&action).copied() else { return Ok(()) };
        let now = Instant::now();
        let [own, network] = Self::keys(who, addr);
        let left = |k: Key, limit: u32| {
            let w = spent.get(&(action, k))?;
            (w.count_now(now, budget.window) >= limit)
                .then(|| budget.window.saturating_sub(now.duration_since(w.started)))
        };
        match (left(own, budget.per_account), left(network, budget.per_address)) {
            (None, None) => Ok(()),
            // Their own budget is what they can act on; the wait is until both have room.
            (Some(own), network) => Err(Spent {
                action,
                whose: Whose::Own,
                retry_after: network.map_or(own, |n| n.max(own)),
                back: None,
                detail: None,
            }),
            (None, Some(network)) => Err(Spent {
                action,
                whose: Whose::Network,
                retry_after: network,
                back: None,
                detail: None,
            }),
        }
    }

    fn record_in(
        &self,
        spent: &mut HashMap<(Action, Key), Window>,
        action: Action,
        who: Who<'_>,
        addr: IpAddr,
    ) {
        let Some(budget) = self.budgets.get(&action).copied() else { return };
        let now = Instant::now();
        for k in Self::keys(who, addr) {
            bump(spent, (action, k), now, budget.window);
        }
    }

    /// Forgets windows that are over, so memory stays bounded.
    pub(crate) fn tidy(&self) {
        let now = Instant::now();
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        let budgets = &self.budgets;
        spent.retain(|(action, _), w| {
            budgets.get(action).is_some_and(|b| now.duration_since(w.started) < b.window)
        });
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

    #[test]
    fn each_kind_of_action_has_its_own_budget() {
        let limits = ActionLimits::new(10);
        let office: IpAddr = [198, 51, 100, 1].into();
        for n in 0..RESETS_PER_ADDRESS {
            let email = format!("person{n}@example.org");
            assert!(limits.spend(Action::ResetRequest, Who::Mailbox(&email), office).is_ok());
        }
        let refused = limits.spend(Action::ResetRequest, Who::Mailbox("x@example.org"), office);
        let refused = refused.map_err(|s| (s.action, s.whose));
        assert_eq!(refused, Err((Action::ResetRequest, Whose::Network)));
        let someone = Who::Account(ruche_accounts::UserId(7));
        assert!(limits.spend(Action::JoinRequest, someone, office).is_ok());
    }

    #[test]
    fn one_address_is_asked_for_a_few_times_only() {
        let limits = ActionLimits::new(10);
        for n in 0..RESETS_PER_MAILBOX {
            let from: IpAddr = [203, 0, 113, n as u8].into();
            assert!(limits.spend(Action::ResetRequest, Who::Mailbox("Claire@x.org"), from).is_ok());
        }
        let elsewhere: IpAddr = [192, 0, 2, 1].into();
        let refused = limits.spend(Action::ResetRequest, Who::Mailbox("claire@x.org"), elsewhere);
        assert_eq!(refused.map_err(|s| s.whose), Err(Whose::Own));
    }

    #[test]
    fn actions_done_many_at_once_leave_the_lesser_room() {
        let limits = ActionLimits::new(10);
        let office: IpAddr = [198, 51, 100, 1].into();
        let (one, two) =
            (Who::Account(ruche_accounts::UserId(1)), Who::Account(ruche_accounts::UserId(2)));
        limits.record_many(Action::Mention, one, office, 45);
        assert_eq!(limits.room(Action::Mention, one, office), MENTIONS_PER_ACCOUNT - 45);
        limits.record_many(Action::Mention, two, office, 50);
        assert_eq!(limits.room(Action::Mention, two, office), 0, "their own fifty");
        let three = Who::Account(ruche_accounts::UserId(3));
        assert_eq!(limits.room(Action::Mention, three, office), MENTIONS_PER_ADDRESS - 95);
    }

    #[test]
    fn an_ipv6_network_is_one_client() {
        let limits = ActionLimits::new(10);
        for n in 0..JOIN_REQUESTS_PER_ADDRESS {
            let from: IpAddr = format!("2001:db8::{n:x}").parse().expect("an address");
            let who = Who::Account(ruche_accounts::UserId(i64::from(n)));
            assert!(limits.spend(Action::JoinRequest, who, from).is_ok());
        }
        let from: IpAddr = "2001:db8::ffff:1".parse().expect("an address");
        let who = Who::Account(ruche_accounts::UserId(1000));
        assert!(limits.spend(Action::JoinRequest, who, from).is_err());
    }
}
