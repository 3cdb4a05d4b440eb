//! Revenue rollups: what one deal contributes to its period's forecast, its stage's column on the
//! board and the monthly trends, as sums of counters. Every deal event carries the deal's facts
//! before and after the change, so the rollup consumer applies `after − before` with `ADD`s:
//! additions commute, so events applied in any order (once each) give the same totals, and the
//! totals always equal a direct computation from the deals.
//!
//! Amounts stay per currency; nothing is converted. Weighted amounts are kept as
//! `amount × probability` (minor units × percent) so sums are exact, and divided by 100 on read.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::Money;
use crate::opportunity::{ForecastCategory, Opportunity, OpportunityStatus};

/// What a deal event says of the deal, before or after it: all the rollups need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DealFacts {
    pub name: String,
    pub owner_id: String,
    pub pipeline_id: String,
    pub stage: String,
    pub status: OpportunityStatus,
    pub forecast_category: ForecastCategory,
    pub probability: u8,
    pub amount: Option<Money>,
    #[schema(value_type = String)]
    pub close_date: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub archived: bool,
}

impl From<&Opportunity> for DealFacts {
    fn from(o: &Opportunity) -> Self {
        DealFacts {
            name: o.name.clone(),
            owner_id: o.owner_id.clone(),
            pipeline_id: o.pipeline_id.clone(),
            stage: o.stage.clone(),
            status: o.status,
            forecast_category: o.forecast_category,
            probability: o.probability,
            amount: o.amount.clone(),
            close_date: o.close_date,
            created_at: o.created_at,
            closed_at: o.closed_at,
            archived: o.is_archived(),
        }
    }
}

/// The forecast's categories, in the order they are shown.
pub const CATEGORIES: [ForecastCategory; 5] = [
    ForecastCategory::Pipeline,
    ForecastCategory::BestCase,
    ForecastCategory::Commit,
    ForecastCategory::Closed,
    ForecastCategory::Omitted,
];

pub fn category_key(c: ForecastCategory) -> &'static str {
    match c {
        ForecastCategory::Pipeline => "pipeline",
        ForecastCategory::BestCase => "best_case",
        ForecastCategory::Commit => "commit",
        ForecastCategory::Closed => "closed",
        ForecastCategory::Omitted => "omitted",
    }
}

/// The quarter a date falls in: `2026-Q4`.
pub fn quarter(d: NaiveDate) -> String {
    format!("{}-Q{}", d.year(), d.month0() / 3 + 1)
}

/// `2026-Q4` → its first and last day.
pub fn parse_quarter(period: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (year, q) = period.split_once("-Q")?;
    let (year, q): (i32, u32) = (year.parse().ok()?, q.parse().ok()?);
    if !(2000..=2100).contains(&year) || !(1..=4).contains(&q) || period.len() != 7 {
        return None;
    }
    let start = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1)?;
    let next =
        if q == 4 { NaiveDate::from_ymd_opt(year + 1, 1, 1)? } else { NaiveDate::from_ymd_opt(year, q * 3 + 1, 1)? };
    Some((start, next.pred_opt()?))
}

/// The month a moment falls in: `2026-11`.
pub fn month(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// One rollup item a deal contributes to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cell {
    /// A period's forecast, per owner (the tenant's is the sum over owners).
    Forecast { period: String, owner: String },
    /// A stage's column on a pipeline's board.
    Stage { pipeline: String, stage: String },
    /// A calendar month of the trends.
    Month { month: String },
}

/// Counters per rollup item and attribute.
pub type Tally = BTreeMap<Cell, BTreeMap<String, i64>>;

fn add(t: &mut Tally, cell: &Cell, attr: String, v: i64) {
    *t.entry(cell.clone()).or_default().entry(attr).or_default() += v;
}

