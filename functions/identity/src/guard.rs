//! What stands between a stranger and an account: limits on sign-ups, sign-ins and account mail.
//!
//! Failed sign-ins are counted per account *and* source address. Five failures lock only that
//! pair, so a stranger hammering someone's email locks themselves out, never the owner signing in
//! from elsewhere. Failures across addresses (a spread-out guessing attempt) slow every attempt on
//! the account instead of locking it: the owner still gets in, a little later. One address failing
//! on many accounts is locked as a whole. Unknown emails are counted exactly like known ones, so
//! answers and timings tell nothing about which emails have accounts. Successful sign-ins do not
//! reset the counts: an attacker with one right guess must not buy more guesses.

use std::time::Duration;

use keel_http::ApiError;
use keel_store::{Db, StoreError};

use keel_store::window_limit::{self as limits, Limit};

/// The counts live beside the account lifecycle's other records, under the reserved `_identity` tenant.
const IDENTITY: &str = "_identity";
const QUARTER_HOUR: i64 = 15 * 60;
const HOUR: i64 = 60 * 60;

/// Failures of one account from one address before that pair waits out the window.
pub const PAIR_FAILURES: Limit =
    Limit { tenant: IDENTITY, name: "signin-fail-pair", window_seconds: QUARTER_HOUR, max: 5 };
/// Failures on one account from anywhere before each attempt on it is slowed.
pub const ACCOUNT_FAILURES: Limit =
    Limit { tenant: IDENTITY, name: "signin-fail-account", window_seconds: QUARTER_HOUR, max: 10 };
/// Failures from one address on any accounts before the address waits out the window.
pub const ADDRESS_FAILURES: Limit =
    Limit { tenant: IDENTITY, name: "signin-fail-address", window_seconds: QUARTER_HOUR, max: 30 };
/// Sign-in attempts from one address, and from everyone, per minute. The overall limit also bounds
/// how many identity instances a flood can hold (an attempt costs an Argon2 check, and up to
/// [`MAX_BACKOFF`] when its account is under attack).
pub const ADDRESS_SIGN_INS: Limit = Limit { tenant: IDENTITY, name: "signin-address", window_seconds: 60, max: 30 };
pub const ALL_SIGN_INS: Limit = Limit { tenant: IDENTITY, name: "signin-all", window_seconds: 60, max: 1200 };
/// Sign-ups from one address and from everyone: a flood is refused before any password is hashed,
/// so it degrades sign-up and nothing else.
pub const ADDRESS_SIGN_UPS: Limit = Limit { tenant: IDENTITY, name: "signup-address", window_seconds: HOUR, max: 5 };
pub const ALL_SIGN_UPS: Limit = Limit { tenant: IDENTITY, name: "signup-all", window_seconds: 60, max: 120 };
/// Verification mail to one email, reset mail to one email, and reset requests from one address:
/// nobody can turn Keel into a mail cannon against someone's inbox. Past the reset mail limit the
/// request is answered as usual and nothing more is sent: a stranger asking on the owner's behalf
/// has already put working links (an hour each) in the owner's inbox, so the owner is not denied one.
pub const SIGN_UP_MAIL: Limit = Limit { tenant: IDENTITY, name: "signup-mail", window_seconds: HOUR, max: 10 };
pub const RESET_MAIL: Limit = Limit { tenant: IDENTITY, name: "reset-mail", window_seconds: HOUR, max: 3 };
pub const ADDRESS_RESETS: Limit = Limit { tenant: IDENTITY, name: "reset-address", window_seconds: HOUR, max: 10 };
/// Invitations a company sends (new users and resends) an hour, and resends to one invited user:
/// an administrator cannot use Keel's sender as a mail cannon, and these counts are the company's
/// own (they neither reveal nor use up anything of the email's sign-up or reset mail).
pub const INVITATIONS: Limit = Limit { tenant: IDENTITY, name: "invitations", window_seconds: HOUR, max: 100 };
pub const RESENDS: Limit = Limit { tenant: IDENTITY, name: "invitation-resends", window_seconds: HOUR, max: 3 };

/// The longest an attempt on an account under a spread-out attack is held back.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3);

fn pair(email: &str, address: &str) -> String {
    format!("{email}|{}", source(address))
}

pub use keel_store::window_limit::source;

