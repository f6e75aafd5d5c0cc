//! The OpenAPI document served at `/api/v1/openapi.json` against the router it is
//! generated with. It fails when they drift apart:
//!
//! - every documented operation reaches a handler (not the 404 route fallback, not 405),
//!   answers a status the operation documents, with a body of the documented shape;
//! - every method a documented path does not document is refused with 405;
//! - every route the source registers (`routes!` handlers, and any plain `.route("…")`
//!   anywhere under `src/`) is in the document, and the document has nothing else;
//! - the document is OpenAPI 3.1.0, its `$ref`s resolve, its operation ids are unique and
//!   its path parameters match the path templates.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use axum::http::header::CONTENT_TYPE;
use axum::http::Method;
use common::{operations, Harness, Payload, Reply, METHODS};
use serde_json::Value;

async fn document(h: &Harness) -> Value {
    let reply = h.get("/api/v1/openapi.json").await.expect(200);
    assert_eq!(mime(&reply), Some("application/json".into()));
    reply.json()
}

/// The path with each `{param}` replaced by a dummy value of the parameter's type.
fn fill(path: &str, op: &Value) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("closed parameter") + start;
        let name = &rest[start + 1..end];
        let param = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["in"] == "path" && p["name"] == name)
            .unwrap_or_else(|| panic!("{path}: path parameter {name} is not declared"));
        out.push_str(&rest[..start]);
        out.push_str(if param["schema"]["type"] == "integer" {
            "1"
        } else {
            "drift-check"
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn mime(reply: &Reply) -> Option<String> {
    let ct = reply.headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(ct.split(';').next()?.trim().to_ascii_lowercase())
}

/// The router's answer to a path it does not know.
fn is_route_fallback(reply: &Reply) -> bool {
    reply.status == 404
        && serde_json::from_slice::<Value>(&reply.body).is_ok_and(|b| {
            b["code"] == "not_found"
                && b["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("route"))
        })
}

/// Follows a `$ref` (a JSON pointer into the document).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.strip_prefix('#').expect("local reference"))
            .unwrap_or_else(|| panic!("unresolved {r}")),
        None => schema,
    }
}

/// Checks a JSON body against the top level of its documented object schema: required
/// properties present and, where the schema is closed, no others.
fn check_shape(doc: &Value, schema: &Value, body: &Value, what: &str) {
    let schema = resolve(doc, schema);
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("{what}: expected an object, got {body}"));
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().unwrap();
        assert!(
            object.contains_key(name),
            "{what}: `{name}` missing from {body}"
        );
    }
    if schema["additionalProperties"] == false {
        for key in object.keys() {
            assert!(
                properties.contains_key(key),
                "{what}: undocumented `{key}` in {body}"
            );
        }
    }
}

#[tokio::test]
async fn every_documented_operation_reaches_its_handler() {
    let h = Harness::new().await;
    let doc = document(&h).await;
    let ops = operations(&doc);
    assert!(ops.len() > 40, "only {} operations documented", ops.len());
    for (method, path, op) in ops {
        let uri = fill(&path, &op);
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let reply = h.send(m, &uri, &[], Payload::Empty).await;
        let what = format!("{} {uri} ({})", method.to_uppercase(), reply.status);
        assert!(
            !is_route_fallback(&reply),
            "{what}: no route: {}",
            reply.text()
        );
        assert_ne!(
            reply.status,
            405,
            "{what}: method not routed: {}",
            reply.text()
        );
        let response = op["responses"]
            .get(reply.status.as_str())
            .unwrap_or_else(|| panic!("{what}: status not documented; body {}", reply.text()));
        let Some(content) = response["content"].as_object() else {
            assert!(
                reply.body.is_empty(),
                "{what}: undocumented body {}",
                reply.text()
            );
            continue;
        };
        let mime = mime(&reply).unwrap_or_else(|| panic!("{what}: no Content-Type"));
        let media = content
            .get(&mime)
            .unwrap_or_else(|| panic!("{what}: {mime} is not documented"));
        if mime == "application/json" {
            check_shape(&doc, &media["schema"], &reply.json(), &what);
        }
    }
}

