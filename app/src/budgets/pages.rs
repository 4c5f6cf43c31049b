//! Pages: all budgets (finance, auditors), one budget (its periods, thresholds and alerts;
//! the owner acknowledges there), and "My work" (what the signed-in user owns). Every form
//! posts without JavaScript too.

use super::*;
use crate::controls::pages::action_error;
use crate::paths;
use leptos::form::ActionForm;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn StateBadge(state: Option<BudgetState>) -> impl IntoView {
    match state {
        Some(s) => view! { <span class=format!("status budget-{}", s.as_str()) data-state=s.as_str()>{s.label()}</span> }.into_any(),
        None => view! { <span class="muted">"Not running"</span> }.into_any(),
    }
}

fn filter_from_query(q: &leptos_router::params::ParamsMap) -> BudgetFilter {
    BudgetFilter {
        state: q.get("state").unwrap_or_default(),
        owner: q.get("owner").unwrap_or_default(),
        q: q.get("q").unwrap_or_default(),
    }
}

/// The budgets table (the list and "My work" share it).
#[component]
fn BudgetTable(rows: Vec<BudgetSummary>) -> impl IntoView {
    view! {
        <div class="table-wrap"><table class="data budgets">
            <thead><tr><th scope="col">"Budget"</th><th scope="col">"Owner"</th><th scope="col">"Period"</th>
                <th scope="col" class="num">"Budget"</th><th scope="col" class="num">"Actual"</th><th scope="col" class="num">"Used"</th>
                <th scope="col" class="num">"Forecast"</th><th scope="col" class="num">"Variance"</th><th scope="col">"State"</th><th scope="col" class="num">"Open alerts"</th></tr></thead>
            <tbody>
            {rows.into_iter().map(|b| {
                let c = b.current.clone();
                let cell = move |f: fn(&PeriodView) -> String| c.as_ref().map(f).unwrap_or_else(|| "—".into());
                view! {
                    <tr data-budget=b.name.clone() data-state=b.state().map(|s| s.as_str()).unwrap_or("none")>
                        <td><a href=paths::budget(b.id)>{b.name.clone()}</a><br/><span class="muted small">{b.scope.clone()}</span></td>
                        <td>{b.owner.clone()}{b.deputy.clone().map(|d| view! { <br/><span class="muted small">"deputy: "{d}</span> })}</td>
                        <td class="nowrap">{cell(|p| p.label.clone())}</td>
                        <td class="num">{format!("{} {}", b.amount, b.currency)}</td>
                        <td class="num" data-exact=cell(|p| p.actual_exact.clone())>{cell(|p| p.actual.clone())}</td>
                        <td class="num">{cell(|p| p.used_percent.clone())}</td>
                        <td class="num">{cell(|p| p.forecast.clone())}</td>
                        <td class="num">{cell(|p| p.variance.clone())}</td>
                        <td><StateBadge state=b.state()/></td>
                        <td class="num">{b.open_alerts}</td>
                    </tr>
                }
            }).collect_view()}
            </tbody>
        </table></div>
    }
}

