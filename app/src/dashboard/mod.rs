//! The dashboard: one page for every role, showing only real figures; empty states say what
//! comes next.

use crate::controls::status::ControlStatus;
use crate::error::AppError;
use crate::policy::Role;
use crate::util::display_ts;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardData {
    pub organisation: String,
    pub display_name: String,
    pub role: Role,
    /// Active users per role (administrators only).
    pub users_by_role: Option<Vec<(Role, i64)>>,
    pub inactive_users: Option<i64>,
    /// Audit trail figures (administrators and auditors).
    pub audit: Option<AuditSummary>,
    /// Controls by status per framework, and overall (roles that read compliance).
    pub posture: Option<Posture>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posture {
    pub frameworks: Vec<crate::controls::FrameworkSummary>,
    pub controls: Vec<(ControlStatus, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSummary {
    pub events: i64,
    pub last_at: Option<String>,
    pub failed_logins_24h: i64,
}

#[server(endpoint = "dashboard")]
pub async fn get_dashboard() -> Result<DashboardData, AppError> {
    crate::state::respond(load().await)
}

#[cfg(feature = "ssr")]
async fn load() -> Result<DashboardData, AppError> {
    use crate::policy::Permission;
    let state = crate::state::app_state()?;
    let su = crate::state::require_user()?;
    let pool = state.db.pool();
    let organisation: String = sqlx::query_scalar("SELECT name FROM organisation WHERE id = 1")
        .fetch_optional(pool)
        .await?
        .unwrap_or_else(|| "Your organisation".into());
    let (users_by_role, inactive_users) = if su.user.can(Permission::ManageUsers) {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT role, COUNT(*) FROM users WHERE active = 1 GROUP BY role")
                .fetch_all(pool)
                .await?;
        let by_role = Role::ALL
            .iter()
            .map(|r| {
                (
                    *r,
                    rows.iter()
                        .find(|(n, _)| n == r.as_str())
                        .map(|(_, c)| *c)
                        .unwrap_or(0),
                )
            })
            .collect();
        let inactive: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE active = 0")
            .fetch_one(pool)
            .await?;
        (Some(by_role), Some(inactive))
    } else {
        (None, None)
    };
    let audit = if su.user.can(Permission::ViewAudit) {
        let (events,): (i64,) = sqlx::query_as("SELECT seq FROM audit_head WHERE id = 1")
            .fetch_one(pool)
            .await?;
        let last_at: Option<String> =
            sqlx::query_scalar("SELECT at FROM audit_events ORDER BY seq DESC LIMIT 1")
                .fetch_optional(pool)
                .await?;
        let since = crate::util::ts(state.clock.now() - time::Duration::hours(24));
        let failed_logins_24h: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'auth.login_failed' AND at >= $1",
        )
        .bind(since)
        .fetch_one(pool)
        .await?;
        Some(AuditSummary {
            events,
            last_at,
            failed_logins_24h,
        })
    } else {
        None
    };
    let posture = if su.user.can(Permission::ViewCompliance) {
        let st = crate::controls::store::statuses(pool, state.clock.now().date()).await?;
        let frameworks = crate::controls::store::framework_summaries(pool, &st).await?;
        let controls = ControlStatus::ALL
            .iter()
            .map(|s| (*s, st.values().filter(|d| d.status == *s).count() as i64))
            .collect();
        Some(Posture {
            frameworks,
            controls,
        })
    } else {
        None
    };
    Ok(DashboardData {
        posture,
        organisation,
        display_name: su.user.display_name,
        role: su.user.role,
        users_by_role,
        inactive_users,
        audit,
    })
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_dashboard());
    view! {
        <leptos_meta::Title text="Dashboard · Steward"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => view! { <DashboardView d/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DashboardView(d: DashboardData) -> impl IntoView {
    let role = d.role;
    let sees_spend = matches!(role, Role::Admin | Role::Finance | Role::Auditor);
    view! {
        <h1>{d.organisation.clone()}</h1>
        <p class="lede">"Welcome, " {d.display_name.clone()} ". You are signed in as " <strong>{role.label()}</strong> "."</p>
        <div class="tiles">
            {d.posture.map(|p| {
                let total: i64 = p.controls.iter().map(|(_, n)| n).sum();
                view! {
                <section class="tile" aria-labelledby="tile-posture" id="posture-tile">
                    <h2 id="tile-posture">"Compliance posture"</h2>
                    {if p.frameworks.is_empty() && total == 0 {
                        view! { <p class="empty">"No frameworks or controls yet. "<a href="/frameworks">"Import a framework"</a>" and add controls: this tile then shows controls by status for each framework."</p> }.into_any()
                    } else { view! {
                        <p class="figure">{total}<span class="unit">" controls"</span></p>
                        <ul class="breakdown">
                            {p.controls.into_iter().filter(|(_, n)| *n > 0).map(|(s, n)| view! {
                                <li><a href=format!("/controls?status={}", s.as_str())><span class=format!("status status-{}", s.as_str())>{s.label()}</span></a><span class="num">{n}</span></li>
                            }).collect_view()}
                        </ul>
                        {p.frameworks.into_iter().map(|f| view! {
                            <div class="posture-framework">
                                <a href=format!("/frameworks/{}", f.id)><strong>{f.name.clone()}</strong></a>
                                <crate::controls::CoverageBar label="Covered" n=f.mapped of=f.requirements/>
                                <crate::controls::CoverageBar label="Evidenced" n=f.fresh of=f.requirements/>
                                <p class="muted small">
                                    {f.by_status.iter().filter(|(_, n)| *n > 0).map(|(s, n)| view! {
                                        <a href=format!("/controls?framework={}&status={}", f.id, s.as_str())>{format!("{n} {}", s.label().to_lowercase())}</a>" "
                                    }).collect_view()}
                                </p>
                            </div>
                        }).collect_view()}
                    }.into_any() }}
                </section>
            }})}
            {sees_spend.then(|| view! {
                <section class="tile" aria-labelledby="tile-spend">
                    <h2 id="tile-spend">"Cloud spend"</h2>
                    <p class="empty">"No cost data yet. Once cost reports are imported or synced, this tile shows month-to-date spend against budget."</p>
                </section>
            })}
            {d.users_by_role.map(|by_role| {
                let total: i64 = by_role.iter().map(|(_, n)| n).sum();
                view! {
                    <section class="tile" aria-labelledby="tile-users">
                        <h2 id="tile-users">"People"</h2>
                        <p class="figure">{total}<span class="unit">" active users"</span></p>
                        <ul class="breakdown">
                            {by_role.into_iter().map(|(r, n)| view! { <li><span>{r.label()}</span><span class="num">{n}</span></li> }).collect_view()}
                        </ul>
                        {d.inactive_users.filter(|n| *n > 0).map(|n| view! { <p class="muted">{format!("{n} deactivated")}</p> })}
                        <a href="/admin/users">"Manage users →"</a>
                    </section>
                }
            })}
            {d.audit.map(|a| { let warn = a.failed_logins_24h >= 10; view! {
                <section class="tile" aria-labelledby="tile-audit">
                    <h2 id="tile-audit">"Audit trail"</h2>
                    <p class="figure">{a.events}<span class="unit">" events"</span></p>
                    <p class="muted">{a.last_at.as_deref().map(|t| format!("Latest: {}", display_ts(t))).unwrap_or_else(|| "No events yet".into())}</p>
                    <p class:warn=warn>{format!("{} failed sign-ins in the last 24 hours", a.failed_logins_24h)}</p>
                    <a href="/audit">"Open the audit log →"</a>
                </section>
            }})}
        </div>
    }
}
