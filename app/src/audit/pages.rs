//! The audit log page.

#[allow(unused_imports)]
use super::*;
use crate::paths;
use crate::util::{display_ts, urlencode};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        AuditFilter {
            actor: q.get("actor"),
            action: q.get("action"),
            object_type: q.get("object_type"),
            from: q.get("from"),
            to: q.get("to"),
            before: q.get("before").and_then(|b| b.parse().ok()),
        }
    };
    let page = Resource::new(filter, list_audit_events);
    let verify = ServerAction::<VerifyAuditChain>::new();
    let field = move |k: &'static str| move || query.read().get(k).unwrap_or_default();
    view! {
        <leptos_meta::Title text="Audit log · Steward"/>
        <h1>"Audit log"</h1>
        <p class="lede">"Every change and sign-in, in order. Each event is chained to the one before it by a SHA-256 hash, and the database refuses edits and deletions."</p>
        <section class="card">
            <form method="get" action=paths::AUDIT class="filters">
                <div><label for="f-actor">"Actor"</label><input id="f-actor" name="actor" value=field("actor")/></div>
                <div><label for="f-action">"Action"</label><input id="f-action" name="action" placeholder="e.g. auth. or user.create" value=field("action")/></div>
                <div><label for="f-object">"Object type"</label><input id="f-object" name="object_type" value=field("object_type")/></div>
                <div><label for="f-from">"From"</label><input id="f-from" name="from" type="date" value=field("from")/></div>
                <div><label for="f-to">"To"</label><input id="f-to" name="to" type="date" value=field("to")/></div>
                <div class="filter-actions"><button type="submit" class="primary">"Filter"</button><a href=paths::AUDIT>"Clear"</a></div>
            </form>
        </section>
        <section class="card">
            <div class="toolbar">
                <h2>"Events"</h2>
                <ActionForm action=verify attr:class="inline">
                    <button type="submit">"Verify chain"</button>
                </ActionForm>
            </div>
            {move || verify.value().get().map(|r| match r {
                Ok(c) => view! {
                    <p class=if c.intact { "success" } else { "error" } role="status">{c.message}</p>
                    <ul class="muted" id="chain-details">{c.details.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <p>"Loading events…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(p) if p.events.is_empty() => view! {
                            <p class="empty">"No events match these filters."</p>
                        }.into_any(),
                        Ok(p) => {
                            let next = p.next_before.map(|b| {
                                let q = query.read_untracked();
                                let mut href = format!("{}?", paths::AUDIT);
                                for k in ["actor", "action", "object_type", "from", "to"] {
                                    if let Some(v) = q.get(k) {
                                        href.push_str(&format!("{k}={}&", urlencode(&v)));
                                    }
                                }
                                href.push_str(&format!("before={b}"));
                                href
                            });
                            view! {
                                <p class="muted">{format!("Chain head: event #{} · {}", p.head_seq, &p.head_hash[..16.min(p.head_hash.len())])}</p>
                                <div class="table-wrap">
                                <table class="data audit">
                                    <thead><tr>
                                        <th scope="col">"#"</th><th scope="col">"When (UTC)"</th><th scope="col">"Actor"</th>
                                        <th scope="col">"Action"</th><th scope="col">"Object"</th><th scope="col">"Details"</th>
                                        <th scope="col">"From"</th>
                                    </tr></thead>
                                    <tbody>
                                        {p.events.into_iter().map(|e| view! {
                                            <tr>
                                                <td class="num">{e.seq}</td>
                                                <td class="nowrap">{display_ts(&e.at)}</td>
                                                <td>{e.actor}</td>
                                                <td><code>{e.action}</code></td>
                                                <td>{format!("{} {}", e.object_type, e.object_id)}</td>
                                                <td>{e.summary}</td>
                                                <td class="muted" title=e.request_id.clone().unwrap_or_default()>{e.client_addr.unwrap_or_default()}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                                {next.map(|h| view! { <p><a href=h>"Older events →"</a></p> })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}
