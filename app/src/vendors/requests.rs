//! The vendors' server functions: who may do what (compliance manages the register; a vendor's
//! owner records its reports, documents and reviews; finance reads), every field checked and
//! named when wrong, every write audited in its transaction.

use super::store::{self, split};
use super::write::{self, text_field};
use super::*;
use crate::context::require;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use crate::util::fmt_date;

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

pub async fn save(f: VendorForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageVendors)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut errors = Vec::new();
    let checked = write::check(&f, &mut errors);
    let mut tx = state.db.write().await?;
    let written = write::write(&mut tx, &ctx, f.id, &checked, errors, false)
        .await?
        .map_err(|errors| AppError::invalid(errors.join("; ")))?;
    tx.commit().await?;
    Ok(written.id())
}

pub async fn save_contract(f: ContractForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageVendors)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut errors = Vec::new();
    let checked = write::check_contract(&f, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::invalid(errors.join("; ")));
    }
    let mut tx = state.db.write().await?;
    let written =
        write::write_contract(&mut tx, &ctx, (f.vendor_id, f.id), &checked, false).await?;
    tx.commit().await?;
    Ok(written.id())
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