#[tokio::test]
async fn methods_a_path_does_not_document_are_refused() {
    let h = Harness::new().await;
    let doc = document(&h).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let op = METHODS.iter().find_map(|m| item.get(*m)).unwrap();
        let uri = fill(path, op);
        for method in METHODS.iter().filter(|m| item.get(**m).is_none()) {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let reply = h.send(m, &uri, &[], Payload::Empty).await;
            assert_eq!(
                reply.status,
                405,
                "{} {uri} is routed but not documented: {}",
                method.to_uppercase(),
                reply.text()
            );
        }
    }
}

#[tokio::test]
async fn every_route_in_the_source_is_documented() {
    let h = Harness::new().await;
    let doc = document(&h).await;
    let mut documented: Vec<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let mut registered = Vec::new();
    for file in rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")) {
        let source = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let annotated = annotations(&source);
        // `routes!(a, b)`, or an area's `router!(pub fn router: a, b; c)`.
        let listed = macro_args(&source, "routes!(").into_iter().chain(
            macro_args(&source, "router!(")
                .into_iter()
                .filter_map(|args| Some(args.split_once(':')?.1.to_string())),
        );
        let handlers: Vec<String> = listed
            .flat_map(|args| {
                args.split([',', ';'])
                    .map(|h| h.trim().to_string())
                    .collect::<Vec<_>>()
            })
            // Names only: not the `router!` macro's own body (`$($handler),+`).
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_alphanumeric() || c == '_'))
            .collect();
        for handler in &handlers {
            let (method, path) = annotated
                .get(handler)
                .unwrap_or_else(|| panic!("{name}: {handler} is routed without #[utoipa::path]"));
            registered.push((format!("{name}: {handler}"), method.clone(), path.clone()));
        }
        for handler in annotated.keys() {
            assert!(
                handlers.contains(handler),
                "{name}: {handler} has #[utoipa::path] but is not in a routes!(…)"
            );
        }
        // Plain axum registrations bypass the document: each must still be documented,
        // except the web UI's HTML pages (src/ui), which `tests/ui_pages.rs` lists and
        // checks instead.
        if file.components().any(|c| c.as_os_str() == "ui") {
            continue;
        }
        for call in [".route(", ".route_service(", ".nest_service("] {
            for path in string_args(&source, call) {
                assert!(
                    documented.iter().any(|(_, p)| p.ends_with(&path)),
                    "{name}: {call}\"{path}\" is not in the document"
                );
            }
        }
    }
    // Each registered handler is one documented operation (areas are nested under a
    // prefix, so the source path is a suffix of the documented one), and nothing else is
    // documented. Exact matches are taken first.
    registered.sort_by_key(|(_, _, path)| std::cmp::Reverse(path.len()));
    for (handler, method, path) in &registered {
        let found = documented
            .iter()
            .position(|(m, p)| m == method && p == path)
            .or_else(|| {
                documented
                    .iter()
                    .position(|(m, p)| m == method && p.ends_with(path.as_str()))
            })
            .unwrap_or_else(|| panic!("{handler} ({method} {path}) is not in the document"));
        documented.remove(found);
    }
    assert!(
        documented.is_empty(),
        "documented but not registered in src/: {documented:?}"
    );
}

