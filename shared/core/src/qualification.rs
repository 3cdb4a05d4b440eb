//! Qualification: BANT and MEDDICC assessments, the tenant's thresholds, the conversion checklist
//! and the risk score. Pure rules: every answer here is a function of what was assessed, the
//! policy and the clock, so the same inputs always give the same verdict and the same reasons.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::field_error::{line, text, FieldErrors};
use crate::lead::{Lead, LeadStatus};

/// Each BANT item scores 0–25, so the total is 0–100.
pub const BANT_ITEM_MAX: i64 = 25;
const EVIDENCE_MAX: usize = 1000;
const NOTES_MAX: usize = 1000;
const REASON_MAX: usize = 200;
const REASONS_MAX: usize = 30;

/// BANT as sent: integers 0–25 (wider types so a wrong number is named, not a parse failure).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BantInput {
    pub budget: Option<i64>,
    pub authority: Option<i64>,
    pub need: Option<i64>,
    pub timeline: Option<i64>,
}

/// BANT as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Bant {
    pub budget: u8,
    pub authority: u8,
    pub need: u8,
    pub timeline: u8,
}

impl Bant {
    pub fn total(&self) -> u8 {
        self.budget + self.authority + self.need + self.timeline
    }

    fn items(&self) -> [(&'static str, u8); 4] {
        [("budget", self.budget), ("authority", self.authority), ("need", self.need), ("timeline", self.timeline)]
    }
}

/// Why each BANT item scored what it did (free text, optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BantEvidence {
    pub budget: Option<String>,
    pub authority: Option<String>,
    pub need: Option<String>,
    pub timeline: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeddiccStatus {
    #[default]
    Unknown,
    Weak,
    Confirmed,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeddiccItem {
    #[serde(default)]
    pub status: MeddiccStatus,
    pub notes: Option<String>,
}

/// MEDDICC: an item left out is `unknown`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Meddicc {
    #[serde(default)]
    pub metrics: MeddiccItem,
    #[serde(default)]
    pub economic_buyer: MeddiccItem,
    #[serde(default)]
    pub decision_criteria: MeddiccItem,
    #[serde(default)]
    pub decision_process: MeddiccItem,
    #[serde(default)]
    pub identify_pain: MeddiccItem,
    #[serde(default)]
    pub champion: MeddiccItem,
    #[serde(default)]
    pub competition: MeddiccItem,
}

/// The MEDDICC items by name, in their order.
pub const MEDDICC_ITEMS: [&str; 7] =
    ["metrics", "economic_buyer", "decision_criteria", "decision_process", "identify_pain", "champion", "competition"];

impl Meddicc {
    pub fn items(&self) -> [(&'static str, &MeddiccItem); 7] {
        [
            ("metrics", &self.metrics),
            ("economic_buyer", &self.economic_buyer),
            ("decision_criteria", &self.decision_criteria),
            ("decision_process", &self.decision_process),
            ("identify_pain", &self.identify_pain),
            ("champion", &self.champion),
            ("competition", &self.competition),
        ]
    }

    pub fn item(&self, name: &str) -> Option<&MeddiccItem> {
        self.items().into_iter().find(|(n, _)| *n == name).map(|(_, i)| i)
    }

    /// 0–100: confirmed items count fully, weak ones half.
    pub fn score(&self) -> u8 {
        let points: u32 = self
            .items()
            .iter()
            .map(|(_, i)| match i.status {
                MeddiccStatus::Confirmed => 2,
                MeddiccStatus::Weak => 1,
                MeddiccStatus::Unknown => 0,
            })
            .sum();
        ((points * 100 + 7) / 14) as u8
    }
}

/// The body of `POST …/leads/{id}/qualify`: BANT, MEDDICC or both.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualifyRequest {
    pub bant: Option<BantInput>,
    pub evidence: Option<BantEvidence>,
    pub meddicc: Option<Meddicc>,
}

/// What an assessment recorded, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentInput {
    pub bant: Option<Bant>,
    pub evidence: Option<BantEvidence>,
    pub meddicc: Option<Meddicc>,
}

