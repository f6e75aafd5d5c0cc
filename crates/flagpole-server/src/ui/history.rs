//! History: the audit log of the switcher's project (for all, of every project the
//! caller reads) with filters (flag, environment, actor, time), each change with its
//! diff; a flag's versions with a diff between any two and rollback (sent to
//! `POST /api/v1/flags/{key}/rollback`, after a confirmation).

use axum::extract::{Path, Query};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use flagpole_store::AuditFilter;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use super::diff;
use super::layout::{ago, message, page, Area};
use super::page::{bounded, encode, Page};
use crate::error::ApiError;
use crate::http::extract::Call;
use crate::identity::Role;

/// Entries one page shows at most.
const PAGE: i64 = 200;

#[derive(Debug, Default, Deserialize)]
pub struct HistoryQuery {
    flag: Option<String>,
    environment: Option<String>,
    actor: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// `2026-01-31`, `2026-01-31T12:00` (a date-time input) or RFC 3339, as UTC.
fn parse_time(field: &str, text: Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = bounded(text, 40) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&text) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M") {
        return Ok(Some(t.and_utc()));
    }
    if let Some(t) = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        return Ok(Some(t.and_utc()));
    }
    Err(ApiError::bad_request(
        "invalid_query",
        format!("{field}: {text:?} is not a date (2026-01-31) or a time (2026-01-31T12:00)"),
        Some(field.into()),
    ))
}

pub async fn history_page(
    Call(state, who): Call<Page>,
    Query(q): Query<HistoryQuery>,
) -> Result<Markup, ApiError> {
    let flag = bounded(q.flag, 200);
    let environment = bounded(q.environment, 200);
    let actor = bounded(q.actor, 200);
    let since = parse_time("since", q.since.clone())?;
    let until = parse_time("until", q.until.clone())?;
    let filter = AuditFilter {
        flag: flag.clone(),
        environment: environment.clone(),
        project: who.project.clone(),
        since,
        until,
        // Entries are filtered below by actor and by what the caller reads.
        limit: Some(if actor.is_some() || !who.scope.is_all() {
            1000
        } else {
            PAGE
        }),
    };
    let actor_lc = actor.as_ref().map(|a| a.to_lowercase());
    let entries: Vec<_> = state
        .store()
        .audit(&filter)
        .await?
        .into_iter()
        .filter(|e| who.shows_entry(e.project.as_deref()))
        .filter(|e| {
            actor_lc
                .as_ref()
                .is_none_or(|a| e.actor.to_lowercase().contains(a))
        })
        .take(PAGE as usize)
        .collect();
    let published = state.published();
    let now = Utc::now();
    let body = html! {
        form.filters method="get" action="/history" role="search" aria-label="Filter history" {
            label { span { "Flag" }
                input name="flag" value=[flag.as_deref()] list="flag-keys" maxlength="200";
            }
            datalist #flag-keys { @for (k, _) in published.flags.iter().filter(|(_, r)| who.shows(&r.project)) { option value=(k) {} } }
            label { span { "Environment" }
                select name="environment" {
                    option value="" { "Any" }
                    @for e in &published.environments { option value=(e.name) selected[environment.as_deref() == Some(e.name.as_str())] { (e.name) } }
                }
            }
            label { span { "Actor" } input name="actor" value=[actor.as_deref()] maxlength="200" placeholder="user:alice"; }
            label { span { "Since" } input type="datetime-local" name="since" value=[q.since.as_deref()]; }
            label { span { "Until" } input type="datetime-local" name="until" value=[q.until.as_deref()]; }
            button type="submit" { "Filter" }
        }
        @if let Some(f) = &flag {
            p { a href=(format!("/history/{}", encode(f))) { "Versions of " (f) ": compare any two, roll back" } }
        }
        @if entries.is_empty() { p.empty { "No change matches." } }
        ol.audit {
            @for e in &entries {
                li.entry {
                    div.entry-head {
                        strong { (e.action) }
                        @if let Some(f) = &e.flag { " " a href=(format!("/flag/{}", encode(f))) { (f) } }
                        @if let Some(s) = &e.segment { " segment " (s) }
                        @if let Some(env) = &e.environment { " in " span.badge { (env) } }
                        span.who { " by " (e.actor) " · " (ago(e.at, now)) }
                        @if let Some(f) = &e.flag { " · " a href=(format!("/history/{}", encode(f))) { "versions" } }
                    }
                    @if e.before.is_some() || e.after.is_some() {
                        details {
                            summary { "Show the change" }
                            (diff::render(e.before.as_ref(), e.after.as_ref()))
                        }
                    }
                }
            }
        }
    };
    Ok(page(&who, Area::History, "History", body))
}

