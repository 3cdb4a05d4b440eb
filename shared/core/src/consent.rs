//! The consent ledger's rules: per lead and channel, append-only records of consent granted or
//! withdrawn (what was agreed to or asked, where, when, by whom), and the current state per
//! channel that every outbound send checks.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::field_error::{text, FieldErrors};

/// The longest proof text kept with a record (a form's consent text is at most this long too).
pub const PROOF_MAX: usize = 2000;

/// A way of reaching a person that consent is given or withdrawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentChannel {
    Email,
    Whatsapp,
    Phone,
    Sms,
}

impl ConsentChannel {
    pub const ALL: [ConsentChannel; 4] =
        [ConsentChannel::Email, ConsentChannel::Whatsapp, ConsentChannel::Phone, ConsentChannel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentChannel::Email => "email",
            ConsentChannel::Whatsapp => "whatsapp",
            ConsentChannel::Phone => "phone",
            ConsentChannel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<ConsentChannel> {
        ConsentChannel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// What a send on this channel needs until the company's governance policy says otherwise.
    /// WhatsApp and SMS need an opt-in (the WhatsApp Business policy and most SMS rules say so);
    /// business email and calls may go to a person who has not objected.
    pub fn default_requirement(self) -> Requirement {
        match self {
            ConsentChannel::Whatsapp | ConsentChannel::Sms => Requirement::OptIn,
            ConsentChannel::Email | ConsentChannel::Phone => Requirement::NotWithdrawn,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    Granted,
    Withdrawn,
}

impl ConsentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::Granted => "granted",
            ConsentStatus::Withdrawn => "withdrawn",
        }
    }
}

/// What a channel needs before anything is sent on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// Consent granted and not withdrawn since.
    OptIn,
    /// Anything but a withdrawal.
    NotWithdrawn,
}

/// One entry of the ledger, as stored (append-only) and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentRecord {
    #[schema(value_type = String)]
    pub id: ulid::Ulid,
    pub channel: ConsentChannel,
    pub status: ConsentStatus,
    /// Where it came from: `form:<id>`, `user:<id>`, `unsubscribe-link`.
    pub source: String,
    /// What the person agreed to, or how they asked to stop.
    pub proof: String,
    pub at: DateTime<Utc>,
    /// The user who recorded it (none for a form or an unsubscribe link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// The address the record came from; empty when it is not known (a record made by a system
    /// process) or not shown (only roles that read the audit trail see it).
    #[serde(default)]
    pub source_ip: String,
}

/// A channel's standing: the latest record's status, and which record that is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChannelConsent {
    pub status: ConsentStatus,
    pub at: DateTime<Utc>,
    pub record_id: String,
    pub source: String,
}

/// The current state of every channel of one lead (one item: one read before a send).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentState {
    /// Channels with a record; a channel without one has never been asked.
    pub channels: BTreeMap<ConsentChannel, ChannelConsent>,
    /// Records written so far (0: none): what a record written on what was read is conditioned on.
    #[serde(default)]
    pub version: u64,
}

/// Whether a send may go out on a channel, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ConsentCheck {
    Allowed,
    Blocked { reason: String },
}

impl ConsentCheck {
    pub fn allowed(&self) -> bool {
        matches!(self, ConsentCheck::Allowed)
    }
}

impl ConsentState {
    /// Whether the latest record of `channel` withdrew consent.
    pub fn withdrawn(&self, channel: ConsentChannel) -> bool {
        self.channels.get(&channel).is_some_and(|c| c.status == ConsentStatus::Withdrawn)
    }

    /// The check every outbound send makes.
    pub fn check(&self, channel: ConsentChannel, requirement: Requirement) -> ConsentCheck {
        let blocked = |reason: String| ConsentCheck::Blocked { reason };
        match (self.channels.get(&channel), requirement) {
            (Some(c), _) if c.status == ConsentStatus::Withdrawn => {
                blocked(format!("{} consent was withdrawn on {}", channel.as_str(), c.at.format("%Y-%m-%d")))
            }
            (Some(_), _) | (None, Requirement::NotWithdrawn) => ConsentCheck::Allowed,
            (None, Requirement::OptIn) => blocked(format!("{} needs consent, and none was given", channel.as_str())),
        }
    }

