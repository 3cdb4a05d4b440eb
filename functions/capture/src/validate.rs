//! `POST /api/companies/{company_id}/data/validate`: checks one lead or a batch of rows against the
//! lead rules — every field error of every row, rows that repeat an email or phone of an earlier
//! row, and rows whose email or phone a lead of the company holds already — and writes nothing.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use keel_core::{FieldError, NewLead};
use keel_http::{ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission};
use keel_store::{Db, StoreError, TenantKeys};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most rows one request checks.
pub const MAX_ROWS: usize = 1_000;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationRequest {
    /// One lead, as `POST /leads` takes it.
    #[schema(value_type = Option<Object>)]
    pub record: Option<serde_json::Value>,
    /// Or up to 1,000 rows, each an object of lead fields.
    #[schema(value_type = Option<Vec<Object>>)]
    pub rows: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Duplicate {
    /// `email` or `phone`.
    pub field: String,
    /// The lead of the company that holds it.
    pub lead_id: Option<String>,
    /// The earlier row of this batch that has it (1-based).
    pub row: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowResult {
    /// 1-based, in the order sent.
    pub row: usize,
    pub errors: Vec<FieldError>,
    pub duplicates: Vec<Duplicate>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidationReport {
    pub rows: usize,
    /// Rows that would be captured as new leads.
    pub valid: usize,
    pub invalid: usize,
    /// Rows that repeat a lead (of the company, or an earlier row).
    pub duplicates: usize,
    /// Only the rows with something to say, in order.
    pub results: Vec<RowResult>,
}

/// Check lead rows without writing anything (anyone who may capture leads).
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/data/validate",
    tag = "capture",
    params(("company_id" = Id, Path)),
    request_body = ValidationRequest,
    responses(
        (status = 200, description = "What each row would meet", body = ValidationReport),
        (status = 403, description = "Role may not capture leads"),
        (status = 422, description = "Neither a record nor 1-1,000 rows"),
    ),
    security(("bearer" = []))
)]
pub async fn validate_rows(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    body: ApiJson<ValidationRequest>,
) -> Result<Json<ValidationReport>, ApiError> {
    let keys = ctx.company(&company_id)?;
    ctx.require(Permission::EditOwnRecords)?;
    let rows = match (body.value.record, body.value.rows) {
        (Some(record), None) => vec![record],
        (None, Some(rows)) if (1..=MAX_ROWS).contains(&rows.len()) => rows,
        (None, Some(_)) => return Err(ApiError::rule("rows", "send 1 to 1,000 rows")),
        _ => return Err(ApiError::rule("rows", "send either a record or rows")),
    };
    Ok(Json(report(&app.db, keys, &rows).await?))
}

/// The report for `rows`: each checked on its own, then against the earlier rows and the
/// company's leads (one `BatchGetItem` per 100 markers).
pub async fn report(db: &Db, keys: &TenantKeys, rows: &[serde_json::Value]) -> Result<ValidationReport, StoreError> {
    report_rows(db, keys, rows.iter().enumerate().map(|(i, raw)| (i + 1, row_lead(raw))).collect()).await
}

/// The report for rows already read as leads, each with its number (a file's rows: the header is 1).
pub async fn report_rows(
    db: &Db,
    keys: &TenantKeys,
    rows: Vec<(usize, Result<NewLead, Vec<FieldError>>)>,
) -> Result<ValidationReport, StoreError> {
    let count = rows.len();
    let mut results: Vec<RowResult> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    // (index, field, marker key) of each valid row's email and phone, to look up.
    let mut lookups: Vec<(usize, &'static str, String)> = Vec::new();
    for (i, (row, lead)) in rows.into_iter().enumerate() {
        let mut result = RowResult { row, errors: Vec::new(), duplicates: Vec::new() };
        match lead {
            Err(errors) => result.errors = errors,
            Ok(lead) => match lead.validate() {
                Err(errors) => result.errors = errors.0,
                Ok(draft) => {
                    let email = draft.email.as_ref().map(|e| ("email", keys.lead_email_marker(e.as_str())));
                    let phone = draft.phone.as_ref().map(|p| ("phone", keys.lead_phone_marker(p.as_str())));
                    for (field, pk) in email.into_iter().chain(phone) {
                        match seen.get(&pk) {
                            Some(first) => result.duplicates.push(Duplicate {
                                field: field.into(),
                                lead_id: None,
                                row: Some(*first),
                            }),
                            None => {
                                seen.insert(pk.clone(), row);
                                lookups.push((i, field, pk));
                            }
                        }
                    }
                }
            },
        }
        results.push(result);
    }
    let holders = keel_store::lookup::holders(db, lookups.iter().map(|(_, _, pk)| pk.clone()).collect()).await?;
    for (i, field, pk) in &lookups {
        if let Some(lead_id) = holders.get(pk) {
            results[*i].duplicates.push(Duplicate {
                field: field.to_string(),
                lead_id: Some(lead_id.clone()),
                row: None,
            });
        }
    }
    let invalid = results.iter().filter(|r| !r.errors.is_empty()).count();
    let duplicates = results.iter().filter(|r| r.errors.is_empty() && !r.duplicates.is_empty()).count();
    Ok(ValidationReport {
        rows: count,
        valid: count - invalid - duplicates,
        invalid,
        duplicates,
        results: results.into_iter().filter(|r| !r.errors.is_empty() || !r.duplicates.is_empty()).collect(),
    })
}

/// A row as a lead: an object of the lead's fields (unknown names and wrong types are errors of
/// their own field). Numbers are read as text; a phone that is a number lost its `+` to a
/// spreadsheet, so its digits are read as the international number they were.
pub(crate) fn row_lead(raw: &serde_json::Value) -> Result<NewLead, Vec<FieldError>> {
    let Some(object) = raw.as_object() else {
        return Err(vec![FieldError { field: "row".into(), message: "must be an object of lead fields".into() }]);
    };
    let mut errors = Vec::new();
    let mut text = serde_json::Map::new();
    for (k, v) in object {
        match v {
            serde_json::Value::String(_) | serde_json::Value::Null => {
                text.insert(k.clone(), v.clone());
            }
            serde_json::Value::Number(n) if k == "phone" && n.is_u64() => {
                text.insert(k.clone(), serde_json::Value::String(format!("+{n}")));
            }
            serde_json::Value::Number(n) => {
                text.insert(k.clone(), serde_json::Value::String(n.to_string()));
            }
            _ => errors.push(FieldError { field: k.clone(), message: "must be a text".into() }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    serde_json::from_value::<NewLead>(serde_json::Value::Object(text)).map_err(|e| {
        let message = e.to_string();
        let field = message.split('`').nth(1).unwrap_or("row").to_string();
        vec![FieldError { field, message: "is not a lead field".into() }]
    })
}