/// The budget fields, for creating one and editing it.
#[component]
fn BudgetFields(form: BudgetForm) -> impl IntoView {
    let text = |name: &'static str, label: &'static str, value: String, hint: &'static str| {
        let id = format!("bf-{name}");
        view! {
            <div><label for=id.clone()>{label}</label>
                <input id=id type="text" name=format!("form[{name}]") value=value/>
                {(!hint.is_empty()).then(|| view! { <small class="muted">{hint}</small> })}</div>
        }
    };
    view! {
        {text("name", "Name", form.name, "")}
        {text("owner", "Owner", form.owner, "username or email")}
        {text("deputy", "Deputy", form.deputy, "optional")}
        <div><label for="bf-period">"Period"</label><select id="bf-period" name="form[period]">
            {["monthly", "quarterly", "annual"].into_iter().map(|p| view! { <option value=p selected=form.period == p>{p}</option> }).collect_view()}
        </select></div>
        {text("amount", "Amount per period", form.amount, "exact, e.g. 12500.00")}
        {text("currency", "Currency", form.currency, "e.g. USD")}
        {text("start", "First month", form.start, "YYYY-MM")}
        {text("end", "Last month", form.end, "optional, YYYY-MM")}
        {text("provider", "Provider", form.provider, "")}
        {text("billing_account", "Billing account", form.billing_account, "")}
        {text("sub_account", "Sub-account", form.sub_account, "")}
        {text("service", "Service", form.service, "")}
        {text("region", "Region", form.region, "")}
        {text("tag", "Tag", form.tag, "key=value")}
        {text("thresholds", "Thresholds", form.thresholds, "e.g. 80%actual;100%actual;100%forecast")}
        {text("notes", "Notes", form.notes, "")}
    }
}

