//! Accounts (the API's `customers`): the organisations Keel sells to. Never deleted: an account's
//! life is its lifecycle, and `inactive` is as far as it goes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::field_error::{line, FieldErrors};
use crate::lead::website;

const NAME_MAX: usize = 200;
const FIELD_MAX: usize = 100;
const OWNER_MAX: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    Prospect,
    Customer,
    Churned,
    Inactive,
}

impl Lifecycle {
    pub const ALL: [Lifecycle; 4] = [Lifecycle::Prospect, Lifecycle::Customer, Lifecycle::Churned, Lifecycle::Inactive];

    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Prospect => "prospect",
            Lifecycle::Customer => "customer",
            Lifecycle::Churned => "churned",
            Lifecycle::Inactive => "inactive",
        }
    }

    pub fn parse(raw: &str) -> Option<Lifecycle> {
        Self::ALL.into_iter().find(|l| l.as_str() == raw)
    }

    /// The lifecycle moves people may make. A prospect becomes a customer by winning (or by hand),
    /// a customer churns, a churned account can be won back, and any account can be set inactive;
    /// an inactive account comes back as a prospect. A prospect cannot churn: it never bought.
    pub fn change(self, to: Lifecycle) -> Result<(), String> {
        if self.permits(to) {
            return Ok(());
        }
        Err(format!(
            "an account cannot go from {} to {} (allowed: {})",
            self.as_str(),
            to.as_str(),
            self.allowed().iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", ")
        ))
    }

    fn permits(self, to: Lifecycle) -> bool {
        use Lifecycle::*;
        self == to
            || to == Inactive
            || matches!(
                (self, to),
                (Prospect, Customer) | (Customer, Churned) | (Churned, Customer) | (Inactive, Prospect)
            )
    }

    pub fn allowed(self) -> Vec<Lifecycle> {
        Self::ALL.into_iter().filter(|to| *to != self && self.permits(*to)).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    Prospect,
    Customer,
    Partner,
    Reseller,
    Other,
}

/// Head-count bands.
pub const SIZES: [&str; 6] = ["1-10", "11-50", "51-200", "201-1000", "1001-5000", "5000+"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    #[schema(example = "PT")]
    pub country: Option<String>,
}

impl Address {
    fn validate(&self, e: &mut FieldErrors) -> Option<Address> {
        let a = Address {
            line1: line(e, "address.line1", self.line1.as_deref(), false, FIELD_MAX),
            line2: line(e, "address.line2", self.line2.as_deref(), false, FIELD_MAX),
            city: line(e, "address.city", self.city.as_deref(), false, FIELD_MAX),
            region: line(e, "address.region", self.region.as_deref(), false, FIELD_MAX),
            postal_code: line(e, "address.postal_code", self.postal_code.as_deref(), false, 20),
            country: match self.country.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) => Some(c.to_string()),
                Some(_) => {
                    e.add("address.country", "must be a two-letter ISO 3166 code like PT");
                    None
                }
                None => None,
            },
        };
        (a != Address::default()).then_some(a)
    }
}

/// The body of `POST …/customers` (and the account part of a conversion).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[schema(example = "Acme Ltd")]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub account_type: Option<AccountType>,
    pub industry: Option<String>,
    /// Head count: 1-10, 11-50, 51-200, 201-1000, 1001-5000 or 5000+.
    #[schema(example = "51-200")]
    pub size: Option<String>,
    pub website: Option<String>,
    /// The email domain people of this account write from (`acme.example`); taken from the
    /// website when left out.
    pub domain: Option<String>,
    pub address: Option<Address>,
    /// Defaults to the person creating the account.
    pub owner_id: Option<String>,
}

/// A valid account draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDraft {
    pub name: String,
    pub account_type: AccountType,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub website: Option<String>,
    pub domain: Option<String>,
    pub address: Option<Address>,
    pub owner_id: Option<String>,
}

