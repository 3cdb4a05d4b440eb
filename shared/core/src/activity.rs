//! Activities: what happened with a lead, account, contact or deal. An activity relates to one or
//! more records and shows on each one's timeline; system activities (conversion, stage changes)
//! are written by the product and never edited.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityType {
    Call,
    Email,
    Meeting,
    Note,
    Task,
    Whatsapp,
    StageChange,
    System,
}

/// The kinds of record an activity relates to (the timelines that show it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Lead,
    Account,
    Contact,
    Deal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Related {
    pub kind: RecordKind,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    #[schema(value_type = String)]
    pub id: Ulid,
    #[serde(rename = "type")]
    pub activity_type: ActivityType,
    pub subject: String,
    pub body: Option<String>,
    pub related: Vec<Related>,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: Option<u32>,
    pub outcome: Option<String>,
    pub owner_id: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub version: u64,
}
