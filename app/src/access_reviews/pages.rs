//! The access reviews' pages: systems (list and the form to add one), a system (its latest
//! snapshot's accounts with their flags, explained on hover; the import form; past
//! snapshots), and the mapping step of a CSV. Every form works without JavaScript.

use super::*;
use crate::controls::pages::{action_error, id_param};
use crate::paths;
use crate::util::display_ts;
use leptos::form::ActionForm;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SystemsPage() -> impl IntoView {
    let save = ServerAction::<SaveSystem>::new();
    let steward = ServerAction::<SnapshotStewardUsers>::new();
    let list = Resource::new(move || save.version().get(), |_| list_systems());
    view! {
        <leptos_meta::Title text="Systems · Steward"/>
        <h1>"Systems"</h1>
        <p class="lede">"The applications, cloud accounts and databases whose accounts we review, each with an owner, a criticality and the data it holds. Import a snapshot of a system's accounts on its page: any CSV (you map its columns once), the AWS IAM credential report, or Steward's own users."</p>
        <Transition fallback=|| view! { <p>"Loading systems…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(l) => view! {
                        {l.systems.is_empty().then(|| view! { <p class="card muted">"No systems yet."</p> })}
                        <p class="hint" id="people-link"><a href=paths::ACCESS_PEOPLE>{format!("People list: {} people, and the flag rules", l.people)}</a></p>
                        {(!l.systems.is_empty()).then(|| view! {
                            <table class="data" id="systems">
                                <thead><tr><th>"System"</th><th>"Kind"</th><th>"Owner"</th><th>"Criticality"</th><th>"Data"</th><th>"Latest snapshot"</th><th class="num">"Accounts"</th><th class="num">"Flagged"</th></tr></thead>
                                <tbody>{l.systems.iter().map(|s| view! {
                                    <tr>
                                        <td><a href=paths::access_system(s.id)>{s.name.clone()}</a></td>
                                        <td>{s.kind.replace('_', " ")}</td>
                                        <td>{s.owner.clone().unwrap_or_else(|| "—".into())}</td>
                                        <td>{s.criticality.clone()}</td>
                                        <td>{s.data_categories.join(", ")}</td>
                                        <td>{s.snapshot_at.as_deref().map(display_ts).unwrap_or_else(|| "none".into())}</td>
                                        <td class="num">{s.accounts}</td>
                                        <td class="num">{s.flagged}</td>
                                    </tr>
                                }).collect_view()}</tbody>
                            </table>
                        })}
                        {l.can_manage.then(|| view! {
                            <section class="card">
                                <h2>"Add a system"</h2>
                                <ActionForm action=save attr:id="system-form" attr:class="stack">
                                    <label>"Name"<input name="form[name]" required maxlength="200"/></label>
                                    <label>"Kind"<select name="form[kind]">
                                        {KINDS.iter().map(|(k, label)| view! { <option value=*k>{*label}</option> }).collect_view()}
                                    </select></label>
                                    <label>"Owner (reviews its accounts)"<select name="form[owner]">
                                        <option value="">"—"</option>
                                        {l.owners.iter().map(|(u, n)| view! { <option value=u.clone()>{n.clone()}</option> }).collect_view()}
                                    </select></label>
                                    <label>"Criticality"<select name="form[criticality]">
                                        {CRITICALITIES.iter().map(|c| view! { <option value=*c selected=*c == "medium">{*c}</option> }).collect_view()}
                                    </select></label>
                                    <label>"Data categories (comma-separated: personal, financial, health…)"<input name="form[data_categories]"/></label>
                                    <label>"Description"<textarea name="form[description]" rows="2"></textarea></label>
                                    <div class="toolbar"><button type="submit" class="primary">"Add the system"</button></div>
                                </ActionForm>
                                {action_error(save)}
                                <ActionForm action=steward attr:id="steward-snapshot">
                                    <p class="hint">"Steward's own users are a system too: "<button type="submit">"Take a snapshot of Steward's users"</button></p>
                                </ActionForm>
                            </section>
                        })}
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn SystemPage() -> impl IntoView {
    let id = id_param("id");
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        (
            q.get("q").unwrap_or_default(),
            q.get("flag").unwrap_or_default(),
            q.get("page")
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(1),
        )
    };
    let detail = Resource::new(
        move || (id(), filter()),
        |(id, (q, flag, page))| get_system(id, q, flag, page),
    );
    view! {
        <leptos_meta::Title text="System · Steward"/>
        {move || query.read().get("error").map(|e| view! { <p class="error" role="alert">{e}</p> })}
        {move || query.read().get("imported").map(|m| view! { <p class="success" role="status" id="import-result">{m}</p> })}
        <Transition fallback=|| view! { <p>"Loading the system…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <h1>"System"</h1><p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => {
                        let (q, flag, _) = filter();
                        system_view(d, q, flag).into_any()
                    }
                }
            })}
        </Transition>
    }
}

