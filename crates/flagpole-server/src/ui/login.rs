//! The login page. The form is sent by the script to `POST /api/v1/auth/login`, which
//! sets the session cookie; then the browser goes where it was going.

use axum::extract::Query;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use super::layout::{field, form_error, head};

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_page(Query(q): Query<LoginQuery>) -> Markup {
    // Only a path on this server: never `//elsewhere` or `https://…`.
    let next = super::page::bounded(q.next, 2000)
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".into());
    html! {
        (DOCTYPE)
        html lang="en" {
            (head("Log in"))
            body.login {
                main #main {
                    form.card data-api="POST /api/v1/auth/login" data-then=(format!("go:{next}")) {
                        h1 { "Log in to Flagpole" }
                        (field("User name", "name", html! {
                            input #f-name name="name" autocomplete="username" required maxlength="200" autofocus;
                        }, None))
                        (field("Password", "password", html! {
                            input #f-password name="password" type="password" autocomplete="current-password" required maxlength="1000";
                        }, None))
                        (form_error())
                        button.primary type="submit" { "Log in" }
                    }
                }
                script src="/assets/ui.js" defer {}
            }
        }
    }
}
