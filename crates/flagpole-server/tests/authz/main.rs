//! The permission matrix: every route of the router (read from the OpenAPI document the
//! router is built with, so a new route cannot be missed) × every kind of caller, each
//! with the status class it must get, and on every refusal a check that nothing was
//! written (configuration version, audit log, tokens and users, the export).
//!
//! A route missing from `matrix::POLICIES` fails the test, as does a route that answers a
//! caller it should refuse, or refuses one it should let through. Callers: no credential,
//! a malformed, unknown, revoked or expired token, client tokens of the other and the
//! right environment, a frontend token from an allowed and a disallowed origin, viewer,
//! editor and admin tokens, and a logged-in admin's session cookie with and without the
//! proof that the request comes from Flagpole's own pages (`Origin` matching `Host`).
//!
//! The data is in `matrix` (routes, policies, what each caller must get) and `callers`
//! (who calls, with which headers); the server and the requests are in `fixture`, the
//! walk in `walker`, and what the walk cannot show in `special_cases`.

#![allow(clippy::unwrap_used)]

mod callers;
#[path = "../common/mod.rs"]
mod common;
mod fixture;
mod matrix;
mod special_cases;
mod walker;
