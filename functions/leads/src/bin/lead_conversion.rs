//! The conversion follow-up Lambda (`LeadQualified` → auto-convert, by the company's policy).

#[tokio::main]
async fn main() -> Result<(), keel_function::Error> {
    keel_function::run(keel_leads::conversion_function()).await
}
