//! Per-user and per-company request limits: a 429 problem with Retry-After past either limit,
//! nothing done for a refused request, other companies unaffected; several instances flooding one
//! company stay within the stated tolerance (`keel_store::rate_limit`), an instance that cannot
//! reach the table holds to its share, and the counts cost under a tenth of a write per request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use axum::http::Method;
use chrono::Utc;
use keel_http::Role;
use keel_store::rate_limit::{self, Limit, Limits, RateLimiter, Verdict};
use keel_store::{Db, RequestCounter, TenantKeys};
use keel_tests::{all_leads, lead_body, leads_app};

#[tokio::test]
async fn users_and_companies_are_limited_separately() {
    // A day-long window: the test cannot straddle a window boundary in practice. One instance
    // (the leads function's) serves every request here, so it knows every admission and the
    // limits hold exactly.
    std::env::set_var("KEEL_RATE_LIMIT_WINDOW_SECONDS", "86400");
    std::env::set_var("KEEL_RATE_LIMIT_USER", "5");
    std::env::set_var("KEEL_RATE_LIMIT_TENANT", "8");
    std::env::set_var("KEEL_RATE_LIMIT_INSTANCES", "1");
    let app = leads_app().await;
    let t = app.tenant().await;
    let first = t.admin();
    for _ in 0..5 {
        assert_eq!(settled(&app, Method::GET, &t.path("/leads"), &first, None).await.status, 200);
    }
    let refused = settled(&app, Method::POST, &t.path("/leads"), &first, Some(lead_body(1))).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["type"], "/api/problems/rate-limited");
    let retry: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((2..=86400).contains(&retry), "{retry}");

    // Another user of the same company still has room, until the company's limit (8).
    let second = app.user_token(&t, "another-user", Role::Manager).await;
    for _ in 0..3 {
        assert_eq!(settled(&app, Method::GET, &t.path("/leads"), &second, None).await.status, 200);
    }
    assert_eq!(settled(&app, Method::GET, &t.path("/leads"), &second, None).await.status, 429);

    // Another company is not affected, and the refused capture wrote nothing.
    let other = app.tenant().await;
    assert_eq!(app.get(&other.path("/leads"), &other.admin()).await.status, 200);
    std::env::set_var("KEEL_RATE_LIMIT_TENANT", "1000");
    std::env::set_var("KEEL_RATE_LIMIT_USER", "1000");
    let fresh = leads_app().await;
    assert!(all_leads(&fresh, &t).await.is_empty());
}

