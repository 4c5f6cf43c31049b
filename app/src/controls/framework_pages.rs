//! A framework's page (its requirements with their hierarchy, the coverage crosswalks suggest,
//! the Statement of Applicability) and framework files in (the import form, a CSV's mapping
//! step).

use super::pages::{action_error, CoverageBar, StatusBadge};
use super::*;
use crate::paths;
use crate::util::display_ts;
use leptos::form::ActionForm;
use leptos_router::hooks::{use_params_map, use_query_map};

/// What the related requirement is to this one, in words.
fn relation(rel: &str) -> &'static str {
    match rel {
        "equal" => "equal to this requirement",
        "subset" => "a subset of this requirement (covers part of it)",
        "superset" => "a superset of this requirement (covers all of it)",
        _ => "overlapping this requirement (covers part of it)",
    }
}

/// The import form of the frameworks page: any framework file, a profile's catalogs, a
/// library's language.
#[component]
pub fn FrameworkFileForm() -> impl IntoView {
    view! {
        <h3>"From a file"</h3>
        <p class="hint">"A CISO Assistant library (YAML: its frameworks and crosswalks), an OSCAL catalog or profile (JSON), a crosswalk CSV (source_framework, source_id, target_framework, target_id, relationship) or a framework CSV (any columns and delimiter: you map them next). Re-importing a newer version updates the framework and keeps mappings to requirements that still exist. Steward ships no third-party library: download those you are licensed to use from "<a href="https://github.com/intuitem/ciso-assistant-community/tree/main/backend/library/libraries" rel="noopener noreferrer">"CISO Assistant's library"</a>" or "<a href="https://github.com/usnistgov/oscal-content" rel="noopener noreferrer">"NIST's OSCAL content"</a>"."</p>
        <form method="post" action=paths::FRAMEWORK_IMPORT enctype="multipart/form-data" class="grid-form" id="framework-import-form">
            <div><label for="fw-file">"File"</label><input id="fw-file" type="file" name="file" required accept=".json,.csv,.yaml,.yml,.txt,application/json,text/csv,application/yaml"/></div>
            <div><label for="fw-catalog">"Catalog for a profile (optional; else the catalogs imported)"</label><input id="fw-catalog" type="file" name="catalog" accept=".json,application/json"/></div>
            <div><label for="fw-name">"Name (CSV; optional otherwise)"</label><input id="fw-name" name="name"/></div>
            <div><label for="fw-version">"Version (CSV)"</label><input id="fw-version" name="version" placeholder="1"/></div>
            <div><label for="fw-locale">"Language (library; empty: as before, else its own)"</label><input id="fw-locale" name="locale" size="5" placeholder="fr"/></div>
            <div><button type="submit">"Import"</button></div>
        </form>
    }
}

