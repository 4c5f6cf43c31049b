//! The sign-in page, the account page and the sign-out button.

#[allow(unused_imports)]
use super::*;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let me = expect_context::<MeResource>();
    let error = move || action.value().get().and_then(|r| r.err());
    view! {
        <leptos_meta::Title text="Sign in · Steward"/>
        <main class="auth-page" id="main">
            <div class="auth-card">
                <p class="brand-mark" aria-hidden="true">"◆"</p>
                <h1>"Sign in to Steward"</h1>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().flatten().map(|u| view! {
                            <p class="notice">"You are signed in as " <strong>{u.display_name}</strong> ". "
                                <a href="/">"Go to the dashboard"</a></p>
                        })
                    })}
                </Suspense>
                <ActionForm action=action attr:class="stack" attr:id="login-form">
                    <input type="hidden" name="next" value=next/>
                    <label for="username">"Username"</label>
                    <input id="username" name="username" autocomplete="username" required
                        autocapitalize="none" spellcheck="false" autofocus/>
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password"
                        autocomplete="current-password" required/>
                    {move || error().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
                    <button type="submit" class="primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </div>
        </main>
    }
}

/// The sign-out button in the header: a real form, so it works without JavaScript.
#[component]
pub fn LogoutButton() -> impl IntoView {
    let action = ServerAction::<Logout>::new();
    view! {
        <ActionForm action=action attr:class="inline">
            <button type="submit" class="link">"Sign out"</button>
        </ActionForm>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let me = expect_context::<MeResource>();
    let query = use_query_map();
    let changed = move || query.read().get("changed").is_some();
    let must_change = move || query.read().get("must_change").is_some();
    let error = move || action.value().get().and_then(|r| r.err());
    view! {
        <leptos_meta::Title text="Account · Steward"/>
        <h1>"Your account"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                me.await.ok().flatten().map(|u| view! {
                    <dl class="facts">
                        <dt>"Username"</dt><dd>{u.username.clone()}</dd>
                        <dt>"Name"</dt><dd>{u.display_name.clone()}</dd>
                        <dt>"Role"</dt><dd>{u.role.label()}</dd>
                    </dl>
                })
            })}
        </Suspense>
        <section class="card narrow">
            <h2>"Change password"</h2>
            <p class="hint">"12 to 128 characters; common passwords are refused. Changing it signs out your other sessions."</p>
            {move || changed().then(|| view! { <p class="success" role="status">"Password changed. Other sessions were signed out."</p> })}
            {move || must_change().then(|| view! { <p class="notice" role="alert" id="must-change">"An administrator set your password. Choose your own to continue."</p> })}
            <ActionForm action=action attr:class="stack">
                <label for="current_password">"Current password"</label>
                <input id="current_password" name="current_password" type="password" autocomplete="current-password" required/>
                <label for="new_password">"New password"</label>
                <input id="new_password" name="new_password" type="password" autocomplete="new-password" required minlength="12" maxlength="128"/>
                <label for="confirm_password">"Repeat new password"</label>
                <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required/>
                {move || error().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
                <button type="submit" class="primary">"Change password"</button>
            </ActionForm>
        </section>
    }
}
