//! The settings page: the signing key and checkpoints.

#[allow(unused_imports)]
use super::*;
use crate::util::display_ts;
use leptos::form::ActionForm;
use leptos::prelude::*;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let sign = ServerAction::<CreateCheckpoint>::new();
    let settings = Resource::new(move || sign.version().get(), |_| signing_settings());
    view! {
        <leptos_meta::Title text="Settings · Steward"/>
        <h1>"Settings"</h1>
        <p class="lede">"The audit trail is signed with a key kept outside the database: a checkpoint signs the chain head, so history rewritten in the database no longer verifies."</p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(s) => view! {
                        <section class="card">
                            <h2>"Audit signing key"</h2>
                            <dl class="facts" id="signing-key">
                                <dt>"Public key (Ed25519, base64)"</dt><dd><code id="public-key">{s.public_key.clone()}</code></dd>
                                <dt>"Fingerprint"</dt><dd><code id="key-fingerprint">{s.fingerprint.clone()}</code></dd>
                                <dt>"Private key file"</dt><dd><code id="key-path">{s.key_path.clone()}</code></dd>
                            </dl>
                            <p class="hint">"Anyone can check the audit trail with the public key: "<code>"steward verify-audit --public-key KEY"</code>". Each checkpoint is also written to the server log as a "<code>"steward-checkpoint:v1:…"</code>" token; keep those, since whoever owns the database can delete stored checkpoints."</p>
                        </section>
                        <section class="card">
                            <div class="toolbar">
                                <h2>"Checkpoints"</h2>
                                {s.can_sign.then(|| view! {
                                    <ActionForm action=sign attr:class="inline" attr:id="sign-form">
                                        <button type="submit" class="primary">"Sign a checkpoint now"</button>
                                    </ActionForm>
                                })}
                            </div>
                            {move || sign.value().get().map(|r| match r {
                                Ok(o) => view! { <p class=if o.created { "success" } else { "muted" } role="status" id="sign-result">{o.message}</p> }.into_any(),
                                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                            })}
                            <p class="muted">{format!("{} checkpoint(s) stored; the chain head is event #{}.", s.total_checkpoints, s.head_seq)}</p>
                            {if s.checkpoints.is_empty() { view! { <p class="empty">"No checkpoint signed yet."</p> }.into_any() } else { view! {
                                <div class="table-wrap"><table class="data" id="checkpoints">
                                    <thead><tr><th scope="col" class="num">"Event #"</th><th scope="col">"Signed (UTC)"</th><th scope="col">"Covers"</th><th scope="col">"Head hash"</th><th scope="col">"Verified"</th></tr></thead>
                                    <tbody>{s.checkpoints.into_iter().rev().map(|c| view! {
                                        <tr data-verified=c.verified.to_string()>
                                            <td class="num">{c.seq}</td>
                                            <td class="nowrap">{display_ts(&c.at)}</td>
                                            <td>{format!("#{}–#{}", c.prev_seq + 1, c.seq)}</td>
                                            <td><code title=c.hash.clone()>{c.hash.chars().take(16).collect::<String>()}</code></td>
                                            <td class=if c.verified { "success" } else { "error" }>{if c.verified { "yes" } else { "no" }}</td>
                                        </tr>
                                    }).collect_view()}</tbody>
                                </table></div>
                            }.into_any() }}
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
