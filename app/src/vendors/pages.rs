//! Vendor pages: the register (filters by tier, owner, review status, renewal window and
//! warnings; the form to add a vendor) and a vendor (its tier and why, warnings, contracts with
//! their notice deadlines, assurance reports, documents, the review); the register as CSV
//! (download, and an import through a column-mapping step). Plain forms throughout.

use super::*;
use crate::controls::pages::{action_error, id_param};
use crate::paths;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

fn warnings_view(w: &[(String, String)]) -> impl IntoView {
    view! {
        <ul class="warnings">{w.iter().map(|(code, text)| view! {
            <li class=format!("warn warning-{code}") data-warning=code.clone()>{text.clone()}</li>
        }).collect_view()}</ul>
    }
}

/// The last twelve months' spend per currency, a bar a month (SVG: the page CSP allows no
/// inline styles; heights come from the server's exact amounts), with the figures written out.
fn spend_view(d: &VendorDetail) -> impl IntoView {
    if d.scopes.is_empty() {
        return view! { <p class="muted" id="vendor-spend">"No spend mapped: name where this vendor's costs are (provider, billing account, service or tag)."</p> }.into_any();
    }
    if d.spend.is_empty() {
        return view! { <p class="muted" id="vendor-spend">"No spend in the last twelve months."</p> }.into_any();
    }
    view! {
        <div id="vendor-spend">{d.spend.iter().map(|s| {
            view! {
                <p class="figure" data-currency=s.currency.clone()>{format!("{} {} this year · {} {} over the last twelve months", s.year_to_date, s.currency, s.last_12_months, s.currency)}</p>
                <svg class="spend-chart" viewBox="0 0 240 60" role="img" aria-label=format!("Monthly spend in {}", s.currency)>
                    {s.bars.iter().enumerate().map(|(i, h)| view! {
                        <rect x=(i * 20 + 2).to_string() y=(58 - u16::from(*h)).to_string() width="16" height=h.to_string()></rect>
                    }).collect_view()}
                </svg>
                <table class="data"><tbody>{s.months.iter().map(|(m, a)| view! { <tr><td>{m.get(..7).unwrap_or(m).to_string()}</td><td class="num">{format!("{a} {}", s.currency)}</td></tr> }).collect_view()}</tbody></table>
            }
        }).collect_view()}</div>
    }.into_any()
}

