//! Which contexts a flag cannot place without a user id (OpenFeature's targeting key).

use crate::context::Context;
use crate::matcher::Attr;
use crate::snapshot::{CompiledServe, Snapshot, Stickiness};

impl Snapshot {
    /// Whether evaluating `key` for `ctx` would need the user id it lacks: the flag (or a
    /// flag it depends on) is on here and has a condition on `userId`, or places users by
    /// `userId` (explicitly, or by default stickiness with no session id to fall back on).
    /// Unknown flags and contexts with a user id never need one.
    pub fn needs_user_id(&self, key: &str, ctx: &Context) -> bool {
        if ctx.user_id.is_some() {
            return false;
        }
        match self.index.get(key) {
            Some(&i) => self.index_needs_user_id(i, ctx, 0),
            None => false,
        }
    }

    fn index_needs_user_id(&self, i: usize, ctx: &Context, depth: usize) -> bool {
        let flag = &self.flags[i];
        if !flag.enabled || flag.poisoned || depth > self.flags.len() {
            return false;
        }
        let by_user = |s: &Stickiness| match s {
            Stickiness::Default => ctx.session_id.is_none(),
            Stickiness::Attr(a) => *a == Attr::UserId,
            Stickiness::Random => false,
        };
        let serve_needs = |s: &CompiledServe| match s {
            CompiledServe::Split(split) => by_user(&split.stickiness),
            CompiledServe::Variant(_) => false,
        };
        flag.rules.iter().any(|r| {
            r.matchers.iter().any(|m| m.attr() == &Attr::UserId)
                || r.rollout.as_ref().is_some_and(|ro| by_user(&ro.stickiness))
                || r.serve.as_ref().is_some_and(serve_needs)
        }) || flag.default.as_ref().is_some_and(serve_needs)
            || flag
                .dependencies
                .iter()
                .filter_map(|d| d.flag)
                .any(|p| self.index_needs_user_id(p, ctx, depth + 1))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Context, Document, Snapshot};

    fn snapshot(yaml: &str) -> Snapshot {
        Snapshot::compile(&Document::from_yaml(yaml).unwrap(), "p").unwrap()
    }

    #[test]
    fn only_flags_that_place_users_by_id_need_one() {
        let s = snapshot(
            "flags:\n  plain: {environments: {p: {enabled: true}}}\n  off: {environments: {p: {enabled: false, rules: [{rollout: 5}]}}}\n  rollout: {environments: {p: {enabled: true, rules: [{rollout: 5}]}}}\n  by_plan: {environments: {p: {enabled: true, rules: [{conditions: [{attribute: plan, operator: IN, values: [a]}]}]}}}\n  by_user: {environments: {p: {enabled: true, rules: [{conditions: [{attribute: userId, operator: IN, values: [a]}]}]}}}\n  child: {environments: {p: {enabled: true, depends_on: [{flag: rollout}]}}}\n",
        );
        let anonymous = Context::default();
        let with_session = Context {
            session_id: Some("s".into()),
            ..Context::default()
        };
        assert!(!s.needs_user_id("plain", &anonymous));
        assert!(!s.needs_user_id("off", &anonymous));
        assert!(s.needs_user_id("rollout", &anonymous));
        assert!(!s.needs_user_id("rollout", &with_session));
        assert!(!s.needs_user_id("by_plan", &anonymous));
        assert!(s.needs_user_id("by_user", &with_session));
        assert!(s.needs_user_id("child", &anonymous));
        assert!(!s.needs_user_id("rollout", &Context::with_user("u")));
    }
}
