//! The activities Lambda (activities and timelines).

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_activities::function()).await
}
