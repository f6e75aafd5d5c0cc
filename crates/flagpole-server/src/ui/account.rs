//! The user's own account: who they are, and changing their password (sent to
//! `POST /api/v1/auth/password`).

use maud::{html, Markup};

use super::layout::{field, form_error, page, Area};
use super::page::Page;

pub async fn account_page(who: Page) -> Markup {
    let is_user = matches!(who.who.who, crate::identity::Who::User { .. });
    page(
        &who,
        Area::Account,
        "Account",
        html! {
            p { "Logged in as " strong { (who.name()) } " with the " strong { (who.role.as_str()) } " role." }
            @if is_user {
                section.card {
                    h2 { "Change password" }
                    form data-api="POST /api/v1/auth/password" data-then="message:Password changed. Your other sessions have ended." {
                        (field("Current password", "current_password", html! {
                            input #f-current_password name="current_password" type="password" autocomplete="current-password" required maxlength="1000";
                        }, None))
                        (field("New password", "new_password", html! {
                            input #f-new_password name="new_password" type="password" autocomplete="new-password" required maxlength="1000";
                        }, Some("At least 12 characters.")))
                        (form_error())
                        button.primary type="submit" { "Change password" }
                    }
                }
            }
        },
    )
}
