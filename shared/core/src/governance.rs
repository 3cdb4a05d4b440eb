//! The company's data governance policy: what each channel needs before a message goes out
//! (more of the governance rules join it as they are built). Administrators keep it; versioned,
//! and every change audited.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::consent::{ConsentChannel, Requirement};
use crate::field_error::FieldErrors;

/// What each channel needs before a message goes out.
/// Stored items read with `serde(default)`: a channel or policy added later takes its default on
/// an item saved before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ConsentPolicy {
    pub email: Requirement,
    pub whatsapp: Requirement,
    pub phone: Requirement,
    pub sms: Requirement,
}

impl Default for ConsentPolicy {
    fn default() -> Self {
        ConsentPolicy {
            email: ConsentChannel::Email.default_requirement(),
            whatsapp: ConsentChannel::Whatsapp.default_requirement(),
            phone: ConsentChannel::Phone.default_requirement(),
            sms: ConsentChannel::Sms.default_requirement(),
        }
    }
}

impl ConsentPolicy {
    pub fn requirement(&self, channel: ConsentChannel) -> Requirement {
        match channel {
            ConsentChannel::Email => self.email,
            ConsentChannel::Whatsapp => self.whatsapp,
            ConsentChannel::Phone => self.phone,
            ConsentChannel::Sms => self.sms,
        }
    }
}

/// The company's governance policy as stored and returned (the defaults, version 0, until an
/// administrator saves one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct GovernancePolicy {
    pub consent: ConsentPolicy,
    pub version: u64,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

/// A channel's requirement as sent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentPolicyUpdate {
    /// `opt_in` or `not_withdrawn`
    pub email: Option<String>,
    /// `opt_in` (WhatsApp's Business policy asks for one)
    pub whatsapp: Option<String>,
    pub phone: Option<String>,
    pub sms: Option<String>,
}

/// A new policy: the `version` read, and what changes (what is left out stays).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GovernancePolicyUpdate {
    pub version: u64,
    pub consent: Option<ConsentPolicyUpdate>,
}

fn requirement(e: &mut FieldErrors, field: &str, value: Option<&str>, current: Requirement) -> Requirement {
    match value.map(str::trim) {
        None => current,
        Some("opt_in") => Requirement::OptIn,
        Some("not_withdrawn") => Requirement::NotWithdrawn,
        Some(_) => {
            e.add(field, "must be opt_in or not_withdrawn");
            current
        }
    }
}

impl GovernancePolicyUpdate {
    /// The policy after this update of `current`, or every field at fault.
    pub fn apply(
        &self,
        current: &GovernancePolicy,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<GovernancePolicy, FieldErrors> {
        let mut e = FieldErrors::default();
        let c = self.consent.clone().unwrap_or_default();
        let was = current.consent;
        let consent = ConsentPolicy {
            email: requirement(&mut e, "consent.email", c.email.as_deref(), was.email),
            whatsapp: requirement(&mut e, "consent.whatsapp", c.whatsapp.as_deref(), was.whatsapp),
            phone: requirement(&mut e, "consent.phone", c.phone.as_deref(), was.phone),
            sms: requirement(&mut e, "consent.sms", c.sms.as_deref(), was.sms),
        };
        if consent.whatsapp != Requirement::OptIn && !e.0.iter().any(|f| f.field == "consent.whatsapp") {
            e.add(
                "consent.whatsapp",
                "must be opt_in: WhatsApp's Business policy allows messages only to people who opted in",
            );
        }
        e.into_result(GovernancePolicy {
            consent,
            version: current.version + 1,
            updated_at: Some(now),
            updated_by: Some(by.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_changes_what_it_names_and_whatsapp_keeps_its_opt_in() {
        let current = GovernancePolicy::default();
        let update = GovernancePolicyUpdate {
            version: 0,
            consent: Some(ConsentPolicyUpdate { email: Some("opt_in".into()), ..Default::default() }),
        };
        let next = update.apply(&current, "u1", Utc::now()).unwrap();
        assert_eq!((next.consent.email, next.consent.phone), (Requirement::OptIn, Requirement::NotWithdrawn));
        assert_eq!(next.version, 1);
        let update = GovernancePolicyUpdate {
            version: 1,
            consent: Some(ConsentPolicyUpdate {
                whatsapp: Some("not_withdrawn".into()),
                sms: Some("sometimes".into()),
                ..Default::default()
            }),
        };
        let fields: Vec<String> =
            update.apply(&next, "u1", Utc::now()).unwrap_err().0.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["consent.sms", "consent.whatsapp"]);
    }
}
