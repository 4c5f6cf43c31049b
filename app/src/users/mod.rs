//! User administration (admins): create users, set roles, deactivate, reset passwords.

pub mod pages;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use crate::policy::Role;
use leptos::prelude::*;
pub use pages::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub active: bool,
    /// Last day of access (auditors), `YYYY-MM-DD`.
    pub access_until: Option<String>,
    pub created_at: String,
    pub last_login_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: String,
    pub password: String,
    pub access_until: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserChange {
    pub id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub role: String,
    /// A checkbox: present ("on") when checked.
    pub active: Option<String>,
    pub access_until: Option<String>,
}

#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    let state = crate::state::app_state()?;
    store::list(&state.db).await
}

#[server(endpoint = "create_user")]
pub async fn create_user(user: NewUser) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let admin = crate::context::require_user()?;
    let ctx = crate::state::audit_ctx(&state, Some(&admin.user));
    store::create(
        &state.db,
        &state.hasher,
        &ctx,
        user,
        true,
        state.clock.now(),
    )
    .await?;
    Ok(())
}

#[server(endpoint = "update_user")]
pub async fn update_user(change: UserChange) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let admin = crate::context::require_user()?;
    let ctx = crate::state::audit_ctx(&state, Some(&admin.user));
    store::update(&state.db, &ctx, change, state.clock.now()).await
}

#[server(endpoint = "reset_password")]
pub async fn reset_password(id: i64, password: String) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let admin = crate::context::require_user()?;
    let ctx = crate::state::audit_ctx(&state, Some(&admin.user));
    store::reset_password(
        &state.db,
        &state.hasher,
        &ctx,
        id,
        &password,
        state.clock.now(),
    )
    .await
}