/// Everything one deal, as `f` says, adds to the rollups. Archived deals add nothing.
pub fn contribution(f: &DealFacts) -> Tally {
    let mut t = Tally::new();
    if f.archived {
        return t;
    }
    let cat = category_key(f.forecast_category);
    let forecast = Cell::Forecast { period: quarter(f.close_date), owner: f.owner_id.clone() };
    let stage = Cell::Stage { pipeline: f.pipeline_id.clone(), stage: f.stage.clone() };
    let created = Cell::Month { month: month(f.created_at) };
    add(&mut t, &forecast, format!("n.{cat}"), 1);
    add(&mut t, &stage, "n".into(), 1);
    add(&mut t, &created, "created_n".into(), 1);
    if let Some(a) = &f.amount {
        let weighted = a.value_minor * i64::from(f.probability);
        add(&mut t, &forecast, format!("a.{cat}.{}", a.currency), a.value_minor);
        add(&mut t, &forecast, format!("w.{cat}.{}", a.currency), weighted);
        add(&mut t, &stage, format!("a.{}", a.currency), a.value_minor);
        add(&mut t, &stage, format!("w.{}", a.currency), weighted);
        add(&mut t, &created, format!("created.{}", a.currency), a.value_minor);
    }
    if let Some(closed_at) = f.closed_at.filter(|_| f.status != OpportunityStatus::Open) {
        let closed = Cell::Month { month: month(closed_at) };
        if f.status == OpportunityStatus::Won {
            add(&mut t, &closed, "won_n".into(), 1);
            let days = (closed_at.date_naive() - f.created_at.date_naive()).num_days().max(0);
            add(&mut t, &closed, "cycle_days".into(), days);
            if let Some(a) = &f.amount {
                add(&mut t, &closed, format!("won.{}", a.currency), a.value_minor);
                add(&mut t, &closed, format!("wonc.{}", a.currency), 1);
            }
        } else {
            add(&mut t, &closed, "lost_n".into(), 1);
        }
    }
    t
}

/// What a change adds to the rollups: `after − before`, without the counters it leaves alone.
pub fn delta(before: Option<&DealFacts>, after: Option<&DealFacts>) -> Tally {
    let mut t = after.map(contribution).unwrap_or_default();
    for (cell, attrs) in before.map(contribution).unwrap_or_default() {
        for (attr, v) in attrs {
            add(&mut t, &cell, attr, -v);
        }
    }
    for attrs in t.values_mut() {
        attrs.retain(|_, v| *v != 0);
    }
    t.retain(|_, attrs| !attrs.is_empty());
    t
}

/// An amount in one currency, with its weighted part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CurrencyTotal {
    pub currency: String,
    pub amount_minor: i64,
    /// Σ amount × probability / 100, rounded once at the end.
    pub weighted_minor: i64,
}

/// A forecast category's count and amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryTotal {
    pub category: ForecastCategory,
    pub count: i64,
    pub amounts: Vec<CurrencyTotal>,
}

/// A board column's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StageTotals {
    pub count: i64,
    pub amounts: Vec<CurrencyTotal>,
}

/// `amount × percent` back to minor units, half away from zero.
pub fn unweight(w: i64) -> i64 {
    if w >= 0 {
        (w + 50) / 100
    } else {
        -((-w + 50) / 100)
    }
}

/// Counters summed from rollup items (attribute → value), in the forecast's shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(pub BTreeMap<String, i64>);

impl Counters {
    pub fn add_all<'a>(&mut self, attrs: impl IntoIterator<Item = (&'a str, i64)>) {
        for (k, v) in attrs {
            *self.0.entry(k.to_string()).or_default() += v;
        }
    }

    pub fn get(&self, k: &str) -> i64 {
        self.0.get(k).copied().unwrap_or(0)
    }

    fn currencies(&self, prefix: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .0
            .iter()
            .filter(|(_, v)| **v != 0)
            .filter_map(|(k, _)| k.strip_prefix(prefix).map(String::from))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn amounts(&self, amount: &str, weighted: &str) -> Vec<CurrencyTotal> {
        let mut currencies = self.currencies(amount);
        currencies.extend(self.currencies(weighted));
        currencies.sort();
        currencies.dedup();
        currencies
            .into_iter()
            .map(|c| CurrencyTotal {
                amount_minor: self.get(&format!("{amount}{c}")),
                weighted_minor: unweight(self.get(&format!("{weighted}{c}"))),
                currency: c,
            })
            .collect()
    }

    /// Every category, in order, with zeros where nothing is.
    pub fn categories(&self) -> Vec<CategoryTotal> {
        CATEGORIES
            .iter()
            .map(|c| {
                let k = category_key(*c);
                CategoryTotal {
                    category: *c,
                    count: self.get(&format!("n.{k}")),
                    amounts: self.amounts(&format!("a.{k}."), &format!("w.{k}.")),
                }
            })
            .collect()
    }

    pub fn stage(&self) -> StageTotals {
        StageTotals { count: self.get("n"), amounts: self.amounts("a.", "w.") }
    }

    /// Closed (won) amount in one currency.
    pub fn closed(&self, currency: &str) -> i64 {
        self.get(&format!("a.closed.{currency}"))
    }
}

