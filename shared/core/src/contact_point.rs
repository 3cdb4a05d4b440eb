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

/// A phone number in E.164, as libphonenumber (the `phonenumber` crate) reads it: `+44 (0)20 7946
/// 0958`, `+44 20 7946 0958` and `0044 20 7946 0958` are one number, `+442079460958`, so dedupe sees
/// one person. A number without its country code is refused rather than guessed, and so is one that
/// cannot exist in its country's numbering plan.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

const PHONE_FORMAT: &str = "must be in international format, e.g. +14155550123";

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw.len() > 40 {
            return Err(PHONE_FORMAT);
        }
        // `00` is how most of the world dials out; the number that follows is international.
        let international = match raw.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None if raw.starts_with('+') => raw.to_string(),
            None => return Err(PHONE_FORMAT),
        };
        let number = phonenumber::parse(None, &international).map_err(|_| PHONE_FORMAT)?;
        if !phonenumber::is_valid(&number) {
            return Err("is not a number that exists in its country's numbering plan");
        }
        Ok(Phone(number.format().mode(phonenumber::Mode::E164).to_string()))
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
        // The trunk prefix people write in brackets is not part of the international number.
        assert_eq!(Phone::parse("+44 (0)20 7946 0958").unwrap().as_str(), "+442079460958");
        assert_eq!(Phone::parse("+44 20 7946 0958").unwrap().as_str(), "+442079460958");
        assert_eq!(Phone::parse("+49 (0)30 901820").unwrap().as_str(), "+4930901820");
        // Letters on a vanity number are the digits they stand for.
        assert_eq!(Phone::parse("+1-415-CALL-NOW").unwrap().as_str(), "+14152255669");
        for bad in ["", "4155550123", "+12", "+1415555012345678", "+0123456789", "+44 20 7946", "+1 (000) 555-0123"] {
            assert!(Phone::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
