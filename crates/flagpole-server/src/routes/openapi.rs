//! The OpenAPI 3.1 document's own parts: its base (title, tags, security schemes) and
//! what is added once every route has added its paths and schemas (the refusals every
//! operation documents, absent-not-null fields, flattened resources merged into one
//! object). The routes' `routes!` declarations build the router and the rest of the
//! document together (`routes/mod.rs`), so a route cannot be served undocumented.

use std::collections::BTreeMap;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{AdditionalProperties, Object, Schema, SchemaType, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{OpenApi, Ref, RefOr, Required};

use crate::http::auth::policy::SESSION_COOKIE;

/// The document's base: what the routes do not say about themselves.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Flagpole",
        version = env!("CARGO_PKG_VERSION"),
        description = "Flagpole, a feature-flag server: the native API under `/api/v1`, the \
                       seed service's API under `/flags`, OFREP, Unleash client and frontend \
                       APIs, health and metrics."
    ),
    tags(
        (name = "environments", description = "Environments flags are configured in."),
        (name = "flags", description = "Flags and their per-environment configuration."),
        (name = "segments", description = "Reusable condition lists."),
        (name = "evaluation", description = "Evaluation with full details."),
        (name = "history", description = "Audit log, SDK usage, versions, diffs and rollback."),
        (name = "transfer", description = "Import and export in the native, Unleash or seed format."),
        (name = "access", description = "Logins, API tokens and users."),
        (name = "openapi", description = "This document."),
        (name = "seed", description = "The seed service's API, byte for byte."),
        (name = "ofrep", description = "The OpenFeature Remote Evaluation Protocol."),
        (name = "unleash", description = "Unleash's client and frontend APIs, for Unleash SDKs."),
        (name = "health", description = "Liveness, readiness and Prometheus metrics."),
    )
)]
struct ApiDoc;

/// The base document, to which the routes add their paths and schemas.
pub fn base() -> OpenApi {
    let mut doc = <ApiDoc as utoipa::OpenApi>::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API token (`flagpole_admin_…`, `flagpole_client_…`, `flagpole_frontend_…`). Unleash SDKs may send it without `Bearer `.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "apiKey",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
    );
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
    );
    doc.security = Some(vec![
        SecurityRequirement::new("bearer", Vec::<String>::new()),
        SecurityRequirement::new("apiKey", Vec::<String>::new()),
        SecurityRequirement::new("session", Vec::<String>::new()),
    ]);
    doc
}

/// Finishes the assembled document: optional request bodies may be left out (they are
/// not JSON `null`), and resources that flatten a core type are one object.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            absent_not_null(op);
            refusals(op);
        }
    }
    merge_flattened(&mut doc);
    doc
}

/// Every operation that needs a credential (every one that does not declare
/// `security(())`) may answer 401 and 403.
fn refusals(op: &mut Operation) {
    if op.security.is_some() {
        return;
    }
    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
                        .build(),
                )
                .build(),
        )
    };
    op.responses
        .responses
        .entry("401".into())
        .or_insert_with(|| error("No credential, or an unknown, revoked or expired one"));
    op.responses
        .responses
        .entry("403".into())
        .or_insert_with(|| {
            error("The credential may not do this (kind, role, environment or origin)")
        });
}

/// `Option<T>` bodies are documented as `oneOf: [null, T]`; an optional body is absent
/// rather than `null`, so it is `T`, not required.
fn absent_not_null(op: &mut Operation) {
    let Some(body) = op.request_body.as_mut() else {
        return;
    };
    if body.required == Some(Required::True) {
        return;
    }
    for content in body.content.values_mut() {
        let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else {
            continue;
        };
        let mut items = one_of.items.iter().filter(|s| {
            !matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))
        });
        if let (Some(only), None) = (items.next(), items.next()) {
            content.schema = Some(only.clone());
        }
    }
}

/// Resources that flatten a core type (`allOf` of the type and their own fields) become
/// one object, so the core type's `additionalProperties: false` does not refuse the
/// resource's own fields.
fn merge_flattened(doc: &mut OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let objects = components.schemas.clone();
    for schema in components.schemas.values_mut() {
        match schema {
            RefOr::T(Schema::AllOf(_)) => merge_all_of(schema, &objects),
            // A generic answer (`OrPreview<FlagResource>`) holds its resource inline.
            RefOr::T(Schema::OneOf(one)) => {
                for item in &mut one.items {
                    merge_all_of(item, &objects);
                }
            }
            _ => {}
        }
    }
}

/// Replaces `allOf` of objects (a resource and the core type it flattens) by one object.
fn merge_all_of(schema: &mut RefOr<Schema>, objects: &BTreeMap<String, RefOr<Schema>>) {
    let RefOr::T(Schema::AllOf(all)) = schema else {
        return;
    };
    let object = |schema: &RefOr<Schema>| -> Option<Object> {
        let target = match schema {
            RefOr::T(s) => s,
            RefOr::Ref(r) => {
                let name = r.ref_location.strip_prefix("#/components/schemas/")?;
                match objects.get(name)? {
                    RefOr::T(s) => s,
                    RefOr::Ref(_) => return None,
                }
            }
        };
        match target {
            Schema::Object(o) => Some(o.clone()),
            _ => None,
        }
    };
    let Some(parts) = all.items.iter().map(&object).collect::<Option<Vec<_>>>() else {
        return;
    };
    // The resource's own fields first, then the flattened type's.
    let (own, flattened): (Vec<_>, Vec<_>) = all
        .items
        .iter()
        .zip(parts)
        .partition(|(item, _)| matches!(item, RefOr::T(_)));
    let mut merged = Object::new();
    merged.description = all.description.clone();
    for (_, part) in own.into_iter().chain(flattened) {
        merged.properties.extend(part.properties);
        for name in part.required {
            if !merged.required.contains(&name) {
                merged.required.push(name);
            }
        }
        if let Some(extra) = part.additional_properties {
            if matches!(*extra, AdditionalProperties::FreeForm(false)) {
                merged.additional_properties = Some(extra);
            }
        }
    }
    *schema = RefOr::T(Schema::Object(merged));
}

/// The operations of one path.
pub fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}
