//! Pipelines: a company's ordered stages, each with its default probability and forecast
//! category. Every company has the `default` pipeline (the product's stages until an administrator
//! edits it) and may add more. A stage is open, won or lost; won and lost are terminal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::field_error::{line, FieldErrors};
use crate::opportunity::{ForecastCategory, OpportunityStatus, DEFAULT_STAGES};

/// The pipeline every company has.
pub const DEFAULT_PIPELINE: &str = "default";
/// Bounds that keep a pipeline one small item and a board readable.
pub const MAX_STAGES: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PipelineStage {
    /// Stable key (`a-z`, `0-9`, `_`): deals name their stage by it.
    #[schema(example = "proposal")]
    pub key: String,
    #[schema(example = "Proposal")]
    pub label: String,
    /// The probability (0-100) a deal entering the stage gets.
    pub probability: u8,
    /// The forecast category a deal entering the stage gets.
    pub forecast_category: ForecastCategory,
    /// `open`, `won` (terminal, 100 %, closed) or `lost` (terminal, 0 %, omitted).
    pub status: OpportunityStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pipeline {
    #[schema(example = "default")]
    pub id: String,
    pub name: String,
    pub stages: Vec<PipelineStage>,
    /// 0 while the company uses the product's defaults (nothing saved yet).
    pub version: u64,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

/// A pipeline as an administrator sends it (create, or replace with the version read).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineInput {
    pub name: String,
    pub stages: Vec<PipelineStage>,
    /// The version you read (ignored on create; 0 for a default pipeline not yet saved).
    pub version: Option<u64>,
}

fn label(key: &str) -> String {
    let mut s = key.replace('_', " ");
    if let Some(first) = s.get(0..1) {
        let upper = first.to_uppercase();
        s.replace_range(0..1, &upper);
    }
    s
}

impl Pipeline {
    /// The product's stages, as a company has them until it saves its own.
    pub fn default_for_company() -> Pipeline {
        Pipeline {
            id: DEFAULT_PIPELINE.into(),
            name: "Sales pipeline".into(),
            stages: DEFAULT_STAGES
                .iter()
                .map(|s| PipelineStage {
                    key: s.key.into(),
                    label: label(s.key),
                    probability: s.probability,
                    forecast_category: s.category,
                    status: s.status,
                })
                .collect(),
            version: 0,
            updated_at: None,
            updated_by: None,
        }
    }

    pub fn stage(&self, key: &str) -> Option<&PipelineStage> {
        self.stages.iter().find(|s| s.key == key)
    }

    /// Where a new deal starts unless told: the first open stage.
    pub fn first_open(&self) -> &PipelineStage {
        self.stages.iter().find(|s| s.status == OpportunityStatus::Open).expect("a valid pipeline has an open stage")
    }

    /// Keys of `self`'s stages that `next` no longer has.
    pub fn removed_in(&self, next: &Pipeline) -> Vec<String> {
        self.stages.iter().filter(|s| next.stage(&s.key).is_none()).map(|s| s.key.clone()).collect()
    }

    /// Stages kept in `next` that change between open, won and lost: like a removal, only while
    /// they hold no deals (an open deal in a won stage would be neither open nor won).
    pub fn restated_in(&self, next: &Pipeline) -> Vec<String> {
        self.stages
            .iter()
            .filter(|s| next.stage(&s.key).is_some_and(|n| n.status != s.status))
            .map(|s| s.key.clone())
            .collect()
    }
}

fn valid_key(key: &str) -> bool {
    (1..=40).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl PipelineInput {
    /// The rules: 2-20 stages with unique keys; at least one open stage, exactly one won and one
    /// lost; open stages forecast as pipeline, best case or commit; won is 100 % closed, lost 0 %
    /// omitted (so a closed stage can never be forecast as anything else).
    pub fn validate(&self, id: &str, by: &str, version: u64, now: DateTime<Utc>) -> Result<Pipeline, FieldErrors> {
        let mut e = FieldErrors::default();
        let name = line(&mut e, "name", Some(&self.name), true, 100).unwrap_or_default();
        if !(3..=MAX_STAGES).contains(&self.stages.len()) {
            e.add("stages", format!("must hold 3 to {MAX_STAGES} stages"));
        }
        let mut stages = Vec::new();
        for (i, s) in self.stages.iter().enumerate() {
            let at = |f: &str| format!("stages[{i}].{f}");
            if !valid_key(&s.key) {
                e.add(&at("key"), "must be 1-40 of a-z, 0-9 and _");
            } else if self.stages[..i].iter().any(|o| o.key == s.key) {
                e.add(&at("key"), "is used by another stage");
            }
            let label = line(&mut e, &at("label"), Some(&s.label), true, 60).unwrap_or_default();
            if s.probability > 100 {
                e.add(&at("probability"), "must be 0-100");
            }
            match s.status {
                OpportunityStatus::Open => {
                    if !matches!(
                        s.forecast_category,
                        ForecastCategory::Pipeline | ForecastCategory::BestCase | ForecastCategory::Commit
                    ) {
                        e.add(&at("forecast_category"), "an open stage forecasts as pipeline, best_case or commit");
                    }
                }
                OpportunityStatus::Won => {
                    if s.probability != 100 || s.forecast_category != ForecastCategory::Closed {
                        e.add(&at("forecast_category"), "the won stage is 100 % and closed");
                    }
                }
                OpportunityStatus::Lost => {
                    if s.probability != 0 || s.forecast_category != ForecastCategory::Omitted {
                        e.add(&at("forecast_category"), "the lost stage is 0 % and omitted");
                    }
                }
            }
            stages.push(PipelineStage { label, ..s.clone() });
        }
        let count = |status| self.stages.iter().filter(|s| s.status == status).count();
        if count(OpportunityStatus::Open) == 0 {
            e.add("stages", "needs at least one open stage");
        }
        if count(OpportunityStatus::Won) != 1 || count(OpportunityStatus::Lost) != 1 {
            e.add("stages", "needs exactly one won and one lost stage");
        }
        e.into_result(Pipeline {
            id: id.into(),
            name,
            stages,
            version,
            updated_at: Some(now),
            updated_by: Some(by.into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(p: &Pipeline) -> PipelineInput {
        PipelineInput { name: p.name.clone(), stages: p.stages.clone(), version: Some(p.version) }
    }

    #[test]
    fn the_default_pipeline_is_valid_and_has_the_products_stages() {
        let p = Pipeline::default_for_company();
        assert_eq!(p.stages.len(), 7);
        assert_eq!(p.first_open().key, "prospecting");
        assert_eq!(
            p.stage("proposal").map(|s| (s.probability, s.forecast_category)),
            Some((60, ForecastCategory::BestCase))
        );
        assert!(input(&p).validate("default", "u", 1, Utc::now()).is_ok());
    }

    #[test]
    fn closed_stages_keep_their_meaning_and_keys_are_unique() {
        let mut p = Pipeline::default_for_company();
        p.stages[5].forecast_category = ForecastCategory::Commit; // closed_won
        p.stages[1].key = "prospecting".into();
        p.stages[0].forecast_category = ForecastCategory::Closed;
        let e = input(&p).validate("default", "u", 1, Utc::now()).unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["stages[0].forecast_category", "stages[1].key", "stages[5].forecast_category"]);
        let mut two_won = Pipeline::default_for_company();
        two_won.stages[4] = two_won.stages[5].clone();
        two_won.stages[4].key = "signed".into();
        assert!(input(&two_won).validate("default", "u", 1, Utc::now()).is_err());
    }

    #[test]
    fn removed_stages_are_named() {
        let before = Pipeline::default_for_company();
        let mut after = before.clone();
        after.stages.remove(2);
        assert_eq!(before.removed_in(&after), ["needs_analysis"]);
    }
}
