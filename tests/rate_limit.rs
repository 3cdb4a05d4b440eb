//! Per-user and per-company request limits: a 429 problem with Retry-After past either limit,
//! nothing done for a refused request, other companies unaffected.

use keel_http::Role;
use keel_tests::{all_leads, lead_body, leads_app};

#[tokio::test]
async fn users_and_companies_are_limited_separately() {
    // A day-long window: the test cannot straddle a window boundary in practice.
    std::env::set_var("KEEL_RATE_LIMIT_WINDOW_SECONDS", "86400");
    std::env::set_var("KEEL_RATE_LIMIT_USER", "5");
    std::env::set_var("KEEL_RATE_LIMIT_TENANT", "8");
    let app = leads_app().await;
    let t = app.tenant().await;
    let first = t.admin();
    for _ in 0..5 {
        assert_eq!(app.get(&t.path("/leads"), &first).await.status, 200);
    }
    let refused = app.post(&t.path("/leads"), &first, lead_body(1)).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["type"], "/api/problems/rate-limited");
    let retry: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=86400).contains(&retry), "{retry}");

    // Another user of the same company still has room, until the company's limit (8).
    let second = app.user_token(&t, "another-user", Role::Manager).await;
    for _ in 0..3 {
        assert_eq!(app.get(&t.path("/leads"), &second).await.status, 200);
    }
    assert_eq!(app.get(&t.path("/leads"), &second).await.status, 429);

    // Another company is not affected, and the refused capture wrote nothing.
    let other = app.tenant().await;
    assert_eq!(app.get(&other.path("/leads"), &other.admin()).await.status, 200);
    std::env::set_var("KEEL_RATE_LIMIT_TENANT", "1000");
    std::env::set_var("KEEL_RATE_LIMIT_USER", "1000");
    let fresh = leads_app().await;
    assert!(all_leads(&fresh, &t).await.is_empty());
}
