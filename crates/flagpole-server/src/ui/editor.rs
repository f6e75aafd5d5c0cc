//! The editor's partials: variants, rules (conditions, segments, rollout, what to
//! serve), the default, dependencies. Each list renders its rows and a `<template>` of an
//! empty row from the same function, so rows the script adds are the server's markup.
//! The script reads the rows back by their `data-*` names into the API's JSON.

use flagpole_core::{Condition, Dependency, FlagType, Operator, Rule, Serve, Variant};
use maud::{html, Markup};

/// Operators whose operand is a list (one per line).
pub fn is_list(op: &str) -> bool {
    matches!(
        op,
        "IN" | "NOT_IN" | "STR_STARTS_WITH" | "STR_ENDS_WITH" | "STR_CONTAINS" | "IN_CIDR"
    )
}

fn remove_button(what: &str) -> Markup {
    html! { button.icon type="button" data-remove aria-label=(format!("Remove {what}")) title=(format!("Remove {what}")) { "✕" } }
}

/// The flag's variants: name and typed value.
pub fn variants_editor(variants: &[Variant], flag_type: FlagType) -> Markup {
    html! {
        fieldset.group data-field="variants" {
            legend { "Variants" }
            p.hint { "Values are checked as you type: text for string flags, a number for number flags, JSON for JSON flags (boolean flags may leave them empty)." }
            div.rows data-list-of="variant" data-variants {
                @for v in variants { (variant_row(Some(v), flag_type)) }
            }
            template data-template="variant" { (variant_row(None, flag_type)) }
            button type="button" data-add="variant" { "Add variant" }
            p.error hidden {}
        }
    }
}

fn variant_row(v: Option<&Variant>, flag_type: FlagType) -> Markup {
    let value = v.and_then(|v| v.value.as_ref()).map(|value| match value {
        serde_json::Value::String(s) if flag_type == FlagType::String => s.clone(),
        other => other.to_string(),
    });
    html! {
        div.row data-variant {
            label { span { "Name" } input data-k="name" value=[v.map(|v| &v.name)] required maxlength="200"; }
            label.grow { span { "Value" } input data-k="value" data-typed value=[value] maxlength="10000" spellcheck="false"; }
            (remove_button("variant"))
            p.error hidden {}
        }
    }
}

/// The ordered rules of one environment.
pub fn rules_editor(rules: &[Rule], variants: &[Variant], segments: &[&str]) -> Markup {
    html! {
        fieldset.group data-field="rules" {
            legend { "Rules" }
            p.hint { "Tried in order; the first rule that matches decides. With rules and none matching, the flag is off for that context." }
            ol.rules data-list-of="rule" data-rules {
                @for (i, r) in rules.iter().enumerate() { (rule_card(Some((i, r)), variants, segments)) }
            }
            template data-template="rule" { (rule_card(None, variants, segments)) }
            button type="button" data-add="rule" { "Add rule" }
        }
    }
}

/// A rule's card; `data-index` is its position when the page was made, so fields the
/// editor does not show (group id, Unleash strategies) are kept when it is saved.
fn rule_card(rule: Option<(usize, &Rule)>, variants: &[Variant], segments: &[&str]) -> Markup {
    let index = rule.map(|(i, _)| i);
    let rule = rule.map(|(_, r)| r);
    let rollout = rule.and_then(|r| r.rollout).unwrap_or(100);
    html! {
        li.rule data-rule data-index=[index] {
            div.rule-head {
                label.grow { span { "Rule name" } input data-k="name" value=[rule.and_then(|r| r.name.as_deref())] maxlength="200" placeholder="optional"; }
                button.icon type="button" data-move="-1" aria-label="Move rule up" title="Move up" { "↑" }
                button.icon type="button" data-move="1" aria-label="Move rule down" title="Move down" { "↓" }
                (remove_button("rule"))
            }
            div.conditions data-list-of="condition" data-conditions {
                @for c in rule.map(|r| r.conditions.as_slice()).unwrap_or_default() { (condition_row(Some(c))) }
            }
            template data-template="condition" { (condition_row(None)) }
            button type="button" data-add="condition" { "Add condition" }
            @if !segments.is_empty() {
                fieldset.segments {
                    legend { "Segments (all must hold)" }
                    @for s in segments {
                        label.check {
                            input type="checkbox" data-segment value=(s) checked[rule.is_some_and(|r| r.segments.iter().any(|x| x == s))];
                            (s)
                        }
                    }
                }
            }
            div.rollout {
                label.grow { span { "Rollout" }
                    input type="range" min="0" max="100" step="1" data-k="rollout" value=(rollout) data-rollout;
                }
                output data-rollout-out { (rollout) "%" }
                label { span { "Stickiness" }
                    input data-k="stickiness" value=[rule.and_then(|r| r.stickiness.as_deref())] placeholder="default" maxlength="200" list="attributes";
                }
            }
            (serve_editor(rule.and_then(|r| r.serve.as_ref()), variants, true))
            @if let Some(s) = rule.and_then(|r| r.strategy.as_ref()) {
                p.notice { "This rule carries the Unleash strategy " code { (s.name) } ", kept as written; it never matches." }
            }
            p.error hidden {}
        }
    }
}

/// A list of conditions on its own (a segment's).
pub fn conditions_editor(conditions: &[Condition]) -> Markup {
    html! {
        fieldset.group data-field="conditions" {
            legend { "Conditions (all must hold)" }
            div.conditions data-list-of="condition" data-conditions {
                @for c in conditions { (condition_row(Some(c))) }
            }
            template data-template="condition" { (condition_row(None)) }
            button type="button" data-add="condition" { "Add condition" }
        }
    }
}

