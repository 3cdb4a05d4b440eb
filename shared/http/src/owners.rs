//! Records are owned by the company's own active people: an `owner_id` that names nobody, a
//! deactivated user or another company's user is refused.

use keel_store::{Db, StoreError, TenantKeys};

use crate::ApiError;

/// Whether `user_id` is an active user of the company. 1 GetItem.
pub async fn is_active_user(db: &Db, keys: &TenantKeys, user_id: &str) -> Result<bool, StoreError> {
    Ok(db
        .get(&keys.user(user_id), "USER")
        .await?
        .and_then(|user| user.get("active").and_then(|v| v.as_bool().ok()).copied())
        .unwrap_or(false))
}

/// Refuses an owner who is not an active user of the company (422 naming `field`).
pub async fn require_active(db: &Db, keys: &TenantKeys, owner: &str, field: &str) -> Result<(), ApiError> {
    if is_active_user(db, keys, owner).await? {
        Ok(())
    } else {
        Err(ApiError::rule(field, "must be an active user of your company"))
    }
}

/// Refuses a lead owner who is not an active user of the company who can work leads (a viewer
/// only reads): the owner a capture channel gives its leads. 1 GetItem.
pub async fn require_lead_owner(db: &Db, keys: &TenantKeys, owner: &str, field: &str) -> Result<(), ApiError> {
    let user = db.get(&keys.user(owner), "USER").await?;
    let active = user.as_ref().and_then(|u| u.get("active")).and_then(|v| v.as_bool().ok()).copied();
    let role = user.as_ref().and_then(|u| u.get("role")).and_then(|v| v.as_s().ok());
    match (active, role.map(String::as_str)) {
        (Some(true), Some(role)) if role != crate::Role::Viewer.as_str() => Ok(()),
        (Some(true), _) => Err(ApiError::rule(field, "must be a user who can work leads (not a viewer)")),
        _ => Err(ApiError::rule(field, "must be an active user of your company")),
    }
}

/// An edit's `owner_id`: left out keeps the owner; an empty one would name nobody (400), since a
/// record always has an owner.
pub fn refuse_blank(owner_id: Option<&str>) -> Result<(), ApiError> {
    if owner_id.is_some_and(|o| o.trim().is_empty()) {
        return Err(ApiError::field("owner_id", "must name a user of the company (leave it out to keep the owner)"));
    }
    Ok(())
}
