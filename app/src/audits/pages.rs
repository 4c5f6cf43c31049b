//! Pages: the audits list (with the new-audit form), one audit (its request list with counts
//! and overdue items, samples, request and sample forms, the export), one request (thread,
//! evidence, answer, accept or return). Every form works without JavaScript.

use super::pbc::Side;
use super::*;
use crate::controls::pages::{action_error, id_param};
use crate::paths;
use crate::util::display_ts;
use leptos::form::ActionForm;

#[component]
fn CountsLine(c: Counts) -> impl IntoView {
    view! {
        <span class="counts">
            {format!("{} open · {} submitted · {} accepted · {} returned", c.open, c.submitted, c.accepted, c.returned)}
            {(c.overdue > 0).then(|| view! { " · "<strong class="error">{format!("{} overdue", c.overdue)}</strong> })}
        </span>
    }
}

#[component]
fn AuditFields(
    form: AuditForm,
    frameworks: Vec<(String, String)>,
    auditors: Vec<String>,
) -> impl IntoView {
    let keys = frameworks
        .iter()
        .map(|(k, n)| format!("{k} ({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        {form.id.map(|id| view! { <input type="hidden" name="form[id]" value=id.to_string()/> })}
        <div><label for="af-name">"Name"</label><input id="af-name" name="form[name]" required value=form.name.clone()/></div>
        <div><label for="af-start">"Period from"</label><input id="af-start" type="date" name="form[start]" required value=form.start.clone()/></div>
        <div><label for="af-end">"To (first day after)"</label><input id="af-end" type="date" name="form[end]" required value=form.end.clone()/></div>
        <div><label for="af-frameworks">"Frameworks (keys, comma-separated)"</label><input id="af-frameworks" name="form[frameworks]" required value=form.frameworks.clone()/>
            <p class="hint">{format!("Available: {keys}")}</p></div>
        <div><label for="af-auditors">"Auditors (usernames, comma-separated)"</label><input id="af-auditors" name="form[auditors]" value=form.auditors.clone()/>
            <p class="hint">{format!("Auditor accounts: {}", if auditors.is_empty() { "none yet (an administrator creates them, with an access expiry)".to_string() } else { auditors.join(", ") })}</p></div>
    }
}

#[component]
pub fn AuditsPage() -> impl IntoView {
    let create = ServerAction::<SaveAudit>::new();
    let list = Resource::new(move || create.version().get(), |_| list_audits());
    view! {
        <leptos_meta::Title text="Audits · Steward"/>
        <h1>"Audits"</h1>
        <p class="lede">"Engagements with their frameworks, period and auditors; each has a request list (PBC) the organisation answers with evidence and the auditors accept or return."</p>
        <Transition fallback=|| view! { <p>"Loading audits…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(v) => view! {
                        {if v.audits.is_empty() {
                            view! { <p class="empty">{if v.can_manage { "No audit yet: plan one below." } else { "You are not assigned to any audit." }}</p> }.into_any()
                        } else { view! {
                            <div class="table-wrap"><table class="data" id="audits">
                                <thead><tr><th scope="col">"Audit"</th><th scope="col">"Period"</th><th scope="col">"Status"</th><th scope="col">"Frameworks"</th><th scope="col">"Auditors"</th><th scope="col">"Requests"</th></tr></thead>
                                <tbody>{v.audits.into_iter().map(|a| view! {
                                    <tr data-status=a.status.clone()>
                                        <td><a href=paths::audit(a.id)>{a.name.clone()}</a></td>
                                        <td class="nowrap">{format!("[{}, {})", a.start, a.end)}</td>
                                        <td>{a.status.clone()}</td>
                                        <td>{a.frameworks.join(", ")}</td>
                                        <td>{a.auditors.join(", ")}</td>
                                        <td><CountsLine c=a.counts.clone()/></td>
                                    </tr>
                                }).collect_view()}</tbody>
                            </table></div>
                        }.into_any() }}
                        {v.can_manage.then(|| view! {
                            <section class="card">
                                <h2>"Plan an audit"</h2>
                                <ActionForm action=create attr:class="grid-form" attr:id="create-audit-form">
                                    <AuditFields form=AuditForm::default() frameworks=v.frameworks.clone() auditors=v.auditor_accounts.clone()/>
                                    <div><button type="submit" class="primary">"Create audit"</button></div>
                                </ActionForm>
                                {action_error(create)}
                            </section>
                        })}
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RequestTable(requests: Vec<RequestRow>) -> impl IntoView {
    if requests.is_empty() {
        return view! { <p class="empty">"No request yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap"><table class="data" id="requests">
            <thead><tr><th scope="col">"Request"</th><th scope="col">"What"</th><th scope="col">"Requirement / control"</th><th scope="col">"Due"</th><th scope="col">"Assignee"</th><th scope="col">"Status"</th><th scope="col" class="num">"Evidence"</th></tr></thead>
            <tbody>{requests.into_iter().map(|r| view! {
                <tr data-status=r.status.clone() data-overdue=r.overdue.to_string()>
                    <td class="nowrap"><a href=paths::audit_request(r.id)>{r.reference.clone()}</a></td>
                    <td>{r.text.chars().take(140).collect::<String>()}</td>
                    <td>{[r.requirement.clone(), r.control.clone()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" / ")}</td>
                    <td class=if r.overdue { "nowrap error" } else { "nowrap" }>{r.due.clone()}{r.overdue.then_some(" (overdue)")}</td>
                    <td>{r.assignee.clone()}</td>
                    <td>{r.status.clone()}</td>
                    <td class="num">{r.evidence}</td>
                </tr>
            }).collect_view()}</tbody>
        </table></div>
    }
    .into_any()
}

fn assignee_options(list: &[(String, String)]) -> impl IntoView {
    view! {
        <option value="">"(nobody yet)"</option>
        {list.iter().map(|(u, n)| view! { <option value=u.clone()>{format!("{n} ({u})")}</option> }).collect_view()}
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let id = id_param("id");
    let save = ServerAction::<SaveAudit>::new();
    let status = ServerAction::<SetAuditStatus>::new();
    let add = ServerAction::<AddAuditRequest>::new();
    let sample = ServerAction::<DrawSample>::new();
    let detail = Resource::new(
        move || {
            (
                id(),
                save.version().get(),
                status.version().get(),
                add.version().get(),
                sample.version().get(),
            )
        },
        |(id, ..)| get_audit(id),
    );
    view! {
        <leptos_meta::Title text="Audit · Steward"/>
        <Transition fallback=|| view! { <p>"Loading the audit…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <h1>"Audit"</h1><p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => {
                        let a = d.audit.clone();
                        let closed = a.status == "closed";
                        let export = format!("{}?audit={}", paths::EVIDENCE_EXPORT, a.id);
                        view! {
                            <h1>{a.name.clone()}</h1>
                            <p class="lede">{format!("[{}, {}) · {} · frameworks {} · auditors {}", a.start, a.end, a.status, a.frameworks.join(", "), if a.auditors.is_empty() { "none".into() } else { a.auditors.join(", ") })}</p>
                            <p id="audit-counts"><CountsLine c=a.counts.clone()/></p>
                            <p><a href=export.clone() id="audit-export" download="">"Download the evidence export for this audit (ZIP, signed)"</a>
                                {(a.frameworks.len() > 1).then_some(" — one framework at a time: add &framework=KEY")}
                                " · "<a href=format!("{}?audit={}", paths::SOA_EXPORT, a.id) id="audit-soa" download="">"Statement of Applicability (CSV)"</a></p>
                            <section class="card">
                                <h2>"Requests (PBC)"</h2>
                                <RequestTable requests=d.requests.clone()/>
                            </section>
                            {(!closed).then(|| { let assignees = d.assignees.clone(); view! {
                                <section class="card">
                                    <h2>"Raise a request"</h2>
                                    <ActionForm action=add attr:class="grid-form" attr:id="request-form">
                                        <input type="hidden" name="form[audit_id]" value=a.id.to_string()/>
                                        <div class="wide"><label for="rq-text">"What is requested"</label><textarea id="rq-text" name="form[text]" required rows="3"></textarea></div>
                                        <div><label for="rq-req">"Requirement (label, optional)"</label><input id="rq-req" name="form[requirement]"/></div>
                                        <div><label for="rq-ctl">"Control (ref, optional)"</label><input id="rq-ctl" name="form[control]"/></div>
                                        <div><label for="rq-pop">"Population or sample (optional)"</label><input id="rq-pop" name="form[population]"/></div>
                                        <div><label for="rq-due">"Due"</label><input id="rq-due" type="date" name="form[due]" required/></div>
                                        <div><label for="rq-who">"Assignee"</label><select id="rq-who" name="form[assignee]">{assignee_options(&assignees)}</select></div>
                                        <div><button type="submit" class="primary">"Raise request"</button></div>
                                    </ActionForm>
                                    {action_error(add)}
                                </section>
                            }})}
                            {(d.side == Side::Auditor && !closed).then(|| { let assignees = d.assignees.clone(); view! {
                                <section class="card">
                                    <h2>"Draw a sample"</h2>
                                    <p class="hint">"Each drawn item becomes a request. The seed and the population are recorded: anyone can draw the same sample again (the rule is on this page's samples)."</p>
                                    <ActionForm action=sample attr:class="grid-form" attr:id="sample-form">
                                        <input type="hidden" name="form[audit_id]" value=a.id.to_string()/>
                                        <div><label for="sm-pop">"Population"</label><select id="sm-pop" name="form[population]">
                                            {POPULATIONS.iter().map(|(k, l)| view! { <option value=*k>{*l}</option> }).collect_view()}
                                        </select></div>
                                        <div><label for="sm-size">"Sample size"</label><input id="sm-size" name="form[size]" inputmode="numeric" required value="5"/></div>
                                        <div><label for="sm-seed">"Seed (optional)"</label><input id="sm-seed" name="form[seed]"/></div>
                                        <div><label for="sm-due">"Due"</label><input id="sm-due" type="date" name="form[due]" required/></div>
                                        <div><label for="sm-who">"Assignee"</label><select id="sm-who" name="form[assignee]">{assignee_options(&assignees)}</select></div>
                                        <div><button type="submit" class="primary">"Draw sample"</button></div>
                                    </ActionForm>
                                    {action_error(sample)}
                                </section>
                            }})}
                            <Samples samples=d.samples.clone()/>
                            {(d.can_manage && !closed).then(|| view! {
                                <section class="card">
                                    <h2>"Status"</h2>
                                    <ActionForm action=status attr:class="inline" attr:id="status-form">
                                        <input type="hidden" name="id" value=a.id.to_string()/>
                                        <select name="status" aria-label="Status">{STATUSES.iter().map(|s| view! { <option value=*s selected=*s == a.status>{*s}</option> }).collect_view()}</select>
                                        <button type="submit">"Set status"</button>
                                    </ActionForm>
                                    {action_error(status)}
                                </section>
                                <section class="card">
                                    <h2>"Edit"</h2>
                                    <ActionForm action=save attr:class="grid-form" attr:id="edit-audit-form">
                                        <AuditFields form=AuditForm { id: Some(a.id), name: a.name.clone(), start: a.start.clone(), end: a.end.clone(), frameworks: a.frameworks.join(", "), auditors: a.auditors.join(", ") } frameworks=d.frameworks.clone() auditors=d.auditor_accounts.clone()/>
                                        <div><button type="submit">"Save"</button></div>
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

#[component]
fn Samples(samples: Vec<SampleView>) -> impl IntoView {
    (!samples.is_empty()).then(|| view! {
        <section class="card">
            <h2>"Samples"</h2>
            <p class="hint">"Each item scores SHA-256(seed, a newline, its key); the sample is the items with the lowest scores. The population's SHA-256 is that of its keys, sorted, one per line."</p>
            <ul id="samples">{samples.into_iter().map(|s| view! {
                <li>
                    {format!("Sample #{}: {} of {} {} · seed ", s.id, s.size, s.population_size, s.population.replace('_', " "))}<code class="seed">{s.seed.clone()}</code>
                    {format!(" · population sha256 {} · drawn by {} on {}", s.population_sha256, s.drawn_by, display_ts(&s.drawn_at))}
                    <br/><span class="muted small">{s.items.join(", ")}</span>
                </li>
            }).collect_view()}</ul>
        </section>
    })
}

#[component]
pub fn AuditRequestPage() -> impl IntoView {
    let id = id_param("id");
    let comment = ServerAction::<CommentAuditRequest>::new();
    let attach = ServerAction::<AttachRequestEvidence>::new();
    let mover = ServerAction::<MoveAuditRequest>::new();
    let detail = Resource::new(
        move || {
            (
                id(),
                comment.version().get(),
                attach.version().get(),
                mover.version().get(),
            )
        },
        |(id, ..)| get_audit_request(id),
    );
    view! {
        <leptos_meta::Title text="Audit request · Steward"/>
        <Transition fallback=|| view! { <p>"Loading the request…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <h1>"Audit request"</h1><p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => {
                        let r = d.row.clone();
                        let rid = r.id.to_string();
                        let (rid2, rid3) = (rid.clone(), rid.clone());
                        let org = d.side == Side::Organisation;
                        let answerable = org && !d.audit_closed && matches!(r.status.as_str(), "open" | "returned");
                        let reviewable = d.side == Side::Auditor && !d.audit_closed && r.status == "submitted";
                        view! {
                            <h1>{format!("{} · ", r.reference)}<span id="request-status">{r.status.clone()}</span></h1>
                            <p class="lede"><a href=paths::audit(d.audit_id)>{d.audit_name.clone()}</a>{format!(" · period {} · due {}{}", d.period, r.due, if r.overdue { " (overdue)" } else { "" })}</p>
                            <p id="request-text">{r.text.clone()}</p>
                            <dl class="facts">
                                <dt>"Requirement"</dt><dd>{if r.requirement.is_empty() { "—".to_string() } else { r.requirement.clone() }}</dd>
                                <dt>"Control"</dt><dd>{if r.control.is_empty() { "—".to_string() } else { r.control.clone() }}</dd>
                                <dt>"Population or sample"</dt><dd>{if d.population.is_empty() { "—".to_string() } else { d.population.clone() }}</dd>
                                <dt>"Assignee"</dt><dd>{if r.assignee.is_empty() { "nobody yet".to_string() } else { r.assignee.clone() }}</dd>
                            </dl>
                            <section class="card">
                                <h2>"Evidence"</h2>
                                {if d.evidence.is_empty() { view! { <p class="empty">"None attached yet."</p> }.into_any() } else { view! {
                                    <ul id="request-evidence">{d.evidence.iter().map(|e| view! {
                                        <li>{format!("#{} v{} “{}”, effective {} — ", e.evidence_id, e.version, e.title, e.effective_date)}
                                            {match (&e.file, &e.url) {
                                                (Some(f), _) => view! { <a href=paths::evidence_download(e.evidence_id, e.version)>{f.clone()}</a> }.into_any(),
                                                (None, Some(u)) => view! { <span>{u.clone()}</span> }.into_any(),
                                                _ => view! { <span></span> }.into_any(),
                                            }}</li>
                                    }).collect_view()}</ul>
                                }.into_any() }}
                                {answerable.then(|| view! {
                                    <ActionForm action=attach attr:class="inline" attr:id="attach-form">
                                        <input type="hidden" name="id" value=rid.clone()/>
                                        <select name="evidence" aria-label="Evidence version">{d.candidates.iter().map(|(v, l)| view! { <option value=v.clone()>{l.clone()}</option> }).collect_view()}</select>
                                        <button type="submit">"Attach"</button>
                                    </ActionForm>
                                    <p class="hint">"New evidence: "<a href=paths::EVIDENCE_NEW>"upload it"</a>" first, then attach it here."</p>
                                    {action_error(attach)}
                                })}
                            </section>
                            {(answerable || reviewable).then(|| view! {
                                <section class="card">
                                    <h2>{if answerable { "Answer" } else { "Review" }}</h2>
                                    <ActionForm action=mover attr:class="stack" attr:id="move-form">
                                        <input type="hidden" name="id" value=rid2.clone()/>
                                        <label for="mv-note">{if answerable { "Note to the auditor (optional with evidence)" } else { "Comment (required to return)" }}</label>
                                        <textarea id="mv-note" name="note" rows="2"></textarea>
                                        <div class="toolbar">
                                            {answerable.then(|| view! { <button type="submit" name="action" value="submit" class="primary">"Submit to the auditor"</button> })}
                                            {reviewable.then(|| view! {
                                                <button type="submit" name="action" value="accept" class="primary">"Accept"</button>
                                                <button type="submit" name="action" value="return">"Return"</button>
                                            })}
                                        </div>
                                    </ActionForm>
                                    {action_error(mover)}
                                </section>
                            })}
                            <section class="card">
                                <h2>"Thread"</h2>
                                {if d.thread.is_empty() { view! { <p class="empty">"No comment yet."</p> }.into_any() } else { view! {
                                    <ol id="thread">{d.thread.iter().map(|c| view! {
                                        <li data-action=c.action.clone()><strong>{c.author.clone()}</strong>{format!(" · {} · {}: ", c.action, display_ts(&c.at))}{c.body.clone()}</li>
                                    }).collect_view()}</ol>
                                }.into_any() }}
                                {(!d.audit_closed).then(|| view! {
                                    <ActionForm action=comment attr:class="stack" attr:id="comment-form">
                                        <input type="hidden" name="id" value=rid3.clone()/>
                                        <label for="cm-body">"Comment"</label>
                                        <textarea id="cm-body" name="body" rows="2" required></textarea>
                                        <div><button type="submit">"Comment"</button></div>
                                    </ActionForm>
                                    {action_error(comment)}
                                })}
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