/// A month of the trends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrendMonth {
    #[schema(example = "2026-11")]
    pub month: String,
    pub won_count: i64,
    pub lost_count: i64,
    /// Won / (won + lost) closed in the month, in percent; None when nothing closed.
    pub win_rate_percent: Option<f64>,
    /// Won revenue per currency, with the average won deal's size in it.
    pub won: Vec<WonRevenue>,
    /// Days from creation to close of the deals won in the month, on average.
    pub average_sales_cycle_days: Option<f64>,
    /// Deals created in the month, and their amounts per currency.
    pub created_count: i64,
    pub pipeline_created: Vec<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WonRevenue {
    pub currency: String,
    pub amount_minor: i64,
    pub deals: i64,
    pub average_minor: i64,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `a / b` rounded half away from zero (for averages of minor units).
pub fn div_round(a: i64, b: i64) -> i64 {
    if b == 0 {
        0
    } else {
        (2 * a + b.signum() * b) / (2 * b)
    }
}

impl Counters {
    pub fn trend(&self, month: &str) -> TrendMonth {
        let (won, lost) = (self.get("won_n"), self.get("lost_n"));
        TrendMonth {
            month: month.into(),
            won_count: won,
            lost_count: lost,
            win_rate_percent: (won + lost > 0).then(|| round1(won as f64 * 100.0 / (won + lost) as f64)),
            won: self
                .currencies("won.")
                .into_iter()
                .map(|c| {
                    let (amount, deals) = (self.get(&format!("won.{c}")), self.get(&format!("wonc.{c}")));
                    WonRevenue { average_minor: div_round(amount, deals), currency: c, amount_minor: amount, deals }
                })
                .collect(),
            average_sales_cycle_days: (won > 0).then(|| round1(self.get("cycle_days") as f64 / won as f64)),
            created_count: self.get("created_n"),
            pipeline_created: self
                .currencies("created.")
                .into_iter()
                .map(|c| Money { value_minor: self.get(&format!("created.{c}")), currency: c })
                .collect(),
        }
    }
}

/// What a change did to one period's forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A new deal closing in the period.
    Added,
    /// Archived: it left the forecast.
    Removed,
    Won,
    Lost,
    /// Its close date moved to a later period.
    SlippedOut,
    /// Its close date moved to an earlier period.
    PulledOut,
    /// Its close date moved into the period from a later one.
    PulledIn,
    /// Its close date moved into the period from an earlier one.
    SlippedIn,
    AmountChanged,
    CategoryChanged,
    /// A stage (and so probability) change within the open stages.
    StageChanged,
    ProbabilityChanged,
    /// Moved to another owner: the tenant's totals stay, the owners' move.
    OwnerChanged,
}

fn in_period<'a>(f: Option<&'a DealFacts>, period: &str) -> Option<&'a DealFacts> {
    f.filter(|f| !f.archived && quarter(f.close_date) == period)
}

/// What a change means for `period`, if it touched it.
pub fn change_kind(before: Option<&DealFacts>, after: Option<&DealFacts>, period: &str) -> Option<ChangeKind> {
    use ChangeKind::*;
    match (in_period(before, period), in_period(after, period)) {
        (None, None) => None,
        (None, Some(a)) => match before.filter(|b| !b.archived) {
            None => Some(Added),
            // Won or lost early (closing dates the deal to today): the close is the news.
            Some(b) if b.status == OpportunityStatus::Open && a.status == OpportunityStatus::Won => Some(Won),
            Some(b) if b.status == OpportunityStatus::Open && a.status == OpportunityStatus::Lost => Some(Lost),
            Some(b) if quarter(b.close_date).as_str() > period => Some(PulledIn),
            Some(_) => Some(SlippedIn),
        },
        (Some(_), None) => match after.filter(|a| !a.archived) {
            None => Some(Removed),
            Some(a) if quarter(a.close_date).as_str() > period => Some(SlippedOut),
            Some(_) => Some(PulledOut),
        },
        (Some(b), Some(a)) => {
            if b.status == OpportunityStatus::Open && a.status == OpportunityStatus::Won {
                Some(Won)
            } else if b.status == OpportunityStatus::Open && a.status == OpportunityStatus::Lost {
                Some(Lost)
            } else if b.amount != a.amount {
                Some(AmountChanged)
            } else if b.forecast_category != a.forecast_category {
                Some(CategoryChanged)
            } else if b.stage != a.stage {
                Some(StageChanged)
            } else if b.probability != a.probability {
                Some(ProbabilityChanged)
            } else if b.owner_id != a.owner_id {
                Some(OwnerChanged)
            } else {
                None
            }
        }
    }
}

/// The periods a change touches (one, or two when the close date crossed quarters).
pub fn periods(before: Option<&DealFacts>, after: Option<&DealFacts>) -> Vec<String> {
    let mut out: Vec<String> = [before, after].into_iter().flatten().map(|f| quarter(f.close_date)).collect();
    out.sort();
    out.dedup();
    out
}