fn condition_row(c: Option<&Condition>) -> Markup {
    let op = c.map_or("IN", |c| c.operator.as_str());
    let list = is_list(op);
    let values = c.map(|c| c.values.join("\n")).unwrap_or_default();
    let single = c.and_then(|c| c.single_value()).map(str::to_string);
    html! {
        div.condition data-condition {
            label { span { "Attribute" } input data-k="attribute" value=[c.map(|c| &c.attribute)] required maxlength="200" list="attributes"; }
            label { span { "Operator" }
                select data-k="operator" data-operator {
                    @for name in Operator::NAMES { option value=(name) selected[*name == op] { (name) } }
                }
            }
            label.grow data-values hidden[!list] { span { "Values (one per line)" }
                textarea data-k="values" rows="2" maxlength="100000" spellcheck="false" { (values) }
            }
            label.grow data-value hidden[list] { span { "Value" }
                input data-k="value" data-checked value=[single] maxlength="10000" spellcheck="false";
            }
            label.check { input type="checkbox" data-k="inverted" checked[c.is_some_and(|c| c.inverted)]; "Not" }
            label.check { input type="checkbox" data-k="case_insensitive" checked[c.is_some_and(|c| c.case_insensitive)]; "Ignore case" }
            (remove_button("condition"))
            p.error role="status" hidden {}
        }
    }
}

/// What a rule (or the default) serves: the environment's default (rules only), one
/// variant, or a weighted split shown as one bar that must make 100.
pub fn serve_editor(serve: Option<&Serve>, variants: &[Variant], in_rule: bool) -> Markup {
    let mode = match serve {
        Some(s) if !s.split.is_empty() => "split",
        Some(s) if s.variant.is_some() => "variant",
        _ => "none",
    };
    let none_label = if in_rule {
        "The environment's default"
    } else {
        "Nothing (the flag's value)"
    };
    let chosen = serve.and_then(|s| s.variant.as_deref());
    html! {
        fieldset.serve data-serve {
            legend { @if in_rule { "Serve" } @else { "Default" } }
            label { span { "What" }
                select data-k="mode" data-serve-mode {
                    option value="none" selected[mode == "none"] { (none_label) }
                    option value="variant" selected[mode == "variant"] disabled[variants.is_empty()] { "One variant" }
                    option value="split" selected[mode == "split"] disabled[variants.is_empty()] { "A weighted split" }
                }
            }
            label data-show="variant" hidden[mode != "variant"] { span { "Variant" }
                select data-k="variant" {
                    @for v in variants { option value=(v.name) selected[chosen == Some(v.name.as_str())] { (v.name) } }
                }
            }
            div data-show="split" hidden[mode != "split"] {
                div.rows data-list-of="share" data-split {
                    @for w in serve.map(|s| s.split.as_slice()).unwrap_or_default() {
                        (share_row(Some((&w.variant, w.weight)), variants))
                    }
                }
                template data-template="share" { (share_row(None, variants)) }
                div.bar data-bar aria-hidden="true" {}
                p.total data-total role="status" {}
                button type="button" data-add="share" { "Add share" }
            }
            p.error hidden {}
        }
    }
}

fn share_row(share: Option<(&String, i64)>, variants: &[Variant]) -> Markup {
    html! {
        div.row data-share {
            label { span { "Variant" }
                select data-k="variant" {
                    @for v in variants { option value=(v.name) selected[share.is_some_and(|s| *s.0 == v.name)] { (v.name) } }
                }
            }
            label { span { "Weight (%)" } input type="number" data-k="weight" min="0" max="100" step="1" value=(share.map_or(0, |s| s.1)) required; }
            (remove_button("share"))
        }
    }
}

/// The flags this one depends on in this environment.
pub fn dependencies_editor(deps: &[Dependency], other_flags: &[&str]) -> Markup {
    html! {
        fieldset.group data-field="depends_on" {
            legend { "Dependencies" }
            p.hint { "This flag is on only when each of these flags is in the given state for the same context." }
            div.rows data-list-of="dependency" data-deps {
                @for d in deps { (dependency_row(Some(d), other_flags)) }
            }
            template data-template="dependency" { (dependency_row(None, other_flags)) }
            button type="button" data-add="dependency" disabled[other_flags.is_empty()] { "Add dependency" }
        }
    }
}

fn dependency_row(d: Option<&Dependency>, other_flags: &[&str]) -> Markup {
    html! {
        div.row data-dep {
            label { span { "Flag" }
                select data-k="flag" {
                    @for f in other_flags { option value=(f) selected[d.is_some_and(|d| d.flag == *f)] { (f) } }
                }
            }
            label { span { "Must be" }
                select data-k="enabled" {
                    option value="true" selected[d.is_none_or(|d| d.enabled)] { "on" }
                    option value="false" selected[d.is_some_and(|d| !d.enabled)] { "off" }
                }
            }
            label.grow { span { "Serving one of (optional)" }
                input data-k="variants" data-list value=[d.map(|d| d.variants.join(", "))] maxlength="1000" placeholder="variant names, by commas";
            }
            (remove_button("dependency"))
        }
    }
}

/// Attribute names offered while typing (any name is allowed).
pub fn attribute_names() -> Markup {
    html! {
        datalist #attributes {
            @for a in ["userId", "sessionId", "remoteAddress", "appName", "environment", "currentTime", "email", "plan", "country", "appVersion", "tenantId", "default", "random"] {
                option value=(a) {}
            }
        }
    }
}
