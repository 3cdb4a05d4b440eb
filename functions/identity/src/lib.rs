//! Identity: who may do what. Today: the permission matrix (`GET /api/permissions/roles`) and the
//! caller's own permissions (`GET /api/permissions/me`). Sign-up, sessions and user management
//! belong to this context too.

mod permissions;

use keel_http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use permissions::{MyPermissions, RolePermissions};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(permissions::roles)).routes(routes!(permissions::me))
}

pub fn router(state: AppState) -> axum::Router {
    routes().split_for_parts().0.with_state(state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}
