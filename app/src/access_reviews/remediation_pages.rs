//! The remediation board: every revoke or modify decision with its assignee and what the
//! latest snapshot says of it (open items first); compliance accepts an item as a documented
//! exception. Works without JavaScript (plain forms, a GET filter).

use super::remediation::Board;
use super::*;
use crate::controls::pages::action_error;
use crate::paths;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

fn counts(b: &Board) -> String {
    let n = |s: &str| {
        b.counts
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    format!(
        "{} open · {} verified · {} exceptions",
        n("open"),
        n("verified"),
        n("exception")
    )
}

#[component]
pub fn RemediationPage() -> impl IntoView {
    let query = use_query_map();
    let accept = ServerAction::<AcceptRemediationException>::new();
    let args = move || {
        let q = query.read();
        (
            q.get("status").unwrap_or_else(|| "open".into()),
            q.get("campaign").and_then(|c| c.parse::<i64>().ok()),
        )
    };
    let board = Resource::new(
        move || (args(), accept.version().get()),
        |((status, campaign), _)| {
            remediation_board(
                if status == "all" {
                    String::new()
                } else {
                    status
                },
                campaign,
            )
        },
    );
    view! {
        <leptos_meta::Title text="Remediation · Steward"/>
        <h1>"Remediation"</h1>
        <p class="lede">"Access a review decided to revoke or change. An item is verified only when a later snapshot of its system shows the account gone or disabled (or, for a change, its entitlement different); until then it stays open here. Import the system's accounts again after the work is done."</p>
        <Transition fallback=|| view! { <p>"Loading the board…"</p> }>
            {move || Suspend::new(async move {
                let (status, campaign) = args();
                match board.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(b) => view! {
                        <p id="remediation-counts">{counts(&b)}</p>
                        <form method="get" class="toolbar">
                            {campaign.map(|c| view! { <input type="hidden" name="campaign" value=c.to_string()/> })}
                            <select name="status" aria-label="Status">
                                {["open", "verified", "exception", "all"].into_iter().map(|s| view! { <option value=s selected=status == s>{s}</option> }).collect_view()}
                            </select>
                            <button type="submit">"Show"</button>
                        </form>
                        {action_error(accept)}
                        {b.items.is_empty().then(|| view! { <p class="card muted">"Nothing here."</p> })}
                        <table class="data" id="remediation">
                            <thead><tr><th>"Account"</th><th>"System"</th><th>"To do"</th><th>"Assignee"</th><th>"Status"</th><th>"Latest check"</th></tr></thead>
                            <tbody>{b.items.into_iter().map(|r| view! {
                                <tr data-item=r.id.to_string() data-status=r.status.clone()>
                                    <td>{r.account_key.clone()}<br/><span class="muted">{r.account_name.clone()}</span></td>
                                    <td>{r.system.clone()}<br/><a class="muted" href=paths::access_campaign(r.campaign_id)>{r.campaign.clone()}</a></td>
                                    <td class="wrap">{format!("{} '{}': {}", r.action, r.entitlement, r.note)}</td>
                                    <td>{r.assignee.clone()}</td>
                                    <td><span class=format!("tag remediation-{}", r.status)>{r.status.clone()}</span></td>
                                    <td class="wrap">
                                        {if r.resolution.is_empty() { "Not checked yet: no snapshot after the review.".to_string() } else { r.resolution.clone() }}
                                        {r.resolved_by.clone().map(|w| view! { <br/><span class="muted">{format!("accepted by {w} at {}", r.resolved_at.clone().unwrap_or_default())}</span> })}
                                        {r.can_accept.then(|| view! {
                                            <ActionForm action=accept attr:class="toolbar">
                                                <input type="hidden" name="id" value=r.id.to_string()/>
                                                <input name="justification" required placeholder="Why the access stays; who accepted the risk" aria-label=format!("Exception for {}", r.account_key)/>
                                                <button type="submit">"Accept as exception"</button>
                                            </ActionForm>
                                        })}
                                    </td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
