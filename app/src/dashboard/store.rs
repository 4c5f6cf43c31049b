//! The dashboard's SQL: the figures behind each card.

use super::*;
use std::sync::Arc;

/// The figures of every card, for whoever may see them, kept in `AppState::dashboard`. Every
/// change to what they count writes an audit event in its own transaction, so the audit
/// chain's head is their version (`context::DataVersion`, read once per request by the guard)
/// and they are recomputed only when it moved or a minute passed (the 24-hour window of
/// failed sign-ins moves with the clock, and the day with it).
struct Cards {
    organisation: String,
    users_by_role: Vec<(Role, i64)>,
    inactive_users: i64,
    audit: AuditSummary,
    posture: Posture,
    /// Each control's status, for a posture narrowed to an auditor's reach.
    control_status: Vec<(i64, ControlStatus)>,
    spend: Spend,
    budgets: BudgetsAtRisk,
    access: AccessTile,
    vendors: VendorTile,
    /// (owner, has a warning) of every owned vendor: "My work" counts from it.
    vendor_owners: Vec<(i64, bool)>,
    retention: RetentionTile,
}

pub(super) async fn load() -> Result<DashboardData, AppError> {
    use crate::policy::Permission;
    let state = crate::state::app_state()?;
    let su = crate::context::require_user()?;
    let now = state.clock.now();
    let version = crate::state::data_version(&state).await?;
    let (seq, key) = (version.seq, (version.seq, version.minute));
    let cards = match state.dashboard.get::<Cards>(key) {
        Some(c) => c,
        None => {
            let c = Arc::new(compute(&state, seq, now).await?);
            state.dashboard.put(key, c.clone());
            c
        }
    };
    let can = |p| su.user.can(p);
    Ok(DashboardData {
        organisation: cards.organisation.clone(),
        display_name: su.user.display_name.clone(),
        role: su.user.role,
        users_by_role: can(Permission::ManageUsers).then(|| cards.users_by_role.clone()),
        inactive_users: can(Permission::ManageUsers).then_some(cards.inactive_users),
        audit: can(Permission::ViewAudit).then(|| cards.audit.clone()),
        posture: match can(Permission::ViewCompliance) {
            true => Some(posture_within(&cards, &state, &su.user).await?),
            false => None,
        },
        spend: can(Permission::ViewCosts).then(|| cards.spend.clone()),
        budgets: can(Permission::ViewBudgets).then(|| cards.budgets.clone()),
        access: can(Permission::ViewAccessReviews).then(|| cards.access.clone()),
        vendors: can(Permission::ViewVendors).then(|| cards.vendors.clone()),
        retention: can(Permission::ViewRetention).then(|| cards.retention.clone()),
        my_work: match can(Permission::ViewOwnWork) {
            true => Some(my_work(&state, &cards, su.user.id).await?),
            false => None,
        },
    })
}

/// The posture card, narrowed for auditors to what their audits cover.
async fn posture_within(
    cards: &Cards,
    state: &crate::state::AppState,
    user: &crate::context::CurrentUser,
) -> Result<Posture, AppError> {
    use crate::audits::reach::Reach;
    let reach = Reach::of(state.db.pool(), user).await?;
    if reach == Reach::Everything {
        return Ok(cards.posture.clone());
    }
    Ok(Posture {
        frameworks: (cards.posture.frameworks.iter())
            .filter(|f| reach.framework(f.id))
            .cloned()
            .collect(),
        controls: ControlStatus::ALL
            .iter()
            .map(|s| {
                let n = (cards.control_status.iter())
                    .filter(|(id, c)| c == s && reach.control(*id))
                    .count();
                (*s, n as i64)
            })
            .collect(),
    })
}

/// The tile for what the user owns (not shared between users: computed per request).
async fn my_work(
    state: &crate::state::AppState,
    cards: &Cards,
    user: i64,
) -> Result<MyWork, AppError> {
    let mine = crate::budgets::requests::summaries(state, Some(user)).await?;
    let pool = state.db.pool();
    let access_entries: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_entries e JOIN access_campaigns c ON c.id = e.campaign_id \
         WHERE e.reviewer_id = $1 AND e.decision IS NULL AND c.status = 'in_review'",
    )
    .bind(user)
    .fetch_one(pool)
    .await?;
    let remediation_items: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_remediations r JOIN access_campaigns c ON c.id = r.campaign_id \
         WHERE r.assignee_id = $1 AND r.status = 'open' AND c.status = 'remediation'",
    )
    .bind(user)
    .fetch_one(pool)
    .await?;
    let owned = (cards.vendor_owners.iter()).filter(|(o, _)| *o == user);
    Ok(MyWork {
        vendors: owned.clone().count(),
        vendor_warnings: owned.filter(|(_, warned)| *warned).count(),
        access_entries,
        remediation_items,
        budgets: mine.len(),
        at_risk: mine
            .iter()
            .filter(|b| {
                b.state()
                    .is_some_and(|s| s != crate::budgets::BudgetState::Ok)
            })
            .count(),
        open_alerts: mine.iter().map(|b| b.open_alerts).sum(),
        attestations_due: mine.iter().filter(|b| b.attestation_due.is_some()).count(),
    })
}

