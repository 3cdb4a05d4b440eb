//! The HTTP edge every function shares: verified tenant context from the bearer token, RFC 9457
//! problems, strict JSON bodies, request ids, structured logs and the common middleware stack.

pub mod accounts;
pub mod auth;
pub mod conditional;
pub mod idempotency;
pub mod json;
pub mod layers;
pub mod links;
pub mod openapi;
pub mod owners;
pub mod page;
pub mod path;
pub mod permissions;
pub mod problem;
pub mod query;
pub mod request_meta;
pub mod revocation;
pub mod secrets;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod version;

pub use auth::{Claims, CompanyScope, Role, TenantContext, TokenIssuer, TokenVerifier};
pub use idempotency::IdempotentCreate;
pub use json::ApiJson;
pub use layers::with_edge;
pub use page::{Page, Pager};
pub use path::{ApiPath, Id};
pub use permissions::Permission;
pub use problem::{ApiError, Problem};
pub use query::parse_query;
pub use request_meta::RequestMeta;
pub use settings::Settings;
pub use state::AppState;
