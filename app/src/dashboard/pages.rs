//! The dashboard page.

#[allow(unused_imports)]
use super::*;
use crate::util::display_ts;
use leptos::prelude::*;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_dashboard());
    view! {
        <leptos_meta::Title text="Dashboard · Steward"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => view! { <DashboardView d/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DashboardView(d: DashboardData) -> impl IntoView {
    let role = d.role;
    view! {
        <h1>{d.organisation.clone()}</h1>
        <p class="lede">"Welcome, " {d.display_name.clone()} ". You are signed in as " <strong>{role.label()}</strong> "."</p>
        <div class="tiles">
            {d.posture.map(|p| {
                let total: i64 = p.controls.iter().map(|(_, n)| n).sum();
                view! {
                <section class="tile" aria-labelledby="tile-posture" id="posture-tile">
                    <h2 id="tile-posture">"Compliance posture"</h2>
                    {if p.frameworks.is_empty() && total == 0 {
                        view! { <p class="empty">"No frameworks or controls yet. "<a href="/frameworks">"Import a framework"</a>" and add controls: this tile then shows controls by status for each framework."</p> }.into_any()
                    } else { view! {
                        <p class="figure">{total}<span class="unit">" controls"</span></p>
                        <ul class="breakdown">
                            {p.controls.into_iter().filter(|(_, n)| *n > 0).map(|(s, n)| view! {
                                <li><a href=format!("/controls?status={}", s.as_str())><span class=format!("status status-{}", s.as_str())>{s.label()}</span></a><span class="num">{n}</span></li>
                            }).collect_view()}
                        </ul>
                        {p.frameworks.into_iter().map(|f| view! {
                            <div class="posture-framework">
                                <a href=format!("/frameworks/{}", f.id)><strong>{f.name.clone()}</strong></a>
                                <crate::controls::CoverageBar label="Covered" n=f.mapped of=f.requirements/>
                                <crate::controls::CoverageBar label="Evidenced" n=f.fresh of=f.requirements/>
                                <p class="muted small">
                                    {f.by_status.iter().filter(|(_, n)| *n > 0).map(|(s, n)| view! {
                                        <a href=format!("/controls?framework={}&status={}", f.id, s.as_str())>{format!("{n} {}", s.label().to_lowercase())}</a>" "
                                    }).collect_view()}
                                </p>
                            </div>
                        }).collect_view()}
                    }.into_any() }}
                </section>
            }})}
            {d.spend.map(|sp| view! {
                <section class="tile" aria-labelledby="tile-spend" id="spend-tile">
                    <h2 id="tile-spend">"Cloud spend"</h2>
                    {match sp.latest_day.clone() {
                        None => view! { <p class="empty">"No cost data yet. "<a href="/costs/import">"Import a FOCUS or CUR file"</a>" to see spend here."</p> }.into_any(),
                        Some(latest) => view! {
                            <p class="figure" id="spend-mtd">{sp.month_to_date.clone()}<span class="unit">{format!(" {} month to date", sp.currency)}</span></p>
                            <p>{format!("Last month: {} {}", sp.last_month, sp.currency)}</p>
                            <p class:warn=sp.up>{match &sp.trend {
                                Some(t) => format!("{} {t} against the same days last month ({})", if sp.up { "▲" } else { "▼" }, sp.last_month_same_days),
                                None => "No spend in the same days last month to compare with.".to_string(),
                            }}</p>
                            <p class="muted">{format!("Latest cost data: {latest}")}</p>
                            <a href="/costs">"Open the cost explorer →"</a>
                        }.into_any(),
                    }}
                </section>
            })}
            {d.my_work.map(|m| view! {
                <section class="tile" aria-labelledby="tile-my-work" id="my-work-tile">
                    <h2 id="tile-my-work">"My work"</h2>
                    {if m.budgets == 0 {
                        view! { <p class="empty">"You own no budget yet."</p> }.into_any()
                    } else { view! {
                        <p class="figure">{m.open_alerts}<span class="unit">" alerts to acknowledge"</span></p>
                        <p>{format!("{} budget(s) you own or deputise, {} at risk", m.budgets, m.at_risk)}</p>
                        {(m.attestations_due > 0).then(|| view! { <p class="warn">{format!("{} closed period(s) to attest", m.attestations_due)}</p> })}
                    }.into_any() }}
                    {(m.access_entries > 0).then(|| view! { <p><a href=crate::paths::ACCESS_REVIEW id="my-access-entries">{format!("{} account(s) to review", m.access_entries)}</a></p> })}
                    {(m.remediation_items > 0).then(|| view! { <p class="warn"><a href=crate::paths::ACCESS_REMEDIATION>{format!("{} access change(s) to make", m.remediation_items)}</a></p> })}
                    {(m.vendors > 0).then(|| view! { <p id="my-vendors">{format!("{} vendor(s) you own, {} needing action", m.vendors, m.vendor_warnings)}</p> })}
                    <a href="/my/work">"Open my work →"</a>
                </section>
            })}
            {d.vendors.map(|v| view! {
                <section class="tile" aria-labelledby="tile-vendors" id="vendors-tile">
                    <h2 id="tile-vendors">"Vendors"</h2>
                    <p class="figure"><a href=format!("{}?warnings=true", crate::paths::VENDORS) id="vendors-needing-action">{v.needing_action}</a><span class="unit">{format!(" of {} need action", v.total)}</span></p>
                    <ul class="breakdown">
                        <li><a href=format!("{}?renewal_within=60", crate::paths::VENDORS)>"Notice due within 60 days"</a><span class="num">{v.notices_due}</span></li>
                        <li><span>"Reviews due within 30 days"</span><span class="num">{v.reviews_due}</span></li>
                    </ul>
                    <a href=crate::paths::VENDORS>"Open vendors →"</a>
                </section>
            })}
            {d.retention.map(|r| view! {
                <section class="tile" aria-labelledby="tile-retention" id="retention-tile">
                    <h2 id="tile-retention">"Retention"</h2>
                    <p class="figure"><a href=crate::paths::RETENTION_DISPOSALS id="disposals-due">{r.disposals_due}</a><span class="unit">" disposal(s) due"</span></p>
                    <ul class="breakdown">
                        <li><a href=crate::paths::LEGAL_HOLDS>"Legal holds in force"</a><span class="num" id="active-holds">{r.active_holds}</span></li>
                        <li><span class={if r.held_due > 0 { "warn" } else { "" }}>"Due but on hold"</span><span class="num" id="held-due">{r.held_due}</span></li>
                    </ul>
                    <a href=crate::paths::RETENTION>"Open the retention schedule →"</a>
                </section>
            })}
            {d.access.map(|a| view! {
                <section class="tile" aria-labelledby="tile-access" id="access-tile">
                    <h2 id="tile-access">"Access reviews"</h2>
                    <p class="figure"><a href=crate::paths::ACCESS_CAMPAIGNS id="access-open">{a.open_campaigns}</a><span class="unit">" open campaign(s)"</span></p>
                    <ul class="breakdown">
                        <li><span class={if a.overdue_entries > 0 { "warn" } else { "" }}>"Overdue entries"</span><span class="num" id="access-overdue">{a.overdue_entries}</span></li>
                        <li><a href=crate::paths::ACCESS_REMEDIATION>"Unverified revocations"</a><span class="num" id="access-unverified">{a.unverified}</span></li>
                    </ul>
                    <a href=crate::paths::ACCESS_CAMPAIGNS>"Open access reviews →"</a>
                </section>
            })}
            {d.budgets.map(|b| view! {
                <section class="tile" aria-labelledby="tile-budgets" id="budgets-tile">
                    <h2 id="tile-budgets">"Budgets at risk"</h2>
                    {if b.total == 0 {
                        view! { <p class="empty">"No budgets yet. "<a href="/budgets">"Create or import budgets"</a>" with their owners: this tile then shows those at risk."</p> }.into_any()
                    } else { view! {
                        <p class="figure"><a href="/budgets?state=at-risk" id="budgets-at-risk">{b.warning + b.breached}</a><span class="unit">{format!(" of {} at risk", b.total)}</span></p>
                        <ul class="breakdown">
                            <li><a href="/budgets?state=breached"><span class="status budget-breached">"Breached"</span></a><span class="num">{b.breached}</span></li>
                            <li><a href="/budgets?state=warning"><span class="status budget-warning">"Warning"</span></a><span class="num">{b.warning}</span></li>
                        </ul>
                        <ul class="at-risk">{b.at_risk.into_iter().take(5).map(|(id, name, owner, s)| view! {
                            <li><a href=crate::paths::budget(id)>{name}</a>{format!(" — {owner} ({})", s.label().to_lowercase())}</li>
                        }).collect_view()}</ul>
                    }.into_any() }}
                    <a href="/budgets">"Open budgets →"</a>
                </section>
            })}
            {d.users_by_role.map(|by_role| {
                let total: i64 = by_role.iter().map(|(_, n)| n).sum();
                view! {
                    <section class="tile" aria-labelledby="tile-users">
                        <h2 id="tile-users">"People"</h2>
                        <p class="figure">{total}<span class="unit">" active users"</span></p>
                        <ul class="breakdown">
                            {by_role.into_iter().map(|(r, n)| view! { <li><span>{r.label()}</span><span class="num">{n}</span></li> }).collect_view()}
                        </ul>
                        {d.inactive_users.filter(|n| *n > 0).map(|n| view! { <p class="muted">{format!("{n} deactivated")}</p> })}
                        <a href="/admin/users">"Manage users →"</a>
                    </section>
                }
            })}
            {d.audit.map(|a| { let warn = a.failed_logins_24h >= 10; view! {
                <section class="tile" aria-labelledby="tile-audit">
                    <h2 id="tile-audit">"Audit trail"</h2>
                    <p class="figure">{a.events}<span class="unit">" events"</span></p>
                    <p class="muted">{a.last_at.as_deref().map(|t| format!("Latest: {}", display_ts(t))).unwrap_or_else(|| "No events yet".into())}</p>
                    <p class:warn=warn>{format!("{} failed sign-ins in the last 24 hours", a.failed_logins_24h)}</p>
                    <a href="/audit">"Open the audit log →"</a>
                </section>
            }})}
        </div>
    }
}
