//! Steward's application crate: every page, server function and domain area. Built twice:
//! with `ssr` into the server, and with `hydrate` into the browser's wasm bundle.
//!
//! Areas live side by side, each in the same shape (`docs/architecture.md`): `auth`, `users`,
//! `audit`, `dashboard`, `controls` (frameworks, requirements, controls), `evidence`, `costs`,
//! `settings`. Shared plumbing below them: `paths` (every route path), `policy` (the
//! authorization table), `context` (the request context), `error`, `db`, `state`, `util`.

pub mod access_reviews;
#[cfg(feature = "ssr")]
pub mod assets;
pub mod audit;
pub mod audits;
pub mod auth;
pub mod budgets;
#[cfg(feature = "ssr")]
pub mod bulk;
pub mod calendar;
pub mod context;
pub mod controls;
pub mod costs;
#[cfg(feature = "ssr")]
pub mod csvread;
pub mod dashboard;
#[cfg(feature = "ssr")]
pub mod db;
pub mod error;
pub mod evidence;
pub mod exports;
pub mod fields;
#[cfg(feature = "ssr")]
pub mod ingest;
#[cfg(feature = "ssr")]
pub mod memo;
#[cfg(test)]
mod module_graph;
pub mod notifications;
pub mod paths;
pub mod policy;
#[cfg(feature = "ssr")]
pub mod reply;
pub mod retention;
pub mod routes;
pub mod settings;
#[cfg(feature = "ssr")]
pub mod signing;
#[cfg(feature = "ssr")]
pub mod state;
pub mod tabular;
pub mod upload;
pub mod users;
pub mod util;
pub mod vendors;

use auth::{LogoutButton, MeResource};
use context::CurrentUser;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Outlet, ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The bundle's working name: the build writes `pkg/steward.{js,wasm,css}`, then content-hashed
/// copies (`assets`) that pages name.
pub const OUTPUT_NAME: &str = "steward";

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_page_csp();
    #[cfg(feature = "ssr")]
    let stylesheet = assets::get().stylesheet.as_str();
    // The shell is rendered on the server only.
    #[cfg(not(feature = "ssr"))]
    let stylesheet = "";
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="stylesheet" href=stylesheet/>
                <link rel="icon" href="/favicon.ico"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy, with this response's nonce for the hydration scripts.
#[cfg(feature = "ssr")]
fn set_page_csp() {
    if let Some(nonce) = leptos::nonce::use_nonce() {
        if let Ok(v) = http::HeaderValue::from_str(&page_csp(&nonce.to_string())) {
            if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
                opts.insert_header(http::header::CONTENT_SECURITY_POLICY, v);
            }
        }
    }
}

