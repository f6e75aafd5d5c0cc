//! The flag document: the native, human-writable description of a set of flags and
//! segments, read from JSON or YAML. These are wire types: what a person writes and what
//! the API stores. Evaluation never reads them directly; [`Snapshot`](crate::snapshot::Snapshot) compiles them.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::error::Error;
use crate::rule::{Dependency, Rule, Serve};
use crate::structure::{check_json, check_yaml};

/// A set of flags and segments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Format version; 1 is the only one so far.
    #[serde(default = "default_version")]
    pub version: u32,
    /// Which semantics the document was written for. `native` unless it was imported
    /// from Unleash, in which case Unleash's quirks are kept so evaluations match.
    #[serde(default, skip_serializing_if = "Compat::is_native")]
    pub compat: Compat,
    /// Reusable condition lists, by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub segments: IndexMap<String, Segment>,
    /// The flags, by key.
    #[serde(default)]
    pub flags: IndexMap<String, Flag>,
}

fn default_version() -> u32 {
    1
}

impl Default for Document {
    fn default() -> Document {
        Document {
            version: default_version(),
            compat: Compat::Native,
            segments: IndexMap::new(),
            flags: IndexMap::new(),
        }
    }
}

/// Whose semantics a document follows where Flagpole and Unleash differ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Compat {
    /// Flagpole's own: transitive dependencies (cycles refused), strict validation.
    #[default]
    Native,
    /// Imported from Unleash: one-level dependencies, unknown operators and strategies
    /// kept as written (they never match), and Unleash's leniency on malformed input.
    Unleash,
}

impl Compat {
    /// True for [`Compat::Native`].
    pub fn is_native(&self) -> bool {
        matches!(self, Compat::Native)
    }

    /// The semantics of a flag or segment: Unleash's if it or its document says so.
    pub fn of(document: Compat, own: Compat) -> Compat {
        if document.is_native() {
            own
        } else {
            document
        }
    }
}

/// Parses one JSON value of type `T` (nothing may follow it), with the path to the first
/// error; `format` names the input in messages.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    text: &str,
    format: &'static str,
) -> Result<T, Error> {
    check_json(text.as_bytes()).map_err(|e| e.named(format))?;
    let de = &mut serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| Error::Parse {
        format,
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    de.end().map_err(|e| Error::Parse {
        format,
        path: String::new(),
        message: format!("unexpected text after the JSON value ({e})"),
    })?;
    Ok(value)
}

/// Parses any document part (a [`Flag`], a [`Segment`], …) from YAML or JSON, with the
/// path to the first error; input nested too deep or with a key given twice is refused
/// first (see [`crate::structure`]).
pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    check_yaml(text)?;
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| Error::Parse {
        format: "YAML",
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// A named, reusable list of conditions; a rule that names it requires all of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// The project that owns the segment: absent means `default`, `*` a global segment
    /// every project's flags may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `unleash` for a segment imported from Unleash into a native document.
    #[serde(default, skip_serializing_if = "Compat::is_native")]
    pub compat: Compat,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

impl Segment {
    /// The segment's project (`default` when it names none; `*` when global).
    pub fn project(&self) -> &str {
        self.project.as_deref().unwrap_or(DEFAULT_PROJECT)
    }

    /// Whether flags of `project` may use this segment.
    pub fn usable_in(&self, project: &str) -> bool {
        let own = self.project();
        own == GLOBAL_PROJECT || own == project
    }
}

/// One feature flag.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Flag {
    /// The project that owns the flag; absent means `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `unleash` for a flag imported from Unleash into a native document: it keeps
    /// Unleash's semantics (see [`Compat`]).
    #[serde(default, skip_serializing_if = "Compat::is_native")]
    pub compat: Compat,
    /// The type of the values the flag serves.
    #[serde(rename = "type", default)]
    pub flag_type: FlagType,
    /// The named values rules and splits can serve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Configuration per environment; an environment without an entry is off.
    #[serde(default)]
    pub environments: IndexMap<String, FlagEnvironment>,
}

/// The project every flag and segment without one belongs to.
pub const DEFAULT_PROJECT: &str = "default";

/// The project of a segment every project's flags may use.
pub const GLOBAL_PROJECT: &str = "*";

impl Flag {
    /// The flag's project (`default` when it names none).
    pub fn project(&self) -> &str {
        self.project.as_deref().unwrap_or(DEFAULT_PROJECT)
    }

    /// Whether two flags are the same apart from their per-environment configuration
    /// (description, semantics, type, variants, tags), compared without copying either.
    pub fn same_except_environments(&self, other: &Flag) -> bool {
        // Destructured, so a field added to `Flag` must be considered here.
        let Flag {
            project,
            description,
            compat,
            flag_type,
            variants,
            tags,
            environments: _,
        } = self;
        *project == other.project
            && *description == other.description
            && *compat == other.compat
            && *flag_type == other.flag_type
            && *variants == other.variants
            && *tags == other.tags
    }
}

/// The type of a flag's values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FlagType {
    #[default]
    Boolean,
    String,
    Number,
    Json,
}

