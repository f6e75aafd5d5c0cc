//! The flag list of the switcher's project (search, filters, a switch per environment,
//! when each flag was last evaluated) and the form that creates a flag.

use std::collections::HashMap;

use axum::extract::Query;
use chrono::{DateTime, TimeDelta, Utc};
use flagpole_core::FlagType;
use flagpole_store::UsageFilter;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{ago, field, form_error, page, Area};
use super::page::{bounded, Page};
use crate::error::ApiError;
use crate::http::extract::Call;
use crate::http::AppState;
use crate::identity::Role;
use crate::published::StoredFlag;

/// How far back "last evaluated" looks, and the largest "not evaluated for N days".
pub const USAGE_DAYS: i64 = 90;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    #[serde(rename = "type")]
    flag_type: Option<String>,
    tag: Option<String>,
    /// With `state`: the environment whose switch is filtered on.
    env: Option<String>,
    /// `on` or `off` in `env`.
    state: Option<String>,
    /// `live` (default), `archived` or `all`.
    archived: Option<String>,
    /// Only flags no SDK evaluated for this many days.
    stale: Option<String>,
}

/// When SDKs last reported evaluating each flag in each environment, from one usage
/// query over the last [`USAGE_DAYS`].
pub async fn last_evaluated(
    state: &AppState,
    now: DateTime<Utc>,
) -> Result<HashMap<(String, String), DateTime<Utc>>, ApiError> {
    let filter = UsageFilter {
        since: Some(now - TimeDelta::days(USAGE_DAYS)),
        ..UsageFilter::default()
    };
    let mut last: HashMap<(String, String), DateTime<Utc>> = HashMap::new();
    for r in state.store().usage(&filter).await? {
        if r.yes + r.no == 0 {
            continue;
        }
        // A bucket counts the hour that starts at `bucket`: its end is the latest time.
        let seen = (r.bucket + TimeDelta::hours(1)).min(now);
        let entry = last.entry((r.flag, r.environment)).or_insert(seen);
        *entry = (*entry).max(seen);
    }
    Ok(last)
}

