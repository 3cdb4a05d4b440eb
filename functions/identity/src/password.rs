//! Passwords: strength rules with clear messages, Argon2id hashes, and a verification that takes
//! the same time whether or not the account exists.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 256;

/// Why a password is refused, in words for the person choosing it.
pub fn weakness(password: &str, email: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        return Some(format!("must be at least {MIN_LENGTH} characters"));
    }
    if chars > MAX_LENGTH {
        return Some(format!("must be at most {MAX_LENGTH} characters"));
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        return Some("must mix at least three of: lower case, upper case, digits, symbols".into());
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 4 && password.to_lowercase().contains(&local) {
        return Some("must not contain your email address".into());
    }
    None
}

/// An Argon2id hash (PHC string, salt included).
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("Argon2id with default parameters").to_string()
}

/// Checks `password` against `stored`, or against a fixed dummy hash when there is no account, so
/// "no such user" and "wrong password" take the same time.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not-a-real-password-Only-for-timing-1"));
    let target = stored.unwrap_or(dummy);
    let ok = PasswordHash::new(target)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false);
    ok && stored.is_some()
}

/// [`hash`] on a blocking thread: Argon2 is deliberately slow, and other requests of this process
/// must not wait behind it.
pub async fn hash_apart(password: String) -> Result<String, keel_http::ApiError> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| keel_http::ApiError::Internal(format!("password hashing: {e}")))
}

/// Which of `stored` hashes `password` matches, checked on a blocking thread. With none stored it
/// still checks once (against the dummy), so an unknown email takes as long as a known one.
pub async fn matches_apart(password: String, stored: Vec<String>) -> Result<Vec<bool>, keel_http::ApiError> {
    tokio::task::spawn_blocking(move || {
        if stored.is_empty() {
            verify(&password, None);
            return Vec::new();
        }
        stored.iter().map(|h| verify(&password, Some(h))).collect()
    })
    .await
    .map_err(|e| keel_http::ApiError::Internal(format!("password check: {e}")))
}

/// Whether `password` matches the one `stored` hash, checked on a blocking thread.
pub async fn matches_one(password: String, stored: &str) -> Result<bool, keel_http::ApiError> {
    Ok(matches_apart(password, vec![stored.to_string()]).await?.first().copied().unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_rules_explain_themselves() {
        assert!(weakness("short1A", "a@b.co").unwrap().contains("at least"));
        assert!(weakness("alllowercaseletters", "a@b.co").unwrap().contains("three"));
        assert!(weakness("Ana.Silva2026!", "ana.silva@acme.example").unwrap().contains("email"));
        assert_eq!(weakness("Correct-Horse-7", "ana@acme.example"), None);
    }

    #[test]
    fn hashes_verify_and_unknown_accounts_never_do() {
        let h = hash("Correct-Horse-7");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("Correct-Horse-7", Some(&h)));
        assert!(!verify("Correct-Horse-8", Some(&h)));
        assert!(!verify("Correct-Horse-7", None));
    }
}
