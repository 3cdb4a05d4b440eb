//! Possible duplicates: the match keys a lead is filed under and how alike two leads filed under
//! one key are. Exact email and phone matches stay with the uniqueness markers (atomic, at
//! capture); these find what a marker cannot — a typo in a name at the same company, a second
//! address at the same work domain, a number entered under another country code. They flag,
//! never block.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Lead;

/// How alike two names must be (Jaro–Winkler, 0–1) for a shared company or work domain to make
/// the leads possible duplicates: "Jon Smith" / "John Smith" is 0.97, "Ann Lee" / "Anna Li" 0.87,
/// "Ann Lee" / "Bob Lee" 0.71.
pub const SIMILAR_NAME: f64 = 0.85;

/// Why a lead is a possible duplicate of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// The same email (possible once the earlier lead let it go: archived, or its email changed
    /// and back).
    SameEmail,
    /// The same number; or the same national number under another country code, with a
    /// similar name (a number entered with the wrong country).
    SamePhone,
    /// A similar name at the same company.
    SimilarNameSameCompany,
    /// A similar name with an address at the same work domain.
    SimilarNameSameDomain,
}

impl MatchRule {
    /// Rules that match on the contact point alone, whatever the names.
    pub fn exact(self) -> bool {
        matches!(self, MatchRule::SameEmail | MatchRule::SamePhone)
    }
}

/// A key a lead is filed under: the rule it serves and the normalised value (`E#`, `P#`, `C#`,
/// `D#` and the value, as stored).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MatchKey {
    pub rule: MatchRule,
    pub value: String,
}

impl MatchKey {
    pub fn as_str(&self) -> String {
        let tag = match self.rule {
            MatchRule::SameEmail => "E",
            MatchRule::SamePhone => "P",
            MatchRule::SimilarNameSameCompany => "C",
            MatchRule::SimilarNameSameDomain => "D",
        };
        format!("{tag}#{}", self.value)
    }

    pub fn parse(s: &str) -> Option<MatchKey> {
        let (tag, value) = s.split_once('#')?;
        let rule = match tag {
            "E" => MatchRule::SameEmail,
            "P" => MatchRule::SamePhone,
            "C" => MatchRule::SimilarNameSameCompany,
            "D" => MatchRule::SimilarNameSameDomain,
            _ => return None,
        };
        Some(MatchKey { rule, value: value.to_string() })
    }
}

/// Mail providers whose addresses say nothing about where a person works.
const PERSONAL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "ymail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.com",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
    "126.com",
    "zoho.com",
    "fastmail.com",
    "hey.com",
];

/// Legal forms and filler left off a company's name, so "Acme Ltd." and "ACME Limited" meet.
const COMPANY_SUFFIXES: &[&str] = &[
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "llp",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "oy",
    "ab",
    "as",
    "pty",
    "co",
    "corp",
    "corporation",
    "company",
    "the",
];

/// Lowercase letters and digits in words, accents kept (a name is not ASCII).
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_lowercase()).collect()
}

/// A company's name as matched: its words without legal forms ("Acme Holdings Ltd." → "acme holdings").
pub fn company_key(name: &str) -> Option<String> {
    let mut w = words(name);
    while w.len() > 1 && w.last().is_some_and(|l| COMPANY_SUFFIXES.contains(&l.as_str())) {
        w.pop();
    }
    if w.first().is_some_and(|f| f == "the") && w.len() > 1 {
        w.remove(0);
    }
    let key = w.join(" ");
    (!key.is_empty()).then_some(key)
}

/// The work domain of an address, or `None` for a personal mail provider's.
pub fn work_domain(email: &str) -> Option<String> {
    let domain = email.rsplit_once('@')?.1.to_lowercase();
    (!PERSONAL_DOMAINS.contains(&domain.as_str())).then_some(domain)
}

/// The national significant number of an E.164 number (without the country code, its leading
/// zeros kept: Italy's 06… is not France's 6…), so the same number entered under the wrong
/// country still meets itself.
pub fn national_number(e164: &str) -> Option<String> {
    let parsed = phonenumber::parse(None, e164).ok()?;
    let national = parsed.national();
    Some(format!("{}{}", "0".repeat(national.zeros() as usize), national.value()))
}

/// A person's name as compared: its words in order.
pub fn name_key(first: &str, last: &str) -> String {
    let mut w = words(first);
    w.extend(words(last));
    w.join(" ")
}

