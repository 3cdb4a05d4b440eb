//! The account revenue Lambda (`DealWon` → customer lifecycle and revenue counters).

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_customers::revenue_function()).await
}
