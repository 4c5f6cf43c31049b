//! The legal holds page: every case (in force first) with its scope, custodian and the records
//! it suspends; placing a hold, widening its scope, releasing it with a note.

use super::*;
use crate::controls::pages::action_error;
use crate::paths;
use leptos::form::ActionForm;
use leptos::prelude::*;

#[component]
pub fn LegalHoldsPage() -> impl IntoView {
    let place = ServerAction::<PlaceLegalHold>::new();
    let scope = ServerAction::<AddHoldScope>::new();
    let release = ServerAction::<ReleaseLegalHold>::new();
    let data = Resource::new(
        move || {
            (
                place.version().get(),
                scope.version().get(),
                release.version().get(),
            )
        },
        |_| list_legal_holds(),
    );
    view! {
        <leptos_meta::Title text="Legal holds · Steward"/>
        <h1>"Legal holds"</h1>
        <p class="lede">"A legal hold preserves data for a matter (litigation, investigation, regulator's request): while it is in force nothing in its scope is disposed of — neither tracked records in the "<a href=paths::RETENTION_DISPOSALS>"disposal queue"</a>" nor Steward's own data. Releasing a hold is recorded with its reason."</p>
        <Transition fallback=|| view! { <p>"Loading legal holds…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(h) => {
                        let manage = h.can_manage;
                        let targets = h.targets.clone();
                        view! {
                            {h.holds.is_empty().then(|| view! { <p class="card muted">"No legal hold has been placed."</p> })}
                            <div id="holds">{h.holds.clone().into_iter().map(|x| {
                                let targets = targets.clone();
                                let id = x.id.to_string();
                                let id2 = id.clone();
                                view! {
                                    <section class="card hold" data-hold=x.name.clone() data-in-force=x.in_force.to_string()>
                                        <h2>{x.name.clone()}" "{if x.in_force { view! { <span class="tag warn">"In force"</span> }.into_any() } else if x.released_at.is_some() { view! { <span class="tag">"Released"</span> }.into_any() } else { view! { <span class="tag">"Not started"</span> }.into_any() }}</h2>
                                        <p>{x.reason.clone()}</p>
                                        <p class="muted">{format!("From {} · custodian {} · suspends {} tracked record(s)", x.starts_on, x.custodian.clone().unwrap_or_else(|| "none".into()), x.records)}</p>
                                        {x.released_at.clone().map(|r| view! { <p class="muted">{format!("Released {} by {}: {}", r, x.released_by.clone().unwrap_or_default(), x.release_note)}</p> })}
                                        <ul class="scope">{x.scope.iter().map(|(_, _, what)| view! { <li>{what.clone()}</li> }).collect_view()}</ul>
                                        {(manage && x.released_at.is_none()).then(|| view! {
                                            <ActionForm action=scope attr:class="toolbar">
                                                <input type="hidden" name="id" value=id.clone()/>
                                                <select name="target" aria-label="Also hold">{targets.iter().map(|(k, n)| view! { <option value=k.clone()>{n.clone()}</option> }).collect_view()}</select>
                                                <button type="submit">"Also hold"</button>
                                            </ActionForm>
                                            <ActionForm action=release attr:class="toolbar release-form">
                                                <input type="hidden" name="id" value=id2.clone()/>
                                                <input name="note" required placeholder="Why it ends" aria-label="Release note"/>
                                                <button type="submit">"Release the hold"</button>
                                            </ActionForm>
                                        })}
                                    </section>
                                }
                            }).collect_view()}</div>
                            {action_error(scope)}
                            {action_error(release)}
                            {manage.then(|| view! {
                                <section class="card">
                                    <h2>"Place a legal hold"</h2>
                                    <ActionForm action=place attr:id="hold-form" attr:class="stack">
                                        <label>"Case or matter"<input name="form[name]" required maxlength="200"/></label>
                                        <label>"Reason"<input name="form[reason]" required maxlength="2000"/></label>
                                        <label>"Custodian (username or email)"<select name="form[custodian]"><option value="">"—"</option>{h.people.iter().map(|(u, n)| view! { <option value=u.clone()>{n.clone()}</option> }).collect_view()}</select></label>
                                        <label>"From"<input type="date" name="form[starts_on]"/></label>
                                        <label>"Hold"<select name="form[target]">{targets.iter().map(|(k, n)| view! { <option value=k.clone()>{n.clone()}</option> }).collect_view()}</select></label>
                                        <div class="toolbar"><button type="submit" class="primary">"Place the hold"</button></div>
                                    </ActionForm>
                                    {action_error(place)}
                                </section>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
