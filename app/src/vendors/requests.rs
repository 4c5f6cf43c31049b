//! The vendors' server functions: who may do what (compliance manages the register; a vendor's
//! owner records its reports, documents and reviews; finance reads), every field checked and
//! named when wrong, every write audited in its transaction.

use super::store::{self, split};
use super::*;
use crate::calendar::IsoDuration;
use crate::context::require;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use crate::util::{fmt_date, parse_date};

pub async fn list(f: VendorFilter) -> Result<VendorList, AppError> {
    let su = require(Permission::ViewVendors)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let today = state.clock.now().date();
    let mut reg = store::register(pool, None).await?;
    let snap = state.cost_cube.snapshot(&state.db).await?;
    reg.with_spend(&snap, today)?;
    let min = match f.unknown_min.as_deref().map(str::trim) {
        None | Some("") => rust_decimal::Decimal::from(1000),
        Some(m) => crate::costs::money::parse_amount(m)
            .map_err(|why| AppError::invalid(format!("unknown spend from: {why}")))?,
    };
    let unknown = super::spend::unknown(&snap, &reg.all_scopes(), today, min)?;
    let owner = f.owner.trim().to_lowercase();
    let usernames: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, username, display_name FROM users WHERE active = 1 AND role <> 'auditor' ORDER BY display_name")
            .fetch_all(pool)
            .await?;
    let owner_id = usernames
        .iter()
        .find(|(_, u, _)| u.to_lowercase() == owner)
        .map(|(id, ..)| *id);
    let horizon = f
        .renewal_within
        .map(|d| fmt_date(today + time::Duration::days(d.clamp(0, 3650))));
    let vendors = reg
        .vendors
        .iter()
        .filter(|v| owner.is_empty() || v.owner_id.is_some() && v.owner_id == owner_id)
        .map(|v| store::summarize(&reg, v, today))
        .filter(|s| f.tier == 0 || i64::from(s.tier) == f.tier)
        .filter(|s| f.review_status.trim().is_empty() || s.review_status == f.review_status.trim())
        .filter(|s| {
            horizon.as_ref().is_none_or(|h| {
                s.notice_deadline
                    .as_ref()
                    .is_some_and(|(d, _)| d.as_str() <= h.as_str())
            })
        })
        .filter(|s| !f.warnings || !s.warnings.is_empty())
        .collect();
    Ok(VendorList {
        vendors,
        unknown,
        owners: usernames.into_iter().map(|(_, u, n)| (u, n)).collect(),
        can_manage: su.user.can(Permission::ManageVendors),
    })
}

pub async fn detail(id: i64) -> Result<VendorDetail, AppError> {
    let su = require(Permission::ViewOwnWork)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let today = state.clock.now().date();
    let mut reg = store::register(pool, Some(id)).await?;
    let snap = state.cost_cube.snapshot(&state.db).await?;
    reg.with_spend(&snap, today)?;
    let v = reg.vendors.first().ok_or(AppError::NotFound)?;
    let is_owner = v.owner_id == Some(su.user.id);
    // Owners see their vendor; everyone else needs the register.
    if !is_owner && !su.user.can(Permission::ViewVendors) {
        return Err(AppError::NotFound);
    }
    let (up, down) = store::chain(pool, v).await?;
    let none = Vec::new();
    Ok(VendorDetail {
        vendor: store::summarize(&reg, v, today),
        legal_name: v.legal_name.clone(),
        website: v.website.clone(),
        services: v.services.clone(),
        countries: split(&v.countries),
        data_categories: split(&v.data_categories),
        data_sensitivity: v.data_sensitivity.clone(),
        business_impact: v.business_impact.clone(),
        override_reason: v.override_reason.clone(),
        tier_override: v.tier_override,
        owner_username: v.owner_username.clone(),
        last_review: v.last_review.clone(),
        subprocessor_of: up,
        subprocessors: down,
        contracts: reg
            .contracts
            .get(&id)
            .unwrap_or(&Vec::new())
            .iter()
            .map(|c| store::contract_view(c, today))
            .collect(),
        assurance: reg
            .reports
            .get(&id)
            .unwrap_or(&none)
            .iter()
            .map(|r| store::report_view(r, today))
            .collect(),
        documents: store::documents(pool, id).await?,
        scopes: (reg.scopes.get(&id).into_iter().flatten())
            .map(|s| (s.id, store::describe(s)))
            .collect(),
        spend: reg.spend.get(&id).cloned().unwrap_or_default(),
        can_manage: su.user.can(Permission::ManageVendors),
        is_owner,
        holds: crate::retention::store::holds_on(pool, today, None, Some(id)).await?,
    })
}

