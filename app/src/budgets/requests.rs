//! The budgets area's server functions, behind `mod.rs`: who may ask (checked here again, on
//! top of the policy table, including ownership), then the store and the figures.

use super::evaluate::{self, figures, DataBasis, Figures};
use super::store::{self, AlertRow, Budget};
use super::threshold::Threshold;
use super::*;
use crate::calendar::{add_months, Period};
use crate::context::{require, require_user};
use crate::costs::money::cents;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};

fn label(b: &Budget, p: Period) -> String {
    let first = spec::month_text(p.start);
    match b.spec.period {
        spec::PeriodKind::Monthly => first,
        _ => format!("{first} – {}", spec::month_text(add_months(p.end, -1))),
    }
}

pub fn period_view(b: &Budget, f: &Figures, today: time::Date) -> PeriodView {
    let amount = b.spec.amount;
    let percent = if amount.is_zero() {
        Decimal::ZERO
    } else {
        (f.actual * Decimal::ONE_HUNDRED / amount).round()
    };
    PeriodView {
        label: label(b, f.period),
        start: crate::util::fmt_date(f.period.start),
        amount: cents(amount),
        actual: cents(f.actual),
        actual_exact: f.actual.normalize().to_string(),
        forecast: cents(f.forecast.amount),
        remaining: cents(amount - f.actual),
        variance: cents(f.forecast.amount - amount),
        used_percent: format!("{percent}%"),
        state: f.state,
        forecast_basis: f.forecast.basis.clone(),
        closed: today >= f.period.end,
    }
}

/// The last closed period of the budget, if it has one.
fn last_closed(b: &Budget, today: time::Date) -> Option<Period> {
    let p = b
        .spec
        .period_of(today.previous_day()?)
        .filter(|p| p.end <= today);
    p.or_else(|| {
        let current = b.spec.period_of(today)?;
        b.spec.period_of(current.start - time::Duration::days(1))
    })
    .or_else(|| {
        let e = b.spec.end.filter(|e| *e <= today)?;
        b.spec.period_of(e - time::Duration::days(1))
    })
}

fn summary(
    basis: &DataBasis,
    b: &Budget,
    open: &HashMap<i64, usize>,
    attested: &HashSet<(i64, String)>,
) -> Result<BudgetSummary, AppError> {
    let current = match b.spec.period_of(basis.today) {
        Some(p) => Some(period_view(b, &figures(basis, b, p)?, basis.today)),
        None => None,
    };
    let attestation_due = last_closed(b, basis.today)
        .map(|p| crate::util::fmt_date(p.start))
        .filter(|p| !attested.contains(&(b.id, p.clone())));
    Ok(BudgetSummary {
        id: b.id,
        name: b.spec.name.clone(),
        owner: b.owner_name.clone(),
        owner_id: b.owner_id,
        deputy: b.deputy_name.clone(),
        period: b.spec.period.as_str().into(),
        amount: cents(b.spec.amount),
        currency: b.spec.currency.clone(),
        scope: b.spec.scope.describe(),
        current,
        open_alerts: open.get(&b.id).copied().unwrap_or(0),
        attestation_due,
    })
}

async fn attested(state: &crate::state::AppState) -> Result<HashSet<(i64, String)>, AppError> {
    Ok(store::attestations(&state.db, None)
        .await?
        .into_iter()
        .map(|a| (a.budget_id, a.period_start))
        .collect())
}

/// Unacknowledged alerts per budget.
fn open_alerts(alerts: &[AlertRow]) -> HashMap<i64, usize> {
    let mut m = HashMap::new();
    for a in alerts.iter().filter(|a| a.acknowledged_at.is_none()) {
        *m.entry(a.budget_id).or_insert(0) += 1;
    }
    m
}

