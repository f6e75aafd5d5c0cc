//! The cache file (the last good state, in the native stream's `snapshot` format,
//! written atomically) and the bootstrap file (a native document).

use std::path::Path;

use flagpole_core::Document;

use crate::error::{Error, Result};
use crate::state::FlagSet;

/// The cached flag set of `environment`; `None` when there is no cache file or it holds
/// another environment.
pub(crate) fn read(path: &Path, environment: &str) -> Result<Option<FlagSet>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::File {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let set = FlagSet::from_json(&bytes).map_err(|e| Error::Invalid {
        what: path.display().to_string(),
        source: flagpole_core::Error::Parse {
            format: "JSON",
            path: String::new(),
            message: e.to_string(),
        },
    })?;
    Ok((set.environment == environment).then_some(set))
}

/// Writes the flag set, atomically (a temporary file renamed over the old one); a
/// failure is logged, never fatal.
pub(crate) async fn write(path: Option<&Path>, set: &FlagSet) {
    let Some(path) = path else { return };
    let bytes = set.to_json();
    let path = path.to_path_buf();
    let result = tokio::task::spawn_blocking(move || {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| Error::Write { path, source })
    })
    .await;
    if let Ok(Err(e)) = result {
        tracing::warn!(error = %e, "flagpole: cannot write the cache file");
    }
}

/// A native document in JSON, or YAML when the name ends in `.yaml` or `.yml`.
pub(crate) fn read_document(path: &Path) -> Result<Document> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::File {
        path: path.to_path_buf(),
        source,
    })?;
    let yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let doc = if yaml {
        flagpole_core::parse_yaml::<Document>(&text)
    } else {
        Document::from_json(&text)
    };
    doc.map_err(|source| Error::Invalid {
        what: path.display().to_string(),
        source,
    })
}
