//! Compiled conditions: operands parsed once (numbers, dates, semvers, CIDRs, regexes,
//! hashed value lists), so matching reads the context and compares, without allocating
//! (case-insensitive comparisons in `lowercase.rs`).

mod lowercase;

use std::cmp::Ordering;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use regex::Regex;

use lowercase::{contains_lowercase, ends_with_lowercase, starts_with_lowercase};

use crate::bounds::MAX_REGEX_DFA_SIZE;
use crate::condition::{Condition, Operator};
use crate::context::Context;
use crate::document::Compat;

/// Where a value is read from in the context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Attr {
    UserId,
    SessionId,
    RemoteAddress,
    AppName,
    Environment,
    CurrentTime,
    Property(Box<str>),
}

impl Attr {
    pub(crate) fn new(name: &str) -> Attr {
        match name {
            "userId" => Attr::UserId,
            "sessionId" => Attr::SessionId,
            "remoteAddress" => Attr::RemoteAddress,
            "appName" => Attr::AppName,
            "environment" => Attr::Environment,
            "currentTime" => Attr::CurrentTime,
            other => Attr::Property(other.into()),
        }
    }

    #[inline]
    pub(crate) fn get<'c>(&self, ctx: &'c Context) -> Option<&'c str> {
        match self {
            Attr::UserId => ctx.user_id.as_deref(),
            Attr::SessionId => ctx.session_id.as_deref(),
            Attr::RemoteAddress => ctx.remote_address.as_deref(),
            Attr::AppName => ctx.app_name.as_deref(),
            Attr::Environment => ctx.environment.as_deref(),
            Attr::CurrentTime => ctx.current_time.as_deref(),
            Attr::Property(name) => ctx.property(name),
        }
    }
}

/// A set of strings: a short list is scanned, a long one hashed.
#[derive(Debug)]
pub(crate) enum ValueSet {
    Few(Box<[Box<str>]>),
    /// Boxed: a hash set is large, and rare.
    Many(Box<ahash::AHashSet<Box<str>>>),
}

impl ValueSet {
    pub(crate) fn new(values: &[String]) -> ValueSet {
        if values.len() <= 8 {
            ValueSet::Few(values.iter().map(|v| v.as_str().into()).collect())
        } else {
            ValueSet::Many(Box::new(values.iter().map(|v| v.as_str().into()).collect()))
        }
    }

