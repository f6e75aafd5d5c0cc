//! The store's SQL, written once for every backend.
//!
//! sqlx's typed API (binding values, decoding rows, executing on a connection) can be
//! used generically over `sqlx::Database` only with bounds on every value type at every
//! generic item, and Rust does not imply them from a trait. So each part below is a
//! `macro_rules!` body that [`store`] expands inside a backend's module, where it compiles
//! against that backend's concrete types: one text, compiled once per backend. All that
//! differs between backends is an item of [`crate::backend::Backend`]; statements use
//! `$N` placeholders, which both drivers bind by number.
//!
//! In an expansion, `Engine` is the backend's store type and `Db` its sqlx database;
//! `FOR_UPDATE`, `SKIP_LOCKED`, `JSON` and `BYTE_ORDER` are the fragments of SQL that
//! depend on the backend, and JSON columns are read as `CAST(column AS TEXT)`.
//!
//! Every configuration write (environments, projects, flags, segments, imports) starts by
//! raising the configuration version in the one-row `meta` table; access writes (tokens,
//! users, memberships) lock that row. Where writes run concurrently (PostgreSQL) that row's lock orders them
//! across every process; where they run one at a time (SQLite) the writer lock already
//! does. Other writes (schedules, change requests, release plans, usage) lock only the
//! rows they touch.

pub(crate) mod auth;
pub(crate) mod config;
pub(crate) mod fetch;
pub(crate) mod projects;
pub(crate) mod reads;
pub(crate) mod release;
pub(crate) mod review;
pub(crate) mod steps;

/// Implements [`crate::Store`] and its sub-traits for the store type `$engine` (a
/// [`crate::backend::Backend`] of the module invoking this).
macro_rules! store {
    ($engine:ident) => {
        /// The store's SQL ([`crate::sql`]) compiled for this backend.
        mod sql {
            use crate::backend::Backend;

            type Engine = super::$engine;
            type Db = <Engine as Backend>::Db;
            type Conn = crate::backend::Conn<Engine>;
            type Row = <Db as sqlx::Database>::Row;
            type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>;
            type Tx = sqlx::Transaction<'static, Db>;
            type Lock<'a> = <Engine as Backend>::WriteLock<'a>;

            /// Locks the rows a `SELECT` reads until commit, where writes run concurrently.
            const FOR_UPDATE: &str = if Engine::CONCURRENT_WRITES {
                " FOR UPDATE"
            } else {
                ""
            };
            /// [`FOR_UPDATE`], skipping rows another transaction holds.
            const SKIP_LOCKED: &str = if Engine::CONCURRENT_WRITES {
                " FOR UPDATE SKIP LOCKED"
            } else {
                ""
            };
            const JSON: &str = Engine::JSON;
            const BYTE_ORDER: &str = Engine::BYTE_ORDER;

            crate::sql::parts!(auth, config, fetch, projects, reads, release, review, steps);
        }
    };
}
pub(crate) use store;

/// Expands each part as a module of the same name.
macro_rules! parts {
    ($($part:ident),*) => {
        $(mod $part {
            crate::sql::$part::expand!();
        })*
    };
}
pub(crate) use parts;

/// Implements `Decode` for the record type `$record` from `$row`: the statements first,
/// then the `columns` fields read from the columns of the same name, then the other
/// fields from the expressions given (which may use what the statements bound).
macro_rules! decode {
    ($record:ident from $row:ident {
        $(let $name:ident: $type:ty = $value:expr;)*
        columns: $($column:ident),+;
        $($field:ident $(: $expr:expr)?),* $(,)?
    }) => {
        impl Decode for $record {
            fn decode($row: &Row) -> Result<$record, Error> {
                $(let $name: $type = $value;)*
                Ok($record {
                    $($column: $row.try_get(stringify!($column))?,)+
                    $($field $(: $expr)?,)*
                })
            }
        }
    };
}
pub(crate) use decode;