fn system_view(d: SystemDetail, q: String, flag: String) -> impl IntoView {
    let s = d.system.clone();
    let steward = ServerAction::<SnapshotStewardUsers>::new();
    let pages = (d.total + d.per_page - 1) / d.per_page;
    view! {
        <h1>{s.name.clone()}</h1>
        <p class="lede">{format!("{} · criticality {} · owner {}{}", s.kind.replace('_', " "), s.criticality,
            s.owner.clone().unwrap_or_else(|| "none".into()),
            if s.data_categories.is_empty() { String::new() } else { format!(" · data: {}", s.data_categories.join(", ")) })}</p>
        {(!d.description.is_empty()).then(|| view! { <p class="description">{d.description.clone()}</p> })}
        {(!d.holds.is_empty()).then(|| view! { <p class="warn hold" id="system-holds">{format!("On legal hold: {}. Nothing held here may be disposed of until released.", d.holds.join(", "))}</p> })}
        {d.can_manage.then(|| if s.kind == "steward" { view! {
            <ActionForm action=steward attr:id="steward-snapshot">
                <button type="submit" class="primary">"Take a snapshot of Steward's users"</button>
            </ActionForm>
        }.into_any() } else { view! {
            <form method="post" action=paths::access_import(s.id) enctype="multipart/form-data" id="account-import" class="card stack">
                <h2>"Import accounts"</h2>
                <label>"Account file (CSV with any columns, or the AWS IAM credential report)"<input type="file" name="file" accept=".csv,.txt,text/csv" required/></label>
                <p class="hint">"A credential report imports at once. Any other CSV goes on to map its columns (delimiter and encoding are detected; the mapping is kept for next time)."</p>
                <div class="toolbar"><button type="submit" class="primary">"Upload"</button></div>
            </form>
        }.into_any() })}
        {(!d.flag_counts.is_empty()).then(|| view! {
            <p id="flag-counts" class="toolbar">
                <a href=paths::access_system(s.id)>{format!("All {}", s.accounts)}</a>
                {d.flag_counts.iter().map(|(code, label, n)| view! {
                    " · "<a href=format!("{}?flag={code}", paths::access_system(s.id)) class=format!("flag flag-{code}")>{format!("{label} {n}")}</a>
                }).collect_view()}
            </p>
        })}
        {(!d.removed.is_empty()).then(|| view! {
            <details class="card" id="removed-accounts">
                <summary>{format!("{} account(s) removed since the last completed review", d.removed.len())}</summary>
                <ul>{d.removed.iter().map(|(u, n, e)| view! { <li>{format!("{u} ({n}) — {e}")}</li> }).collect_view()}</ul>
            </details>
        })}
        {(!d.snapshots.is_empty()).then(|| view! {
            <form method="get" class="toolbar" id="account-filter">
                <input type="search" name="q" value=q placeholder="User, email, name or entitlement" aria-label="Search accounts"/>
                <input type="hidden" name="flag" value=flag/>
                <button type="submit">"Filter"</button>
            </form>
            <table class="data" id="accounts">
                <thead><tr><th>"Account"</th><th>"Name"</th><th>"Type"</th><th>"Entitlement"</th><th>"Last used"</th><th>"MFA"</th><th>"Flags"</th></tr></thead>
                <tbody>{d.accounts.iter().map(|a| view! {
                    <tr class=if a.active { "" } else { "inactive" } data-key=a.key.clone()>
                        <td>{a.user_id.clone()}{a.email.clone().map(|e| view! { <br/><span class="muted">{e}</span> })}</td>
                        <td>{a.name.clone()}</td>
                        <td>{a.account_type.replace('_', " ")}{(!a.active).then_some(" (inactive)")}</td>
                        <td class="wrap">{a.entitlement.clone()}</td>
                        <td>{a.last_used.clone().unwrap_or_else(|| "never".into())}</td>
                        <td>{match a.mfa { Some(true) => "yes", Some(false) => "no", None => "—" }}</td>
                        <td>{a.flags.iter().map(|(code, why)| view! {
                            <span class=format!("tag flag-{code}") title=why.clone() tabindex="0">{super::flags::Flag::parse(code).map(|f| f.label()).unwrap_or("?")}</span>" "
                        }).collect_view()}</td>
                    </tr>
                }).collect_view()}</tbody>
            </table>
            <p class="hint">{format!("{} account(s) · page {} of {}", d.total, d.page, pages.max(1))}
                {(d.page < pages).then(|| view! { " · "<a href=format!("{}?page={}", paths::access_system(s.id), d.page + 1) rel="next">"Next page"</a> })}</p>
            <section class="card">
                <h2>"Snapshots"</h2>
                <table class="data" id="snapshots">
                    <thead><tr><th>"#"</th><th>"Taken"</th><th>"Source"</th><th>"File"</th><th class="num">"Accounts"</th><th>"By"</th></tr></thead>
                    <tbody>{d.snapshots.iter().map(|n| view! {
                        <tr>
                            <td>{n.id}</td>
                            <td>{display_ts(&n.taken_at)}</td>
                            <td>{n.source.replace('_', " ")}</td>
                            <td>{n.file_name.clone()}" "<code class="sha" title="SHA-256">{n.file_sha256.get(..12).unwrap_or_default().to_string()}</code>{(!n.encoding.is_empty()).then(|| format!(" ({})", n.encoding))}</td>
                            <td class="num">{n.accounts}</td>
                            <td>{n.imported_by.clone().unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            </section>
        })}
        {d.snapshots.is_empty().then(|| view! { <p class="card muted">"No snapshot yet."</p> })}
    }
}

#[component]
pub fn AccountMapPage() -> impl IntoView {
    let id = id_param("id");
    let query = use_query_map();
    let token = move || query.read().get("upload").unwrap_or_default();
    let pending = Resource::new(
        move || (id(), token()),
        |(id, token)| pending_account_import(id, token),
    );
    let import = ServerAction::<ImportMappedAccounts>::new();
    view! {
        <leptos_meta::Title text="Map the columns · Steward"/>
        <h1>"Map the columns"</h1>
        {move || query.read().get("error").map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <Transition fallback=|| view! { <p>"Reading the file…"</p> }>
            {move || Suspend::new(async move {
                match pending.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(p) => view! {
                        <p class="lede">{format!("{} for {}: {} account row(s), {}, delimiter '{}'. Choose the column each field is read from; the mapping is kept for the next import.", p.file.file_name, p.system, p.file.rows, p.file.encoding, p.file.delimiter)}</p>
                        {crate::tabular::preview_table(&p.file)}
                        <ActionForm action=import attr:id="mapping-form" attr:class="stack card">
                            <input type="hidden" name="system" value=p.system_id.to_string()/>
                            <input type="hidden" name="token" value=p.file.token.clone()/>
                            {crate::tabular::mapping_fields(&p.file)}
                            <div class="toolbar"><button type="submit" class="primary">"Import the accounts"</button></div>
                        </ActionForm>
                        {action_error(import)}
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn PeoplePage() -> impl IntoView {
    let query = use_query_map();
    let rules = ServerAction::<SaveAccessRules>::new();
    let args = move || {
        let q = query.read();
        (
            q.get("q").unwrap_or_default(),
            q.get("page")
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(1),
        )
    };
    let list = Resource::new(
        move || (args(), rules.version().get()),
        |((q, page), _)| list_people(q, page),
    );
    view! {
        <leptos_meta::Title text="People · Steward"/>
        <h1>"People"</h1>
        <p class="lede">"The people list from HR: an account whose email matches no active person is flagged orphaned, and reviews go to each person's manager. Imported whole, replacing the list; flags are computed when accounts are imported."</p>
        {move || query.read().get("error").map(|e| view! { <p class="error" role="alert">{e}</p> })}
        {move || query.read().get("imported").map(|m| view! { <p class="success" role="status" id="import-result">{m}</p> })}
        <Transition fallback=|| view! { <p>"Loading people…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(l) => {
                        let pages = ((l.total + l.per_page - 1) / l.per_page).max(1);
                        let r = l.rules.clone();
                        view! {
                            {l.can_manage.then(|| view! {
                                <form method="post" action=paths::ACCESS_PEOPLE_IMPORT enctype="multipart/form-data" id="people-import" class="card stack">
                                    <h2>"Import the people list"</h2>
                                    <label>"CSV with an email column, and name, manager, status and department when there"<input type="file" name="file" accept=".csv,.txt,text/csv" required/></label>
                                    <div class="toolbar"><button type="submit" class="primary">"Import"</button></div>
                                </form>
                            })}
                            <table class="data" id="people">
                                <thead><tr><th>"Name"</th><th>"Email"</th><th>"Manager"</th><th>"Department"</th><th>"Status"</th></tr></thead>
                                <tbody>{l.people.iter().map(|p| view! {
                                    <tr class=if p.active { "" } else { "inactive" }>
                                        <td>{p.name.clone()}</td><td>{p.email.clone()}</td>
                                        <td>{p.manager_email.clone().unwrap_or_default()}</td><td>{p.department.clone()}</td>
                                        <td>{if p.active { "active" } else { "left" }}</td>
                                    </tr>
                                }).collect_view()}</tbody>
                            </table>
                            <p class="hint">{format!("{} people · page {} of {pages}", l.total, l.page)}</p>
                            <section class="card">
                                <h2>"Flag rules"</h2>
                                {if l.can_manage { view! {
                                    <ActionForm action=rules attr:id="rules-form" attr:class="stack">
                                        <label>"Dormant after (days without use)"<input type="number" name="dormant_days" min="1" max="3650" value=r.dormant_days.to_string()/></label>
                                        <label>"Stale credential after (days since rotation)"<input type="number" name="stale_credential_days" min="1" max="3650" value=r.stale_credential_days.to_string()/></label>
                                        <label>"Privileged when the entitlement contains (one a line)"<textarea name="privileged_patterns" rows="4">{r.privileged_patterns.join("\n")}</textarea></label>
                                        <div class="toolbar"><button type="submit">"Save the rules"</button></div>
                                    </ActionForm>
                                    {action_error(rules)}
                                }.into_any() } else { view! {
                                    <p>{format!("Dormant after {} days; stale credential after {} days; privileged: {}.", r.dormant_days, r.stale_credential_days, r.privileged_patterns.join(", "))}</p>
                                }.into_any() }}
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
