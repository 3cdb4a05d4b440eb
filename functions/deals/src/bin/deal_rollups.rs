//! The deal rollups Lambda: `DealChanged` → forecast, board and trend rollups.

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_deals::rollups_function()).await
}