#[derive(Debug, Default, Deserialize)]
pub struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

fn version(field: &str, text: Option<String>) -> Result<Option<i64>, ApiError> {
    bounded(text, 20)
        .map(|t| {
            t.parse::<i64>().map_err(|_| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("{field} must be a version number"),
                    Some(field.into()),
                )
            })
        })
        .transpose()
}

pub async fn diff_page(
    Call(state, who): Call<Page>,
    Path(key): Path<String>,
    Query(q): Query<DiffQuery>,
) -> Result<Markup, ApiError> {
    let versions = state.store().flag_versions(&key).await?;
    // The flag's project: where it is, or where it was when deleted.
    let published = state.published();
    let project = (published.flag_project(&key))
        .or_else(|| {
            versions
                .iter()
                .rev()
                .find_map(|v| Some(v.flag.as_ref()?.project()))
        })
        .unwrap_or(flagpole_core::DEFAULT_PROJECT);
    let Some(last) = versions.last().filter(|_| who.may(project, Role::Viewer)) else {
        return Ok(message(
            &who,
            Area::History,
            "No such flag",
            &format!("The flag {key:?} never existed."),
        ));
    };
    let current = last.version;
    let to = version("to", q.to)?.unwrap_or(current);
    let from = version("from", q.from)?.unwrap_or_else(|| {
        versions
            .iter()
            .rev()
            .map(|v| v.version)
            .find(|v| *v < to)
            .unwrap_or(to)
    });
    let find = |n: i64| versions.iter().find(|v| v.version == n);
    let (Some(a), Some(b)) = (find(from), find(to)) else {
        return Err(ApiError::NotFound {
            kind: "flag version",
            name: format!("{key}@{from} or {key}@{to}"),
        });
    };
    let live = published.flags.contains_key(&key);
    let may_roll_back = who.may(project, Role::Editor);
    let as_json = |v: &flagpole_store::FlagVersion| v.flag.as_ref().map(|f| json!(f));
    let key_path = encode(&key);
    let body = html! {
        p { a href=(format!("/flag/{key_path}")) { "Open " (key) } " · " a href=(format!("/history?flag={key_path}")) { "Audit entries" } }
        form method="get" action=(format!("/history/{key_path}")) {
            div.table-wrap role="region" aria-label="Versions" tabindex="0" {
                table {
                    caption { "Versions of " (key) ", newest first" }
                    thead { tr { th scope="col" { "Version" } th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "" } } }
                    tbody {
                        @for v in versions.iter().rev() {
                            tr {
                                td { (v.version) @if v.version == current { " (current)" } @if v.flag.is_none() { " (deleted)" } @if v.archived { " (archived)" } }
                                td { input type="radio" name="from" value=(v.version) checked[v.version == from] aria-label=(format!("Compare from version {}", v.version)); }
                                td { input type="radio" name="to" value=(v.version) checked[v.version == to] aria-label=(format!("Compare to version {}", v.version)); }
                                td { (ago(v.at, Utc::now())) }
                                td { (v.actor) }
                                td {
                                    @if v.version != current && v.flag.is_some() && live {
                                        button type="button" disabled[!may_roll_back]
                                            data-post=(format!("/api/v1/flags/{key_path}/rollback"))
                                            data-body=(json!({"to_version": v.version, "version": current}).to_string())
                                            data-confirm=(format!("Roll {key} back to version {}? This saves that version's configuration as a new version, in every environment.", v.version))
                                            data-then="reload" {
                                            "Roll back to " (v.version)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            button type="submit" { "Compare" }
        }
        h2 { "Version " (from) " → version " (to) }
        (diff::render(as_json(a).as_ref(), as_json(b).as_ref()))
    };
    Ok(page(
        &who,
        Area::History,
        &format!("History of {key}"),
        body,
    ))
}
