//! Pages: the inbox (everyone: their in-app messages, mark read), the delivery status with the
//! webhooks (administrators: dead letters and a retry), and the bell in the menu.

use super::*;
use crate::controls::pages::action_error;
use crate::paths;
use leptos::form::ActionForm;
use leptos_router::hooks::use_query_map;

/// The bell: unread messages (counted by `auth::me`), linking to the inbox.
#[component]
pub fn Bell(unread: i64) -> impl IntoView {
    let label = format!("Notifications: {unread} unread");
    view! {
        <a href=paths::NOTIFICATIONS class="bell" id="bell" aria-label=label data-unread=unread.to_string()>
            <span aria-hidden="true">"🔔"</span>
            {(unread > 0).then(|| view! { <span class="bell-count">{unread}</span> })}
        </a>
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let read = ServerAction::<MarkRead>::new();
    let prefs = ServerAction::<SavePreferences>::new();
    let inbox = Resource::new(
        move || (read.version().get(), prefs.version().get()),
        |_| get_inbox(),
    );
    view! {
        <leptos_meta::Title text="Notifications · Steward"/>
        <h1>"Notifications"</h1>
        {action_error(read)}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match inbox.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(i) => view! {
                        <Preferences i=i.clone() prefs/>
                        {i.items.is_empty().then(|| view! { <p class="muted">"Nothing yet."</p> })}
                        <div class="toolbar">
                            <p id="unread-count">{format!("{} unread", i.unread)}</p>
                            {(i.unread > 0).then(|| view! {
                                <ActionForm action=read><button type="submit">"Mark all read"</button></ActionForm>
                            })}
                        </div>
                        <ul class="inbox">
                            {i.items.into_iter().map(|m| view! {
                                <li class=if m.read { "inbox-item read" } else { "inbox-item unread" } data-kind=m.kind.clone()>
                                    <p><strong>{m.subject.clone()}</strong>" "<span class="muted small">{m.created_at.clone()}</span></p>
                                    <p>{m.body.clone()}</p>
                                    {(!m.link.is_empty()).then(|| view! { <p><a href=m.link.clone()>"Open"</a></p> })}
                                    {(!m.read).then(|| view! {
                                        <ActionForm action=read>
                                            <input type="hidden" name="id" value=m.id.to_string()/>
                                            <button type="submit">"Mark read"</button>
                                        </ActionForm>
                                    })}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Email preferences (in-app messages always arrive).
#[component]
fn Preferences(i: Inbox, prefs: ServerAction<SavePreferences>) -> impl IntoView {
    view! {
        <details class="card preferences">
            <summary>"Email preferences"</summary>
            {(!i.has_address).then(|| view! { <p class="muted">"You have no email address: an administrator adds it on the users page."</p> })}
            <ActionForm action=prefs attr:class="stack compact" attr:id="preferences-form">
                <label><input type="checkbox" name="email" checked=i.email/>" Send me email"</label>
                <label><input type="checkbox" name="digest" checked=i.digest/>" As one daily digest at 07:00 UTC, not one email per message"</label>
                {KINDS.iter().enumerate().map(|(n, (kind, label))| view! {
                    <label><input type="checkbox" name=format!("kind_{n}") checked=!i.muted.iter().any(|m| m == kind)/>{format!(" {label}")}</label>
                }).collect_view()}
                <button type="submit">"Save"</button>
            </ActionForm>
            {action_error(prefs)}
        </details>
    }
}

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let query = use_query_map();
    let retry = ServerAction::<RetryDelivery>::new();
    let hook = ServerAction::<AddWebhook>::new();
    let list = Resource::new(
        move || {
            (
                query.read().get("status").unwrap_or_default(),
                retry.version().get(),
                hook.version().get(),
            )
        },
        |(s, _, _)| list_deliveries(s),
    );
    view! {
        <leptos_meta::Title text="Deliveries · Steward"/>
        <h1>"Email and webhook deliveries"</h1>
        <p class="lede">"Every message the outbox sends, with its attempts. A message that failed "{super::MAX_ATTEMPTS_TEXT}" times is a dead letter: fix the cause, then send it again."</p>
        {action_error(retry)}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(d) => view! {
                        <ul class="breakdown">
                            <li><a href=paths::DELIVERIES>"All"</a></li>
                            {d.counts.iter().map(|(s, n)| view! {
                                <li><a href=format!("{}?status={s}", paths::DELIVERIES)>{s.clone()}</a>" "<span data-status=s.clone()>{*n}</span></li>
                            }).collect_view()}
                        </ul>
                        <div class="table-wrap"><table class="data">
                            <thead><tr><th scope="col">"#"</th><th scope="col">"Kind"</th><th scope="col">"Channel"</th><th scope="col">"To"</th>
                                <th scope="col">"Subject"</th><th scope="col">"Status"</th><th scope="col" class="num">"Attempts"</th><th scope="col">"Last error"</th><th scope="col">""</th></tr></thead>
                            <tbody>{d.rows.into_iter().map(|r| view! {
                                <tr data-delivery=r.id.to_string() data-status=r.status.clone()>
                                    <td>{r.id}</td><td>{r.kind.clone()}</td><td>{r.channel.clone()}</td><td>{r.address.clone()}</td>
                                    <td>{r.subject.clone()}</td>
                                    <td>{r.status.clone()}<br/><span class="muted small">{r.sent_at.clone().unwrap_or_else(|| format!("next {}", r.next_attempt_at))}</span></td>
                                    <td class="num">{r.attempts}</td><td class="small">{r.last_error.clone()}</td>
                                    <td>{(r.status == "dead").then(|| view! {
                                        <ActionForm action=retry><input type="hidden" name="id" value=r.id.to_string()/><button type="submit">"Send again"</button></ActionForm>
                                    })}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table></div>
                        <section class="card">
                            <h2>"Webhooks"</h2>
                            <ul>{d.webhooks.iter().map(|(id, url, events, active)| view! {
                                <li>{format!("#{id} {url} — {events}{}", if *active { "" } else { " (off)" })}</li>
                            }).collect_view()}</ul>
                            <ActionForm action=hook attr:class="grid-form">
                                <div><label for="wh-url">"URL"</label><input id="wh-url" name="url" type="url" required/></div>
                                <div><label for="wh-events">"Events"</label><input id="wh-events" name="events" placeholder="* or budget.alert,budget.escalation"/></div>
                                <div><button type="submit" class="primary">"Add webhook"</button></div>
                            </ActionForm>
                            {move || hook.value().get().and_then(|r| r.ok()).map(|secret| view! {
                                <p class="success" role="status">"Signing secret (shown once): "<code id="webhook-secret">{secret}</code></p>
                            })}
                            {action_error(hook)}
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
