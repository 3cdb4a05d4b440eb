//! Test support: every test gets its own tenant on the shared local stack (started by
//! `infra/stack/stack.py`), tokens for any role, and in-process requests through the same router
//! and middleware the Lambda serves.

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use keel_http::state::TokenSettings;
use keel_http::{with_edge, AppState, Role, TokenIssuer};
use keel_store::Db;
use serde_json::Value;
use tower::ServiceExt;
use ulid::Ulid;

/// One function's router wired to the local stack, with its own request counter.
pub struct TestApp {
    pub state: AppState,
    pub issuer: TokenIssuer,
    router: Router,
    /// The caller's address on every request (own per app, so per-address limits of one test
    /// never meet another's).
    pub source: std::net::SocketAddr,
}

/// A tenant no other test uses.
#[derive(Clone)]
pub struct Tenant {
    pub id: String,
    pub user_id: String,
    issuer: TokenIssuer,
}

impl Tenant {
    pub fn token(&self, role: Role) -> String {
        self.issuer.token(&self.id, &self.user_id, role, 900)
    }

    pub fn admin(&self) -> String {
        self.token(Role::Admin)
    }

    pub fn path(&self, rest: &str) -> String {
        format!("/api/companies/{}{rest}", self.id)
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The fields named in a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
}

fn require_stack() -> TokenSettings {
    TokenSettings::from_env().unwrap_or_else(|e| {
        panic!("{e}: run tests through `make test` (it starts the local stack and exports its settings)")
    })
}

impl TestApp {
    pub async fn new(router: impl FnOnce(AppState) -> Router) -> TestApp {
        let db = Db::from_env().await.expect("KEEL_TABLE from the local stack");
        TestApp::with_db(db, router)
    }

    /// The same, on a table handle the test built itself (for example with faults injected).
    pub fn with_db(db: Db, router: impl FnOnce(AppState) -> Router) -> TestApp {
        let state = AppState::new(db, &require_stack()).expect("token settings from the local stack");
        let router = with_edge(router(state.clone()));
        TestApp::with_router(state, router)
    }

    /// Requests go to `router` as it is (already behind its edge, e.g. the dev gateway); `state`
    /// is the test's own handle on the table.
    pub fn with_router(state: AppState, router: Router) -> TestApp {
        let issuer = require_stack().issuer().expect("the local stack's signing key");
        let n = Ulid::new().random();
        let source = std::net::SocketAddr::from(([127, (n >> 16) as u8, (n >> 8) as u8, n as u8 | 1], 40000));
        TestApp { router, issuer, state, source }
    }

    /// A new tenant with its user: the user item exists, as for every token identity mints (a token
    /// of a user without one is refused), active and with no revocation.
    pub async fn tenant(&self) -> Tenant {
        let tenant = Tenant {
            id: Ulid::new().to_string(),
            user_id: format!("user-{}", Ulid::new()),
            issuer: self.issuer.clone(),
        };
        self.add_user(&tenant, &tenant.user_id.clone(), Role::Admin).await;
        tenant
    }

    /// A platform operator (its item written under the reserved `_platform` tenant, as
    /// `keel-dev operator create` writes it) and a token for them.
    pub async fn operator_token(&self) -> String {
        let platform = Tenant {
            id: keel_store::PLATFORM_TENANT.to_string(),
            user_id: format!("operator-{}", Ulid::new()),
            issuer: self.issuer.clone(),
        };
        let user = platform.user_id.clone();
        self.user_token(&platform, &user, Role::Operator).await
    }

    /// Another user of `tenant` with `role` (its user item written), and a token for them.
    pub async fn user_token(&self, tenant: &Tenant, user_id: &str, role: Role) -> String {
        self.add_user(tenant, user_id, role).await;
        self.issuer.token(&tenant.id, user_id, role, 900)
    }

    async fn add_user(&self, tenant: &Tenant, user_id: &str, role: Role) {
        let keys = keel_store::TenantKeys::new(&tenant.id);
        let s = |v: &str| keel_store::AttributeValue::S(v.to_string());
        self.state
            .db
            .client
            .put_item()
            .table_name(&self.state.db.table)
            .item("pk", s(&keys.user(user_id)))
            .item("sk", s("USER"))
            .item("entity", s("user"))
            // Listed in the company's users, as identity lists them.
            .item("gsi1pk", s(&keys.key("USERS")))
            .item("gsi1sk", s(user_id))
            .item("user_id", s(user_id))
            .item("company_id", s(&tenant.id))
            .item("email", s(&format!("{}@tenant.example", user_id.to_lowercase())))
            .item("full_name", s("Test User"))
            .item("role", s(role.as_str()))
            .item("active", keel_store::AttributeValue::Bool(true))
            .item("created_at", s("2026-01-01T00:00:00Z"))
            .send()
            .await
            .expect("a user item");
    }

    pub fn router(&self) -> Router {
        self.router.clone()
    }

    pub async fn send(&self, mut request: Request<Body>) -> TestResponse {
        request.extensions_mut().insert(axum::extract::ConnectInfo(self.source));
        let response = self.router.clone().oneshot(request).await.expect("router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        TestResponse { status, headers, body }
    }

    /// A JSON request with an optional bearer token and extra headers.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        for (k, v) in extra {
            builder = builder.header(*k, *v);
        }
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty);
        self.send(builder.body(body).expect("valid request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> TestResponse {
        self.call(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(token), Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> TestResponse {
        self.call(Method::PATCH, path, Some(token), Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> TestResponse {
        self.call(Method::DELETE, path, Some(token), None, &[]).await
    }

    /// DynamoDB requests by operation since the last call.
    pub fn take_requests(&self) -> std::collections::BTreeMap<String, u64> {
        self.state.db.requests.take()
    }
}

/// The local stack's token signer (for routers that issue tokens themselves).
pub fn issuer() -> TokenIssuer {
    require_stack().issuer().expect("the local stack's signing key")
}

/// Roles in the order tests iterate them.
pub const ROLES: [Role; 4] = [Role::Admin, Role::Manager, Role::SalesRep, Role::Viewer];
