//! Conditions: one test of one context attribute, with Unleash's operators.

use serde::{Deserialize, Deserializer, Serialize};

/// A test on one context attribute. All conditions of a rule must hold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// `userId`, `sessionId`, `remoteAddress`, `appName`, `environment`, `currentTime`,
    /// or the name of a free-form context property.
    pub attribute: String,
    pub operator: Operator,
    /// The list for list operators (`IN`, `NOT_IN`, `STR_*`, `IN_CIDR`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "scalars_as_strings"
    )]
    pub values: Vec<String>,
    /// The single operand of single-value operators (`NUM_*`, `DATE_*`, `SEMVER_*`,
    /// `REGEX`); a one-element `values` is accepted in its place.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "scalar_as_string"
    )]
    pub value: Option<String>,
    /// Negates the outcome.
    #[serde(default, skip_serializing_if = "is_false")]
    pub inverted: bool,
    /// Compares ignoring case (`STR_*` and `REGEX`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub case_insensitive: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Condition {
    /// The single operand of a single-value operator: `value`, or the only entry of
    /// `values`.
    pub fn single_value(&self) -> Option<&str> {
        match (&self.value, self.values.as_slice()) {
            (Some(v), _) => Some(v),
            (None, [only]) => Some(only),
            _ => None,
        }
    }
}

macro_rules! operators {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// A condition operator; the names are Unleash's.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
        pub enum Operator {
            #[default]
            $($variant,)*
            /// An operator this version does not know, kept as written. It never matches;
            /// native documents refuse it.
            Unknown(String),
        }

        impl Operator {
            /// Every known operator name, for error messages.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The operator's name as written in documents.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Operator::$variant => $name,)*
                    Operator::Unknown(s) => s,
                }
            }

            /// Parses a name; unknown names become [`Operator::Unknown`].
            pub fn parse(name: &str) -> Operator {
                match name {
                    $($name => Operator::$variant,)*
                    other => Operator::Unknown(other.to_string()),
                }
            }
        }
    };
}

operators! {
    In => "IN",
    NotIn => "NOT_IN",
    StrStartsWith => "STR_STARTS_WITH",
    StrEndsWith => "STR_ENDS_WITH",
    StrContains => "STR_CONTAINS",
    NumEq => "NUM_EQ",
    NumGt => "NUM_GT",
    NumGte => "NUM_GTE",
    NumLt => "NUM_LT",
    NumLte => "NUM_LTE",
    DateAfter => "DATE_AFTER",
    DateBefore => "DATE_BEFORE",
    SemverEq => "SEMVER_EQ",
    SemverGt => "SEMVER_GT",
    SemverLt => "SEMVER_LT",
    SemverGte => "SEMVER_GTE",
    SemverLte => "SEMVER_LTE",
    Regex => "REGEX",
    InCidr => "IN_CIDR",
}

impl Operator {
    /// Whether the operator takes one operand (`value`) rather than a list (`values`).
    pub fn is_single_value(&self) -> bool {
        use Operator::*;
        matches!(
            self,
            NumEq
                | NumGt
                | NumGte
                | NumLt
                | NumLte
                | DateAfter
                | DateBefore
                | SemverEq
                | SemverGt
                | SemverLt
                | SemverGte
                | SemverLte
                | Regex
        )
    }
}

impl Serialize for Operator {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Operator {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(Operator::parse(&name))
    }
}

/// A string: one of the known names, or any other (kept as [`Operator::Unknown`]).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Operator {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
        let known = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Operator::NAMES.iter().copied()));
        let other = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An operator this version does not know: kept as written and never matches; \
             only documents and flags imported from Unleash may use one.",
            ));
        AnyOfBuilder::new()
            .item(known)
            .item(other)
            .description(Some("A condition operator; the names are Unleash's."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Operator {
    fn name() -> std::borrow::Cow<'static, str> {
        "Operator".into()
    }
}

/// A string, number or boolean, read as its text: `values: [5, true, "x"]` is
/// `["5", "true", "x"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl From<Scalar> for String {
    fn from(s: Scalar) -> String {
        match s {
            Scalar::Str(s) => s,
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

pub(crate) fn scalars_as_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let items: Option<Vec<Scalar>> = Option::deserialize(d)?;
    Ok(items
        .unwrap_or_default()
        .into_iter()
        .map(String::from)
        .collect())
}

pub(crate) fn scalar_as_string<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let item: Option<Scalar> = Option::deserialize(d)?;
    Ok(item.map(String::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_round_trip_their_names() {
        for name in Operator::NAMES {
            assert_eq!(Operator::parse(name).as_str(), *name);
        }
        assert_eq!(
            Operator::parse("GRATER_THAN"),
            Operator::Unknown("GRATER_THAN".into())
        );
    }

    #[test]
    fn values_accept_numbers_and_booleans() {
        let c: Condition =
            serde_json::from_str(r#"{"attribute":"a","operator":"IN","values":[1,2.5,true,"x"]}"#)
                .unwrap();
        assert_eq!(c.values, ["1", "2.5", "true", "x"]);
    }
}