/// The budgets tile: the same summaries and states as the budgets list, so its numbers are
/// the list's (`/budgets?state=at-risk`).
async fn budgets_at_risk(state: &crate::state::AppState) -> Result<BudgetsAtRisk, AppError> {
    use crate::budgets::BudgetState;
    let all = crate::budgets::requests::summaries(state, None).await?;
    let count = |s: BudgetState| all.iter().filter(|b| b.state() == Some(s)).count();
    let mut at_risk: Vec<(i64, String, String, BudgetState)> = all
        .iter()
        .filter_map(|b| {
            let s = b.state().filter(|s| *s != BudgetState::Ok)?;
            Some((b.id, b.name.clone(), b.owner.clone(), s))
        })
        .collect();
    at_risk.sort_by(|a, b| b.3.cmp(&a.3).then_with(|| a.1.cmp(&b.1)));
    Ok(BudgetsAtRisk {
        total: all.len(),
        warning: count(BudgetState::Warning),
        breached: count(BudgetState::Breached),
        at_risk,
    })
}

async fn compute(
    state: &crate::state::AppState,
    seq: i64,
    now: time::OffsetDateTime,
) -> Result<Cards, AppError> {
    let pool = state.db.pool();
    let organisation: String = sqlx::query_scalar("SELECT name FROM organisation WHERE id = 1")
        .fetch_optional(pool)
        .await?
        .unwrap_or_else(|| "Your organisation".into());
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT role, COUNT(*) FROM users WHERE active = 1 GROUP BY role")
            .fetch_all(pool)
            .await?;
    let users_by_role = Role::ALL
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
    let inactive_users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE active = 0")
        .fetch_one(pool)
        .await?;
    let last_at: Option<String> =
        sqlx::query_scalar("SELECT at FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(pool)
            .await?;
    let since = crate::util::ts(now - time::Duration::hours(24));
    let failed_logins_24h: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'auth.login_failed' AND at >= $1",
    )
    .bind(since)
    .fetch_one(pool)
    .await?;
    let (vendors, vendor_owners) = vendors(state, now.date()).await?;
    let st = crate::controls::store::statuses(pool, now.date()).await?;
    let frameworks = crate::controls::store::framework_summaries(pool, &st).await?;
    let controls = ControlStatus::ALL
        .iter()
        .map(|s| (*s, st.values().filter(|d| d.status == *s).count() as i64))
        .collect();
    Ok(Cards {
        organisation,
        users_by_role,
        inactive_users,
        audit: AuditSummary {
            events: seq,
            last_at,
            failed_logins_24h,
        },
        posture: Posture {
            frameworks,
            controls,
        },
        control_status: st.iter().map(|(id, d)| (*id, d.status)).collect(),
        spend: spend(&state.db, &state.cost_cube, now.date()).await?,
        budgets: budgets_at_risk(state).await?,
        access: access(pool, now.date()).await?,
        vendors,
        vendor_owners,
        retention: {
            let (disposals_due, held_due, active_holds) =
                crate::retention::store::counts(pool, now.date()).await?;
            RetentionTile {
                disposals_due,
                held_due,
                active_holds,
            }
        },
    })
}

/// The vendor tile, and (owner, has a warning) of each owned vendor; spend is read so spend
/// above contract value counts too.
async fn vendors(
    state: &crate::state::AppState,
    today: time::Date,
) -> Result<(VendorTile, Vec<(i64, bool)>), AppError> {
    let mut reg = crate::vendors::store::register(state.db.pool(), None).await?;
    let snap = state.cost_cube.snapshot(&state.db).await?;
    reg.with_spend(&snap, today)?;
    let all: Vec<_> = (reg.vendors.iter())
        .map(|v| (v.owner_id, crate::vendors::store::summarize(&reg, v, today)))
        .collect();
    let owners = (all.iter())
        .filter_map(|(o, s)| Some(((*o)?, !s.warnings.is_empty())))
        .collect();
    let all: Vec<_> = all.into_iter().map(|(_, s)| s).collect();
    let within = |d: &str, days: i64| {
        crate::util::parse_date(d).is_some_and(|d| (d - today).whole_days() <= days)
    };
    let tile = VendorTile {
        total: all.len(),
        needing_action: all.iter().filter(|s| !s.warnings.is_empty()).count(),
        notices_due: (all.iter())
            .filter(|s| {
                s.notice_deadline
                    .as_ref()
                    .is_some_and(|(d, _)| within(d, 60))
            })
            .count(),
        reviews_due: all.iter().filter(|s| within(&s.next_review, 30)).count(),
    };
    Ok((tile, owners))
}

async fn access(pool: &sqlx::AnyPool, today: time::Date) -> Result<AccessTile, AppError> {
    let open_campaigns: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_campaigns WHERE status IN ('in_review', 'remediation')",
    )
    .fetch_one(pool)
    .await?;
    let overdue_entries: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_entries e JOIN access_campaigns c ON c.id = e.campaign_id \
         WHERE c.status = 'in_review' AND e.decision IS NULL AND c.due_date < $1",
    )
    .bind(crate::util::fmt_date(today))
    .fetch_one(pool)
    .await?;
    let unverified: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_remediations r JOIN access_campaigns c ON c.id = r.campaign_id \
         WHERE c.status = 'remediation' AND r.status = 'open'",
    )
    .fetch_one(pool)
    .await?;
    Ok(AccessTile {
        open_campaigns,
        overdue_entries,
        unverified,
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
