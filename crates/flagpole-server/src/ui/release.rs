//! Release plans in the UI: on the flag page, the plan of the flag in the environment
//! shown (milestones, the current one, status, guards, the last reason) with pause,
//! resume and cancel, and a form to start one; `/release-plans` lists the plans of the
//! switcher's project. The buttons and the form send JSON to
//! `/api/v1/flags/{key}/environments/{env}/release-plan` (`routes/release_plans.rs`),
//! which checks the role and protected environments again.

use chrono::Utc;
use flagpole_store::{PlanFilter, ReleasePlan};
use maud::{html, Markup};

use super::layout::{ago, field, form_error, page, Area};
use super::page::{encode, Page};
use crate::error::ApiError;
use crate::http::extract::Call;
use crate::release::guards::describe;

/// `/release-plans`: every plan, newest first.
pub async fn release_plans_page(Call(state, who): Call<Page>) -> Result<Markup, ApiError> {
    let published = state.published();
    let plans: Vec<ReleasePlan> = (state.store().release_plans(&PlanFilter::default()).await?)
        .into_iter()
        .filter(|p| who.shows(published.project_of("flag", &p.flag)))
        .collect();
    let now = Utc::now();
    let body = html! {
        p.hint { "A release plan raises a flag's rollout in one environment through milestones while its guards hold. Start one from the flag's page." }
        @if plans.is_empty() {
            p { "No release plans yet." }
        } @else {
            div.table-wrap role="region" aria-label="Release plans" tabindex="0" {
                table {
                    thead { tr {
                        th scope="col" { "Flag" } th scope="col" { "Environment" } th scope="col" { "Status" }
                        th scope="col" { "Milestone" } th scope="col" { "Guards" } th scope="col" { "Reason" } th scope="col" { "Updated" }
                    } }
                    tbody {
                        @for p in &plans {
                            tr data-plan=(p.id) {
                                td { a href=(format!("/flag/{}?env={}#release", encode(&p.flag), encode(&p.environment))) { (p.flag) } }
                                td { (p.environment) }
                                td { span.badge { (p.status) } }
                                td { (step_text(p)) }
                                td { (p.guards.len()) }
                                td { (p.reason.as_deref().unwrap_or("")) }
                                td { (ago(p.updated_at, now)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&who, Area::Releases, "Release plans", body))
}

/// The flag page's section: the plan, its buttons, and the form to start one.
pub fn plan_section(plan: Option<&ReleasePlan>, key: &str, env: &str, editable: bool) -> Markup {
    let base = format!(
        "/api/v1/flags/{}/environments/{}/release-plan",
        encode(key),
        encode(env)
    );
    let now = Utc::now();
    html! {
        section.card #release aria-labelledby="release-title" {
            h2 #release-title { "Release plan in " (env) }
            @if let Some(p) = plan {
                div.plan data-plan-status=(p.status) {
                    p {
                        span.badge { (p.status) } " "
                        (step_text(p))
                        @if let (true, Some(at)) = (p.status == "running", p.next_at) {
                            " · next step " (ago_or_in(at, now))
                        }
                        " · on breach: " (p.on_breach) " · started by " (p.created_by)
                    }
                    ol.milestones aria-label="Milestones" {
                        @for (i, m) in p.milestones.iter().enumerate() {
                            li aria-current=[(i as i64 == p.step && p.is_active()).then_some("step")] {
                                (m.percent) "%"
                                @if i + 1 < p.milestones.len() { " · wait " (wait_text(m.wait_seconds)) }
                            }
                        }
                    }
                    @if p.guards.is_empty() {
                        p.hint { "No guards." }
                    } @else {
                        ul.guards aria-label="Guards" {
                            @for g in &p.guards {
                                li { (describe(g)) " breaches when " (g.comparison) " " (g.threshold) }
                            }
                        }
                    }
                    @if let Some(r) = &p.reason { p.notice data-plan-reason { (r) } }
                    div.actions {
                        @if p.status == "running" {
                            button type="button" data-post=(format!("{base}/pause")) disabled[!editable] { "Pause" }
                        }
                        @if p.status == "paused" {
                            button type="button" data-post=(format!("{base}/resume")) disabled[!editable] { "Resume" }
                        }
                        @if p.is_active() {
                            button type="button" data-post=(format!("{base}/cancel")) disabled[!editable]
                                data-confirm=(format!("Cancel the release plan of {key} in {env}? The flag stays as it is now.")) { "Cancel plan" }
                        }
                    }
                }
            }
            @if !plan.is_some_and(ReleasePlan::is_active) {
                (start_form(&base, editable))
            }
        }
    }
}

fn start_form(base: &str, editable: bool) -> Markup {
    html! {
        form data-plan-form data-api=(format!("POST {base}")) data-then="reload" {
            fieldset disabled[!editable] {
                legend { "Start a release plan" }
                div.row {
                    (field("Milestones (rollout %)", "plan_milestones", html! {
                        input #f-plan_milestones name="plan_milestones" required maxlength="200" value="10, 50, 100";
                    }, Some("Percentages in order, separated by commas.")))
                    (field("Wait at each (seconds)", "plan_wait", html! {
                        input #f-plan_wait name="plan_wait" type="number" min="0" max="2592000" value="3600";
                    }, None))
                    (field("On a breach", "on_breach", html! {
                        select #f-on_breach name="on_breach" {
                            option value="rollback" { "roll back" }
                            option value="pause" { "pause" }
                        }
                    }, None))
                }
                (field("Guards (JSON, optional)", "guards", html! {
                    textarea #f-guards name="plan_guards" rows="3" maxlength="20000"
                        placeholder=r#"[{"source": "impact", "metric": "errors", "per": "requests", "comparison": "gt", "threshold": 0.02}]"# {}
                }, Some("A list of guards: impact metrics sent by SDKs, or a Prometheus query.")))
                (form_error())
                button.primary type="submit" { "Start release plan" }
            }
        }
    }
}

fn step_text(p: &ReleasePlan) -> String {
    let percent = p.milestones.get(p.step as usize).map_or(0, |m| m.percent);
    format!(
        "milestone {} of {} ({percent}%)",
        p.step + 1,
        p.milestones.len()
    )
}

fn wait_text(seconds: i64) -> String {
    match seconds {
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn ago_or_in(at: chrono::DateTime<Utc>, now: chrono::DateTime<Utc>) -> Markup {
    if at <= now {
        return html! { "due now" };
    }
    let secs = (at - now).num_seconds();
    html! { time datetime=(at.to_rfc3339()) { "in " (wait_text(if secs >= 3600 { secs / 3600 * 3600 } else if secs >= 60 { secs / 60 * 60 } else { secs })) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_in_the_largest_whole_unit() {
        assert_eq!(wait_text(7200), "2 h");
        assert_eq!(wait_text(600), "10 min");
        assert_eq!(wait_text(90), "90 s");
    }
}