#[component]
pub fn VendorsPage() -> impl IntoView {
    let query = use_query_map();
    let save = ServerAction::<SaveVendor>::new();
    let filter = move || {
        let q = query.read();
        VendorFilter {
            tier: q.get("tier").and_then(|t| t.parse().ok()).unwrap_or(0),
            owner: q.get("owner").unwrap_or_default(),
            review_status: q.get("review_status").unwrap_or_default(),
            renewal_within: q.get("renewal_within").and_then(|d| d.parse().ok()),
            warnings: q.get("warnings").is_some_and(|w| w == "true"),
            unknown_min: q.get("unknown_min"),
        }
    };
    let list = Resource::new(
        move || (filter(), save.version().get()),
        |(f, _)| list_vendors(f),
    );
    view! {
        <leptos_meta::Title text="Vendors · Steward"/>
        <h1>"Vendors"</h1>
        <p class="lede">"Who holds our data and what we pay them: each vendor's tier (data sensitivity × business impact), the notice deadline of its contracts, and the next review — from the tier's cadence or the earliest expiry of its reports, whichever comes first."</p>
        {move || query.read().get("error").map(|e| view! { <p class="error" role="alert">{e}</p> })}
        {move || query.read().get("imported").map(|m| view! { <p class="success" role="status" id="import-result">{m}</p> })}
        <Transition fallback=|| view! { <p>"Loading vendors…"</p> }>
            {move || Suspend::new(async move {
                let f = filter();
                match list.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(l) => view! {
                        <div class="toolbar" id="vendor-csv">
                            <a class="button" href=paths::VENDOR_EXPORT download="vendors.csv">"Download CSV"</a>
                            {l.can_manage.then(|| view! {
                                <form method="post" action=paths::VENDOR_IMPORT enctype="multipart/form-data" id="vendor-import" class="toolbar">
                                    <label>"Import CSV "<input type="file" name="file" accept=".csv,.txt,text/csv" required/></label>
                                    <button type="submit">"Upload and map columns"</button>
                                </form>
                            })}
                        </div>
                        <form method="get" class="toolbar" id="vendor-filter">
                            <select name="tier" aria-label="Tier">
                                <option value="0" selected=f.tier == 0>"Any tier"</option>
                                {[1, 2, 3].into_iter().map(|t| view! { <option value=t.to_string() selected=f.tier == t>{format!("Tier {t}")}</option> }).collect_view()}
                            </select>
                            <select name="owner" aria-label="Owner">
                                <option value="" selected=f.owner.is_empty()>"Any owner"</option>
                                {l.owners.iter().map(|(u, n)| view! { <option value=u.clone() selected=f.owner == *u>{n.clone()}</option> }).collect_view()}
                            </select>
                            <select name="review_status" aria-label="Review status">
                                <option value="" selected=f.review_status.is_empty()>"Any review status"</option>
                                {REVIEW_STATUSES.iter().map(|s| view! { <option value=*s selected=f.review_status == *s>{s.replace('_', " ")}</option> }).collect_view()}
                            </select>
                            <label>"Notice due within "<input type="number" name="renewal_within" min="0" size="4" value=f.renewal_within.map(|d| d.to_string()).unwrap_or_default()/>" days"</label>
                            <label><input type="checkbox" name="warnings" value="true" checked=f.warnings/>" Needs action"</label>
                            <button type="submit">"Filter"</button>
                        </form>
                        {l.vendors.is_empty().then(|| view! { <p class="card muted">"No vendors match."</p> })}
                        <table class="data" id="vendors">
                            <thead><tr><th>"Vendor"</th><th>"Tier"</th><th>"Owner"</th><th>"Review"</th><th>"Next review"</th><th>"Notice deadline"</th><th>"Annual value"</th><th>"Warnings"</th></tr></thead>
                            <tbody>{l.vendors.iter().map(|v| view! {
                                <tr data-vendor=v.name.clone() data-tier=v.tier.to_string()>
                                    <td><a href=paths::vendor(v.id)>{v.name.clone()}</a><br/><span class="muted">{v.category.clone()}</span></td>
                                    <td>{format!("{}{}", v.tier, if v.tier_overridden { " (override)" } else { "" })}</td>
                                    <td>{v.owner.clone().unwrap_or_else(|| "—".into())}</td>
                                    <td>{v.review_status.replace('_', " ")}</td>
                                    <td title=v.next_review_why.clone()>{v.next_review.clone()}</td>
                                    <td>{v.notice_deadline.clone().map(|(d, c)| format!("{d} ({c})")).unwrap_or_else(|| "—".into())}</td>
                                    <td class="num">{v.annual_value.iter().map(|(c, a)| format!("{a} {c}")).collect::<Vec<_>>().join(", ")}</td>
                                    <td>{(!v.warnings.is_empty()).then(|| view! { <span class="tag warn" title={v.warnings.iter().map(|w| w.1.clone()).collect::<Vec<_>>().join("\n")}>{format!("{} warning(s)", v.warnings.len())}</span> })}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                        <section class="card" id="unknown-spend">
                            <h2>"Spend with no vendor"</h2>
                            <p class="hint">"The last twelve months' spend by provider and service that no vendor's spend scope covers, from the amount below: a vendor to add, or a scope to map."</p>
                            <form method="get" class="toolbar">
                                <label>"From "<input name="unknown_min" inputmode="decimal" size="8" value=f.unknown_min.clone().unwrap_or_else(|| "1000".into())/></label>
                                <button type="submit">"Show"</button>
                            </form>
                            {if l.unknown.is_empty() { view! { <p class="muted">"None: every service above the amount has a vendor."</p> }.into_any() } else { view! {
                                <table class="data"><thead><tr><th>"Provider"</th><th>"Service"</th><th>"Last 12 months"</th></tr></thead>
                                <tbody>{l.unknown.iter().map(|(p, s, c, a)| view! { <tr data-service=s.clone()><td>{p.clone()}</td><td>{s.clone()}</td><td class="num">{format!("{a} {c}")}</td></tr> }).collect_view()}</tbody></table>
                            }.into_any() }}
                        </section>
                        {l.can_manage.then(|| view! {
                            <section class="card">
                                <h2>"Add a vendor"</h2>
                                <ActionForm action=save attr:id="vendor-form" attr:class="stack">
                                    <VendorFields/>
                                    <div class="toolbar"><button type="submit" class="primary">"Add the vendor"</button></div>
                                </ActionForm>
                                {action_error(save)}
                            </section>
                        })}
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The mapping step of a vendor file: what was detected, the first rows, a column for each
/// field (guessed from the headers; the export's own headers map back whole).
#[component]
pub fn VendorImportPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("upload").unwrap_or_default();
    let pending = Resource::new(token, pending_vendor_import);
    let import = ServerAction::<ImportVendors>::new();
    view! {
        <leptos_meta::Title text="Import vendors · Steward"/>
        <h1>"Import vendors: map the columns"</h1>
        {move || query.read().get("error").map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <Transition fallback=|| view! { <p>"Reading the file…"</p> }>
            {move || Suspend::new(async move {
                match pending.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(p) => view! {
                        <p class="lede">{format!("{}: {} vendor row(s), {}, delimiter '{}'. Choose the column each field is read from. A vendor whose name is in the register already is updated, others are added; one bad row and nothing is imported.", p.file_name, p.rows, p.encoding, p.delimiter)}</p>
                        {crate::tabular::preview_table(&p)}
                        <ActionForm action=import attr:id="mapping-form" attr:class="stack card">
                            <input type="hidden" name="token" value=p.token.clone()/>
                            {crate::tabular::mapping_fields(&p)}
                            <div class="toolbar"><button type="submit" class="primary">"Import the vendors"</button></div>
                        </ActionForm>
                        {action_error(import)}
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The vendor form's fields (`form[...]`), filled from `d` when editing.
#[component]
fn VendorFields(#[prop(optional)] d: Option<VendorDetail>) -> impl IntoView {
    let v = |f: fn(&VendorDetail) -> String| d.as_ref().map(f).unwrap_or_default();
    let sens = v(|d| d.data_sensitivity.clone());
    let imp = v(|d| d.business_impact.clone());
    view! {
        {d.as_ref().map(|d| view! { <input type="hidden" name="form[id]" value=d.vendor.id.to_string()/> })}
        <label>"Name"<input name="form[name]" required maxlength="200" value=v(|d| d.vendor.name.clone())/></label>
        <label>"Legal name"<input name="form[legal_name]" value=v(|d| d.legal_name.clone())/></label>
        <label>"Website"<input name="form[website]" type="url" value=v(|d| d.website.clone())/></label>
        <label>"Category"<input name="form[category]" value=v(|d| d.vendor.category.clone())/></label>
        <label>"Owner (username or email)"<input name="form[owner]" value=v(|d| d.owner_username.clone().unwrap_or_default())/></label>
        <label>"Services provided"<input name="form[services]" value=v(|d| d.services.clone())/></label>
        <label>"Countries (ISO codes, comma-separated)"<input name="form[countries]" value=v(|d| d.countries.join(", "))/></label>
        <label>"Data categories shared (comma-separated)"<input name="form[data_categories]" value=v(|d| d.data_categories.join(", "))/></label>
        <label>"Sub-processor of (vendor name)"<input name="form[subprocessor_of]" value=v(|d| d.subprocessor_of.clone().map(|p| p.1).unwrap_or_default())/></label>
        <label>"Data sensitivity"<select name="form[data_sensitivity]">
            {tier::SENSITIVITIES.iter().map(|s| view! { <option value=*s selected=sens == *s || (sens.is_empty() && *s == "internal")>{*s}</option> }).collect_view()}
        </select></label>
        <label>"Business impact"<select name="form[business_impact]">
            {tier::IMPACTS.iter().map(|s| view! { <option value=*s selected=imp == *s || (imp.is_empty() && *s == "medium")>{*s}</option> }).collect_view()}
        </select></label>
        <label>"Tier override (1–3; empty: the rubric)"<input name="form[tier_override]" size="2" value=v(|d| d.tier_override.map(|t| t.to_string()).unwrap_or_default())/></label>
        <label>"Override reason"<input name="form[override_reason]" value=v(|d| d.override_reason.clone())/></label>
    }
}

#[component]
pub fn VendorPage() -> impl IntoView {
    let id = id_param("id");
    let contract = ServerAction::<SaveVendorContract>::new();
    let report = ServerAction::<AddVendorAssurance>::new();
    let document = ServerAction::<AddVendorDocument>::new();
    let review = ServerAction::<RecordVendorReview>::new();
    let add_scope = ServerAction::<AddVendorScope>::new();
    let remove_scope = ServerAction::<RemoveVendorScope>::new();
    let detail = Resource::new(
        move || {
            (
                id(),
                contract.version().get(),
                report.version().get(),
                document.version().get(),
                review.version().get(),
                (add_scope.version().get(), remove_scope.version().get()),
            )
        },
        |(id, ..)| get_vendor(id),
    );
    view! {
        <leptos_meta::Title text="Vendor · Steward"/>
        <Transition fallback=|| view! { <p>"Loading the vendor…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <h1>"Vendor"</h1><p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => {
                        let v = d.vendor.clone();
                        let records = d.can_manage || d.is_owner;
                        view! {
                            <h1>{v.name.clone()}</h1>
                            <p class="lede" id="vendor-tier" data-tier=v.tier.to_string()>{format!(
                                "Tier {}{} · sensitivity {} × impact {} · owner {} · review {} · next review {} ({})",
                                v.tier, if v.tier_overridden { format!(" by override: {}", d.override_reason) } else { String::new() },
                                d.data_sensitivity, d.business_impact, v.owner.clone().unwrap_or_else(|| "none".into()),
                                v.review_status.replace('_', " "), v.next_review, v.next_review_why)}</p>
                            <div id="vendor-warnings">{warnings_view(&v.warnings)}</div>
                            {(!d.holds.is_empty()).then(|| view! { <p class="warn hold" id="vendor-holds">{format!("On legal hold: {}. Nothing this vendor holds for us may be disposed of until released.", d.holds.join(", "))}</p> })}
                            <p>{format!("{} · {} · countries {} · data {}", d.legal_name, d.services, d.countries.join(", "), d.data_categories.join(", "))}</p>
                            {d.subprocessor_of.clone().map(|(pid, n)| view! { <p>"Sub-processor of "<a href=paths::vendor(pid)>{n}</a></p> })}
                            {(!d.subprocessors.is_empty()).then(|| view! { <p>"Its sub-processors: "{d.subprocessors.iter().map(|(sid, n)| view! { <a href=paths::vendor(*sid)>{n.clone()}</a>" " }).collect_view()}</p> })}
                            <h2>"Contracts"</h2>
                            <table class="data" id="contracts">
                                <thead><tr><th>"Contract"</th><th>"Term"</th><th>"Renewal"</th><th>"Notice deadline"</th><th>"Standing"</th><th>"Annual value"</th></tr></thead>
                                <tbody>{d.contracts.iter().map(|c| view! {
                                    <tr data-contract=c.title.clone() data-standing=c.standing.clone()>
                                        <td>{c.title.clone()}</td>
                                        <td>{format!("{} – {}", c.start, c.term_end.clone().unwrap_or_else(|| "open-ended".into()))}</td>
                                        <td>{if c.auto_renew { format!("renews by {}", c.renewal_term) } else { "fixed".into() }}</td>
                                        <td>{c.notice_deadline.clone().map(|n| format!("{n} (notice {})", c.notice_period)).unwrap_or_else(|| "—".into())}</td>
                                        <td>{c.standing.clone()}</td>
                                        <td class="num">{c.annual_value.clone().map(|a| format!("{a} {}", c.currency)).unwrap_or_else(|| "—".into())}</td>
                                    </tr>
                                }).collect_view()}</tbody>
                            </table>
                            {d.can_manage.then(|| view! {
                                <details class="card"><summary>"Add a contract"</summary>
                                    <ActionForm action=contract attr:id="contract-form" attr:class="stack">
                                        <input type="hidden" name="form[vendor_id]" value=v.id.to_string()/>
                                        <label>"Title"<input name="form[title]" required/></label>
                                        <label>"Start"<input type="date" name="form[start]" required/></label>
                                        <label>"End (exclusive; empty if open-ended)"<input type="date" name="form[end]"/></label>
                                        <label><input type="checkbox" name="form[auto_renew]" value="on"/>" Renews automatically"</label>
                                        <label>"Renewal term (ISO-8601, e.g. P1Y)"<input name="form[renewal_term]" value="P1Y"/></label>
                                        <label>"Notice period (ISO-8601, e.g. P90D, P3M)"<input name="form[notice_period]" value="P30D"/></label>
                                        <label>"Annual value"<input name="form[annual_value]" inputmode="decimal"/></label>
                                        <label>"Currency"<input name="form[currency]" value="USD" size="3"/></label>
                                        <div class="toolbar"><button type="submit">"Add the contract"</button></div>
                                    </ActionForm>
                                    {action_error(contract)}
                                </details>
                            })}
                            <h2>"Spend"</h2>
                            {spend_view(&d)}
                            {d.can_manage.then(|| {
                                let (add, remove) = (add_scope, remove_scope);
                                view! {
                                    <ul id="scopes">{d.scopes.clone().into_iter().map(|(sid, text)| view! {
                                        <li>{text}" "
                                            <ActionForm action=remove attr:class="inline">
                                                <input type="hidden" name="vendor_id" value=v.id.to_string()/>
                                                <input type="hidden" name="scope_id" value=sid.to_string()/>
                                                <button type="submit">"Remove"</button>
                                            </ActionForm>
                                        </li>
                                    }).collect_view()}</ul>
                                    <ActionForm action=add attr:class="toolbar" attr:id="scope-form">
                                        <input type="hidden" name="vendor_id" value=v.id.to_string()/>
                                        <input name="provider" placeholder="Provider" aria-label="Provider"/>
                                        <input name="billing_account" placeholder="Billing account" aria-label="Billing account"/>
                                        <input name="service" placeholder="Service" aria-label="Service"/>
                                        <input name="tag" placeholder="Tag key=value" aria-label="Tag"/>
                                        <button type="submit">"Map this spend to the vendor"</button>
                                    </ActionForm>
                                    {action_error(add)}
                                }
                            })}
                            <h2>"Assurance"</h2>
                            <table class="data" id="assurance">
                                <thead><tr><th>"Report"</th><th>"Period"</th><th>"Issued"</th><th>"Valid until"</th><th>"Added by"</th></tr></thead>
                                <tbody>{d.assurance.iter().map(|a| view! {
                                    <tr data-kind=a.kind.clone() data-current=a.current.to_string()>
                                        <td>{a.label.clone()}{a.evidence_id.map(|e| view! { " · "<a href=paths::evidence_item(e)>{format!("evidence #{e}")}</a> })}</td>
                                        <td>{a.period.clone().map(|(s, e)| format!("{s} – {e}")).unwrap_or_default()}</td>
                                        <td>{a.issued.clone()}</td>
                                        <td class=if a.current { "" } else { "warn" }>{format!("{}{}", a.valid_until, if a.current { "" } else { " (expired)" })}</td>
                                        <td>{a.added_by.clone()}</td>
                                    </tr>
                                }).collect_view()}</tbody>
                            </table>
                            {records.then(|| view! {
                                <details class="card" open=!d.assurance.iter().any(|a| a.current)><summary>"Record a report or certificate"</summary>
                                    <ActionForm action=report attr:id="assurance-form" attr:class="stack">
                                        <input type="hidden" name="form[vendor_id]" value=v.id.to_string()/>
                                        <label>"Kind"<select name="form[kind]">
                                            {ASSURANCE_KINDS.iter().map(|(k, l)| view! { <option value=*k>{*l}</option> }).collect_view()}
                                        </select></label>
                                        <label>"Period start"<input type="date" name="form[period_start]"/></label>
                                        <label>"Period end"<input type="date" name="form[period_end]"/></label>
                                        <label>"Issued"<input type="date" name="form[issued]" required/></label>
                                        <label>"Valid until"<input type="date" name="form[valid_until]" required/></label>
                                        <label>"Note"<input name="form[note]"/></label>
                                        <div class="toolbar"><button type="submit">"Record the report"</button></div>
                                    </ActionForm>
                                    {action_error(report)}
                                </details>
                            })}
                            <h2>"Documents"</h2>
                            <ul id="documents">{d.documents.iter().map(|(e, t, k)| view! {
                                <li data-kind=k.clone()><a href=paths::evidence_item(*e)>{t.clone()}</a>{format!(" — {}", k.to_uppercase())}</li>
                            }).collect_view()}</ul>
                            {records.then(|| view! {
                                <ActionForm action=document attr:class="toolbar" attr:id="document-form">
                                    <input type="hidden" name="vendor_id" value=v.id.to_string()/>
                                    <input name="evidence_id" inputmode="numeric" required placeholder="Evidence #" aria-label="Evidence number"/>
                                    <select name="kind" aria-label="Document kind">{DOCUMENT_KINDS.iter().map(|k| view! { <option value=*k>{k.to_uppercase()}</option> }).collect_view()}</select>
                                    <button type="submit">"File the document"</button>
                                </ActionForm>
                                {action_error(document)}
                                <h2>"Security review"</h2>
                                <ActionForm action=review attr:class="toolbar" attr:id="review-form">
                                    <input type="hidden" name="vendor_id" value=v.id.to_string()/>
                                    <select name="status" aria-label="Review status">{REVIEW_STATUSES.iter().map(|s| view! { <option value=*s selected=v.review_status == *s>{s.replace('_', " ")}</option> }).collect_view()}</select>
                                    <input type="date" name="date" aria-label="Review date"/>
                                    <button type="submit">"Record the review"</button>
                                </ActionForm>
                                {action_error(review)}
                            })}
                            {d.can_manage.then(|| {
                                let save = ServerAction::<SaveVendor>::new();
                                view! {
                                    <details class="card"><summary>"Edit the vendor"</summary>
                                        <ActionForm action=save attr:class="stack"><VendorFields d=d.clone()/>
                                            <div class="toolbar"><button type="submit">"Save"</button></div>
                                        </ActionForm>
                                        {action_error(save)}
                                    </details>
                                }
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
