//! The dashboard's SQL: the figures behind each card.

use super::*;

pub(super) async fn load() -> Result<DashboardData, AppError> {
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
    let this_month = crate::calendar::month_of(today);
    let last_month = crate::calendar::month_of(crate::calendar::add_months(this_month.start, -1));
    let tomorrow = today + Duration::days(1);
    // The same number of days into last month, capped at its end.
    let same = (last_month.start + (tomorrow - this_month.start)).min(last_month.end);
    let mtd = snap.total(this_month.start, tomorrow, &currency, Metric::Billed)?;
    let last = snap.total(last_month.start, last_month.end, &currency, Metric::Billed)?;
    let last_same = snap.total(last_month.start, same, &currency, Metric::Billed)?;
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
