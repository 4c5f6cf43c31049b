//! Campaign pages: the list with the form to plan one, a campaign with its progress (overall
//! and per reviewer), and the reviewer's queue: filters, a decision per row, bulk decisions
//! over the filter. Plain forms and buttons throughout, so the keyboard does everything.

use super::*;
use crate::controls::pages::{action_error, id_param};
use crate::paths;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

fn bar(p: &Progress) -> impl IntoView {
    let pct = (p.decided * 100).checked_div(p.total).unwrap_or(0);
    view! {
        <span class="progress-figure">
            <progress max="100" value=pct.to_string() aria-label="Decided"></progress>
            {format!(" {} of {} decided ({pct}%) · keep {} · revoke {} · modify {}", p.decided, p.total, p.keep, p.revoke, p.modify)}
        </span>
    }
}

fn remediation_summary(d: &CampaignDetail) -> impl IntoView {
    let n = |s: &str| {
        d.remediation
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    view! {
        <p id="campaign-remediation">
            {format!("Remediation: {} open · {} verified · {} exceptions. ", n("open"), n("verified"), n("exception"))}
            <a href=format!("{}?campaign={}&status=all", paths::ACCESS_REMEDIATION, d.campaign.id)>"The board"</a>
        </p>
    }
}

#[component]
pub fn CampaignsPage() -> impl IntoView {
    let save = ServerAction::<SaveAccessCampaign>::new();
    let list = Resource::new(move || save.version().get(), |_| list_access_campaigns());
    view! {
        <leptos_meta::Title text="Access reviews · Steward"/>
        <h1>"Access reviews"</h1>
        <p class="lede">"A campaign reviews the accounts of its systems as they were when it started: each account goes to the system's named reviewer, else the holder's manager, else the system's owner, and never to its own holder. Reviewers work their queue on "<a href=paths::ACCESS_REVIEW>"Access review"</a>"."</p>
        <Transition fallback=|| view! { <p>"Loading campaigns…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(l) => view! {
                        {l.campaigns.is_empty().then(|| view! { <p class="card muted">"No campaigns yet."</p> })}
                        <ul class="cards" id="campaigns">{l.campaigns.iter().map(|c| view! {
                            <li class="card" data-status=c.status.clone()>
                                <h2><a href=paths::access_campaign(c.id)>{c.name.clone()}</a></h2>
                                <p class="muted">{format!("{} · due {} · {} · owner {} · {}", c.status.replace('_', " "), c.due, c.recurrence, c.owner, c.systems.join(", "))}</p>
                                {bar(&c.progress)}
                                {(c.overdue > 0).then(|| view! { <p class="error">{format!("{} entries overdue", c.overdue)}</p> })}
                            </li>
                        }).collect_view()}</ul>
                        {l.can_manage.then(|| view! {
                            <section class="card">
                                <h2>"Plan a campaign"</h2>
                                <ActionForm action=save attr:id="campaign-form" attr:class="stack">
                                    <label>"Name"<input name="form[name]" required maxlength="200"/></label>
                                    <label>"Owner (signs off; username or email)"<input name="form[owner]" required/></label>
                                    <label>"Due"<input type="date" name="form[due]" required/></label>
                                    <label>"Recurrence"<select name="form[recurrence]">
                                        {RECURRENCES.iter().map(|r| view! { <option value=*r>{*r}</option> }).collect_view()}
                                    </select></label>
                                    <label>"Systems (names, comma-separated)"<input name="form[systems]" required/></label>
                                    <label>"Named reviewers (one a line: System = username), optional"<textarea name="form[reviewers]" rows="2"></textarea></label>
                                    <label>"Controls the report is evidence for (references, comma-separated)"<input name="form[controls]"/></label>
                                    <div class="toolbar"><button type="submit" class="primary">"Plan the campaign"</button></div>
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

#[component]
pub fn CampaignPage() -> impl IntoView {
    let id = id_param("id");
    let start = ServerAction::<StartAccessCampaign>::new();
    let close = ServerAction::<CloseAccessReview>::new();
    let complete = ServerAction::<CompleteAccessCampaign>::new();
    let cancel = ServerAction::<CancelAccessCampaign>::new();
    let detail = Resource::new(
        move || {
            (
                id(),
                start.version().get(),
                close.version().get(),
                complete.version().get(),
                cancel.version().get(),
            )
        },
        |(id, ..)| get_access_campaign(id),
    );
    view! {
        <leptos_meta::Title text="Access review · Steward"/>
        <Transition fallback=|| view! { <p>"Loading the campaign…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <h1>"Access review"</h1><p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => {
                        let c = d.campaign.clone();
                        view! {
                            <h1>{c.name.clone()}</h1>
                            <p class="lede" id="campaign-status" data-status=c.status.clone()>{format!("{} · due {} · {} · owner {}", c.status.replace('_', " "), c.due, c.recurrence, c.owner)}</p>
                            <p>{bar(&c.progress)}</p>
                            {(d.can_manage && c.status == "draft").then(|| view! {
                                <ActionForm action=start attr:id="start-campaign">
                                    <input type="hidden" name="id" value=c.id.to_string()/>
                                    <button type="submit" class="primary">"Start: freeze the snapshots and route the accounts"</button>
                                </ActionForm>
                                {action_error(start)}
                            })}
                            {(d.can_manage && c.status == "in_review").then(|| view! {
                                <ActionForm action=close attr:id="close-review">
                                    <input type="hidden" name="id" value=c.id.to_string()/>
                                    <button type="submit" class="primary">"Close the review: revoke and modify decisions become remediation"</button>
                                </ActionForm>
                                {action_error(close)}
                            })}
                            {(c.status == "remediation" || c.status == "completed").then(|| remediation_summary(&d))}
                            {(d.is_owner && c.status == "remediation").then(|| view! {
                                <ActionForm action=complete attr:id="sign-off">
                                    <input type="hidden" name="id" value=c.id.to_string()/>
                                    <button type="submit" class="primary">"Sign off: store the report as evidence"</button>
                                </ActionForm>
                                {action_error(complete)}
                            })}
                            {d.report.clone().map(|(ev, sha)| view! {
                                <p class="card success" id="campaign-report">"Report stored as evidence "<a href=paths::evidence_item(ev)>{format!("#{ev}")}</a>{format!(" (SHA-256 {sha})")}
                                    {d.next_campaign.map(|n| view! { " · next review planned: "<a href=paths::access_campaign(n)>{format!("#{n}")}</a> })}</p>
                                <p id="campaign-summary">{d.summary.clone()}</p>
                            })}
                            {(c.status == "cancelled").then(|| view! { <p class="card muted">{format!("Cancelled: {}", d.closed_note)}</p> })}
                            <table class="data" id="campaign-systems">
                                <thead><tr><th>"System"</th><th>"Snapshot under review"</th><th>"Named reviewer"</th></tr></thead>
                                <tbody>{d.systems.iter().map(|(s, snap, r)| view! {
                                    <tr><td>{s.clone()}</td><td>{snap.map(|n| format!("#{n}")).unwrap_or_else(|| "frozen at start".into())}</td><td>{r.clone().unwrap_or_else(|| "managers, else the owner".into())}</td></tr>
                                }).collect_view()}</tbody>
                            </table>
                            <p>{if d.controls.is_empty() { "No mapped controls.".to_string() } else { format!("Evidence for {}.", d.controls.join(", ")) }}</p>
                            <h2>"Reviewers"</h2>
                            <table class="data" id="reviewer-progress">
                                <thead><tr><th>"Reviewer"</th><th>"Progress"</th></tr></thead>
                                <tbody>{d.reviewers.iter().map(|(r, p)| view! { <tr><td>{r.clone()}</td><td>{bar(p)}</td></tr> }).collect_view()}</tbody>
                            </table>
                            {(d.can_manage && !matches!(c.status.as_str(), "completed" | "cancelled")).then(|| view! {
                                <details class="card">
                                    <summary>"Cancel the campaign"</summary>
                                    <ActionForm action=cancel attr:class="toolbar">
                                        <input type="hidden" name="id" value=c.id.to_string()/>
                                        <input name="reason" required placeholder="Why" aria-label="Reason"/>
                                        <button type="submit">"Cancel it"</button>
                                    </ActionForm>
                                    {action_error(cancel)}
                                </details>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn ReviewQueuePage() -> impl IntoView {
    let query = use_query_map();
    let decide = ServerAction::<DecideAccessEntry>::new();
    let bulk = ServerAction::<BulkDecideAccessEntries>::new();
    let filter = move || {
        let q = query.read();
        QueueFilter {
            campaign: q.get("campaign").and_then(|c| c.parse().ok()),
            q: q.get("q").unwrap_or_default(),
            flag: q.get("flag").unwrap_or_default(),
            state: q.get("state").unwrap_or_else(|| "open".into()),
            mfa: q.get("mfa").is_some_and(|m| m == "true"),
            used_within: q.get("used_within").and_then(|d| d.parse().ok()),
        }
    };
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
    };
    let queue = Resource::new(
        move || {
            (
                filter(),
                page(),
                decide.version().get(),
                bulk.version().get(),
            )
        },
        |(f, p, ..)| my_access_entries(f, p),
    );
    view! {
        <leptos_meta::Title text="Access review · Steward"/>
        <h1>"Access review"</h1>
        <p class="lede">"The accounts routed to you. Keep what is still needed; revoke or modify what is not, saying what and why. Filter, then decide the whole filter at once."</p>
        <Transition fallback=|| view! { <p>"Loading your queue…"</p> }>
            {move || Suspend::new(async move {
                let f = filter();
                match queue.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(qu) => view! {
                        <p id="queue-counts">{format!("{} open · {} shown", qu.open, qu.total)}</p>
                        <form method="get" class="toolbar" id="queue-filter">
                            <select name="campaign" aria-label="Campaign">
                                {qu.campaigns.iter().map(|(id, n)| view! { <option value=id.to_string() selected=f.campaign == Some(*id)>{n.clone()}</option> }).collect_view()}
                            </select>
                            <input type="search" name="q" value=f.q.clone() placeholder="Account, email, name, entitlement" aria-label="Search"/>
                            <select name="flag" aria-label="Flag">
                                <option value="" selected=f.flag.is_empty()>"Any flags"</option>
                                <option value="none" selected=f.flag == "none">"No flags"</option>
                                {super::flags::Flag::ALL.iter().map(|g| view! { <option value=g.as_str() selected=f.flag == g.as_str()>{g.label()}</option> }).collect_view()}
                            </select>
                            <select name="state" aria-label="State">
                                <option value="open" selected=f.state == "open">"Open"</option>
                                <option value="decided" selected=f.state == "decided">"Decided"</option>
                                <option value="all" selected=f.state == "all">"All"</option>
                            </select>
                            <label><input type="checkbox" name="mfa" value="true" checked=f.mfa/>" MFA on"</label>
                            <label>"Used within "<input type="number" name="used_within" min="0" value=f.used_within.map(|d| d.to_string()).unwrap_or_default() size="4"/>" days"</label>
                            <button type="submit">"Filter"</button>
                        </form>
                        {f.campaign.map(|cid| view! {
                            <ActionForm action=bulk attr:id="bulk-form" attr:class="toolbar card">
                                <input type="hidden" name="filter[campaign]" value=cid.to_string()/>
                                <input type="hidden" name="filter[q]" value=f.q.clone()/>
                                <input type="hidden" name="filter[flag]" value=f.flag.clone()/>
                                <input type="hidden" name="filter[state]" value="open"/>
                                {f.mfa.then(|| view! { <input type="hidden" name="filter[mfa]" value="true"/> })}
                                {f.used_within.map(|d| view! { <input type="hidden" name="filter[used_within]" value=d.to_string()/> })}
                                <select name="decision" aria-label="Decision for every open entry shown">
                                    {DECISIONS.iter().map(|d| view! { <option value=*d>{*d}</option> }).collect_view()}
                                </select>
                                <input name="note" placeholder="Note (required to revoke or modify)" aria-label="Note"/>
                                <button type="submit">"Decide every open entry of this filter"</button>
                            </ActionForm>
                        })}
                        {move || bulk.value().get().and_then(|r| r.ok()).map(|n| view! { <p class="success" role="status" id="bulk-result">{format!("{n} entries decided.")}</p> })}
                        {action_error(bulk)}
                        {action_error(decide)}
                        <table class="data" id="queue">
                            <thead><tr><th>"Account"</th><th>"System"</th><th>"Entitlement"</th><th>"Last used"</th><th>"MFA"</th><th>"Flags"</th><th>"Decision"</th></tr></thead>
                            <tbody>{qu.entries.clone().into_iter().map(|e| {
                                let a = e.account.clone();
                                view! {
                                    <tr data-entry=e.id.to_string() data-decision=e.decision.clone().unwrap_or_default()>
                                        <td>{a.user_id.clone()}{a.email.clone().map(|m| view! { <br/><span class="muted">{m}</span> })}</td>
                                        <td>{e.system.clone()}</td>
                                        <td class="wrap">{a.entitlement.clone()}</td>
                                        <td>{a.last_used.clone().unwrap_or_else(|| "never".into())}</td>
                                        <td>{match a.mfa { Some(true) => "yes", Some(false) => "no", None => "—" }}</td>
                                        <td>{a.flags.iter().map(|(c, why)| view! { <span class=format!("tag flag-{c}") title=why.clone() tabindex="0">{super::flags::Flag::parse(c).map(|f| f.label()).unwrap_or("?")}</span>" " }).collect_view()}</td>
                                        <td>{match &e.decision {
                                            Some(d) => view! { <span class=format!("decision decision-{d}")>{d.clone()}</span>{(!e.note.is_empty()).then(|| format!(": {}", e.note))} }.into_any(),
                                            None => view! {
                                                <ActionForm action=decide attr:class="decide">
                                                    <input type="hidden" name="id" value=e.id.to_string()/>
                                                    <input name="note" placeholder="Note" aria-label=format!("Note for {}", a.user_id)/>
                                                    <button type="submit" name="decision" value="keep">"Keep"</button>
                                                    <button type="submit" name="decision" value="revoke">"Revoke"</button>
                                                    <button type="submit" name="decision" value="modify">"Modify"</button>
                                                </ActionForm>
                                            }.into_any(),
                                        }}</td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                        <p class="hint">{format!("Page {} of {}", qu.page, ((qu.total + qu.per_page - 1) / qu.per_page).max(1))}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The access reviews' part of "My work": entries to decide by campaign, changes to make.
#[component]
pub fn MyAccessWorkSection() -> impl IntoView {
    let work = Resource::new(|| (), |_| my_access_work());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match work.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(w) if w.campaigns.is_empty() && w.remediation == 0 => ().into_any(),
                    Ok(w) => view! {
                        <section class="card" id="my-access-work">
                            <h2>"Access reviews"</h2>
                            <ul>{w.campaigns.into_iter().map(|(id, name, due, n)| view! {
                                <li><a href=format!("{}?campaign={id}", paths::ACCESS_REVIEW)>{format!("{n} account(s) to review in {name}, due {due}")}</a></li>
                            }).collect_view()}</ul>
                            {(w.remediation > 0).then(|| view! {
                                <p><a href=paths::ACCESS_REMEDIATION>{format!("{} access change(s) to make; a later snapshot of the system verifies each", w.remediation)}</a></p>
                            })}
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
