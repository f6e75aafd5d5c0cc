//! The projects a credential reaches ([`Scope`]), and the project an Unleash-format
//! token names (`project:environment.secret`).

use crate::document::GLOBAL_PROJECT;

/// The projects a token or a person reaches: every one, or a sorted, deduplicated list
/// (possibly empty: none).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    All,
    Projects(Box<[String]>),
}

impl Scope {
    /// The scope of a stored list: `*` anywhere in it is every project.
    pub fn from_list<S: AsRef<str>>(list: &[S]) -> Scope {
        if list.iter().any(|p| p.as_ref() == GLOBAL_PROJECT) {
            return Scope::All;
        }
        let mut projects: Vec<String> = list.iter().map(|p| p.as_ref().to_string()).collect();
        projects.sort_unstable();
        projects.dedup();
        Scope::Projects(projects.into_boxed_slice())
    }

    /// One project.
    pub fn one(project: &str) -> Scope {
        Scope::Projects(Box::new([project.to_string()]))
    }

    /// Whether the scope reaches `project`.
    pub fn contains(&self, project: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Projects(list) => list.binary_search_by(|p| p.as_str().cmp(project)).is_ok(),
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }

    /// The projects listed; `None` for every project.
    pub fn projects(&self) -> Option<&[String]> {
        match self {
            Scope::All => None,
            Scope::Projects(list) => Some(list),
        }
    }

    /// The stored list: `["*"]` for every project.
    pub fn to_list(&self) -> Vec<String> {
        match self {
            Scope::All => vec![GLOBAL_PROJECT.to_string()],
            Scope::Projects(list) => list.to_vec(),
        }
    }

    /// What both scopes reach.
    pub fn intersect(&self, other: &Scope) -> Scope {
        match (self, other) {
            (Scope::All, s) | (s, Scope::All) => s.clone(),
            (Scope::Projects(a), Scope::Projects(b)) => Scope::Projects(
                a.iter()
                    .filter(|p| b.binary_search(p).is_ok())
                    .cloned()
                    .collect(),
            ),
        }
    }

    /// A short, stable fingerprint of a list of projects, for ETags (`None` for every
    /// project, whose ETags carry none).
    pub fn fingerprint(&self) -> Option<String> {
        let projects = self.projects()?;
        let mut hash = crate::hash::Murmur3::new(0);
        for p in projects {
            hash.write(p.as_bytes());
            hash.write(b"\0");
        }
        Some(format!("{:08x}", hash.finish()))
    }

    /// Whether a segment of `project` (`*`: global) is seen within this scope.
    pub fn sees_segment(&self, project: &str) -> bool {
        project == GLOBAL_PROJECT || self.contains(project)
    }
}

/// The scope an Unleash-format token text gives: `alpha:production.secret` is project
/// `alpha`, `*:…` and `[]:…` every project (`[]` is how Unleash writes a token of several
/// projects). `None` when the text is not in that format.
pub fn unleash_token_scope(text: &str) -> Option<(Scope, &str)> {
    let (project, rest) = text.split_once(':')?;
    let (environment, secret) = rest.split_once('.')?;
    if environment.is_empty() || secret.is_empty() || project.is_empty() {
        return None;
    }
    let scope = match project {
        "*" | "[]" => Scope::All,
        p => Scope::one(p),
    };
    Some((scope, environment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        let s = Scope::from_list(&["b", "a", "b"]);
        assert_eq!(s, Scope::Projects(vec!["a".into(), "b".into()].into()));
        assert!(s.contains("a") && !s.contains("c"));
        assert!(Scope::from_list(&["a", "*"]).is_all());
        assert!(!Scope::from_list::<&str>(&[]).contains("default"));
        assert_eq!(s.intersect(&Scope::from_list(&["b", "c"])), Scope::one("b"));
        assert_eq!(Scope::All.intersect(&s), s);
        assert!(s.sees_segment("*") && !s.sees_segment("c"));
    }

    #[test]
    fn unleash_token_texts() {
        let (s, env) = unleash_token_scope("alpha:production.abc").unwrap();
        assert_eq!((s, env), (Scope::one("alpha"), "production"));
        assert!(unleash_token_scope("*:development.x").unwrap().0.is_all());
        assert!(unleash_token_scope("[]:development.x").unwrap().0.is_all());
        assert_eq!(
            unleash_token_scope("default:production.x").unwrap().0,
            Scope::one("default")
        );
        assert!(unleash_token_scope("fp_client_0123").is_none());
        assert!(unleash_token_scope("a:b").is_none());
    }
}
