//! The audit trail: browse and filter events, check the chain.

#[cfg(feature = "ssr")]
pub mod chain;
#[cfg(feature = "ssr")]
pub mod checkpoint;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod verify;

use crate::error::AppError;
use crate::util::{display_ts, urlencode};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEventView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub summary: String,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub hash: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// Matches the action or any action starting with it (`user.` finds all user events).
    pub action: Option<String>,
    pub object_type: Option<String>,
    /// First day included, `YYYY-MM-DD` (UTC).
    pub from: Option<String>,
    /// Last day included, `YYYY-MM-DD` (UTC).
    pub to: Option<String>,
    /// Paging: show events before this sequence number.
    pub before: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// Sequence number to continue from, when there are older matching events.
    pub next_before: Option<i64>,
    pub head_seq: i64,
    pub head_hash: String,
}

pub const PAGE_SIZE: i64 = 50;

#[server(endpoint = "list_audit_events")]
pub async fn list_audit_events(filter: AuditFilter) -> Result<AuditPage, AppError> {
    ssr::list(filter).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainCheck {
    pub intact: bool,
    pub events: i64,
    pub message: String,
    /// The signed checkpoints' results, one line each (failures first, then a count).
    pub details: Vec<String>,
}

#[server(endpoint = "verify_audit_chain")]
pub async fn verify_audit_chain() -> Result<ChainCheck, AppError> {
    ssr::verify().await
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::state::app_state;

    fn day_start(raw: &str, field: &str, plus_days: i64) -> Result<String, AppError> {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        let d = time::Date::parse(raw.trim(), fmt).map_err(|_| {
            AppError::invalid(format!("{field}: '{raw}' is not a date (YYYY-MM-DD)."))
        })?;
        Ok(crate::util::ts(
            d.midnight().assume_utc() + time::Duration::days(plus_days),
        ))
    }

    pub async fn list(f: AuditFilter) -> Result<AuditPage, AppError> {
        let state = app_state()?;
        let mut sql = String::from(
            "SELECT seq, at, actor, action, object_type, object_id, summary, request_id, client_addr, hash \
             FROM audit_events WHERE 1 = 1",
        );
        let mut args: Vec<String> = Vec::new();
        let mut push = |sql: &mut String, cond: &str, v: String| {
            args.push(v);
            sql.push_str(&cond.replace('?', &format!("${}", args.len())));
        };
        let clean = |o: &Option<String>| {
            o.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        if let Some(a) = clean(&f.actor) {
            push(&mut sql, " AND actor = ?", a.to_lowercase());
        }
        if let Some(a) = clean(&f.action) {
            // Prefix match without LIKE wildcards from the input: [a, a + U+FFFF).
            push(&mut sql, " AND action >= ?", a.clone());
            push(&mut sql, " AND action < ?", format!("{a}\u{ffff}"));
        }
        if let Some(o) = clean(&f.object_type) {
            push(&mut sql, " AND object_type = ?", o);
        }
        if let Some(d) = clean(&f.from) {
            push(&mut sql, " AND at >= ?", day_start(&d, "From", 0)?);
        }
        if let Some(d) = clean(&f.to) {
            push(&mut sql, " AND at < ?", day_start(&d, "To", 1)?);
        }
        let before = f.before.filter(|b| *b > 0);
        sql.push_str(&format!(
            "{} ORDER BY seq DESC LIMIT {}",
            before
                .map(|b| format!(" AND seq < {b}"))
                .unwrap_or_default(),
            PAGE_SIZE + 1
        ));
        let mut q = sqlx::query(&sql);
        for a in &args {
            q = q.bind(a);
        }
        let rows = q.fetch_all(state.db.pool()).await?;
        let mut events = rows
            .iter()
            .map(chain::row_to_view)
            .collect::<Result<Vec<_>, _>>()?;
        let next_before = if events.len() as i64 > PAGE_SIZE {
            events.truncate(PAGE_SIZE as usize);
            events.last().map(|e| e.seq)
        } else {
            None
        };
        let (head_seq, head_hash): (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(state.db.pool())
                .await?;
        Ok(AuditPage {
            events,
            next_before,
            head_seq,
            head_hash,
        })
    }

    /// The chain and every stored checkpoint, checked with this server's key.
    pub async fn verify() -> Result<ChainCheck, AppError> {
        let state = app_state()?;
        let key = state.signer.public_key();
        let report = super::verify::verify(&state.db, Some(&key), &[])
            .await
            .map_err(AppError::internal)?;
        use super::verify::Verdict;
        let message = match &report.verdict {
            Verdict::Intact => format!(
                "Intact: {} events, head {}",
                report.events,
                &report.head[..16.min(report.head.len())]
            ),
            Verdict::BrokenAt { seq, reason } => format!("Broken at event #{seq}: {reason}"),
            Verdict::BrokenIn { from, to, reason } => {
                format!("Broken in events #{from}–#{to}: {reason}")
            }
            Verdict::Checkpoint { seq, reason } => {
                format!("Checkpoint #{seq} is not valid: {reason}")
            }
        };
        Ok(ChainCheck {
            intact: report.intact(),
            events: report.events,
            message,
            details: report.details(),
        })
    }
}

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
            <form method="get" action="/audit" class="filters">
                <div><label for="f-actor">"Actor"</label><input id="f-actor" name="actor" value=field("actor")/></div>
                <div><label for="f-action">"Action"</label><input id="f-action" name="action" placeholder="e.g. auth. or user.create" value=field("action")/></div>
                <div><label for="f-object">"Object type"</label><input id="f-object" name="object_type" value=field("object_type")/></div>
                <div><label for="f-from">"From"</label><input id="f-from" name="from" type="date" value=field("from")/></div>
                <div><label for="f-to">"To"</label><input id="f-to" name="to" type="date" value=field("to")/></div>
                <div class="filter-actions"><button type="submit" class="primary">"Filter"</button><a href="/audit">"Clear"</a></div>
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
                                let mut href = String::from("/audit?");
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
