//! Projects: `/projects` lists those the caller reaches (server admins create them
//! there); `/projects/{key}` is one project's settings: its name, description and the
//! environments it uses, its protection and approval requirement per environment, and
//! its members with their roles. Every change is sent to `/api/v1/projects/…`, which
//! checks again that the caller administers the project; the controls are disabled for
//! those who do not.

use axum::response::{IntoResponse, Response};
use flagpole_store::ProjectRecord;
use maud::{html, Markup};

use super::layout::{field, form_error, message, page, Area};
use super::page::{encode, Page};
use crate::error::ApiError;
use crate::http::extract::{ApiPath, Call};
use crate::identity::Role;

/// The roles a member may have in a project.
const ROLES: [&str; 3] = ["viewer", "editor", "admin"];

pub async fn projects_page(Call(state, who): Call<Page>) -> Markup {
    let published = state.published();
    let shown: Vec<&ProjectRecord> = (published.projects.values())
        .filter(|p| who.scope.contains(&p.key))
        .collect();
    let body = html! {
        p.hint { "A project holds flags and segments; its members read or change only its own. Choose the project the other pages show in the switcher above." }
        @if shown.is_empty() { p.empty { "You are not a member of any project." } }
        @else {
            div.table-wrap role="region" aria-label="Projects" tabindex="0" {
                table {
                    thead { tr {
                        th scope="col" { "Project" } th scope="col" { "Name" } th scope="col" { "Flags" }
                        th scope="col" { "Environments" } th scope="col" { "Your role" }
                    } }
                    tbody {
                        @for p in &shown {
                            tr data-project=(p.key) {
                                td { a href=(format!("/projects/{}", encode(&p.key))) { (p.key) } }
                                td { (p.name) @if let Some(d) = &p.description { div.desc { (d) } } }
                                td { a href=(format!("/?project={}", encode(&p.key))) { (published.project_size(&p.key)) } }
                                td { (environments(p)) }
                                td { (who.who.role_in(&p.key).map_or("", Role::as_str)) }
                            }
                        }
                    }
                }
            }
        }
        @if who.is_admin() {
            section.card {
                h2 { "New project" }
                form data-api="POST /api/v1/projects" data-then="go:/projects/{key}" {
                    div.row {
                        (field("Key", "key", html! {
                            input #f-key name="key" required maxlength="200" pattern="[A-Za-z0-9_.\\-]+" autocomplete="off";
                        }, Some("Letters, digits, '.', '_' and '-'; it cannot be changed later.")))
                        (field("Name", "name", html! { input #f-name name="name" maxlength="100"; }, None))
                    }
                    (field("Description", "description", html! {
                        textarea #f-description name="description" rows="2" maxlength="2000" {}
                    }, None))
                    (form_error())
                    button.primary type="submit" { "Create project" }
                }
            }
        }
    };
    page(&who, Area::Projects, "Projects", body)
}

pub async fn project_page(
    Call(state, who): Call<Page>,
    ApiPath(key): ApiPath<String>,
) -> Result<Response, ApiError> {
    let published = state.published();
    let Some(project) = published
        .project(&key)
        .filter(|_| who.may(&key, Role::Viewer))
    else {
        let text = format!("There is no project {key:?}, or you are not one of its members.");
        let mut r = message(&who, Area::Projects, "No such project", &text).into_response();
        *r.status_mut() = axum::http::StatusCode::NOT_FOUND;
        return Ok(r);
    };
    let admin = who.may(&key, Role::Admin);
    let mut members: Vec<(String, Role)> = (state.directory().members(&key))
        .map(|(user, role)| (user.to_string(), role))
        .collect();
    members.sort();
    let api = format!("/api/v1/projects/{}", encode(&key));
    let body = html! {
        p.flag-head {
            span.badge { (key) }
            a href=(format!("/?project={}", encode(&key))) { (published.project_size(&key)) " flags" }
            a href=(format!("/segments?project={}", encode(&key))) { "Segments" }
            a href=(format!("/history?project={}", encode(&key))) { "History" }
        }
        @if !admin { p.notice { "Only the project's admins can change its settings; the controls are read-only." } }
        section.card {
            h2 { "Details" }
            form data-api=(format!("PATCH {api}")) data-then="reload" {
                fieldset disabled[!admin] {
                    (field("Name", "name", html! { input #f-name name="name" value=(project.name) maxlength="100"; }, None))
                    (field("Description", "description", html! {
                        textarea #f-description name="description" rows="2" maxlength="2000" { (project.description.as_deref().unwrap_or("")) }
                    }, None))
                    (field("Environments used", "environments", html! {
                        input #f-environments name="environments" data-list data-optional maxlength="2000"
                            value=(project.environments.as_deref().unwrap_or_default().join(", "));
                    }, Some("Separated by commas; its flags are configured only in these. Empty while it uses every environment; to widen a narrowed project, list them all.")))
                    (form_error())
                    button.primary type="submit" { "Save" }
                }
            }
        }
        section.card {
            h2 { "Environments" }
            div.table-wrap role="region" aria-label="Environments of the project" tabindex="0" {
                table {
                    thead { tr {
                        th scope="col" { "Environment" } th scope="col" { "Used" }
                        th scope="col" { "Protected" } th scope="col" { "Requires approval" }
                    } }
                    tbody {
                        @for e in &published.environments {
                            @let setting = project.settings.get(&e.name).cloned().unwrap_or_default();
                            @let url = format!("{api}/environments/{}", encode(&e.name));
                            tr data-environment=(e.name) {
                                td { (e.name) }
                                td { @if project.environments.as_ref().is_none_or(|used| used.contains(&e.name)) { "yes" } @else { "no" } }
                                td {
                                    (setting_switch(&url, "protected", &format!("{} is protected for {key}", e.name), setting.protected, admin))
                                    @if e.protected { " " span.badge { "protected everywhere" } }
                                }
                                td {
                                    (setting_switch(&url, "requires_approval", &format!("Changes in {} need approval for {key}", e.name), setting.requires_approval, admin))
                                    @if e.requires_approval { " " span.badge { "everywhere" } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Members" }
            @if members.is_empty() { p.empty { "No members yet: only server-wide roles reach this project." } }
            @else {
                div.table-wrap role="region" aria-label="Members" tabindex="0" {
                    table {
                        thead { tr { th scope="col" { "User" } th scope="col" { "Role" } th scope="col" { "" } } }
                        tbody {
                            @for (user, role) in &members {
                                @let url = format!("{api}/members/{}", encode(user));
                                tr data-member=(user) {
                                    td { (user) }
                                    td {
                                        select aria-label=(format!("Role of {user} in {key}")) data-patch-select=(url) data-method="PUT" data-field-name="role" disabled[!admin] {
                                            @for r in ROLES { option value=(r) selected[role.as_str() == r] { (r) } }
                                        }
                                    }
                                    td {
                                        button type="button" data-delete=(url) disabled[!admin]
                                            data-confirm=(format!("Remove {user} from {key}?")) { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if admin {
                form data-api=(format!("PUT {api}/members/{{user}}")) data-then="reload" {
                    div.row {
                        (field("User", "user", html! { input #f-user name="user" required maxlength="200" autocomplete="off"; }, None))
                        (field("Role", "role", html! {
                            select #f-role name="role" { @for r in ROLES { option value=(r) { (r) } } }
                        }, None))
                    }
                    (form_error())
                    button.primary type="submit" { "Add member" }
                }
            }
        }
    };
    let title = format!("Project {}", project.name);
    Ok(page(&who, Area::Projects, &title, body).into_response())
}

/// One of a project's settings in one environment, as a switch (sent with `PUT`).
fn setting_switch(url: &str, name: &str, label: &str, on: bool, enabled: bool) -> Markup {
    html! {
        button.switch type="button" role="switch" aria-checked=(on) aria-label=(label)
            data-patch=(url) data-method="PUT" data-field-name=(name) disabled[!enabled] {
            span aria-hidden="true" {}
        }
    }
}

/// The environments a project uses.
fn environments(p: &ProjectRecord) -> String {
    match &p.environments {
        Some(list) => list.join(", "),
        None => "every environment".into(),
    }
}