/// The block a name is filed in under each key: the initials of its first and last words in
/// alphabetical order, so "Jon Smith", "John A. Smith" and "Smith Jon" meet, and a big company's
/// thousands of leads split into a few hundred blocks that a lookup reads one of. (A typo in an
/// initial is the price: "Kristin" and "Cristin" do not meet.)
pub fn name_block(name: &str) -> String {
    let initial = |w: &str| w.chars().next().map(String::from).unwrap_or_default();
    let words: Vec<&str> = name.split(' ').filter(|w| !w.is_empty()).collect();
    match (words.first(), words.last()) {
        (Some(first), Some(last)) => {
            let mut pair = [initial(first), initial(last)];
            pair.sort();
            pair.concat()
        }
        _ => "_".into(),
    }
}

/// Every key `lead` is filed under: its email, its phone's national number, its company and its
/// work domain, those it has (a lead whose contact points and company are emptied files under
/// none). Archived and converted leads stay filed: a new lead matching one is worth seeing.
pub fn match_keys(lead: &Lead) -> Vec<MatchKey> {
    let mut out = Vec::new();
    if let Some(email) = &lead.email {
        out.push(MatchKey { rule: MatchRule::SameEmail, value: email.as_str().to_string() });
        if let Some(domain) = work_domain(email.as_str()) {
            out.push(MatchKey { rule: MatchRule::SimilarNameSameDomain, value: domain });
        }
    }
    if let Some(national) = lead.phone.as_ref().and_then(|p| national_number(p.as_str())) {
        out.push(MatchKey { rule: MatchRule::SamePhone, value: national });
    }
    if let Some(company) = lead.company_name.as_deref().and_then(company_key) {
        out.push(MatchKey { rule: MatchRule::SimilarNameSameCompany, value: company });
    }
    out.sort();
    out.dedup();
    out
}

/// How alike two names are (0–1): Jaro–Winkler of the names as compared, also with one of them
/// turned round ("Smith John"), as lists often swap first and last names.
pub fn name_similarity(a: &str, b: &str) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let straight = strsim::jaro_winkler(a, b);
    let turned: Vec<&str> = b.split(' ').rev().collect();
    straight.max(strsim::jaro_winkler(a, &turned.join(" ")))
}

/// Whether two leads filed under the same key of `rule` are possible duplicates, given how alike
/// their names are.
pub fn is_candidate(rule: MatchRule, similarity: f64) -> bool {
    rule.exact() || similarity >= SIMILAR_NAME
}

