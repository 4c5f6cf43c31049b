//! Retention pages: the schedule (categories, where each is held, their rules, Steward's own
//! data with the job's dry run) and the disposal queue (due, held, coming up, later, done).
//! Plain forms throughout; legal holds are in `hold_pages.rs`.

use super::schedule::{action_label, trigger_label, ACTIONS, TRIGGERS};
use super::*;
use crate::controls::pages::action_error;
use crate::paths;
use leptos::form::ActionForm;
use leptos::prelude::*;

fn holds_view(h: &[String]) -> impl IntoView {
    (!h.is_empty()).then(|| {
        view! { <span class="tag warn hold" data-holds=h.join(", ")>{format!("On legal hold: {}", h.join(", "))}</span> }
    })
}

fn rule_row(r: &RuleView) -> impl IntoView {
    view! {
        <tr data-rule=r.name.clone() data-rule-id=r.id.to_string()>
            <td>{r.name.clone()}</td>
            <td>{format!("{} from {}", r.period, trigger_label(&r.trigger))}</td>
            <td>{action_label(&r.action)}</td>
            <td>{r.legal_basis.clone()}{(!r.reference.is_empty()).then(|| view! { <br/><span class="muted">{r.reference.clone()}</span> })}</td>
            <td class=if r.review_due { "warn" } else { "" }>{format!("every {}; next {}", r.review_every, r.next_review)}</td>
            <td class="num">{r.records}</td>
        </tr>
    }
}

