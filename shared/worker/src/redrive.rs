//! Moving dead-lettered messages back to their queue once the cause is fixed.
//!
//! Receive → send → delete, one message at a time so a failure half-way loses nothing: a message
//! is deleted from the DLQ only after its copy is in the queue (at worst it is in both, and the
//! consumer's idempotency record makes the copy harmless).

use aws_sdk_sqs::Client;

/// Moves up to `limit` messages from `dlq_url` to `queue_url`. Returns how many moved.
pub async fn redrive(sqs: &Client, dlq_url: &str, queue_url: &str, limit: usize) -> Result<usize, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut moved = 0;
    while moved < limit {
        let out = sqs
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(((limit - moved).min(10)) as i32)
            .visibility_timeout(30)
            // A short poll can answer empty while messages remain; a 1 s wait makes "empty" true.
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| err(&aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let (Some(body), Some(handle)) = (m.body, m.receipt_handle) else { continue };
            sqs.send_message()
                .queue_url(queue_url)
                .message_body(body)
                .send()
                .await
                .map_err(|e| err(&aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
            sqs.delete_message()
                .queue_url(dlq_url)
                .receipt_handle(handle)
                .send()
                .await
                .map_err(|e| err(&aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
            moved += 1;
        }
    }
    Ok(moved)
}
