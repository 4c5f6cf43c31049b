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
                                        <li><a href=format!("{}?audit={id}", paths::EVIDENCE_EXPORT) download="">{format!("{name}: download the evidence export")}</a>" · "<a href=paths::audit(id)>"the audit"</a></li>
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
    <div class="toolbar">
                                        <button type="submit" class="primary">"Download ZIP"</button>
                                        <button type="submit" formaction=paths::SOA_EXPORT id="soa-button">"Statement of Applicability (CSV)"</button>
                                    </div>
                                </form>
                                <p class="hint">"The period is half-open: for the year 2026, from 2026-01-01 to 2027-01-01. The Statement of Applicability alone: every requirement, its applicability from the mapped controls, their justifications and status on the period's last day."</p>
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
        }
}