impl QualifyRequest {
    pub fn validate(&self) -> Result<AssessmentInput, FieldErrors> {
        let mut e = FieldErrors::default();
        if self.bant.is_none() && self.meddicc.is_none() {
            e.add("bant", "send a BANT assessment, a MEDDICC assessment, or both");
        }
        let bant = self.bant.as_ref().map(|b| {
            let mut item = |name: &str, v: Option<i64>| match v {
                Some(v) if (0..=BANT_ITEM_MAX).contains(&v) => v as u8,
                Some(_) => {
                    e.add(&format!("bant.{name}"), "must be a whole number from 0 to 25");
                    0
                }
                None => {
                    e.add(&format!("bant.{name}"), "is required (0 to 25)");
                    0
                }
            };
            Bant {
                budget: item("budget", b.budget),
                authority: item("authority", b.authority),
                need: item("need", b.need),
                timeline: item("timeline", b.timeline),
            }
        });
        if self.evidence.is_some() && self.bant.is_none() {
            e.add("evidence", "is the evidence for a BANT assessment: send `bant` with it");
        }
        let evidence = self.evidence.as_ref().map(|ev| BantEvidence {
            budget: text(&mut e, "evidence.budget", ev.budget.as_deref(), false, EVIDENCE_MAX),
            authority: text(&mut e, "evidence.authority", ev.authority.as_deref(), false, EVIDENCE_MAX),
            need: text(&mut e, "evidence.need", ev.need.as_deref(), false, EVIDENCE_MAX),
            timeline: text(&mut e, "evidence.timeline", ev.timeline.as_deref(), false, EVIDENCE_MAX),
        });
        let meddicc = self.meddicc.as_ref().map(|m| {
            let mut clean = m.clone();
            for (name, item) in [
                ("metrics", &mut clean.metrics),
                ("economic_buyer", &mut clean.economic_buyer),
                ("decision_criteria", &mut clean.decision_criteria),
                ("decision_process", &mut clean.decision_process),
                ("identify_pain", &mut clean.identify_pain),
                ("champion", &mut clean.champion),
                ("competition", &mut clean.competition),
            ] {
                item.notes = text(&mut e, &format!("meddicc.{name}.notes"), item.notes.as_deref(), false, NOTES_MAX);
            }
            clean
        });
        e.into_result(AssessmentInput { bant, evidence, meddicc })
    }
}

/// What happens when a lead becomes qualified.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversionTrigger {
    /// Nothing: a person converts the lead.
    #[default]
    Off,
    /// The lead is converted at once, into a new account (the conversion consumer).
    AutoConvert,
}

/// A company's qualification rules (admins edit them; versioned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QualificationPolicy {
    /// The BANT total (0–100) a lead needs to qualify.
    pub bant_min_total: u8,
    /// Whether any BANT item at 0 keeps a lead from qualifying.
    pub bant_no_zero_item: bool,
    /// MEDDICC items that must be `confirmed` to qualify (none by default).
    pub meddicc_required: Vec<String>,
    /// The reasons a lead may be disqualified for.
    pub disqualify_reasons: Vec<String>,
    pub conversion_trigger: ConversionTrigger,
    pub version: u64,
}

impl Default for QualificationPolicy {
    fn default() -> Self {
        QualificationPolicy {
            bant_min_total: 70,
            bant_no_zero_item: true,
            meddicc_required: vec![],
            disqualify_reasons: [
                "no budget",
                "no need",
                "not the decision maker",
                "chose a competitor",
                "unresponsive",
                "not a fit",
                "duplicate",
            ]
            .map(String::from)
            .to_vec(),
            conversion_trigger: ConversionTrigger::Off,
            version: 0,
        }
    }
}

/// The body of `PUT …/leads/qualification-policy`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyUpdate {
    pub version: u64,
    pub bant_min_total: i64,
    pub bant_no_zero_item: bool,
    #[serde(default)]
    pub meddicc_required: Vec<String>,
    pub disqualify_reasons: Vec<String>,
    pub conversion_trigger: ConversionTrigger,
}

impl PolicyUpdate {
    /// The policy this update asks for (at the next version), or what is wrong with it.
    pub fn validate(&self) -> Result<QualificationPolicy, FieldErrors> {
        let mut e = FieldErrors::default();
        if !(1..=100).contains(&self.bant_min_total) {
            e.add("bant_min_total", "must be from 1 to 100");
        }
        let mut required = Vec::new();
        for item in &self.meddicc_required {
            if !MEDDICC_ITEMS.contains(&item.as_str()) {
                e.add("meddicc_required", format!("must name MEDDICC items: {}", MEDDICC_ITEMS.join(", ")));
                break;
            }
            if !required.contains(item) {
                required.push(item.clone());
            }
        }
        let mut reasons: Vec<String> = Vec::new();
        for raw in &self.disqualify_reasons {
            if let Some(r) = line(&mut e, "disqualify_reasons", Some(raw), true, REASON_MAX) {
                if !reasons.iter().any(|x| x.eq_ignore_ascii_case(&r)) {
                    reasons.push(r);
                }
            }
        }
        if reasons.is_empty() {
            e.add("disqualify_reasons", "must name at least one reason");
        } else if reasons.len() > REASONS_MAX {
            e.add("disqualify_reasons", format!("must name at most {REASONS_MAX} reasons"));
        }
        e.into_result(QualificationPolicy {
            bant_min_total: self.bant_min_total.clamp(0, 100) as u8,
            bant_no_zero_item: self.bant_no_zero_item,
            meddicc_required: required,
            disqualify_reasons: reasons,
            conversion_trigger: self.conversion_trigger,
            version: self.version + 1,
        })
    }
}