    #[inline]
    pub(crate) fn contains(&self, value: &str) -> bool {
        match self {
            ValueSet::Few(list) => list.iter().any(|v| &**v == value),
            ValueSet::Many(set) => set.contains(value),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum StrOp {
    StartsWith,
    EndsWith,
    Contains,
}

#[derive(Debug)]
enum Test {
    In(ValueSet),
    NotIn(ValueSet),
    Str {
        op: StrOp,
        needles: Box<[Box<str>]>,
        ignore_case: bool,
    },
    Num(Ordering, bool, f64),
    Date(Ordering, DateTime<Utc>),
    /// Boxed: a version is large, and rare.
    Semver(Ordering, bool, Box<semver::Version>),
    Regex(Regex),
    Cidr(Box<[IpNet]>),
    Const(bool),
}

/// A compiled condition.
#[derive(Debug)]
pub(crate) struct Matcher {
    attr: Attr,
    test: Test,
    inverted: bool,
}

/// Why a condition cannot be compiled: the field at fault and what is expected.
#[derive(Debug)]
pub(crate) struct ConditionError {
    pub field: &'static str,
    pub message: String,
    /// In Unleash documents, whether Unleash would refuse the whole flag for this
    /// (rather than treat the condition as never matching).
    pub poisons: bool,
}

fn refuse(field: &'static str, message: String) -> ConditionError {
    ConditionError {
        field,
        message,
        poisons: true,
    }
}

impl Matcher {
    /// Compiles a condition. In Unleash documents some malformed conditions compile to
    /// a constant `false`, as Unleash evaluates them.
    pub(crate) fn compile(c: &Condition, compat: Compat) -> Result<Matcher, ConditionError> {
        use Operator::*;
        let attr = Attr::new(&c.attribute);
        if c.attribute.is_empty() {
            return Err(refuse("attribute", "must not be empty".into()));
        }
        if compat.is_native()
            && c.case_insensitive
            && !matches!(
                c.operator,
                StrStartsWith | StrEndsWith | StrContains | Regex
            )
        {
            return Err(refuse(
                "case_insensitive",
                format!(
                    "{} compares exactly; case_insensitive applies only to STR_STARTS_WITH, STR_ENDS_WITH, STR_CONTAINS and REGEX",
                    c.operator.as_str()
                ),
            ));
        }
        let single = || -> Result<&str, ConditionError> {
            c.single_value().ok_or_else(|| {
                refuse(
                    "value",
                    format!("{} needs exactly one value in `value`", c.operator.as_str()),
                )
            })
        };
        let test = match &c.operator {
            In | NotIn | StrStartsWith | StrEndsWith | StrContains | InCidr
                if compat.is_native() && c.values.is_empty() =>
            {
                return Err(refuse(
                    "values",
                    format!(
                        "{} needs at least one value in `values`",
                        c.operator.as_str()
                    ),
                ));
            }
            In => Test::In(ValueSet::new(&c.values)),
            NotIn => Test::NotIn(ValueSet::new(&c.values)),
            StrStartsWith | StrEndsWith | StrContains => Test::Str {
                op: match c.operator {
                    StrStartsWith => StrOp::StartsWith,
                    StrEndsWith => StrOp::EndsWith,
                    _ => StrOp::Contains,
                },
                needles: c
                    .values
                    .iter()
                    .map(|v| {
                        if c.case_insensitive {
                            v.to_lowercase().into()
                        } else {
                            v.as_str().into()
                        }
                    })
                    .collect(),
                ignore_case: c.case_insensitive,
            },
            NumEq | NumGt | NumGte | NumLt | NumLte => {
                let v = single()?;
                let n: f64 = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite())
                    .ok_or_else(|| {
                        refuse(
                            "value",
                            format!("{v:?} is not a number (expected e.g. 42 or 1.5)"),
                        )
                    })?;
                let (ord, or_equal) = ordering(&c.operator);
                Test::Num(ord, or_equal, n)
            }
            DateAfter | DateBefore => {
                let v = single()?;
                let d = parse_date(v).ok_or_else(|| {
                    refuse(
                        "value",
                        format!(
                            "{v:?} is not an RFC 3339 date (expected e.g. 2026-01-31T00:00:00Z)"
                        ),
                    )
                })?;
                let ord = if c.operator == DateAfter {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                Test::Date(ord, d)
            }
            SemverEq | SemverGt | SemverLt | SemverGte | SemverLte => {
                let v = single()?;
                if !compat.is_native() && v.starts_with('v') {
                    // Unleash treats a `v`-prefixed operand as never matching, inverted or not.
                    return Ok(Matcher {
                        attr,
                        test: Test::Const(false),
                        inverted: false,
                    });
                }
                let version = semver::Version::parse(v).map_err(|e| {
                    refuse(
                        "value",
                        format!("{v:?} is not a semantic version ({e}; expected e.g. 1.2.3 or 2.0.0-beta.1)"),
                    )
                })?;
                let (ord, or_equal) = ordering(&c.operator);
                Test::Semver(ord, or_equal, Box::new(version))
            }
            Regex => {
                let pattern = match (compat, c.single_value()) {
                    (_, Some(p)) => p,
                    (Compat::Unleash, None) => "",
                    (Compat::Native, None) => single()?,
                };
                match regex::RegexBuilder::new(pattern)
                    .case_insensitive(c.case_insensitive)
                    .size_limit(1 << 20)
                    .dfa_size_limit(MAX_REGEX_DFA_SIZE)
                    .build()
                {
                    Ok(r) => Test::Regex(r),
                    Err(_) if !compat.is_native() => Test::Const(false),
                    Err(e) => {
                        return Err(refuse(
                            "value",
                            format!(
                                "{pattern:?} is not a valid regular expression: {}",
                                first_line(&e.to_string())
                            ),
                        ))
                    }
                }
            }
            InCidr => {
                let mut nets = Vec::with_capacity(c.values.len());
                for v in &c.values {
                    match parse_net(v) {
                        Some(net) => nets.push(net),
                        None if compat.is_native() => {
                            return Err(refuse(
                                "values",
                                format!("{v:?} is not an IP address or CIDR range (expected e.g. 10.0.0.0/8 or 2001:db8::/32)"),
                            ))
                        }
                        None => {}
                    }
                }
                Test::Cidr(nets.into())
            }
            Unknown(name) => {
                return Err(refuse(
                    "operator",
                    format!(
                        "unknown operator {name:?} (expected one of {})",
                        Operator::NAMES.join(", ")
                    ),
                ))
            }
        };
        Ok(Matcher {
            attr,
            test,
            inverted: c.inverted,
        })
    }

    /// Whether the context satisfies the condition.
    #[inline]
    pub(crate) fn matches(&self, ctx: &Context, now: DateTime<Utc>) -> bool {
        self.test(ctx, now) != self.inverted
    }

    fn test(&self, ctx: &Context, now: DateTime<Utc>) -> bool {
        let value = self.attr.get(ctx);
        match &self.test {
            Test::In(set) => value.is_some_and(|v| set.contains(v)),
            Test::NotIn(set) => value.is_none_or(|v| !set.contains(v)),
            Test::Str {
                op,
                needles,
                ignore_case,
            } => value.is_some_and(|v| {
                needles.iter().any(|n| match (op, ignore_case) {
                    (StrOp::StartsWith, false) => v.starts_with(&**n),
                    (StrOp::EndsWith, false) => v.ends_with(&**n),
                    (StrOp::Contains, false) => v.contains(&**n),
                    (StrOp::StartsWith, true) => starts_with_lowercase(v, n),
                    (StrOp::EndsWith, true) => ends_with_lowercase(v, n),
                    (StrOp::Contains, true) => contains_lowercase(v, n),
                })
            }),
            Test::Num(ord, or_equal, target) => {
                value.and_then(|v| v.parse::<f64>().ok()).is_some_and(|n| {
                    if *ord == Ordering::Equal {
                        (n - target).abs() < f64::EPSILON
                    } else {
                        compare(n.partial_cmp(target), *ord, *or_equal)
                    }
                })
            }
            Test::Date(ord, target) => {
                let at = match (&self.attr, value) {
                    (_, Some(v)) => parse_date(v),
                    (Attr::CurrentTime, None) => Some(now),
                    _ => None,
                };
                at.is_some_and(|at| at.cmp(target) == *ord)
            }
            Test::Semver(ord, or_equal, target) => value
                .and_then(|v| semver::Version::parse(v).ok())
                .is_some_and(|v| compare(Some(v.cmp_precedence(target)), *ord, *or_equal)),
            Test::Regex(re) => value.is_some_and(|v| re.is_match(v)),
            Test::Cidr(nets) => value
                .and_then(|v| v.parse::<IpAddr>().ok())
                .is_some_and(|ip| nets.iter().any(|n| n.contains(&ip))),
            Test::Const(b) => *b,
        }
    }
}

fn ordering(op: &Operator) -> (Ordering, bool) {
    use Operator::*;
    match op {
        NumGt | SemverGt => (Ordering::Greater, false),
        NumGte | SemverGte => (Ordering::Greater, true),
        NumLt | SemverLt => (Ordering::Less, false),
        NumLte | SemverLte => (Ordering::Less, true),
        _ => (Ordering::Equal, true),
    }
}

#[inline]
fn compare(actual: Option<Ordering>, wanted: Ordering, or_equal: bool) -> bool {
    match actual {
        Some(o) => o == wanted || (or_equal && o == Ordering::Equal),
        None => false,
    }
}

/// Parses an RFC 3339 date.
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Parses a CIDR range or a single address (as a one-address range).
fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