#[tokio::test]
async fn document_is_openapi_3_1_with_resolvable_references() {
    let h = Harness::new().await;
    let doc = document(&h).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Flagpole");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let mut refs = BTreeSet::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.contains("#/components/schemas/ErrorBody"));
    for r in &refs {
        resolve(&doc, &serde_json::json!({ "$ref": r }));
    }
    let mut ids = BTreeMap::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap().to_string();
        if let Some(other) = ids.insert(id.clone(), format!("{method} {path}")) {
            panic!("operationId {id} used by {other} and {method} {path}");
        }
        let template: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(name, _)| name))
            .collect();
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(template, declared, "{method} {path}: path parameters");
    }
    // Resources that flatten a core type are one closed object, not an `allOf` whose
    // closed part would refuse the resource's own fields.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for (name, schema) in schemas {
        assert!(schema.get("allOf").is_none(), "{name} is an allOf");
    }
    let flag = &schemas["FlagResource"];
    assert_eq!(flag["additionalProperties"], false);
    for field in ["key", "version", "archived", "environments", "type"] {
        assert!(
            flag["properties"].get(field).is_some(),
            "FlagResource.{field}"
        );
    }
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.insert(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The text between `open` (ending in `(`) and its matching `)`, for each occurrence.
fn macro_args(source: &str, open: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find(open) {
        let after = &rest[start + open.len()..];
        let mut depth = 1;
        let end = after
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("balanced parentheses");
        out.push(after[..end].to_string());
        rest = &after[end..];
    }
    out
}

/// The string literal each `call` (e.g. `.route(`) starts with.
fn string_args(source: &str, call: &str) -> Vec<String> {
    macro_args(source, call)
        .iter()
        .filter_map(|args| {
            let args = args.trim_start().strip_prefix('"')?;
            Some(args[..args.find('"')?].to_string())
        })
        .collect()
}

/// `#[utoipa::path(method, path = "…", …)]` annotations: handler name to (method, path).
fn annotations(source: &str) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for (i, _) in source.match_indices("#[utoipa::path(") {
        let args = &macro_args(&source[i..], "#[utoipa::path(")[0];
        let method = args.split(',').next().unwrap().trim().to_string();
        let at = args.find("path = \"").expect("path = \"…\"") + "path = \"".len();
        let path = args[at..at + args[at..].find('"').unwrap()].to_string();
        let after = &source[i..];
        let handler = after[after.find("async fn ").expect("an async fn") + "async fn ".len()..]
            .split('(')
            .next()
            .unwrap()
            .to_string();
        out.insert(handler, (method, path));
    }
    out
}

/// `?preview=true` is taken by every flag write (the preview middleware's rule): each one
/// declares the parameter and documents the 200 preview answer, and nothing else does.
#[tokio::test]
async fn every_flag_write_declares_the_preview_parameter() {
    let h = Harness::new().await;
    let doc = document(&h).await;
    let mut previewed = 0;
    for (method, path, op) in operations(&doc) {
        let write = method != "get"
            && ((path.starts_with("/api/v1/flags")
                && !path.contains("/release-plan")
                && !path.ends_with("/schedules"))
                || path.starts_with("/flags/"));
        let declared = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["in"] == "query" && p["name"] == "preview");
        assert_eq!(
            declared, write,
            "{method} {path}: the preview parameter is declared: {declared}, a flag write: {write}"
        );
        if write {
            previewed += 1;
            let ok = op["responses"]["200"]["description"]
                .as_str()
                .unwrap_or_default();
            assert!(ok.contains("preview"), "{method} {path}: 200 is `{ok}`");
        }
    }
    assert!(previewed >= 12, "only {previewed} flag writes");
}

/// The write service takes its mode as an argument: every handler that documents
/// `?preview` takes the `Mode` the request asked for (and passes it on), and no other
/// handler takes one, so a preview can neither be ignored nor asked of a route that does
/// not offer it.
#[test]
fn every_previewable_handler_takes_the_request_mode() {
    let mut previewable = 0;
    for file in rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")) {
        let source = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (i, _) in source.match_indices("#[utoipa::path(") {
            let args = &macro_args(&source[i..], "#[utoipa::path(")[0];
            let after = &source[i..];
            let start = after.find("async fn ").expect("an async fn");
            let signature = &after[start..start + after[start..].find('{').unwrap()];
            let handler = signature["async fn ".len()..].split('(').next().unwrap();
            let offers = args.contains("PreviewQuery");
            let takes = signature.contains(": Mode,") || signature.contains(": Mode)");
            assert_eq!(
                offers, takes,
                "{name}: {handler} documents ?preview: {offers}, takes the request's Mode: {takes}"
            );
            previewable += usize::from(offers);
        }
    }
    assert!(previewable >= 12, "only {previewable} previewable handlers");
}