/// One condition of the conversion checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Condition {
    /// A stable name: `status`, `bant_total`, `bant_no_zero_item`, `meddicc.<item>`.
    pub condition: String,
    pub met: bool,
    pub why: String,
}

/// The qualification's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Qualified,
    Nurturing,
}

/// One assessment as recorded: who, when, what, and what it concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Assessment {
    #[schema(value_type = String)]
    pub id: Ulid,
    pub assessed_by: String,
    pub assessed_at: DateTime<Utc>,
    pub bant: Option<Bant>,
    pub evidence: Option<BantEvidence>,
    pub meddicc: Option<Meddicc>,
    /// BANT total when BANT was assessed, else the MEDDICC score (0–100).
    pub score: u8,
    pub meddicc_score: Option<u8>,
    pub outcome: Outcome,
    /// The thresholds' conditions as they stood for this assessment.
    pub conditions: Vec<Condition>,
}

impl Assessment {
    pub fn new(input: AssessmentInput, policy: &QualificationPolicy, by: &str, id: Ulid, now: DateTime<Utc>) -> Self {
        let conditions = threshold_conditions(input.bant.as_ref(), input.meddicc.as_ref(), policy);
        let outcome = if conditions.iter().all(|c| c.met) { Outcome::Qualified } else { Outcome::Nurturing };
        let meddicc_score = input.meddicc.as_ref().map(Meddicc::score);
        Assessment {
            id,
            assessed_by: by.to_string(),
            assessed_at: now,
            score: input.bant.map(|b| b.total()).or(meddicc_score).unwrap_or(0),
            meddicc_score,
            bant: input.bant,
            evidence: input.evidence,
            meddicc: input.meddicc,
            outcome,
            conditions,
        }
    }
}

/// The policy's thresholds against an assessment, each met or not with the reason.
fn threshold_conditions(
    bant: Option<&Bant>,
    meddicc: Option<&Meddicc>,
    policy: &QualificationPolicy,
) -> Vec<Condition> {
    let mut out = Vec::new();
    let min = policy.bant_min_total;
    out.push(match bant {
        Some(b) if b.total() >= min => Condition {
            condition: "bant_total".into(),
            met: true,
            why: format!("BANT total {} reaches {min}", b.total()),
        },
        Some(b) => Condition {
            condition: "bant_total".into(),
            met: false,
            why: format!("BANT total {} is below {min}", b.total()),
        },
        None => Condition { condition: "bant_total".into(), met: false, why: "BANT has not been assessed".into() },
    });
    if policy.bant_no_zero_item {
        let zeros: Vec<&str> =
            bant.map(|b| b.items().into_iter().filter(|(_, v)| *v == 0).map(|(n, _)| n).collect()).unwrap_or_default();
        out.push(Condition {
            condition: "bant_no_zero_item".into(),
            met: bant.is_some() && zeros.is_empty(),
            why: match (bant, zeros.is_empty()) {
                (None, _) => "BANT has not been assessed".into(),
                (Some(_), true) => "every BANT item scores above 0".into(),
                (Some(_), false) => format!("{} scored 0", zeros.join(", ")),
            },
        });
    }
    for item in &policy.meddicc_required {
        let status = meddicc.and_then(|m| m.item(item)).map(|i| i.status).unwrap_or_default();
        out.push(Condition {
            condition: format!("meddicc.{item}"),
            met: status == MeddiccStatus::Confirmed,
            why: match status {
                MeddiccStatus::Confirmed => format!("{item} is confirmed"),
                MeddiccStatus::Weak => format!("{item} is weak; it must be confirmed"),
                MeddiccStatus::Unknown => format!("{item} is unknown; it must be confirmed"),
            },
        });
    }
    out
}

