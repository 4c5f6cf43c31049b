//! The register in and out as CSV. In: a file waits in the spool for its mapping
//! (`tabular::pending`), then every row is checked and written through `write.rs` (as the form
//! does) in one transaction: a vendor whose name is in the register already is updated (the
//! fields the file does not map kept as they are), others created, one audit event per vendor written plus the import's own; any bad row names its
//! row and field and nothing is written. Out: every vendor with its first contract and what
//! Steward computes, in columns the import maps back.

use super::csvio::{self, Field, Mapping, Row};
use super::store::{self, split};
use super::write::{self, Written};
use super::{ContractForm, VendorForm};
use crate::audit::chain::AuditCtx;
use crate::context::require;
use crate::db::{Db, WriteTx};
use crate::error::AppError;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx, AppState};
use crate::tabular::{pending, read as tabular, Preview};
use std::collections::HashMap;

/// At most this many errors are listed.
const MAX_ERRORS: usize = 20;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub contracts_created: usize,
    pub contracts_updated: usize,
}

impl Summary {
    pub fn describe(&self) -> String {
        format!(
            "{} vendor(s) created, {} updated, {} unchanged; {} contract(s) created, {} updated.",
            self.created,
            self.updated,
            self.unchanged,
            self.contracts_created,
            self.contracts_updated
        )
    }

    fn count(&mut self, w: Written, contract: bool) {
        match (w, contract) {
            (Written::Created(_), false) => self.created += 1,
            (Written::Updated(_), false) => self.updated += 1,
            (Written::Unchanged(_), false) => self.unchanged += 1,
            (Written::Created(_), true) => self.contracts_created += 1,
            (Written::Updated(_), true) => self.contracts_updated += 1,
            (Written::Unchanged(_), true) => {}
        }
    }
}

/// The order rows are written in: a vendor after the one in the file it is a sub-processor
/// of (a circle keeps the file's order; `write` names it).
fn order(rows: &[Row]) -> Vec<usize> {
    let index: HashMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.vendor.name.trim().to_lowercase(), i))
        .collect();
    let parent = |i: usize| {
        index
            .get(&rows[i].vendor.subprocessor_of.trim().to_lowercase())
            .copied()
    };
    let mut seen = vec![false; rows.len()];
    let mut out = Vec::with_capacity(rows.len());
    for i in 0..rows.len() {
        let mut path = Vec::new();
        let mut at = Some(i);
        while let Some(k) = at.filter(|k| !seen[*k]) {
            seen[k] = true;
            path.push(k);
            at = parent(k);
        }
        out.extend(path.into_iter().rev());
    }
    out
}

/// A contract's error named as its column is ("contract start: …").
fn contract_error(e: String) -> String {
    match e.split_once(':') {
        Some(("title", why)) => format!("contract:{why}"),
        Some((f @ ("start" | "end"), why)) => format!("contract {f}:{why}"),
        _ => e,
    }
}

#[derive(sqlx::FromRow)]
struct StoredForm {
    legal_name: String,
    website: String,
    category: String,
    owner: String,
    services: String,
    countries: String,
    data_categories: String,
    parent: String,
    data_sensitivity: String,
    business_impact: String,
    tier_override: Option<i64>,
    override_reason: String,
}

