//! The cost explorer page and the cost import page (with the upload form and sync card).

use super::report::{group_label, Report, ReportQuery, CHART_SERIES};
#[cfg(feature = "hydrate")]
use super::routes::MAX_UPLOAD_BYTES;
use super::*;
use crate::paths;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

fn query_from(q: &leptos_router::params::ParamsMap) -> ReportQuery {
    let g = |k: &str| q.get(k).unwrap_or_default();
    ReportQuery {
        from: g("from"),
        to: g("to"),
        granularity: g("granularity"),
        group_by: g("group_by"),
        metric: g("metric"),
        currency: g("currency"),
        provider: g("provider"),
        account: g("account"),
        service: g("service"),
        region: g("region"),
    }
}

/// Fill patterns, so series differ without colour: each has its own colour AND texture.
const PATTERNS: [(&str, &str); CHART_SERIES + 1] = [
    ("p0", "#1f5f8b"),
    ("p1", "#c2571a"),
    ("p2", "#2e7d4f"),
    ("p3", "#7b3fa0"),
    ("p4", "#a8261f"),
    ("p5", "#5b6b7a"),
    ("p6", "#9aa5b1"),
];

#[component]
fn ChartDefs() -> impl IntoView {
    view! {
        <defs>
            <pattern id="p0" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="#1f5f8b"/></pattern>
            <pattern id="p1" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="#c2571a"/><path d="M0 8L8 0" stroke="#fff" stroke-width="2"/></pattern>
            <pattern id="p2" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="#2e7d4f"/><circle cx="4" cy="4" r="1.6" fill="#fff"/></pattern>
            <pattern id="p3" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="#7b3fa0"/><path d="M0 4H8" stroke="#fff" stroke-width="1.5"/></pattern>
            <pattern id="p4" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="#a8261f"/><path d="M0 0L8 8" stroke="#fff" stroke-width="2"/></pattern>
            <pattern id="p5" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="#5b6b7a"/><path d="M4 0V8" stroke="#fff" stroke-width="1.5"/></pattern>
            <pattern id="p6" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="#9aa5b1"/><path d="M0 0L8 8M8 0L0 8" stroke="#fff" stroke-width="1"/></pattern>
        </defs>
    }
}

#[component]
fn Chart(r: Report) -> impl IntoView {
    // `left` leaves room for the value axis' labels.
    let (w, h, left, bottom) = (900u32, 260u32, 64u32, 24u32);
    let n = r.periods.len().max(1) as u32;
    let slot = (w - left) / n;
    let bar = (slot * 7 / 10).max(1);
    let plot = h - bottom - 8;
    let label_every = n.div_ceil(12).max(1);
    let currency = r.query.currency.clone();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {w} {h}") role="img" aria-labelledby="chart-title" id="cost-chart">
                <title id="chart-title">{format!("Spend per {} by {}, {}; numbers in the table below", if r.query.granularity == "monthly" { "month" } else { "day" }, group_label(&r.query.group_by).to_lowercase(), currency)}</title>
                <ChartDefs/>
                <line x1=left y1=h - bottom x2=w y2=h - bottom stroke="#8a96a3"/>
                <g class="axis" id="value-axis">
                    <text x=4 y=h - 6 font-size="11" fill="#445">{currency.clone()}</text>
                    {r.axis.iter().map(|(pm, label)| {
                        let y = (h - bottom) - pm * plot / 1000;
                        view! {
                            <line x1=left y1=y x2=w y2=y stroke="#d5dbe1" stroke-dasharray="3 3"/>
                            <text x=left - 6 y=y + 4 text-anchor="end" font-size="11" fill="#445">{label.clone()}</text>
                        }
                    }).collect_view()}
                </g>
                {r.bars.iter().enumerate().map(|(i, segs)| {
                    let x = left + i as u32 * slot + (slot - bar) / 2;
                    let period = r.periods[i].clone();
                    view! {
                        <g class="bar">
                            {segs.iter().map(|s| {
                                let y0 = (h - bottom) - (s.y + s.height) * plot / 1000;
                                let hh = (s.height * plot / 1000).max(1);
                                let fill = format!("url(#{})", PATTERNS[s.series.min(CHART_SERIES)].0);
                                let name = r.series.get(s.series).cloned().unwrap_or_default();
                                view! { <rect x=x y=y0 width=bar height=hh fill=fill stroke="#fff" stroke-width="0.5">
                                    <title>{format!("{period} · {name}: {} {}", s.amount, r.query.currency)}</title>
                                </rect> }
                            }).collect_view()}
                            {(i as u32).is_multiple_of(label_every).then(|| view! {
                                <text x=x + bar / 2 y=h - 6 text-anchor="middle" font-size="11" fill="#445">{period.clone()}</text>
                            })}
                        </g>
                    }
                }).collect_view()}
            </svg>
            <figcaption>
                <ul class="legend">
                    {r.series.iter().enumerate().map(|(i, name)| view! {
                        <li><svg width="14" height="14" aria-hidden="true"><ChartDefs/><rect width="14" height="14" fill=format!("url(#{})", PATTERNS[i.min(CHART_SERIES)].0)/></svg>" "{name.clone()}</li>
                    }).collect_view()}
                </ul>
            </figcaption>
        </figure>
    }
}