pub async fn list_flags_page(
    Call(state, who): Call<Page>,
    Query(q): Query<ListQuery>,
) -> Result<Markup, ApiError> {
    let now = Utc::now();
    let published = state.published();
    let last = last_evaluated(&state, now).await?;
    let needle = bounded(q.q.clone(), 200).map(|n| n.to_lowercase());
    let flag_type = bounded(q.flag_type.clone(), 20);
    let tag = bounded(q.tag.clone(), 200);
    let env = bounded(q.env.clone(), 200).filter(|e| published.has_environment(e));
    let on_off = bounded(q.state.clone(), 3).and_then(|s| match s.as_str() {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    });
    let archived = bounded(q.archived.clone(), 10).unwrap_or_else(|| "live".into());
    let stale = match bounded(q.stale.clone(), 4) {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(days) if (1..=USAGE_DAYS).contains(&days) => Some(days),
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("stale must be a number of days from 1 to {USAGE_DAYS}"),
                    Some("stale".into()),
                ))
            }
        },
    };
    // The columns: the environments the switcher's project uses (every one for all),
    // each marked protected when it is for every project, or for that one.
    let project = who.project.as_deref().and_then(|p| published.project(p));
    let envs: Vec<(&str, bool)> = (published.environments.iter())
        .filter(|e| {
            project.is_none_or(|p| {
                p.environments
                    .as_ref()
                    .is_none_or(|used| used.contains(&e.name))
            })
        })
        .map(|e| {
            (
                e.name.as_str(),
                project.map_or(e.protected, |p| published.protected(&p.key, &e.name)),
            )
        })
        .collect();
    // Each flag is parsed once, and only what a row shows is kept of it.
    let mut tags: Vec<String> = Vec::new();
    let mut shown: Vec<Row> = Vec::new();
    let mut reachable = 0;
    for r in published.flags.values().filter(|r| who.shows(&r.project)) {
        reachable += 1;
        let flag = r.flag();
        tags.extend(flag.tags.iter().cloned());
        let listed = match archived.as_str() {
            "archived" => r.archived,
            "all" => true,
            _ => !r.archived,
        };
        let matches = listed
            && flag_type
                .as_deref()
                .is_none_or(|t| flag.flag_type.as_str() == t)
            && tag.as_ref().is_none_or(|t| flag.tags.contains(t))
            && match (&env, on_off) {
                (Some(e), Some(want)) => {
                    flag.environments.get(e).is_some_and(|c| c.enabled) == want
                }
                _ => true,
            }
            && needle.as_ref().is_none_or(|n| {
                r.key.to_lowercase().contains(n)
                    || flag
                        .description
                        .as_deref()
                        .is_some_and(|d| d.to_lowercase().contains(n))
                    || flag.tags.iter().any(|t| t.to_lowercase().contains(n))
            })
            && stale.is_none_or(|days| {
                let cutoff = now - TimeDelta::days(days);
                !envs.iter().any(|(e, _)| {
                    last.get(&(r.key.clone(), e.to_string()))
                        .is_some_and(|t| *t >= cutoff)
                })
            });
        if matches {
            shown.push(Row {
                on: envs
                    .iter()
                    .map(|(e, _)| flag.environments.get(*e).is_some_and(|c| c.enabled))
                    .collect(),
                record: r,
                flag_type: flag.flag_type,
                description: flag.description,
                tags: flag.tags,
            });
        }
    }
    tags.sort_unstable();
    tags.dedup();
    let body = html! {
        div.toolbar {
            form.filters method="get" action="/" role="search" aria-label="Filter flags" {
                label { span { "Search" } input type="search" name="q" value=[needle.as_deref()] maxlength="200" placeholder="key, description or tag"; }
                label { span { "Type" }
                    select name="type" {
                        option value="" { "Any" }
                        @for t in ["boolean", "string", "number", "json"] {
                            option value=(t) selected[flag_type.as_deref() == Some(t)] { (t) }
                        }
                    }
                }
                label { span { "Tag" }
                    select name="tag" {
                        option value="" { "Any" }
                        @for t in &tags { option value=(t) selected[tag.as_deref() == Some(t.as_str())] { (t) } }
                    }
                }
                label { span { "Environment" }
                    select name="env" {
                        option value="" { "Any" }
                        @for (e, _) in &envs { option value=(e) selected[env.as_deref() == Some(*e)] { (e) } }
                    }
                }
                label { span { "Switch" }
                    select name="state" {
                        option value="" { "On or off" }
                        option value="on" selected[on_off == Some(true)] { "On" }
                        option value="off" selected[on_off == Some(false)] { "Off" }
                    }
                }
                label { span { "Archived" }
                    select name="archived" {
                        option value="live" { "Live" }
                        option value="archived" selected[archived == "archived"] { "Archived" }
                        option value="all" selected[archived == "all"] { "All" }
                    }
                }
                label { span { "Not evaluated for" }
                    input type="number" name="stale" min="1" max=(USAGE_DAYS) value=[stale] placeholder="days" inputmode="numeric";
                }
                button type="submit" { "Filter" }
            }
            @if who.can_edit() { a.button.primary href="/new" { "New flag" } }
        }
        p.count { (shown.len()) " of " (reachable) " flags" }
        div.table-wrap role="region" aria-label="Flags" tabindex="0" {
            table.flags {
                thead { tr {
                    th scope="col" { "Flag" }
                    th scope="col" { "Type" }
                    @for (e, protected) in &envs {
                        th scope="col" { (e) @if *protected { " " span.badge { "protected" } } }
                    }
                } }
                tbody {
                    @for row in &shown {
                        @let r = row.record;
                        tr data-key=(r.key) data-version=(r.version) {
                            td {
                                a.key href=(format!("/flag/{}", super::page::encode(&r.key))) { (r.key) }
                                @if r.archived { " " span.badge { "archived" } }
                                @if let Some(d) = &row.description { div.desc { (d) } }
                                @if !row.tags.is_empty() {
                                    div.tags { @for t in &row.tags { span.tag { (t) } } }
                                }
                            }
                            td { (row.flag_type.as_str()) }
                            @for ((e, _), on) in envs.iter().zip(&row.on) {
                                @let protected = published.protected(&r.project, e);
                                td.env {
                                    (switch(&r.key, e, *on, protected, !r.archived && who.may_change(&r.project, e, protected)))
                                    (last_seen(last.get(&(r.key.clone(), e.to_string())).copied(), now))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&who, Area::Flags, "Flags", body))
}

/// What the list shows of one flag.
struct Row<'a> {
    record: &'a StoredFlag,
    flag_type: FlagType,
    description: Option<String>,
    tags: Vec<String>,
    /// The switch in each environment, in the order of the columns.
    on: Vec<bool>,
}

/// The kill switch of one flag in one environment (`on`: its state there).
pub fn switch(key: &str, env: &str, on: bool, protected: bool, enabled: bool) -> Markup {
    html! {
        button.switch type="button" role="switch" aria-checked=(on)
            aria-label=(format!("{key} in {env}"))
            data-toggle data-key=(key) data-env=(env)
            data-protected[protected] disabled[!enabled] {
            span aria-hidden="true" {}
        }
    }
}

fn last_seen(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Markup {
    match at {
        Some(at) => html! { small.seen { "seen " (ago(at, now)) } },
        None => html! { small.seen.never { "never seen" } },
    }
}

pub async fn new_flag_page(who: Page) -> Markup {
    let projects = who.projects_with(Role::Editor);
    let body = html! {
        @if projects.is_empty() {
            p.notice { "Your role (" (who.role.as_str()) ") can read flags but not create them." }
        }
        form.card data-api="POST /api/v1/flags" data-then="go:/flag/{key}" data-flag-form {
            fieldset disabled[projects.is_empty()] {
                (field("Project", "project", html! {
                    select #f-project name="project" {
                        @for (key, name) in &projects { option value=(key) { (name) } }
                    }
                }, Some("The project the flag belongs to; its members may read or change it.")))
                (field("Key", "key", html! {
                    input #f-key name="key" required maxlength="200" pattern="[A-Za-z0-9_.\\-]+" autocomplete="off" aria-describedby="f-key-hint";
                }, None))
                small.hint #f-key-hint { "Letters, digits, '.', '_' and '-'; it cannot be changed later." }
                (field("Type", "type", html! {
                    select #f-type name="type" data-flag-type {
                        option value="boolean" { "boolean" }
                        option value="string" { "string" }
                        option value="number" { "number" }
                        option value="json" { "json" }
                    }
                }, None))
                (field("Description", "description", html! {
                    textarea #f-description name="description" rows="2" maxlength="1000" {}
                }, None))
                (field("Tags", "tags", html! {
                    input #f-tags name="tags" data-list maxlength="1000" placeholder="checkout, team-web";
                }, Some("Separated by commas.")))
                (super::editor::variants_editor(&[], flagpole_core::FlagType::Boolean))
                (form_error())
                button.primary type="submit" { "Create flag" }
            }
        }
    };
    page(&who, Area::Flags, "New flag", body)
}