/// Vendor `id` as the form would show it.
async fn stored(tx: &mut WriteTx, id: i64) -> Result<VendorForm, AppError> {
    let s: StoredForm = sqlx::query_as(
        "SELECT v.legal_name, v.website, v.category, COALESCE(u.username, '') AS owner, v.services, v.countries, \
         v.data_categories, COALESCE(p.name, '') AS parent, v.data_sensitivity, v.business_impact, v.tier_override, \
         v.override_reason FROM vendors v LEFT JOIN users u ON u.id = v.owner_id \
         LEFT JOIN vendors p ON p.id = v.subprocessor_of WHERE v.id = $1",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    Ok(VendorForm {
        id: Some(id),
        name: String::new(),
        legal_name: s.legal_name,
        website: s.website,
        category: s.category,
        owner: s.owner,
        services: s.services,
        countries: s.countries,
        data_categories: s.data_categories,
        subprocessor_of: s.parent,
        data_sensitivity: s.data_sensitivity,
        business_impact: s.business_impact,
        tier_override: s.tier_override.map(|t| t.to_string()).unwrap_or_default(),
        override_reason: s.override_reason,
    })
}

/// A stored contract as its form.
fn contract_form(c: write::CheckedContract) -> ContractForm {
    ContractForm {
        vendor_id: 0,
        id: None,
        title: c.title,
        start: c.start.unwrap_or_default(),
        end: c.end.unwrap_or_default(),
        auto_renew: (c.auto_renew == 1).then(|| "on".into()),
        renewal_term: c.renewal,
        notice_period: c.notice,
        annual_value: c.value.unwrap_or_default(),
        currency: c.currency,
    }
}

/// Writes `rows` (read through `mapping`) in one transaction, all or nothing.
pub async fn import(
    db: &Db,
    ctx: &AuditCtx,
    file_name: &str,
    rows: &[Row],
    mapping: &Mapping,
) -> Result<Summary, AppError> {
    let mut errors: Vec<(u64, String)> = Vec::new();
    let mut summary = Summary::default();
    let mut tx = db.write().await?;
    for i in order(rows) {
        let row = &rows[i];
        let id = write::by_name(&mut tx, &row.vendor.name).await?;
        let mut form = row.vendor.clone();
        if let Some(id) = id {
            csvio::keep_unmapped(&mut form, &stored(&mut tx, id).await?, mapping);
        }
        let mut errs = Vec::new();
        let checked = write::check(&form, &mut errs);
        let at = |e: String| (row.line, format!("Row {}, {e}", row.line));
        let w = match write::write(&mut tx, ctx, id, &checked, errs, true).await? {
            Err(errs) => {
                errors.extend(errs.into_iter().map(at));
                None
            }
            Ok(w) => {
                summary.count(w, false);
                Some(w.id())
            }
        };
        let Some(contract) = &row.contract else {
            continue;
        };
        let vendor = w.unwrap_or(0);
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM vendor_contracts WHERE vendor_id = $1 AND LOWER(title) = LOWER($2) \
             ORDER BY start_date, id LIMIT 1",
        )
        .bind(vendor)
        .bind(contract.title.trim())
        .fetch_optional(tx.conn())
        .await?;
        let mut form = contract.clone();
        if let Some(c) = existing {
            if let Some(old) = write::stored_contract(&mut tx, (vendor, c)).await? {
                csvio::keep_unmapped_contract(&mut form, &contract_form(old), mapping);
            }
        }
        let mut errs = Vec::new();
        let checked = write::check_contract(&form, &mut errs);
        if !errs.is_empty() {
            errors.extend(errs.into_iter().map(contract_error).map(at));
        } else if errors.is_empty() {
            let cw =
                write::write_contract(&mut tx, ctx, (vendor, existing), &checked, true).await?;
            summary.count(cw, true);
        }
    }
    if !errors.is_empty() {
        // Dropping the transaction rolls every row back.
        errors.sort();
        let more = errors.len().saturating_sub(MAX_ERRORS);
        let mut msg: Vec<String> = errors.into_iter().take(MAX_ERRORS).map(|e| e.1).collect();
        if more > 0 {
            msg.push(format!("and {more} more"));
        }
        return Err(AppError::invalid(format!(
            "Nothing was imported. {}",
            msg.join("; ")
        )));
    }
    tx.audit(ctx.event(
        "vendor.import",
        "vendor",
        "",
        format!("imported '{file_name}': {}", summary.describe()),
    ))
    .await?;
    tx.commit().await?;
    Ok(summary)
}

/// A file for the mapping step: checked readable now, kept until imported.
pub fn keep(state: &AppState, file_name: &str, bytes: &[u8]) -> Result<String, AppError> {
    pending::keep_table(
        &state.spool_dir,
        csvio::PENDING,
        &csvio::LIMITS,
        file_name,
        bytes,
    )
}

pub async fn pending_file(token: String) -> Result<Preview, AppError> {
    require(Permission::ManageVendors)?;
    let state = app_state()?;
    let (file_name, _, t) =
        pending::load_table(&state.spool_dir, csvio::PENDING, &token, &csvio::LIMITS)?;
    let guessed = csvio::guess(&t.rows[0]);
    Ok(tabular::preview(
        &t.rows,
        t.encoding,
        t.delimiter,
        (token, file_name),
        Field::ALL
            .iter()
            .map(|f| (f.as_str().into(), f.label(), guessed.get(f).cloned()))
            .collect(),
    ))
}

