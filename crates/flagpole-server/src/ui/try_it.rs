//! Try it: a context (JSON, or rows of key and value; recent ones remembered in the
//! browser) evaluated for one flag or every flag of an environment through
//! `POST /api/v1/environments/{env}/evaluate[/{key}]?explain=true`; the script shows
//! value, variant, reason and the explain trace.

use axum::extract::Query;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{form_error, page, Area};
use super::page::{bounded, Page};
use crate::http::extract::Call;

#[derive(Debug, Default, Deserialize)]
pub struct TryQuery {
    flag: Option<String>,
    env: Option<String>,
}

pub async fn try_page(Call(state, who): Call<Page>, Query(q): Query<TryQuery>) -> Markup {
    let published = state.published();
    let shown = |key: &str| published.flag_project(key).is_some_and(|p| who.shows(p));
    let flag = bounded(q.flag, 200).filter(|f| published.live_flag(f).is_some() && shown(f));
    let env = bounded(q.env, 200);
    let body = html! {
        form.card.try data-try {
            div.row {
                label { span { "Environment" }
                    select name="env" data-k="env" {
                        @for e in &published.environments { option value=(e.name) selected[env.as_deref() == Some(e.name.as_str())] { (e.name) } }
                    }
                }
                label.grow { span { "Flag" }
                    select name="flag" data-k="flag" {
                        option value="" { "Every flag" }
                        @for k in published.live_keys().filter(|k| shown(k)) { option value=(k) selected[flag.as_deref() == Some(k)] { (k) } }
                    }
                }
            }
            fieldset.group {
                legend { "Context" }
                div.rows data-list-of="pair" data-pairs {}
                template data-template="pair" {
                    div.row data-pair {
                        label { span { "Key" } input data-k="key" maxlength="200" list="context-keys" placeholder="userId"; }
                        label.grow { span { "Value" } input data-k="value" maxlength="10000"; }
                        button.icon type="button" data-remove aria-label="Remove this attribute" title="Remove" { "✕" }
                    }
                }
                datalist #context-keys {
                    @for a in ["userId", "sessionId", "remoteAddress", "appName", "environment", "currentTime", "email", "plan", "country", "appVersion"] { option value=(a) {} }
                }
                button type="button" data-add="pair" { "Add attribute" }
                label.block { span { "As JSON (Unleash or OpenFeature shape)" }
                    textarea name="context" data-context rows="6" maxlength="100000" spellcheck="false" { "{\n  \"userId\": \"user-1\"\n}" }
                }
                p.error data-json-error role="status" hidden {}
                label { span { "Recent contexts" }
                    select data-recent { option value="" { "Choose one to reuse" } }
                }
            }
            (form_error())
            button.primary type="submit" { "Evaluate" }
        }
        section #try-result aria-live="polite" {}
    };
    page(&who, Area::Try, "Try it", body)
}
