//! The retention schedule's server functions: categories, where they are held, rules and
//! tracked records. Compliance manages; finance reads. Every field is checked and named when
//! wrong; every write is audited in its transaction; a rule's change moves its records'
//! disposal dates in the same transaction.

use super::schedule::{self, ACTIONS, TRIGGERS};
use super::store;
use super::*;
use crate::calendar::IsoDuration;
use crate::context::require;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use crate::util::{fmt_date, parse_date};

pub(super) use crate::fields::{finish as fail, required, text};

/// The fewest days a duration can span (months of 28 days, years of 365): what the audit
/// trail's minimum is checked against, so no calendar makes it shorter.
pub fn min_days(d: &IsoDuration) -> i64 {
    i64::from(d.years) * 365 + i64::from(d.months) * 28 + i64::from(d.weeks) * 7 + i64::from(d.days)
}

pub async fn schedule() -> Result<ScheduleView, AppError> {
    let su = require(Permission::ViewRetention)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let now = state.clock.now();
    Ok(ScheduleView {
        categories: store::categories(pool, now.date()).await?,
        places: store::places(pool).await?,
        own: super::own::plan(&state.db, now, state.audit_min_days).await?,
        audit_min_days: state.audit_min_days,
        can_manage: su.user.can(Permission::ManageRetention),
    })
}

