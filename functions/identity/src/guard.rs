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

use crate::limits::{self, Limit};

const QUARTER_HOUR: i64 = 15 * 60;
const HOUR: i64 = 60 * 60;

/// Failures of one account from one address before that pair waits out the window.
pub const PAIR_FAILURES: Limit = Limit { name: "signin-fail-pair", window_seconds: QUARTER_HOUR, max: 5 };
/// Failures on one account from anywhere before each attempt on it is slowed.
pub const ACCOUNT_FAILURES: Limit = Limit { name: "signin-fail-account", window_seconds: QUARTER_HOUR, max: 10 };
/// Failures from one address on any accounts before the address waits out the window.
pub const ADDRESS_FAILURES: Limit = Limit { name: "signin-fail-address", window_seconds: QUARTER_HOUR, max: 30 };
/// Sign-in attempts from one address, and from everyone, per minute.
pub const ADDRESS_SIGN_INS: Limit = Limit { name: "signin-address", window_seconds: 60, max: 30 };
pub const ALL_SIGN_INS: Limit = Limit { name: "signin-all", window_seconds: 60, max: 6000 };
/// Sign-ups from one address and from everyone: a flood is refused before any password is hashed,
/// so it degrades sign-up and nothing else.
pub const ADDRESS_SIGN_UPS: Limit = Limit { name: "signup-address", window_seconds: HOUR, max: 5 };
pub const ALL_SIGN_UPS: Limit = Limit { name: "signup-all", window_seconds: 60, max: 120 };
/// Account mail (verification, reset) to one email, and reset requests from one address: nobody
/// can turn Keel into a mail cannon against someone's inbox.
pub const MAIL_TO_EMAIL: Limit = Limit { name: "mail-email", window_seconds: HOUR, max: 3 };
pub const ADDRESS_RESETS: Limit = Limit { name: "reset-address", window_seconds: HOUR, max: 10 };

/// The longest an attempt on an account under a spread-out attack is held back.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3);

fn pair(email: &str, address: &str) -> String {
    format!("{email}|{address}")
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
    let (by_address, by_everyone, pair_failures, address_failures, account_failures) = tokio::join!(
        limits::take(db, ADDRESS_SIGN_INS, address),
        limits::take(db, ALL_SIGN_INS, "all"),
        limits::count(db, PAIR_FAILURES, &subject),
        limits::count(db, ADDRESS_FAILURES, address),
        limits::count(db, ACCOUNT_FAILURES, email),
    );
    for taken in [by_address?, by_everyone?] {
        if let Err(retry_after) = taken {
            return Err(ApiError::RateLimited { retry_after });
        }
    }
    let now = chrono::Utc::now().timestamp();
    if pair_failures? >= PAIR_FAILURES.max {
        return Err(ApiError::RateLimited { retry_after: PAIR_FAILURES.retry_after(now) });
    }
    if address_failures? >= ADDRESS_FAILURES.max {
        return Err(ApiError::RateLimited { retry_after: ADDRESS_FAILURES.retry_after(now) });
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
    let subject = pair(email, address);
    let (a, b, c) = tokio::join!(
        limits::add(db, PAIR_FAILURES, &subject),
        limits::add(db, ACCOUNT_FAILURES, email),
        limits::add(db, ADDRESS_FAILURES, address),
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
    fn spread_out_failures_slow_the_account_without_ever_locking_it() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(ACCOUNT_FAILURES.max - 1), Duration::ZERO);
        assert_eq!(backoff(ACCOUNT_FAILURES.max), Duration::from_millis(250));
        assert_eq!(backoff(ACCOUNT_FAILURES.max + 5), Duration::from_millis(500));
        assert_eq!(backoff(10_000), MAX_BACKOFF, "bounded, however many failures");
    }
}