#[component]
pub fn CostsPage() -> impl IntoView {
    let query = use_query_map();
    let report = Resource::new(move || query_from(&query.read()), cost_report);
    view! {
        <leptos_meta::Title text="Cost explorer · Steward"/>
        <h1>"Cost explorer"</h1>
        <p class="lede">"Cloud spend from imported cost files and Cost Explorer syncs, summed exactly from the source amounts and shown in cents."</p>
        <Transition fallback=|| view! { <p>"Loading the report…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p><p><a href=paths::COSTS>"Reset the report"</a></p> }.into_any(),
                    Ok(r) => view! { <ReportView r/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ReportView(r: Report) -> impl IntoView {
    let q = r.query.clone();
    let sel = |a: &str, b: &str| a == b;
    let export = format!("{}?{}", paths::COST_EXPORT, q.to_query_string());
    let options = |list: Vec<String>, current: String| {
        list.into_iter()
            .map(|v| {
                let s = v == current;
                let label = v.clone();
                view! { <option value=v selected=s>{label}</option> }
            })
            .collect_view()
    };
    view! {
        <section class="card">
            <form method="get" action=paths::COSTS class="filters" id="report-form">
                <div><label for="r-from">"From"</label><input id="r-from" type="date" name="from" value=q.from.clone()/></div>
                <div><label for="r-to">"To (inclusive)"</label><input id="r-to" type="date" name="to" value=q.to.clone()/></div>
                <div><label for="r-gran">"Granularity"</label><select id="r-gran" name="granularity">
                    <option value="daily" selected=sel(&q.granularity, "daily")>"Daily"</option>
                    <option value="monthly" selected=sel(&q.granularity, "monthly")>"Monthly"</option>
                </select></div>
                <div><label for="r-group">"Group by"</label><select id="r-group" name="group_by">
                    {["service", "account", "region", "provider", "category"].into_iter().map(|g| view! {
                        <option value=g selected=sel(&q.group_by, g)>{group_label(g)}</option>
                    }).collect_view()}
                    {r.tag_keys.iter().map(|k| { let v = format!("tag:{k}"); let s = q.group_by == v; view! {
                        <option value=v selected=s>{format!("Tag: {k}")}</option>
                    }}).collect_view()}
                </select></div>
                <div><label for="r-metric">"Amount"</label><select id="r-metric" name="metric">
                    <option value="billed" selected=sel(&q.metric, "billed")>"Billed cost"</option>
                    <option value="effective" selected=sel(&q.metric, "effective")>"Effective cost (amortised)"</option>
                    <option value="list" selected=sel(&q.metric, "list")>"List cost"</option>
                </select></div>
                <div><label for="r-cur">"Currency"</label><select id="r-cur" name="currency">{options(r.currencies.clone(), q.currency.clone())}</select></div>
                <div><label for="r-prov">"Provider"</label><select id="r-prov" name="provider"><option value="">"All"</option>{options(r.providers.clone(), q.provider.clone())}</select></div>
                <div><label for="r-acct">"Account"</label><select id="r-acct" name="account"><option value="">"All"</option>
                    {r.accounts.iter().map(|(id, name)| { let s = *id == q.account; view! {
                        <option value=id.clone() selected=s>{if name.is_empty() { id.clone() } else { format!("{name} ({id})") }}</option>
                    }}).collect_view()}
                </select></div>
                <div><label for="r-svc">"Service"</label><select id="r-svc" name="service"><option value="">"All"</option>{options(r.services.clone(), q.service.clone())}</select></div>
                <div><label for="r-reg">"Region"</label><select id="r-reg" name="region"><option value="">"All"</option>{options(r.regions.clone(), q.region.clone())}</select></div>
                <div class="filter-actions"><button type="submit" class="primary">"Show"</button><a href=paths::COSTS>"Reset"</a></div>
            </form>
        </section>
        {if !r.has_data {
            view! { <p class="card empty">"No cost data yet. "<a href=paths::COST_DATA>"Import a FOCUS or AWS CUR file"</a>" to see spend here."</p> }.into_any()
        } else { view! {
            <section class="card">
                <div class="toolbar">
                    <h2>{format!("{} by {}: {} {}", match q.metric.as_str() { "effective" => "Effective cost", "list" => "List cost", _ => "Billed cost" }, group_label(&q.group_by).to_lowercase(), r.grand_total, q.currency)}</h2>
                    <a href=export.clone() id="export-csv" download="">"Download CSV"</a>
                </div>
                {r.range_note.clone().map(|n| view! { <p class="note" role="status" id="range-note">{n}</p> })}
                <p class="muted">{format!("{} to {} · the same number of days before ({} to {}): {} {}", q.from, q.to, r.previous_from, r.previous_to, r.previous_total, q.currency)}</p>
                <Chart r=r.clone()/>
                <div class="table-wrap"><table class="data report" id="report-table">
                    <thead><tr><th scope="col">{group_label(&q.group_by)}</th>
                        {r.periods.iter().map(|p| view! { <th scope="col" class="num">{p.clone()}</th> }).collect_view()}
                        <th scope="col" class="num">"Total"</th></tr></thead>
                    <tbody>
                        {r.groups.iter().map(|g| view! {
                            <tr data-group=g.key.clone()><th scope="row">{g.key.clone()}</th>
                                {g.values.iter().map(|v| view! { <td class="num">{v.clone()}</td> }).collect_view()}
                                <td class="num total" title=format!("exact: {}", g.total_exact)>{g.total.clone()}</td></tr>
                        }).collect_view()}
                    </tbody>
                    <tfoot><tr><th scope="row">"Total"</th>
                        {r.period_totals.iter().map(|v| view! { <td class="num">{v.clone()}</td> }).collect_view()}
                        <td class="num total" id="grand-total" title=format!("exact: {}", r.grand_total_exact)>{r.grand_total.clone()}</td></tr></tfoot>
                </table></div>
            </section>
            <section class="card">
                <h2>"Movers"</h2>
                <p class="hint">{format!("Change against {} to {}.", r.previous_from, r.previous_to)}</p>
                {if r.movers.is_empty() { view! { <p class="muted">"No change."</p> }.into_any() } else { view! {
                    <table class="data movers"><thead><tr><th scope="col">{group_label(&q.group_by)}</th><th scope="col" class="num">"Before"</th><th scope="col" class="num">"Now"</th><th scope="col" class="num">"Change"</th></tr></thead>
                    <tbody>{r.movers.iter().map(|m| view! {
                        <tr><th scope="row">{m.key.clone()}</th><td class="num">{m.previous.clone()}</td><td class="num">{m.current.clone()}</td>
                            <td class="num" class:up=m.up class:down=!m.up>{if m.up { "▲ " } else { "▼ " }}{m.change.clone()}{m.percent.clone().map(|p| format!(" ({p})"))}</td></tr>
                    }).collect_view()}</tbody></table>
                }.into_any() }}
            </section>
        }.into_any() }}
    }
}

#[component]
pub fn CostImportPage() -> impl IntoView {
    let query = use_query_map();
    let batches = Resource::new(|| (), |_| list_cost_batches());
    view! {
        <leptos_meta::Title text="Cost data · Steward"/>
        <h1>"Cost data"</h1>
        <p class="lede">"Every import is a batch with its source, its SHA-256 and who brought it in. A newer file for the same account and billing period replaces that period; the replaced batch stays listed."</p>
        {move || query.read().get("error").map(|e| view! { <p class="error" role="alert" id="import-error">{e}</p> })}
        {move || query.read().get("imported").map(|m| view! { <p class="success" role="status" id="import-result">{m}</p> })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match batches.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(l) => view! {
                        <SyncCard/>
                        {l.can_import.then(|| view! {
                            <section class="card">
                                <h2>"Import a cost file"</h2>
                                <p class="hint">"FOCUS 1.0–1.2 or AWS Cost and Usage Report (legacy or 2.0) CSV, optionally gzip-compressed. A file with a broken row is refused whole, naming the row and column."</p>
                                <CostUploadForm/>
                            </section>
                        })}
                        <section class="card">
                            <h2>"Batches"</h2>
                            {if l.batches.is_empty() { view! { <p class="muted">"Nothing imported yet."</p> }.into_any() } else { view! {
                            <div class="table-wrap"><table class="data" id="batches">
                                <thead><tr><th scope="col">"#"</th><th scope="col">"Source"</th><th scope="col">"Format"</th><th scope="col">"Periods"</th>
                                    <th scope="col" class="num">"Rows"</th><th scope="col">"By"</th><th scope="col">"Status"</th></tr></thead>
                                <tbody>{l.batches.into_iter().map(|b| view! {
                                    <tr data-status=b.status.clone()>
                                        <td>{b.id}</td>
                                        <td>{b.source_name.clone()}<br/><span class="muted small" title="SHA-256">{b.sha256.clone().map(|s| s.chars().take(16).collect::<String>()).unwrap_or_else(|| b.source_kind.clone())}</span></td>
                                        <td>{b.format.clone()}</td>
                                        <td class="nowrap">{format!("{} – {}", b.period_start.as_deref().map(|s| &s[..s.len().min(10)]).unwrap_or("?"), b.period_end.as_deref().map(|s| &s[..s.len().min(10)]).unwrap_or("?"))}</td>
                                        <td class="num">{format!("{} read, {} accepted", b.rows_read, b.rows_accepted)}</td>
                                        <td>{b.imported_by.clone()}<br/><span class="muted small">{crate::util::display_ts(&b.imported_at)}</span></td>
                                        <td>{match (b.status.as_str(), b.replaced_by) {
                                            ("active", _) => "Active".to_string(),
                                            (s, Some(by)) => format!("{} by #{by}", if s == "replaced" { "Replaced" } else { "Partly replaced" }),
                                            (s, None) => s.to_string(),
                                        }}</td>
                                    </tr>
                                }).collect_view()}</tbody>
                            </table></div>
                            }.into_any() }}
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SyncCard() -> impl IntoView {
    let start = ServerAction::<StartCostSync>::new();
    let status = Resource::new(move || start.version().get(), |_| cost_sync_status());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let st = match status.await {
                    Ok(st) => st,
                    Err(e) => return view! { <p class="error">{e.to_string()}</p> }.into_any(),
                };
                let running = st.running || start.value().get().is_some_and(|r| r.is_ok_and(|s| s.running));
                view! {
                    <section class="card" id="sync-card" data-running=running.to_string()>
                        <h2>"AWS Cost Explorer"</h2>
                        {if !st.configured { view! {
                            <p class="muted">"Not configured. Set STEWARD_AWS_CE_REGION (credentials come from the standard AWS chain; STEWARD_AWS_CE_TAG_KEYS lists cost-allocation tags to group by)."</p>
                        }.into_any() } else { view! {
                            <p class="hint">{format!("Daily costs by service and linked account{}; {}.",
                                if st.tag_keys.is_empty() { String::new() } else { format!(", and by tag {}", st.tag_keys.join(", ")) },
                                if st.interval_hours == 0 { "synced on demand".to_string() } else { format!("synced every {} hours", st.interval_hours) })}</p>
                            {running.then(|| view! {
                                // Reload while a sync runs, so progress shows with or without JavaScript.
                                <leptos_meta::Meta http_equiv="refresh" content="2"/>
                                <p role="status" id="sync-progress">{format!("Syncing… {} page(s) fetched", st.pages)}</p>
                            })}
                            {st.last.clone().map(|r| view! {
                                <p id="sync-last" data-status=r.status.clone() class=if r.status == "succeeded" { "success" } else { "error" }>
                                    {if r.status == "succeeded" {
                                        format!("Last sync {} ({} to {}): {} page(s), {} group(s){}{}.",
                                            crate::util::display_ts(&r.finished_at), r.range_from, r.range_to, r.pages, r.groups_read,
                                            if r.retries > 0 { format!(", {} throttled request(s) retried", r.retries) } else { String::new() },
                                            r.estimated_from.as_deref().map(|d| format!("; estimated from {d}, re-synced next time")).unwrap_or_default())
                                    } else {
                                        format!("Last sync {} failed: {}", crate::util::display_ts(&r.finished_at), r.error.clone().unwrap_or_default())
                                    }}
                                </p>
                            })}
                            {move || start.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
                            {st.can_sync.then(|| view! {
                                <ActionForm action=start attr:id="sync-form">
                                    <button type="submit" class="primary" disabled=running>"Sync now"</button>
                                </ActionForm>
                            })}
                        }.into_any() }}
                    </section>
                }.into_any()
            })}
        </Suspense>
    }
}

/// The upload form. Hydrated, it sends the file with a progress bar (the upload; the server
/// imports once the whole file has arrived); without JavaScript the form posts itself.
#[component]
pub fn CostUploadForm() -> impl IntoView {
    let progress = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<String>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        crate::upload::send_with_progress(
            ev,
            paths::COST_UPLOAD,
            MAX_UPLOAD_BYTES,
            progress,
            error,
        );
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <form method="post" action=paths::COST_UPLOAD enctype="multipart/form-data" class="grid-form" id="cost-upload-form" on:submit=on_submit>
            <div class="span-all"><label for="cost-file">"Cost file"</label>
                <input id="cost-file" type="file" name="file" required accept=".csv,.gz,text/csv,application/gzip"/></div>
            <div class="span-all">
                {move || error.get().map(|e| view! { <p class="error" role="alert" id="upload-error">{e}</p> })}
                <progress max="100" hidden=move || progress.get().is_none() aria-label="Upload progress"
                    value=move || format!("{:.0}", progress.get().unwrap_or(0.0) * 100.0)></progress>
                <span class="muted" hidden=move || progress.get().is_none()>
                    {move || progress.get().map(|p| if p >= 1.0 {
                        " Uploaded; importing…".to_string()
                    } else {
                        format!(" {:.0}% uploaded", p * 100.0)
                    })}
                </span>
                <button type="submit" class="primary" disabled=move || progress.get().is_some()>
                    {move || if progress.get().is_some() { "Importing…" } else { "Import" }}
                </button>
            </div>
        </form>
    }
}
