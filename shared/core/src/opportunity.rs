//! Opportunities (the API's `deals`): what an account may buy. Conversion creates the first one;
//! the deals context owns them from there (stages, pipeline, forecast).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForecastCategory {
    Pipeline,
    BestCase,
    Commit,
    Closed,
    Omitted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpportunityType {
    NewBusiness,
    Upsell,
    Renewal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpportunityStatus {
    Open,
    Won,
    Lost,
}

/// A stage of the default pipeline: its default probability and forecast category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    pub key: &'static str,
    pub probability: u8,
    pub category: ForecastCategory,
    pub status: OpportunityStatus,
}

pub const DEFAULT_STAGES: [Stage; 7] = [
    Stage {
        key: "prospecting",
        probability: 10,
        category: ForecastCategory::Pipeline,
        status: OpportunityStatus::Open,
    },
    Stage {
        key: "qualification",
        probability: 20,
        category: ForecastCategory::Pipeline,
        status: OpportunityStatus::Open,
    },
    Stage {
        key: "needs_analysis",
        probability: 40,
        category: ForecastCategory::Pipeline,
        status: OpportunityStatus::Open,
    },
    Stage { key: "proposal", probability: 60, category: ForecastCategory::BestCase, status: OpportunityStatus::Open },
    Stage { key: "negotiation", probability: 80, category: ForecastCategory::Commit, status: OpportunityStatus::Open },
    Stage { key: "closed_won", probability: 100, category: ForecastCategory::Closed, status: OpportunityStatus::Won },
    Stage { key: "closed_lost", probability: 0, category: ForecastCategory::Omitted, status: OpportunityStatus::Lost },
];

/// Where a converted lead's opportunity starts unless told otherwise: it has just been qualified.
pub const CONVERSION_STAGE: &str = "qualification";

pub fn stage(key: &str) -> Option<Stage> {
    DEFAULT_STAGES.into_iter().find(|s| s.key == key)
}

/// A contact's part in an opportunity; exactly one is primary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpportunityContact {
    pub contact_id: String,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Opportunity {
    #[schema(value_type = String)]
    pub id: Ulid,
    pub name: String,
    pub account_id: String,
    pub contacts: Vec<OpportunityContact>,
    pub amount: Option<Money>,
    #[schema(value_type = String, example = "2027-03-31")]
    pub close_date: NaiveDate,
    pub stage: String,
    pub probability: u8,
    pub forecast_category: ForecastCategory,
    pub status: OpportunityStatus,
    #[serde(rename = "type")]
    pub opportunity_type: OpportunityType,
    pub owner_id: String,
    pub source_lead_id: Option<String>,
    pub next_step: Option<String>,
    pub lost_reason: Option<String>,
    /// The pipeline whose stages `stage` names.
    #[serde(default = "default_pipeline")]
    pub pipeline_id: String,
    /// When the deal entered its current stage (time in stage; the stage history's next entry).
    #[serde(default)]
    pub stage_entered_at: Option<DateTime<Utc>>,
    /// When it reached a closed stage (the month its revenue or loss counts in).
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    /// Archived deals leave lists, boards and forecasts and stay readable; they are never deleted.
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
    pub version: u64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn default_pipeline() -> String {
    crate::pipeline::DEFAULT_PIPELINE.to_string()
}

impl Opportunity {
    /// What people change, as recorded in the audit trail.
    pub const RECORDED_FIELDS: [&'static str; 15] = [
        "name",
        "account_id",
        "contacts",
        "amount",
        "close_date",
        "stage",
        "probability",
        "forecast_category",
        "status",
        "type",
        "owner_id",
        "next_step",
        "lost_reason",
        "pipeline_id",
        "archived_at",
    ];

    pub fn as_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub fn is_closed(&self) -> bool {
        self.status != OpportunityStatus::Open
    }

    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}