pub(super) fn date_field(
    errors: &mut Vec<String>,
    field: &str,
    raw: &str,
    required: bool,
) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        if required {
            errors.push(format!("{field}: required (YYYY-MM-DD)"));
        }
        return None;
    }
    match parse_date(raw) {
        Some(d) => Some(fmt_date(d)),
        None => {
            errors.push(format!("{field}: '{raw}' is not a date (YYYY-MM-DD)"));
            None
        }
    }
}

pub(super) fn text_field(errors: &mut Vec<String>, field: &str, raw: &str, max: usize) -> String {
    let t = raw.trim();
    if t.chars().count() > max {
        errors.push(format!("{field}: at most {max} characters"));
    }
    t.to_string()
}

pub async fn save(f: VendorForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageVendors)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut errors = Vec::new();
    let name = text_field(&mut errors, "name", &f.name, 200);
    if name.is_empty() {
        errors.push("name: required".into());
    }
    let legal = text_field(&mut errors, "legal name", &f.legal_name, 300);
    let website = text_field(&mut errors, "website", &f.website, 500);
    let web =
        website.is_empty() || website.starts_with("https://") || website.starts_with("http://");
    if !web {
        errors.push(format!("website: '{website}' is not an http(s) address"));
    }
    let category = text_field(&mut errors, "category", &f.category, 100);
    let services = text_field(&mut errors, "services", &f.services, 2000);
    let countries: Vec<String> = split(&f.countries)
        .iter()
        .map(|c| c.to_uppercase())
        .collect();
    for c in &countries {
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            errors.push(format!(
                "countries: '{c}' is not a two-letter country code (ISO 3166)"
            ));
        }
    }
    let categories: Vec<String> = split(&f.data_categories)
        .iter()
        .map(|c| c.to_lowercase())
        .collect();
    let sensitivity = match f.data_sensitivity.trim() {
        "" => "internal",
        s if tier::SENSITIVITIES.contains(&s) => s,
        s => {
            errors.push(format!(
                "data sensitivity: '{s}' is not none, internal, confidential or restricted"
            ));
            "internal"
        }
    };
    let impact = match f.business_impact.trim() {
        "" => "medium",
        s if tier::IMPACTS.contains(&s) => s,
        s => {
            errors.push(format!(
                "business impact: '{s}' is not low, medium, high or critical"
            ));
            "medium"
        }
    };
    let tier_override: Option<i64> = match f.tier_override.trim() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(n @ 1..=3) => Some(n),
            _ => {
                errors.push(format!("tier override: '{t}' is not 1, 2 or 3"));
                None
            }
        },
    };
    let reason = text_field(&mut errors, "override reason", &f.override_reason, 2000);
    if tier_override.is_some() && reason.is_empty() {
        errors.push("override reason: required to override the rubric's tier".into());
    }
    let mut tx = state.db.write().await?;
    let owner = match f.owner.trim() {
        "" => None,
        who => match crate::budgets::store::person(tx.conn(), "owner", who).await {
            Ok(id) => Some(id),
            Err((field, why)) => {
                errors.push(format!("{field}: {why}"));
                None
            }
        },
    };
    let parent: Option<i64> = match f.subprocessor_of.trim() {
        "" => None,
        p => {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM vendors WHERE LOWER(name) = LOWER($1)")
                    .bind(p)
                    .fetch_optional(tx.conn())
                    .await?;
            match found {
                None => {
                    errors.push(format!("sub-processor of: no vendor is named '{p}'"));
                    None
                }
                Some(id) if Some(id) == f.id => {
                    errors.push("sub-processor of: a vendor is not its own sub-processor".into());
                    None
                }
                Some(id) => {
                    // No circles: walking up from the parent must not reach this vendor.
                    let mut at = Some(id);
                    for _ in 0..100 {
                        let Some(cur) = at else { break };
                        if Some(cur) == f.id {
                            errors.push(format!(
                                "sub-processor of: '{p}' is already downstream of this vendor"
                            ));
                            break;
                        }
                        at =
                            sqlx::query_scalar("SELECT subprocessor_of FROM vendors WHERE id = $1")
                                .bind(cur)
                                .fetch_optional(tx.conn())
                                .await?
                                .flatten();
                    }
                    Some(id)
                }
            }
        }
    };
    let clash: Option<i64> =
        sqlx::query_scalar("SELECT id FROM vendors WHERE LOWER(name) = LOWER($1)")
            .bind(&name)
            .fetch_optional(tx.conn())
            .await?;
    if clash.is_some_and(|c| Some(c) != f.id) {
        errors.push(format!("name: a vendor is named '{name}' already"));
    }
    if !errors.is_empty() {
        return Err(AppError::invalid(errors.join("; ")));
    }
    let (countries, categories) = (countries.join(","), categories.join(","));
    let q = match f.id {
        None => sqlx::query_scalar(
            "INSERT INTO vendors (name, legal_name, website, category, owner_id, services, countries, data_categories, \
             subprocessor_of, data_sensitivity, business_impact, tier_override, override_reason, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
        ),
        Some(_) => sqlx::query_scalar(
            "UPDATE vendors SET name = $1, legal_name = $2, website = $3, category = $4, owner_id = $5, services = $6, \
             countries = $7, data_categories = $8, subprocessor_of = $9, data_sensitivity = $10, business_impact = $11, \
             tier_override = $12, override_reason = $13, updated_at = $14 WHERE id = $15 RETURNING id",
        ),
    }
    .bind(&name)
    .bind(&legal)
    .bind(&website)
    .bind(&category)
    .bind(owner)
    .bind(&services)
    .bind(&countries)
    .bind(&categories)
    .bind(parent)
    .bind(sensitivity)
    .bind(impact)
    .bind(tier_override)
    .bind(&reason)
    .bind(&ctx.at);
    let q = match f.id {
        Some(id) => q.bind(id),
        None => q,
    };
    let id = q
        .fetch_optional(tx.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    let tier = tier_override
        .map(|t| t as u8)
        .unwrap_or_else(|| tier::tier(sensitivity, impact));
    tx.audit(ctx.event(
        if f.id.is_some() {
            "vendor.update"
        } else {
            "vendor.create"
        },
        "vendor",
        id,
        format!(
            "vendor '{name}': tier {tier}{} (sensitivity {sensitivity}, impact {impact}){}",
            tier_override.map(|_| format!(" by override: {reason}")).unwrap_or_default(),
            if categories.is_empty() { String::new() } else { format!("; data: {categories}") }
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}

fn duration_field(errors: &mut Vec<String>, field: &str, raw: &str, default: &str) -> String {
    let raw = if raw.trim().is_empty() {
        default
    } else {
        raw.trim()
    };
    match IsoDuration::parse(raw) {
        Ok(d) => d.to_string(),
        Err(why) => {
            errors.push(format!("{field}: {why}"));
            String::new()
        }
    }
}

pub async fn save_contract(f: ContractForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageVendors)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut errors = Vec::new();
    let title = text_field(&mut errors, "title", &f.title, 200);
    if title.is_empty() {
        errors.push("title: required".into());
    }
    let start = date_field(&mut errors, "start", &f.start, true);
    let end = date_field(&mut errors, "end", &f.end, false);
    if let (Some(s), Some(e)) = (&start, &end) {
        if e <= s {
            errors.push(format!(
                "end: {e} is not after the start {s} (the end is exclusive)"
            ));
        }
    }
    let auto = f.auto_renew.is_some();
    if auto && end.is_none() {
        errors.push("end: an auto-renewing contract needs the end of its first term".into());
    }
    let renewal = duration_field(&mut errors, "renewal term", &f.renewal_term, "P1Y");
    if auto && renewal == "P0D" {
        errors.push("renewal term: an auto-renewing contract renews for at least a day".into());
    }
    let notice = duration_field(&mut errors, "notice period", &f.notice_period, "P0D");
    let value = match f.annual_value.trim() {
        "" => None,
        v => match crate::costs::money::parse_amount(v) {
            Ok(d) if d >= rust_decimal::Decimal::ZERO => Some(d.to_string()),
            Ok(_) => {
                errors.push("annual value: not negative".into());
                None
            }
            Err(why) => {
                errors.push(format!("annual value: {why}"));
                None
            }
        },
    };
    let currency = f.currency.trim().to_uppercase();
    let currency = if currency.is_empty() {
        "USD".to_string()
    } else {
        currency
    };
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.push(format!(
            "currency: '{currency}' is not a three-letter code (ISO 4217)"
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::invalid(errors.join("; ")));
    }
    let mut tx = state.db.write().await?;
    let vendor: String = sqlx::query_scalar("SELECT name FROM vendors WHERE id = $1")
        .bind(f.vendor_id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    let q = match f.id {
        None => sqlx::query_scalar(
            "INSERT INTO vendor_contracts (vendor_id, title, start_date, end_date, auto_renew, renewal_term, notice_period, \
             annual_value, currency, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        ),
        Some(_) => sqlx::query_scalar(
            "UPDATE vendor_contracts SET vendor_id = $1, title = $2, start_date = $3, end_date = $4, auto_renew = $5, \
             renewal_term = $6, notice_period = $7, annual_value = $8, currency = $9, updated_at = $10 \
             WHERE id = $11 AND vendor_id = $1 RETURNING id",
        ),
    }
    .bind(f.vendor_id)
    .bind(&title)
    .bind(&start)
    .bind(&end)
    .bind(auto as i64)
    .bind(&renewal)
    .bind(&notice)
    .bind(&value)
    .bind(&currency)
    .bind(&ctx.at);
    let q = match f.id {
        Some(id) => q.bind(id),
        None => q,
    };
    let id: i64 = q
        .fetch_optional(tx.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    tx.audit(ctx.event(
        if f.id.is_some() {
            "vendor.contract_update"
        } else {
            "vendor.contract_create"
        },
        "vendor",
        f.vendor_id,
        format!(
            "contract '{title}' of '{vendor}': from {} to {}{}, notice {notice}{}",
            start.unwrap_or_default(),
            end.unwrap_or_else(|| "open-ended".into()),
            if auto { format!(", renews by {renewal}") } else { String::new() },
            value.map(|v| format!(", {v} {currency} a year")).unwrap_or_default()
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn add_scope(vendor: i64, fields: [String; 4]) -> Result<i64, AppError> {
    let su = require(Permission::ManageVendors)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut errors = Vec::new();
    let [provider, billing, service, tag] =
        fields.map(|f| text_field(&mut errors, "scope", &f, 300));
    let (tag_key, tag_value) = match tag.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => (k.trim().to_string(), v.trim().to_string()),
        _ if tag.is_empty() => (String::new(), String::new()),
        _ => {
            errors.push(format!("tag: '{tag}' is not key=value"));
            (String::new(), String::new())
        }
    };
    if provider.is_empty() && billing.is_empty() && service.is_empty() && tag_key.is_empty() {
        errors.push("scope: name at least a provider, billing account, service or tag".into());
    }
    if !tag_key.is_empty() && !billing.is_empty() {
        errors.push("scope: a tag scope takes a provider and a service, not a billing account (tagged costs are summed by provider and service)".into());
    }
    if !errors.is_empty() {
        return Err(AppError::invalid(errors.join("; ")));
    }
    let mut tx = state.db.write().await?;
    let name: String = sqlx::query_scalar("SELECT name FROM vendors WHERE id = $1")
        .bind(vendor)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    let scope = store::Scope {
        id: 0,
        provider,
        billing_account: billing,
        service,
        tag_key,
        tag_value,
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO vendor_scopes (vendor_id, provider, billing_account, service, tag_key, tag_value, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(vendor)
    .bind(&scope.provider)
    .bind(&scope.billing_account)
    .bind(&scope.service)
    .bind(&scope.tag_key)
    .bind(&scope.tag_value)
    .bind(&ctx.at)
    .fetch_one(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "vendor.scope_add",
        "vendor",
        vendor,
        format!("spend of '{name}': {}", store::describe(&scope)),
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn remove_scope(vendor: i64, scope: i64) -> Result<(), AppError> {
    let su = require(Permission::ManageVendors)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let gone = sqlx::query("DELETE FROM vendor_scopes WHERE id = $1 AND vendor_id = $2")
        .bind(scope)
        .bind(vendor)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(AppError::NotFound);
    }
    tx.audit(ctx.event(
        "vendor.scope_remove",
        "vendor",
        vendor,
        format!("removed spend scope #{scope}"),
    ))
    .await?;
    tx.commit().await
}
