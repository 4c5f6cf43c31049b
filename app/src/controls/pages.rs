//! Pages: frameworks with coverage, the requirement browser, controls (list, detail, mine).

use super::status::{Cadence, ControlStatus};
use super::*;
use crate::paths;
use crate::util::display_ts;
use leptos::form::ActionForm;
use leptos_router::hooks::{use_params_map, use_query_map};

fn pct(n: i64, d: i64) -> i64 {
    if d == 0 {
        0
    } else {
        n * 100 / d
    }
}

/// A numeric route parameter (`:id`), 0 when absent or not a number (the server answers
/// "not found" for it).
pub fn id_param(key: &'static str) -> impl Fn() -> i64 + Copy {
    let params = use_params_map();
    move || {
        params
            .read()
            .get(key)
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    }
}

pub fn action_error<T, O>(a: ServerAction<T>) -> impl Fn() -> Option<AnyView> + Copy
where
    T: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    move || {
        a.value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any())
    }
}

/// A labelled bar: the number is always written out, so colour is never the only cue. Drawn
/// as SVG with a width attribute: the page CSP allows no inline styles.
#[component]
pub fn CoverageBar(label: &'static str, n: i64, of: i64) -> impl IntoView {
    let p = pct(n, of);
    view! {
        <div class="coverage">
            <span class="coverage-label">{label}</span>
            <svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img"
                aria-label=format!("{label}: {n} of {of} ({p}%)")>
                <rect class="bar-fill" x="0" y="0" height="10" width=p.to_string()></rect>
            </svg>
            <span class="num">{format!("{n} / {of} ({p}%)")}</span>
        </div>
    }
}

/// Where a framework came from, for people.
fn format_label(format: &str) -> &str {
    match format {
        "oscal" => "OSCAL catalog",
        "oscal-profile" => "OSCAL profile",
        "ciso-yaml" => "CISO Assistant library",
        "csv" => "CSV",
        other => other,
    }
}

#[component]
pub fn StatusBadge(status: ControlStatus) -> impl IntoView {
    view! { <span class=format!("status status-{}", status.as_str())>{status.label()}</span> }
}

