//! Bulk import: a file uploaded through its presigned address to the local S3, previewed, tried
//! in a dry run and imported by ImportFunction (the plumbing delivers its legs) — each row once,
//! however legs are retried, killed or raced, and however imports of the same people overlap.

use std::io::Write;
use std::time::Duration;

use keel_capture::import::worker::ImportWork;
use keel_events::{Actor, Envelope, ImportRequested};
use keel_http::Role;
use keel_testkit::{Tenant, TestApp};
use keel_tests::{all_leads, capture, lead_body, put_presigned};
use keel_worker::Consumer;
use serde_json::{json, Value};

const HEADER: &str = "First Name,Last Name,E-mail,Phone,Company\n";

fn person(n: u32) -> String {
    format!("Ana,Silva {n},ana.{n}@acme.example,+1415555{n:04},Acme Ltd\n")
}

fn people(range: std::ops::RangeInclusive<u32>) -> String {
    let mut csv = HEADER.to_string();
    for n in range {
        csv.push_str(&person(n));
    }
    csv
}

/// Announces, uploads and previews a file; answers the preview.
async fn uploaded(app: &TestApp, t: &Tenant, name: &str, bytes: &[u8]) -> Value {
    let r = app.post(&t.path("/data/import"), &t.admin(), json!({"file_name": name, "size": bytes.len()})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let status = put_presigned(r.body["upload"]["url"].as_str().unwrap(), &r.body["upload"]["headers"], bytes).await;
    assert_eq!(status, 200, "the upload was taken");
    let id = r.body["import"]["id"].as_str().unwrap();
    app.post(&t.path(&format!("/data/import/{id}/preview")), &t.admin(), json!({})).await.body
}

async fn start(app: &TestApp, t: &Tenant, preview: &Value, attribution: Value) -> String {
    let id = preview["import"]["id"].as_str().unwrap();
    let body = json!({"version": preview["import"]["version"], "attribution": attribution});
    let r = app.post(&t.path(&format!("/data/import/{id}/start")), &t.admin(), body).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    id.to_string()
}

fn fair() -> Value {
    json!({"source": "Trade fair", "campaign": "Fair 2026", "medium": "list"})
}

/// The import's job once it has finished (the plumbing runs its legs).
async fn finished(app: &TestApp, t: &Tenant, id: &str) -> Value {
    for _ in 0..600 {
        let r = app.get(&t.path(&format!("/data/import/{id}")), &t.admin()).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let state = r.body["job"]["state"].as_str().unwrap_or_default().to_string();
        if state == "succeeded" || state == "failed" {
            return r.body["job"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("import {id} did not finish in a minute");
}

fn progress(job: &Value) -> [u64; 5] {
    ["read", "created", "updated", "skipped", "failed"].map(|k| job["progress"][k].as_u64().unwrap_or(0))
}

async fn report(app: &TestApp, t: &Tenant, id: &str) -> String {
    let r = app.get(&t.path(&format!("/data/import/{id}/report")), &t.admin()).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("text/csv")));
    match r.body {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

#[tokio::test]
async fn a_csv_is_imported_once_with_its_bad_rows_reported() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    // A person the company has, without a job title: the import fills it, and overwrites nothing.
    let mut known = lead_body(3);
    known["email"] = json!("ana.3@acme.example");
    known["company_name"] = Value::Null;
    capture(&app, &t, known).await;
    let mut csv = String::from("First Name,Last Name,E-mail,Phone,Company,Title\n");
    csv.push_str("Ana,Silva 1,ana.1@acme.example,+14155550001,Acme Ltd,CTO\n");
    csv.push_str("Ana,Silva 2,ana.2@acme.example,,\"Acme, Inc.\",\n");
    csv.push_str("Ana,Silva 3,ana.3@acme.example,,Acme Ltd,Buyer\n");
    csv.push('\n');
    csv.push_str("Bad,Mail,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",,,\n");
    csv.push_str("Ana,Again,ana.1@acme.example,,,\n");
    csv.push_str(",No Name,nobody@acme.example,,,\n");
    let preview = uploaded(&app, &t, "fair leads.csv", csv.as_bytes()).await;
    assert_eq!(
        preview["import"]["suggested"],
        json!(["first_name", "last_name", "email", "phone", "company_name", "job_title"]),
        "{preview:?}"
    );
    assert_eq!(preview["sample"][1][4], "Acme, Inc.");
    let id = preview["import"]["id"].as_str().unwrap().to_string();

    // The mapping must fill names, a way to reach people and attribution.
    let r = app.post(&t.path(&format!("/data/import/{id}/dry-run")), &t.admin(), json!({})).await;
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(
        (r.status.as_u16(), fields),
        (400, vec!["attribution.campaign".to_string(), "attribution.medium".into(), "attribution.source".into()])
    );
    // The dry run says what would happen to each row, and writes nothing.
    let r = app.post(&t.path(&format!("/data/import/{id}/dry-run")), &t.admin(), json!({"attribution": fair()})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((r.body["rows_checked"].as_u64(), r.body["more"].as_bool()), (Some(6), Some(false)));
    let report_rows: Vec<u64> =
        r.body["report"]["results"].as_array().unwrap().iter().map(|x| x["row"].as_u64().unwrap()).collect();
    assert_eq!(
        report_rows,
        vec![4, 5, 6, 7],
        "known person, bad email, repeat, no first name (a blank line is no row)"
    );
    assert_eq!(all_leads(&app, &t).await.len(), 1);

    // Another company cannot see, try or start it; a viewer cannot either.
    let other = app.tenant().await;
    let theirs = other.path(&format!("/data/import/{id}"));
    assert_eq!(app.get(&theirs, &other.admin()).await.status, 404);
    assert_eq!(
        app.post(&format!("{theirs}/start"), &other.admin(), json!({"version": 2, "attribution": fair()})).await.status,
        404
    );
    assert_eq!(app.get(&format!("{theirs}/report"), &other.admin()).await.status, 404);
    let viewer = app.user_token(&t, &ulid::Ulid::new().to_string(), Role::Viewer).await;
    assert_eq!(app.get(&t.path(&format!("/data/import/{id}")), &viewer).await.status, 403);

    let id = start(&app, &t, &preview, fair()).await;
    let again = app
        .post(&t.path(&format!("/data/import/{id}/start")), &t.admin(), json!({"version": 2, "attribution": fair()}))
        .await;
    assert_eq!(again.status, 409, "started once");
    let job = finished(&app, &t, &id).await;
    assert_eq!(job["state"], "succeeded", "{job:?}");
    assert_eq!(
        progress(&job),
        [6, 2, 1, 1, 2],
        "read, created, updated (the known person), skipped (the repeat), failed"
    );
    let leads = all_leads(&app, &t).await;
    assert_eq!(leads.len(), 3);
    let ana2 = leads.iter().find(|l| l["email"] == "ana.2@acme.example").unwrap();
    assert_eq!((ana2["company_name"].as_str(), ana2["source"].as_str()), (Some("Acme, Inc."), Some("Trade fair")));
    let ana3 = leads.iter().find(|l| l["email"] == "ana.3@acme.example").unwrap();
    assert_eq!(
        (ana3["job_title"].as_str(), ana3["company_name"].as_str(), ana3["source"].as_str()),
        (Some("Buyer"), Some("Acme Ltd"), Some("Google Ads"))
    );

    // The report: one line per field at fault; a formula comes back as text.
    let text = report(&app, &t, &id).await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "row,outcome,field,reason,value");
    assert!(
        lines.iter().any(|l| l.starts_with("5,failed,email,")
            && l.ends_with(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\"")),
        "{text}"
    );
    assert!(lines.iter().any(|l| l.starts_with("6,skipped,,repeats row 2")), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("7,failed,first_name,")), "{text}");
    assert!(!text.contains(",=HYPERLINK"), "{text}");
    // A page after row 5: the lines after it only, no header line, and no more pages.
    let r = app.get(&t.path(&format!("/data/import/{id}/report?after=5")), &t.admin()).await;
    let page = r.body.as_str().unwrap_or_default().to_string();
    assert!(page.starts_with("6,skipped,") && page.lines().count() == 2, "{page}");
    assert!(r.header("keel-report-after").is_none());

    // The same file again creates nobody.
    let preview = uploaded(&app, &t, "fair leads.csv", csv.as_bytes()).await;
    let id = start(&app, &t, &preview, fair()).await;
    let job = finished(&app, &t, &id).await;
    assert_eq!(progress(&job)[1], 0, "nothing created twice: {job:?}");
    assert_eq!(all_leads(&app, &t).await.len(), 3);
    let text = report(&app, &t, &id).await;
    assert!(
        text.lines().any(|l| l.starts_with("2,skipped,,\"already in Keel as Ana Silva 1 (lead ")),
        "the report names who it found: {text}"
    );

    // A later file fills what an earlier import left empty on the leads it made.
    let csv = "First Name,Last Name,E-mail,Title\nAna,Silva 2,ana.2@acme.example,Head of Sales\n";
    let preview = uploaded(&app, &t, "titles.csv", csv.as_bytes()).await;
    let id = start(&app, &t, &preview, fair()).await;
    let job = finished(&app, &t, &id).await;
    assert_eq!(progress(&job), [1, 0, 1, 0, 0], "{job:?}");
    let leads = all_leads(&app, &t).await;
    let ana2 = leads.iter().find(|l| l["email"] == "ana.2@acme.example").unwrap();
    assert_eq!((ana2["job_title"].as_str(), ana2["last_name"].as_str()), (Some("Head of Sales"), Some("Silva 2")));
}

#[tokio::test]
async fn files_that_are_not_what_they_say_or_too_big_are_refused() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let announce = |name: &str, size: u64| {
        let (app, t) = (&app, &t);
        let body = json!({"file_name": name, "size": size});
        async move { app.post(&t.path("/data/import"), &t.admin(), body).await }
    };
    assert_eq!(announce("leads.pdf", 10).await.error_fields(), vec!["file_name".to_string()]);
    assert_eq!(announce("leads.csv", 0).await.error_fields(), vec!["size".to_string()]);
    let r = announce("leads.xlsx", 6 * 1024 * 1024).await;
    assert_eq!((r.status.as_u16(), r.error_fields()), (422, vec!["size".to_string()]));

    // Not uploaded yet.
    let r = announce("leads.csv", 100).await;
    let id = r.body["import"]["id"].as_str().unwrap();
    let p = app.post(&t.path(&format!("/data/import/{id}/preview")), &t.admin(), json!({})).await;
    assert_eq!((p.status.as_u16(), p.error_fields()), (422, vec!["file".to_string()]));
    let s = app
        .post(&t.path(&format!("/data/import/{id}/start")), &t.admin(), json!({"version": 1, "attribution": fair()}))
        .await;
    assert_eq!(s.status, 422, "preview first: {:?}", s.body);

    // A workbook that is a CSV, and a CSV that is a zip.
    let p = uploaded(&app, &t, "leads.xlsx", people(1..=2).as_bytes()).await;
    assert_eq!(p["errors"][0]["field"], "file", "{p:?}");
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("not an Excel workbook"));
    let p = uploaded(&app, &t, "leads.csv", &workbook(&[vec!["First Name"]])).await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("not a CSV"), "{p:?}");
    // A CSV whose quote never closes: the job stops with the reason, having imported the rows
    // before it (past the preview's first rows, or the preview would have refused it).
    let mut broken = people(1..=15);
    broken.push_str(&format!("Ana,\"Never closed,{}\n", "x".repeat(70 * 1024)));
    let preview = uploaded(&app, &t, "broken.csv", broken.as_bytes()).await;
    let id = start(&app, &t, &preview, fair()).await;
    let job = finished(&app, &t, &id).await;
    assert_eq!(job["state"], "failed");
    assert!(job["error"].as_str().unwrap().contains("longer than 64 KB"), "{job:?}");
    assert_eq!(progress(&job)[1], 15);
    assert_eq!(all_leads(&app, &t).await.len(), 15);
}