#[component]
pub fn RetentionPage() -> impl IntoView {
    let category = ServerAction::<SaveRetentionCategory>::new();
    let location = ServerAction::<AddRetentionLocation>::new();
    let rule = ServerAction::<SaveRetentionRule>::new();
    let review = ServerAction::<ReviewRetentionRule>::new();
    let run = ServerAction::<RunOwnRetention>::new();
    let data = Resource::new(
        move || {
            (
                category.version().get(),
                location.version().get(),
                rule.version().get(),
                review.version().get(),
                run.version().get(),
            )
        },
        |_| retention_schedule(),
    );
    view! {
        <leptos_meta::Title text="Retention · Steward"/>
        <h1>"Retention schedule"</h1>
        <p class="lede">"What data we hold, where, for how long and why: each rule counts an ISO-8601 period from its trigger and says what happens at the end. Records tracked under a rule appear in the "<a href=paths::RETENTION_DISPOSALS>"disposal queue"</a>" when due; "<a href=paths::LEGAL_HOLDS>"legal holds"</a>" suspend disposal of everything in their scope."</p>
        <Transition fallback=|| view! { <p>"Loading the schedule…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(s) => {
                        let cats = s.categories.clone();
                        let cat_opts: Vec<(String, String)> = cats.iter().map(|c| (c.id.to_string(), c.name.clone())).collect();
                        let rule_opts: Vec<(String, String)> = cats.iter().flat_map(|c| c.rules.iter().map(move |r| (r.id.to_string(), format!("{} — {}", c.name, r.name)))).collect();
                        let (cat_opts2, rule_opts2) = (cat_opts.clone(), rule_opts.clone());
                        let options = |o: &[(String, String)]| o.iter().map(|(v, l)| view! { <option value=v.clone()>{l.clone()}</option> }).collect_view();
                        view! {
                            <table class="data" id="retention-schedule">
                                <thead><tr><th>"Rule"</th><th>"Period"</th><th>"Then"</th><th>"Legal basis"</th><th>"Review"</th><th>"Records"</th></tr></thead>
                                {cats.iter().map(|c| view! {
                                    <tbody data-category=c.name.clone()>
                                        <tr class="group"><th colspan="6">
                                            {c.name.clone()}{c.personal.then_some(" · personal data")}
                                            {(!c.locations.is_empty()).then(|| format!(" · held in {}", c.locations.iter().map(|l| l.2.clone()).collect::<Vec<_>>().join(", ")))}
                                            " "{holds_view(&c.holds)}
                                            <br/><span class="muted">{c.description.clone()}</span>
                                        </th></tr>
                                        {c.rules.iter().map(rule_row).collect_view()}
                                        {c.rules.is_empty().then(|| view! { <tr><td colspan="6" class="muted">"No rule yet: add one below."</td></tr> })}
                                    </tbody>
                                }).collect_view()}
                            </table>
                            <section class="card" id="own-data">
                                <h2>"Steward's own data"</h2>
                                <p class="hint">{format!("Disposed of daily under the built-in rules above (also `steward retention run --dry-run`). Each removal leaves a tombstone in the audit trail with the SHA-256 of what went; the trail itself is kept at least {} days.", s.audit_min_days)}</p>
                                <table class="data" id="own-plan">
                                    <thead><tr><th>"Category"</th><th>"Rule"</th><th>"Before"</th><th>"Would go now"</th><th></th></tr></thead>
                                    <tbody>{s.own.iter().map(|l| view! {
                                        <tr data-own=l.key.clone() data-count=l.count.to_string()>
                                            <td>{l.category.clone()}</td><td>{l.rule.clone()}</td><td>{l.cutoff.get(..10).unwrap_or(&l.cutoff).to_string()}</td>
                                            <td class="num">{l.count}</td>
                                            <td>{holds_view(&l.held_by)}" "{l.note.clone()}</td>
                                        </tr>
                                    }).collect_view()}</tbody>
                                </table>
                                {s.can_manage.then(|| view! {
                                    <ActionForm action=run attr:id="own-run"><button type="submit">"Dispose of it now"</button></ActionForm>
                                    {action_error(run)}
                                    {move || run.value().get().and_then(|r| r.ok()).map(|lines| view! {
                                        <p class="notice" role="status">{format!("Disposed of {} row(s).", lines.iter().map(|l| l.count).sum::<i64>())}</p>
                                    })}
                                })}
                            </section>
                            {s.can_manage.then(|| view! {
                                <section class="card">
                                    <h2>"Add or change a rule"</h2>
                                    <ActionForm action=rule attr:id="rule-form" attr:class="stack">
                                        <label>"Data category"<select name="form[category_id]">{options(&cat_opts)}</select></label>
                                        <label>"Rule to change (empty: a new rule)"<select name="form[id]">
                                            <option value="">"New rule"</option>
                                            {options(&rule_opts)}
                                        </select></label>
                                        <label>"Name"<input name="form[name]" required maxlength="200" value="Default"/></label>
                                        <label>"Period (ISO-8601: P7Y, P1Y6M, P30D)"<input name="form[period]" required placeholder="P7Y"/></label>
                                        <label>"From"<select name="form[trigger]">
                                            {TRIGGERS.iter().map(|(k, l)| view! { <option value=*k>{*l}</option> }).collect_view()}
                                        </select></label>
                                        <label>"Then"<select name="form[action]">
                                            {ACTIONS.iter().map(|(k, l)| view! { <option value=*k>{*l}</option> }).collect_view()}
                                        </select></label>
                                        <label>"Legal basis"<input name="form[legal_basis]" required maxlength="500"/></label>
                                        <label>"Reference (law, clause, policy)"<input name="form[reference]" maxlength="500"/></label>
                                        <label>"Review the rule every"<input name="form[review_every]" value="P1Y"/></label>
                                        <div class="toolbar"><button type="submit" class="primary">"Save the rule"</button></div>
                                    </ActionForm>
                                    {action_error(rule)}
                                    <h3>"Mark a rule reviewed"</h3>
                                    <ActionForm action=review attr:class="toolbar">
                                        <select name="id" aria-label="Rule">{options(&rule_opts2)}</select>
                                        <button type="submit">"Reviewed, unchanged"</button>
                                    </ActionForm>
                                    {action_error(review)}
                                </section>
                                <section class="card">
                                    <h2>"Add a data category"</h2>
                                    <ActionForm action=category attr:id="category-form" attr:class="stack">
                                        <label>"Name"<input name="form[name]" required maxlength="200"/></label>
                                        <label>"Description"<input name="form[description]" maxlength="2000"/></label>
                                        <label><input type="checkbox" name="form[personal]" value="true"/>" Personal data"</label>
                                        <div class="toolbar"><button type="submit" class="primary">"Add the category"</button></div>
                                    </ActionForm>
                                    {action_error(category)}
                                    <h3>"Where a category is held"</h3>
                                    <ActionForm action=location attr:class="toolbar" attr:id="location-form">
                                        <select name="category_id" aria-label="Category">{options(&cat_opts2)}</select>
                                        <select name="place" aria-label="Held in">{s.places.iter().map(|(k, n)| view! { <option value=k.clone()>{n.clone()}</option> }).collect_view()}</select>
                                        <button type="submit">"Add"</button>
                                    </ActionForm>
                                    {action_error(location)}
                                </section>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

fn record_row(r: &RecordView, buttons: AnyView) -> impl IntoView {
    view! {
        <tr data-record=r.description.clone() data-status=r.status.clone()>
            <td>{r.description.clone()}<br/><span class="muted">{r.held_in.clone()}</span></td>
            <td>{format!("{} — {}", r.category, r.rule)}</td>
            <td>{r.trigger_date.clone()}</td>
            <td>{r.disposal_date.clone()}</td>
            <td>{action_label(&r.action)}{r.approved_by.clone().map(|a| format!(" · approved by {a}"))}" "{holds_view(&r.holds)}</td>
            <td>{buttons}</td>
        </tr>
    }
}

fn records_table(
    id: &'static str,
    title: &'static str,
    empty: &'static str,
    rows: Vec<AnyView>,
) -> impl IntoView {
    view! {
        <section class="card" id=id>
            <h2>{title}</h2>
            {if rows.is_empty() { view! { <p class="muted">{empty}</p> }.into_any() } else { view! {
                <table class="data"><thead><tr><th>"What is held"</th><th>"Category — rule"</th><th>"From"</th><th>"Disposal due"</th><th>"Action"</th><th></th></tr></thead>
                <tbody>{rows}</tbody></table>
            }.into_any() }}
        </section>
    }
}

#[component]
pub fn DisposalQueuePage() -> impl IntoView {
    let add = ServerAction::<AddRetentionRecord>::new();
    let approve = ServerAction::<ApproveDisposal>::new();
    let record = ServerAction::<RecordDisposal>::new();
    let data = Resource::new(
        move || {
            (
                add.version().get(),
                approve.version().get(),
                record.version().get(),
            )
        },
        |_| disposal_queue(),
    );
    view! {
        <leptos_meta::Title text="Disposal queue · Steward"/>
        <h1>"Disposal queue"</h1>
        <p class="lede">"Records whose retention period has ended. One person approves a disposal, another records that it was done; Steward then writes a certificate of disposal and keeps it as evidence. A legal hold suspends disposal until it is released."</p>
        <Transition fallback=|| view! { <p>"Loading the queue…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(q) => {
                        let manage = q.can_manage;
                        let due = q.due.iter().map(|r| {
                            let id = r.id.to_string();
                            let buttons = if !manage { ().into_any() } else if r.status == "approved" { view! {
                                <ActionForm action=record attr:class="inline">
                                    <input type="hidden" name="id" value=id.clone()/>
                                    <input name="note" placeholder="How it was done" aria-label="Note"/>
                                    <button type="submit" class="primary">"Record the disposal"</button>
                                </ActionForm>
                            }.into_any() } else { view! {
                                <ActionForm action=approve attr:class="inline">
                                    <input type="hidden" name="id" value=id.clone()/>
                                    <button type="submit">"Approve disposal"</button>
                                </ActionForm>
                            }.into_any() };
                            record_row(r, buttons).into_any()
                        }).collect::<Vec<_>>();
                        let plain = |v: &[RecordView]| v.iter().map(|r| record_row(r, ().into_any()).into_any()).collect::<Vec<_>>();
                        let done = q.disposed.iter().map(|r| {
                            let cert = r.certificate.map(|e| view! { <a href=paths::evidence_item(e)>"Certificate"</a> }.into_any()).unwrap_or_else(|| ().into_any());
                            view! {
                                <tr data-record=r.description.clone() data-status="disposed">
                                    <td>{r.description.clone()}</td><td>{format!("{} — {}", r.category, r.rule)}</td>
                                    <td>{r.disposed_at.clone().unwrap_or_default()}</td>
                                    <td>{format!("{} by {}, approved by {}", action_label(&r.action), r.performed_by.clone().unwrap_or_default(), r.approved_by.clone().unwrap_or_default())}</td>
                                    <td>{cert}</td>
                                </tr>
                            }.into_any()
                        }).collect::<Vec<_>>();
                        view! {
                            {action_error(approve)}
                            {action_error(record)}
                            {records_table("queue-due", "Due now", "Nothing is due for disposal.", due)}
                            {records_table("queue-held", "Due, but on legal hold", "No due record is on hold.", plain(&q.held))}
                            {records_table("queue-upcoming", "Due within 30 days", "Nothing falls due in the next 30 days.", plain(&q.upcoming))}
                            {records_table("queue-later", "Held under a rule", "No other records are tracked.", plain(&q.later))}
                            <section class="card" id="queue-disposed">
                                <h2>"Disposed of"</h2>
                                {if done.is_empty() { view! { <p class="muted">"No disposal recorded yet."</p> }.into_any() } else { view! {
                                    <table class="data"><thead><tr><th>"What"</th><th>"Category — rule"</th><th>"When"</th><th>"How, by whom"</th><th></th></tr></thead><tbody>{done}</tbody></table>
                                }.into_any() }}
                            </section>
                            {manage.then(|| view! {
                                <section class="card">
                                    <h2>"Track a record"</h2>
                                    <ActionForm action=add attr:id="record-form" attr:class="stack">
                                        <label>"What is held"<input name="form[description]" required maxlength="500"/></label>
                                        <label>"Rule"<select name="form[rule_id]">{q.rules.iter().map(|(id, n)| view! { <option value=id.to_string()>{n.clone()}</option> }).collect_view()}</select></label>
                                        <label>"Held in"<select name="form[place]"><option value="">"—"</option>{q.places.iter().map(|(k, n)| view! { <option value=k.clone()>{n.clone()}</option> }).collect_view()}</select></label>
                                        <label>"From (the trigger's day; empty for a vendor's last contract end)"<input type="date" name="form[trigger_date]"/></label>
                                        <div class="toolbar"><button type="submit" class="primary">"Track it"</button></div>
                                    </ActionForm>
                                    {action_error(add)}
                                </section>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