/// A page's Content-Security-Policy: scripts only with `nonce` (this response's).
#[cfg(feature = "ssr")]
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let me: MeResource = Resource::new(|| (), |_| auth::me());
    provide_context(me);
    view! {
        <Title text="Steward"/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=auth::LoginPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=Layout ssr=SsrMode::Async>
                    <Route path=path!("/") view=dashboard::DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=auth::AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=users::UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=audit::AuditLogPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings") view=settings::SettingsPage ssr=SsrMode::Async/>
                    // Frameworks and controls
                    <Route path=path!("/frameworks") view=controls::FrameworksPage ssr=SsrMode::Async/>
                    <Route path=path!("/frameworks/:id") view=controls::FrameworkPage ssr=SsrMode::Async/>
                    <Route path=path!("/frameworks/import/map") view=controls::FrameworkImportPage ssr=SsrMode::Async/>
                    <Route path=path!("/controls") view=controls::ControlsPage ssr=SsrMode::Async/>
                    <Route path=path!("/controls/:id") view=controls::ControlPage ssr=SsrMode::Async/>
                    <Route path=path!("/my/controls") view=controls::MyControlsPage ssr=SsrMode::Async/>

                    // Cloud costs
                    <Route path=path!("/costs") view=costs::CostsPage ssr=SsrMode::Async/>
                    <Route path=path!("/costs/import") view=costs::CostImportPage ssr=SsrMode::Async/>
                    // Evidence
                    <Route path=path!("/evidence") view=evidence::EvidenceListPage ssr=SsrMode::Async/>
                    <Route path=path!("/evidence/new") view=evidence::EvidenceNewPage ssr=SsrMode::Async/>
                    <Route path=path!("/evidence/:id") view=evidence::EvidenceDetailPage ssr=SsrMode::Async/>
                    // Budgets and one's own work
                    <Route path=path!("/budgets") view=budgets::BudgetsPage ssr=SsrMode::Async/>
                    <Route path=path!("/budgets/:id") view=budgets::BudgetPage ssr=SsrMode::Async/>
                    <Route path=path!("/my/work") view=budgets::MyWorkPage ssr=SsrMode::Async/>
                    <Route path=path!("/notifications") view=notifications::NotificationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/deliveries") view=notifications::DeliveriesPage ssr=SsrMode::Async/>
                    <Route path=path!("/exports") view=exports::ExportsPage ssr=SsrMode::Async/>
                    <Route path=path!("/audits") view=audits::AuditsPage ssr=SsrMode::Async/>
                    <Route path=path!("/audits/requests/:id") view=audits::AuditRequestPage ssr=SsrMode::Async/>
                    <Route path=path!("/audits/:id") view=audits::AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/access/systems") view=access_reviews::SystemsPage ssr=SsrMode::Async/>
                    <Route path=path!("/access/systems/:id") view=access_reviews::SystemPage ssr=SsrMode::Async/>
                    <Route path=path!("/access/systems/:id/map") view=access_reviews::AccountMapPage ssr=SsrMode::Async/>
                    <Route path=path!("/access/people") view=access_reviews::PeoplePage ssr=SsrMode::Async/>
                    <Route path=path!("/access/campaigns") view=access_reviews::CampaignsPage ssr=SsrMode::Async/>
                    <Route path=path!("/access/campaigns/:id") view=access_reviews::CampaignPage ssr=SsrMode::Async/>
                    <Route path=path!("/access/review") view=access_reviews::ReviewQueuePage ssr=SsrMode::Async/>
                    <Route path=path!("/access/remediation") view=access_reviews::remediation_pages::RemediationPage ssr=SsrMode::Async/>
                    <Route path=path!("/vendors") view=vendors::VendorsPage ssr=SsrMode::Async/>
                    <Route path=path!("/vendors/:id") view=vendors::VendorPage ssr=SsrMode::Async/>
                    <Route path=path!("/retention") view=retention::RetentionPage ssr=SsrMode::Async/>
                    <Route path=path!("/retention/disposals") view=retention::DisposalQueuePage ssr=SsrMode::Async/>
                    <Route path=path!("/retention/holds") view=retention::LegalHoldsPage ssr=SsrMode::Async/>
                    <Route path=path!("/vendors/import/map") view=vendors::VendorImportPage ssr=SsrMode::Async/>

                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn Layout() -> impl IntoView {
    let me = expect_context::<MeResource>();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/"><span aria-hidden="true">"◆ "</span>"Steward"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.ok().flatten().map(|user| view! { <Nav user/> })
                })}
            </Suspense>
        </header>
        <main id="main" class="content">
            <Outlet/>
        </main>
        <footer class="footer muted">"Steward · compliance and cloud cost governance"</footer>
    }
}

/// The main menu, in this order; each link shows only to roles the policy table lets open it.
const NAV: [(&str, &str); 22] = [
    (paths::DASHBOARD, "Dashboard"),
    (paths::MY_WORK, "My work"),
    (paths::FRAMEWORKS, "Frameworks"),
    (paths::CONTROLS, "Controls"),
    (paths::MY_CONTROLS, "My controls"),
    (paths::COSTS, "Costs"),
    (paths::COST_DATA, "Cost data"),
    (paths::BUDGETS, "Budgets"),
    (paths::USERS, "Users"),
    (paths::AUDIT, "Audit log"),
    (paths::SETTINGS, "Settings"),
    (paths::DELIVERIES, "Deliveries"),
    (paths::EVIDENCE, "Evidence"),
    (paths::AUDITS, "Audits"),
    (paths::ACCESS_SYSTEMS, "Systems"),
    (paths::ACCESS_CAMPAIGNS, "Access reviews"),
    (paths::ACCESS_REVIEW, "Review access"),
    (paths::ACCESS_REMEDIATION, "Remediation"),
    (paths::VENDORS, "Vendors"),
    (paths::RETENTION, "Retention"),
    (paths::LEGAL_HOLDS, "Legal holds"),
    (paths::EXPORTS, "Exports"),
];

#[component]
fn Nav(user: CurrentUser) -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    view! {
        <nav aria-label="Main" class="nav">
            <ul>
                {NAV.into_iter()
                    .filter(|(href, _)| routes::TABLE.may_open(user.role, href))
                    .map(|(href, label)| {
                        let current = move || (location.pathname.get() == href).then_some("page");
                        view! { <li><a href=href aria-current=current>{label}</a></li> }
                    })
                    .collect_view()}
            </ul>
        </nav>
        <div class="usermenu">
            <notifications::Bell unread=user.unread/>
            <a href=paths::ACCOUNT class="who">{user.display_name.clone()}
                <span class="role-badge">{user.role.as_str()}</span></a>
            <LogoutButton/>
        </div>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
        opts.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="content" id="main">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the dashboard"</a></p>
        </main>
    }
}

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // After a server function redirects (sign-in, sign-out, password change) load the new page
    // in full, so everything on it (the signed-in user, their menu) comes fresh from the server.
    let _ = server_fn::redirect::set_redirect_hook(|loc: &str| {
        if let Some(w) = leptos::web_sys::window() {
            let _ = w.location().assign(loc);
        }
    });
    leptos::mount::hydrate_body(App);
}
