//! The exports page: choose a framework and a period, download the signed archive (a plain
//! GET form: works without JavaScript), and how to check it.

#[allow(unused_imports)]
use super::*;
use crate::paths;
use leptos::prelude::*;

#[component]
pub fn ExportsPage() -> impl IntoView {
    let options = Resource::new(|| (), |_| export_options());
    view! {
            <leptos_meta::Title text="Evidence exports · Steward"/>
            <h1>"Evidence exports"</h1>
            <p class="lede">"One ZIP per framework and period: every evidence version effective in the period (not just the latest), the Statement of Applicability, an index that opens offline, the period's audit trail with its signed checkpoints, and a signed manifest. The same data always gives the same bytes. Every download is recorded in the audit trail."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match options.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(o) if !o.any_scope => view! {
                            <section class="card">
                                <h2>"Your audits"</h2>
                                {if o.audits.is_empty() { view! { <p class="empty">"You are not assigned to any audit."</p> }.into_any() } else { view! {
                                    <ul id="audit-exports">{o.audits.into_iter().map(|(id, name)| view! {
                                        <li>
                                            <a href=format!("{}?audit={id}", paths::EVIDENCE_EXPORT) download="">{format!("{name}: download the evidence export")}</a>
                                            " · "<a href=paths::audit(id)>"the audit"</a>
                                            <form method="post" action=START class="inline">
                                                <input type="hidden" name="framework" value=""/>
                                                <input type="hidden" name="from" value=""/>
                                                <input type="hidden" name="to" value=""/>
                                                <input type="hidden" name="audit" value=id.to_string()/>
                                                <button type="submit" class="build-export">"Build in the background"</button>
                                            </form>
                                        </li>
                                    }).collect_view()}</ul>
                                }.into_any() }}
                                <p class="hint">{format!("Signed by the audit key with fingerprint {}.", o.fingerprint)}</p>
                            </section>
                        }.into_any(),
                        Ok(o) if o.frameworks.is_empty() => view! {
                            <p class="empty">"No framework is imported yet: import one on the frameworks page, map controls to it and attach evidence; then export it here."</p>
                        }.into_any(),
                        Ok(o) => view! {
                            <section class="card">
                                <h2>"Download an export"</h2>
                                <form method="get" action=paths::EVIDENCE_EXPORT id="export-form" class="stack">
                                    <label>"Framework"
                                        <select name="framework" required>
                                            {o.frameworks.into_iter().map(|(k, n)| view! { <option value=k.clone()>{format!("{n} ({k})")}</option> }).collect_view()}
                                        </select>
                                    </label>
                                    <label>"From (first day)"<input type="date" name="from" required/></label>
                                    <label>"To (first day after the period)"<input type="date" name="to" required/></label>
                                    <input type="hidden" name="audit" value=""/>
    <div class="toolbar">
                                        <button type="submit" class="primary">"Download ZIP"</button>
                                        <button type="submit" formaction=paths::SOA_EXPORT id="soa-button">"Statement of Applicability (CSV)"</button>
                                        <button type="submit" formaction=START formmethod="post" id="build-button">"Build in the background"</button>
                                    </div>
                                </form>
                                <p class="hint">"A large export: build it in the background and download it from the list below when it is ready (kept for 7 days). The period is half-open: for the year 2026, from 2026-01-01 to 2027-01-01. The Statement of Applicability alone: every requirement, its applicability from the mapped controls, their justifications and status on the period's last day."</p>
                            </section>
                            <section class="card">
                                <h2>"Checking an export"</h2>
                                <p>"Signed by the audit key with fingerprint "<code id="export-key-fingerprint">{o.fingerprint}</code>"."</p>
                                <pre>"unzip export.zip -d export && cd export\nsha256sum -c SHA256SUMS\nopenssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile manifest.sig"</pre>
                                <p class="hint">"Compare the fingerprint of public-key.pem with the one above, or check everything, audit trail included, with "<code>{format!("steward verify-export export.zip --public-key {}", o.public_key)}</code>"."</p>
                            </section>
                        }.into_any(),
                    }
                })}
            </Transition>
            <BackgroundExports/>
        }
}

/// The background builds' server function, posted by plain forms (no JavaScript needed: the
/// server sends the browser back to this page).
const START: &str = "/api/start_evidence_export";

/// Exports built in the background: progress while building (the page reloads itself every
/// two seconds meanwhile), then the download link, size and SHA-256 until the file expires.
#[component]
fn BackgroundExports() -> impl IntoView {
    let jobs = Resource::new(|| (), |_| list_evidence_exports());
    view! {
        <section class="card" id="background-exports">
            <h2>"Built in the background"</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let rows = match jobs.await {
                        Ok(rows) => rows,
                        Err(e) => return view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    };
                    if rows.is_empty() {
                        return view! { <p class="empty">"None yet."</p> }.into_any();
                    }
                    let building = rows.iter().any(|r| r.status == "building");
                    view! {
                        {building.then(|| view! { <leptos_meta::Meta http_equiv="refresh" content="2"/> })}
                        <table class="data" id="export-jobs">
                            <thead><tr><th>"#"</th><th>"Scope"</th><th>"Requested"</th><th>"State"</th><th>"File"</th></tr></thead>
                            <tbody>{rows.into_iter().map(job_row).collect_view()}</tbody>
                        </table>
                    }.into_any()
                })}
            </Suspense>
        </section>
    }
}

fn job_row(j: ExportJob) -> impl IntoView {
    let scope = format!(
        "{} · {} to {}{}",
        j.framework,
        j.start,
        j.end,
        j.audit_name
            .as_deref()
            .map(|a| format!(" · {a}"))
            .unwrap_or_default()
    );
    let state = match j.status.as_str() {
        "building" => {
            let pct = j.percent.unwrap_or(0);
            view! { <span>"Building… "{format!("{pct}%")}</span><progress max="100" value=pct.to_string() aria-label="Export progress"></progress> }.into_any()
        }
        "ready" => view! { <span class="success">{format!("Ready, until {}", crate::util::display_ts(j.expires_at.as_deref().unwrap_or_default()))}</span> }.into_any(),
        "failed" => view! { <span class="error">{format!("Failed: {}", j.error.unwrap_or_default())}</span> }.into_any(),
        _ => view! { <span class="muted">"Expired (file deleted)"</span> }.into_any(),
    };
    let file = (j.status == "ready").then(|| {
        view! {
            <a href=paths::export_download(j.id) download="" class="export-download">"Download"</a>
            " "{crate::util::human_size(j.size.unwrap_or(0).max(0) as u64)}
            <br/><code class="sha">{j.sha256.unwrap_or_default()}</code>
        }
    });
    view! {
        <tr data-status=j.status.clone() data-id=j.id.to_string()>
            <td>{j.id}</td>
            <td>{scope}</td>
            <td>{format!("{}, {}", j.requested_by, crate::util::display_ts(&j.requested_at))}</td>
            <td>{state}</td>
            <td>{file}</td>
        </tr>
    }
}
