//! The users page: the list, the create form and each user's row.

#[allow(unused_imports)]
use super::*;
use crate::error::AppError;
use crate::policy::Role;
use crate::util::display_ts;
use leptos::form::ActionForm;
use leptos::prelude::*;

fn matches(u: &UserRow, needle: &str) -> bool {
    needle.is_empty()
        || u.username.contains(needle)
        || u.display_name.to_lowercase().contains(needle)
        || u.role.as_str().contains(needle)
        || u.email
            .as_deref()
            .is_some_and(|e| e.to_lowercase().contains(needle))
}

#[component]
fn RoleSelect(name: &'static str, id: String, selected: Option<Role>) -> impl IntoView {
    view! {
        <select name=name id=id>
            {Role::ALL.into_iter().map(|r| view! {
                <option value=r.as_str() selected=selected == Some(r)>{r.label()}</option>
            }).collect_view()}
        </select>
    }
}

fn action_error<T>(a: ServerAction<T>) -> impl Fn() -> Option<AnyView> + Copy
where
    T: leptos::server_fn::ServerFn<Output = (), Error = AppError> + Clone + Send + Sync + 'static,
{
    move || {
        a.value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any())
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let users = Resource::new(
        move || {
            (
                create.version().get(),
                update.version().get(),
                reset.version().get(),
            )
        },
        |_| list_users(),
    );
    // Filtering runs in the browser once the page is hydrated (no round trip).
    let filter = RwSignal::new(String::new());
    let today = time::OffsetDateTime::now_utc().date();
    view! {
        <leptos_meta::Title text="Users · Steward"/>
        <h1>"Users"</h1>
        <p class="lede">"Everyone who can sign in, and what their role lets them do. Changing a role or deactivating a user signs them out."</p>
        <section class="card">
            <h2>"Add a user"</h2>
            <ActionForm action=create attr:class="grid-form" attr:id="create-user-form">
                <div><label for="new-username">"Username"</label>
                    <input id="new-username" name="user[username]" required autocomplete="off" autocapitalize="none"/></div>
                <div><label for="new-display">"Name"</label>
                    <input id="new-display" name="user[display_name]" required/></div>
                <div><label for="new-email">"Email (optional)"</label>
                    <input id="new-email" name="user[email]" type="email"/></div>
                <div><label for="new-role">"Role"</label>
                    <RoleSelect name="user[role]" id="new-role".to_string() selected=Some(Role::Compliance)/></div>
                <div><label for="new-password">"Initial password"</label>
                    <input id="new-password" name="user[password]" type="password" autocomplete="new-password" required minlength="12" maxlength="128"/></div>
                <div><label for="new-access">"Access until (required for auditors)"</label>
                    <input id="new-access" name="user[access_until]" type="date" min=today.to_string()/></div>
                <div class="span-all">
                    {action_error(create)}
                    <button type="submit" class="primary">"Add user"</button>
                </div>
            </ActionForm>
        </section>
        <section class="card">
            <div class="toolbar">
                <h2>"All users"</h2>
                <label for="user-filter" class="visually-hidden">"Filter users"</label>
                <input id="user-filter" type="search" placeholder="Filter by name, role or email"
                    prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev).to_lowercase())/>
            </div>
            {action_error(update)}
            {action_error(reset)}
            <Transition fallback=|| view! { <p>"Loading users…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                        Ok(list) => {
                            let total = list.len();
                            let for_count = list.clone();
                            view! {
                                <p id="user-count" class="muted" aria-live="polite">
                                    {move || {
                                        let f = filter.get();
                                        let shown = for_count.iter().filter(|u| matches(u, &f)).count();
                                        format!("Showing {shown} of {total} users")
                                    }}
                                </p>
                                <div class="table-wrap">
                                <table class="data">
                                    <thead><tr>
                                        <th scope="col">"User"</th><th scope="col">"Role"</th><th scope="col">"Status"</th>
                                        <th scope="col">"Last sign-in"</th><th scope="col">"Manage"</th>
                                    </tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|u| {
                                            let row = u.clone();
                                            view! { <UserRowView u=u update=update reset=reset
                                                hidden=Signal::derive(move || !matches(&row, &filter.get())) /> }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn UserRowView(
    u: UserRow,
    update: ServerAction<UpdateUser>,
    reset: ServerAction<ResetPassword>,
    hidden: Signal<bool>,
) -> impl IntoView {
    let id = u.id;
    let status = if !u.active {
        "Deactivated".to_string()
    } else if let Some(a) = &u.access_until {
        format!("Active until {a}")
    } else {
        "Active".to_string()
    };
    view! {
        <tr class:inactive=!u.active hidden=move || hidden.get() data-username=u.username.clone()>
            <td><strong>{u.display_name.clone()}</strong><br/><span class="muted">{u.username.clone()}</span>
                {u.email.clone().map(|e| view! { <br/><span class="muted">{e}</span> })}</td>
            <td>{u.role.label()}</td>
            <td>{status}</td>
            <td>{u.last_login_at.as_deref().map(display_ts).unwrap_or_else(|| "never".into())}</td>
            <td>
                <details>
                    <summary>"Edit"</summary>
                    <ActionForm action=update attr:class="stack compact">
                        <input type="hidden" name="change[id]" value=id/>
                        <label for=format!("dn-{id}")>"Name"</label>
                        <input id=format!("dn-{id}") name="change[display_name]" value=u.display_name.clone() required/>
                        <label for=format!("em-{id}")>"Email"</label>
                        <input id=format!("em-{id}") name="change[email]" type="email" value=u.email.clone().unwrap_or_default()/>
                        <label for=format!("ro-{id}")>"Role"</label>
                        <RoleSelect name="change[role]" id=format!("ro-{id}") selected=Some(u.role)/>
                        <label for=format!("au-{id}")>"Access until"</label>
                        <input id=format!("au-{id}") name="change[access_until]" type="date" value=u.access_until.clone().unwrap_or_default()/>
                        <label class="check"><input type="checkbox" name="change[active]" checked=u.active/>" Active"</label>
                        <button type="submit">"Save"</button>
                    </ActionForm>
                    <ActionForm action=reset attr:class="stack compact">
                        <input type="hidden" name="id" value=id/>
                        <label for=format!("pw-{id}")>"New password"</label>
                        <input id=format!("pw-{id}") name="password" type="password" autocomplete="new-password" required minlength="12"/>
                        <button type="submit">"Reset password"</button>
                    </ActionForm>
                </details>
            </td>
        </tr>
    }
}
