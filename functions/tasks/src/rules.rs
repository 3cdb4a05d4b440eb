//! `/api/companies/{company_id}/tasks/automation-rules`: the company's task automation rules
//! (managers keep them), and `POST /tasks/auto-create-for-leads`, which runs the lead rules over
//! the latest leads now.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use futures::StreamExt;
use keel_core::automation::{AutomationRule, NewRule, RulePatch, RuleTrigger, MAX_RULES};
use keel_core::lead::Lead;
use keel_core::task::Task;
use keel_http::path::record_id;
use keel_http::version::{expected, versioned};
use keel_http::{ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission, RequestMeta, TenantContext};
use keel_store::audit::AuditRecord;
use keel_store::db::{from_item, s};
use keel_store::{Refusal, StoreError, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::automation::{self, IdleDecision, Subject};
use crate::repo::{self, StatsBatch};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AutomationRules {
    pub items: Vec<AutomationRule>,
}

/// The company's automation rules, oldest first.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/tasks/automation-rules",
    tag = "tasks",
    params(("company_id" = Id, Path)),
    responses((status = 200, description = "The rules", body = AutomationRules)),
    security(("bearer" = []))
)]
pub async fn list_rules(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
) -> Result<Json<AutomationRules>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::ReadRecords)?;
    Ok(Json(AutomationRules { items: automation::rules(&app.db, keys).await? }))
}

/// Add a rule (managers). A company keeps at most 50.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/tasks/automation-rules",
    tag = "tasks",
    params(("company_id" = Id, Path)),
    request_body = NewRule,
    responses(
        (status = 201, description = "Rule added", body = AutomationRule, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Not a manager"),
        (status = 422, description = "The company has 50 rules already"),
    ),
    security(("bearer" = []))
)]
pub async fn create_rule(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    body: ApiJson<NewRule>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditAllRecords)?;
    let rule = body.value.validate(Ulid::new(), Utc::now()).map_err(ApiError::Validation)?;
    if automation::rules(&app.db, keys).await?.len() >= MAX_RULES {
        return Err(ApiError::rule("rules", "a company keeps at most 50 automation rules"));
    }
    let id = rule.id.to_string();
    let mut unit = UnitOfWork::new(&app.db);
    unit.create(automation::rule_item(keys, &rule)?);
    let changes = AuditRecord::diff(None, &rule.as_json(), &AutomationRule::RECORDED_FIELDS);
    unit.audit(keys, &meta.audit(&ctx, "tasks.automation_rule.create", "automation_rule", &id, changes))?;
    unit.commit().await?;
    let location = format!("/api/companies/{company_id}/tasks/automation-rules/{id}");
    Ok(versioned(StatusCode::CREATED, rule.version, rule, Some(location)))
}

async fn rule(app: &AppState, keys: &keel_store::TenantKeys, id: &str) -> Result<AutomationRule, ApiError> {
    let item = app.db.get(&automation::rules_pk(keys), &automation::rule_sk(id)).await?.ok_or(ApiError::NotFound)?;
    Ok(from_item(item)?)
}

/// Change a rule (managers; send the version you read). Its trigger stays.
#[utoipa::path(
    patch,
    path = "/api/companies/{company_id}/tasks/automation-rules/{rule_id}",
    tag = "tasks",
    params(("company_id" = Id, Path), ("rule_id" = Id, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag you read")),
    request_body = RulePatch,
    responses(
        (status = 200, description = "The rule", body = AutomationRule, headers(("ETag" = String))),
        (status = 403, description = "Not a manager"),
    ),
    security(("bearer" = []))
)]
pub async fn update_rule(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: ApiJson<RulePatch>,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditAllRecords)?;
    let id = record_id(&raw)?;
    let version = expected(&headers, body.value.version)?;
    let current = rule(&app, keys, id).await?;
    let mut next = body.value.apply(&current, Utc::now()).map_err(ApiError::Validation)?;
    let changes = AuditRecord::diff(Some(&current.as_json()), &next.as_json(), &AutomationRule::RECORDED_FIELDS);
    if changes.is_empty() {
        return Ok(versioned(StatusCode::OK, current.version, current, None));
    }
    if version != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    next.version = current.version + 1;
    let mut unit = UnitOfWork::new(&app.db);
    unit.replace(automation::rule_item(keys, &next)?, current.version);
    unit.audit(keys, &meta.audit(&ctx, "tasks.automation_rule.update", "automation_rule", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(versioned(StatusCode::OK, next.version, next, None)),
        Err(WriteError::Refused(Refusal::Stale)) => {
            Err(ApiError::Stale { current_version: Some(rule(&app, keys, id).await?.version) })
        }
        Err(e) => Err(e.into()),
    }
}

/// Delete a rule (managers; send the version you read). Its open tasks stay; its pending checks
/// find it gone and stop.
#[utoipa::path(
    delete,
    path = "/api/companies/{company_id}/tasks/automation-rules/{rule_id}",
    tag = "tasks",
    params(("company_id" = Id, Path), ("rule_id" = Id, Path),
        ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "Not a manager")),
    security(("bearer" = []))
)]
pub async fn delete_rule(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, raw)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditAllRecords)?;
    let id = record_id(&raw)?;
    let current = match rule(&app, keys, id).await {
        Err(ApiError::NotFound) => return Ok(StatusCode::NO_CONTENT.into_response()),
        other => other?,
    };
    if expected(&headers, None)? != current.version {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let mut unit = UnitOfWork::new(&app.db);
    unit.delete(automation::rules_pk(keys), &automation::rule_sk(id), current.version);
    let changes = AuditRecord::diff(Some(&current.as_json()), &serde_json::json!({}), &AutomationRule::RECORDED_FIELDS);
    unit.audit(keys, &meta.audit(&ctx, "tasks.automation_rule.delete", "automation_rule", id, changes))?;
    match unit.commit().await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        // Changed or deleted meanwhile: gone answers as the first delete did, changed is a 409.
        Err(WriteError::Refused(Refusal::Stale)) => match rule(&app, keys, id).await {
            Err(ApiError::NotFound) => Ok(StatusCode::NO_CONTENT.into_response()),
            Ok(now) => Err(ApiError::Stale { current_version: Some(now.version) }),
            Err(e) => Err(e),
        },
        Err(e) => Err(e.into()),
    }
}

