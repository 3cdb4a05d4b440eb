//! `/deals/pipelines`: a company's pipelines and their stages. Everyone reads them; administrators
//! create and edit them, with versions. A stage that holds deals cannot be removed — refused from
//! its exact occupancy counter (`keel_store::revenue`), inside the same transaction, so a deal
//! entering it meanwhile makes one of the two fail.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use keel_core::pipeline::{Pipeline, PipelineInput, DEFAULT_PIPELINE};
use keel_http::version::etag;
use keel_http::{
    ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, IdempotentCreate, Permission, RequestMeta, TenantContext,
};
use keel_store::audit::AuditRecord;
use keel_store::db::{from_item, put_new, s, to_item};
use keel_store::revenue::{self, PIPELINE_SK};
use keel_store::{Item, Refusal, TenantKeys, UnitOfWork, WriteError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::repo;

/// A company's pipelines: at most this many besides the default one.
const MAX_PIPELINES: usize = 25;

fn item(keys: &TenantKeys, p: &Pipeline) -> Result<Item, ApiError> {
    let mut item = to_item(p)?;
    item.insert("pk".into(), s(revenue::pipeline_pk(keys, &p.id)));
    item.insert("sk".into(), s(PIPELINE_SK));
    item.insert("entity".into(), s("pipeline"));
    item.insert("gsi1pk".into(), s(revenue::pipelines_index(keys)));
    item.insert("gsi1sk".into(), s(&p.id));
    Ok(item)
}

fn answer(status: StatusCode, p: Pipeline) -> Response {
    (status, [etag(p.version)], Json(p)).into_response()
}

fn audit_changes(before: Option<&Pipeline>, after: &Pipeline) -> Vec<keel_store::audit::FieldChange> {
    let json = |p: &Pipeline| serde_json::json!({"name": p.name, "stages": p.stages});
    AuditRecord::diff(before.map(json).as_ref(), &json(after), &["name", "stages"])
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineList {
    pub items: Vec<Pipeline>,
}

/// The company's pipelines, the default one first.
async fn all(app: &AppState, keys: &TenantKeys) -> Result<Vec<Pipeline>, ApiError> {
    let items = repo::page(
        &app.db,
        repo::IndexPage::collection("gsi1", revenue::pipelines_index(keys), None, (MAX_PIPELINES + 2) as i32),
    )
    .await?
    .0;
    let mut out: Vec<Pipeline> = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
    if !out.iter().any(|p| p.id == DEFAULT_PIPELINE) {
        out.push(Pipeline::default_for_company());
    }
    out.sort_by_key(|p| (p.id != DEFAULT_PIPELINE, p.id.clone()));
    Ok(out)
}

/// The company's pipelines with their stages (the default one first).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/deals/pipelines",
    tag = "deals",
    params(("company_id" = Id, Path)),
    responses((status = 200, description = "The pipelines", body = PipelineList)),
    security(("bearer" = []))
)]
pub async fn list_pipelines(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
) -> Result<Json<PipelineList>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    Ok(Json(PipelineList { items: all(&app, keys).await? }))
}

/// One pipeline.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/deals/pipelines/{pipeline_id}",
    tag = "deals",
    params(("company_id" = Id, Path), ("pipeline_id" = Id, Path)),
    responses((status = 200, description = "The pipeline", body = Pipeline, headers(("ETag" = String)))),
    security(("bearer" = []))
)]
pub async fn get_pipeline(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    let p = repo::pipeline(&app.db, keys, raw.as_str()).await?.ok_or(ApiError::NotFound)?;
    Ok(answer(StatusCode::OK, p))
}

/// Add a pipeline (administrators). Send an `Idempotency-Key` to make retries safe.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/deals/pipelines",
    tag = "deals",
    params(("company_id" = Id, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = PipelineInput,
    responses(
        (status = 201, description = "Pipeline created", body = Pipeline, headers(("ETag" = String))),
        (status = 403, description = "Only administrators edit pipelines"),
        (status = 422, description = "The company has as many pipelines as it may"),
    ),
    security(("bearer" = []))
)]
pub async fn create_pipeline(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<PipelineInput>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ManageUsers)?;
    let idempotent = IdempotentCreate::from_headers(&headers, "pipelines.create", &ctx.user_id, &body.raw)?;
    let now = Utc::now();
    let id = ulid::Ulid::new().to_string();
    let p = body.value.validate(&id, &ctx.user_id, 1, now).map_err(ApiError::Validation)?;
    if all(&app, keys).await?.len() > MAX_PIPELINES {
        return Err(ApiError::rule(
            "name",
            format!("a company has at most {MAX_PIPELINES} pipelines besides the default"),
        ));
    }
    let response = serde_json::to_vec(&p).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut unit = UnitOfWork::new(&app.db);
    idempotent.record(&mut unit, keys, 201, &response, now);
    unit.create(item(keys, &p)?);
    unit.audit(keys, &meta.audit(&ctx, "pipeline.create", "pipeline", &id, audit_changes(None, &p)))?;
    match unit.commit().await {
        Ok(()) => Ok(answer(StatusCode::CREATED, p)),
        Err(WriteError::Refused(Refusal::KeyUsed)) => {
            let p: Pipeline = idempotent.replayed(&app.db, keys, now).await?;
            Ok(answer(StatusCode::CREATED, p))
        }
        Err(e) => Err(e.into()),
    }
}

