//! Segments: each with where it is used (flag and environment), and an editor for its
//! description and conditions (sent to `PUT /api/v1/segments/{name}` with its version,
//! or `POST /api/v1/segments` for a new one).

use axum::extract::State;
use maud::{html, Markup};

use super::editor::{attribute_names, conditions_editor};
use super::layout::{field, form_error, page, Area};
use super::page::{encode, Page};
use crate::http::AppState;

pub async fn segments_page(State(state): State<AppState>, who: Page) -> Markup {
    let published = state.published();
    let body = html! {
        (attribute_names())
        p.hint { "A segment is a named list of conditions that rules can require." }
        @if published.segments.is_empty() { p.empty { "No segments yet." } }
        @for (name, record) in &published.segments {
            @let uses: Vec<(&str, String)> = published.segment_users(name).filter_map(|key| {
                Some((key.as_str(), published.live_flag(key)?))
            }).flat_map(|(key, flag)| {
                flag.environments.into_iter()
                    .filter(|(_, c)| c.rules.iter().any(|rule| rule.segments.iter().any(|s| s == name)))
                    .map(move |(env, _)| (key, env))
            }).collect();
            section.card id=(format!("segment-{name}")) {
                h2 { (name) }
                p { "Used by: "
                    @if uses.is_empty() { "no flag" }
                    @for (i, (key, env)) in uses.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(format!("/flag/{}?env={}", encode(key), encode(env))) { (key) " (" (env) ")" }
                    }
                }
                form data-segment-form data-api=(format!("PUT /api/v1/segments/{}", encode(name))) data-version=(record.version) data-then="reload" {
                    fieldset disabled[!who.can_edit()] {
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
        @if who.can_edit() {
            section.card {
                h2 { "New segment" }
                form data-segment-form data-api="POST /api/v1/segments" data-then="reload" {
                    (field("Name", "name", html! { input #f-name name="name" data-k="name" required maxlength="200"; }, None))
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
