//! How a checked change ends: written, previewed, or written as an approved change
//! ([`Mode`]), and what the write service answers ([`Outcome`]).

use flagpole_store::Written;

use crate::preview::PreviewReport;

/// What a write does once the change is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Writes it; an environment that requires approval refuses it.
    #[default]
    Direct,
    /// Writes nothing and answers with the impact preview (`?preview=true`).
    Preview,
    /// Writes a change a second person approved (a change request, or the schedule
    /// of one): the approval rule lets it through.
    Approved,
}

/// How a write ended: with what was written (the store's `Written`, or the record as
/// stored), or with the preview.
#[derive(Debug)]
pub enum Outcome<T = Written> {
    /// Committed and published.
    Written(T),
    /// Nothing written ([`Mode::Preview`]): a report per environment the change is aimed
    /// at or changes.
    Previewed(Vec<PreviewReport>),
}

impl<T> Outcome<T> {
    /// The write of a change made in [`Mode::Direct`] or [`Mode::Approved`], which always
    /// write: only [`Mode::Preview`] answers with a preview.
    pub fn into_written(self) -> T {
        match self {
            Outcome::Written(written) => written,
            Outcome::Previewed(_) => unreachable!("only Mode::Preview previews"),
        }
    }
}