/// Replace a pipeline's name and stages (administrators), with the version you read (0 for the
/// default pipeline not yet saved). Removing a stage that holds deals, or turning it between open,
/// won and lost, is refused (422, naming it); archive or move its deals first. Deals keep their probability and category until they move.
#[utoipa::path(
    put,
    path = "/api/companies/{company_id}/deals/pipelines/{pipeline_id}",
    tag = "deals",
    params(("company_id" = Id, Path), ("pipeline_id" = Id, Path)),
    request_body = PipelineInput,
    responses(
        (status = 200, description = "The pipeline as saved", body = Pipeline, headers(("ETag" = String))),
        (status = 403, description = "Only administrators edit pipelines"),
        (status = 409, description = "Stale version: the problem carries the current one"),
        (status = 422, description = "A removed stage, or one changing between open, won and lost, still holds deals"),
    ),
    security(("bearer" = []))
)]
pub async fn replace_pipeline(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    body: ApiJson<PipelineInput>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ManageUsers)?;
    let id = raw.as_str();
    let current = repo::pipeline(&app.db, keys, id).await?.ok_or(ApiError::NotFound)?;
    let input = body.value;
    let now = Utc::now();
    let next = input.validate(id, &ctx.user_id, current.version + 1, now).map_err(ApiError::Validation)?;
    if input.version != Some(current.version) {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let removed = current.removed_in(&next);
    let restated = current.restated_in(&next);
    // The occupancy of the stages going away or changing between open, won and lost, named in
    // the refusal (the transaction's conditions hold the line against a deal entering meanwhile).
    let slots = repo::collection(&app.db, revenue::pipeline_pk(keys, id), "SLOT#", None).await?;
    let held = |stages: &[String]| -> Vec<String> {
        stages
            .iter()
            .filter_map(|stage| {
                let sk = revenue::slot_sk(stage);
                let slot = slots.iter().find(|i| i.get("sk").and_then(|v| v.as_s().ok()) == Some(&sk))?;
                let deals: i64 = slot.get("deals")?.as_n().ok()?.parse().ok()?;
                (deals > 0).then(|| format!("{stage} ({deals})"))
            })
            .collect()
    };
    let (held_removed, held_restated) = (held(&removed), held(&restated));
    if !held_removed.is_empty() || !held_restated.is_empty() {
        let mut why = Vec::new();
        if !held_removed.is_empty() {
            why.push(format!("these stages hold deals and cannot be removed: {}", held_removed.join(", ")));
        }
        if !held_restated.is_empty() {
            why.push(format!(
                "these stages hold deals and cannot change between open, won and lost: {}",
                held_restated.join(", ")
            ));
        }
        return Err(ApiError::rule("stages", format!("{}. Move or archive the deals first.", why.join("; "))));
    }
    let table = app.db.table.clone();
    let mut unit = UnitOfWork::new(&app.db);
    if current.version == 0 {
        unit.include_entity(put_new(&table, item(keys, &next)?));
    } else {
        unit.replace(item(keys, &next)?, current.version);
    }
    for stage in &removed {
        unit.include_guarded(
            revenue::remove_slot(&table, keys, id, stage),
            "stages",
            "a removed stage received a deal meanwhile: read the pipeline again",
        );
    }
    for stage in &restated {
        unit.include_guarded(
            revenue::slot_empty(&table, keys, id, stage),
            "stages",
            "a stage changing between open, won and lost received a deal meanwhile: read the pipeline again",
        );
    }
    for stage in next.stages.iter().filter(|s| current.stage(&s.key).is_none()) {
        unit.include(revenue::open_slot(&table, keys, id, &stage.key));
    }
    let changes = audit_changes(Some(&current), &next);
    unit.audit(keys, &meta.audit(&ctx, "pipeline.update", "pipeline", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(answer(StatusCode::OK, next)),
        Err(WriteError::Refused(Refusal::Stale)) => {
            Err(ApiError::Stale { current_version: repo::pipeline(&app.db, keys, id).await?.map(|p| p.version) })
        }
        Err(e) => Err(e.into()),
    }
}
