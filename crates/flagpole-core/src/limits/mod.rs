//! What a request or a document may contain and cost: every limit as a named constant
//! (documented in `docs/flag-format.md`, "Limits"; defined in `bounds.rs`, a leaf that
//! the readers, the context and the matchers read too), the REGEX counts the
//! document-wide limits bound, and the checks a write applies to what it changes
//! (`check.rs`, and [`check_name`] here).
//!
//! Stored documents are not held to these rules when they are loaded (a document written
//! before a limit existed still compiles and serves); [`check_change`] applies them to
//! the flags and segments a write adds or changes, and to document totals a write grows.

mod check;

pub use crate::bounds::*;
pub use crate::catalog::{flag_regexes, regexes};
pub use check::{check_change, check_item};

/// Checks a new flag key, segment name or environment name: 1 to [`MAX_NAME_LEN`]
/// ASCII letters, digits, `.`, `_` and `-`, starting with a letter or digit
/// (`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`), so it is safe in a URL path segment as it is.
/// Returns why not.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "is {} bytes long (at most {MAX_NAME_LEN} allowed)",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        let what = match c {
            '/' => "'/'".to_string(),
            c if c.is_control() => "control characters".to_string(),
            c if c.is_ascii() => format!("{c:?}"),
            c => format!("the non-ASCII character U+{:04X}", c as u32),
        };
        return Err(format!(
            "{name:?} contains {what} (allowed: ASCII letters, digits, '.', '_' and '-')"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!("{name:?} must start with a letter or a digit"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "new_ui", "v1.2-beta", "A9", &"x".repeat(MAX_NAME_LEN)] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("-x", "start with"),
            (".hidden", "start with"),
            ("a/b", "'/'"),
            ("a b", "' '"),
            ("new\u{202e}ui", "U+202E"),
            ("new\u{200b}ui", "U+200B"),
            ("caf\u{e9}", "U+00E9"),
            ("a\nb", "control"),
            (&"x".repeat(MAX_NAME_LEN + 1), "at most 100"),
        ] {
            let e = check_name(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }
}