/// Holds an answer back until `floor` after `started`, so that whether work (a mail) was done
/// does not show in how long the answer took.
pub async fn even_out(started: std::time::Instant, floor: Duration) {
    if let Some(rest) = floor.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
}

/// Takes one count of each limit in order; the first one reached answers 429.
pub async fn take_all(db: &Db, limits: &[(Limit, &str)]) -> Result<(), ApiError> {
    for (limit, subject) in limits {
        if let Err(retry_after) = limits::take(db, *limit, subject).await? {
            return Err(ApiError::RateLimited { retry_after });
        }
    }
    Ok(())
}

/// Admits a sign-in attempt for `email` from `address`, or answers 429 with when to come back.
/// An admitted attempt on an account under a spread-out attack is held back first.
pub async fn admit_sign_in(db: &Db, email: &str, address: &str) -> Result<(), ApiError> {
    let subject = pair(email, address);
    let address = source(address);
    let (by_address, pair_failures, address_failures, account_failures) = tokio::join!(
        limits::take(db, ADDRESS_SIGN_INS, &address),
        limits::count(db, PAIR_FAILURES, &subject),
        limits::count(db, ADDRESS_FAILURES, &address),
        limits::count(db, ACCOUNT_FAILURES, email),
    );
    if let Err(retry_after) = by_address? {
        return Err(ApiError::RateLimited { retry_after });
    }
    let now = chrono::Utc::now().timestamp();
    if pair_failures? >= PAIR_FAILURES.max {
        return Err(ApiError::RateLimited { retry_after: PAIR_FAILURES.retry_after(now) });
    }
    if address_failures? >= ADDRESS_FAILURES.max {
        return Err(ApiError::RateLimited { retry_after: ADDRESS_FAILURES.retry_after(now) });
    }
    // Counted only for attempts this address may make: one address refused at its own limit
    // cannot use up everyone's.
    if let Err(retry_after) = limits::take(db, ALL_SIGN_INS, "all").await? {
        return Err(ApiError::RateLimited { retry_after });
    }
    let delay = backoff(account_failures?);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Ok(())
}

/// How long an attempt waits when the account has had `failures` in the window: nothing below
/// the limit, then doubling every five more failures, up to [`MAX_BACKOFF`].
pub fn backoff(failures: i64) -> Duration {
    if failures < ACCOUNT_FAILURES.max {
        return Duration::ZERO;
    }
    let doublings = ((failures - ACCOUNT_FAILURES.max) / 5).min(8) as u32;
    (Duration::from_millis(250) * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

/// Counts a failed sign-in (or a wrong current password) against the pair, the account and the address.
pub async fn record_failure(db: &Db, email: &str, address: &str) -> Result<(), StoreError> {
    let (subject, address) = (pair(email, address), source(address));
    let (a, b, c) = tokio::join!(
        limits::add(db, PAIR_FAILURES, &subject),
        limits::add(db, ACCOUNT_FAILURES, email),
        limits::add(db, ADDRESS_FAILURES, &address),
    );
    a.and(b).and(c)
}

/// Lifts the account's lock for its owner (a password reset proved they hold the mailbox).
pub async fn lift(db: &Db, email: &str, address: &str) -> Result<(), StoreError> {
    let subject = pair(email, address);
    let (a, b) = tokio::join!(limits::clear(db, PAIR_FAILURES, &subject), limits::clear(db, ACCOUNT_FAILURES, email));
    a.and(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_subscriber_is_one_source_whatever_address_it_takes() {
        assert_eq!(source("2001:db8:1:2:aaaa::1"), source("2001:db8:1:2:bbbb::2"));
        assert_ne!(source("2001:db8:1:2::1"), source("2001:db8:1:3::1"));
        assert_eq!(source("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(source("203.0.113.7"), "203.0.113.7");
    }

    #[test]
    fn spread_out_failures_slow_the_account_without_ever_locking_it() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(ACCOUNT_FAILURES.max - 1), Duration::ZERO);
        assert_eq!(backoff(ACCOUNT_FAILURES.max), Duration::from_millis(250));
        assert_eq!(backoff(ACCOUNT_FAILURES.max + 5), Duration::from_millis(500));
        assert_eq!(backoff(10_000), MAX_BACKOFF, "bounded, however many failures");
    }
}
