//! Bulk import of leads from a CSV or Excel file (`/api/companies/{company_id}/data/import`,
//! managers and administrators): the browser uploads the file straight to S3 through a presigned
//! address, the preview reads its header and first rows and suggests a mapping, a dry run checks
//! the first 1,000 rows as the import would, and starting it makes a job that `ImportFunction`
//! carries out in legs (see `worker`), with progress to watch and a report of every row it did
//! not import.

pub mod batch;
pub mod file;
pub mod record;
pub mod worker;

use std::collections::HashMap;

use axum::extract::{Extension, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use keel_core::field_error::line;
use keel_core::import::{check_mapping, report_cell, suggest, ImportAttribution, ImportFormat, LeadColumn};
use keel_core::FieldErrors;
use keel_events::{Actor, Envelope, ImportRequested};
use keel_http::path::record_id;
use keel_http::{ApiError, ApiJson, ApiPath, AppState, CompanyScope, Id, Permission, RequestMeta, TenantContext};
use keel_store::audit::{AuditRecord, FieldChange};
use keel_store::jobs::Job;
use keel_store::{Refusal, TenantKeys, UnitOfWork, WriteError};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::validate::{self, ValidationReport};
use file::{object_key, FileError, Files};
use record::{import_item, Import, ImportState, ReportLine};

/// Rows a dry run checks.
pub const DRY_RUN_ROWS: usize = 1_000;
/// Rows the preview shows.
const SAMPLE_ROWS: usize = 10;

impl From<FileError> for ApiError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::Missing => ApiError::rule("file", "has not been uploaded (or its upload address expired)"),
            FileError::Unreadable(why) => ApiError::rule("file", why),
            FileError::Unavailable(why) => ApiError::Unavailable(why),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewImport {
    /// The file's name: `.csv` (or `.txt`) for comma-, semicolon- or tab-separated text in
    /// UTF-8, `.xlsx` for an Excel workbook (its first sheet is read).
    pub file_name: Option<String>,
    /// The file's size in bytes (the upload must be exactly this size).
    pub size: Option<u64>,
}

/// Where and how to send the file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadTarget {
    /// `PUT` the file's bytes here, with these headers, before `expires_at`.
    pub url: String,
    pub method: String,
    pub headers: HashMap<String, String>,
    pub expires_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportUpload {
    pub import: Import,
    pub upload: UploadTarget,
}

/// An import and, once started, its job: state, progress counters (`read`, `created`,
/// `updated`, `skipped`, `failed`) and why it failed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportView {
    pub import: Import,
    pub job: Option<Job>,
    /// How much of the file the job has read, in bytes (a CSV's; a workbook shows its rows only),
    /// to show against `import.size`.
    pub bytes_read: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Imports {
    pub items: Vec<Import>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportPreview {
    pub import: Import,
    /// The first rows after the header, as text (a cell that cannot be a text shows empty).
    pub sample: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// The lead field each column fills, in the file's column order (`null`: not imported).
    pub mapping: Option<Vec<Option<LeadColumn>>>,
    /// Attribution of rows whose own columns have none.
    #[serde(default)]
    pub attribution: ImportAttribution,
    /// Who the new leads belong to (you, when left out).
    pub owner_id: Option<String>,
    /// The import's version you read (start only).
    pub version: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DryRun {
    /// Rows checked: the first 1,000 of the file at most.
    pub rows_checked: usize,
    /// Whether the file has rows after them.
    pub more: bool,
    /// Row numbers as a spreadsheet shows them (the header is row 1).
    pub report: ValidationReport,
}

fn require(ctx: &TenantContext, company_id: &Id) -> Result<TenantKeys, ApiError> {
    let keys = ctx.company(company_id)?.clone();
    ctx.require(Permission::EditAllRecords)?;
    Ok(keys)
}

async fn import_of(app: &AppState, keys: &TenantKeys, id: &str) -> Result<Import, ApiError> {
    record::get(&app.db, keys, id).await?.ok_or(ApiError::NotFound)
}

/// Start an import (managers): answers the address to upload the file to. Nothing is read until
/// the file is previewed.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/data/import",
    tag = "capture",
    params(("company_id" = Id, Path)),
    request_body = NewImport,
    responses(
        (status = 201, description = "Upload the file to `upload.url`", body = ImportUpload),
        (status = 403, description = "Not a manager"),
        (status = 422, description = "The file is too big for its format"),
    ),
    security(("bearer" = []))
)]
pub async fn create_import(
    State(app): State<AppState>,
    Extension(files): Extension<Files>,
    CompanyScope(ctx): CompanyScope,
    ApiPath(company_id): ApiPath<Id>,
    meta: RequestMeta,
    body: ApiJson<NewImport>,
) -> Result<Response, ApiError> {
    let keys = require(&ctx, &company_id)?;
    let mut e = FieldErrors::default();
    let name = line(&mut e, "file_name", body.value.file_name.as_deref(), true, 200);
    let format = name.as_deref().and_then(ImportFormat::of_name);
    if name.is_some() && format.is_none() {
        e.add("file_name", "must end in .csv (or .txt) or .xlsx");
    }
    match body.value.size {
        None => e.add("size", "is required"),
        Some(0) => e.add("size", "the file is empty"),
        Some(_) => {}
    }
    e.into_result(()).map_err(ApiError::Validation)?;
    let (name, format, size) = (name.unwrap_or_default(), format.expect("checked"), body.value.size.unwrap_or(0));
    if size > format.max_bytes() {
        return Err(ApiError::rule(
            "size",
            format!("a {} file may be {} at most", file_kind(format), format.max_label()),
        ));
    }
    let now = Utc::now();
    let import = Import {
        id: Ulid::new().to_string(),
        file_name: name,
        format,
        size,
        state: ImportState::AwaitingUpload,
        delimiter: ",".into(),
        headers: Vec::new(),
        suggested: Vec::new(),
        mapping: Vec::new(),
        attribution: ImportAttribution::default(),
        owner_id: ctx.user_id.clone(),
        created_by: ctx.user_id.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let content_type = match format {
        ImportFormat::Csv => "text/csv",
        ImportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    };
    let (url, headers) = files.upload_url(&object_key(&keys, &import.id), size, content_type).await?;
    let mut unit = UnitOfWork::new(&app.db);
    unit.create(import_item(&keys, &import)?);
    let changes = vec![
        FieldChange {
            field: "file_name".into(),
            before: serde_json::Value::Null,
            after: serde_json::json!(import.file_name),
        },
        FieldChange { field: "size".into(), before: serde_json::Value::Null, after: serde_json::json!(size) },
    ];
    unit.audit(&keys, &meta.audit(&ctx, "import.create", "import", &import.id, changes))?;
    unit.commit().await?;
    let upload = UploadTarget {
        url,
        method: "PUT".into(),
        headers: headers.into_iter().collect(),
        expires_at: now + chrono::Duration::minutes(file::UPLOAD_MINUTES as i64),
    };
    Ok((StatusCode::CREATED, Json(ImportUpload { import, upload })).into_response())
}

fn file_kind(format: ImportFormat) -> &'static str {
    match format {
        ImportFormat::Csv => "CSV",
        ImportFormat::Xlsx => "workbook",
    }
}

/// The company's imports, newest first (the latest 20).
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/data/import",
    tag = "capture",
    params(("company_id" = Id, Path)),
    responses((status = 200, description = "The imports", body = Imports), (status = 403, description = "Not a manager")),
    security(("bearer" = []))
)]
pub async fn list_imports(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath(company_id): ApiPath<Id>,
) -> Result<Json<Imports>, ApiError> {
    let keys = require(&ctx, &company_id)?;
    Ok(Json(Imports { items: record::list(&app.db, &keys, 20).await? }))
}

