//! Mail the app sent through the local SES (moto), read from moto's model dump: what a person would
//! find in their inbox. The tests read it, and `keel-dev serve` shows it at `/_dev/mailbox`, so that
//! signing up on `make run` works as it does anywhere else.

use axum::response::Html;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    /// The HTML part (SES keeps one body; the app sends HTML with a text alternative).
    pub body: String,
}

/// Everything the local SES was given, oldest first.
pub async fn all() -> Result<Vec<Mail>, String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_SESV2").map_err(|_| "no local SES endpoint".to_string())?;
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/').to_string();
    let mut stream = tokio::net::TcpStream::connect(&host).await.map_err(|e| format!("moto: {e}"))?;
    let request = format!("GET /moto-api/data.json HTTP/1.0\r\nHost: {host}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("moto: {e}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.map_err(|e| format!("moto: {e}"))?;
    let raw = String::from_utf8_lossy(&raw);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    let data: Value = serde_json::from_str(body).map_err(|e| format!("moto's model dump: {e}"))?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    Ok(data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| Mail {
            to: m["destinations"]["ToAddresses"].as_array().map(|a| a.iter().map(text).collect()).unwrap_or_default(),
            subject: text(&m["subject"]),
            body: text(&m["body"]),
        })
        .collect())
}

/// Everything sent to `address`, oldest first.
pub async fn to(address: &str) -> Vec<Mail> {
    all().await.expect("the local stack's SES").into_iter().filter(|m| m.to.iter().any(|a| a == address)).collect()
}

/// The tokens of the `page` links (`/<page>#token=…`) in the mail sent to `address`, oldest first.
pub async fn tokens(address: &str, page: &str) -> Vec<String> {
    let marker = format!("/{page}#token=");
    let mut found = Vec::new();
    for mail in to(address).await {
        for part in mail.body.split(&marker).skip(1) {
            let token: String =
                part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
            if !found.contains(&token) {
                found.push(token);
            }
        }
    }
    found
}

/// The token of the latest `page` link sent to `address`.
pub async fn latest_token(address: &str, page: &str) -> String {
    tokens(address, page).await.pop().unwrap_or_else(|| panic!("no {page} link was mailed to {address}"))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The dev server's mailbox page: the newest mail first. The letters are the app's own HTML
/// (every value in them escaped when written), shown as sent.
pub async fn page() -> Html<String> {
    let letters = match all().await {
        Ok(mut mail) => {
            mail.reverse();
            if mail.is_empty() {
                "<p class=\"text-body-secondary\">Nothing sent yet. Sign up or ask for a password reset.</p>".into()
            } else {
                mail.iter()
                    .map(|m| {
                        format!(
                            "<div class=\"card mb-3\"><div class=\"card-header small\"><strong>{}</strong> → {}</div>\
                             <div class=\"card-body\">{}</div></div>",
                            escape(&m.subject),
                            escape(&m.to.join(", ")),
                            m.body
                        )
                    })
                    .collect::<String>()
            }
        }
        Err(e) => format!("<p class=\"text-danger\">{}</p>", escape(&e)),
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Local mailbox · Keel</title>\
         <style>body{{font-family:system-ui,sans-serif;background:#f8f9fa;color:#212529}}main{{margin:auto}}\
         .card{{background:#fff;border:1px solid #dee2e6;border-radius:6px}}.card-header{{padding:8px 12px;\
         border-bottom:1px solid #dee2e6}}.card-body{{padding:4px 12px}}.small{{font-size:.875em}}\
         .text-body-secondary{{color:#6c757d}}.text-danger{{color:#b02a37}}.mb-3{{margin-bottom:1rem}}</style>\
         </head><body class=\"bg-light\"><main class=\"container py-4\" style=\"max-width: 760px\">\
         <h1 class=\"h4\">Local mailbox</h1><p class=\"small text-body-secondary\">What the local SES was asked to \
         send (only on <code>make run</code>; in AWS this mail goes out through SES).</p>{letters}</main></body></html>"
    ))
}