impl NewAccount {
    pub fn validate(&self) -> Result<AccountDraft, FieldErrors> {
        let mut e = FieldErrors::default();
        let website = website_field(&mut e, self.website.as_deref());
        let domain = match self.domain.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(raw) => domain_field(&mut e, raw),
            None => website.as_deref().and_then(domain_of_website).filter(|d| valid_domain(d)),
        };
        let draft = AccountDraft {
            name: line(&mut e, "name", self.name.as_deref(), true, NAME_MAX).unwrap_or_default(),
            account_type: self.account_type.unwrap_or(AccountType::Prospect),
            industry: line(&mut e, "industry", self.industry.as_deref(), false, FIELD_MAX),
            size: match self.size.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) if SIZES.contains(&s) => Some(s.to_string()),
                Some(_) => {
                    e.add("size", format!("must be one of {}", SIZES.join(", ")));
                    None
                }
                None => None,
            },
            website,
            domain,
            address: self.address.as_ref().and_then(|a| a.validate(&mut e)),
            owner_id: line(&mut e, "owner_id", self.owner_id.as_deref(), false, OWNER_MAX),
        };
        e.into_result(draft)
    }
}

fn website_field(e: &mut FieldErrors, raw: Option<&str>) -> Option<String> {
    website(e, raw)
}

fn domain_field(e: &mut FieldErrors, raw: &str) -> Option<String> {
    let d = raw.trim().trim_start_matches('@').to_ascii_lowercase();
    if valid_domain(&d) {
        Some(d)
    } else {
        e.add("domain", "must be a domain like acme.example");
        None
    }
}

