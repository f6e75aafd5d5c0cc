//! Environments (anyone may read; admins create and protect them), tokens and users
//! (admins). Every change is sent to the matching `/api/v1` route.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{html, Markup};

use super::layout::{ago, field, form_error, message, page, Area};
use super::page::{encode, Page};
use crate::error::ApiError;
use crate::http::extract::Call;
use crate::http::AppState;

/// The roles a user may have: server-wide, or `member` (only their projects).
const USER_ROLES: [&str; 4] = ["viewer", "editor", "admin", "member"];

pub async fn environments_page(Call(state, who): Call<Page>) -> Result<Markup, ApiError> {
    let published = state.published();
    // Flags on per environment: every project's from the snapshots, else counted over
    // the flags the page shows.
    let shown_on = (!who.scope.is_all() || who.project.is_some()).then(|| {
        let mut on: HashMap<String, usize> = HashMap::new();
        let shown = (published.flags.values()).filter(|r| !r.archived && who.shows(&r.project));
        for r in shown {
            for (env, c) in r.flag().environments {
                *on.entry(env).or_default() += usize::from(c.enabled);
            }
        }
        on
    });
    let sampling = state.store().sampling_settings().await?;
    let samplers = state.samplers();
    let body = html! {
        div.table-wrap role="region" aria-label="Environments" tabindex="0" {
            table {
                thead { tr { th scope="col" { "Environment" } th scope="col" { "Flags on" } th scope="col" { "Protected" } th scope="col" { "Impact-preview sampling" } } }
                tbody {
                    @for (i, e) in published.environments.iter().enumerate() {
                        @let on = match &shown_on {
                            Some(on) => on.get(&e.name).copied().unwrap_or(0),
                            None => published.snapshot(&e.name).map_or(0, |s| s.count_enabled()),
                        };
                        tr {
                            td { a href=(format!("/?env={}&state=on", encode(&e.name))) { (e.name) } }
                            td { (on) }
                            td {
                                button.switch type="button" role="switch" aria-checked=(e.protected)
                                    aria-label=(format!("{} is protected", e.name))
                                    data-patch=(format!("/api/v1/environments/{}", encode(&e.name)))
                                    data-field-name="protected"
                                    disabled[!who.is_admin()] { span aria-hidden="true" {} }
                            }
                            td {
                                @let s = sampling.iter().find(|s| s.environment == e.name);
                                (sampling_cell(i, &e.name, s, samplers.sampled(&e.name), who.is_admin()))
                            }
                        }
                    }
                }
            }
        }
        @if who.is_admin() {
            section.card {
                h2 { "New environment" }
                form data-api="POST /api/v1/environments" data-then="reload" {
                    (field("Name", "name", html! { input #f-name name="name" required maxlength="200"; }, None))
                    (form_error())
                    button.primary type="submit" { "Create environment" }
                }
            }
        }
    };
    Ok(page(&who, Area::Environments, "Environments", body))
}

/// An environment's sampling setting: a small form for admins, the state for others.
fn sampling_cell(
    i: usize,
    env: &str,
    setting: Option<&flagpole_store::SamplingSetting>,
    sampled: usize,
    admin: bool,
) -> Markup {
    let enabled = setting.is_some_and(|s| s.enabled);
    let mode = setting.map_or("full", |s| s.mode.as_str());
    let size = setting.map_or(10_000, |s| s.size);
    let id = |f: &str| format!("sampling-{i}-{f}");
    html! {
        @if admin {
            form.sampling #(format!("sampling-{}", encode(env))) data-sampling=(env)
                data-api=(format!("PUT /api/v1/environments/{}/sampling", encode(env))) data-then="reload" {
                label.check for=(id("enabled")) {
                    input #(id("enabled")) type="checkbox" name="enabled" checked[enabled];
                    " Sample"
                }
                label.visually-hidden for=(id("mode")) { "Sampling mode in " (env) }
                select #(id("mode")) name="mode" {
                    option value="full" selected[mode == "full"] { "full" }
                    option value="minimal" selected[mode == "minimal"] { "minimal" }
                }
                label.visually-hidden for=(id("size")) { "Sample size in " (env) }
                input #(id("size")) name="size" type="number" min="1" max="100000" value=(size);
                button type="submit" aria-label=(format!("Save sampling in {env}")) { "Save" }
                p.error data-form-error role="alert" hidden {}
            }
        } @else {
            @if enabled { (mode) ", up to " (size) } @else { "off" }
        }
        @if enabled { small.hint { " " (sampled) " sampled" } }
    }
}

fn admins_only(who: &Page, area: Area, title: &str) -> Option<Response> {
    (!who.is_admin()).then(|| {
        let mut r = message(who, area, title, "Only admins can see this page.").into_response();
        *r.status_mut() = axum::http::StatusCode::FORBIDDEN;
        r
    })
}

pub async fn tokens_page(State(state): State<AppState>, who: Page) -> Result<Response, ApiError> {
    if let Some(refused) = admins_only(&who, Area::Tokens, "Tokens") {
        return Ok(refused);
    }
    let auth = state.store().load_auth().await?;
    let published = state.published();
    let now = Utc::now();
    let body = html! {
        section.card {
            h2 { "New token" }
            form data-api="POST /api/v1/tokens" data-then="secret" data-token-form {
                div.row {
                    (field("Name", "name", html! { input #f-name name="name" required maxlength="200"; }, None))
                    (field("Kind", "kind", html! {
                        select #f-kind name="kind" {
                            option value="client" { "client (server SDKs, one environment)" }
                            option value="frontend" { "frontend (browser SDKs, one environment)" }
                            option value="admin" { "admin (the API, with a role)" }
                        }
                    }, None))
                    (field("Environment", "environment", html! {
                        select #f-environment name="environment" {
                            @for e in &published.environments { option value=(e.name) { (e.name) } }
                        }
                    }, Some("For client and frontend tokens.")))
                    (field("Role", "role", html! {
                        select #f-role name="role" {
                            option value="viewer" { "viewer" }
                            option value="editor" { "editor" }
                            option value="admin" { "admin" }
                        }
                    }, Some("For admin tokens.")))
                }
                (form_error())
                button.primary type="submit" { "Create token" }
            }
            div.secret #token-secret role="status" hidden {
                p { strong { "Copy this secret now; it is shown only once." } }
                code #token-secret-text {}
            }
        }
        div.table-wrap role="region" aria-label="Tokens" tabindex="0" {
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" { "Scope" } th scope="col" { "Last used" } th scope="col" { "Status" } th scope="col" { "" } } }
                tbody {
                    @for t in auth.tokens.iter().rev() {
                        tr data-token=(t.name) {
                            td { (t.name) }
                            td { (t.kind) }
                            td { (t.environment.as_deref().or(t.role.as_deref()).unwrap_or("")) }
                            td { @match t.last_used_at { Some(at) => (ago(at, now)), None => "never" } }
                            td { @if t.revoked_at.is_some() { span.badge { "revoked" } } @else if t.expires_at.is_some_and(|e| e <= now) { span.badge { "expired" } } @else { "active" } }
                            td {
                                @if t.revoked_at.is_none() {
                                    button type="button" data-delete=(format!("/api/v1/tokens/{}", encode(&t.id)))
                                        data-confirm=(format!("Revoke the token {}? Whatever uses it is refused from now on.", t.name)) { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&who, Area::Tokens, "Tokens", body).into_response())
}

pub async fn users_page(State(state): State<AppState>, who: Page) -> Result<Response, ApiError> {
    if let Some(refused) = admins_only(&who, Area::Users, "Users") {
        return Ok(refused);
    }
    let auth = state.store().load_auth().await?;
    let body = html! {
        div.table-wrap role="region" aria-label="Users" tabindex="0" {
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Grants" } th scope="col" { "" } } }
                tbody {
                    @for u in &auth.users {
                        tr {
                            td { (u.name) }
                            td {
                                select aria-label=(format!("Role of {}", u.name)) data-patch-select=(format!("/api/v1/users/{}", encode(&u.name))) data-field-name="role" disabled[u.name == who.name()] {
                                    @for r in USER_ROLES { option value=(r) selected[u.role == r] { (r) } }
                                }
                            }
                            td { (u.grants.join(", ")) }
                            td {
                                @if u.name != who.name() {
                                    button type="button" data-delete=(format!("/api/v1/users/{}", encode(&u.name)))
                                        data-confirm=(format!("Delete the user {}? Their sessions end.", u.name)) { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "New user" }
            form data-api="POST /api/v1/users" data-then="reload" {
                div.row {
                    (field("Name", "name", html! { input #f-name name="name" required maxlength="200" autocomplete="off"; }, None))
                    (field("Password", "password", html! { input #f-password name="password" type="password" required maxlength="1000" autocomplete="new-password"; }, Some("At least 12 characters.")))
                    (field("Role", "role", html! {
                        select #f-role name="role" {
                            @for r in USER_ROLES { option value=(r) { (r) } }
                        }
                    }, Some("member: only the projects the user is made a member of.")))
                }
                (form_error())
                button.primary type="submit" { "Create user" }
            }
        }
    };
    Ok(page(&who, Area::Users, "Users", body).into_response())
}
