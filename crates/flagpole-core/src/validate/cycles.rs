//! Dependency cycles among native flags (Unleash flags depend one level deep): every cycle
//! of a whole document, or, for a change to one flag, the cycle through it. Each is
//! reported once, at the flag where it was found, as the validator's problem.

use std::collections::HashSet;

use super::Validator;
use crate::document::{Compat, Document, Flag};

impl Validator<'_> {
    /// A dependency cycle through `key` (the flags it reaches are otherwise acyclic, as
    /// every stored flag set is), reported at `key`.
    pub(super) fn cycle_through(&mut self, key: &str) {
        // Owned keys: the catalog may parse each flag on demand.
        let parents = |flag: &Flag| -> Vec<String> {
            let mut out: Vec<String> = flag
                .environments
                .values()
                .flat_map(|e| e.depends_on.iter())
                .map(|d| d.flag.clone())
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        };
        let cat = self.cat;
        let Some(start) = cat.flag(key) else {
            return;
        };
        let mut seen: HashSet<String> = HashSet::from([key.to_string()]);
        // Depth-first, keeping the path from `key`.
        let mut stack: Vec<(String, Vec<String>, usize)> =
            vec![(key.to_string(), parents(&start), 0)];
        loop {
            let Some(top) = stack.last_mut() else {
                return;
            };
            let Some(child) = top.1.get(top.2).cloned() else {
                stack.pop();
                continue;
            };
            top.2 += 1;
            if child == key {
                // A flag naming itself is reported where it does.
                if stack.len() > 1 {
                    let mut cycle: Vec<&str> = stack.iter().map(|(k, _, _)| k.as_str()).collect();
                    cycle.push(key);
                    let message = format!("dependency cycle: {}", cycle.join(" -> "));
                    self.problem(format!("flags.{key}.environments"), message);
                    return;
                }
                continue;
            }
            if !seen.insert(child.clone()) {
                continue;
            }
            let Some(flag) = cat.flag(&child) else {
                continue;
            };
            if !Compat::of(cat.compat(), flag.compat).is_native() {
                continue;
            }
            let next = parents(&flag);
            stack.push((child, next, 0));
        }
    }

    /// Dependency cycles among native flags (Unleash flags depend one level deep), each
    /// reported once at the flag where it was found.
    pub(super) fn cycles(&mut self, doc: &Document) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        let keys: Vec<&String> = doc.flags.keys().collect();
        let edges: Vec<Vec<usize>> = doc
            .flags
            .values()
            .map(|f| {
                if !Compat::of(doc.compat, f.compat).is_native() {
                    return Vec::new();
                }
                let mut out: Vec<usize> = f
                    .environments
                    .values()
                    .flat_map(|e| e.depends_on.iter())
                    .filter_map(|d| doc.flags.get_index_of(&d.flag))
                    .collect();
                out.sort_unstable();
                out.dedup();
                out
            })
            .collect();
        let mut marks = vec![Mark::New; keys.len()];
        let mut found = Vec::new();
        for start in 0..keys.len() {
            if marks[start] != Mark::New {
                continue;
            }
            // Iterative depth-first search keeping the current path.
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            marks[start] = Mark::Active;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                if let Some(&child) = edges[node].get(*next) {
                    *next += 1;
                    match marks[child] {
                        Mark::New => {
                            marks[child] = Mark::Active;
                            stack.push((child, 0));
                        }
                        Mark::Active if child != node => {
                            let from = stack.iter().position(|(n, _)| *n == child).unwrap_or(0);
                            let mut cycle: Vec<&str> = stack[from..]
                                .iter()
                                .map(|(n, _)| keys[*n].as_str())
                                .collect();
                            cycle.push(keys[child]);
                            found.push((keys[child].clone(), cycle.join(" -> ")));
                        }
                        _ => {}
                    }
                } else {
                    marks[node] = Mark::Done;
                    stack.pop();
                }
            }
        }
        for (key, cycle) in found {
            self.problem(
                format!("flags.{key}.environments"),
                format!("dependency cycle: {cycle}"),
            );
        }
    }
}