fn matches(s: &BudgetSummary, f: &BudgetFilter) -> bool {
    let state_ok = match f.state.as_str() {
        "" => true,
        "at-risk" => matches!(
            s.state(),
            Some(BudgetState::Warning | BudgetState::Breached)
        ),
        st => s.state().is_some_and(|x| x.as_str() == st),
    };
    let owner_ok = f.owner.is_empty() || f.owner == s.owner_id.to_string();
    let q = f.q.trim().to_lowercase();
    let q_ok =
        q.is_empty() || s.name.to_lowercase().contains(&q) || s.scope.to_lowercase().contains(&q);
    state_ok && owner_ok && q_ok
}

/// Every budget's summary as of now (the list, the dashboard's tile); `only` keeps those
/// the user owns or deputises.
///
/// Kept per data version (the audit chain's head and the minute): every change to budgets,
/// alerts, attestations or cost data writes an audit event, so a change is seen on the next
/// request, and 1,000 budgets are summed once per change, not once per page view.
pub async fn summaries(
    state: &crate::state::AppState,
    only: Option<i64>,
) -> Result<Vec<BudgetSummary>, AppError> {
    let now = state.clock.now();
    let version = crate::state::data_version(state).await?;
    let key = (version.seq, version.minute);
    let all = match state
        .budget_summaries
        .get::<Vec<(Vec<i64>, BudgetSummary)>>(key)
    {
        Some(all) => all,
        None => {
            let basis = evaluate::basis(&state.db, &state.cost_cube, now).await?;
            let open = open_alerts(&store::alerts(state.db.pool()).await?);
            let done = attested(state).await?;
            let all = store::all(state.db.pool())
                .await?
                .iter()
                .map(|b| {
                    let people = std::iter::once(b.owner_id).chain(b.deputy_id).collect();
                    Ok((people, summary(&basis, b, &open, &done)?))
                })
                .collect::<Result<Vec<_>, AppError>>()?;
            let all = std::sync::Arc::new(all);
            state.budget_summaries.put(key, all.clone());
            all
        }
    };
    Ok(all
        .iter()
        .filter(|(people, _)| only.is_none_or(|u| people.contains(&u)))
        .map(|(_, s)| s.clone())
        .collect())
}

pub async fn list(filter: BudgetFilter) -> Result<BudgetList, AppError> {
    let su = require(Permission::ViewBudgets)?;
    let state = app_state()?;
    let all = summaries(&state, None).await?;
    let counts = BudgetState::ALL
        .iter()
        .map(|st| (*st, all.iter().filter(|s| s.state() == Some(*st)).count()))
        .collect();
    let mut owners: Vec<(i64, String)> =
        all.iter().map(|s| (s.owner_id, s.owner.clone())).collect();
    owners.sort_by(|a, b| a.1.cmp(&b.1));
    owners.dedup();
    Ok(BudgetList {
        rows: all.into_iter().filter(|s| matches(s, &filter)).collect(),
        owners,
        counts,
        can_manage: su.user.can(Permission::ManageBudgets),
        attestation_control: super::attest::control(state.db.pool()).await?.map(|c| c.1),
    })
}

pub async fn mine() -> Result<Vec<BudgetSummary>, AppError> {
    let su = require(Permission::ViewOwnWork)?;
    summaries(&app_state()?, Some(su.user.id)).await
}

/// The most periods a budget page lists.
const HISTORY: usize = 24;