/// Why `other` may be the same person as `lead` and how alike their names are (0–1), or `None`
/// when no rule holds. Both as they are now: index entries only say where to look.
pub fn compare(lead: &Lead, other: &Lead) -> Option<(Vec<MatchRule>, f64)> {
    if lead.id == other.id {
        return None;
    }
    let similarity =
        name_similarity(&name_key(&lead.first_name, &lead.last_name), &name_key(&other.first_name, &other.last_name));
    let theirs = match_keys(other);
    let holds = |k: &MatchKey| match k.rule {
        // Another country code with the same digits is a person only if the names agree.
        MatchRule::SamePhone => lead.phone == other.phone || similarity >= SIMILAR_NAME,
        rule => is_candidate(rule, similarity),
    };
    let mut rules: Vec<MatchRule> =
        match_keys(lead).into_iter().filter(|k| theirs.contains(k) && holds(k)).map(|k| k.rule).collect();
    rules.dedup();
    (!rules.is_empty()).then_some((rules, similarity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companies_meet_without_their_legal_forms_and_case() {
        assert_eq!(company_key("Acme Ltd."), Some("acme".into()));
        assert_eq!(company_key("ACME limited"), Some("acme".into()));
        assert_eq!(company_key("The Acme Holdings, Inc"), Some("acme holdings".into()));
        assert_eq!(company_key("Müller GmbH"), Some("müller".into()));
        // A name that is only a legal form keeps it rather than matching everything.
        assert_eq!(company_key("Company"), Some("company".into()));
        assert_eq!(company_key(" -- "), None);
    }

    #[test]
    fn personal_mail_providers_say_nothing_about_the_company() {
        assert_eq!(work_domain("ann@acme.example"), Some("acme.example".into()));
        assert_eq!(work_domain("ann@Gmail.com"), None);
    }

    #[test]
    fn a_number_under_another_country_code_keeps_its_national_number() {
        assert_eq!(national_number("+442079460958").as_deref(), Some("2079460958"));
        assert_eq!(national_number("+12079460958").as_deref(), Some("2079460958"));
        // Italy keeps its leading zero, so a Rome line is not a French mobile.
        assert_eq!(national_number("+390612345678").as_deref(), Some("0612345678"));
        assert_eq!(national_number("+33612345678").as_deref(), Some("612345678"));
    }

    #[test]
    fn similar_names_pass_and_different_ones_do_not() {
        let sim = |a: (&str, &str), b: (&str, &str)| name_similarity(&name_key(a.0, a.1), &name_key(b.0, b.1));
        assert!(sim(("Jon", "Smith"), ("John", "Smith")) >= SIMILAR_NAME);
        assert!(sim(("Ann", "Lee"), ("Anna", "Li")) >= SIMILAR_NAME);
        assert!(sim(("Smith", "John"), ("John", "Smith")) >= 0.99, "swapped first and last names");
        assert!(sim(("Ann", "Lee"), ("Bob", "Lee")) < SIMILAR_NAME);
        assert!(sim(("", ""), ("Bob", "Lee")) == 0.0);
        assert!(is_candidate(MatchRule::SamePhone, 0.1));
        assert!(!is_candidate(MatchRule::SimilarNameSameCompany, 0.5));
    }

    fn lead(first: &str, last: &str, email: Option<&str>, phone: Option<&str>, company: Option<&str>) -> Lead {
        let draft = crate::NewLead {
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            company_name: company.map(Into::into),
            source: Some("Web".into()),
            campaign: Some("Spring".into()),
            medium: Some("organic".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        Lead::capture(draft, ulid::Ulid::new(), "u1", chrono::Utc::now())
    }

    #[test]
    fn leads_compare_by_every_rule_they_share() {
        let jon = lead("Jon", "Smith", Some("jon@acme.example"), Some("+442079460958"), Some("Acme Ltd"));
        let john = lead("John", "Smith", Some("john.smith@acme.example"), None, Some("ACME limited"));
        let (rules, similarity) = compare(&jon, &john).unwrap();
        assert_eq!(rules, [MatchRule::SimilarNameSameCompany, MatchRule::SimilarNameSameDomain]);
        assert!(similarity > 0.9);
        // The same number matches whatever the name; under another country code, with a similar name.
        let same_line = lead("Bea", "Jones", Some("bea@jones.example"), Some("+442079460958"), None);
        assert_eq!(compare(&jon, &same_line).unwrap().0, [MatchRule::SamePhone]);
        let other_country = lead("Bea", "Jones", None, Some("+12079460958"), None);
        assert_eq!(compare(&jon, &other_country), None);
        let wrong_country = lead("John", "Smith", None, Some("+12079460958"), None);
        assert_eq!(compare(&jon, &wrong_country).unwrap().0, [MatchRule::SamePhone]);
        // Another person at the same company is not a duplicate.
        let bob = lead("Bob", "Ng", Some("bob@acme.example"), None, Some("Acme"));
        assert_eq!(compare(&jon, &bob), None);
        // Nor is a similar name at a personal mail provider.
        let a = lead("Jon", "Smith", Some("jon.smith@gmail.com"), None, None);
        let b = lead("John", "Smith", Some("jsmith@gmail.com"), None, None);
        assert_eq!(compare(&a, &b), None);
        assert_eq!(compare(&jon, &jon), None);
    }

    #[test]
    fn names_are_blocked_by_their_first_and_last_initials_in_any_order() {
        assert_eq!(name_block(&name_key("Jon", "Smith")), "js");
        assert_eq!(name_block(&name_key("John A.", "Smith")), "js");
        assert_eq!(name_block(&name_key("Smith", "Jon")), "js");
        assert_eq!(name_block(&name_key("Åsa", "")), "åå");
        assert_eq!(name_block(""), "_");
    }

    #[test]
    fn keys_round_trip_through_their_stored_form() {
        for rule in [
            MatchRule::SameEmail,
            MatchRule::SamePhone,
            MatchRule::SimilarNameSameCompany,
            MatchRule::SimilarNameSameDomain,
        ] {
            let key = MatchKey { rule, value: "a#b".into() };
            assert_eq!(MatchKey::parse(&key.as_str()), Some(key));
        }
    }
}
