//! The dashboard: one page for every role, showing only real figures; empty states say what
//! comes next.

pub mod routes;

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
    /// Cloud spend (roles that read costs).
    pub spend: Option<Spend>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    pub currency: String,
    /// Billed cost, in cents for display.
    pub month_to_date: String,
    pub last_month: String,
    /// Last month up to the same day of the month, for a fair comparison.
    pub last_month_same_days: String,
    /// Month to date against that, in whole percent (None when there is nothing to compare).
    pub trend: Option<String>,
    pub up: bool,
    /// The most recent day with cost data.
    pub latest_day: Option<String>,
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
    load().await
}

#[cfg(feature = "ssr")]
async fn load() -> Result<DashboardData, AppError> {
    use crate::policy::Permission;
    let state = crate::state::app_state()?;
    let su = crate::context::require_user()?;
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
    let spend = if su.user.can(Permission::ViewCosts) {
        Some(spend(&state.db, &state.cost_cube, state.clock.now().date()).await?)
    } else {
        None
    };
    Ok(DashboardData {
        spend,
        posture,
        organisation,
        display_name: su.user.display_name,
        role: su.user.role,
        users_by_role,
        inactive_users,
        audit,
    })
}

#[cfg(feature = "ssr")]
async fn spend(
    db: &crate::db::Db,
    cube: &crate::costs::cube::Cube,
    today: time::Date,
) -> Result<Spend, AppError> {
    use crate::costs::cube::Metric;
    use crate::costs::report::cents;
    use rust_decimal::Decimal;
    use time::Duration;
    let snap = cube.snapshot(db).await?;
    let currencies = &snap.choices.currencies;
    let currency = if currencies.iter().any(|c| c == "USD") || currencies.is_empty() {
        "USD".to_string()
    } else {
        currencies[0].clone()
    };
    let month_start = today.replace_day(1).unwrap_or(today);
    let last_start = (month_start - Duration::days(1))
        .replace_day(1)
        .unwrap_or(month_start);
    let tomorrow = today + Duration::days(1);
    // The same number of days into last month, capped at its end.
    let same = (last_start + (tomorrow - month_start)).min(month_start);
    let mtd = snap.total(month_start, tomorrow, &currency, Metric::Billed)?;
    let last = snap.total(last_start, month_start, &currency, Metric::Billed)?;
    let last_same = snap.total(last_start, same, &currency, Metric::Billed)?;
    let trend = (!last_same.is_zero()).then(|| {
        let p = ((mtd - last_same) * Decimal::from(100) / last_same.abs()).round();
        format!("{}{p}%", if p.is_sign_positive() { "+" } else { "" })
    });
    let latest_day = snap.choices.latest_day.map(crate::util::fmt_date);
    Ok(Spend {
        currency,
        month_to_date: cents(mtd),
        last_month: cents(last),
        last_month_same_days: cents(last_same),
        trend,
        up: mtd > last_same,
        latest_day,
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
            {d.spend.map(|sp| view! {
                <section class="tile" aria-labelledby="tile-spend" id="spend-tile">
                    <h2 id="tile-spend">"Cloud spend"</h2>
                    {match sp.latest_day.clone() {
                        None => view! { <p class="empty">"No cost data yet. "<a href="/costs/import">"Import a FOCUS or CUR file"</a>" to see spend here."</p> }.into_any(),
                        Some(latest) => view! {
                            <p class="figure" id="spend-mtd">{sp.month_to_date.clone()}<span class="unit">{format!(" {} month to date", sp.currency)}</span></p>
                            <p>{format!("Last month: {} {}", sp.last_month, sp.currency)}</p>
                            <p class:warn=sp.up>{match &sp.trend {
                                Some(t) => format!("{} {t} against the same days last month ({})", if sp.up { "▲" } else { "▼" }, sp.last_month_same_days),
                                None => "No spend in the same days last month to compare with.".to_string(),
                            }}</p>
                            <p class="muted">{format!("Latest cost data: {latest}")}</p>
                            <a href="/costs">"Open the cost explorer →"</a>
                        }.into_any(),
                    }}
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