pub async fn detail(id: i64) -> Result<BudgetDetail, AppError> {
    let su = require_user()?;
    let state = app_state()?;
    let b = store::get(&state.db, id).await?;
    let owns = b.is_owned_by(su.user.id);
    if !owns && !su.user.can(Permission::ViewBudgets) {
        return Err(AppError::Denied(format!(
            "Budget '{}' is neither yours nor one you deputise.",
            b.spec.name
        )));
    }
    let basis = evaluate::basis(&state.db, &state.cost_cube, state.clock.now()).await?;
    let alerts = store::alerts_of(&state.db, id).await?;
    let open = open_alerts(&alerts);
    let attestations = store::attestations(&state.db, Some(id)).await?;
    let done: HashSet<(i64, String)> = attestations
        .iter()
        .map(|a| (a.budget_id, a.period_start.clone()))
        .collect();
    let summary = summary(&basis, &b, &open, &done)?;
    // From today's period (or the last one, when the budget has ended) back to the start.
    let mut history = Vec::new();
    let mut next = b.spec.period_of(basis.today).or_else(|| {
        b.spec
            .end
            .filter(|e| *e <= basis.today)
            .and_then(|e| b.spec.period_of(e - time::Duration::days(1)))
    });
    while let Some(p) = next.filter(|_| history.len() < HISTORY) {
        history.push(period_view(&b, &figures(&basis, &b, p)?, basis.today));
        next = b.spec.period_of(p.start - time::Duration::days(1));
    }
    let current = b
        .spec
        .period_of(basis.today)
        .map(|p| figures(&basis, &b, p))
        .transpose()?;
    let burndown = match &current {
        Some(f) => Some(super::burndown::chart(
            f.period,
            &evaluate::daily(&basis, &b, f.period)?,
            b.spec.amount,
            f,
            basis.settled_until,
            basis.today,
        )),
        None => None,
    };
    let thresholds = b
        .spec
        .thresholds
        .iter()
        .enumerate()
        .map(|(i, t): (usize, &Threshold)| {
            let crossed = current.as_ref().is_some_and(|f| f.thresholds[i].2);
            (t.describe(), cents(t.amount_for(b.spec.amount)), crossed)
        })
        .collect();
    let alerts = alerts
        .into_iter()
        .map(|a| AlertView {
            id: a.id,
            period: a.period_start.clone(),
            threshold: Threshold::parse(&a.threshold)
                .map(|t| t.describe())
                .unwrap_or(a.threshold),
            threshold_amount: a.threshold_amount,
            value_at_raise: a.value_at_raise,
            raised_at: crate::util::display_ts(&a.raised_at),
            crossed: a.crossed,
            acknowledged: a.acknowledged_at.map(|at| {
                (
                    crate::util::display_ts(&at),
                    a.acknowledged_by.unwrap_or_default(),
                    a.ack_note,
                )
            }),
        })
        .collect();
    let attestations_due = history
        .iter()
        .filter(|p| p.closed && !done.contains(&(b.id, p.start.clone())))
        .take(3)
        .map(|p| {
            (
                p.start.clone(),
                p.label.clone(),
                p.remaining.starts_with('-'),
            )
        })
        .collect();
    let attestations = attestations
        .into_iter()
        .map(|a| AttestationView {
            period: a.period_start,
            statement: a.statement,
            note: a.note,
            actual: a.actual,
            by: a.by,
            at: crate::util::display_ts(&a.at),
            evidence_id: a.evidence_id,
            sha256: a.sha256,
        })
        .collect();
    Ok(BudgetDetail {
        summary,
        form: b.to_form(),
        thresholds,
        history,
        alerts,
        attestations,
        attestations_due,
        attestation_control: super::attest::control(state.db.pool()).await?.map(|c| c.1),
        burndown,
        notes: b.spec.notes.clone(),
        can_manage: su.user.can(Permission::ManageBudgets),
        can_acknowledge: owns,
    })
}

pub async fn save(id: Option<i64>, form: BudgetForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageBudgets)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let id = store::save(&state.db, &ctx, &form, id, state.clock.now()).await?;
    state.budgets_due.notify_one();
    Ok(id)
}

pub async fn attest(
    budget: i64,
    period: String,
    statement: String,
    note: String,
) -> Result<i64, AppError> {
    let su = require_user()?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    super::attest::attest(&state, &ctx, &su.user, budget, &period, &statement, &note).await
}

pub async fn set_control(reference: String) -> Result<(), AppError> {
    let su = require(Permission::ManageBudgets)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    super::attest::set_control(&state, &ctx, &reference).await
}

pub async fn acknowledge(alert: i64, note: String) -> Result<(), AppError> {
    let su = require_user()?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    store::acknowledge(&state.db, &ctx, &su.user, alert, &note, state.clock.now()).await
}
