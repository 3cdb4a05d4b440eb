//! Local-only infrastructure: the event plumbing Lambda runs in AWS (stream → relay, queue →
//! consumer), for the dev server and the test stack.

pub mod api;
mod health;
pub mod plumbing;
