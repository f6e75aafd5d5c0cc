//! The pools the generator draws from: context attributes with their values, operands
//! for each operator, variant names and payloads, segment names. Small on purpose so that
//! constraints, overrides and segments match often; each quirk the generator steers clear
//! of is marked where a pool avoids it.

pub(crate) const USER_IDS: &[&str] = &[
    "1",
    "2",
    "7",
    "42",
    "alice",
    "bob",
    "Carol",
    "user-9",
    "ΣΟΦΙΑ-7",
    "émile",
];
pub(crate) const SESSION_IDS: &[&str] = &["s1", "s2", "s3", "abc", "1001"];
pub(crate) const ADDRESSES: &[&str] = &[
    "10.1.2.3",
    "192.168.1.77",
    "127.0.0.1",
    "2001:db8::1",
    "8.8.8.8",
    "::1",
    "garbage",
];
pub(crate) const APP_NAMES: &[&str] = &["web", "ios", "android", "Web"];
pub(crate) const ENVIRONMENTS: &[&str] = &["production", "development", "staging"];
pub(crate) const TIMES: &[&str] = &[
    "2019-12-31T23:59:59Z",
    "2020-01-01T00:00:00Z",
    "2024-02-29T12:30:00.250Z",
    "2024-02-29T14:30:00.250+02:00",
    "2025-06-15T08:00:00Z",
    "2031-01-01T00:00:00Z",
    "not-a-date",
];
pub(crate) const TENANTS: &[&str] = &["acme", "globex", "initech", "umbrella", "42"];
pub(crate) const PLANS: &[&str] = &["free", "pro", "enterprise", "Pro", "team"];
pub(crate) const EMAILS: &[&str] = &[
    "alice@ourco.com",
    "Bob@OurCo.COM",
    "carol@example.com",
    "qa+1@ourco.com",
    "ΣΟΦΙΑ@ourco.com",
];
pub(crate) const NAMES: &[&str] = &[
    "ΟΔΥΣΣΕΑ",
    "Straße",
    "STRASSE",
    "İstanbul",
    "alice",
    "ALICE",
    "émile",
];
pub(crate) const AGES: &[&str] = &[
    "0", "17", "18", "42", "65", "2.5", "-1", "1e2", "abc", "inf", "1.",
];
pub(crate) const VERSIONS: &[&str] = &[
    "1.0.0",
    "1.2.3",
    "1.2.4",
    "2.0.0-alpha",
    "2.0.0-beta.1",
    "2.0.0",
    "10.0.0",
    "1.2",
    "v1.2.3",
    "x",
];
pub(crate) const COUNTRIES: &[&str] = &["no", "se", "us", "NO"];

/// Every attribute a context can carry, with the values it is drawn from.
pub(crate) const ATTRIBUTES: &[(&str, &[&str])] = &[
    ("userId", USER_IDS),
    ("sessionId", SESSION_IDS),
    ("remoteAddress", ADDRESSES),
    ("appName", APP_NAMES),
    ("environment", ENVIRONMENTS),
    ("currentTime", TIMES),
    ("tenant", TENANTS),
    ("plan", PLANS),
    ("email", EMAILS),
    ("name", NAMES),
    ("age", AGES),
    ("version", VERSIONS),
    ("country", COUNTRIES),
    ("signup", TIMES),
];
pub(crate) const STANDARD_FIELDS: &[&str] = &[
    "userId",
    "sessionId",
    "remoteAddress",
    "appName",
    "environment",
    "currentTime",
];

pub(crate) const NEEDLES: &[&str] = &[
    "a",
    "al",
    "@ourco.com",
    "OURCO",
    "ice",
    "Σ",
    "ς",
    "σ",
    "ΥΣ",
    "strasse",
    "ß",
    "İ",
    "i",
    "é",
    "x",
    "1",
    "",
];
// Numeric operands: never `.5`-style (yggdrasil's grammar cannot read them).
pub(crate) const NUMBERS: &[&str] = &[
    "0", "1", "-1", "17", "18", "2.5", "42", "65", "100", "1e2", "1.", "-0",
];
pub(crate) const DATES: &[&str] = &[
    "2020-01-01T00:00:00Z",
    "2024-02-29T12:30:00.250Z",
    "2025-06-15T10:00:00+02:00",
    "2030-01-01T00:00:00.000Z",
];
// Never `v`-prefixed: both engines make those never match, but that is covered by the
// client specification.
pub(crate) const SEMVERS: &[&str] = &[
    "1.0.0",
    "1.2.3",
    "2.0.0-beta.1",
    "2.0.0",
    "1.2.3-rc.1+build.5",
    "10.0.0",
];
// Backslashes only as regex escapes, never before a quote; `(` is invalid in both engines.
pub(crate) const REGEXES: &[&str] = &[
    "^a",
    r"ourco\.com$",
    r"^\d+$",
    "^pro$",
    "^[a-z]+$",
    "Σ",
    "(",
    "^.*$",
    "ice|bob",
    r"^1\.2\.\d",
];
pub(crate) const CIDRS: &[&str] = &[
    "10.0.0.0/8",
    "192.168.1.0/24",
    "127.0.0.1",
    "2001:db8::/32",
    "not-an-ip",
    "10.1.2.3/16",
    "0.0.0.0/0",
    "::1/128",
];
pub(crate) const VARIANT_NAMES: &[&str] = &["red", "green", "blue", "control", "treatment"];
pub(crate) const STRING_PAYLOADS: &[&str] =
    &["hello", "#00ff00", "", "Ünïcödé", "{not json", "a,b,c"];
pub(crate) const NUMBER_PAYLOADS: &[&str] = &["1", "42", "-3", "1.5", "1e3", "0.1"];
pub(crate) const JSON_PAYLOADS: &[&str] = &[
    r#"{"a":1}"#,
    "[1,2,3]",
    r#"{"nested":{"b":[true,null]},"n":1.0}"#,
    r#""str""#,
    "42",
    r#"{ "spaced" : 1 }"#,
];
// Repeated names and names of the form Flagpole gives unnamed segments (`segment-{id}`)
// exercise the import's renaming.
pub(crate) const SEGMENT_NAMES: &[Option<&str>] = &[
    None,
    Some("beta"),
    Some("beta"),
    Some("internal"),
    Some("segment-2"),
    Some("segment-3"),
];

/// Operators with the attributes they are tried on.
pub(crate) const LIST_ATTRS: &[&str] = &[
    "userId",
    "sessionId",
    "appName",
    "environment",
    "remoteAddress",
    "tenant",
    "plan",
    "country",
    "email",
    "name",
    "age",
    "version",
];
pub(crate) const STR_ATTRS: &[&str] = &[
    "email", "name", "plan", "userId", "appName", "country", "version",
];
pub(crate) const NUM_ATTRS: &[&str] = &["age", "userId", "sessionId", "tenant"];
pub(crate) const DATE_ATTRS: &[&str] = &["currentTime", "signup"];
pub(crate) const SEMVER_ATTRS: &[&str] = &["version", "appName"];
pub(crate) const REGEX_ATTRS: &[&str] = &["email", "name", "userId", "version", "plan"];
