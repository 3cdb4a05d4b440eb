//! `GET /deals/pipeline-view`: the Kanban board. One column per stage with its first cards (by
//! close date, paged per column) and its totals from the rollup the `deal-rollups` consumer keeps:
//! 1 GetItem (the pipeline) + 1 Query (the totals) + 1 Query per column, however many deals.

use axum::extract::{RawQuery, State};
use axum::Json;
use keel_core::forecast::{Counters, StageTotals};
use keel_core::opportunity::Opportunity;
use keel_core::pipeline::{PipelineStage, DEFAULT_PIPELINE};
use keel_core::FieldErrors;
use keel_http::{query, ApiError, ApiPath, AppState, Id, Pager, Permission, TenantContext};
use keel_store::db::from_item;
use keel_store::{crm, revenue};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::repo::{self, IndexPage};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardParams {
    /// Default `default`
    #[param(max_length = 64)]
    pipeline_id: Option<String>,
    /// Only this column (to page it with `cursor`)
    #[param(max_length = 40)]
    stage: Option<String>,
    /// Cards per column: 1-100, default 20
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// A column's `next_cursor` (with `stage`)
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoardColumn {
    pub stage: PipelineStage,
    /// All the stage's deals, not only the cards shown.
    pub totals: StageTotals,
    pub cards: Vec<Opportunity>,
    /// More cards of this column: pass it with `stage`.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineBoard {
    pub pipeline_id: String,
    pub name: String,
    pub columns: Vec<BoardColumn>,
}

#[derive(Serialize)]
struct ColumnFilter<'a> {
    pipeline: &'a str,
    stage: &'a str,
}

/// The board of a pipeline: columns with cards and totals (count, amount and weighted amount per
/// currency).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/deals/pipeline-view",
    tag = "deals",
    params(("company_id" = Id, Path), BoardParams),
    responses((status = 200, description = "The board", body = PipelineBoard)),
    security(("bearer" = []))
)]
pub async fn pipeline_view(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
    RawQuery(raw): RawQuery,
) -> Result<Json<PipelineBoard>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let params: BoardParams = keel_http::parse_query(raw.as_deref())?;
    let mut errors = FieldErrors::default();
    let pipeline_id =
        query::id(&mut errors, "pipeline_id", &params.pipeline_id).unwrap_or_else(|| DEFAULT_PIPELINE.into());
    let only = query::text(&params.stage);
    let limit = query::limit(&mut errors, params.limit, 20, 100);
    if params.cursor.is_some() && only.is_none() {
        errors.add("cursor", "pages one column: send it with stage");
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (pipeline, totals) = tokio::try_join!(
        repo::pipeline(&app.db, keys, &pipeline_id),
        repo::collection(&app.db, revenue::pipeline_totals_pk(keys, &pipeline_id), "STAGE#", None),
    )?;
    let pipeline = pipeline.ok_or_else(|| ApiError::field("pipeline_id", "no pipeline of your company has this id"))?;
    if let Some(stage) = &only {
        if pipeline.stage(stage).is_none() {
            return Err(ApiError::field("stage", "is not a stage of the pipeline"));
        }
    }
    let signer = app.cursors.signer().await?;
    let stages: Vec<&PipelineStage> =
        pipeline.stages.iter().filter(|s| only.as_deref().is_none_or(|o| o == s.key)).collect();
    let columns = stages.iter().map(|stage| {
        let signer = &signer;
        let totals = &totals;
        let db = &app.db;
        let cursor = params.cursor.as_deref();
        let pipeline_id = &pipeline_id;
        async move {
            let filter = ColumnFilter { pipeline: pipeline_id, stage: &stage.key };
            let pager = Pager::new(signer, keys, "deals.board", &filter);
            let start = pager.start(cursor)?;
            let partition = crm::deals_by_stage_index(keys, pipeline_id, &stage.key);
            let q = IndexPage {
                start,
                // Open deals by the close they are heading for; closed ones most recent first.
                descending: stage.status != keel_core::opportunity::OpportunityStatus::Open,
                ..IndexPage::collection("gsi2", partition, None, limit as i32)
            };
            let (items, last) = repo::page(db, q).await?;
            let cards = items.into_iter().map(from_item::<Opportunity>).collect::<Result<Vec<_>, _>>()?;
            let page = pager.page(cards, last);
            let sk = format!("STAGE#{}", stage.key);
            let mut counters = Counters::default();
            if let Some(item) = totals.iter().find(|i| i.get("sk").and_then(|v| v.as_s().ok()) == Some(&sk)) {
                counters.add_all(revenue::counters(item));
            }
            Ok::<_, ApiError>(BoardColumn {
                stage: (*stage).clone(),
                totals: counters.stage(),
                cards: page.items,
                next_cursor: page.next_cursor,
            })
        }
    });
    let columns = futures::future::try_join_all(columns).await?;
    Ok(Json(PipelineBoard { pipeline_id, name: pipeline.name, columns }))
}
