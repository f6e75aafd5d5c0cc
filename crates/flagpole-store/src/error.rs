//! The crate's one error type.

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The flag, segment or environment does not exist.
    #[error("{kind} {name:?} not found")]
    NotFound { kind: &'static str, name: String },
    /// The stored version is not the one the write expected, or the key already exists.
    #[error("{kind} {name:?} {detail}")]
    Conflict {
        kind: &'static str,
        name: String,
        detail: String,
    },
    /// A value the store refuses on every backend (e.g. control characters in a name).
    #[error("{what}: {detail}")]
    Invalid { what: String, detail: String },
    /// A flag or segment that cannot be serialized to JSON for storage.
    #[error("{kind} {name:?} cannot be stored as JSON")]
    Encode {
        kind: &'static str,
        name: String,
        #[source]
        source: serde_json::Error,
    },
    /// The database's own integrity check, or the store's consistency check, failed.
    #[error("database integrity check failed: {detail}")]
    Integrity { detail: String },
    /// The database failed.
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed")]
    Migration(#[source] sqlx::migrate::MigrateError),
    /// Stored JSON that does not parse (a corrupted or foreign database).
    #[error("stored {kind} {name:?} is unreadable")]
    Corrupt {
        kind: &'static str,
        name: String,
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// Whether the database could not be reached (or stopped answering): worth retrying
    /// later, not a fault of the request.
    pub fn is_unavailable(&self) -> bool {
        let sqlx = match self {
            Error::Database(e) => e,
            Error::Migration(sqlx::migrate::MigrateError::Execute(e)) => e,
            _ => return false,
        };
        matches!(
            sqlx,
            sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed
        ) || matches!(sqlx, sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")))
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Error {
        Error::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Error {
        Error::Migration(e)
    }
}