/// The tenant's forecast totals a change moved in `period`: its delta summed over owners.
pub fn effect(delta: &Tally, period: &str) -> Vec<CategoryTotal> {
    let mut c = Counters::default();
    for (cell, attrs) in delta {
        if matches!(cell, Cell::Forecast { period: p, .. } if p == period) {
            c.add_all(attrs.iter().map(|(k, v)| (k.as_str(), *v)));
        }
    }
    c.categories().into_iter().filter(|t| t.count != 0 || !t.amounts.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(stage: &str, status: OpportunityStatus, cat: ForecastCategory, p: u8, close: &str) -> DealFacts {
        DealFacts {
            name: "d".into(),
            owner_id: "u1".into(),
            pipeline_id: "default".into(),
            stage: stage.into(),
            status,
            forecast_category: cat,
            probability: p,
            amount: Some(Money { value_minor: 100_001, currency: "EUR".into() }),
            close_date: NaiveDate::parse_from_str(close, "%Y-%m-%d").unwrap(),
            created_at: "2026-10-01T10:00:00Z".parse().unwrap(),
            closed_at: (status != OpportunityStatus::Open).then(|| "2026-11-11T10:00:00Z".parse().unwrap()),
            archived: false,
        }
    }

    #[test]
    fn quarters_parse_and_name_dates() {
        assert_eq!(quarter(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()), "2026-Q4");
        assert_eq!(quarter(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()), "2027-Q1");
        let (s, e) = parse_quarter("2026-Q4").unwrap();
        assert_eq!((s.to_string(), e.to_string()), ("2026-10-01".into(), "2026-12-31".into()));
        assert!(parse_quarter("2026-Q5").is_none() && parse_quarter("2026-Q04").is_none());
    }

    #[test]
    fn deltas_in_any_order_sum_to_the_last_state() {
        let a = facts("prospecting", OpportunityStatus::Open, ForecastCategory::Pipeline, 10, "2026-12-01");
        let b = facts("proposal", OpportunityStatus::Open, ForecastCategory::BestCase, 60, "2027-01-10");
        let c = facts("closed_won", OpportunityStatus::Won, ForecastCategory::Closed, 100, "2026-11-11");
        let steps = [delta(None, Some(&a)), delta(Some(&a), Some(&b)), delta(Some(&b), Some(&c))];
        let mut forward = Counters::default();
        let mut backward = Counters::default();
        for s in &steps {
            for attrs in s.values() {
                forward.add_all(attrs.iter().map(|(k, v)| (k.as_str(), *v)));
            }
        }
        for s in steps.iter().rev() {
            for attrs in s.values() {
                backward.add_all(attrs.iter().map(|(k, v)| (k.as_str(), *v)));
            }
        }
        assert_eq!(forward, backward);
        let direct = contribution(&c);
        let mut expect = Counters::default();
        for attrs in direct.values() {
            expect.add_all(attrs.iter().map(|(k, v)| (k.as_str(), *v)));
        }
        forward.0.retain(|_, v| *v != 0);
        assert_eq!(forward, expect);
    }

    #[test]
    fn changes_are_named_per_period() {
        let a = facts("prospecting", OpportunityStatus::Open, ForecastCategory::Pipeline, 10, "2026-12-01");
        let later = facts("prospecting", OpportunityStatus::Open, ForecastCategory::Pipeline, 10, "2027-01-10");
        assert_eq!(change_kind(None, Some(&a), "2026-Q4"), Some(ChangeKind::Added));
        assert_eq!(change_kind(Some(&a), Some(&later), "2026-Q4"), Some(ChangeKind::SlippedOut));
        assert_eq!(change_kind(Some(&a), Some(&later), "2027-Q1"), Some(ChangeKind::SlippedIn));
        assert_eq!(change_kind(Some(&later), Some(&a), "2026-Q4"), Some(ChangeKind::PulledIn));
        let won = facts("closed_won", OpportunityStatus::Won, ForecastCategory::Closed, 100, "2026-11-11");
        assert_eq!(change_kind(Some(&a), Some(&won), "2026-Q4"), Some(ChangeKind::Won));
        assert_eq!(change_kind(Some(&later), Some(&won), "2026-Q4"), Some(ChangeKind::Won), "won early");
        assert_eq!(change_kind(Some(&later), Some(&won), "2027-Q1"), Some(ChangeKind::PulledOut));
        let d = delta(Some(&a), Some(&won));
        let e = effect(&d, "2026-Q4");
        assert_eq!(
            e.iter().map(|t| (t.category, t.count)).collect::<Vec<_>>(),
            [(ForecastCategory::Pipeline, -1), (ForecastCategory::Closed, 1)]
        );
        assert_eq!(e[1].amounts[0].weighted_minor, 100_001);
        assert_eq!(unweight(100_001 * 10), 10_000);
    }
}
