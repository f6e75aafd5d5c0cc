//! Checks of a JSON or YAML text's structure before it is read into a type: nesting no
//! deeper than [`MAX_DEPTH`] and no key given twice in one object or mapping (serde
//! would silently keep the last of two keys in a map). Both in time linear in the text:
//! YAML's flow nesting is measured by a scan of the text before the YAML parser sees it
//! (the parser's own work grows with the square of that depth), then one walk over the
//! parsed events checks depth and keys for both languages.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::bounds::MAX_DEPTH;
use crate::error::Error;

/// Checks JSON text. Text that is not JSON passes (the reader that follows reports it
/// with its position).
pub fn check_json(bytes: &[u8]) -> Result<(), Error> {
    let mut found = None;
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let _ = Walk::root(&mut found).deserialize(&mut *de);
    found.map_or(Ok(()), |f| Err(f.error("JSON")))
}

/// Checks YAML text (JSON is YAML too). Text that is not YAML passes (the reader that
/// follows reports it).
pub fn check_yaml(text: &str) -> Result<(), Error> {
    if flow_depth(text) > MAX_DEPTH {
        return Err(Error::TooDeep {
            format: "YAML",
            limit: MAX_DEPTH,
        });
    }
    let mut found = None;
    let _ = Walk::root(&mut found).deserialize(serde_yaml::Deserializer::from_str(text));
    found.map_or(Ok(()), |f| Err(f.error("YAML")))
}

/// The deepest nesting of `[` and `{` outside quotes and comments (an upper bound of
/// YAML's flow nesting: brackets inside plain scalars count too).
fn flow_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    let mut previous = '\n';
    while let Some(c) = chars.next() {
        match c {
            '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            '"' => {
                while let Some(q) = chars.next() {
                    match q {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '\'' if matches!(previous, ' ' | '\t' | '\n' | '[' | '{' | ',' | ':') => {
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                }
            }
            '#' if matches!(previous, ' ' | '\t' | '\n') => {
                for q in chars.by_ref() {
                    if q == '\n' {
                        break;
                    }
                }
            }
            _ => {}
        }
        previous = c;
    }
    deepest
}

/// What the walk found.
enum Found {
    TooDeep,
    Duplicate { path: String, key: String },
}

impl Found {
    fn error(self, format: &'static str) -> Error {
        match self {
            Found::TooDeep => Error::TooDeep {
                format,
                limit: MAX_DEPTH,
            },
            Found::Duplicate { path, key } => Error::DuplicateKey { format, path, key },
        }
    }
}

/// Walks one value at `depth`; `path` names it in messages.
struct Walk<'f> {
    found: &'f mut Option<Found>,
    depth: usize,
    path: String,
}

impl<'f> Walk<'f> {
    fn root(found: &'f mut Option<Found>) -> Walk<'f> {
        Walk {
            found,
            depth: 0,
            path: String::new(),
        }
    }

    fn stop<E: serde::de::Error>(self, found: Found) -> E {
        *self.found = Some(found);
        E::custom("structure")
    }

    fn child(&mut self, segment: fmt::Arguments<'_>) -> Walk<'_> {
        let path = if self.path.is_empty() {
            segment.to_string()
        } else {
            format!("{}.{segment}", self.path)
        };
        Walk {
            found: self.found,
            depth: self.depth + 1,
            path,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_i128<E>(self, _: i128) -> Result<(), E> {
        Ok(())
    }
    fn visit_u128<E>(self, _: u128) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // YAML tags (`!name value`): the value is checked as any other.
        let (IgnoredAny, variant) = data.variant::<IgnoredAny>()?;
        serde::de::VariantAccess::newtype_variant_seed(variant, self)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(self.stop(Found::TooDeep));
        }
        let mut i = 0;
        while seq
            .next_element_seed(self.child(format_args!("[{i}]")))?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(self.stop(Found::TooDeep));
        }
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key_seed(Key(self.child(format_args!("?"))))? {
            if let Some(key) = key {
                if !keys.insert(key.clone()) {
                    let path = if self.path.is_empty() {
                        ".".to_string()
                    } else {
                        self.path.clone()
                    };
                    return Err(self.stop(Found::Duplicate { path, key }));
                }
                map.next_value_seed(self.child(format_args!("{key}")))?;
            } else {
                map.next_value_seed(self.child(format_args!("?")))?;
            }
        }
        Ok(())
    }
}

/// A mapping key: its text when it is a scalar, `None` (walked, never a duplicate) when
/// it is a sequence or mapping.
struct Key<'f>(Walk<'f>);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<String>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_unit<E>(self) -> Result<Option<String>, E> {
        Ok(Some("~".into()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<String>, A::Error> {
        self.0.visit_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        self.0.visit_map(map).map(|()| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_and_duplicates() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(matches!(
            check_json(deep.as_bytes()),
            Err(Error::TooDeep { .. })
        ));
        assert!(matches!(check_yaml(&deep), Err(Error::TooDeep { .. })));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(check_json(ok.as_bytes()).is_ok());
        assert!(check_yaml(&ok).is_ok());
        let dup = r#"{"flags": {"a": {}, "b": {"x": 1, "x": 2}}}"#;
        let e = check_json(dup.as_bytes()).unwrap_err().to_string();
        assert_eq!(e, "JSON at flags.b: the key \"x\" is given twice");
        let e = check_yaml("flags:\n  a: {}\n  a: {}\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "YAML at flags: the key \"a\" is given twice");
        assert!(
            check_json(b"{\"a\": ").is_ok(),
            "syntax errors are the reader's"
        );
        assert!(check_yaml("a: '[[[[ # ]]]]'\nb: \"{{{{\"\n# [[[[[[[\n").is_ok());
    }
}
