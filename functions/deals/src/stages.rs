//! Moving a deal through its pipeline (`PUT …/deals/{id}/move-stage`) and the stages it visited.
//! Won and lost are final; a won deal emits `DealWon` (its account becomes a customer, post-sales
//! starts there); a lost one needs its reason and leaves its account's open opportunities.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::Utc;
use keel_core::deal::{move_stage as moved, visit_left, StageMove, StageVisit};
use keel_core::opportunity::{Opportunity, OpportunityStatus};
use keel_events::{DealChanged, DealWon, Envelope};
use keel_http::path::record_id;
use keel_http::{ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission, RequestMeta, TenantContext};
use keel_store::audit::AuditRecord;
use keel_store::db::{put, s, to_item};
use keel_store::{crm, revenue, Refusal, UnitOfWork, WriteError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::deals::{actor, answer, stale};
use crate::repo;

/// Move a deal to another stage of its pipeline, with the version you read. The deal takes the
/// stage's probability and forecast category; a closed stage dates the deal's close to today.
/// A retry of a move that already holds answers the deal as it is.
#[utoipa::path(
    put,
    path = "/api/companies/{company_id}/deals/{deal_id}/move-stage",
    tag = "deals",
    params(("company_id" = Id, Path), ("deal_id" = Id, Path)),
    request_body = StageMove,
    responses(
        (status = 200, description = "The moved deal", body = Opportunity, headers(("ETag" = String))),
        (status = 403, description = "Role may not move this deal"),
        (status = 409, description = "Stale version: the problem carries the current one"),
        (status = 422, description = "Not a stage of the pipeline, the deal is closed or archived, or the lost stage without lost_reason"),
    ),
    security(("bearer" = []))
)]
pub async fn move_stage(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    body: ApiJson<StageMove>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let id = record_id(&raw)?;
    let request = body.value;
    let current = repo::deal(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    ctx.require_edit(&current.owner_id, &current.owner_id)?;
    if current.stage == request.stage.trim() && !current.is_archived() {
        // Already there: the retry of a move that committed, or a drop on the same column.
        return Ok(answer(StatusCode::OK, current, None));
    }
    if request.version != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let pipeline = repo::pipeline(&app.db, keys, &current.pipeline_id)
        .await?
        .ok_or_else(|| ApiError::rule("stage", "the deal's pipeline no longer exists"))?;
    let now = Utc::now();
    let mut next =
        moved(&current, &pipeline, &request.stage, request.lost_reason.as_deref(), now).map_err(ApiError::Rule)?;
    next.version = current.version + 1;
    let table = app.db.table.clone();
    let mut unit = UnitOfWork::new(&app.db);
    unit.replace(crm::opportunity_item(keys, &next)?, current.version);
    unit.include(put(&table, crm::opportunity_summary_item(keys, &next)?));
    unit.include(revenue::leave_slot(&table, keys, &current.pipeline_id, &current.stage));
    unit.include_guarded(
        revenue::enter_slot(&table, keys, &next.pipeline_id, &next.stage),
        "stage",
        "the stage was just removed from the pipeline",
    );
    let mut visit = to_item(&visit_left(&current, now, &ctx.user_id))?;
    visit.insert("pk".into(), s(crm::deal_pk(keys, id)));
    visit.insert("sk".into(), s(format!("STAGE#{}", ulid::Ulid::new())));
    visit.insert("entity".into(), s("stage_visit"));
    unit.include(put(&table, visit));
    let change = match next.status {
        OpportunityStatus::Won => "won",
        OpportunityStatus::Lost => "lost",
        OpportunityStatus::Open => "stage_moved",
    };
    let mut changed = vec!["stage".to_string(), "probability".into(), "forecast_category".into()];
    if next.status != OpportunityStatus::Open {
        changed.extend(["status".into(), "close_date".into()]);
    }
    let event = DealChanged::of(change, Some(&current), &next, changed);
    unit.event(&Envelope::new(&ctx.tenant_id, actor(&ctx), now, &event))?;
    match next.status {
        OpportunityStatus::Won => {
            let won = DealWon {
                opportunity_id: id.into(),
                account_id: next.account_id.clone(),
                version: next.version,
                amount: next.amount.clone(),
                owner_id: next.owner_id.clone(),
            };
            unit.event(&Envelope::new(&ctx.tenant_id, actor(&ctx), now, &won))?;
        }
        OpportunityStatus::Lost => {
            unit.include_guarded(
                revenue::account_open_deals(&table, keys, &next.account_id, -1),
                "account_id",
                "the deal's account no longer exists",
            );
        }
        OpportunityStatus::Open => {}
    }
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &Opportunity::RECORDED_FIELDS);
    unit.audit(keys, &meta.audit(&ctx, "deal.move_stage", "deal", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(answer(StatusCode::OK, next, None)),
        Err(WriteError::Refused(Refusal::Stale)) => {
            // Lost a race: if the winner moved it where this request wanted, that is an answer.
            match repo::deal(&app.db, keys, id).await? {
                Some(d) if d.stage == next.stage => Ok(answer(StatusCode::OK, d, None)),
                _ => Err(stale(&app.db, keys, id).await),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// A deal's stages, oldest first: each with when it entered and left and the time it spent.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageHistory {
    pub deal_id: String,
    pub stages: Vec<StageVisit>,
}

/// The stages a deal has been in, the current one last. One Query.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/deals/{deal_id}/stage-history",
    tag = "deals",
    params(("company_id" = Id, Path), ("deal_id" = Id, Path)),
    responses((status = 200, description = "The deal's stage history", body = StageHistory)),
    security(("bearer" = []))
)]
pub async fn stage_history(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Json<StageHistory>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let id = record_id(&raw)?;
    let (deal, mut stages) = repo::deal_with_visits(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    let now = Utc::now();
    let entered_at = deal.stage_entered_at.unwrap_or(deal.created_at);
    // A closed deal's stay in its closed stage ends when it closed.
    let until = deal.closed_at.unwrap_or(now);
    stages.push(StageVisit {
        stage: deal.stage.clone(),
        entered_at,
        left_at: None,
        seconds_in_stage: (until - entered_at).num_seconds().max(0),
        moved_by: None,
    });
    Ok(Json(StageHistory { deal_id: id.into(), stages }))
}