/// A spreadsheet's name of column `c` (0 → A, 25 → Z, 26 → AA).
fn column_name(mut c: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap()
}

/// A minimal workbook: one sheet of inline strings, numbers (`n:`), booleans (`b:`) and errors (`e:`).
fn workbook(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, row) in rows.iter().enumerate() {
        sheet.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, value) in row.iter().enumerate() {
            let cell = format!("{}{}", column_name(c), r + 1);
            if let Some(n) = value.strip_prefix("n:") {
                sheet.push_str(&format!(r#"<c r="{cell}"><v>{n}</v></c>"#));
            } else if let Some(b) = value.strip_prefix("b:") {
                sheet.push_str(&format!(r#"<c r="{cell}" t="b"><v>{b}</v></c>"#));
            } else if let Some(e) = value.strip_prefix("e:") {
                sheet.push_str(&format!(r#"<c r="{cell}" t="e"><v>{e}</v></c>"#));
            } else {
                sheet.push_str(&format!(r#"<c r="{cell}" t="inlineStr"><is><t>{value}</t></is></c>"#));
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let files = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_string()),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string()),
        ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Leads" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_string()),
        ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_string()),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, content) in files {
        zip.start_file(name, options).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[tokio::test]
async fn a_workbook_is_read_cell_by_cell_and_wrong_cell_types_are_reported() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let book = workbook(&[
        vec!["Vorname", "Nachname", "Email", "Telefon", "Firma"],
        vec!["Jörg", "Müller", "joerg@firma.example", "+4915112345678", "Firma GmbH"],
        vec!["b:1", "Boolean", "bool@firma.example", "", ""],
        vec!["Eva", "e:#DIV/0!", "eva@firma.example", "", ""],
        vec!["Zahl", "n:42", "zahl@firma.example", "", "n:1234"],
    ]);
    let preview = uploaded(&app, &t, "Messe.xlsx", &book).await;
    assert_eq!(
        preview["import"]["suggested"],
        json!(["first_name", "last_name", "email", "phone", "company_name"]),
        "{preview:?}"
    );
    let id = start(&app, &t, &preview, fair()).await;
    let job = finished(&app, &t, &id).await;
    assert_eq!(progress(&job), [4, 2, 0, 0, 2], "{job:?}");
    let leads = all_leads(&app, &t).await;
    let joerg = leads.iter().find(|l| l["email"] == "joerg@firma.example").unwrap();
    assert_eq!((joerg["first_name"].as_str(), joerg["phone"].as_str()), (Some("Jörg"), Some("+4915112345678")));
    let zahl = leads.iter().find(|l| l["email"] == "zahl@firma.example").unwrap();
    assert_eq!(
        (zahl["last_name"].as_str(), zahl["company_name"].as_str()),
        (Some("42"), Some("1234")),
        "numbers read as text"
    );
    let text = report(&app, &t, &id).await;
    assert!(text.contains("3,failed,first_name,is true/false in the sheet (not a text)"), "{text}");
    assert!(text.contains("4,failed,last_name,holds a spreadsheet error"), "{text}");

    // A sheet too wide is refused at its preview, with the reason.
    let mut wide = vec!["First Name", "Last Name", "Email"];
    wide.resize(201, "x");
    let preview = uploaded(&app, &t, "wide.xlsx", &workbook(&[vec!["First Name", "Last Name", "Email"], wide])).await;
    assert!(
        preview["errors"][0]["message"].as_str().unwrap_or_default().contains("more than 200 columns"),
        "{preview:?}"
    );
}

#[tokio::test]
async fn overlapping_imports_at_once_make_each_person_once() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let a = uploaded(&app, &t, "a.csv", people(1..=120).as_bytes()).await;
    let b = uploaded(&app, &t, "b.csv", people(61..=180).as_bytes()).await;
    let (a, b) = tokio::join!(start(&app, &t, &a, fair()), start(&app, &t, &b, fair()));
    let (ja, jb) = tokio::join!(finished(&app, &t, &a), finished(&app, &t, &b));
    let (pa, pb) = (progress(&ja), progress(&jb));
    assert_eq!(pa[1] + pb[1], 180, "each person created once: {pa:?} {pb:?}");
    assert_eq!(pa[3] + pb[3], 60, "the overlap skipped once: {pa:?} {pb:?}");
    let leads = all_leads(&app, &t).await;
    let mut emails: Vec<&str> = leads.iter().filter_map(|l| l["email"].as_str()).collect();
    emails.sort();
    emails.dedup();
    assert_eq!((leads.len(), emails.len()), (180, 180));
}

#[tokio::test]
async fn an_import_killed_half_way_goes_on_from_its_checkpoint_and_applies_every_row_once() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let preview = uploaded(&app, &t, "big.csv", people(1..=400).as_bytes()).await;
    let id = start(&app, &t, &preview, fair()).await;
    // Beside the plumbing's legs, legs of our own, each killed after a few batches: whatever they
    // committed stays, whatever they had not is done by the next leg.
    let runtime = keel_function::Runtime::new("ImportFunction").await;
    let files = keel_capture::import::file::Files::from_env(runtime.s3()).unwrap();
    let mut work = ImportWork::new(app.state.db.clone(), files);
    work.leg_rows = 60;
    let actor = Actor { user_id: t.user_id.clone(), role: "admin".into() };
    for _ in 0..12 {
        let job = app.get(&t.path(&format!("/data/import/{id}")), &t.admin()).await.body["job"].clone();
        if job["state"] == "succeeded" {
            break;
        }
        for leg in 0..4 {
            let event = Envelope::new(
                &t.id,
                actor.clone(),
                chrono::Utc::now(),
                &ImportRequested { import_id: id.clone(), leg },
            );
            let _ = tokio::time::timeout(Duration::from_millis(40), work.handle(&event)).await;
        }
    }
    let job = finished(&app, &t, &id).await;
    assert_eq!(progress(&job), [400, 400, 0, 0, 0], "{job:?}");
    let leads = all_leads(&app, &t).await;
    let mut emails: Vec<&str> = leads.iter().filter_map(|l| l["email"].as_str()).collect();
    emails.sort();
    emails.dedup();
    assert_eq!((leads.len(), emails.len()), (400, 400));
    // Every lead's event, once.
    let created = keel_tests::outbox(&app, &t).await.into_iter().filter(|e| e["detail_type"] == "LeadCreated").count();
    assert_eq!(created, 400);
}

#[tokio::test]
async fn people_met_again_across_batches_are_found_and_a_file_may_end_on_a_batch() {
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    // 19 rows: exactly one batch, and the file ends where it does.
    let a = uploaded(&app, &t, "a.csv", people(1..=19).as_bytes()).await;
    let a = start(&app, &t, &a, fair()).await;
    assert_eq!(progress(&finished(&app, &t, &a).await), [19, 19, 0, 0, 0]);
    // A first batch of 19 new people, then a row reaching the last of them by phone (read ahead
    // while that batch committed) and one repeating an email of the batch before.
    let mut b = String::from("First Name,Last Name,E-mail,Phone,Company,Title\n");
    for n in 20..=38 {
        b.push_str(&format!("Ana,Silva {n},ana.{n}@acme.example,+1415555{n:04},Acme Ltd,\n"));
    }
    b.push_str("Ana,Silva,ana.38.new@acme.example,+14155550038,,CFO\n");
    b.push_str("Bea,Other,ana.21@acme.example,,,\n");
    let b = uploaded(&app, &t, "b.csv", b.as_bytes()).await;
    let b = start(&app, &t, &b, fair()).await;
    assert_eq!(progress(&finished(&app, &t, &b).await), [21, 19, 1, 1, 0], "read, created, updated, skipped");
    let leads = all_leads(&app, &t).await;
    assert_eq!(leads.len(), 38);
    let ana38 = leads.iter().find(|l| l["phone"] == "+14155550038").unwrap();
    assert_eq!((ana38["email"].as_str(), ana38["job_title"].as_str()), (Some("ana.38@acme.example"), Some("CFO")));
    let text = report(&app, &t, &b).await;
    assert!(text.lines().any(|l| l.starts_with("22,skipped,,\"already in Keel as Ana Silva 21 (lead ")), "{text}");
}