/// `POST …/tasks/auto-create-for-leads`.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoCreateRequest {
    /// How many of the latest leads to look at: 1-500, default 200.
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RuleRun {
    pub rule_id: String,
    pub name: String,
    pub created: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AutoCreateResult {
    /// Leads looked at.
    pub examined: usize,
    /// Tasks made.
    pub created: usize,
    /// Tasks not made because the rule's task is on the lead already (or another run made it first).
    pub already_open: usize,
    pub by_rule: Vec<RuleRun>,
}

const RUN_DEFAULT: u32 = 200;
const RUN_MAX: u32 = 500;
/// Leads looked at at once.
const RUN_CONCURRENCY: usize = 8;

/// Run the company's lead rules over its latest leads now (managers): `lead_created` rules make
/// their task for leads captured since the rule was added that lack it, idle rules for leads idle
/// long enough. Never two open tasks of a rule on a lead, however many runs at once.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/tasks/auto-create-for-leads",
    tag = "tasks",
    params(("company_id" = Id, Path)),
    request_body = AutoCreateRequest,
    responses(
        (status = 200, description = "What the run did", body = AutoCreateResult),
        (status = 403, description = "Not a manager"),
    ),
    security(("bearer" = []))
)]
pub async fn auto_create_for_leads(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    body: ApiJson<AutoCreateRequest>,
) -> Result<Json<AutoCreateResult>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditAllRecords)?;
    let limit = body.value.limit.unwrap_or(RUN_DEFAULT);
    if !(1..=RUN_MAX).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 500"));
    }
    let rules: Vec<AutomationRule> =
        automation::rules(&app.db, keys).await?.into_iter().filter(|r| r.active && r.trigger.is_lead()).collect();
    let mut result = AutoCreateResult {
        examined: 0,
        created: 0,
        already_open: 0,
        by_rule: rules
            .iter()
            .map(|r| RuleRun { rule_id: r.id.to_string(), name: r.name.clone(), created: 0 })
            .collect(),
    };
    if rules.is_empty() {
        return Ok(Json(result));
    }
    let out = app
        .db
        .client
        .query()
        .table_name(&app.db.table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :pk")
        .expression_attribute_values(":pk", s(keys.leads_index()))
        .scan_index_forward(false)
        .limit(limit as i32)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let leads = out.items.unwrap_or_default().into_iter().map(from_item::<Lead>).collect::<Result<Vec<_>, _>>()?;
    result.examined = leads.len();
    let policy = repo::policy(&app.db, keys).await?;
    let now = Utc::now();
    let (app_ref, rules_ref, policy_ref, ctx_ref, meta_ref) = (&app, &rules, &policy, &ctx, &meta);
    let outcomes: Vec<Result<Vec<(usize, bool)>, ApiError>> = futures::stream::iter(leads)
        .map(|lead| async move {
            let subject = Subject::of_lead(&lead);
            let mut outcomes = Vec::new();
            for (i, rule) in rules_ref.iter().enumerate() {
                let decision = match rule.trigger {
                    RuleTrigger::LeadCreated if subject.fits(rule) && lead.created_at >= rule.created_at => {
                        let id = rule.id.to_string();
                        if automation::has_open_task(&app_ref.db, keys, &id, &subject.related).await? {
                            IdleDecision::TaskOpen
                        } else {
                            IdleDecision::MakeTask
                        }
                    }
                    RuleTrigger::LeadCreated => IdleDecision::LetGo,
                    _ => automation::idle_decision(&app_ref.db, keys, rule, &subject, now).await?,
                };
                match decision {
                    IdleDecision::MakeTask => {}
                    IdleDecision::TaskOpen => {
                        outcomes.push((i, false));
                        continue;
                    }
                    IdleDecision::LookAgainAt(_) | IdleDecision::LetGo => continue,
                }
                let task = automation::rule_task(rule, &subject, now);
                let mut unit = UnitOfWork::new(&app_ref.db);
                let mut stats = StatsBatch::default();
                automation::add_rule_task(&mut unit, &mut stats, keys, &ctx_ref.tenant_id, &task, policy_ref)?;
                for update in stats.updates(&app_ref.db.table, keys) {
                    unit.include(update);
                }
                let changes = AuditRecord::diff(None, &task.as_json(), &Task::RECORDED_FIELDS);
                let id = task.id.to_string();
                unit.audit(keys, &meta_ref.audit(ctx_ref, "task.create", "task", &id, changes))?;
                match unit.commit().await {
                    Ok(()) => outcomes.push((i, true)),
                    // Another run made this rule's task on the lead first.
                    Err(WriteError::Refused(Refusal::Stale)) => outcomes.push((i, false)),
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(outcomes)
        })
        .buffer_unordered(RUN_CONCURRENCY)
        .collect()
        .await;
    for outcome in outcomes {
        for (i, made) in outcome? {
            if made {
                result.created += 1;
                result.by_rule[i].created += 1;
            } else {
                result.already_open += 1;
            }
        }
    }
    Ok(Json(result))
}
