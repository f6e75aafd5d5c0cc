//! The one write service: every change of a flag, a segment, an environment or an import
//! goes through here. Its operations ([`flags`], [`segments`], [`edit_environment`],
//! [`environments`], [`import`]) take the `Core`, enter the write gate themselves (one
//! write at a time in this process), read what they change under it, and commit. A flag or
//! segment change is checked in order — the protected environments it touches
//! ([`protection`]), the approval rule ([`approval`]), the limits, the change and what
//! refers to it ([`check`]) — then, as its [`Mode`] says, answered with the impact preview
//! ([`Outcome::Previewed`]) or committed with its audit entry and published from what the
//! store committed. [`commit_flag`] and [`commit_segment`] are those steps; they take a
//! [`WriteGuard`] (which only `Core::begin_write` gives), so the features that compose
//! several steps under one gate (schedules, release plans) hold it as they do. Costs what
//! the change does, not what the flag set holds.
//!
//! **Layer rule:** the write service imports the core, the preview and the layers below;
//! it knows nothing of HTTP, of the routes or of the features built on it (schedules,
//! change requests, release plans), which call it.

pub mod approval;
pub mod check;
mod commit;
mod edit;
pub mod environments;
pub mod flags;
pub mod import;
pub mod input;
mod mode;
pub mod projects;
pub mod protection;
pub mod segments;

pub use crate::core::WriteGuard;
pub use commit::{commit_flag, commit_segment, FlagChange};
pub use edit::{edit_environment, EnvEdit};
pub use mode::{Mode, Outcome};