#[component]
pub fn FrameworkPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let accept = ServerAction::<AcceptSuggestion>::new();
    let applicability = ServerAction::<SetRequirementApplicability>::new();
    let args = move || {
        let id = params
            .read()
            .get("id")
            .and_then(|i| i.parse::<i64>().ok())
            .unwrap_or(-1);
        let q = query.read();
        (
            id,
            q.get("q").unwrap_or_default(),
            q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
            accept.version().get() + applicability.version().get(),
        )
    };
    let page = Resource::new(args, |(id, q, p, _)| list_requirements(Some(id), q, p));
    view! {
        <leptos_meta::Title text="Framework · Steward"/>
        {move || query.read().get("imported").map(|m| view! { <p class="success" role="status" id="import-result">{m}</p> })}
        {action_error(accept)}
        {action_error(applicability)}
        <Transition fallback=|| view! { <p>"Loading requirements…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <h1>"Framework"</h1><p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(p) => {
                        let (id, q, ..) = args();
                        let pages = (p.total + p.per_page - 1) / p.per_page;
                        let can_manage = p.can_manage;
                        view! {
                            {p.framework.clone().map(|f| view! { <FrameworkHeader f=f crosswalks=p.crosswalks.clone()/> })}
                            <section class="card">
                                <form method="get" action=paths::framework(id) class="filters">
                                    <div><label for="rq">"Search requirements"</label><input id="rq" type="search" name="q" value=q.clone() placeholder="id, title or text"/></div>
                                    <div class="filter-actions"><button type="submit" class="primary">"Search"</button><a href=paths::framework(id)>"Clear"</a></div>
                                </form>
                                <p class="muted" id="req-count">{format!("{} requirement(s) and heading(s)", p.total)}</p>
                                <div class="table-wrap"><table class="data requirements">
                                    <thead><tr><th scope="col">"Id"</th><th scope="col">"Requirement"</th><th scope="col">"Family"</th><th scope="col">"Controls"</th></tr></thead>
                                    <tbody>
                                    {p.rows.into_iter().map(|r| view! { <RequirementLine r=r can_manage=can_manage accept=accept applicability=applicability/> }).collect_view()}
                                    </tbody>
                                </table></div>
                                {(pages > 1).then(|| view! {
                                    <nav class="pager" aria-label="Pages">
                                        {(1..=pages).map(|n| {
                                            let href = format!("/frameworks/{id}?q={}&page={n}", crate::util::urlencode(&q));
                                            view! { <a href=href aria-current=(n == p.page).then_some("page")>{n}</a>" " }
                                        }).collect_view()}
                                    </nav>
                                })}
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn FrameworkHeader(
    f: FrameworkSummary,
    crosswalks: Vec<(String, String, i64, String)>,
) -> impl IntoView {
    let others: Vec<String> = f
        .locales
        .iter()
        .filter(|l| **l != f.locale)
        .cloned()
        .collect();
    view! {
        <h1>{f.name.clone()}</h1>
        <p class="lede">{format!("Version {} · imported {} · updated {}", f.version, display_ts(&f.imported_at), display_ts(&f.updated_at))}
            {(!f.locale.is_empty()).then(|| format!(" · language {}", f.locale))}
            {(!others.is_empty()).then(|| format!(" (also in {}: re-import the library with that language)", others.join(", ")))}
            {(!f.source_url.is_empty()).then(|| view! { " · " <a href=f.source_url.clone() rel="noopener noreferrer">"source"</a> })}
        </p>
        <section class="card">
            <CoverageBar label="Covered" n=f.mapped of=f.requirements/>
            <CoverageBar label="Evidenced" n=f.fresh of=f.requirements/>
            <ul class="breakdown">
                {f.by_status.iter().filter(|(_, n)| *n > 0).map(|(s, n)| view! {
                    <li><a href=format!("/controls?framework={}&status={}", f.id, s.as_str())><StatusBadge status=*s/></a>" "{*n}</li>
                }).collect_view()}
            </ul>
            <p class="muted" id="framework-counts">{format!("{} requirement(s) counted · {} excluded by the Statement of Applicability · {} with suggested coverage", f.requirements, f.excluded, f.suggested)}</p>
            <p><a href=paths::framework_soa(f.id) download="" id="soa-export">"Statement of Applicability (CSV)"</a>" · "<a href=paths::framework_export(f.id) download="">"Requirements (CSV)"</a></p>
            {(!crosswalks.is_empty()).then(|| view! {
                <h2>"Crosswalks"</h2>
                <ul id="crosswalks">{crosswalks.into_iter().map(|(name, other, n, fmt)| view! {
                    <li>{format!("{name}: with {other}, {n} link(s) ({fmt})")}</li>
                }).collect_view()}</ul>
            })}
        </section>
    }
}

#[component]
fn RequirementLine(
    r: RequirementRow,
    can_manage: bool,
    accept: ServerAction<AcceptSuggestion>,
    applicability: ServerAction<SetRequirementApplicability>,
) -> impl IntoView {
    let depth = format!("depth-{}", r.depth.clamp(1, 6));
    if !r.assessable {
        return view! {
            <tr class="heading" data-ref=r.r#ref.clone()>
                <td class=format!("nowrap {depth}")>{r.label.clone()}</td>
                <td colspan="3"><strong>{r.title.clone()}</strong>{(!r.statement.is_empty()).then(|| view! { <pre class="statement">{r.statement.clone()}</pre> })}</td>
            </tr>
        }
        .into_any();
    }
    let rid = r.id;
    let excluded = !r.applicable;
    view! {
        <tr class:inactive=r.retired || excluded data-ref=r.r#ref.clone()>
            <td class=format!("nowrap {depth}")>{r.label.clone()}{r.retired.then(|| view! { <br/><span class="muted">"retired"</span> })}</td>
            <td>
                <details><summary>{r.title.clone()}</summary><pre class="statement">{r.statement.clone()}</pre>
                    {(!r.reference_controls.is_empty()).then(|| view! { <p class="muted">{format!("Reference controls: {}", r.reference_controls.replace(',', ", "))}</p> })}
                </details>
                {excluded.then(|| view! { <p class="muted excluded">{format!("Excluded: {}", r.justification)}</p> })}
                {(can_manage && !r.retired).then(|| view! {
                    <details class="applicability"><summary>"Applicability"</summary>
                        <ActionForm action=applicability attr:class="inline">
                            <input type="hidden" name="requirement_id" value=rid.to_string()/>
                            <select name="applicable" aria-label="Applicable">
                                <option value="yes" selected=!excluded>"Applies"</option>
                                <option value="no" selected=excluded>"Excluded"</option>
                            </select>
                            <input name="justification" aria-label="Justification" placeholder="why (required when excluded)" value=r.justification.clone() maxlength="2000"/>
                            <button type="submit">"Save"</button>
                        </ActionForm>
                    </details>
                })}
            </td>
            <td>{r.group_title.clone()}</td>
            <td>
                {if r.controls.is_empty() { view! { <span class="muted">"none"</span> }.into_any() } else {
                    r.controls.into_iter().map(|(cid, cref)| view! { <a href=paths::control(cid)>{cref}</a>" " }).collect_view().into_any()
                }}
                {(!r.suggestions.is_empty()).then(|| view! {
                    <ul class="suggestions">
                        {r.suggestions.into_iter().map(|s| view! {
                            <li class="suggestion" data-control=s.control_ref.clone()>
                                "Suggested: "<a href=paths::control(s.control_id)>{s.control_ref.clone()}</a>
                                {format!(" is mapped to {} {}, {} ({})", s.via_framework, s.via_label, relation(&s.relationship), s.crosswalk)}
                                <span class=format!("relationship rel-{}", s.relationship)>{s.relationship.clone()}</span>
                                {can_manage.then(|| view! {
                                    <ActionForm action=accept attr:class="inline accept-form">
                                        <input type="hidden" name="control_id" value=s.control_id.to_string()/>
                                        <input type="hidden" name="requirement_id" value=rid.to_string()/>
                                        <button type="submit">"Accept"</button>
                                    </ActionForm>
                                })}
                            </li>
                        }).collect_view()}
                    </ul>
                })}
            </td>
        </tr>
    }
    .into_any()
}

/// The mapping step of a framework CSV: what was detected, the first rows, a column for each
/// field (remembered from the last file with these headers, else guessed).
#[component]
pub fn FrameworkImportPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("upload").unwrap_or_default();
    let pending = Resource::new(token, pending_framework_import);
    let import = ServerAction::<ImportMappedFramework>::new();
    view! {
        <leptos_meta::Title text="Import a framework · Steward"/>
        <h1>"Import a framework: map the columns"</h1>
        {move || query.read().get("error").map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <Transition fallback=|| view! { <p>"Reading the file…"</p> }>
            {move || Suspend::new(async move {
                match pending.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(p) => {
                        let stem = p.file_name.rsplit_once('.').map(|(s, _)| s.to_string()).unwrap_or_else(|| p.file_name.clone());
                        view! {
                            <p class="lede">{format!("{}: {} row(s), {}, delimiter '{}'. Choose the column each field is read from; the mapping is remembered for files with the same columns. One bad row and nothing is imported.", p.file_name, p.rows, p.encoding, p.delimiter)}</p>
                            {crate::tabular::preview_table(&p)}
                            <ActionForm action=import attr:id="mapping-form" attr:class="stack card">
                                <input type="hidden" name="token" value=p.token.clone()/>
                                <label>"Framework name"<input name="name" id="map-name" required value=stem/></label>
                                <label>"Version"<input name="version" id="map-version" value="1"/></label>
                                {crate::tabular::mapping_fields(&p)}
                                <div class="toolbar"><button type="submit" class="primary">"Import the framework"</button></div>
                            </ActionForm>
                            {action_error(import)}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
