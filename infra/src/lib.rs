//! Local-only infrastructure: the function registry, the dev server's gateway (routes from
//! template.yaml) and the event plumbing Lambda runs in AWS (stream → relay, queue → consumer).

pub mod api;
pub mod gateway;
pub mod local_template;
pub mod mailbox;
pub mod operators;
pub mod plumbing;
pub mod registry;