/// Whether a lead may be converted now, condition by condition: the lead's status first, then
/// the thresholds against its latest assessment.
pub fn conversion_eligibility(
    lead: &Lead,
    latest: Option<&Assessment>,
    policy: &QualificationPolicy,
) -> Vec<Condition> {
    let status = match lead.status {
        LeadStatus::Qualified => {
            Condition { condition: "status".into(), met: true, why: "the lead is qualified".into() }
        }
        LeadStatus::Converted => {
            Condition { condition: "status".into(), met: false, why: "the lead has been converted already".into() }
        }
        other => Condition {
            condition: "status".into(),
            met: false,
            why: format!("the lead is {}; only a qualified lead converts", other.as_str()),
        },
    };
    let mut out = vec![status];
    out.extend(threshold_conditions(
        latest.and_then(|a| a.bant.as_ref()),
        latest.and_then(|a| a.meddicc.as_ref()),
        policy,
    ));
    out
}

/// A recycle, a disqualification or a manager's reversal of one: recorded with the lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusDecision {
    #[schema(value_type = String)]
    pub id: Ulid,
    pub decision: Decision,
    pub reason: String,
    pub revisit_on: Option<NaiveDate>,
    /// The status the lead had before, which a reversal restores.
    pub previous_status: LeadStatus,
    pub status: LeadStatus,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Recycled,
    Disqualified,
    Reversed,
}

/// The body of `POST …/recycle`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecycleRequest {
    pub reason: Option<String>,
    /// When to look at the lead again (`YYYY-MM-DD`, after today).
    #[schema(value_type = Option<String>, example = "2027-01-15")]
    pub revisit_on: Option<String>,
}

impl RecycleRequest {
    pub fn validate(&self, today: NaiveDate) -> Result<(String, NaiveDate), FieldErrors> {
        let mut e = FieldErrors::default();
        let reason = line(&mut e, "reason", self.reason.as_deref(), true, REASON_MAX);
        let revisit = match self.revisit_on.as_deref().map(str::trim) {
            None | Some("") => {
                e.add("revisit_on", "is required: the date to look at the lead again");
                None
            }
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) if d > today && d <= today + chrono::Duration::days(3 * 366) => Some(d),
                Ok(_) => {
                    e.add("revisit_on", "must be after today and within three years");
                    None
                }
                Err(_) => {
                    e.add("revisit_on", "must be a date like 2027-01-15");
                    None
                }
            },
        };
        match (reason, revisit) {
            (Some(r), Some(d)) if e.is_empty() => Ok((r, d)),
            _ => Err(e),
        }
    }
}

/// The body of `POST …/disqualify` and `POST …/reverse-decision`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: Option<String>,
}

impl ReasonRequest {
    pub fn validate(&self) -> Result<String, FieldErrors> {
        let mut e = FieldErrors::default();
        let r = line(&mut e, "reason", self.reason.as_deref(), true, REASON_MAX);
        e.into_result(r.unwrap_or_default())
    }
}

/// One factor of the risk score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RiskFactor {
    pub factor: String,
    /// Points this factor adds when it applies; all weights add up to 100.
    pub weight: u8,
    pub applies: bool,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RiskScore {
    /// 0 (no known risk) to 100: the sum of the weights of the factors that apply.
    pub score: u8,
    pub factors: Vec<RiskFactor>,
}

/// Days without any change to the lead after which engagement counts as stale.
pub const STALE_AFTER_DAYS: i64 = 14;
/// A BANT item below this reads as "not established".
const WEAK_BANT: u8 = 10;

