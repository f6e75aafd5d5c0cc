//! The page shell (head, the project switcher, navigation, the confirmation dialog every
//! page shares) and small partials used across pages.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::page::Page;
use super::switcher::ALL;

/// Which navigation entry a page belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Flags,
    History,
    Schedules,
    ChangeRequests,
    Try,
    Releases,
    Segments,
    Projects,
    Environments,
    Tokens,
    Users,
    Account,
}

const ENTRIES: &[(Area, &str, &str)] = &[
    (Area::Flags, "/", "Flags"),
    (Area::History, "/history", "History"),
    (Area::Schedules, "/schedules", "Schedules"),
    (Area::ChangeRequests, "/change-requests", "Change requests"),
    (Area::Try, "/try", "Try it"),
    (Area::Releases, "/release-plans", "Release plans"),
    (Area::Segments, "/segments", "Segments"),
    (Area::Projects, "/projects", "Projects"),
    (Area::Environments, "/environments", "Environments"),
    (Area::Tokens, "/tokens", "Tokens"),
    (Area::Users, "/users", "Users"),
];

/// A whole page: `title` names it in the tab and as its heading.
pub fn page(who: &Page, area: Area, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                div.shell {
                    header.sidebar {
                        a.brand href="/" { (logo()) span { "Flagpole" } }
                        (switcher(who))
                        nav aria-label="Main" {
                            ul {
                                @for (a, href, label) in ENTRIES {
                                    @if (*a != Area::Users && *a != Area::Tokens) || who.is_admin() {
                                        li { a href=(href) aria-current=[(*a == area).then_some("page")] { (label) } }
                                    }
                                }
                            }
                        }
                        div.me {
                            a href="/account" aria-current=[(area == Area::Account).then_some("page")] {
                                (who.name()) " · " (who.role.as_str())
                            }
                            button.link type="button" data-logout { "Log out" }
                        }
                    }
                    main #main {
                        h1 { (title) }
                        (body)
                    }
                }
                (confirm_dialog())
                script src="/assets/ui.js" defer {}
                script src="/assets/review.js" defer {}
            }
        }
    }
}

/// The head: title, viewport, stylesheet.
pub fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " · Flagpole" }
            link rel="stylesheet" href="/assets/ui.css";
            link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
        }
    }
}

fn logo() -> Markup {
    PreEscaped(r#"<svg aria-hidden="true" width="22" height="22" viewBox="0 0 24 24"><path d="M5 2v20" stroke="currentColor" stroke-width="2" fill="none"/><path d="M6 3h12l-3 4 3 4H6z" fill="currentColor"/></svg>"#.to_string())
}

/// The dialog that asks before a change (filled in by the script).
fn confirm_dialog() -> Markup {
    html! {
        dialog #confirm aria-labelledby="confirm-title" {
            form method="dialog" {
                h2 #confirm-title { "Are you sure?" }
                div #confirm-text {}
                div.actions {
                    button type="submit" value="cancel" { "Cancel" }
                    button.primary #confirm-ok type="submit" value="ok" { "Confirm" }
                }
            }
        }
    }
}

/// The line under a form where the server's message goes when it names no field.
pub fn form_error() -> Markup {
    html! { p.error role="alert" data-form-error hidden {} }
}

/// A labelled input with a place for its error message.
pub fn field(label: &str, name: &str, input: Markup, hint: Option<&str>) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field data-field=(name) {
            label for=(id) { (label) }
            (input)
            @if let Some(hint) = hint { small.hint { (hint) } }
            p.error id=(format!("{id}-error")) hidden {}
        }
    }
}

/// "3 minutes ago" style text, with the exact time in a `<time>`.
pub fn ago(at: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> Markup {
    let secs = (now - at).num_seconds().max(0);
    let text = match secs {
        0..=59 => "just now".to_string(),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    };
    html! { time datetime=(at.to_rfc3339()) title=(at.format("%Y-%m-%d %H:%M UTC")) { (text) } }
}

/// A page for an error the user can act on (unknown flag, missing permission).
pub fn message(who: &Page, area: Area, title: &str, text: &str) -> Markup {
    page(who, area, title, html! { p { (text) } })
}

/// The switcher: a form that loads the page again with the project chosen (the script
/// sends it on change; the button is for browsers without it).
pub fn switcher(who: &Page) -> Markup {
    html! {
        form.switcher method="get" action=(who.path) aria-label="Project" {
            label for="project-switch" { "Project" }
            select #project-switch name="project" data-project-switch {
                option value=(ALL) selected[who.project.is_none()] { "All projects" }
                @for (key, name) in &who.projects {
                    option value=(key) selected[who.project.as_deref() == Some(key.as_str())] { (name) }
                }
            }
            button type="submit" data-switch-button { "Switch" }
        }
    }
}