/// Host name labels (1–63 letters, digits, inner hyphens) under a top-level domain of letters.
fn valid_domain(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    d.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// `https://www.acme.example/about` → `acme.example`.
pub fn domain_of_website(website: &str) -> Option<String> {
    let rest = website.split_once("://").map(|(_, r)| r).unwrap_or(website);
    let host = rest.split(['/', '?', '#', ':']).next()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    (host.contains('.') && host.is_ascii()).then(|| host.to_string())
}

/// Mail providers anyone can use: their domain says nothing about which account a person is with.
const PUBLIC_MAIL: [&str; 14] = [
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "mail.com",
    "yandex.com",
];

/// The organisation domain of an email address, unless it is a public mail provider's.
pub fn company_domain(email: &str) -> Option<String> {
    let domain = email.rsplit_once('@')?.1.to_ascii_lowercase();
    (!PUBLIC_MAIL.contains(&domain.as_str())).then_some(domain)
}

/// Legal-form words that do not tell one company from another.
const LEGAL_FORMS: [&str; 16] = [
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "srl",
    "bv",
    "corp",
    "corporation",
    "co",
    "lda",
];

/// A name reduced to what tells companies apart: lower case, letters and digits, legal forms
/// dropped ("Acme Ltd." and "ACME" are both `acme`). Accounts sort and match by it.
pub fn name_key(name: &str) -> String {
    let lowered = name.to_lowercase();
    let words: Vec<String> =
        lowered.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect();
    let kept: Vec<&str> = words.iter().map(String::as_str).filter(|w| !LEGAL_FORMS.contains(w)).collect::<Vec<_>>();
    let kept = if kept.is_empty() { words.iter().map(String::as_str).collect() } else { kept };
    kept.join(" ")
}

/// An account as stored and returned. The counters and `last_activity_at` are kept by the
/// transactions that change what they count (conversion, contacts, deals), and feed the health score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Account {
    #[schema(value_type = String)]
    pub id: Ulid,
    pub name: String,
    #[serde(rename = "type")]
    pub account_type: AccountType,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub website: Option<String>,
    pub domain: Option<String>,
    pub address: Option<Address>,
    pub owner_id: String,
    pub lifecycle: Lifecycle,
    pub primary_contact_id: Option<String>,
    #[serde(default)]
    pub contact_count: u32,
    #[serde(default)]
    pub open_opportunities: u32,
    #[serde(default)]
    pub won_opportunities: u32,
    /// Won revenue per currency, in minor units. Left out while empty: DynamoDB Local 3.x drops
    /// the type of an empty map in stream records, which stalls every stream reader.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub won_revenue_minor: std::collections::BTreeMap<String, i64>,
    pub last_activity_at: Option<DateTime<Utc>>,
    /// The lead this account was converted from, when it was.
    pub source_lead_id: Option<String>,
    pub version: u64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Account {
    pub fn create(draft: AccountDraft, id: Ulid, actor: &str, now: DateTime<Utc>) -> Account {
        Account {
            id,
            owner_id: draft.owner_id.unwrap_or_else(|| actor.to_string()),
            lifecycle: if draft.account_type == AccountType::Customer {
                Lifecycle::Customer
            } else {
                Lifecycle::Prospect
            },
            name: draft.name,
            account_type: draft.account_type,
            industry: draft.industry,
            size: draft.size,
            website: draft.website,
            domain: draft.domain,
            address: draft.address,
            primary_contact_id: None,
            contact_count: 0,
            open_opportunities: 0,
            won_opportunities: 0,
            won_revenue_minor: Default::default(),
            last_activity_at: None,
            source_lead_id: None,
            version: 1,
            created_by: actor.to_string(),
            created_at: now,
            updated_at: now,
        }
    }

    /// What people edit, as recorded in the audit trail.
    pub const RECORDED_FIELDS: [&'static str; 10] = [
        "name",
        "type",
        "industry",
        "size",
        "website",
        "domain",
        "address",
        "owner_id",
        "lifecycle",
        "primary_contact_id",
    ];

    pub fn as_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The account after `patch` (validated as a whole; lifecycle moves by the rules).
    pub fn patched(&self, patch: &AccountPatch, now: DateTime<Utc>) -> Result<Account, FieldErrors> {
        let mut e = FieldErrors::default();
        let lifecycle = match patch.lifecycle {
            Some(to) => {
                if let Err(m) = self.lifecycle.change(to) {
                    e.add("lifecycle", m);
                }
                to
            }
            None => self.lifecycle,
        };
        if !e.is_empty() {
            return Err(e);
        }
        let pick = |p: &Option<Option<String>>, cur: &Option<String>| match p {
            None => cur.clone(),
            Some(v) => v.clone(),
        };
        let merged = NewAccount {
            name: patch.name.clone().or_else(|| Some(self.name.clone())),
            account_type: patch.account_type.or(Some(self.account_type)),
            industry: pick(&patch.industry, &self.industry),
            size: pick(&patch.size, &self.size),
            website: pick(&patch.website, &self.website),
            domain: pick(&patch.domain, &self.domain),
            address: match &patch.address {
                None => self.address.clone(),
                Some(a) => a.clone(),
            },
            owner_id: patch.owner_id.clone().or_else(|| Some(self.owner_id.clone())),
        };
        let draft = merged.validate()?;
        let mut next = self.clone();
        next.name = draft.name;
        next.account_type = draft.account_type;
        next.industry = draft.industry;
        next.size = draft.size;
        next.website = draft.website;
        next.domain = draft.domain;
        next.address = draft.address;
        next.owner_id = draft.owner_id.unwrap_or_else(|| self.owner_id.clone());
        next.lifecycle = lifecycle;
        next.version += 1;
        next.updated_at = now;
        Ok(next)
    }
}

/// The body of `PATCH …/customers/{id}`: fields left out stay; `null` clears an optional one.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    pub version: Option<u64>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub account_type: Option<AccountType>,
    #[serde(default, deserialize_with = "crate::lead::present")]
    #[schema(value_type = Option<String>)]
    pub industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::lead::present")]
    #[schema(value_type = Option<String>)]
    pub size: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::lead::present")]
    #[schema(value_type = Option<String>)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::lead::present")]
    #[schema(value_type = Option<String>)]
    pub domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "present_address")]
    #[schema(value_type = Option<Address>)]
    pub address: Option<Option<Address>>,
    pub owner_id: Option<String>,
    pub lifecycle: Option<Lifecycle>,
}

fn present_address<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Address>>, D::Error> {
    Option::<Address>::deserialize(d).map(Some)
}

/// How an account's health reads at a glance: `healthy` (≥ 70), `watch` (40–69), `at_risk` (< 40).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthBand {
    Healthy,
    Watch,
    AtRisk,
}

