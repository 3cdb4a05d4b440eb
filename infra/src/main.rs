//! `keel-dev`: the local development server and its helpers.
//!
//! - `keel-dev serve`: one axum server on `127.0.0.1:$KEEL_PORT` (default 3000) mounting every
//!   function's router under `/api`, `GET /api/health`, `GET /api/openapi.json`, and the built
//!   web UI at `/`.
//!   It also runs the scheduled functions every `KEEL_SCHEDULE_SECONDS` (default 5).
//! - `keel-dev plumbing`: only the event plumbing (table stream → relay, queues → consumers); tests
//!   run the scheduled functions themselves, with their own clock.
//! - `keel-dev openapi`: prints the OpenAPI document generated from the code.
//! - `keel-dev declarations`: prints every function's declaration as JSON (for the conformance
//!   check against template.yaml, `infra/stack/conformance.py`).
//! - `keel-dev token --company ID [--role ROLE] [--user ID]`: prints a dev token.
//! - `keel-dev operator create --name NAME` / `keel-dev operator token --id ID`: creates a platform
//!   operator and prints its id / prints a 1-hour operator token. Needs the table (`KEEL_TABLE` and
//!   AWS credentials) and, for tokens, the signing key (`KEEL_JWT_SIGNING_KEY`, `KEEL_JWT_SIGNING_KID`).
//!
//! Run it inside the local stack (`make run`), which exports the AWS endpoints and Keel settings.

use keel_infra::api;

use std::net::SocketAddr;

use keel_http::state::TokenSettings;
use keel_http::{telemetry, Role};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve().await,
        Some("plumbing") => plumbing().await,
        Some("openapi") => {
            println!("{}", api::openapi().to_pretty_json().expect("OpenAPI serialises"));
            Ok(())
        }
        Some("declarations") => {
            println!("{}", declarations());
            Ok(())
        }
        Some("token") => token(&args[1..]),
        Some("operator") => operator(&args[1..]).await,
        _ => Err(
            "usage: keel-dev serve | plumbing | openapi | declarations | operator create --name NAME | operator token --id ID | token --company ID [--role admin|manager|sales_rep|viewer]"
                .into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("keel-dev: {e}");
        std::process::exit(2);
    }
}

async fn serve() -> Result<(), String> {
    telemetry::init();
    let port: u16 = std::env::var("KEEL_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let web_dir =
        std::env::var("KEEL_WEB_DIR").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../web/dist").into());
    let app = api::app(&web_dir).await?;
    let _plumbing = keel_infra::plumbing::start().await?;
    let _schedules = keel_infra::plumbing::schedules().await?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    eprintln!("keel-dev: Keel is up at http://{addr}  (API under /api, OpenAPI at /api/openapi.json)");
    eprintln!("keel-dev: account mail (sign-up links, password resets) lands in http://{addr}/_dev/mailbox");
    // Peer addresses feed the audit trail's source address (API Gateway provides it in AWS).
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

/// Only the event plumbing (stream → relay, queues → consumers), for test runs.
async fn plumbing() -> Result<(), String> {
    telemetry::init();
    let _tasks = keel_infra::plumbing::start().await?;
    eprintln!("keel-dev: event plumbing running");
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

/// Each function's declaration: its trigger (HTTP operations, or queue and the events routed to
/// it, or the stream), the AWS calls it makes and whether it writes events.
fn declarations() -> String {
    use keel_function::Trigger;
    let functions: Vec<serde_json::Value> = keel_infra::registry::functions()
        .into_iter()
        .map(|f| {
            let trigger = match f.trigger {
                Trigger::Http { openapi, .. } => {
                    let operations: Vec<serde_json::Value> = openapi()
                        .paths
                        .paths
                        .iter()
                        .flat_map(|(path, item)| {
                            let methods = [
                                ("GET", item.get.is_some()),
                                ("POST", item.post.is_some()),
                                ("PUT", item.put.is_some()),
                                ("PATCH", item.patch.is_some()),
                                ("DELETE", item.delete.is_some()),
                            ];
                            methods
                                .into_iter()
                                .filter(|(_, present)| *present)
                                .map(|(m, _)| serde_json::json!({"method": m, "path": path}))
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    serde_json::json!({"http": operations})
                }
                Trigger::Queue { queue, sources, detail_types, .. } => {
                    serde_json::json!({"queue": {"queue": queue, "sources": sources, "detail_types": detail_types}})
                }
                Trigger::Stream { .. } => serde_json::json!({"stream": true}),
                Trigger::Schedule { expression, feeds, .. } => {
                    serde_json::json!({"schedule": {"expression": expression, "feeds": feeds}})
                }
            };
            serde_json::json!({
                "logical_id": f.logical_id,
                "trigger": trigger,
                "aws_calls": f.aws_calls,
                "writes_events": f.writes_events,
            })
        })
        .collect();
    serde_json::to_string_pretty(&functions).expect("declarations serialise")
}

async fn operator(args: &[String]) -> Result<(), String> {
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let db = keel_store::Db::from_env().await?;
    match args.first().map(String::as_str) {
        Some("create") => {
            let id = keel_infra::operators::create(&db, &flag("--name").ok_or("--name is required")?).await?;
            println!("{id}");
            Ok(())
        }
        Some("token") => {
            let issuer = TokenSettings::from_env()?.issuer()?;
            let id = flag("--id").ok_or("--id is required")?;
            println!("{}", keel_infra::operators::token(&db, &issuer, &id).await?);
            Ok(())
        }
        _ => Err("usage: keel-dev operator create --name NAME | operator token --id ID".into()),
    }
}

fn token(args: &[String]) -> Result<(), String> {
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let company = flag("--company").ok_or("--company is required")?;
    let role = match flag("--role").as_deref().unwrap_or("admin") {
        "admin" => Role::Admin,
        "manager" => Role::Manager,
        "sales_rep" => Role::SalesRep,
        "viewer" => Role::Viewer,
        other => return Err(format!("unknown role {other}")),
    };
    let user = flag("--user").unwrap_or_else(|| "dev-user".into());
    let issuer = TokenSettings::from_env()?.issuer()?;
    println!("{}", issuer.token(&company, &user, role, 8 * 3600));
    Ok(())
}
