//! Email addresses and phone numbers in their normalised forms: the forms dedupe compares.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An email address, trimmed and lower-cased (mailbox providers treat addresses case-insensitively
/// in practice, and dedupe must see `Ana@X.com` and `ana@x.com` as one person).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim().to_lowercase();
        if value.len() > 254 {
            return Err("must be at most 254 characters");
        }
        let (local, domain) = value.split_once('@').ok_or("must be an email address like name@example.com")?;
        let valid_local = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let valid_domain = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if valid_local && valid_domain {
            Ok(Email(value))
        } else {
            Err("must be an email address like name@example.com")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164 (`+` and 8-15 digits). Spaces, dots, dashes and brackets people type
/// are dropped; a number without its country code is refused rather than guessed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        let digits = compact
            .strip_prefix('+')
            .or_else(|| compact.strip_prefix("00"))
            .ok_or("must be in international format, e.g. +14155550123")?;
        if (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0') {
            Ok(Phone(format!("+{digits}")))
        } else {
            Err("must be in international format, e.g. +14155550123")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(Email::parse("  Ana.Silva@Example.COM ").unwrap().as_str(), "ana.silva@example.com");
        for bad in ["", "ana", "ana@", "@x.com", "ana@x", "ana@x.c0m", "a b@x.com", ".a@x.com", "ana@-x.com"] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn phone_is_normalised_to_e164() {
        assert_eq!(Phone::parse("+1 (415) 555-0123").unwrap().as_str(), "+14155550123");
        assert_eq!(Phone::parse("0044 20 7946 0958").unwrap().as_str(), "+442079460958");
        for bad in ["", "4155550123", "+12", "+1415555012345678", "+1-415-CALL-NOW", "+0123456789"] {
            assert!(Phone::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