impl FlagType {
    /// The name used in documents and APIs.
    pub fn as_str(&self) -> &'static str {
        match self {
            FlagType::Boolean => "boolean",
            FlagType::String => "string",
            FlagType::Number => "number",
            FlagType::Json => "json",
        }
    }

    /// Whether `value` is a value of this type.
    pub fn accepts(&self, value: &serde_json::Value) -> bool {
        match self {
            FlagType::Boolean => value.is_boolean(),
            FlagType::String => value.is_string(),
            FlagType::Number => value.is_number(),
            FlagType::Json => true,
        }
    }
}

/// A named value of a flag.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub name: String,
    /// The value served with this variant; boolean flags may leave it out (their value
    /// is whether the flag is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// The Unleash payload type this value was imported from, when the flag type alone
    /// does not say it (`csv`, or a flag whose variants mixed payload types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_type: Option<String>,
}

/// A flag's configuration in one environment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FlagEnvironment {
    /// The kill switch: when false the flag is off for everyone here.
    #[serde(default)]
    pub enabled: bool,
    /// Tried in order; the first rule that matches decides. With rules present and none
    /// matching, the flag is off for that context.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// What to serve when the flag is on and no matching rule chose a variant (including
    /// when there are no rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Serve>,
    /// String, number and JSON flags: the variant served when nothing else names one
    /// here (the flag is off, or on without a variant). Absent: the flag's first variant
    /// with a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_variant: Option<String>,
    /// Flags that must be in a given state for this one to be on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Dependency>,
}

impl Document {
    /// Parses a document from JSON, with the path to the first syntax or type error.
    pub fn from_json(text: &str) -> Result<Document, Error> {
        parse_json(text, "JSON")
    }

    /// Parses a document from YAML (JSON is YAML too), with the path to the first error.
    pub fn from_yaml(text: &str) -> Result<Document, Error> {
        parse_yaml(text)
    }

    /// Moves a document-level `compat: unleash` onto each flag and segment, so they keep
    /// their semantics when merged into a native document.
    pub fn mark_compat_per_item(&mut self) {
        if self.compat.is_native() {
            return;
        }
        for flag in self.flags.values_mut() {
            flag.compat = self.compat;
        }
        for segment in self.segments.values_mut() {
            segment.compat = self.compat;
        }
        self.compat = Compat::Native;
    }

    /// Puts every flag and segment that names no project into `project` (an import into
    /// one project); those that name one keep it.
    pub fn place_in(&mut self, project: &str) {
        for flag in self.flags.values_mut() {
            flag.project.get_or_insert_with(|| project.to_string());
        }
        for segment in self.segments.values_mut() {
            segment.project.get_or_insert_with(|| project.to_string());
        }
    }

    /// What one project holds: its flags, and the segments they may use (its own and
    /// the global ones).
    pub fn of_project(&self, project: &str) -> Document {
        Document {
            version: self.version,
            compat: self.compat,
            segments: (self.segments.iter())
                .filter(|(_, s)| s.usable_in(project))
                .map(|(name, s)| (name.clone(), s.clone()))
                .collect(),
            flags: (self.flags.iter())
                .filter(|(_, f)| f.project() == project)
                .map(|(key, f)| (key.clone(), f.clone()))
                .collect(),
        }
    }

    /// Serializes to pretty JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Serializes to YAML.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placing_and_picking_one_project() {
        let mut doc = Document::from_yaml(
            "segments: {mine: {}, theirs: {project: beta}, shared: {project: '*'}}\n\
             flags: {a: {}, b: {project: beta}}\n",
        )
        .expect("document");
        doc.place_in("alpha");
        assert_eq!(doc.flags["a"].project(), "alpha");
        assert_eq!(doc.flags["b"].project(), "beta");
        assert_eq!(doc.segments["mine"].project(), "alpha");
        let alpha = doc.of_project("alpha");
        assert_eq!(alpha.flags.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(
            alpha.segments.keys().collect::<Vec<_>>(),
            ["mine", "shared"]
        );
    }
}
