//! A flag record as the published state keeps it: the bookkeeping, and the flag as
//! deflated JSON, inflated and parsed when read. Parsed, a flag with a few rules in two
//! environments takes about ten kilobytes of small allocations; as JSON about two; as
//! deflated JSON about a third of one (keys and operators repeat). Evaluation never
//! reads it (it reads the compiled snapshots), so only writes, the admin API, the UI
//! and payload building pay the few microseconds of inflating and parsing.

use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use flagpole_core::Flag;
use flagpole_store::FlagRecord;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use serde::ser::{Error as _, SerializeStruct};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

#[derive(Debug)]
pub struct StoredFlag {
    pub key: String,
    pub version: i64,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The flag's project, read without inflating the flag.
    pub project: Box<str>,
    /// The flag as JSON, deflated.
    deflated: Box<[u8]>,
}

impl StoredFlag {
    pub fn new(record: FlagRecord) -> StoredFlag {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::fast());
        // Serializing plain data with string keys into memory cannot fail.
        let deflated = serde_json::to_writer(&mut encoder, &record.flag)
            .map_err(std::io::Error::from)
            .and_then(|()| encoder.flush())
            .and_then(|()| encoder.finish())
            .unwrap_or_default();
        StoredFlag {
            project: record.flag.project().into(),
            key: record.key,
            version: record.version,
            archived: record.archived,
            created_at: record.created_at,
            updated_at: record.updated_at,
            deflated: deflated.into_boxed_slice(),
        }
    }

    /// The flag as JSON.
    fn json(&self) -> std::io::Result<String> {
        let mut json = String::with_capacity(self.deflated.len() * 6);
        DeflateDecoder::new(&self.deflated[..]).read_to_string(&mut json)?;
        Ok(json)
    }

    /// The flag, parsed.
    pub fn flag(&self) -> Flag {
        let parsed = self
            .json()
            .and_then(|json| serde_json::from_str(&json).map_err(std::io::Error::from));
        parsed.unwrap_or_else(|e| {
            // Only what this type wrote is read, so this cannot happen; an empty flag (off
            // everywhere) is the safe answer if it ever does.
            tracing::error!(flag = %self.key, error = %e, "a published flag does not read back");
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

/// Equal when the records are (the flags compared parsed).
impl PartialEq for StoredFlag {
    fn eq(&self, other: &StoredFlag) -> bool {
        self.record() == other.record()
    }
}

/// Serialized as its [`FlagRecord`] is, the flag written as stored (not parsed): what
/// the relay stream sends.
impl Serialize for StoredFlag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("FlagRecord", 6)?;
        s.serialize_field("key", &self.key)?;
        let json = self.json().map_err(S::Error::custom)?;
        let flag = RawValue::from_string(json).map_err(S::Error::custom)?;
        s.serialize_field("flag", &flag)?;
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
