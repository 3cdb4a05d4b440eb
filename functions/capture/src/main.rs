//! The capture Lambda (forms and their public submissions, the WhatsApp webhook, row validation).

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_capture::function()).await
}
