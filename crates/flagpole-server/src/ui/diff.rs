//! A line diff of two JSON values (pretty-printed), for History: the longest common
//! subsequence of lines, bounded so a huge flag cannot make a page slow.

use maud::{html, Markup};
use serde_json::Value;

/// Above this many lines on either side, the diff shows both sides whole.
const MAX_LINES: usize = 3000;

#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    Same(&'a str),
    Removed(&'a str),
    Added(&'a str),
}

/// The lines of `a` and `b`, each marked same, removed or added.
pub fn lines<'a>(a: &'a str, b: &'a str) -> Vec<Line<'a>> {
    let x: Vec<&str> = a.lines().collect();
    let y: Vec<&str> = b.lines().collect();
    if x.len() > MAX_LINES || y.len() > MAX_LINES {
        let mut out: Vec<Line<'a>> = x.into_iter().map(Line::Removed).collect();
        out.extend(y.into_iter().map(Line::Added));
        return out;
    }
    // lcs[i][j]: the common subsequence length of x[i..] and y[j..].
    let mut lcs = vec![vec![0u32; y.len() + 1]; x.len() + 1];
    for i in (0..x.len()).rev() {
        for j in (0..y.len()).rev() {
            lcs[i][j] = if x[i] == y[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(x.len().max(y.len()));
    while i < x.len() && j < y.len() {
        if x[i] == y[j] {
            out.push(Line::Same(x[i]));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(Line::Removed(x[i]));
            i += 1;
        } else {
            out.push(Line::Added(y[j]));
            j += 1;
        }
    }
    out.extend(x[i..].iter().map(|l| Line::Removed(l)));
    out.extend(y[j..].iter().map(|l| Line::Added(l)));
    out
}

/// Pretty JSON of a value (`null` for nothing).
pub fn pretty(v: Option<&Value>) -> String {
    v.and_then(|v| serde_json::to_string_pretty(v).ok())
        .unwrap_or_else(|| "null".into())
}

/// The diff as a `<pre>`: removed lines with `-`, added with `+`.
pub fn render(before: Option<&Value>, after: Option<&Value>) -> Markup {
    let (a, b) = (pretty(before), pretty(after));
    let diff = lines(&a, &b);
    if diff.iter().all(|l| matches!(l, Line::Same(_))) {
        return html! { p.empty { "No difference." } };
    }
    html! {
        pre.diff tabindex="0" {
            @for l in &diff {
                @match l {
                    Line::Same(t) => { span.same { "  " (t) "\n" } }
                    Line::Removed(t) => { del { "- " (t) "\n" } }
                    Line::Added(t) => { ins { "+ " (t) "\n" } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_changed_lines() {
        let d = lines("a\nb\nc", "a\nx\nc");
        assert_eq!(
            d,
            vec![
                Line::Same("a"),
                Line::Removed("b"),
                Line::Added("x"),
                Line::Same("c")
            ]
        );
    }
}