/// An import and its job's progress (2 GetItem): poll it while the job runs.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/data/import/{import_id}",
    tag = "capture",
    params(("company_id" = Id, Path), ("import_id" = Id, Path)),
    responses((status = 200, description = "The import", body = ImportView), (status = 403, description = "Not a manager")),
    security(("bearer" = []))
)]
pub async fn get_import(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, import_id)): ApiPath<(Id, Id)>,
) -> Result<Json<ImportView>, ApiError> {
    let keys = require(&ctx, &company_id)?;
    let id = record_id(&import_id)?.to_string();
    let (import, job) = tokio::try_join!(record::get(&app.db, &keys, &id), record::job(&app.db, &keys, &id))?;
    let import = import.ok_or(ApiError::NotFound)?;
    let bytes_read = match &job {
        Some((j, _)) if j.state == keel_store::jobs::JobState::Succeeded => import.size,
        Some((_, checkpoint)) => checkpoint.offset,
        None => 0,
    };
    Ok(Json(ImportView { import, job: job.map(|(j, _)| j), bytes_read }))
}

/// Read the uploaded file's header and first rows (managers): checks that the file is what its
/// name says and not over its size, and suggests which lead field each column fills.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/data/import/{import_id}/preview",
    tag = "capture",
    params(("company_id" = Id, Path), ("import_id" = Id, Path)),
    responses(
        (status = 200, description = "The header, the suggested mapping and the first rows", body = ImportPreview),
        (status = 403, description = "Not a manager"),
        (status = 409, description = "Previewed at the same time by someone else"),
        (status = 422, description = "Not uploaded, over the size limit, not what its name says, or no header"),
    ),
    security(("bearer" = []))
)]
pub async fn preview_import(
    State(app): State<AppState>,
    Extension(files): Extension<Files>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, import_id)): ApiPath<(Id, Id)>,
) -> Result<Json<ImportPreview>, ApiError> {
    let keys = require(&ctx, &company_id)?;
    let id = record_id(&import_id)?.to_string();
    let current = import_of(&app, &keys, &id).await?;
    if current.state == ImportState::Started {
        return Err(ApiError::rule("state", "the import has started; its file is being read"));
    }
    let key = object_key(&keys, &id);
    let size = files.size(&key).await?;
    if size > current.format.max_bytes() {
        // The signed upload takes only the announced size, which was checked: this is a second
        // guard. The file is left for the bucket's lifecycle to remove.
        return Err(ApiError::rule(
            "file",
            format!("is larger than {}, the most a {} may be", current.format.max_label(), file_kind(current.format)),
        ));
    }
    let head = files.head(&key, file::HEAD_BYTES).await?;
    current.format.check_content(&head).map_err(|why| ApiError::rule("file", why))?;
    let delimiter = keel_core::import::delimiter(&head);
    let rows = file::sample(&files, &key, current.format, delimiter, SAMPLE_ROWS).await?;
    let Some(header) = rows.first() else {
        return Err(ApiError::rule("file", "has no header row"));
    };
    let headers: Vec<String> = header.cells.iter().map(|c| c.clone().unwrap_or_default().trim().to_string()).collect();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(ApiError::rule("file", "has no header row"));
    }
    let sample = rows[1..].iter().map(|r| r.cells.iter().map(|c| c.clone().unwrap_or_default()).collect()).collect();
    let next = Import {
        size,
        state: ImportState::Uploaded,
        delimiter: (delimiter as char).to_string(),
        suggested: suggest(&headers),
        headers,
        version: current.version + 1,
        updated_at: Utc::now(),
        ..current.clone()
    };
    save(&app, &keys, &current, &next).await?;
    Ok(Json(ImportPreview { import: next, sample }))
}