/// A request answered once the limiter knows where it stands: a 429 with `Retry-After: 1` means
/// the instance is waiting for its background sync (the limits here are tiny, so a sync is
/// due every two requests) and is asked again; any other answer is the verdict.
async fn settled(
    app: &keel_testkit::TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> keel_testkit::TestResponse {
    for _ in 0..200 {
        let r = app.call(method.clone(), path, Some(token), body.clone(), &[]).await;
        if r.status != 429 || r.header("retry-after") != Some("1") {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{method} {path}: the limiter never settled")
}

/// Polls (without asserting on time) until `f` holds, for background syncs to land.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    for _ in 0..400 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn every_function_counts_into_the_same_window() {
    std::env::set_var("KEEL_RATE_LIMIT_WINDOW_SECONDS", "86400");
    // Limits of 100: each function's instance syncs once two of its admissions wait.
    std::env::set_var("KEEL_RATE_LIMIT_USER", "100");
    std::env::set_var("KEEL_RATE_LIMIT_TENANT", "100");
    let app = keel_tests::app().await;
    let t = app.tenant().await;
    let token = t.admin();
    // Admitted requests count whatever the handler then answers (the system function refuses a
    // company's administrator, after the limiter let the request in).
    let paths = [
        (t.path("/leads"), 200),
        (t.path("/dashboard/summary"), 200),
        (t.path("/events"), 200),
        ("/api/audit".to_string(), 200),
        ("/api/permissions/me".to_string(), 200),
        ("/api/system/info".to_string(), 403),
    ];
    for (path, status) in &paths {
        for _ in 0..2 {
            let r = app.get(path, &token).await;
            assert_eq!(r.status, *status, "{path}: {:?}", r.body);
        }
    }
    // No request waited for the table; each function's instance added its two in the background.
    let keys = TenantKeys::new(&t.id);
    let (db, limits) = (&app.state.db, Limits::from_env());
    let expected = 2 * paths.len() as u64;
    eventually("every function's admissions reached the tenant's count", || async {
        rate_limit::stored_count(db, &keys, None, &limits, Utc::now()).await.unwrap() == expected
    })
    .await;
    let user = rate_limit::stored_count(db, &keys, Some(&t.user_id), &limits, Utc::now()).await.unwrap();
    assert_eq!(user, expected, "and the user's own count");
}

/// The flood tests' limits: 4 instances expected (S = 150 and 25), a day-long window. A tenant
/// count syncs every 8 admissions (at most 16 unconfirmed per instance), a user's every 2 (4).
const FLOOD: Limits =
    Limits { tenant_per_window: 600, user_per_window: 100, window_seconds: 86400, expected_instances: 4 };
const INSTANCES: usize = 4;
/// Requests an instance makes at most (refusals for unconfirmed admissions aside): with the
/// limiter bypassed the company would get 4 × 2,000.
const MOST_ATTEMPTS: usize = 2000;

/// What one instance admitted of the flood.
#[derive(Debug, Default)]
struct Flooded {
    by_user: HashMap<String, u64>,
    refused_by_user_limit: u64,
    /// Stopped because the company's limit refused it (rather than running out of attempts).
    stopped_by_company_limit: bool,
    second_company: Vec<Verdict>,
}

/// One instance's share of a flood of company `a`: every other request from one user, the rest
/// from nine others, as fast as the instance decides, until the company's limit refuses it. Every
/// tenth request is one of company `b`'s five users, three requests each (fewer than an instance
/// may admit unconfirmed, so their answer cannot depend on how fast syncs return).
async fn flood(limiter: RateLimiter, a: TenantKeys, b: TenantKeys) -> Flooded {
    let mut out = Flooded::default();
    let mut attempts = 0;
    for step in 0..100_000usize {
        if attempts == MOST_ATTEMPTS {
            break;
        }
        if step % 10 == 0 && out.second_company.len() < 15 {
            let user = format!("b-user-{}", out.second_company.len() % 5);
            out.second_company.push(limiter.admit(&b, &user, Utc::now()));
        }
        let user = if step % 2 == 0 { "flooder".to_string() } else { format!("user-{}", step % 9) };
        match limiter.admit(&a, &user, Utc::now()) {
            Verdict::Allowed => *out.by_user.entry(user).or_default() += 1,
            Verdict::Limited { limit: Limit::User, .. } => out.refused_by_user_limit += 1,
            Verdict::Limited { limit: Limit::Tenant, .. } => {
                out.stopped_by_company_limit = true;
                break;
            }
            Verdict::Limited { limit: Limit::Unconfirmed, retry_after } => {
                // A client told to come back in a second; scaled down here.
                assert_eq!(retry_after, 1);
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        }
        attempts += 1;
        tokio::task::yield_now().await;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_across_four_instances_stays_within_the_tolerance() {
    let (a, b) = (TenantKeys::new(&ulid::Ulid::new().to_string()), TenantKeys::new(&ulid::Ulid::new().to_string()));
    let mut limiters = Vec::new();
    for _ in 0..INSTANCES {
        // Each with its own client and counts, as separate Lambda instances have them.
        limiters.push(RateLimiter::new(Db::from_env().await.unwrap(), FLOOD));
    }
    let floods: Vec<_> = limiters.iter().map(|l| tokio::spawn(flood(l.clone(), a.clone(), b.clone()))).collect();
    let mut results = Vec::new();
    for f in floods {
        results.push(f.await.unwrap());
    }

    let (tenant, user) = (FLOOD.tenant(), FLOOD.user());
    // An instance whose sync failed or timed out held to its share instead; the bound says how
    // much that one may add.
    let lost: Vec<bool> = limiters.iter().map(|l| l.usage().failed_syncs > 0).collect();
    let tolerance = |a: &rate_limit::Allowance| a.limit - 1 + lost.iter().map(|l| a.overshoot(*l)).sum::<u64>();
    let admitted: u64 = results.iter().flat_map(|r| r.by_user.values()).sum();
    let flooder: u64 = results.iter().map(|r| r.by_user.get("flooder").copied().unwrap_or(0)).sum();
    println!("admitted {admitted} (flooder {flooder}); lost the table: {lost:?}; {:?}", limiters[0].usage());
    assert!(
        admitted <= tolerance(&tenant),
        "the company's limit {} held within {}: {admitted} admitted",
        tenant.limit,
        tolerance(&tenant)
    );
    assert!(admitted >= tenant.limit, "the flood had the whole limit: {admitted}");
    assert!(results.iter().all(|r| r.stopped_by_company_limit), "every instance came to refuse the company");
    assert!(
        flooder <= tolerance(&user),
        "the user's limit {} held within {}: {flooder} admitted",
        user.limit,
        tolerance(&user)
    );
    assert!(flooder >= user.limit, "the flooder had its whole limit: {flooder}");
    assert!(results.iter().any(|r| r.refused_by_user_limit > 0), "the user's limit refused the flooder");

    // The other company, asking in the middle of the flood on the same instances, was never refused.
    let second: Vec<Verdict> = results.iter().flat_map(|r| r.second_company.clone()).collect();
    assert_eq!(second.len(), 15 * INSTANCES);
    assert!(second.iter().all(|v| *v == Verdict::Allowed), "{second:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiting_costs_under_a_tenth_of_a_write_per_request() {
    // The deployed defaults: 6,000 per company and 1,200 per user a minute, 10 instances expected.
    let limits = Limits { tenant_per_window: 6000, user_per_window: 1200, window_seconds: 60, expected_instances: 10 };
    let keys = TenantKeys::new(&ulid::Ulid::new().to_string());
    let mut limiters = Vec::new();
    for _ in 0..INSTANCES {
        limiters.push(RateLimiter::new(Db::from_env().await.unwrap(), limits));
    }
    // 3,000 requests from ten users spread over four instances: under every limit, so each is
    // admitted (when an instance must first hear back from a sync, the request comes again).
    for n in 0..3000usize {
        let limiter = &limiters[n % INSTANCES];
        let user = format!("user-{}", (n / INSTANCES) % 10);
        loop {
            match limiter.admit(&keys, &user, Utc::now()) {
                Verdict::Allowed => break,
                Verdict::Limited { limit: Limit::Unconfirmed, .. } => {
                    tokio::time::sleep(Duration::from_millis(1)).await
                }
                other => panic!("{other:?}"),
            }
        }
        tokio::task::yield_now().await;
    }
    eventually("every sync answered", || async {
        limiters.iter().all(|l| {
            let u = l.usage();
            u.syncs_started == u.syncs + u.failed_syncs
        })
    })
    .await;
    let usage: Vec<_> = limiters.iter().map(RateLimiter::usage).collect();
    let admitted: u64 = usage.iter().map(|u| u.admitted).sum();
    let write_units: f64 = usage.iter().map(|u| u.write_units).sum();
    let syncs: u64 = usage.iter().map(|u| u.syncs).sum();
    println!("{admitted} admitted, {syncs} syncs, {write_units} write units");
    assert_eq!(admitted, 3000);
    assert!(write_units > 0.0, "the counts reached the table");
    assert!(write_units / admitted as f64 <= 0.1, "{write_units} write units for {admitted} requests");
}

/// Stops every UpdateItem before it leaves the process while `cut` is set, as a table out of
/// reach would.
#[derive(Debug, Clone)]
struct CutUpdates {
    cut: Arc<AtomicBool>,
}

impl Intercept for CutUpdates {
    fn name(&self) -> &'static str {
        "CutUpdates"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let update = cfg.load::<Metadata>().is_some_and(|m| m.name() == "UpdateItem");
        if update && self.cut.load(Ordering::SeqCst) {
            return Err("the table cannot be reached".into());
        }
        Ok(())
    }
}

/// A table handle built as `keel_function::Runtime::db` builds one, with the cut in it.
async fn cut_db(cut: CutUpdates) -> Db {
    let sdk = keel_store::aws::sdk_config().await;
    let requests = RequestCounter::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(requests.clone()).interceptor(cut).build();
    let table = std::env::var("KEEL_TABLE").expect("KEEL_TABLE from the local stack");
    Db { client: aws_sdk_dynamodb::Client::from_conf(config), table, requests }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_table_an_instance_holds_to_its_share() {
    let cut = CutUpdates { cut: Arc::new(AtomicBool::new(true)) };
    let limits = Limits { tenant_per_window: 400, user_per_window: 80, window_seconds: 86400, expected_instances: 4 };
    let (tenant_share, user_share) = (limits.tenant().share, limits.user().share);
    assert_eq!((tenant_share, user_share), (100, 20));
    let limiter = RateLimiter::new(cut_db(cut.clone()).await, limits);

    // Flooding until refused, then a thousand more: what was admitted is exactly the share.
    async fn until_refused_then_more(limiter: &RateLimiter, keys: &TenantKeys, users: usize, by: Limit) -> u64 {
        let (mut admitted, mut refused) = (0, 0);
        for n in 0..100_000usize {
            match limiter.admit(keys, &format!("user-{}", n % users), Utc::now()) {
                Verdict::Allowed => admitted += 1,
                Verdict::Limited { limit, .. } if limit == by => refused += 1,
                Verdict::Limited { limit: Limit::Unconfirmed, .. } => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                other => panic!("{other:?}"),
            }
            if refused == 1000 {
                return admitted;
            }
            tokio::task::yield_now().await;
        }
        panic!("never refused: {admitted} admitted");
    }
    // One user: held to the user's share.
    let flooded = TenantKeys::new(&ulid::Ulid::new().to_string());
    assert_eq!(until_refused_then_more(&limiter, &flooded, 1, Limit::User).await, user_share);
    // Ten users, each under its own share: held to the company's.
    let company = TenantKeys::new(&ulid::Ulid::new().to_string());
    assert_eq!(until_refused_then_more(&limiter, &company, 10, Limit::Tenant).await, tenant_share);
    let usage = limiter.usage();
    assert_eq!(usage.syncs, 0);
    assert!(usage.failed_syncs > 0);

    // The table answers again: the next sync carries what was admitted without it, and the
    // instance goes back to the company's limit.
    let table = Db::from_env().await.unwrap();
    assert_eq!(rate_limit::stored_count(&table, &company, None, &limits, Utc::now()).await.unwrap(), 0);
    cut.cut.store(false, Ordering::SeqCst);
    let mut admitted_again = false;
    for _ in 0..200 {
        if limiter.admit(&company, "user-0", Utc::now()) == Verdict::Allowed {
            admitted_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(admitted_again, "the instance admits again once the table answers");
    let stored = rate_limit::stored_count(&table, &company, None, &limits, Utc::now()).await.unwrap();
    assert_eq!(stored, tenant_share, "the admissions made without the table reached it");
}
