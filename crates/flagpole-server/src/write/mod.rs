//! The one write service: every change of a flag, a segment, an environment or an import
//! goes through here, in one process one at a time (each function takes a
//! [`WriteGuard`], which only [`Core::begin_write`](crate::core::Core::begin_write)
//! gives). A flag or segment change is checked in order — the protected environments it touches ([`protection`]), the
//! approval rule ([`approval`]), the limits, the change and what refers to it
//! ([`check`]) — then, as its [`Mode`] says, answered with the impact preview or
//! committed with its audit entry and published from what the store committed. Costs
//! what the change does, not what the flag set holds.
//!
//! **Layer rule:** the write service imports the core, the preview and the layers below;
//! it knows nothing of HTTP, of the routes or of the features built on it (schedules,
//! change requests, release plans), which call it.

pub mod approval;
pub mod check;
mod commit;
mod edit;
pub mod environments;
pub mod import;
pub mod input;
mod mode;
pub mod protection;

pub use crate::core::WriteGuard;
pub use commit::{commit_flag, commit_segment, FlagChange};
pub use edit::{edit_environment, EnvEdit};
pub use mode::{Mode, Outcome};