async fn save(app: &AppState, keys: &TenantKeys, current: &Import, next: &Import) -> Result<(), ApiError> {
    let mut unit = UnitOfWork::new(&app.db);
    unit.replace(import_item(keys, next)?, current.version);
    match unit.commit().await {
        Ok(()) => Ok(()),
        Err(WriteError::Refused(Refusal::Stale)) => {
            Err(ApiError::Stale { current_version: Some(import_of(app, keys, &next.id).await?.version) })
        }
        Err(e) => Err(e.into()),
    }
}

/// The mapping and attribution checked against the file's header.
fn settings(import: &Import, body: &ImportSettings) -> Result<(Vec<Option<LeadColumn>>, ImportAttribution), ApiError> {
    if import.state == ImportState::AwaitingUpload {
        return Err(ApiError::rule("file", "preview the uploaded file first"));
    }
    let mapping = body.mapping.clone().unwrap_or_else(|| import.suggested.clone());
    if mapping.len() != import.headers.len() {
        return Err(ApiError::field("mapping", format!("must have one entry per column ({})", import.headers.len())));
    }
    check_mapping(&mapping, &body.attribution).map_err(ApiError::Validation)?;
    Ok((mapping, body.attribution.clone()))
}

/// Check the first 1,000 rows as the import would, writing nothing (managers): every field error
/// of every row, rows that repeat an earlier row, and rows whose email or phone a lead holds.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/data/import/{import_id}/dry-run",
    tag = "capture",
    params(("company_id" = Id, Path), ("import_id" = Id, Path)),
    request_body = ImportSettings,
    responses(
        (status = 200, description = "What the import would do with each row", body = DryRun),
        (status = 403, description = "Not a manager"),
        (status = 422, description = "Not previewed yet"),
    ),
    security(("bearer" = []))
)]
pub async fn dry_run(
    State(app): State<AppState>,
    Extension(files): Extension<Files>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, import_id)): ApiPath<(Id, Id)>,
    body: ApiJson<ImportSettings>,
) -> Result<Json<DryRun>, ApiError> {
    let keys = require(&ctx, &company_id)?;
    let id = record_id(&import_id)?.to_string();
    let current = import_of(&app, &keys, &id).await?;
    let (mapping, attribution) = settings(&current, &body.value)?;
    let key = object_key(&keys, &id);
    let mut rows = files.rows(&key, current.format, current.delimiter_byte(), 0, 0).await?;
    let mut checked = Vec::new();
    let mut more = false;
    while let Some(row) = rows.next().await? {
        if checked.len() == DRY_RUN_ROWS {
            more = true;
            break;
        }
        let (lead, _) = worker::mapped(&mapping, &attribution, &row);
        checked.push((row.number as usize, lead));
    }
    let rows_checked = checked.len();
    let report = validate::report_rows(&app.db, &keys, checked).await?;
    Ok(Json(DryRun { rows_checked, more, report }))
}

