//! Other formats a document can be read from and written to: Unleash's `ClientFeatures`
//! (and its delta events), and the seed service's `flags.json`.

pub mod seed;
pub mod unleash;

use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::error::Error;
use crate::validate::validate;

/// The formats `flagpole` reads and writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The native document, JSON or YAML.
    #[default]
    Native,
    /// Unleash `ClientFeatures` JSON, or a list of Unleash delta events.
    Unleash,
    /// The seed service's `flags.json`.
    Seed,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "native" => Ok(Format::Native),
            "unleash" => Ok(Format::Unleash),
            "seed" => Ok(Format::Seed),
            other => Err(format!(
                "unknown format {other:?} (expected native, unleash or seed)"
            )),
        }
    }
}

/// Reads a document in `format`; imported flags are configured in `environment`.
pub fn import(text: &str, format: Format, environment: &str) -> Result<Document, Error> {
    let doc = match format {
        Format::Native => Document::from_yaml(text)?,
        Format::Unleash => unleash::import(text, environment)?,
        Format::Seed => seed::import(text, environment)?,
    };
    validate(&doc)?;
    Ok(doc)
}

/// Writes `environment` of a document in `format` (native writes every environment).
pub fn export(doc: &Document, format: Format, environment: &str) -> Result<String, Error> {
    Ok(match format {
        Format::Native => doc.to_json(),
        Format::Unleash => {
            serde_json::to_string_pretty(&unleash::export(doc, environment)).unwrap_or_default()
        }
        Format::Seed => seed::export(doc, environment)?,
    })
}
