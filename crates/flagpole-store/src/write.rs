//! What one write records, in the same shape on every backend: the row it found, the
//! flag or segment change it makes, and its audit entry.

use chrono::{DateTime, Utc};

use crate::records::Change;
use crate::rules::Current;

/// A flag or segment row as a write finds it (in PostgreSQL, locked until commit).
pub(crate) struct Stored {
    pub(crate) current: Current,
    /// The stored JSON document, recorded as the audit entry's `before`.
    pub(crate) body: String,
    /// The project stored with it.
    pub(crate) project: String,
}

/// A flag or segment as a write stores it: its JSON document and its project.
#[derive(Clone, Copy)]
pub(crate) struct Body<'a> {
    pub(crate) json: &'a str,
    pub(crate) project: &'a str,
}

/// One flag or segment change: its new body (`None` deletes it) and its body before.
pub(crate) struct ItemWrite<'a> {
    pub(crate) key: &'a str,
    pub(crate) body: Option<&'a str>,
    /// Its project after the change; for a deletion, the one it had.
    pub(crate) project: &'a str,
    /// Whether a flag is archived (false for segments).
    pub(crate) archived: bool,
    pub(crate) before: Option<&'a str>,
}

impl<'a> ItemWrite<'a> {
    /// Writes `body` (or deletes, `None`) over what is `stored` under `key`.
    pub(crate) fn new(
        key: &'a str,
        body: Option<Body<'a>>,
        archived: bool,
        stored: Option<&'a Stored>,
    ) -> ItemWrite<'a> {
        let stored_project = stored.map_or(flagpole_core::DEFAULT_PROJECT, |s| &s.project);
        ItemWrite {
            key,
            body: body.map(|b| b.json),
            project: body.map_or(stored_project, |b| b.project),
            archived,
            before: stored.map(|s| s.body.as_str()),
        }
    }

    /// `entry` for this change: its project, its body before and after.
    pub(crate) fn entry(&self, entry: &Entry<'a>) -> Entry<'a> {
        Entry {
            project: Some(self.project),
            before: self.before,
            after: self.body,
            ..*entry
        }
    }
}

/// The audit entry a write records; `flag`, `segment`, `project`, `before` and `after` are
/// filled in per change (an import records one per item, all with the same time and
/// version).
#[derive(Clone, Copy)]
pub(crate) struct Entry<'a> {
    pub(crate) at: DateTime<Utc>,
    pub(crate) actor: &'a str,
    pub(crate) action: &'a str,
    pub(crate) flag: Option<&'a str>,
    pub(crate) segment: Option<&'a str>,
    pub(crate) environment: Option<&'a str>,
    pub(crate) project: Option<&'a str>,
    pub(crate) before: Option<&'a str>,
    pub(crate) after: Option<&'a str>,
    pub(crate) config_version: i64,
    pub(crate) address: Option<&'a str>,
}

impl<'a> Entry<'a> {
    /// The entry for `change`, made now, producing `config_version`.
    pub(crate) fn new(change: &Change<'a>, config_version: i64) -> Entry<'a> {
        Entry {
            at: crate::rules::now(),
            actor: change.actor,
            action: change.action,
            flag: None,
            segment: None,
            environment: change.environment,
            project: None,
            before: None,
            after: None,
            config_version,
            address: change.address,
        }
    }
}

/// A yes/no setting of an environment, stored in a column of its own.
#[derive(Clone, Copy, Debug)]
pub(crate) enum EnvironmentSwitch {
    /// Only admins, and users or tokens granted it, may change the environment.
    Protected,
    /// Changes to the environment go through change requests.
    RequiresApproval,
}

impl EnvironmentSwitch {
    /// The column (a fixed name, never from input).
    pub(crate) fn column(self) -> &'static str {
        match self {
            EnvironmentSwitch::Protected => "protected",
            EnvironmentSwitch::RequiresApproval => "requires_approval",
        }
    }

    /// The audit entry's `after`: the environment's name and the new value.
    pub(crate) fn after(self, name: &str, value: bool) -> serde_json::Value {
        let mut after = serde_json::Map::new();
        after.insert("name".into(), name.into());
        after.insert(self.column().into(), value.into());
        after.into()
    }
}
