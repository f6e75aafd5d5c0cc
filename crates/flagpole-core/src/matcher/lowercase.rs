//! Case-insensitive comparisons for the `STR_*` operators, against a needle already in
//! lower case, without allocating: the haystack is lowered char by char as
//! `str::to_lowercase` would lower it whole, including the one context-dependent rule (a
//! capital sigma ending a word becomes `ς`, elsewhere `σ`). ASCII text takes a byte-wise
//! shortcut.

/// Whether `haystack`, lowered, starts with `needle`.
pub(super) fn starts_with_lowercase(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        return haystack.len() >= needle.len()
            && haystack.as_bytes()[..needle.len()].eq_ignore_ascii_case(needle.as_bytes());
    }
    starts_with_at(haystack, 0, needle)
}

/// Whether `haystack`, lowered, ends with `needle`.
pub(super) fn ends_with_lowercase(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        return haystack.len() >= needle.len()
            && haystack.as_bytes()[haystack.len() - needle.len()..]
                .eq_ignore_ascii_case(needle.as_bytes());
    }
    let mut h = haystack
        .char_indices()
        .rev()
        .flat_map(|(i, c)| lower_at(haystack, i, c).rev());
    needle.chars().rev().all(|n| h.next() == Some(n))
}

/// Whether `haystack`, lowered, contains `needle`.
pub(super) fn contains_lowercase(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let n = needle.len();
        return n == 0
            || haystack
                .as_bytes()
                .windows(n)
                .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()));
    }
    needle.is_empty()
        || haystack
            .char_indices()
            .any(|(i, _)| starts_with_at(haystack, i, needle))
}

/// The lower case of the char `c` at byte `i` of `s`.
fn lower_at(s: &str, i: usize, c: char) -> std::char::ToLowercase {
    if c == 'Σ' && final_sigma(s, i) {
        return 'ς'.to_lowercase();
    }
    c.to_lowercase()
}

/// Unicode's Final_Sigma condition for the `Σ` at byte `i`: a cased letter before it and
/// none after it (skipping case-ignorable marks and punctuation between).
fn final_sigma(s: &str, i: usize) -> bool {
    let cased = |c: char| c.is_lowercase() || c.is_uppercase();
    let ignorable = |c: &char| {
        matches!(c, '\'' | '.' | ':' | '^' | '`' | '\u{00AD}' | '\u{2019}') || is_mark(*c)
    };
    let before = s[..i].chars().rev().find(|c| !ignorable(c));
    let after = s[i + 'Σ'.len_utf8()..].chars().find(|c| !ignorable(c));
    before.is_some_and(cased) && !after.is_some_and(cased)
}

/// Combining diacritical marks (the common case-ignorable range).
fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

/// `s[start..]` lowered, with the context of all of `s`.
fn lower_from(s: &str, start: usize) -> impl Iterator<Item = char> + '_ {
    s[start..]
        .char_indices()
        .flat_map(move |(i, c)| lower_at(s, start + i, c))
}

fn starts_with_at(haystack: &str, start: usize, needle: &str) -> bool {
    let mut h = lower_from(haystack, start);
    needle.chars().all(|n| h.next() == Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_string_tests() {
        assert!(starts_with_lowercase("HeLLo", "hel"));
        assert!(ends_with_lowercase("foo@OurCo.com", "@ourco.com"));
        assert!(contains_lowercase("ÀBÇdef", "bçd"));
        assert!(ends_with_lowercase("STRASSE Ä", " ä"));
        assert!(!starts_with_lowercase("he", "hel"));
        // A word-final capital sigma lowers to ς, as str::to_lowercase does.
        for (word, needle) in [
            ("ΟΔΥΣΣΕΥΣ", "ς"),
            ("ΣΟΦΙΑΣ@ourco.com", "ας@"),
            ("ΟΔΥΣΣΕΥΣ", "σσ"),
        ] {
            let lowered = word.to_lowercase();
            assert_eq!(
                ends_with_lowercase(word, needle),
                lowered.ends_with(needle),
                "{word} {needle}"
            );
            assert_eq!(
                contains_lowercase(word, needle),
                lowered.contains(needle),
                "{word} {needle}"
            );
        }
    }
}