/// One factor of an account's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountHealthFactor {
    pub factor: String,
    /// Points earned of `max`.
    pub points: u8,
    pub max: u8,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountHealth {
    /// 0–100: the points of every factor.
    pub score: u8,
    pub band: HealthBand,
    pub factors: Vec<AccountHealthFactor>,
}

/// An account's health at `now`, from what its records keep current: how recently anything
/// happened with it, whether it has opportunities open, and whether it has bought.
pub fn health(account: &Account, now: DateTime<Utc>) -> AccountHealth {
    let mut factors = Vec::new();
    let (points, why) = match account.last_activity_at.map(|at| (now - at).num_days()) {
        None => (0, "no activity yet".to_string()),
        Some(d) if d <= 7 => (40, format!("last activity {d} days ago (within a week)")),
        Some(d) if d <= 30 => (25, format!("last activity {d} days ago (within a month)")),
        Some(d) if d <= 90 => (10, format!("last activity {d} days ago (within three months)")),
        Some(d) => (0, format!("last activity {d} days ago")),
    };
    factors.push(AccountHealthFactor { factor: "engagement_recency".into(), points, max: 40, why });
    let open = account.open_opportunities;
    factors.push(AccountHealthFactor {
        factor: "open_opportunities".into(),
        points: match open {
            0 => 0,
            1 => 20,
            _ => 30,
        },
        max: 30,
        why: format!("{open} open opportunit{}", if open == 1 { "y" } else { "ies" }),
    });
    let won = account.won_opportunities;
    factors.push(AccountHealthFactor {
        factor: "won_revenue".into(),
        points: if won > 0 { 30 } else { 0 },
        max: 30,
        why: if won > 0 {
            format!("{won} won opportunit{}", if won == 1 { "y" } else { "ies" })
        } else {
            "nothing won yet".into()
        },
    });
    let score = factors.iter().map(|f| u32::from(f.points)).sum::<u32>().min(100) as u8;
    let band = match score {
        70.. => HealthBand::Healthy,
        40..=69 => HealthBand::Watch,
        _ => HealthBand::AtRisk,
    };
    AccountHealth { score, band, factors }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_moves_by_the_rules() {
        assert!(Lifecycle::Prospect.change(Lifecycle::Customer).is_ok());
        assert!(Lifecycle::Customer.change(Lifecycle::Inactive).is_ok());
        assert!(Lifecycle::Inactive.change(Lifecycle::Prospect).is_ok());
        let refused = Lifecycle::Prospect.change(Lifecycle::Churned).unwrap_err();
        assert!(refused.contains("allowed: customer, inactive"), "{refused}");
        assert!(Lifecycle::Inactive.change(Lifecycle::Customer).is_err());
    }

    #[test]
    fn names_match_without_legal_forms_and_domains_skip_public_mail() {
        assert_eq!(name_key("Acme Ltd."), "acme");
        assert_eq!(name_key("ACME"), "acme");
        assert_eq!(name_key("Ltd"), "ltd");
        assert_eq!(company_domain("ana@Acme.Example").as_deref(), Some("acme.example"));
        assert_eq!(company_domain("ana@gmail.com"), None);
        assert_eq!(domain_of_website("https://www.acme.example/about").as_deref(), Some("acme.example"));
        for bad in ["a..b", "-bad-.example", "1.2.3.4", "acme", "acme.c0m"] {
            let mut e = FieldErrors::default();
            assert_eq!(domain_field(&mut e, bad), None, "{bad}");
        }
        let mut e = FieldErrors::default();
        assert_eq!(domain_field(&mut e, "@Mail.Acme.Example").as_deref(), Some("mail.acme.example"));
    }

    #[test]
    fn health_adds_its_factors() {
        let now = Utc::now();
        let draft = NewAccount { name: Some("Acme".into()), ..Default::default() }.validate().unwrap();
        let mut a = Account::create(draft, Ulid::nil(), "u", now);
        assert_eq!(health(&a, now).score, 0);
        a.last_activity_at = Some(now);
        a.open_opportunities = 1;
        let h = health(&a, now);
        assert_eq!((h.score, h.band), (60, HealthBand::Watch));
    }
}
