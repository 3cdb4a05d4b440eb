//! Capture channels: the company's website forms and their public submissions (consent kept as
//! proof, honeypot, limits per form and per address), the WhatsApp Cloud API webhook (signed
//! deliveries, one lead per phone, messages on the lead's timeline), and validation of lead rows
//! without writing, and bulk import of CSV and Excel files (`import`, carried out by
//! `ImportFunction`). Every channel captures through the same lead rules, dedupe, scoring, audit and
//! events as a manual capture (`keel_store::leads`); a person already known is never duplicated.

mod forms;
pub mod import;
mod intake;
mod store;
mod submit;
mod validate;
mod whatsapp;

use keel_function::{Function, Trigger};
use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use forms::Forms;
pub use submit::{
    SubmissionReceived, ADDRESS_SUBMISSIONS, FORM_ADDRESS_SUBMISSIONS, FORM_SUBMISSIONS, SUBMISSION_LIMIT,
};
pub use validate::{ValidationReport, MAX_ROWS};
pub use whatsapp::{signed, WebhookReceived, WhatsAppChannel};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(forms::list_forms, forms::create_form))
        .routes(routes!(forms::get_form, forms::update_form, forms::delete_form))
        .routes(routes!(submit::submit_form))
        .routes(routes!(whatsapp::get_channel, whatsapp::put_channel))
        .routes(routes!(whatsapp::verify_webhook, whatsapp::receive_webhook))
        .routes(routes!(validate::validate_rows))
        .routes(routes!(import::create_import, import::list_imports))
        .routes(routes!(import::get_import))
        .routes(routes!(import::preview_import))
        .routes(routes!(import::dry_run))
        .routes(routes!(import::start_import))
        .routes(routes!(import::import_report))
}

pub fn router(state: AppState, files: import::file::Files) -> axum::Router {
    routes().split_for_parts().0.layer(axum::Extension(files)).with_state(state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The capture Lambda: forms, their public submissions, the WhatsApp webhook, row validation.
pub fn function() -> Function {
    Function {
        logical_id: "CaptureFunction",
        trigger: Trigger::Http {
            openapi,
            app: |runtime| {
                Box::pin(async move { Ok(router(runtime.app_state()?, import::file::Files::from_env(runtime.s3())?)) })
            },
        },
        aws_calls: &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:Query",
            "dynamodb:BatchGetItem",
            "s3:PutObject",
            "s3:GetObject",
        ],
        writes_events: true,
    }
}

/// The import Lambda: carries out started imports a leg at a time (`import::worker`).
pub fn import_function() -> Function {
    Function {
        logical_id: "ImportFunction",
        trigger: Trigger::Queue {
            queue: "ImportQueue",
            sources: &[keel_events::capture::SOURCE_CAPTURE],
            detail_types: &["ImportRequested"],
            handler: |runtime| {
                Box::pin(async move {
                    let db = runtime.db()?;
                    let files = import::file::Files::from_env(runtime.s3())?;
                    Ok(keel_function::consumer(db.clone(), import::worker::ImportWork::new(db, files)))
                })
            },
        },
        aws_calls: &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:BatchGetItem",
            "s3:GetObject",
        ],
        writes_events: true,
    }
}