pub async fn import_mapped(
    token: String,
    map: std::collections::BTreeMap<String, String>,
) -> Result<String, AppError> {
    let su = require(Permission::ManageVendors)?;
    let state = app_state()?;
    let mapping: Mapping = tabular::mapping_from(&map, Field::parse, "a vendor")?;
    let (file_name, _, t) =
        pending::load_table(&state.spool_dir, csvio::PENDING, &token, &csvio::LIMITS)?;
    let rows = csvio::read(&t, &mapping).map_err(|e| AppError::invalid(csvio::row_error(&e)))?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let summary = import(&state.db, &ctx, &file_name, &rows, &mapping).await?;
    pending::drop(&state.spool_dir, csvio::PENDING, &token);
    Ok(format!("Imported {file_name}: {}", summary.describe()))
}

/// The register as CSV (`csvio::write`'s columns).
pub async fn export(state: &AppState) -> Result<Vec<u8>, AppError> {
    let pool = state.db.pool();
    let today = state.clock.now().date();
    let mut reg = store::register(pool, None).await?;
    let snap = state.cost_cube.snapshot(&state.db).await?;
    reg.with_spend(&snap, today)?;
    let names: HashMap<i64, &str> = reg
        .vendors
        .iter()
        .map(|v| (v.id, v.name.as_str()))
        .collect();
    let mut rows = Vec::with_capacity(reg.vendors.len());
    for v in &reg.vendors {
        let s = store::summarize(&reg, v, today);
        let c = reg.contracts.get(&v.id).and_then(|c| c.first());
        let contract = |f: &dyn Fn(&store::Contract) -> String| c.map(f).unwrap_or_default();
        let spend: Vec<String> = (reg.spend.get(&v.id).into_iter().flatten())
            .map(|sp| format!("{} {}", sp.year_to_date, sp.currency))
            .collect();
        rows.push(vec![
            v.name.clone(),
            v.legal_name.clone(),
            v.website.clone(),
            v.category.clone(),
            v.owner_username.clone().unwrap_or_default(),
            v.services.clone(),
            split(&v.countries).join(","),
            split(&v.data_categories).join(","),
            (v.subprocessor_of.and_then(|p| names.get(&p)))
                .map(|n| n.to_string())
                .unwrap_or_default(),
            v.data_sensitivity.clone(),
            v.business_impact.clone(),
            v.tier_override.map(|t| t.to_string()).unwrap_or_default(),
            v.override_reason.clone(),
            contract(&|c| c.title.clone()),
            contract(&|c| c.start.clone()),
            contract(&|c| c.end.clone().unwrap_or_default()),
            contract(&|c| if c.auto_renew { "yes" } else { "no" }.into()),
            contract(&|c| c.renewal_term.clone()),
            contract(&|c| c.notice_period.clone()),
            contract(&|c| c.annual_value.clone().unwrap_or_default()),
            contract(&|c| c.currency.clone()),
            s.tier.to_string(),
            s.review_status.clone(),
            s.next_review.clone(),
            s.notice_deadline.map(|(d, _)| d).unwrap_or_default(),
            spend.join("; "),
        ]);
    }
    csvio::write(&rows).map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, parent: &str) -> Row {
        Row {
            line: 0,
            vendor: super::super::VendorForm {
                name: name.into(),
                subprocessor_of: parent.into(),
                ..Default::default()
            },
            contract: None,
        }
    }

    #[test]
    fn parents_are_written_before_their_sub_processors() {
        let rows = [
            row("A", "b"),
            row("B", "C"),
            row("C", ""),
            row("D", "elsewhere"),
            row("X", "Y"),
            row("Y", "X"),
        ];
        assert_eq!(order(&rows), vec![2, 1, 0, 3, 5, 4]);
        assert_eq!(
            contract_error("start: required (YYYY-MM-DD)".into()),
            "contract start: required (YYYY-MM-DD)"
        );
        assert_eq!(
            contract_error("title: required".into()),
            "contract: required"
        );
        assert_eq!(contract_error("currency: x".into()), "currency: x");
    }
}
