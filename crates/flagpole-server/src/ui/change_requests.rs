//! Change requests: the list by status (of the switcher's project), and one request with
//! its diff against the current flag, whether it is stale, its comments and a comment
//! form, and the approve (now or at a time), reject and rebase buttons. The buttons are disabled, with the
//! server's reason, when the viewer may not use them; the API refuses them anyway.
//! Approving at a time is sent by `assets/review.js` (the time input is local time).

use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use flagpole_store::ChangeRequestRecord;
use maud::{html, Markup};
use serde::Deserialize;

use super::diff;
use super::layout::{ago, field, form_error, message, page, Area};
use super::page::{encode, status_filter, status_select, Page};
use crate::error::ApiError;
use crate::http::extract::ApiPath;
use crate::http::extract::Call;
use crate::http::views::ChangeRequestDetail;
use crate::http::AppState;
use crate::identity::Role;
use crate::review::requests::{author_or_reviewer, load};

/// The statuses a change request can have, as the filter offers them.
const STATUSES: [&str; 4] = ["open", "applied", "scheduled", "rejected"];

#[derive(Debug, Default, Deserialize)]
pub struct RequestsQuery {
    status: Option<String>,
}

pub async fn list_page(
    Call(state, who): Call<Page>,
    Query(q): Query<RequestsQuery>,
) -> Result<Markup, ApiError> {
    // Open ones first: what waits for someone. `?status=` shows all.
    let status = status_filter(q.status, "open", &STATUSES);
    let published = state.published();
    let requests: Vec<ChangeRequestRecord> = (state.store().change_requests(status.as_deref()))
        .await?
        .into_iter()
        .filter(|r| who.shows(published.project_of(&r.kind, &r.target)))
        .collect();
    let now = Utc::now();
    let body = html! {
        form.filters method="get" action="/change-requests" role="search" aria-label="Filter change requests" {
            (status_select(status.as_deref(), &STATUSES))
            button type="submit" { "Filter" }
        }
        @if requests.is_empty() {
            p.empty { "No change request matches." }
        } @else {
            div.table-wrap role="region" aria-label="Change requests" tabindex="0" {
                table {
                    thead { tr {
                        th scope="col" { "#" } th scope="col" { "Flag" } th scope="col" { "Environments" }
                        th scope="col" { "Description" } th scope="col" { "Author" } th scope="col" { "Status" }
                    } }
                    tbody {
                        @for r in &requests {
                            tr data-change-request=(r.id) {
                                td { a href=(format!("/change-requests/{}", r.id)) { "#" (r.id) } }
                                td { a href=(format!("/flag/{}", encode(&r.target))) { (r.target) } }
                                td { @for e in &r.environments { span.badge { (e) } " " } }
                                td { a href=(format!("/change-requests/{}", r.id)) { (summary(r)) } }
                                td { (r.author) br; small { (ago(r.created_at, now)) } }
                                td { span.badge data-status=(r.status) { (r.status) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&who, Area::ChangeRequests, "Change requests", body))
}

pub async fn request_page(
    Call(state, who): Call<Page>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let published = state.published();
    // One the caller does not read is missing too.
    let readable =
        |r: &ChangeRequestRecord| who.may(published.project_of(&r.kind, &r.target), Role::Viewer);
    let record = match load(&state, id).await {
        Ok(r) if readable(&r) => r,
        Ok(_) | Err(ApiError::NotFound { .. }) => {
            let text = format!("There is no change request {id}.");
            let mut r =
                message(&who, Area::ChangeRequests, "Change request", &text).into_response();
            *r.status_mut() = axum::http::StatusCode::NOT_FOUND;
            return Ok(r);
        }
        Err(e) => return Err(e),
    };
    let info = ChangeRequestDetail::of(&state, &who.who, record.clone());
    let current = published
        .flags
        .get(&record.target)
        .and_then(|r| serde_json::to_value(r.flag()).ok());
    let title = format!("Change request {id}");
    let body = html! {
        p.flag-head {
            "Changes " a href=(format!("/flag/{}", encode(&record.target))) { (record.target) }
            " in " @for e in &record.environments { span.badge { (e) } " " }
            " · " span.badge data-status=(record.status) { (record.status) }
        }
        @if !record.description.is_empty() { p.desc { (record.description) } }
        p.who {
            "Opened by " (record.author) " · " (ago(record.created_at, Utc::now()))
            @if let Some(r) = &record.reviewer { " · " (if record.status == "rejected" { "rejected" } else { "approved" }) " by " (r) }
            @if let Some(s) = record.schedule_id { " · " a href="/schedules" { "schedule " (s) } }
        }
        @if record.status == "open" && info.stale {
            p.notice role="status" data-stale {
                strong { "Stale: " }
                "the flag changed since this request was made (it was version " (record.based_on)
                @if let Some(v) = info.current_version { ", it is now " (v) }
                "). Rebase it onto the current version before it can be approved."
            }
        }
        section.card {
            h2 { "The change against the current flag" }
            (diff::render(current.as_ref(), Some(&record.body)))
        }
        @if record.status == "open" { (actions(&state, &who, &record, &info)) }
        section.card {
            h2 { "Comments" }
            @if record.comments.is_empty() { p.empty { "No comments yet." } }
            ol.audit data-comments {
                @for c in &record.comments {
                    li.entry { div.entry-head { strong { (c.author) } span.who { " · " (ago(c.at, Utc::now())) } } p { (c.text) } }
                }
            }
            form data-api=(format!("POST /api/v1/change-requests/{id}/comments")) data-then="reload" {
                (field("Comment", "text", html! { textarea #f-text name="text" required maxlength="2000" rows="3" {} }, None))
                (form_error())
                button type="submit" { "Comment" }
            }
        }
    };
    Ok(page(&who, Area::ChangeRequests, &title, body).into_response())
}

/// Approve (now or at a time), reject and rebase, each disabled with the reason when the
/// viewer may not.
fn actions(
    state: &AppState,
    who: &Page,
    record: &ChangeRequestRecord,
    info: &ChangeRequestDetail,
) -> Markup {
    let may_approve = info.may_approve;
    let why_not = info.why_not.as_deref().unwrap_or("");
    let may_decide = who.is_editor() && author_or_reviewer(state, &who.who, record).is_ok();
    let stale = info.stale;
    let id = record.id;
    html! {
        section.card data-review {
            h2 { "Decide" }
            form data-approve=(format!("/api/v1/change-requests/{id}/approve")) aria-describedby=[(!may_approve).then_some("why-not")] {
                (field("Apply at (optional, your local time)", "apply_at", html! {
                    input #f-apply_at name="apply_at" type="datetime-local" disabled[!may_approve];
                }, Some("Empty: apply it now.")))
                (form_error())
                div.actions {
                    button.primary type="submit" disabled[!may_approve] { "Approve" }
                    button type="button" data-post=(format!("/api/v1/change-requests/{id}/reject"))
                        data-confirm=(format!("Reject change request {id}? It can no longer be applied."))
                        disabled[!may_decide] { "Reject" }
                    @if stale {
                        button type="button" data-post=(format!("/api/v1/change-requests/{id}/rebase"))
                            disabled[!may_decide] { "Rebase" }
                    }
                }
            }
            @if !may_approve {
                p.hint #why-not data-why-not { "You cannot approve this: " (why_not) }
            }
            @if !may_decide {
                p.hint { "Only its author or someone who may change " (record.environments.join(", ")) " can reject or rebase it." }
            }
        }
    }
}

/// A line for the list: the description, or what the request changes.
fn summary(r: &ChangeRequestRecord) -> String {
    if r.description.is_empty() {
        format!("Change {} in {}", r.target, r.environments.join(", "))
    } else {
        r.description.chars().take(120).collect()
    }
}
