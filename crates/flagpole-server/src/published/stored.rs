//! A flag record as the published state keeps it: the bookkeeping, and the flag as
//! compact JSON, parsed when read. Parsed, a flag with a few rules in two environments
//! takes about ten kilobytes of small allocations; as JSON, about two. Evaluation never
//! reads it (it reads the compiled snapshots), so only writes, the admin API, the UI
//! and payload building pay the parse.

use chrono::{DateTime, Utc};
use flagpole_core::Flag;
use flagpole_store::FlagRecord;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

#[derive(Debug)]
pub struct StoredFlag {
    pub key: String,
    pub version: i64,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    json: Box<RawValue>,
}

impl StoredFlag {
    pub fn new(record: FlagRecord) -> StoredFlag {
        // Serializing plain data with string keys cannot fail.
        let json = serde_json::value::to_raw_value(&record.flag)
            .unwrap_or_else(|_| RawValue::NULL.to_owned());
        StoredFlag {
            key: record.key,
            version: record.version,
            archived: record.archived,
            created_at: record.created_at,
            updated_at: record.updated_at,
            json,
        }
    }

    /// The flag, parsed.
    pub fn flag(&self) -> Flag {
        serde_json::from_str(self.json.get()).unwrap_or_else(|e| {
            // Only JSON this type wrote is read, so this cannot happen; an empty flag (off
            // everywhere) is the safe answer if it ever does.
            tracing::error!(flag = %self.key, error = %e, "a published flag does not parse");
            Flag::default()
        })
    }

    /// The whole record, the flag parsed.
    pub fn record(&self) -> FlagRecord {
        FlagRecord {
            key: self.key.clone(),
            flag: self.flag(),
            version: self.version,
            archived: self.archived,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Serialized as its [`FlagRecord`] is, the flag written as stored (not parsed): what
/// the relay stream sends.
impl Serialize for StoredFlag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("FlagRecord", 6)?;
        s.serialize_field("key", &self.key)?;
        s.serialize_field("flag", &self.json)?;
        s.serialize_field("version", &self.version)?;
        s.serialize_field("archived", &self.archived)?;
        s.serialize_field("created_at", &self.created_at)?;
        s.serialize_field("updated_at", &self.updated_at)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_survives_the_compact_form() {
        let flag: Flag = flagpole_core::parse_yaml(
            r#"
type: string
description: d
variants: [{name: a, value: "x"}, {name: b, value: {"n": 1.5, "big": 12345678901234567890}}]
environments:
  production:
    enabled: true
    rules:
      - conditions: [{attribute: n, operator: NUM_GT, value: 3}]
        segments: [s]
        rollout: 40
        serve: {split: [{variant: a, weight: 1}, {variant: b, weight: 2, overrides: [{attribute: userId, values: ["7"]}]}]}
    depends_on: [{flag: p, enabled: false}]
"#,
        )
        .unwrap();
        let record = FlagRecord {
            key: "k".into(),
            flag,
            version: 3,
            archived: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let stored = StoredFlag::new(record.clone());
        assert_eq!(stored.record(), record);
        let json = serde_json::to_string(&stored).unwrap();
        assert_eq!(json, serde_json::to_string(&record).unwrap());
    }
}