/// Start the import (managers; send the version you read): a job reads the whole file, and the
/// import's progress shows how far it is. Answered at once.
#[utoipa::path(
    post,
    path = "/api/companies/{company_id}/data/import/{import_id}/start",
    tag = "capture",
    params(("company_id" = Id, Path), ("import_id" = Id, Path)),
    request_body = ImportSettings,
    responses(
        (status = 202, description = "Started: follow its job", body = ImportView),
        (status = 403, description = "Not a manager"),
        (status = 409, description = "Changed since the version sent, or started already"),
        (status = 422, description = "Not previewed yet, or an owner who cannot own leads"),
    ),
    security(("bearer" = []))
)]
pub async fn start_import(
    State(app): State<AppState>,
    CompanyScope(ctx): CompanyScope,
    ApiPath((company_id, import_id)): ApiPath<(Id, Id)>,
    meta: RequestMeta,
    body: ApiJson<ImportSettings>,
) -> Result<Response, ApiError> {
    let keys = require(&ctx, &company_id)?;
    let id = record_id(&import_id)?.to_string();
    let current = import_of(&app, &keys, &id).await?;
    let Some(version) = body.value.version else {
        return Err(ApiError::field("version", "is required: send the version you read"));
    };
    if version != current.version || current.state == ImportState::Started {
        return Err(ApiError::Stale { current_version: Some(current.version) });
    }
    let (mapping, attribution) = settings(&current, &body.value)?;
    let owner_id = body.value.owner_id.clone().unwrap_or_else(|| ctx.user_id.clone());
    if !keel_core::field_error::is_record_id(&owner_id) {
        return Err(ApiError::field("owner_id", "must be a user id"));
    }
    keel_http::owners::require_lead_owner(&app.db, &keys, &owner_id, "owner_id").await?;
    let now = Utc::now();
    let next = Import {
        state: ImportState::Started,
        mapping,
        attribution,
        owner_id,
        version: current.version + 1,
        updated_at: now,
        ..current.clone()
    };
    let mut unit = UnitOfWork::new(&app.db);
    unit.replace(import_item(&keys, &next)?, current.version);
    unit.create(record::new_job(&keys, &next, now)?);
    let actor = Actor { user_id: ctx.user_id.clone(), role: ctx.role.as_str().to_string() };
    unit.event(&Envelope::new(keys.tenant_id(), actor, now, &ImportRequested { import_id: id.clone(), leg: 0 }))?;
    let changes = AuditRecord::diff(
        Some(&serde_json::json!({"state": current.state})),
        &serde_json::json!({"state": next.state, "mapping": next.mapping, "attribution": next.attribution, "owner_id": next.owner_id}),
        &["state", "mapping", "attribution", "owner_id"],
    );
    unit.audit(&keys, &meta.audit(&ctx, "import.start", "import", &id, changes))?;
    match unit.commit().await {
        Ok(()) => {}
        Err(WriteError::Refused(Refusal::Stale)) => {
            return Err(ApiError::Stale { current_version: Some(import_of(&app, &keys, &id).await?.version) })
        }
        Err(e) => return Err(e.into()),
    }
    let job = record::job(&app.db, &keys, &id).await?.map(|(j, _)| j);
    Ok((StatusCode::ACCEPTED, Json(ImportView { import: next, job, bytes_read: 0 })).into_response())
}