#[component]
pub fn BudgetsPage() -> impl IntoView {
    let query = use_query_map();
    let create = ServerAction::<SaveBudget>::new();
    let set_control = ServerAction::<SetAttestationControl>::new();
    let list = Resource::new(
        move || {
            (
                filter_from_query(&query.read()),
                set_control.version().get(),
            )
        },
        |(f, _)| list_budgets(f),
    );
    let field = move |k: &'static str| query.read().get(k).unwrap_or_default();
    view! {
        <leptos_meta::Title text="Budgets · Steward"/>
        <h1>"Budgets"</h1>
        <p class="lede">"Each budget has an owner who answers for it: spend against the amount for the period, the forecast to its end, and the alerts the owner has acknowledged or not."</p>
        {move || query.read().get("error").map(|e| view! { <p class="error" role="alert">{e}</p> })}
        {move || query.read().get("imported").map(|m| view! { <p class="success" role="status" id="import-result">{m}</p> })}
        <Transition fallback=|| view! { <p>"Loading budgets…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(l) => {
                        let sel = move |k: &'static str, v: String| field(k) == v;
                        let shown = l.rows.len();
                        view! {
                            <ul class="breakdown status-counts">
                                {l.counts.iter().map(|(s, n)| view! {
                                    <li><a href=format!("{}?state={}", paths::BUDGETS, s.as_str())><StateBadge state=Some(*s)/></a>" "<span data-count=s.as_str()>{*n}</span></li>
                                }).collect_view()}
                            </ul>
                            <section class="card">
                                <form method="get" action=paths::BUDGETS class="filters">
                                    <div><label for="bq">"Text"</label><input id="bq" type="search" name="q" value=field("q")/></div>
                                    <div><label for="bs">"State"</label><select id="bs" name="state">
                                        <option value="">"Any"</option>
                                        <option value="at-risk" selected=sel("state", "at-risk".into())>"At risk (warning or breached)"</option>
                                        {BudgetState::ALL.iter().map(|s| view! { <option value=s.as_str() selected=sel("state", s.as_str().into())>{s.label()}</option> }).collect_view()}
                                    </select></div>
                                    <div><label for="bo">"Owner"</label><select id="bo" name="owner">
                                        <option value="">"Anyone"</option>
                                        {l.owners.iter().map(|(id, n)| view! { <option value=id.to_string() selected=sel("owner", id.to_string())>{n.clone()}</option> }).collect_view()}
                                    </select></div>
                                    <div class="filter-actions"><button type="submit" class="primary">"Filter"</button><a href=paths::BUDGETS>"Clear"</a></div>
                                </form>
                                <div class="toolbar">
                                    <p class="muted" id="budget-count">{format!("{shown} budget(s)")}</p>
                                    <a href=paths::BUDGET_EXPORT download="">"Export CSV"</a>
                                </div>
                                <BudgetTable rows=l.rows/>
                                <p class="muted small">"Actual: billed cost in the period, summed exactly from the cost data. Variance: forecast minus budget."</p>
                            </section>
                            {l.can_manage.then(|| view! {
                                <section class="card">
                                    <h2>"Monthly attestation"</h2>
                                    <p class="muted">"After a period closes, each owner confirms the spend or explains the variance; the statement is kept as evidence for this control."</p>
                                    <ActionForm action=set_control attr:class="grid-form" attr:id="attestation-control-form">
                                        <div><label for="att-control">"Control reference"</label><input id="att-control" name="reference" value=l.attestation_control.clone().unwrap_or_default()/></div>
                                        <div><button type="submit">"Save"</button></div>
                                    </ActionForm>
                                    {action_error(set_control)}
                                </section>
                                <section class="card">
                                    <h2>"Import budgets"</h2>
                                    <p class="muted">"A CSV file with the columns name, owner, deputy, period, amount, currency, start, end, provider, billing_account, sub_account, service, region, tag, thresholds, notes (as the export writes them). Budgets are matched by name and updated; nothing is written if any row is wrong."</p>
                                    <form method="post" action=paths::BUDGET_IMPORT enctype="multipart/form-data" class="grid-form">
                                        <div><label for="budget-file">"Budgets file"</label><input id="budget-file" type="file" name="file" accept=".csv,text/csv" required/></div>
                                        <div><button type="submit" class="primary">"Import"</button></div>
                                    </form>
                                </section>
                                <section class="card">
                                    <h2>"New budget"</h2>
                                    <ActionForm action=create attr:class="grid-form" attr:id="create-budget-form">
                                        <BudgetFields form=BudgetForm { period: "monthly".into(), thresholds: DEFAULT_THRESHOLDS.into(), ..Default::default() }/>
                                        <div><button type="submit" class="primary">"Create budget"</button></div>
                                    </ActionForm>
                                    {action_error(create)}
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
fn AlertList(
    alerts: Vec<AlertView>,
    can_ack: bool,
    ack: ServerAction<AcknowledgeAlert>,
) -> impl IntoView {
    if alerts.is_empty() {
        return view! { <p class="muted">"No alert has been raised."</p> }.into_any();
    }
    view! {
        <ul class="alerts">
            {alerts.into_iter().map(|a| { let acked = a.acknowledged.is_some().to_string(); view! {
                <li class="alert-item" data-alert=a.id.to_string() data-acknowledged=acked>
                    <p><strong>{format!("Period from {}: {}", a.period, a.threshold)}</strong>
                        {format!(" — threshold {}, value when raised {} (raised {})", a.threshold_amount, a.value_at_raise, a.raised_at)}
                        {(!a.crossed).then(|| view! { " " <span class="status budget-ok">"No longer crossed"</span> })}</p>
                    {match a.acknowledged {
                        Some((at, by, note)) => view! { <p class="muted">{format!("Acknowledged by {by} on {at}: ")}<q>{note}</q></p> }.into_any(),
                        None if can_ack => view! {
                            <ActionForm action=ack attr:class="stack compact ack-form">
                                <input type="hidden" name="alert" value=a.id.to_string()/>
                                <label for=format!("ack-{}", a.id)>"What will be done"</label>
                                <textarea id=format!("ack-{}", a.id) name="note" required maxlength="2000"></textarea>
                                <button type="submit">"Acknowledge"</button>
                            </ActionForm>
                        }.into_any(),
                        None => view! { <p class="muted">"Not acknowledged yet."</p> }.into_any(),
                    }}
                </li>
            }}).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
pub fn BudgetPage() -> impl IntoView {
    let params = use_params_map();
    let ack = ServerAction::<AcknowledgeAlert>::new();
    let save = ServerAction::<SaveBudget>::new();
    let attest = ServerAction::<AttestPeriod>::new();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let detail = Resource::new(
        move || {
            (
                id(),
                ack.version().get(),
                save.version().get(),
                attest.version().get(),
            )
        },
        |(id, _, _, _)| get_budget(id),
    );
    view! {
        <leptos_meta::Title text="Budget · Steward"/>
        <Transition fallback=|| view! { <p>"Loading the budget…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <h1>"Budget"</h1><p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => {
                        let s = d.summary.clone();
                        view! {
                            <h1>{s.name.clone()}" "<StateBadge state=s.state()/></h1>
                            <p class="lede">{format!("{} {} {} · {} · owner {}", s.amount, s.currency, s.period, s.scope, s.owner)}
                                {s.deputy.clone().map(|dp| format!(" · deputy {dp}"))}</p>
                            {(!d.notes.is_empty()).then(|| view! { <p>{d.notes.clone()}</p> })}
                            {action_error(ack)}
                            {s.current.clone().map(|c| view! {
                                <section class="card">
                                    <h2>{format!("This period: {}", c.label)}</h2>
                                    <dl class="facts">
                                        <dt>"Budget"</dt><dd>{c.amount.clone()}</dd>
                                        <dt>"Actual"</dt><dd id="current-actual" data-exact=c.actual_exact.clone()>{format!("{} ({})", c.actual, c.used_percent)}</dd>
                                        <dt>"Remaining"</dt><dd>{c.remaining.clone()}</dd>
                                        <dt>"Forecast to the period's end"</dt><dd id="current-forecast">{c.forecast.clone()}</dd>
                                        <dt>"Variance (forecast − budget)"</dt><dd>{c.variance.clone()}</dd>
                                    </dl>
                                    <p class="muted small" id="forecast-basis">{format!("Forecast: {}", c.forecast_basis)}</p>
                                    {d.burndown.clone().map(|bd| view! { <Burndown bd/> })}
                                </section>
                            })}
                            <section class="card">
                                <h2>"Alerts"</h2>
                                <AlertList alerts=d.alerts.clone() can_ack=d.can_acknowledge ack/>
                            </section>
                            <Attestations d=d.clone() attest/>
                            <section class="card">
                                <h2>"Thresholds"</h2>
                                <ul>{d.thresholds.iter().map(|(t, a, crossed)| view! {
                                    <li>{format!("{t}: {a}")}{crossed.then_some(" — crossed")}</li>
                                }).collect_view()}</ul>
                            </section>
                            <section class="card">
                                <h2>"Periods"</h2>
                                <div class="table-wrap"><table class="data">
                                    <thead><tr><th scope="col">"Period"</th><th scope="col" class="num">"Budget"</th><th scope="col" class="num">"Actual"</th>
                                        <th scope="col" class="num">"Forecast"</th><th scope="col" class="num">"Variance"</th><th scope="col">"State"</th></tr></thead>
                                    <tbody>{d.history.iter().map(|p| view! {
                                        <tr data-period=p.start.clone()><td>{p.label.clone()}{(!p.closed).then_some(" (open)")}</td><td class="num">{p.amount.clone()}</td>
                                            <td class="num" data-exact=p.actual_exact.clone()>{p.actual.clone()}</td><td class="num">{p.forecast.clone()}</td>
                                            <td class="num">{p.variance.clone()}</td><td><StateBadge state=Some(p.state)/></td></tr>
                                    }).collect_view()}</tbody>
                                </table></div>
                            </section>
                            {d.can_manage.then(|| view! {
                                <section class="card">
                                    <h2>"Edit"</h2>
                                    <ActionForm action=save attr:class="grid-form" attr:id="edit-budget-form">
                                        <input type="hidden" name="id" value=s.id.to_string()/>
                                        <BudgetFields form=d.form.clone()/>
                                        <div><button type="submit" class="primary">"Save"</button></div>
                                    </ActionForm>
                                    {action_error(save)}
                                </section>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The burn-down: each line has its own pattern and a label, so colour is never the only
/// cue; the numbers are in the table below it.
#[component]
fn Burndown(bd: BurndownView) -> impl IntoView {
    let (w, h) = (bd.width, bd.height);
    let view_box = format!("-60 -10 {} {}", w + 150, h + 30);
    view! {
        <figure class="burndown">
            <svg viewBox=view_box role="img" aria-labelledby="burndown-caption" class="burndown-chart">
                {bd.ticks.iter().map(|(label, y)| view! {
                    <line class="grid" x1="0" x2=w.to_string() y1=y.clone() y2=y.clone()></line>
                    <text class="tick" x="-6" y=y.clone() text-anchor="end">{label.clone()}</text>
                }).collect_view()}
                <line class="axis" x1="0" x2=w.to_string() y1=h.to_string() y2=h.to_string()></line>
                <line class="burndown-budget" x1="0" x2=w.to_string() y1=bd.budget_y.clone() y2=bd.budget_y.clone() stroke-dasharray="2 4"></line>
                <text class="series-label" x=(w + 6).to_string() y=bd.budget_y.clone()>"budget"</text>
                <polyline class="burndown-forecast" points=bd.forecast.clone() fill="none" stroke-dasharray="8 5"></polyline>
                <text class="series-label" x=(w + 6).to_string() y=bd.forecast.rsplit(',').next().unwrap_or("0").to_string()>"forecast"</text>
                <polyline class="burndown-actual" points=bd.actual.clone() fill="none"></polyline>
                <circle class="burndown-actual-end" cx=bd.actual_end.0.clone() cy=bd.actual_end.1.clone() r="4"></circle>
                <text class="series-label" x=bd.actual_end.0.clone() y=bd.actual_end.1.clone() dx="6" dy="-6">"actual"</text>
            </svg>
            <figcaption id="burndown-caption">{format!("Cumulative actual spend (solid, {} days with data), the forecast to the period's end (dashed) and the budget (dotted).", bd.through)}</figcaption>
        </figure>
        <details class="burndown-numbers">
            <summary>"The numbers by day"</summary>
            <div class="table-wrap"><table class="data">
                <thead><tr><th scope="col">"Day"</th><th scope="col" class="num">"Spend"</th><th scope="col" class="num">"Cumulative"</th></tr></thead>
                <tbody>{bd.days.iter().take(bd.through as usize).map(|(day, s, c)| view! {
                    <tr><td>{day.clone()}</td><td class="num">{s.clone()}</td><td class="num">{c.clone()}</td></tr>
                }).collect_view()}</tbody>
            </table></div>
        </details>
    }
}

/// Attestations made, and the forms for closed periods still waiting (owner and deputy).
#[component]
fn Attestations(d: BudgetDetail, attest: ServerAction<AttestPeriod>) -> impl IntoView {
    let id = d.summary.id;
    let control = match d.attestation_control.clone() {
        Some(c) => format!("Each attestation is kept as evidence for control {c}."),
        None => "Each attestation is kept as evidence (finance names the control it counts for on the budgets page).".into(),
    };
    view! {
        <section class="card" id="attestations">
            <h2>"Attestations"</h2>
            <p class="muted small">{control}</p>
            {action_error(attest)}
            <ul>{d.attestations.iter().map(|a| view! {
                <li data-attested=a.period.clone()>{format!("Period from {}: {} by {} on {} (actual {}) ", a.period, a.statement, a.by, a.at, a.actual)}
                    {(!a.note.is_empty()).then(|| view! { <q>{a.note.clone()}</q>" " })}
                    <a href=paths::evidence_item(a.evidence_id)>{format!("evidence #{}", a.evidence_id)}</a>
                    <span class="muted small">{format!(" sha256 {}", a.sha256)}</span></li>
            }).collect_view()}</ul>
            {d.can_acknowledge.then(|| d.attestations_due.clone().into_iter().map(|(start, label, over)| {
                view! {
                    <ActionForm action=attest attr:class="stack compact attest-form">
                        <h3>{format!("Attest {label}")}</h3>
                        <input type="hidden" name="budget" value=id.to_string()/>
                        <input type="hidden" name="period" value=start.clone()/>
                        <fieldset><legend>"Statement"</legend>
                            {(!over).then(|| view! { <label><input type="radio" name="statement" value="confirmed" checked=true/>" I confirm the spend"</label> })}
                            <label><input type="radio" name="statement" value="explained" checked=over/>" I explain the variance"</label>
                        </fieldset>
                        <label for=format!("attest-note-{start}")>{if over { "Why the spend is over the budget" } else { "Note (required to explain)" }}</label>
                        <textarea id=format!("attest-note-{start}") name="note" maxlength="4000" required=over></textarea>
                        <button type="submit" class="primary">"Attest"</button>
                    </ActionForm>
                }
            }).collect_view())}
        </section>
    }
}

#[component]
pub fn MyWorkPage() -> impl IntoView {
    let mine = Resource::new(|| (), |_| my_budgets());
    let controls = Resource::new(|| (), |_| crate::controls::owned_controls());
    let requests = Resource::new(|| (), |_| crate::audits::my_audit_requests());
    view! {
        <leptos_meta::Title text="My work · Steward"/>
        <h1>"My work"</h1>
        <p class="lede">"What you own or deputise, and what needs you."</p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match mine.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! { <section class="card"><h2>"Budgets"</h2><p class="muted">"You own no budget."</p></section> }.into_any(),
                    Ok(rows) => {
                        let open: usize = rows.iter().map(|b| b.open_alerts).sum();
                        let due: Vec<(i64, String, String)> = rows.iter().filter_map(|b| b.attestation_due.clone().map(|p| (b.id, b.name.clone(), p))).collect();
                        view! {
                            <section class="card">
                                <h2>"Budgets"</h2>
                                <p id="my-open-alerts">{format!("{open} alert(s) wait for your acknowledgement.")}</p>
                                {(!due.is_empty()).then(|| view! {
                                    <ul class="attestations-due">{due.into_iter().map(|(id, name, p)| view! {
                                        <li><a href=format!("{}#attestations", paths::budget(id))>{format!("Attest the spend of {name} for the period from {p}")}</a></li>
                                    }).collect_view()}</ul>
                                })}
                                <BudgetTable rows/>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match controls.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! { <section class="card"><h2>"Controls"</h2><p class="muted">"You own no control."</p></section> }.into_any(),
                    Ok(rows) => view! {
                        <section class="card" id="my-controls">
                            <h2>"Controls"</h2>
                            <div class="table-wrap"><table class="data">
                                <thead><tr><th scope="col">"Ref"</th><th scope="col">"Control"</th><th scope="col">"Status"</th><th scope="col">"Next due"</th></tr></thead>
                                <tbody>{rows.into_iter().map(|c| view! {
                                    <tr data-ref=c.r#ref.clone() data-status=c.status.as_str()>
                                        <td class="nowrap">{c.r#ref.clone()}</td><td>{c.title.clone()}</td>
                                        <td><crate::controls::StatusBadge status=c.status/></td>
                                        <td class="nowrap">{c.next_due.clone().unwrap_or_else(|| "—".into())}</td>
                                    </tr>
                                }).collect_view()}</tbody>
                            </table></div>
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
        <crate::access_reviews::MyAccessWorkSection/>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match requests.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(rows) if rows.is_empty() => ().into_any(),
                    Ok(rows) => view! {
                        <section class="card" id="my-audit-requests">
                            <h2>"Audit requests"</h2>
                            <ul>{rows.into_iter().map(|r| view! {
                                <li data-overdue=r.overdue.to_string()>
                                    <a href=paths::audit_request(r.id)>{format!("{} ({})", r.reference, r.audit)}</a>
                                    {format!(": {} — {}, due {}{}", r.text.chars().take(100).collect::<String>(), r.status, r.due, if r.overdue { " (overdue)" } else { "" })}
                                </li>
                            }).collect_view()}</ul>
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
