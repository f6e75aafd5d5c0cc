//! Segments of the switcher's project (and the global ones): each with where it is used
//! (flag and environment), and an editor for its description and conditions (sent to
//! `PUT /api/v1/segments/{name}` with its version, or `POST /api/v1/segments` for a new
//! one, in the project chosen).

use axum::extract::State;
use flagpole_core::GLOBAL_PROJECT;
use maud::{html, Markup};

use super::editor::{attribute_names, conditions_editor};
use super::layout::{field, form_error, page, Area};
use super::page::{encode, Page};
use crate::http::AppState;
use crate::identity::Role;

pub async fn segments_page(State(state): State<AppState>, who: Page) -> Markup {
    let published = state.published();
    let shown: Vec<_> = (published.segments.iter())
        .filter(|(_, r)| who.shows(r.segment.project()))
        .collect();
    // Where a new segment may go: the projects the caller edits, and every project's.
    let mut projects = who.projects_with(Role::Editor);
    if who.may(GLOBAL_PROJECT, Role::Editor) {
        projects.push((GLOBAL_PROJECT, "Every project (global)"));
    }
    let body = html! {
        (attribute_names())
        p.hint { "A segment is a named list of conditions that rules can require. A project's flags may use its own segments and the global ones." }
        @if shown.is_empty() { p.empty { "No segments yet." } }
        @for (name, record) in shown {
            @let project = record.segment.project();
            @let uses: Vec<(&str, String)> = published.segment_users(name).filter_map(|key| {
                Some((key.as_str(), published.live_flag(key).filter(|f| who.shows(f.project()))?))
            }).flat_map(|(key, flag)| {
                flag.environments.into_iter()
                    .filter(|(_, c)| c.rules.iter().any(|rule| rule.segments.iter().any(|s| s == name)))
                    .map(move |(env, _)| (key, env))
            }).collect();
            section.card id=(format!("segment-{name}")) {
                h2 { (name) " " span.badge { @if project == GLOBAL_PROJECT { "global" } @else { (project) } } }
                p { "Used by: "
                    @if uses.is_empty() { "no flag" }
                    @for (i, (key, env)) in uses.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(format!("/flag/{}?env={}", encode(key), encode(env))) { (key) " (" (env) ")" }
                    }
                }
                form data-segment-form data-api=(format!("PUT /api/v1/segments/{}", encode(name))) data-version=(record.version) data-then="reload" {
                    fieldset disabled[!who.may(project, Role::Editor)] {
                        // Saved where it is: a segment sent without its project moves.
                        @if let Some(p) = &record.segment.project { input type="hidden" data-k="project" value=(p); }
                        (field("Description", &format!("description-{name}"), html! {
                            input id=(format!("f-description-{name}")) data-k="description" value=[record.segment.description.as_deref()] maxlength="1000";
                        }, None))
                        (conditions_editor(&record.segment.conditions))
                        (form_error())
                        div.actions {
                            button.primary type="submit" { "Save " (name) }
                            @if uses.is_empty() {
                                button type="button" data-delete=(format!("/api/v1/segments/{}", encode(name)))
                                    data-confirm=(format!("Delete the segment {name}?")) { "Delete" }
                            }
                        }
                    }
                }
            }
        }
        @if !projects.is_empty() {
            section.card {
                h2 { "New segment" }
                form data-segment-form data-api="POST /api/v1/segments" data-then="reload" {
                    (field("Name", "name", html! { input #f-name name="name" data-k="name" required maxlength="200"; }, None))
                    (field("Project", "project", html! {
                        select #f-project data-k="project" {
                            @for (key, name) in &projects { option value=(key) { (name) } }
                        }
                    }, None))
                    (field("Description", "description", html! { input #f-description data-k="description" maxlength="1000"; }, None))
                    (conditions_editor(&[]))
                    (form_error())
                    button.primary type="submit" { "Create segment" }
                }
            }
        }
    };
    page(&who, Area::Segments, "Segments", body)
}
