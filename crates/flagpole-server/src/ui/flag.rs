//! One flag: a tab per environment with the kill switch, the editor (rules, default,
//! dependencies, variants), and SDK usage. Saving shows the change as a diff first and
//! sends the whole flag with the version it was based on to `PUT /api/v1/flags/{key}`;
//! a flag that moved on meanwhile is refused there (409) and the script shows the other
//! change. Before saving, the dialog also shows the impact preview: the same request
//! with `?preview=true`, evaluated on each touched environment's sampled contexts. Below
//! the editor, the environment's release plan (`release.rs`).

use axum::extract::Query;
use chrono::{TimeDelta, Utc};
use flagpole_store::UsageFilter;
use maud::{html, Markup};
use serde::Deserialize;

use super::chart;
use super::editor::{
    attribute_names, dependencies_editor, rules_editor, serve_editor, variants_editor,
};
use super::flags::switch;
use super::layout::{field, form_error, message, page, Area};
use super::page::{bounded, encode, json_data, Page};
use crate::error::ApiError;
use crate::http::extract::Call;
use crate::http::views::FlagResource;
use crate::identity::Role;

#[derive(Debug, Default, Deserialize)]
pub struct FlagQuery {
    env: Option<String>,
}

pub async fn flag_page(
    Call(state, who): Call<Page>,
    axum::extract::Path(key): axum::extract::Path<String>,
    Query(q): Query<FlagQuery>,
) -> Result<Markup, ApiError> {
    let published = state.published();
    let readable = published
        .flags
        .get(&key)
        .filter(|r| who.may(&r.project, Role::Viewer));
    let Some(record) = readable.map(|r| r.record()) else {
        return Ok(message(
            &who,
            Area::Flags,
            "No such flag",
            &format!("There is no flag {key:?}."),
        ));
    };
    let env = bounded(q.env, 200)
        .filter(|e| published.has_environment(e))
        .or_else(|| published.environments.first().map(|e| e.name.clone()))
        .unwrap_or_default();
    let project = record.flag.project();
    let protected = published.protected(project, &env);
    let editable = !record.archived && who.may_change(project, &env, protected);
    let config = record
        .flag
        .environments
        .get(&env)
        .cloned()
        .unwrap_or_default();
    // What its rules may use: its project's segments and the global ones, and its
    // project's other flags.
    let segments: Vec<&str> = (published.segments.iter())
        .filter(|(_, s)| s.segment.usable_in(project))
        .map(|(name, _)| name.as_str())
        .collect();
    let others: Vec<&str> = published
        .flags
        .iter()
        .filter(|(k, r)| **k != key && !r.archived && *r.project == *project)
        .map(|(k, _)| k.as_str())
        .collect();
    let now = Utc::now();
    let usage = state
        .store()
        .usage(&UsageFilter {
            flag: Some(key.clone()),
            environment: Some(env.clone()),
            since: Some(now - TimeDelta::hours(chart::HOURS)),
            until: None,
        })
        .await?;
    let plan = match crate::release::control::current(&state, &key, &env).await {
        Ok(plan) => Some(plan),
        Err(ApiError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let flag_path = encode(&key);
    let body = html! {
        div.flag-head {
            span.badge { (record.flag.flag_type.as_str()) }
            span.badge title="The version saves are based on" { "version " (record.version) }
            @if record.archived { span.badge { "archived" } }
            a href=(format!("/history?flag={flag_path}")) { "History" }
            a href=(format!("/try?flag={flag_path}&env={}", encode(&env))) { "Try it" }
            a href=(format!("/projects/{}", encode(project))) { "Project " (project) }
            @if who.may(project, Role::Editor) {
                @if record.archived {
                    button type="button" data-post=(format!("/api/v1/flags/{flag_path}/unarchive")) { "Unarchive" }
                } @else {
                    button type="button" data-post=(format!("/api/v1/flags/{flag_path}/archive"))
                        data-confirm=(format!("Archive {key}? SDKs stop receiving it; it can be unarchived later.")) { "Archive" }
                }
            }
        }
        nav.tabs aria-label="Environments" {
            @for e in &published.environments {
                a href=(format!("/flag/{flag_path}?env={}", encode(&e.name))) aria-current=[(e.name == env).then_some("page")] {
                    (e.name) @if published.protected(project, &e.name) { " " span.badge { "protected" } }
                }
            }
        }
        section.card.killswitch {
            h2 { "Kill switch in " (env) }
            div.switch-line {
                (switch(&record.key, &env, config.enabled, protected, editable))
                span { @if config.enabled { "On: rules below decide." } @else { "Off for everyone in " (env) "." } }
            }
            @if protected { p.notice { (env) " is protected: changes need an admin or a grant, and ask for confirmation." } }
            @if !editable && !record.archived { p.notice { "Your role cannot change " (env) "; the controls are read-only." } }
        }
        script #flag-json type="application/json" { (maud::PreEscaped(json_data(&FlagResource::from(record.clone())))) }
        form.editor data-flag-editor data-key=(key) data-env=(env) data-protected[protected] {
            fieldset disabled[!editable] {
                (attribute_names())
                (rules_editor(&config.rules, &record.flag.variants, &segments))
                (serve_editor(config.default.as_ref(), &record.flag.variants, false))
                @if record.flag.flag_type != flagpole_core::FlagType::Boolean {
                    (field("Off variant (served when the flag is off)", "off_variant", html! {
                        select #f-off_variant name="off_variant" data-k="off_variant" {
                            option value="" { "The first variant with a value" }
                            @for v in &record.flag.variants {
                                option value=(v.name) selected[config.off_variant.as_deref() == Some(v.name.as_str())] { (v.name) }
                            }
                        }
                    }, None))
                }
                (dependencies_editor(&config.depends_on, &others))
                details.flag-fields {
                    summary { "Description, tags and variants (all environments)" }
                    (field("Description", "description", html! {
                        textarea #f-description data-k="description" rows="2" maxlength="1000" { (record.flag.description.as_deref().unwrap_or("")) }
                    }, None))
                    (field("Tags", "tags", html! {
                        input #f-tags data-k="tags" data-list value=(record.flag.tags.join(", ")) maxlength="1000";
                    }, Some("Separated by commas.")))
                    (variants_editor(&record.flag.variants, record.flag.flag_type))
                }
                (form_error())
                div.actions {
                    button.primary type="submit" { "Review and save" }
                }
            }
        }
        dialog #review aria-labelledby="review-title" {
            h2 #review-title { "Review the change" }
            p #review-note {}
            pre.diff #review-diff tabindex="0" {}
            div.preview #review-preview role="status" aria-live="polite" {}
            div.actions {
                button type="button" data-close { "Cancel" }
                button.primary type="button" #review-save { "Save" }
            }
        }
        (super::release::plan_section(plan.as_ref(), &key, &env, editable))
        section.card {
            h2 { "Usage in " (env) }
            (chart::usage_chart(&usage, now))
        }
    };
    Ok(page(&who, Area::Flags, &key, body))
}
