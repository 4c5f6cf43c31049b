//! The evidence pages: the list, the new-evidence form and one item with its versions.

#[allow(unused_imports)]
use super::*;
use crate::error::AppError;
use crate::paths;
use crate::util::display_ts;
use crate::util::human_size;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// File types the picker offers (the server checks the content regardless).
const ACCEPT: &str =
    ".pdf,.png,.jpg,.jpeg,.gif,.webp,.zip,.docx,.xlsx,.pptx,.txt,.csv,.json,.md,.log";

fn error_from_query() -> impl Fn() -> Option<AnyView> + Copy {
    let query = use_query_map();
    move || {
        query
            .read()
            .get("error")
            .map(|e| view! { <p class="error" role="alert" id="upload-error">{e}</p> }.into_any())
    }
}

fn controls_inline(controls: Vec<ControlRef>) -> impl IntoView {
    controls
        .into_iter()
        .map(|c| {
            view! {
                <a class="tag" href=format!("/controls/{}", c.id) title=c.title.clone()>{c.code.clone()}</a>" "
            }
        })
        .collect_view()
}

#[component]
pub fn EvidenceListPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        EvidenceFilter {
            q: q.get("q"),
            control: q.get("control"),
            kind: q.get("kind"),
        }
    };
    let list = Resource::new(filter, list_evidence);
    let options = Resource::new(|| (), |_| get_evidence_options());
    let field = move |k: &'static str| move || query.read().get(k).unwrap_or_default();
    view! {
        <leptos_meta::Title text="Evidence · Steward"/>
        <div class="toolbar">
            <h1>"Evidence"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    options.await.ok().filter(|o| o.can_submit).map(|_| view! {
                        <a class="button primary" href="/evidence/new">"Add evidence"</a>
                    })
                })}
            </Suspense>
        </div>
        <p class="lede">"Files and links that show controls work. Each upload is a new version; earlier versions stay available, and every file is checked against its SHA-256 when it is downloaded."</p>
        <section class="card">
            <form method="get" action="/evidence" class="filters">
                <div><label for="f-q">"Text"</label><input id="f-q" name="q" type="search" value=field("q")/></div>
                <div><label for="f-control">"Control"</label>
                    <select id="f-control" name="control">
                        <option value="">"Any control"</option>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                let current = query.read_untracked().get("control").unwrap_or_default();
                                options.await.map(|o| o.controls.into_iter().map(|c| {
                                    let selected = current == c.id.to_string();
                                    view! { <option value=c.id selected=selected>{format!("{} {}", c.code, c.title)}</option> }
                                }).collect_view()).ok()
                            })}
                        </Suspense>
                    </select>
                </div>
                <div><label for="f-kind">"Kind"</label>
                    <select id="f-kind" name="kind">
                        <option value="">"Files and links"</option>
                        <option value="file" selected=move || field("kind")() == "file">"Files"</option>
                        <option value="link" selected=move || field("kind")() == "link">"Links"</option>
                    </select>
                </div>
                <div class="filter-actions"><button type="submit" class="primary">"Filter"</button><a href="/evidence">"Clear"</a></div>
            </form>
        </section>
        <section class="card">
            <Transition fallback=|| view! { <p>"Loading evidence…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(items) if items.is_empty() => view! {
                            <p class="empty">"No evidence matches. Evidence is added from here or from a control's page."</p>
                        }.into_any(),
                        Ok(items) => view! {
                            <div class="table-wrap">
                            <table class="data" id="evidence-list">
                                <thead><tr>
                                    <th scope="col">"Evidence"</th><th scope="col">"Kind"</th><th scope="col">"Controls"</th>
                                    <th scope="col">"Effective"</th><th scope="col">"Latest version"</th>
                                </tr></thead>
                                <tbody>
                                    {items.into_iter().map(|e| view! {
                                        <tr>
                                            <td><a href=paths::evidence_item(e.id)>{e.title.clone()}</a></td>
                                            <td>{if e.kind == "file" { "File" } else { "Link" }}</td>
                                            <td>{controls_inline(e.controls.clone())}</td>
                                            <td class="nowrap">{e.effective_date.clone()}</td>
                                            <td>{format!("v{} · {} · {}", e.latest_version, e.uploaded_by, display_ts(&e.uploaded_at))}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The fields every version has: dates, note, optional control test.
#[component]
fn VersionFields(today: String) -> impl IntoView {
    view! {
        <div><label for="ev-effective">"Effective date"</label>
            <input id="ev-effective" name="effective_date" type="date" required max=today.clone() value=today.clone()/>
            <span class="hint">"The date the evidence speaks for, not the upload date."</span></div>
        <div><label for="ev-pstart">"Period start (optional)"</label>
            <input id="ev-pstart" name="period_start" type="date"/></div>
        <div><label for="ev-pend">"Period end (optional, exclusive)"</label>
            <input id="ev-pend" name="period_end" type="date"/></div>
        <div class="span-all column"><label for="ev-note">"Note (optional)"</label>
            <textarea id="ev-note" name="note" rows="2" maxlength="2000"></textarea></div>
        <details class="span-all">
            <summary>"Record a control test with this version (optional)"</summary>
            <div class="grid-form">
                <div class="span-all column"><label for="ev-tproc">"Test procedure"</label>
                    <textarea id="ev-tproc" name="test_procedure" rows="2"></textarea></div>
                <div class="span-all column"><label for="ev-tsample">"Sample"</label>
                    <textarea id="ev-tsample" name="test_sample" rows="2"></textarea></div>
                <div><label for="ev-tresult">"Result"</label>
                    <select id="ev-tresult" name="test_result">
                        <option value="">"No test"</option>
                        <option value="pass">"Pass"</option>
                        <option value="fail">"Fail"</option>
                    </select></div>
                <div><label for="ev-tester">"Tester (default: you)"</label>
                    <input id="ev-tester" name="tester"/></div>
                <div><label for="ev-tdate">"Tested on"</label>
                    <input id="ev-tdate" name="tested_on" type="date" max=today/></div>
            </div>
        </details>
    }
}

/// The file and link inputs; the file comes last in the form (the server requires it, so that
/// every other field is checked before the file's bytes arrive).
#[component]
fn ContentFields(kind: Option<String>, max_bytes: u64) -> impl IntoView {
    let link = kind.as_deref() != Some("file");
    let file = kind.as_deref() != Some("link");
    view! {
        {link.then(|| view! {
            <div class="span-all column"><label for="ev-url">{if file { "Link (instead of a file)" } else { "Link" }}</label>
                <input id="ev-url" name="url" type="url" placeholder="https://…" required=!file/></div>
        })}
        {file.then(|| view! {
            <div class="span-all column"><label for="ev-file">"File"</label>
                <input id="ev-file" name="file" type="file" accept=ACCEPT required=!link/>
                <span class="hint">{format!("PDF, images, ZIP/DOCX/XLSX or text; at most {}. The content must match the name.", human_size(max_bytes))}</span></div>
        })}
    }
}

/// A multipart form to the upload route. Without JavaScript the browser posts it and follows
/// the redirect; once hydrated it is sent with XMLHttpRequest to show upload progress.
#[component]
fn UploadForm(form_id: &'static str, max_bytes: u64, children: Children) -> impl IntoView {
    let progress = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<String>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        crate::upload::send_with_progress(ev, paths::EVIDENCE_UPLOAD, max_bytes, progress, error);
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, max_bytes);
    };
    view! {
        <form id=form_id method="post" action=paths::EVIDENCE_UPLOAD enctype="multipart/form-data" class="grid-form" on:submit=on_submit>
            {children()}
            <div class="span-all">
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <progress max="100" hidden=move || progress.get().is_none() aria-label="Upload progress"
                    value=move || format!("{:.0}", progress.get().unwrap_or(0.0) * 100.0)></progress>
                <button type="submit" class="primary" disabled=move || progress.get().is_some()>
                    {move || if progress.get().is_some() { "Uploading…" } else { "Upload" }}
                </button>
            </div>
        </form>
    }
}

#[component]
pub fn EvidenceNewPage() -> impl IntoView {
    let query = use_query_map();
    let options = Resource::new(|| (), |_| get_evidence_options());
    let error = error_from_query();
    view! {
        <leptos_meta::Title text="Add evidence · Steward"/>
        <h1>"Add evidence"</h1>
        <p class="lede">"Upload a file or give a link, say which controls it supports and the date it speaks for."</p>
        {error}
        <section class="card">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (pre, return_to) = query.with_untracked(|q| {
                        (
                            q.get("control").and_then(|c| c.parse::<i64>().ok()),
                            q.get("return_to").unwrap_or_default(),
                        )
                    });
                    match options.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(o) if o.attachable.is_empty() => view! {
                            <p class="empty">"There are no controls you can add evidence to. Evidence belongs to controls; you can add it to controls you own."</p>
                        }.into_any(),
                        Ok(o) => {
                            let choices: Vec<ControlRef> = o.controls.iter().filter(|c| o.attachable.contains(&c.id)).cloned().collect();
                            view! {
                                <UploadForm form_id="evidence-new-form" max_bytes=o.max_upload_bytes>
                                    <input type="hidden" name="return_to" value=return_to/>
                                    <div class="span-all column"><label for="ev-title">"Title"</label>
                                        <input id="ev-title" name="title" required maxlength="200"/></div>
                                    <div class="span-all column"><label for="ev-desc">"Description"</label>
                                        <textarea id="ev-desc" name="description" rows="3" maxlength="10000"></textarea></div>
                                    <fieldset class="span-all">
                                        <legend>"Controls this evidence supports"</legend>
                                        {choices.into_iter().map(|c| view! {
                                            <label class="check"><input type="checkbox" name="controls" value=c.id checked=pre == Some(c.id)/>
                                                {format!(" {} {}", c.code, c.title)}</label>
                                        }).collect_view()}
                                    </fieldset>
                                    <VersionFields today=o.today.clone()/>
                                    <ContentFields kind=None max_bytes=o.max_upload_bytes/>
                                </UploadForm>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

fn version_row(id: i64, v: VersionView) -> impl IntoView {
    let content = match (&v.sha256, &v.url) {
        (Some(sha), _) => {
            let name = v.filename.clone().unwrap_or_else(|| "file".into());
            let size = v
                .size_bytes
                .map(|s| human_size(s.max(0) as u64))
                .unwrap_or_default();
            view! {
                <a href=paths::evidence_download(id, v.version) class="download">{name}</a>
                <br/><span class="muted">{format!("{} · {size}", v.media_type.clone().unwrap_or_default())}</span>
                <br/><code class="muted" title=sha.clone()>{format!("sha256 {}…", &sha[..16.min(sha.len())])}</code>
            }
            .into_any()
        }
        (None, Some(url)) => view! {
            <a href=url.clone() rel="noopener noreferrer nofollow" target="_blank">{url.clone()}</a>
        }
        .into_any(),
        _ => ().into_any(),
    };
    let period = match (&v.period_start, &v.period_end) {
        (Some(s), Some(e)) => format!("{s} to {e} (exclusive)"),
        _ => "—".into(),
    };
    let test = match v.test.clone() {
        None => view! { <span class="muted">"—"</span> }.into_any(),
        Some(t) => view! {
            <span class=if t.result == "pass" { "badge ok" } else { "badge bad" }>{t.result.to_uppercase()}</span>
            {format!(" on {} by {}", t.tested_on, t.tester)}
            <br/><span class="muted">{format!("Procedure: {}", t.procedure)}</span>
            {(!t.sample.is_empty()).then(|| view! { <br/><span class="muted">{format!("Sample: {}", t.sample)}</span> })}
        }
        .into_any(),
    };
    view! {
        <tr data-version=v.version>
            <td class="num">{format!("v{}", v.version)}</td>
            <td class="nowrap">{v.effective_date.clone()}</td>
            <td>{period}</td>
            <td>{content}</td>
            <td>{v.uploaded_by.clone()}<br/><span class="muted">{display_ts(&v.uploaded_at)}</span></td>
            <td>{v.note.clone()}</td>
            <td>{test}</td>
        </tr>
    }
}

#[component]
pub fn EvidenceDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let detail = Resource::new(id, get_evidence);
    let options = Resource::new(|| (), |_| get_evidence_options());
    let error = error_from_query();
    view! {
        <Suspense fallback=|| view! { <p>"Loading evidence…"</p> }>
            {move || Suspend::new(async move {
                let o = options.await.ok();
                match detail.await {
                    Err(AppError::NotFound) => view! {
                        <leptos_meta::Title text="Evidence not found · Steward"/>
                        <h1>"Evidence not found"</h1>
                        <p><a href="/evidence">"All evidence"</a></p>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => {
                        let id = d.id;
                        let kind = d.kind.clone();
                        let max_bytes = o.as_ref().map(|o| o.max_upload_bytes).unwrap_or(0);
                        let today = o.as_ref().map(|o| o.today.clone()).unwrap_or_default();
                        view! {
                            <leptos_meta::Title text=format!("{} · Evidence · Steward", d.title)/>
                            <p class="muted"><a href="/evidence">"Evidence"</a>" › "{format!("#{}", d.id)}</p>
                            <h1>{d.title.clone()}</h1>
                            {(!d.description.is_empty()).then(|| view! { <p class="lede">{d.description.clone()}</p> })}
                            <dl class="facts">
                                <dt>"Kind"</dt><dd>{if d.kind == "file" { "File" } else { "Link" }}</dd>
                                <dt>"Controls"</dt><dd>{controls_inline(d.controls.clone())}</dd>
                                <dt>"Added"</dt><dd>{format!("{} by {}", display_ts(&d.created_at), d.created_by)}</dd>
                            </dl>
                            <section class="card">
                                <h2>"Versions"</h2>
                                <div class="table-wrap">
                                <table class="data" id="evidence-versions">
                                    <thead><tr>
                                        <th scope="col">"Version"</th><th scope="col">"Effective"</th><th scope="col">"Period"</th>
                                        <th scope="col">"Content"</th><th scope="col">"Uploaded"</th><th scope="col">"Note"</th>
                                        <th scope="col">"Control test"</th>
                                    </tr></thead>
                                    <tbody>
                                        {d.versions.into_iter().map(|v| version_row(id, v)).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                            </section>
                            {d.can_add_version.then(|| view! {
                                <section class="card">
                                    <h2>"Add a new version"</h2>
                                    <p class="hint">"Earlier versions stay as they are and remain downloadable."</p>
                                    {error}
                                    <UploadForm form_id="evidence-version-form" max_bytes=max_bytes>
                                        <input type="hidden" name="evidence_id" value=id/>
                                        <VersionFields today=today/>
                                        <ContentFields kind=Some(kind) max_bytes=max_bytes/>
                                    </UploadForm>
                                </section>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
