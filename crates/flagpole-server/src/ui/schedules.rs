//! Schedules: scheduled flag and segment changes of the switcher's project, filtered by
//! status and flag, each linking to what it changes; a pending one can be cancelled
//! (sent to `DELETE /api/v1/schedules/{id}` after a confirmation) by whoever may make
//! the change.

use axum::extract::Query;
use chrono::Utc;
use flagpole_store::{ScheduleFilter, ScheduleRecord};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{ago, page, Area};
use super::page::{bounded, encode, status_filter, status_select, Page};
use crate::error::ApiError;
use crate::http::extract::Call;
use crate::http::AppState;
use crate::review;

/// The statuses a schedule can have, as the filter offers them.
const STATUSES: [&str; 5] = ["pending", "running", "applied", "failed", "cancelled"];

#[derive(Debug, Default, Deserialize)]
pub struct SchedulesQuery {
    status: Option<String>,
    flag: Option<String>,
}

pub async fn schedules_page(
    Call(state, who): Call<Page>,
    Query(q): Query<SchedulesQuery>,
) -> Result<Markup, ApiError> {
    // Pending first: what a visitor most likely came for. `?status=` shows all.
    let status = status_filter(q.status, "pending", &STATUSES);
    let flag = bounded(q.flag, 200);
    let filter = ScheduleFilter {
        status: status.clone(),
        kind: flag.as_ref().map(|_| "flag".to_string()),
        target: flag.clone(),
    };
    let published = state.published();
    let schedules: Vec<ScheduleRecord> = (state.store().schedules(&filter).await?)
        .into_iter()
        .filter(|s| who.shows(published.project_of(&s.kind, &s.target)))
        .collect();
    let now = Utc::now();
    let body = html! {
        form.filters method="get" action="/schedules" role="search" aria-label="Filter schedules" {
            (status_select(status.as_deref(), &STATUSES))
            label { span { "Flag" }
                input name="flag" value=[flag.as_deref()] list="flag-keys" maxlength="200";
            }
            datalist #flag-keys { @for (k, _) in published.flags.iter().filter(|(_, r)| who.shows(&r.project)) { option value=(k) {} } }
            button type="submit" { "Filter" }
        }
        p.hint { "Schedule a change with " code { "flagpole schedule create" } " or "
            code { "POST /api/v1/flags/{key}/schedules" } "; approving a change request can schedule one too." }
        @if schedules.is_empty() {
            p.empty { "No schedule matches." }
        } @else {
            div.table-wrap role="region" aria-label="Schedules" tabindex="0" {
                table {
                    thead { tr {
                        th scope="col" { "#" } th scope="col" { "Due" } th scope="col" { "Changes" }
                        th scope="col" { "Environments" } th scope="col" { "Status" } th scope="col" { "By" }
                        th scope="col" { "Action" }
                    } }
                    tbody {
                        @for s in &schedules { (row(&state, &who, s, now)) }
                    }
                }
            }
        }
    };
    Ok(page(&who, Area::Schedules, "Schedules", body))
}

fn row(state: &AppState, who: &Page, s: &ScheduleRecord, now: chrono::DateTime<Utc>) -> Markup {
    let may_cancel = who.is_editor()
        && review::check_may_change(
            &state.published(),
            &who.who,
            (&s.kind, &s.target),
            &s.environments,
        )
        .is_ok();
    let target = if s.kind == "segment" {
        html! { "segment " a href="/segments" { (s.target) } }
    } else {
        html! { a href=(format!("/flag/{}", encode(&s.target))) { (s.target) } }
    };
    html! {
        tr data-schedule=(s.id) {
            td { (s.id) }
            td {
                time datetime=(s.due_at.to_rfc3339()) { (s.due_at.format("%Y-%m-%d %H:%M UTC")) }
                @if s.status == "pending" && s.due_at > now { br; small.hint { "in " (until(s.due_at - now)) } }
            }
            td { (target) @if let Some(cr) = s.change_request { br; small { a href=(format!("/change-requests/{cr}")) { "change request " (cr) } } } }
            td { @for e in &s.environments { span.badge { (e) } " " } }
            td {
                span.badge data-status=(s.status) { (s.status) }
                @if let Some(reason) = &s.reason { br; small { (reason) } }
            }
            td { (s.created_by) br; small { (ago(s.created_at, now)) } }
            td {
                @if s.status == "pending" {
                    button type="button" data-delete=(format!("/api/v1/schedules/{}", s.id))
                        data-confirm=(format!("Cancel schedule {} of {}? It will not be applied.", s.id, s.target))
                        aria-label=(format!("Cancel schedule {}", s.id))
                        title=[(!may_cancel).then_some("You may not make this change, so you may not cancel it.")]
                        disabled[!may_cancel] { "Cancel" }
                }
            }
        }
    }
}

/// "3 h 20 min" style text for a time ahead.
fn until(d: chrono::TimeDelta) -> String {
    let mins = d.num_minutes().max(0);
    match mins {
        0 => "under a minute".into(),
        1..=59 => format!("{mins} min"),
        60..=1439 => format!("{} h {} min", mins / 60, mins % 60),
        _ => format!("{} days", mins / 1440),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_reads_as_a_duration() {
        assert_eq!(until(chrono::TimeDelta::seconds(30)), "under a minute");
        assert_eq!(until(chrono::TimeDelta::minutes(200)), "3 h 20 min");
        assert_eq!(until(chrono::TimeDelta::days(3)), "3 days");
    }
}