/// Report lines one answer carries: well under a function's 6 MB answer, however long the report.
pub const REPORT_PAGE_LINES: usize = 20_000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The row the previous page ended at (its `Keel-Report-After` header); none for the first.
    pub after: Option<u64>,
}

/// The rows the import did not create, as CSV (`row,outcome,field,reason,value`; one line per
/// field at fault), 20,000 lines an answer: while the answer has a `Keel-Report-After` header,
/// ask again with `after` set to it (the first page alone starts with the header line). Cells a
/// spreadsheet would run as a formula are quoted with a leading `'`.
#[utoipa::path(
    get,
    path = "/api/companies/{company_id}/data/import/{import_id}/report",
    tag = "capture",
    params(("company_id" = Id, Path), ("import_id" = Id, Path), ReportQuery),
    responses(
        (status = 200, description = "A page of the report", body = String, content_type = "text/csv",
            headers(("Keel-Report-After" = u64, description = "Present when more lines follow: the next page's `after`"))),
        (status = 403, description = "Not a manager"),
    ),
    security(("bearer" = []))
)]
pub async fn import_report(
    State(app): State<AppState>,
    ctx: TenantContext,
    ApiPath((company_id, import_id)): ApiPath<(Id, Id)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let keys = require(&ctx, &company_id)?;
    let id = record_id(&import_id)?.to_string();
    let query: ReportQuery = keel_http::parse_query(raw.as_deref())?;
    import_of(&app, &keys, &id).await?;
    let mut out = String::new();
    if query.after.is_none() {
        out.push_str("row,outcome,field,reason,value\r\n");
    }
    // Whole rows a page: a row's lines never straddle two answers.
    let (mut lines, mut after, mut more) = (0usize, query.after, true);
    while more && lines < REPORT_PAGE_LINES {
        let (page, next) = record::report_page(&app.db, &keys, &id, after).await?;
        for l in &page {
            out.push_str(&csv_line(l));
        }
        lines += page.len();
        after = page.last().map(|l| l.row).or(after);
        more = next.is_some();
    }
    let mut response = out.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"import-{import_id}-report.csv\""))
            .unwrap_or(HeaderValue::from_static("attachment")),
    );
    if let (true, Some(row)) = (more, after) {
        headers.insert("keel-report-after", HeaderValue::from(row));
    }
    Ok(response)
}

fn csv_line(line: &ReportLine) -> String {
    let quote = |v: &str| {
        let v = report_cell(v);
        // Quoted wherever a spreadsheet could split it: comma, and the semicolon and tab many
        // locales separate lists with (an unquoted `a;=1+1` would open as a cell `=1+1`).
        if v.contains([',', ';', '\t', '"', '\n', '\r']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v
        }
    };
    format!("{},{},{},{},{}\r\n", line.row, line.outcome, quote(&line.field), quote(&line.reason), quote(&line.value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_line_never_comes_back_as_a_formula() {
        let line = ReportLine {
            row: 7,
            outcome: "failed".into(),
            field: "email".into(),
            reason: "must be an email address".into(),
            value: "=HYPERLINK(\"http://evil.example\",\"click\")".into(),
        };
        assert_eq!(
            csv_line(&line),
            "7,failed,email,must be an email address,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\"\r\n"
        );
        for (value, shown) in [
            ("a;=1+1", "\"a;=1+1\""),
            ("a\t=1+1", "\"a\t=1+1\""),
            (" =1+1", "' =1+1"),
            ("\u{feff}=1", "'\u{feff}=1"),
            ("＝1", "'＝1"),
        ] {
            let l = ReportLine { value: value.into(), ..line.clone() };
            assert!(csv_line(&l).ends_with(&format!(",{shown}\r\n")), "{value:?}: {}", csv_line(&l));
        }
    }
}