    /// The state after `record` (the latest written wins).
    pub fn with(mut self, record: &ConsentRecord) -> ConsentState {
        self.channels.insert(
            record.channel,
            ChannelConsent {
                status: record.status,
                at: record.at,
                record_id: record.id.to_string(),
                source: record.source.clone(),
            },
        );
        self
    }
}

/// A record a user enters for a lead.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsent {
    /// `email`, `whatsapp`, `phone` or `sms`.
    pub channel: Option<String>,
    /// `granted` or `withdrawn`.
    pub status: Option<String>,
    /// What the person agreed to (required for a grant), or how they asked to stop.
    pub proof: Option<String>,
}

impl NewConsent {
    /// The channel, status and proof, or every field at fault.
    pub fn validate(&self) -> Result<(ConsentChannel, ConsentStatus, String), FieldErrors> {
        let mut e = FieldErrors::default();
        let channel = match self.channel.as_deref().map(str::trim) {
            None | Some("") => {
                e.add("channel", "is required");
                None
            }
            Some(c) => ConsentChannel::parse(c).or_else(|| {
                e.add("channel", "must be one of email, whatsapp, phone, sms");
                None
            }),
        };
        let status = match self.status.as_deref().map(str::trim) {
            Some("granted") => Some(ConsentStatus::Granted),
            Some("withdrawn") => Some(ConsentStatus::Withdrawn),
            None | Some("") => {
                e.add("status", "is required");
                None
            }
            Some(_) => {
                e.add("status", "must be granted or withdrawn");
                None
            }
        };
        // A grant must say what was agreed to: that text is the proof the record exists for.
        let proof = text(&mut e, "proof", self.proof.as_deref(), status == Some(ConsentStatus::Granted), PROOF_MAX);
        match (channel, status) {
            (Some(channel), Some(status)) if e.is_empty() => {
                let proof = proof.unwrap_or_else(|| "Withdrawn at the person's request".to_string());
                Ok((channel, status, proof))
            }
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(channel: ConsentChannel, status: ConsentStatus) -> ConsentRecord {
        ConsentRecord {
            id: ulid::Ulid::new(),
            channel,
            status,
            source: "user:u1".into(),
            proof: "Asked on the phone".into(),
            at: Utc::now(),
            actor_id: Some("u1".into()),
            source_ip: String::new(),
        }
    }

    #[test]
    fn a_withdrawal_blocks_whatever_the_requirement() {
        let state = ConsentState::default()
            .with(&record(ConsentChannel::Email, ConsentStatus::Granted))
            .with(&record(ConsentChannel::Email, ConsentStatus::Withdrawn));
        for requirement in [Requirement::OptIn, Requirement::NotWithdrawn] {
            assert!(!state.check(ConsentChannel::Email, requirement).allowed());
        }
        assert!(state.check(ConsentChannel::Phone, Requirement::NotWithdrawn).allowed(), "other channels stand");
    }

    #[test]
    fn opt_in_channels_need_a_grant() {
        let state = ConsentState::default();
        let requirement = ConsentChannel::Whatsapp.default_requirement();
        assert!(!state.check(ConsentChannel::Whatsapp, requirement).allowed());
        let state = state.with(&record(ConsentChannel::Whatsapp, ConsentStatus::Granted));
        assert!(state.check(ConsentChannel::Whatsapp, requirement).allowed());
        assert!(state.check(ConsentChannel::Email, ConsentChannel::Email.default_requirement()).allowed());
    }

    #[test]
    fn a_grant_needs_its_proof_and_every_field_at_fault_is_named() {
        let e = NewConsent { channel: Some("fax".into()), status: Some("maybe".into()), proof: None }
            .validate()
            .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["channel", "status"]);
        let e = NewConsent { channel: Some("email".into()), status: Some("granted".into()), proof: None }
            .validate()
            .unwrap_err();
        assert_eq!(e.0[0].field, "proof");
        let ok = NewConsent { channel: Some("sms".into()), status: Some("withdrawn".into()), proof: None }.validate();
        assert_eq!(ok.unwrap().1, ConsentStatus::Withdrawn);
    }
}
