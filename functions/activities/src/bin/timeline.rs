//! The timeline Lambda: domain events → system activities on the timelines they concern.

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_activities::timeline_function()).await
}