pub async fn save_category(f: CategoryForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageRetention)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut errors = Vec::new();
    let name = required(&mut errors, "name", &f.name, 200, "");
    if name.to_lowercase().starts_with("steward:") {
        errors.push("name: 'Steward:' names Steward's own built-in categories".into());
    }
    let description = text(&mut errors, "description", &f.description, 2000);
    fail(errors)?;
    let personal = f
        .personal
        .as_deref()
        .is_some_and(|p| p == "true" || p == "on");
    let mut tx = state.db.write().await?;
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM retention_categories WHERE LOWER(name) = $1")
            .bind(name.to_lowercase())
            .fetch_optional(tx.conn())
            .await?;
    if exists.is_some() {
        return Err(AppError::invalid(format!(
            "name: a category '{name}' exists already"
        )));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO retention_categories (name, description, personal, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&name)
    .bind(&description)
    .bind(i64::from(personal))
    .bind(&ctx.at)
    .fetch_one(tx.conn())
    .await?;
    let kind = if personal { " (personal data)" } else { "" };
    tx.audit(ctx.event(
        "retention.category.create",
        "retention_category",
        id,
        format!("data category '{name}'{kind}"),
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn add_location(category_id: i64, place: String) -> Result<(), AppError> {
    let su = require(Permission::ManageRetention)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let (system, vendor) = store::parse_place(&place).map_err(AppError::invalid)?;
    if system.is_none() && vendor.is_none() {
        return Err(AppError::invalid("held in: choose a system or a vendor"));
    }
    let mut tx = state.db.write().await?;
    let category: String =
        sqlx::query_scalar("SELECT name FROM retention_categories WHERE id = $1")
            .bind(category_id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or(AppError::NotFound)?;
    let name: Option<String> = match (system, vendor) {
        (Some(s), _) => sqlx::query_scalar("SELECT name FROM systems WHERE id = $1").bind(s),
        (_, v) => sqlx::query_scalar("SELECT name FROM vendors WHERE id = $1").bind(v),
    }
    .fetch_optional(tx.conn())
    .await?;
    let name = name.ok_or_else(|| AppError::invalid("held in: no such system or vendor"))?;
    let dup: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM retention_locations WHERE category_id = $1 \
         AND (system_id = $2 OR vendor_id = $3)",
    )
    .bind(category_id)
    .bind(system.unwrap_or(-1))
    .bind(vendor.unwrap_or(-1))
    .fetch_one(tx.conn())
    .await?;
    if dup > 0 {
        return Err(AppError::invalid(format!(
            "held in: '{category}' is already recorded as held in {name}"
        )));
    }
    sqlx::query(
        "INSERT INTO retention_locations (category_id, system_id, vendor_id) VALUES ($1, $2, $3)",
    )
    .bind(category_id)
    .bind(system)
    .bind(vendor)
    .execute(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "retention.category.location",
        "retention_category",
        category_id,
        format!("'{category}' held in {name}"),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A checked rule form: (name, period, trigger, legal basis, reference, action, cadence).
struct Rule {
    name: String,
    period: IsoDuration,
    trigger: String,
    legal_basis: String,
    reference: String,
    action: String,
    review_every: IsoDuration,
}

fn check_rule(f: &RuleForm) -> Result<Rule, AppError> {
    let mut errors = Vec::new();
    let name = required(&mut errors, "name", &f.name, 200, "");
    let period = IsoDuration::parse(&f.period).unwrap_or_else(|why| {
        errors.push(format!("period: {why}"));
        IsoDuration::default()
    });
    if period.is_zero() && errors.is_empty() {
        errors.push("period: must be longer than nothing".into());
    }
    let trigger = f.trigger.trim().to_string();
    if !TRIGGERS.iter().any(|(k, _)| *k == trigger) {
        errors.push(format!(
            "trigger: '{trigger}' is not one of {}",
            TRIGGERS.map(|t| t.0).join(", ")
        ));
    }
    let action = f.action.trim().to_string();
    if !ACTIONS.iter().any(|(k, _)| *k == action) {
        errors.push(format!(
            "action: '{action}' is not delete, anonymise, archive or review"
        ));
    }
    let why = " (the law, contract or purpose behind the period)";
    let legal_basis = required(&mut errors, "legal basis", &f.legal_basis, 500, why);
    let reference = text(&mut errors, "reference", &f.reference, 500);
    let cadence = if f.review_every.trim().is_empty() {
        "P1Y"
    } else {
        f.review_every.as_str()
    };
    let review_every = IsoDuration::parse(cadence).unwrap_or_else(|why| {
        errors.push(format!("review every: {why}"));
        IsoDuration::default()
    });
    fail(errors)?;
    Ok(Rule {
        name,
        period,
        trigger,
        legal_basis,
        reference,
        action,
        review_every,
    })
}

pub async fn save_rule(f: RuleForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageRetention)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let r = check_rule(&f)?;
    let rule_id: Option<i64> = match f.id.trim() {
        "" => None,
        n => Some(
            n.parse()
                .map_err(|_| AppError::invalid(format!("rule: '{n}' is not a rule")))?,
        ),
    };
    let mut tx = state.db.write().await?;
    let (category, builtin): (String, Option<String>) =
        sqlx::query_as("SELECT name, builtin FROM retention_categories WHERE id = $1")
            .bind(f.category_id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| AppError::invalid("category: no such data category"))?;
    if let Some(key) = &builtin {
        if r.action != "delete" && r.action != "review" {
            return Err(AppError::invalid(format!(
                "action: Steward's own data ({key}) is either deleted or kept for review"
            )));
        }
        let min = i64::from(state.audit_min_days);
        if key == "audit_events" && min_days(&r.period) < min {
            return Err(AppError::invalid(format!(
                "period: the audit trail is kept at least {min} days ({} can be shorter)",
                r.period
            )));
        }
    }
    let id = match rule_id {
        Some(id) => {
            let n = sqlx::query(
                "UPDATE retention_rules SET name = $1, period = $2, trigger_event = $3, \
                 legal_basis = $4, reference = $5, action = $6, review_every = $7, \
                 updated_at = $8 WHERE id = $9 AND category_id = $10",
            )
            .bind(&r.name)
            .bind(r.period.to_string())
            .bind(&r.trigger)
            .bind(&r.legal_basis)
            .bind(&r.reference)
            .bind(&r.action)
            .bind(r.review_every.to_string())
            .bind(&ctx.at)
            .bind(id)
            .bind(f.category_id)
            .execute(tx.conn())
            .await?
            .rows_affected();
            if n == 0 {
                return Err(AppError::NotFound);
            }
            id
        }
        None => {
            if builtin.is_some() {
                return Err(AppError::invalid(
                    "category: Steward's own data has one rule each; edit it instead",
                ));
            }
            sqlx::query_scalar(
                "INSERT INTO retention_rules (category_id, name, period, trigger_event, \
                 legal_basis, reference, action, review_every, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            )
            .bind(f.category_id)
            .bind(&r.name)
            .bind(r.period.to_string())
            .bind(&r.trigger)
            .bind(&r.legal_basis)
            .bind(&r.reference)
            .bind(&r.action)
            .bind(r.review_every.to_string())
            .bind(&ctx.at)
            .fetch_one(tx.conn())
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(d) if d.message().to_lowercase().contains("unique") => {
                    AppError::invalid(format!(
                        "name: '{category}' has a rule '{}' already",
                        r.name
                    ))
                }
                e => e.into(),
            })?
        }
    };
    // The rule's records follow it: each disposal date is computed again.
    let recs: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, trigger_date FROM retention_records WHERE rule_id = $1 AND status <> 'disposed'",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    let mut moved = 0;
    for (rid, trig) in &recs {
        let Some(d) = parse_date(trig) else { continue };
        let due = fmt_date(schedule::disposal_date(&r.trigger, d, &r.period));
        moved += sqlx::query(
            "UPDATE retention_records SET disposal_date = $1, updated_at = $2 \
             WHERE id = $3 AND disposal_date <> $1",
        )
        .bind(&due)
        .bind(&ctx.at)
        .bind(rid)
        .execute(tx.conn())
        .await?
        .rows_affected();
    }
    let verb = if rule_id.is_some() {
        "update"
    } else {
        "create"
    };
    tx.audit(ctx.event(
        &format!("retention.rule.{verb}"),
        "retention_rule",
        id,
        format!(
            "'{category}' / '{}': {} from {}, then {} (basis: {}; review every {}); {moved} \
             record(s) given a new disposal date",
            r.name,
            r.period,
            schedule::trigger_label(&r.trigger),
            r.action,
            r.legal_basis,
            r.review_every
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn review_rule(id: i64) -> Result<(), AppError> {
    let su = require(Permission::ManageRetention)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let name: String = sqlx::query_scalar("SELECT name FROM retention_rules WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    sqlx::query("UPDATE retention_rules SET last_reviewed = $1 WHERE id = $2")
        .bind(&ctx.at)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(ctx.event(
        "retention.rule.review",
        "retention_rule",
        id,
        format!("rule '{name}' reviewed, unchanged"),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn add_record(f: RecordForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageRetention)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut errors = Vec::new();
    let description = required(&mut errors, "what is held", &f.description, 500, "");
    let (system, vendor) = store::parse_place(&f.place).unwrap_or_else(|why| {
        errors.push(format!("held in: {why}"));
        (None, None)
    });
    let given = f.trigger_date.trim();
    let mut trigger_date = match given {
        "" => None,
        d => match parse_date(d) {
            Some(d) => Some(d),
            None => {
                errors.push(format!("from: '{d}' is not a date (YYYY-MM-DD)"));
                None
            }
        },
    };
    fail(errors)?;
    let mut tx = state.db.write().await?;
    let rule: Option<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT r.name, r.period, r.trigger_event, c.builtin FROM retention_rules r \
         JOIN retention_categories c ON c.id = r.category_id WHERE r.id = $1",
    )
    .bind(f.rule_id)
    .fetch_optional(tx.conn())
    .await?;
    let (rule, period, trigger, builtin) =
        rule.ok_or_else(|| AppError::invalid("rule: no such retention rule"))?;
    if builtin.is_some() {
        return Err(AppError::invalid(
            "rule: Steward's own data is disposed of by its job, not tracked by hand",
        ));
    }
    if trigger_date.is_none() && trigger == "contract_end" {
        // A vendor's contract end is known: the latest one, when the record names the vendor.
        if let Some(v) = vendor {
            let end: Option<String> = sqlx::query_scalar(
                "SELECT MAX(end_date) FROM vendor_contracts WHERE vendor_id = $1",
            )
            .bind(v)
            .fetch_one(tx.conn())
            .await?;
            trigger_date = end.as_deref().and_then(parse_date);
        }
    }
    let Some(from) = trigger_date else {
        return Err(AppError::invalid(format!(
            "from: required: the day of the {} this record is held from",
            schedule::trigger_label(&trigger)
        )));
    };
    let period = IsoDuration::parse(&period).map_err(AppError::internal)?;
    let due = schedule::disposal_date(&trigger, from, &period);
    if system.is_some() || vendor.is_some() {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM systems WHERE id = $1) \
                  + (SELECT COUNT(*) FROM vendors WHERE id = $2)",
        )
        .bind(system.unwrap_or(-1))
        .bind(vendor.unwrap_or(-1))
        .fetch_one(tx.conn())
        .await?;
        if n == 0 {
            return Err(AppError::invalid("held in: no such system or vendor"));
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO retention_records (description, rule_id, system_id, vendor_id, \
         trigger_date, disposal_date, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(&description)
    .bind(f.rule_id)
    .bind(system)
    .bind(vendor)
    .bind(fmt_date(from))
    .bind(fmt_date(due))
    .bind(su.user.id)
    .bind(&ctx.at)
    .fetch_one(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "retention.record.create",
        "retention_record",
        id,
        format!(
            "'{description}' held under '{rule}' from {} ({}): disposal due {}",
            fmt_date(from),
            schedule::trigger_label(&trigger),
            fmt_date(due)
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}