#[component]
pub fn FrameworksPage() -> impl IntoView {
    let builtin = ServerAction::<ImportBuiltinFramework>::new();
    let list = Resource::new(move || builtin.version().get(), |_| list_frameworks());
    let query = use_query_map();
    view! {
        <leptos_meta::Title text="Frameworks · Steward"/>
        <h1>"Frameworks"</h1>
        <p class="lede">"The frameworks that apply to us, and how much of each our controls cover. A requirement counts as covered when a control is mapped to it, and as evidenced when all its applicable controls have fresh evidence."</p>
        {move || query.read().get("error").map(|e| view! { <p class="error" role="alert">{e}</p> })}
        {move || query.read().get("imported").map(|m| view! { <p class="success" role="status">{m}</p> })}
        {move || builtin.value().get().map(|r| match r {
            Ok(o) => view! { <p class="success" role="status">{o.describe()}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })}
        <Transition fallback=|| view! { <p>"Loading frameworks…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(l) => view! {
                        {match (l.scoped, l.frameworks.is_empty()) {
                            (true, true) => Some(view! { <p class="card muted" id="reach-note">"You are not assigned to an audit yet: you will see the frameworks of your audits, their controls and evidence."</p> }.into_any()),
                            (true, false) => Some(view! { <p class="hint" id="reach-note">"The frameworks of your audits, with their controls and evidence."</p> }.into_any()),
                            (false, true) => Some(view! { <p class="card muted">"No frameworks yet. Import the built-in NIST baseline or your own catalog below."</p> }.into_any()),
                            (false, false) => None,
                        }}
                        <div class="tiles">
                        {l.frameworks.iter().map(|f| view! {
                            <article class="tile framework" data-key=f.key.clone()>
                                <h2><a href=paths::framework(f.id)>{f.name.clone()}</a></h2>
                                <p class="muted">{format!("Version {} · {} requirements · {}", f.version, f.requirements, format_label(&f.format))}</p>
                                <CoverageBar label="Covered" n=f.mapped of=f.requirements/>
                                <CoverageBar label="Evidenced" n=f.fresh of=f.requirements/>
                                {(f.retired > 0).then(|| view! { <p class="muted">{format!("{} retired requirement(s) kept for the record", f.retired)}</p> })}
                                {(f.suggested > 0).then(|| view! { <p class="muted suggested-count">{format!("{} requirement(s) with coverage suggested by crosswalks", f.suggested)}</p> })}
                                <p><a href=format!("/controls?framework={}", f.id)>"Controls"</a>" · "
                                   <a href=paths::framework_export(f.id) download="">"Export CSV"</a></p>
                            </article>
                        }).collect_view()}
                        </div>
                        {l.can_manage.then(|| view! {
                            <section class="card">
                                <h2>"Import a framework"</h2>
                                <h3>"Built in"</h3>
                                {l.builtin.clone().into_iter().map(|(key, label)| view! {
                                    <ActionForm action=builtin attr:class="inline">
                                        <input type="hidden" name="key" value=key/>
                                        <button type="submit" class="primary">{format!("Import {label}")}</button>
                                    </ActionForm>
                                }).collect_view()}
                                <FrameworkFileForm/>
                            </section>
                        })}
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

fn control_filter_from_query(q: &leptos_router::params::ParamsMap, mine: bool) -> ControlFilter {
    ControlFilter {
        q: q.get("q").unwrap_or_default(),
        status: q.get("status").unwrap_or_default(),
        owner: q.get("owner").and_then(|o| o.parse().ok()),
        framework: q.get("framework").and_then(|o| o.parse().ok()),
        mine,
    }
}

#[component]
pub fn ControlsPage() -> impl IntoView {
    view! { <ControlsView mine=false/> }
}

#[component]
pub fn MyControlsPage() -> impl IntoView {
    view! { <ControlsView mine=true/> }
}

#[component]
fn ControlsView(mine: bool) -> impl IntoView {
    let query = use_query_map();
    let create = ServerAction::<SaveControl>::new();
    let window = ServerAction::<SetDueSoonDays>::new();
    let list = Resource::new(
        move || {
            (
                control_filter_from_query(&query.read(), mine),
                window.version().get(),
            )
        },
        |(f, _)| list_controls(f),
    );
    let base = if mine {
        paths::MY_CONTROLS
    } else {
        paths::CONTROLS
    };
    let field = move |k: &'static str| query.read().get(k).unwrap_or_default();
    view! {
        <leptos_meta::Title text=if mine { "My controls · Steward" } else { "Controls · Steward" }/>
        <h1>{if mine { "My controls" } else { "Controls" }}</h1>
        <p class="lede">{if mine { "Controls you own: what is due, what is overdue, what is failing." } else { "Our own controls, mapped to the requirements of every framework they satisfy. Status is derived from evidence and tests, never typed in." }}</p>
        {move || query.read().get("error").map(|e| view! { <p class="error" role="alert">{e}</p> })}
        {move || query.read().get("imported").map(|m| view! { <p class="success" role="status">{m}</p> })}
        <Transition fallback=|| view! { <p>"Loading controls…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(l) => {
                        let shown = l.rows.len();
                        let sel = move |k: &'static str, v: String| field(k) == v;
                        view! {
                            <ul class="breakdown status-counts">
                                {l.counts.iter().map(|(s, n)| view! {
                                    <li><a href=format!("{base}?status={}", s.as_str())><StatusBadge status=*s/></a>" "<span data-status=s.as_str()>{*n}</span></li>
                                }).collect_view()}
                            </ul>
                            <section class="card">
                                <form method="get" action=base class="filters">
                                    <div><label for="cq">"Text"</label><input id="cq" type="search" name="q" value=field("q")/></div>
                                    <div><label for="cs">"Status"</label><select id="cs" name="status">
                                        <option value="">"Any"</option>
                                        {ControlStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=sel("status", s.as_str().to_string())>{s.label()}</option> }).collect_view()}
                                    </select></div>
                                    {(!mine).then(|| view! {
                                        <div><label for="co">"Owner"</label><select id="co" name="owner">
                                            <option value="">"Anyone"</option>
                                            {l.users.iter().map(|(id, n)| view! { <option value=id.to_string() selected=sel("owner", id.to_string())>{n.clone()}</option> }).collect_view()}
                                        </select></div>
                                    })}
                                    <div><label for="cf">"Framework"</label><select id="cf" name="framework">
                                        <option value="">"Any"</option>
                                        {l.frameworks.iter().map(|(id, n)| view! { <option value=id.to_string() selected=sel("framework", id.to_string())>{n.clone()}</option> }).collect_view()}
                                    </select></div>
                                    <div class="filter-actions"><button type="submit" class="primary">"Filter"</button><a href=base>"Clear"</a></div>
                                </form>
                                <div class="toolbar">
                                    <p class="muted" id="control-count">{format!("{shown} control(s)")}</p>
                                    <a href=paths::CONTROL_EXPORT download="">"Export CSV"</a>
                                </div>
                                <div class="table-wrap"><table class="data controls">
                                    <thead><tr><th scope="col">"Ref"</th><th scope="col">"Control"</th><th scope="col">"Owner"</th><th scope="col">"Cadence"</th>
                                        <th scope="col">"Status"</th><th scope="col">"Next due"</th><th scope="col">"Frameworks"</th></tr></thead>
                                    <tbody>
                                    {l.rows.into_iter().map(|c| view! {
                                        <tr data-ref=c.r#ref.clone() data-status=c.status.as_str()>
                                            <td class="nowrap"><a href=paths::control(c.id)>{c.r#ref.clone()}</a></td>
                                            <td>{c.title.clone()}</td>
                                            <td>{c.owner.clone().unwrap_or_else(|| "—".into())}</td>
                                            <td>{c.cadence.label()}</td>
                                            <td><StatusBadge status=c.status/></td>
                                            <td class="nowrap">{c.next_due.clone().unwrap_or_else(|| "—".into())}</td>
                                            <td>{c.frameworks.join(", ")}</td>
                                        </tr>
                                    }).collect_view()}
                                    </tbody>
                                </table></div>
                            </section>
                            {(l.can_manage && !mine).then(|| view! {
                                <section class="card">
                                    <h2>"Add a control"</h2>
                                    <ActionForm action=create attr:class="grid-form" attr:id="create-control-form">
                                        <ControlFields form=ControlForm::default() users=l.users.clone()/>
                                        <div class="span-all">{action_error(create)}<button type="submit" class="primary">"Add control"</button></div>
                                    </ActionForm>
                                </section>
                                <section class="card">
                                    <h2>"Import and settings"</h2>
                                    <form method="post" action=paths::CONTROL_IMPORT enctype="multipart/form-data" class="grid-form">
                                        <div><label for="ci-file">"Controls CSV"</label><input id="ci-file" type="file" name="file" required accept=".csv,text/csv"/></div>
                                        <div><button type="submit">"Import controls"</button></div>
                                    </form>
                                    <p class="hint">"Columns: ref, title, description, owner_email, cadence, applicable (yes/no), justification, mappings (framework key:requirement id, separated by ';'). Existing refs are updated; a bad row names its line and nothing is written."</p>
                                    <ActionForm action=window attr:class="grid-form">
                                        <div><label for="dsd">"Due soon: days before the due date"</label>
                                            <input id="dsd" name="days" type="number" min="1" max="90" value=l.due_soon_days/></div>
                                        <div>{action_error(window)}<button type="submit">"Save"</button></div>
                                    </ActionForm>
                                </section>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn ControlFields(form: ControlForm, users: Vec<(i64, String)>) -> impl IntoView {
    let sfx = form
        .id
        .map(|i| i.to_string())
        .unwrap_or_else(|| "new".into());
    let id = move |k: &str| format!("{k}-{sfx}");
    let cadence: Cadence = form.cadence.parse().unwrap_or(Cadence::None);
    let na = form.applicable.as_deref() == Some("no");
    let owner = form.owner.clone();
    view! {
        {form.id.map(|i| view! { <input type="hidden" name="form[id]" value=i/> })}
        <div><label for=id("c-ref")>"Reference"</label><input id=id("c-ref") name="form[ref]" required maxlength="50" value=form.r#ref.clone()/></div>
        <div><label for=id("c-title")>"Title"</label><input id=id("c-title") name="form[title]" required maxlength="200" value=form.title.clone()/></div>
        <div><label for=id("c-owner")>"Owner"</label><select id=id("c-owner") name="form[owner]">
            <option value="">"Nobody yet"</option>
            {users.into_iter().map(|(uid, n)| view! { <option value=uid.to_string() selected=owner == uid.to_string()>{n}</option> }).collect_view()}
        </select></div>
        <div><label for=id("c-cadence")>"Evidence cadence"</label><select id=id("c-cadence") name="form[cadence]">
            {Cadence::ALL.iter().map(|c| view! { <option value=c.as_str() selected=*c == cadence>{c.label()}</option> }).collect_view()}
        </select></div>
        <div><label for=id("c-app")>"Applicable"</label><select id=id("c-app") name="form[applicable]">
            <option value="yes" selected=!na>"Yes"</option><option value="no" selected=na>"No (justify)"</option>
        </select></div>
        <div><label for=id("c-just")>"Justification (when not applicable)"</label><input id=id("c-just") name="form[justification]" value=form.justification.clone()/></div>
        <div class="span-all"><label for=id("c-desc")>"Description"</label><textarea id=id("c-desc") name="form[description]" rows="3">{form.description.clone()}</textarea></div>
    }
}

#[component]
pub fn ControlPage() -> impl IntoView {
    let params = use_params_map();
    let edit = ServerAction::<SaveControl>::new();
    let map = ServerAction::<MapControl>::new();
    let unmap = ServerAction::<UnmapControl>::new();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|i| i.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    let detail = Resource::new(
        move || {
            (
                id(),
                edit.version().get(),
                map.version().get(),
                unmap.version().get(),
            )
        },
        |(id, ..)| get_control(id),
    );
    view! {
        <leptos_meta::Title text="Control · Steward"/>
        <Transition fallback=|| view! { <p>"Loading the control…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <h1>"Control"</h1><p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(d) => {
                        let c = d.row.clone();
                        let cid = c.id;
                        let can_manage = d.can_manage;
                        let form = ControlForm {
                            id: Some(cid),
                            r#ref: c.r#ref.clone(),
                            title: c.title.clone(),
                            description: d.description.clone(),
                            owner: c.owner_id.map(|o| o.to_string()).unwrap_or_default(),
                            cadence: c.cadence.as_str().into(),
                            applicable: Some(if c.applicable { "yes" } else { "no" }.into()),
                            justification: d.justification.clone(),
                        };
                        view! {
                            <h1><span class="muted">{c.r#ref.clone()}" "</span>{c.title.clone()}</h1>
                            <dl class="facts">
                                <dt>"Status"</dt><dd id="control-status" data-status=c.status.as_str()><StatusBadge status=c.status/></dd>
                                <dt>"Owner"</dt><dd>{c.owner.clone().unwrap_or_else(|| "Nobody yet".into())}</dd>
                                <dt>"Cadence"</dt><dd>{c.cadence.label()}</dd>
                                <dt>"Last evidence"</dt><dd>{c.last_evidence.clone().unwrap_or_else(|| "none".into())}</dd>
                                <dt>"Next due"</dt><dd>{c.next_due.clone().map(|d| format!("before {d}")).unwrap_or_else(|| "—".into())}</dd>
                                {(!c.applicable).then(|| view! { <dt>"Not applicable"</dt><dd>{d.justification.clone()}</dd> })}
                            </dl>
                            {(!d.description.is_empty()).then(|| view! { <p class="description">{d.description.clone()}</p> })}
                            <section class="card">
                                <h2>"Requirements it satisfies"</h2>
                                {action_error(unmap)}
                                {if d.mappings.is_empty() { view! { <p class="muted">"Not mapped yet."</p> }.into_any() } else { view! {
                                    <ul class="mappings">
                                    {d.mappings.clone().into_iter().map(|m| view! {
                                        <li>
                                            <a href=format!("/frameworks/{}?q={}", m.framework_id, crate::util::urlencode(&m.label))>{format!("{} {}", m.framework, m.label)}</a>
                                            " — "{m.title.clone()}{m.retired.then_some(" (retired)")}
                                            {can_manage.then(|| view! {
                                                <ActionForm action=unmap attr:class="inline">
                                                    <input type="hidden" name="control_id" value=cid/>
                                                    <input type="hidden" name="requirement_id" value=m.requirement_id/>
                                                    <button type="submit" class="link">"Remove"</button>
                                                </ActionForm>
                                            })}
                                        </li>
                                    }).collect_view()}
                                    </ul>
                                }.into_any() }}
                                {d.can_manage.then(|| view! {
                                    <ActionForm action=map attr:class="grid-form" attr:id="map-form">
                                        <input type="hidden" name="control_id" value=cid/>
                                        <div><label for="m-fw">"Framework"</label><select id="m-fw" name="framework_id" required>
                                            {d.frameworks.iter().map(|(id, n)| view! { <option value=id.to_string()>{n.clone()}</option> }).collect_view()}
                                        </select></div>
                                        <div><label for="m-req">"Requirement ids"</label><input id="m-req" name="requirements" required placeholder="e.g. AC-2, AC-2(1)"/></div>
                                        <div>{action_error(map)}<button type="submit">"Map"</button></div>
                                    </ActionForm>
                                })}
                            </section>
                            <section class="card">
                                <div class="toolbar">
                                    <h2>"Evidence"</h2>
                                    {d.can_submit_evidence.then(|| view! {
                                        <a class="button primary" id="add-evidence" href=format!("/evidence/new?control={cid}&return_to=/controls/{cid}")>"Add evidence"</a>
                                    })}
                                </div>
                                {if d.evidence.is_empty() { view! { <p class="muted">"No evidence yet."</p> }.into_any() } else { view! {
                                    <ol class="timeline">
                                    {d.evidence.iter().map(|e| view! {
                                        <li>
                                            <strong>{e.effective_date.clone()}</strong>" "
                                            <a href=paths::evidence_item(e.evidence_id)>{e.title.clone()}</a>
                                            {format!(" (version {}", e.version)}
                                            {e.filename.clone().map(|f| format!(", {f}"))}
                                            {e.url.clone().map(|u| format!(", {u}"))}
                                            ")"
                                            {e.test_result.clone().map(|r| view! {
                                                <span class=format!("status status-{}", if r == "pass" { "effective" } else { "failing" })>
                                                    {format!("test {} on {}", if r == "pass" { "passed" } else { "failed" }, e.tested_on.clone().unwrap_or_default())}
                                                </span>
                                            })}
                                            <span class="muted">{format!(" — uploaded by {} at {}", e.uploaded_by, display_ts(&e.uploaded_at))}</span>
                                        </li>
                                    }).collect_view()}
                                    </ol>
                                }.into_any() }}
                            </section>
                            {d.can_manage.then(|| view! {
                                <section class="card">
                                    <details>
                                        <summary>"Edit this control"</summary>
                                        <ActionForm action=edit attr:class="grid-form">
                                            <ControlFields form=form users=d.users.clone()/>
                                            <div class="span-all">{action_error(edit)}<button type="submit" class="primary">"Save"</button></div>
                                        </ActionForm>
                                    </details>
                                    <p class="muted">{format!("Created {} · updated {}", display_ts(&d.created_at), display_ts(&d.updated_at))}</p>
                                </section>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
