//! Guarded rollouts. A release plan raises one rule's rollout of a flag in one environment
//! through milestones (`plan.rs`; started, paused, resumed and cancelled in
//! `control.rs`); guards (`guards.rs`) read SDK impact metrics (`impact.rs`, sent with
//! Unleash usage reports) or a Prometheus query, before each step and on every check
//! while the plan runs, and a breach rolls the flag back to its state before the plan (or
//! pauses the plan). The runner here advances plans: every `check_interval`, each
//! running plan whose lease this replica can take is checked and, when due, moved on.
//! Every change a plan makes goes through the one write service (`crate::write`),
//! audited as `release-plan:ID`.
//!
//! **Layer rule:** release calls the write service and the core; it knows nothing of HTTP.

pub mod control;
pub mod guards;
pub mod impact;
pub mod plan;
mod runner;

pub use runner::Releases;
