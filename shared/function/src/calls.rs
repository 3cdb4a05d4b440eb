//! Records the AWS calls each function makes, as IAM actions, so the conformance check can hold
//! every function's policy in template.yaml to what the function really did in the test suite
//! (DynamoDB Local and moto ignore IAM: without this, a missing permission is found in AWS).
//!
//! When `KEEL_AWS_CALL_LOG` names a file, each distinct (function, action, resource) a process
//! sees is appended to it once as a tab-separated line. Otherwise the recorder does nothing.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Debug, Clone)]
pub struct CallRecorder {
    function: &'static str,
    /// The IAM service prefix of the client (`dynamodb`, `sqs`, `events`).
    service: &'static str,
}

impl CallRecorder {
    pub fn new(function: &'static str, service: &'static str) -> CallRecorder {
        CallRecorder { function, service }
    }
}

/// The log file and the lines this process has written to it already.
type CallLog = Mutex<(std::fs::File, HashSet<String>)>;

fn log() -> Option<&'static CallLog> {
    static LOG: OnceLock<Option<CallLog>> = OnceLock::new();
    LOG.get_or_init(|| {
        let path = std::env::var_os("KEEL_AWS_CALL_LOG")?;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).ok()?;
        Some(Mutex::new((file, HashSet::new())))
    })
    .as_ref()
}

/// The IAM actions an operation needs, with the resource kind they act on.
fn actions(
    service: &str,
    operation: &str,
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
) -> Vec<(String, String)> {
    use aws_sdk_dynamodb::operation as ddb;
    use aws_sdk_sqs::operation as sqs;
    let one = |resource: &str| vec![(format!("{service}:{operation}"), resource.to_string())];
    match service {
        "dynamodb" => {
            if let Some(tx) = input.downcast_ref::<ddb::transact_write_items::TransactWriteItemsInput>() {
                // A transaction is authorised item by item.
                return tx
                    .transact_items()
                    .iter()
                    .map(|item| {
                        let action = if item.put().is_some() {
                            "PutItem"
                        } else if item.update().is_some() {
                            "UpdateItem"
                        } else if item.delete().is_some() {
                            "DeleteItem"
                        } else {
                            "ConditionCheckItem"
                        };
                        (format!("dynamodb:{action}"), "table".to_string())
                    })
                    .collect();
            }
            if let Some(q) = input.downcast_ref::<ddb::query::QueryInput>() {
                return one(if q.index_name().is_some() { "index" } else { "table" });
            }
            one("table")
        }
        "sqs" => {
            let url = input
                .downcast_ref::<sqs::receive_message::ReceiveMessageInput>()
                .and_then(|i| i.queue_url())
                .or_else(|| input.downcast_ref::<sqs::send_message::SendMessageInput>().and_then(|i| i.queue_url()))
                .or_else(|| {
                    input.downcast_ref::<sqs::send_message_batch::SendMessageBatchInput>().and_then(|i| i.queue_url())
                })
                .or_else(|| input.downcast_ref::<sqs::delete_message::DeleteMessageInput>().and_then(|i| i.queue_url()))
                .or_else(|| {
                    input
                        .downcast_ref::<sqs::delete_message_batch::DeleteMessageBatchInput>()
                        .and_then(|i| i.queue_url())
                })
                .or_else(|| {
                    input
                        .downcast_ref::<sqs::get_queue_attributes::GetQueueAttributesInput>()
                        .and_then(|i| i.queue_url())
                })
                .or_else(|| {
                    input
                        .downcast_ref::<sqs::change_message_visibility::ChangeMessageVisibilityInput>()
                        .and_then(|i| i.queue_url())
                });
            // The queue's name is the last segment of its URL. A batch is authorised as its
            // single-message action (IAM has no `SendMessageBatch` action).
            let action = operation.strip_suffix("Batch").unwrap_or(operation);
            vec![(format!("sqs:{action}"), url.and_then(|u| u.rsplit('/').next()).unwrap_or("*").to_string())]
        }
        // A HEAD is authorised as the read it answers for; a presigned upload is recorded when
        // it is signed (the browser sends it, not the function).
        "s3" => match operation {
            "HeadObject" => vec![("s3:GetObject".to_string(), "*".to_string())],
            _ => one("*"),
        },
        _ => one("*"),
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(log) = log() else { return Ok(()) };
        let Some(operation) = cfg.load::<Metadata>().map(|m| m.name().to_string()) else { return Ok(()) };
        let lines = actions(self.service, &operation, context.input());
        let mut guard = log.lock().unwrap_or_else(|p| p.into_inner());
        let (file, seen) = &mut *guard;
        for (action, resource) in lines {
            let line = format!("{}\t{action}\t{resource}\n", self.function);
            if seen.insert(line.clone()) {
                // One short append per line: lines from parallel test processes never interleave.
                let _ = file.write_all(line.as_bytes());
            }
        }
        Ok(())
    }
}
