//! Rows into records: environments, flags, segments, flag versions, audit entries and
//! usage, as the statements of [`super::config`], [`super::history`] and [`super::feed`]
//! select them (JSON columns read as text).

/// Expands to the decoders, as a module of [`super::store`]'s expansion.
macro_rules! expand {
    () => {
        use sqlx::Row as _;

        use super::Row;
        use crate::rules::{self, FLAG, SEGMENT, USAGE};
        use crate::{
            AuditEntry, Environment, Error, FlagRecord, FlagVersion, SegmentRecord, UsageRecord,
        };

        pub(super) fn environment(row: &Row) -> Result<Environment, Error> {
            Ok(Environment {
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
                protected: row.try_get("protected")?,
                requires_approval: row.try_get("requires_approval")?,
            })
        }

        pub(super) fn flag_record(row: &Row) -> Result<FlagRecord, Error> {
            let key: String = row.try_get("key")?;
            Ok(FlagRecord {
                flag: rules::parse(FLAG, &key, row.try_get("body")?)?,
                version: row.try_get("version")?,
                archived: row.try_get("archived")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                key,
            })
        }

        pub(super) fn segment_record(row: &Row) -> Result<SegmentRecord, Error> {
            let name: String = row.try_get("name")?;
            Ok(SegmentRecord {
                segment: rules::parse(SEGMENT, &name, row.try_get("body")?)?,
                version: row.try_get("version")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                name,
            })
        }

        pub(super) fn flag_version(row: &Row) -> Result<FlagVersion, Error> {
            let key: String = row.try_get("key")?;
            let body: Option<&str> = row.try_get("body")?;
            Ok(FlagVersion {
                flag: body
                    .map(|body| rules::parse(FLAG, &key, body))
                    .transpose()?,
                version: row.try_get("version")?,
                archived: row.try_get("archived")?,
                actor: row.try_get("actor")?,
                at: row.try_get("at")?,
                key,
            })
        }

        pub(super) fn audit_entry(row: &Row) -> Result<AuditEntry, Error> {
            let id: i64 = row.try_get("id")?;
            let json = |column: &str| -> Result<Option<serde_json::Value>, Error> {
                let text: Option<&str> = row.try_get(column)?;
                text.map(|text| rules::parse("audit entry", &id.to_string(), text))
                    .transpose()
            };
            Ok(AuditEntry {
                id,
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                flag: row.try_get("flag")?,
                segment: row.try_get("segment")?,
                environment: row.try_get("environment")?,
                before: json("before")?,
                after: json("after")?,
                config_version: row.try_get("config_version")?,
                address: row.try_get("address")?,
            })
        }

        pub(super) fn usage_record(row: &Row) -> Result<UsageRecord, Error> {
            let flag: String = row.try_get("flag")?;
            Ok(UsageRecord {
                environment: row.try_get("environment")?,
                bucket: row.try_get("bucket")?,
                yes: row.try_get("yes")?,
                no: row.try_get("no")?,
                variants: rules::parse(USAGE, &flag, row.try_get("variants")?)?,
                flag,
            })
        }
    };
}
pub(crate) use expand;
