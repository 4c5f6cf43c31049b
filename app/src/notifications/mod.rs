//! Notifications: one durable outbox for every area. An event (a budget alert, an escalation,
//! later review reminders and renewals) writes its messages in its own transaction
//! (`store::enqueue`): in-app for each recipient (the bell), email to those who want it, and
//! one per subscribed webhook. A worker (`deliver`) sends email and webhooks with retries and
//! backoff; dead letters wait for an administrator's retry on `/admin/deliveries`.

pub mod pages;
pub mod routes;

#[cfg(feature = "ssr")]
pub mod deliver;
#[cfg(feature = "ssr")]
pub mod reminders;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use leptos::prelude::*;
pub use pages::*;
use serde::{Deserialize, Serialize};

/// Something to tell people, from one event.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct Notice {
    /// Unique per event ("budget.alert:12"): enqueueing the same key again adds nothing.
    pub key: String,
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
    /// A path in Steward ("/budgets/3").
    pub link: String,
    pub to: Vec<i64>,
}

/// A message being delivered.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub event_key: String,
    pub kind: String,
    pub channel: String,
    pub address: String,
    pub subject: String,
    pub body: String,
    pub link: String,
    pub attempts: i64,
    pub created_at: String,
    pub secret: String,
    /// Held for the recipient's daily digest.
    pub digest: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub link: String,
    pub created_at: String,
    pub read: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    pub items: Vec<InboxItem>,
    pub unread: i64,
    /// Email at all, and the kinds not wanted by email.
    pub email: bool,
    pub muted: Vec<String>,
    pub has_address: bool,
    /// One email a day (07:00 UTC) instead of one per message.
    pub digest: bool,
}

/// The kinds of message people can switch off by email (in-app always arrives).
pub const KINDS: [(&str, &str); 7] = [
    ("budget.alert", "Budget alerts on budgets you own"),
    ("budget.escalation", "Budget alerts escalated to finance"),
    (
        "controls.reminder",
        "Evidence due soon or overdue on your controls",
    ),
    (
        "audit.request",
        "Audit requests: assigned to you, answered, returned, due soon",
    ),
    (
        "access.review",
        "Access reviews: entries to decide, escalations, remediation",
    ),
    (
        "vendor.reminder",
        "Vendors you own: notice deadlines, reviews and reports coming due",
    ),
    (
        "retention.reminder",
        "Retention: disposals due, legal holds keeping them, rule reviews",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub kind: String,
    pub channel: String,
    pub address: String,
    pub subject: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: String,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub next_attempt_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliveries {
    pub rows: Vec<DeliveryRow>,
    /// (status, count) over all email and webhook messages.
    pub counts: Vec<(String, i64)>,
    /// (id, url, events, active).
    pub webhooks: Vec<(i64, String, String, bool)>,
}

/// `store::MAX_ATTEMPTS` for the page (the store is server-only).
pub const MAX_ATTEMPTS_TEXT: &str = "8";

/// How many messages the inbox page lists.
pub const INBOX_SHOWN: i64 = 100;

#[server(endpoint = "inbox")]
pub async fn get_inbox() -> Result<Inbox, AppError> {
    let su = crate::context::require_user()?;
    let state = crate::state::app_state()?;
    let (items, unread) = store::inbox(&state.db, su.user.id, INBOX_SHOWN).await?;
    let (email, muted, has_address, digest) = store::prefs(&state.db, su.user.id).await?;
    Ok(Inbox {
        items,
        unread,
        email,
        muted,
        has_address,
        digest,
    })
}

pub use prefs::*;

/// One plain argument a kind keeps the form's checkbox names stable (`kind_<n>`); the
/// server macro makes a client function of the same arguments, hence the module-wide allow.
mod prefs {
    #![allow(clippy::too_many_arguments)]
    use super::*;

    /// Which messages come by email: `email` on at all, and each kind by its own checkbox
    /// (`kind_<n>` for `KINDS[n]`, present when wanted).
    #[server(endpoint = "save_preferences")]
    pub async fn save_preferences(
        email: Option<String>,
        digest: Option<String>,
        kind_0: Option<String>,
        kind_1: Option<String>,
        kind_2: Option<String>,
        kind_3: Option<String>,
        kind_4: Option<String>,
        kind_5: Option<String>,
        kind_6: Option<String>,
    ) -> Result<(), AppError> {
        let su = crate::context::require_user()?;
        let state = crate::state::app_state()?;
        let ctx = crate::state::audit_ctx(&state, Some(&su.user));
        // One argument a kind: `KINDS` and this list grow together (the array length checks it).
        let wanted: [bool; KINDS.len()] = [
            kind_0.is_some(),
            kind_1.is_some(),
            kind_2.is_some(),
            kind_3.is_some(),
            kind_4.is_some(),
            kind_5.is_some(),
            kind_6.is_some(),
        ];
        let muted: Vec<&str> = KINDS
            .iter()
            .zip(wanted)
            .filter(|(_, w)| !w)
            .map(|((k, _), _)| *k)
            .collect();
        let now = state.clock.now();
        let (email, digest) = (email.is_some(), digest.is_some());
        store::save_prefs(&state.db, &ctx, su.user.id, email, &muted, digest, now).await
    }
}

#[server(endpoint = "unread_count")]
pub async fn unread_count() -> Result<i64, AppError> {
    let su = crate::context::require_user()?;
    let state = crate::state::app_state()?;
    store::unread(&state.db, su.user.id).await
}

/// Marks one message read, or all (`id` absent).
#[server(endpoint = "mark_read")]
pub async fn mark_read(id: Option<i64>) -> Result<(), AppError> {
    let su = crate::context::require_user()?;
    let state = crate::state::app_state()?;
    let ctx = crate::state::audit_ctx(&state, Some(&su.user));
    store::mark_read(&state.db, &ctx, su.user.id, id, state.clock.now()).await
}

#[server(endpoint = "list_deliveries")]
pub async fn list_deliveries(status: String) -> Result<Deliveries, AppError> {
    crate::context::require(crate::policy::Permission::ManageNotifications)?;
    let state = crate::state::app_state()?;
    store::deliveries(&state.db, status.trim(), 200).await
}

#[server(endpoint = "retry_delivery")]
pub async fn retry_delivery(id: i64) -> Result<(), AppError> {
    let su = crate::context::require(crate::policy::Permission::ManageNotifications)?;
    let state = crate::state::app_state()?;
    let ctx = crate::state::audit_ctx(&state, Some(&su.user));
    store::retry(&state.db, &ctx, id, state.clock.now()).await?;
    state.outbox_due.notify_one();
    Ok(())
}

/// Adds a webhook; the answer is its secret, shown once.
#[server(endpoint = "add_webhook")]
pub async fn add_webhook(url: String, events: String) -> Result<String, AppError> {
    let su = crate::context::require(crate::policy::Permission::ManageNotifications)?;
    let state = crate::state::app_state()?;
    let ctx = crate::state::audit_ctx(&state, Some(&su.user));
    let (_, secret) = store::add_webhook(&state.db, &ctx, &url, &events, state.clock.now()).await?;
    Ok(secret)
}
