//! Running a query and decoding what it reads: every row, the one row (or none), a row by
//! its id; and a `SELECT` narrowed by the filters a caller gives.

/// Expands to the fetching helpers, as a module of [`super::store`]'s expansion.
macro_rules! expand {
    () => {
        use sqlx::QueryBuilder;

        use super::{Db, Query, Row};
        use crate::error::Error;

        /// A record read from a row: its type's one decoder, which every read of it uses.
        pub(super) trait Decode: Sized {
            fn decode(row: &Row) -> Result<Self, Error>;
        }

        /// Every row `query` reads, decoded.
        pub(super) async fn all<'c, T: Decode>(
            executor: impl sqlx::Executor<'c, Database = Db>,
            query: Query<'_>,
        ) -> Result<Vec<T>, Error> {
            query
                .fetch_all(executor)
                .await?
                .iter()
                .map(T::decode)
                .collect()
        }

        /// The row `query` reads, decoded, if it reads one.
        pub(super) async fn optional<'c, T: Decode>(
            executor: impl sqlx::Executor<'c, Database = Db>,
            query: Query<'_>,
        ) -> Result<Option<T>, Error> {
            let row = query.fetch_optional(executor).await?;
            row.as_ref().map(T::decode).transpose()
        }

        /// The one row `sql` selects by `id`, decoded.
        pub(super) async fn find<'c, T: Decode>(
            executor: impl sqlx::Executor<'c, Database = Db>,
            sql: String,
            id: i64,
        ) -> Result<Option<T>, Error> {
            optional(executor, sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id)).await
        }

        /// `select` (ending in a condition) narrowed to the rows whose `column` (a column,
        /// or an expression of one) holds `value`, for each value given.
        pub(super) fn narrowed(
            select: impl Into<String>,
            equal: &[(&str, Option<&str>)],
        ) -> QueryBuilder<Db> {
            let mut query = QueryBuilder::new(select);
            for (column, value) in equal {
                if let Some(value) = value {
                    query.push(format!(" AND {column} = ")).push_bind(*value);
                }
            }
            query
        }
    };
}
pub(crate) use expand;
