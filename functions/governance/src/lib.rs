//! Data governance: the consent ledger of each lead per channel (append-only records, the
//! current state the check before every send reads in one GetItem), unsubscribe links that
//! withdraw consent without signing in, the export of everything held about a person, possible
//! duplicates (kept findable by the `duplicate-index` consumer) and the company's governance
//! policy (what each channel needs before a message goes out). Runs as its own Lambda (and the
//! consumer as another); the dev server mounts the same router.

mod consent;
mod duplicates;
mod export;
mod policy;
mod unsubscribe;

use std::sync::Arc;

use keel_function::{Function, Trigger};
use keel_http::links::LinkKeys;
use keel_http::state::SecretSetting;
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use consent::{ChannelView, ConsentView, UnsubscribeLinkView};
pub use duplicates::{CandidateLead, DuplicateCandidate, DuplicateIndex, Duplicates};
pub use export::{ContactExport, PersonalDataExport};
pub use unsubscribe::{UnsubscribeView, Unsubscribed, UNSUBSCRIBES};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(consent::get_consent, consent::record_consent))
        .routes(routes!(consent::unsubscribe_link))
        .routes(routes!(export::export_lead))
        .routes(routes!(duplicates::lead_duplicates))
        .routes(routes!(policy::get_policies, policy::put_policies))
        .routes(routes!(unsubscribe::open_link, unsubscribe::unsubscribe))
}

/// How unsubscribe links are signed (`keel/<stage>/link`) and where they lead (the web app's
/// unsubscribe page, `KEEL_WEB_ORIGIN`).
pub struct Links {
    pub keys: LinkKeys,
    pub web_origin: String,
}

impl Links {
    pub fn from_env(keys: LinkKeys) -> Result<Links, String> {
        let origin = std::env::var("KEEL_WEB_ORIGIN").map_err(|_| "KEEL_WEB_ORIGIN is not set".to_string())?;
        Ok(Links { keys, web_origin: origin.trim_end_matches('/').to_string() })
    }

    /// The page a person opens to unsubscribe; the token rides in the fragment, which browsers
    /// never send to a server, so it stays out of every access log.
    pub fn page(&self, token: &str) -> String {
        format!("{}/unsubscribe#token={token}", self.web_origin)
    }
}

pub fn router(state: AppState, links: Links) -> axum::Router {
    routes().split_for_parts().0.layer(axum::Extension(Arc::new(links))).with_state(state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The governance Lambda: the consent ledger and unsubscribe links.
pub fn function() -> Function {
    Function {
        logical_id: "GovernanceFunction",
        trigger: Trigger::Http {
            openapi,
            app: |runtime| {
                Box::pin(async move {
                    let secret = SecretSetting::from_env("KEEL_LINK_SECRET").cached(Some(runtime.secretsmanager()));
                    Ok(router(runtime.app_state()?, Links::from_env(LinkKeys::new(secret))?))
                })
            },
        },
        aws_calls: &[
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:Query",
            "secretsmanager:GetSecretValue",
        ],
        writes_events: true,
    }
}

/// The duplicate index consumer Lambda: lead events file each lead under its match keys.
pub fn duplicate_index_function() -> Function {
    Function {
        logical_id: "DuplicateIndexFunction",
        trigger: Trigger::Queue {
            queue: "DuplicateIndexQueue",
            sources: &["keel.leads"],
            detail_types: &["LeadCreated", "LeadUpdated"],
            handler: |runtime| {
                Box::pin(async move {
                    let db = runtime.db()?;
                    Ok(keel_function::consumer(db.clone(), DuplicateIndex { db }))
                })
            },
        },
        aws_calls: &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        writes_events: false,
    }
}