/// The deal risk of a lead, from its latest assessment and how recently anything happened.
/// Unassessed items count as risks: what nobody has established is not yet safe.
pub fn risk_score(lead: &Lead, latest: Option<&Assessment>, now: DateTime<Utc>) -> RiskScore {
    let bant = latest.and_then(|a| a.bant);
    let meddicc = latest.and_then(|a| a.meddicc.as_ref());
    let status = |name: &str| meddicc.and_then(|m| m.item(name)).map(|i| i.status).unwrap_or_default();
    let mut factors = Vec::new();
    let mut add = |factor: &str, weight: u8, applies: bool, why: String| {
        factors.push(RiskFactor { factor: factor.into(), weight, applies, why })
    };
    match bant {
        Some(b) => add(
            "no_budget",
            20,
            b.budget < WEAK_BANT,
            format!("budget scored {} of 25{}", b.budget, if b.budget < WEAK_BANT { " (below 10)" } else { "" }),
        ),
        None => add("no_budget", 20, true, "budget has not been assessed".into()),
    }
    let eb = status("economic_buyer");
    add("no_economic_buyer", 15, eb != MeddiccStatus::Confirmed, format!("economic buyer is {}", label(eb)));
    let champion = status("champion");
    add("no_champion", 15, champion != MeddiccStatus::Confirmed, format!("champion is {}", label(champion)));
    let competition = status("competition");
    add(
        "competitor_present",
        10,
        competition == MeddiccStatus::Confirmed,
        match competition {
            MeddiccStatus::Confirmed => "a competitor is confirmed in the deal".into(),
            other => format!("competition is {}", label(other)),
        },
    );
    let idle = (now - lead.updated_at).num_days();
    add(
        "stale_engagement",
        15,
        idle >= STALE_AFTER_DAYS,
        format!("last change {idle} day{} ago (stale after {STALE_AFTER_DAYS})", if idle == 1 { "" } else { "s" }),
    );
    match bant {
        Some(b) => add(
            "long_timeline",
            10,
            b.timeline < WEAK_BANT,
            format!("timeline scored {} of 25{}", b.timeline, if b.timeline < WEAK_BANT { " (below 10)" } else { "" }),
        ),
        None => add("long_timeline", 10, true, "timeline has not been assessed".into()),
    }
    match bant {
        Some(b) => add(
            "no_decision_maker",
            15,
            b.authority < WEAK_BANT,
            format!(
                "authority scored {} of 25{}",
                b.authority,
                if b.authority < WEAK_BANT { " (below 10)" } else { "" }
            ),
        ),
        None => add("no_decision_maker", 15, true, "authority has not been assessed".into()),
    }
    let score = factors.iter().filter(|f| f.applies).map(|f| u32::from(f.weight)).sum::<u32>().min(100) as u8;
    RiskScore { score, factors }
}

fn label(s: MeddiccStatus) -> &'static str {
    match s {
        MeddiccStatus::Unknown => "unknown",
        MeddiccStatus::Weak => "weak",
        MeddiccStatus::Confirmed => "confirmed",
    }
}

/// One entry of a lead's qualification history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum HistoryEntry {
    Assessment(Box<Assessment>),
    Decision(StatusDecision),
}

impl HistoryEntry {
    pub fn id(&self) -> String {
        match self {
            HistoryEntry::Assessment(a) => a.id.to_string(),
            HistoryEntry::Decision(d) => d.id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bant(b: i64, a: i64, n: i64, t: i64) -> QualifyRequest {
        QualifyRequest {
            bant: Some(BantInput { budget: Some(b), authority: Some(a), need: Some(n), timeline: Some(t) }),
            ..Default::default()
        }
    }

    fn assess(req: QualifyRequest, policy: &QualificationPolicy) -> Assessment {
        Assessment::new(req.validate().unwrap(), policy, "u", Ulid::nil(), Utc::now())
    }

    #[test]
    fn default_thresholds_are_seventy_and_no_zero() {
        let p = QualificationPolicy::default();
        assert_eq!(assess(bant(20, 20, 20, 10), &p).outcome, Outcome::Qualified);
        assert_eq!(assess(bant(20, 20, 20, 9), &p).outcome, Outcome::Nurturing);
        let zero = assess(bant(25, 25, 25, 0), &p);
        assert_eq!(zero.outcome, Outcome::Nurturing);
        assert_eq!(zero.conditions[1].why, "timeline scored 0");
    }

    #[test]
    fn out_of_range_items_are_named() {
        let e = bant(26, -1, 3, 3).validate().unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["bant.budget", "bant.authority"]);
    }

    #[test]
    fn meddicc_alone_never_meets_bant_thresholds_but_scores() {
        let mut m = Meddicc::default();
        m.champion.status = MeddiccStatus::Confirmed;
        m.metrics.status = MeddiccStatus::Weak;
        let a = assess(QualifyRequest { meddicc: Some(m), ..Default::default() }, &QualificationPolicy::default());
        assert_eq!((a.score, a.outcome), (21, Outcome::Nurturing));
    }

    #[test]
    fn risk_weights_add_up_and_unknowns_count() {
        let lead_at = Utc::now();
        let lead = crate::lead::tests_support::lead(lead_at);
        let none = risk_score(&lead, None, lead_at);
        assert_eq!(none.factors.iter().map(|f| u32::from(f.weight)).sum::<u32>(), 100);
        assert_eq!(none.score, 75, "everything but competition and staleness is unknown");
        let a = assess(bant(25, 25, 25, 25), &QualificationPolicy::default());
        let later = lead_at + chrono::Duration::days(20);
        let r = risk_score(&lead, Some(&a), later);
        assert_eq!(r.score, 45, "no economic buyer, no champion, stale");
    }
}
