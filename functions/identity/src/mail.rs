//! Account mail (email verification, password reset) sent through SES v2 from the stage's sender
//! address (`KEEL_MAIL_FROM`, an identity verified by `scripts/bootstrap-stage.sh`). Links point at
//! the web app (`KEEL_WEB_ORIGIN`) and carry their token in the URL fragment, which browsers never
//! send to a server: it stays out of access logs and `Referer` headers.

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use keel_http::ApiError;
use tokio::sync::OnceCell;

pub struct Mailer {
    client: OnceCell<aws_sdk_sesv2::Client>,
    from: String,
    web_origin: String,
}

/// One account email, in plain text and HTML.
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mailer {
    /// Sends with `client` (the function's own, recorded client).
    pub fn new(client: aws_sdk_sesv2::Client) -> Result<Mailer, String> {
        let mailer = Mailer::from_env()?;
        mailer.client.set(client).map_err(|_| "mail client set twice".to_string())?;
        Ok(mailer)
    }

    /// Sends with a client made from the environment on first use (tests, local tooling).
    pub fn from_env() -> Result<Mailer, String> {
        let setting = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        Ok(Mailer {
            client: OnceCell::new(),
            from: setting("KEEL_MAIL_FROM")?,
            web_origin: setting("KEEL_WEB_ORIGIN")?.trim_end_matches('/').to_string(),
        })
    }

    /// A link into the web app: its `page`, with `token` in the fragment.
    pub fn link(&self, page: &str, token: &str) -> String {
        format!("{}/{page}#token={token}", self.web_origin)
    }

    pub async fn send(&self, to: &str, letter: Letter) -> Result<(), ApiError> {
        let client = self
            .client
            .get_or_init(|| async { aws_sdk_sesv2::Client::new(&keel_store::aws::sdk_config().await) })
            .await;
        let text = |data: String| Content::builder().data(data).charset("UTF-8").build();
        let message = Message::builder()
            .subject(text(letter.subject).map_err(|e| ApiError::Internal(e.to_string()))?)
            .body(
                Body::builder()
                    .text(text(letter.text).map_err(|e| ApiError::Internal(e.to_string()))?)
                    .html(text(letter.html).map_err(|e| ApiError::Internal(e.to_string()))?)
                    .build(),
            )
            .build();
        client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| {
                // Only the error's code is logged: SES's messages name the addresses concerned.
                use aws_sdk_sesv2::error::ProvideErrorMetadata;
                tracing::error!(code = e.code().unwrap_or("unknown"), "account mail not sent");
                ApiError::Unavailable("the email could not be sent: try again in a few minutes".into())
            })?;
        Ok(())
    }
}

/// Escapes text for HTML (names in letters are the person's own input).
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
