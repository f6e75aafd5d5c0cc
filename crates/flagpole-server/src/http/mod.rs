//! The HTTP layer: the state handlers get ([`AppState`], assembled here once), the
//! extractors whose rejections are `ApiError`s ([`extract`]), access control
//! ([`auth`]), the host and origin guard ([`guard`]), the one middleware every route
//! passes ([`middleware`]), the `?preview` parameter ([`preview`]), and the OpenAPI
//! document's shared parts ([`schemas`]).
//!
//! **Layer rule:** nothing below this layer imports it; `routes` and `ui` build on it.

pub mod auth;
pub mod extract;
pub mod guard;
pub mod middleware;
pub mod preview;
pub mod schemas;
pub(crate) mod state;
pub mod views;

pub use state::AppState;
