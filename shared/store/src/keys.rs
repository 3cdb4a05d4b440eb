//! Every key of every item and index begins with the tenant (`T#<tenant>#`). The tenant given
//! here comes only from a verified token, or from a public key a company published (a form's key,
//! a webhook's key), which names its company in an item under a reserved tenant.

/// Key builder bound to one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantKeys {
    prefix: String,
}

/// The reserved tenant of platform operators.
pub const PLATFORM_TENANT: &str = "_platform";

impl TenantKeys {
    pub fn new(tenant_id: &str) -> Self {
        TenantKeys { prefix: format!("T#{tenant_id}#") }
    }

    pub fn tenant_prefix(&self) -> &str {
        &self.prefix
    }

    pub fn tenant_id(&self) -> &str {
        &self.prefix[2..self.prefix.len() - 1]
    }

    /// `T#<tenant>#<rest>`.
    /// The platform's own partition (operators, their audit trail and jobs): a reserved tenant no
    /// company can be (company ids are ULIDs).
    pub fn platform() -> Self {
        TenantKeys::new(PLATFORM_TENANT)
    }

    pub fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    pub fn lead(&self, lead_id: &str) -> String {
        self.key(&format!("LEAD#{lead_id}"))
    }

    /// All the tenant's leads, newest first (gsi1).
    pub fn leads_index(&self) -> String {
        self.key("LEADS")
    }

    /// The tenant's leads in one status, newest first (gsi2).
    pub fn leads_by_status_index(&self, status: &str) -> String {
        self.key(&format!("LEADS#STATUS#{status}"))
    }

    /// Uniqueness marker for a lead's normalised email.
    pub fn lead_email_marker(&self, email: &str) -> String {
        self.key(&format!("LEADEMAIL#{email}"))
    }

    /// Uniqueness marker for a lead's normalised phone.
    pub fn lead_phone_marker(&self, phone: &str) -> String {
        self.key(&format!("LEADPHONE#{phone}"))
    }

    /// A user of the company (identity owns the item; the token check reads its revocation fields).
    pub fn user(&self, user_id: &str) -> String {
        self.key(&format!("USER#{user_id}"))
    }

    /// The tenant's outbox / event feed partition.
    /// A sign-in (its refresh-token family): revoked, it ends the session's access tokens too.
    pub fn session(&self, session_id: &str) -> String {
        self.key(&format!("REFRESHFAMILY#{session_id}"))
    }

    pub fn events(&self) -> String {
        self.key("EVENTS")
    }

    pub fn idempotency(&self, scope: &str, key: &str) -> String {
        self.key(&format!("IDEM#{scope}#{key}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_start_with_the_tenant() {
        let k = TenantKeys::new("01TENANT");
        for key in [k.lead("1"), k.leads_index(), k.lead_email_marker("a@b.co"), k.events(), k.idempotency("s", "k")] {
            assert!(key.starts_with("T#01TENANT#"), "{key}");
        }
    }
}
