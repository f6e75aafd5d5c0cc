//! Every native endpoint under `/api/v1`, health and metrics: what each answers, that
//! updates carry the version they are based on (body `version` or `If-Match`), and that
//! history, versions, diff and rollback tell the truth. One module an area.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod environments;
mod evaluation;
mod flag_environments;
mod flags;
mod history;
mod segments;
mod service;
mod transfer;
