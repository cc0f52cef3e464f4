//! `GET /admin/openapi.json`: the admin API described as OpenAPI 3.1.
//!
//! Built from [`ROUTES`], the table of every admin route; a test (`tests/tests/admin_openapi.rs`)
//! calls each documented route through the real router and fails if one is not answered, so the
//! description cannot drift from the handlers.

use serde_json::{json, Map, Value};

use crate::domain::events::CATALOG;
use crate::domain::format::{sample, EventContext};

/// `(method, path, tag, summary)` of every admin route (aliases are listed once, below).
pub const ROUTES: &[(&str, &str, &str, &str)] = &[
    (
        "get",
        "/admin/incoming-webhooks",
        "incoming webhooks",
        "List incoming webhooks",
    ),
    (
        "post",
        "/admin/incoming-webhooks",
        "incoming webhooks",
        "Create an incoming webhook",
    ),
    (
        "get",
        "/admin/incoming-webhooks/{id}",
        "incoming webhooks",
        "Get an incoming webhook",
    ),
    (
        "put",
        "/admin/incoming-webhooks/{id}",
        "incoming webhooks",
        "Update an incoming webhook (partial)",
    ),
    (
        "delete",
        "/admin/incoming-webhooks/{id}",
        "incoming webhooks",
        "Delete an incoming webhook",
    ),
    (
        "post",
        "/admin/incoming-webhooks/{id}/rotate",
        "incoming webhooks",
        "Rotate the key (the old URL stops working)",
    ),
    (
        "post",
        "/admin/incoming-webhooks/{id}/sample",
        "incoming webhooks",
        "A signed sample of the provider's purchase event, to POST to the webhook URL",
    ),
    (
        "get",
        "/admin/incoming-webhooks/{id}/runs",
        "incoming webhooks",
        "Activity log, newest first",
    ),
    ("get", "/admin/spaces", "catalog", "List spaces"),
    ("post", "/admin/spaces", "catalog", "Create a space"),
    (
        "get",
        "/admin/outbox",
        "operations",
        "Outbox, one page of a walk: batches waiting and parked ones (re-sent too often without being fanned out), at most 100 of each of the 8 shards per page; more: true and next_cursor (pass it as ?cursor=) while the walk has not reached the end",
    ),
    (
        "post",
        "/admin/outbox/redrive",
        "operations",
        "Redrive parked outbox batches in bulk: at most limit (1-100, default 100) from one page of the outbox walk; answers redriven, more and next_cursor (pass it as cursor to continue). A batch redriven twice, by two calls at once included, is sent once",
    ),
    (
        "post",
        "/admin/outbox/{batch_id}/redrive",
        "operations",
        "Send a parked outbox batch to the event queue again",
    ),
    ("get", "/admin/spaces/{id}", "catalog", "Get a space"),
    ("put", "/admin/spaces/{id}", "catalog", "Update a space"),
    ("delete", "/admin/spaces/{id}", "catalog", "Delete a space"),
    (
        "get",
        "/admin/spaces/{id}/members",
        "catalog",
        "Members of a space",
    ),
    ("get", "/admin/courses", "catalog", "List courses"),
    ("post", "/admin/courses", "catalog", "Create a course"),
    ("get", "/admin/courses/{id}", "catalog", "Get a course"),
    ("put", "/admin/courses/{id}", "catalog", "Update a course"),
    (
        "delete",
        "/admin/courses/{id}",
        "catalog",
        "Delete a course",
    ),
    (
        "get",
        "/admin/courses/{id}/enrollments",
        "catalog",
        "Enrollments of a course",
    ),
    (
        "get",
        "/admin/users",
        "members",
        "List members, or look one up with ?email=",
    ),
    (
        "get",
        "/admin/users/{id}",
        "members",
        "A member with spaces and courses",
    ),
    (
        "delete",
        "/admin/users/{id}",
        "members",
        "Erase a member (202 while the erasure runs, 200 when done at once; operator and admin only)",
    ),
    (
        "get",
        "/admin/users/erasures/{erasure_id}",
        "members",
        "An erasure: status (running/done) and what it erased",
    ),
    ("get", "/admin/event-types", "events", "The event catalog"),
    (
        "post",
        "/admin/events",
        "events",
        "Publish a catalog event (202). Events Switchboard emits about its own state (origin engine: endpoint.*, user.deleted, webhook.test, incoming_webhook.processed) are 400 invalid_webhook_event; an event over 200 KiB serialized (data, xprofile and all) is 413 payload_too_large",
    ),
    (
        "get",
        "/admin/webhooks",
        "outgoing webhooks",
        "List endpoints",
    ),
    (
        "post",
        "/admin/webhooks",
        "outgoing webhooks",
        "Create an endpoint",
    ),
    (
        "post",
        "/admin/webhooks/preview",
        "outgoing webhooks",
        "Preview the body a format renders for a sample event (nothing is sent)",
    ),
    (
        "get",
        "/admin/webhooks/{id}",
        "outgoing webhooks",
        "Get an endpoint",
    ),
    (
        "put",
        "/admin/webhooks/{id}",
        "outgoing webhooks",
        "Update an endpoint (partial)",
    ),
    (
        "delete",
        "/admin/webhooks/{id}",
        "outgoing webhooks",
        "Delete an endpoint",
    ),
    (
        "post",
        "/admin/webhooks/{id}/test",
        "outgoing webhooks",
        "Send a signed webhook.test synchronously",
    ),
    (
        "post",
        "/admin/webhooks/{id}/rotate-secret",
        "outgoing webhooks",
        "Rotate the signing secret; the previous one keeps signing beside it for overlap_seconds (default 86400, 0-604800)",
    ),
    (
        "get",
        "/admin/webhooks/{id}/deliveries",
        "outgoing webhooks",
        "Deliveries, newest first (?status=pending|held|success|failed; held: kept while the endpoint is paused)",
    ),
    (
        "get",
        "/admin/webhooks/{id}/deliveries/{delivery_id}",
        "outgoing webhooks",
        "A delivery with every attempt",
    ),
    (
        "post",
        "/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        "outgoing webhooks",
        "Redeliver (same delivery id)",
    ),
    (
        "post",
        "/admin/webhooks/{id}/recover",
        "outgoing webhooks",
        "Recover: re-attempt every delivery that failed since {\"since\": RFC 3339} (202, background job)",
    ),
    (
        "get",
        "/admin/webhooks/{id}/recover/{recover_id}",
        "outgoing webhooks",
        "A recover job's progress (status, total, attempted)",
    ),
    (
        "get",
        "/admin/app-passwords",
        "application passwords",
        "List application passwords (id, name, scope, created_at, last_used_at; never a password)",
    ),
    (
        "post",
        "/admin/app-passwords",
        "application passwords",
        "Create an application password {\"name\",\"scope\":\"admin|read|publish\"} (201; the password is shown only here)",
    ),
    (
        "delete",
        "/admin/app-passwords/{id}",
        "application passwords",
        "Revoke an application password (effective at once)",
    ),
    ("get", "/admin/openapi.json", "meta", "This document"),
    ("get", "/admin/ui", "meta", "The operators' web UI (HTML)"),
];

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The format fields of an endpoint (docs/reference/formats.md).
fn format_properties() -> Value {
    json!({
        "format": {"type": "string", "enum": ["standard", "slack", "discord", "google_chat", "template"], "description": "Body format; chosen from a Slack, Discord or Google Chat webhook URL when absent on create"},
        "message_template": {"type": ["string", "null"], "maxLength": 4000, "description": "Replaces the default chat message (minijinja; values escaped for the chat service)"},
        "template": {"type": ["string", "null"], "description": "Body of the template format (minijinja, at most 16 KiB); refused unless it renders (valid JSON for a JSON content type)"},
        "content_type": {"type": ["string", "null"], "default": "application/json", "description": "Content type of the template format"},
    })
}

/// An endpoint's payload filter (docs/reference/outgoing.md#filters-and-secret-rotation).
fn filter_schema() -> Value {
    json!({"type": ["object", "null"], "description": "Dot paths into the delivered payload (data.space_id, xprofile.meta.plan, event) to a literal (equality) or operators $eq $ne $in $nin $gt $gte $lt $lte $exists $contains, combined by $and $or $not; every key must match. At most 4 KiB, paths at most 8 deep. The preview answers filter_passes for its sample."})
}

/// Request bodies documented in detail (the others are plain objects).
fn body_schema(method: &str, path: &str) -> Option<Value> {
    let mut props = format_properties();
    match (method, path) {
        ("post", "/admin/webhooks/preview") => {
            props["event"] = json!({"type": "string", "default": "webhook.test", "description": "A catalog event: the sample rendered"});
            props["url"] =
                json!({"type": "string", "description": "Chooses the format when none is given"});
            props["data"] = json!({"type": "object", "description": "The sample's data (default: the catalog's sample of the event)"});
            props["xprofile"] = json!({"type": "object", "description": "The sample's xprofile"});
            props["filter"] = filter_schema();
            Some(json!({"type": "object", "properties": props}))
        }
        ("post", "/admin/incoming-webhooks") | ("put", "/admin/incoming-webhooks/{id}") => {
            Some(json!({"type": "object", "properties": {
                "title": {"type": "string", "maxLength": 200},
                "space_ids": {"type": "array", "items": {"type": "integer"}},
                "remove_space_ids": {"type": "array", "items": {"type": "integer"}},
                "course_ids": {"type": "array", "items": {"type": "integer"}},
                "remove_course_ids": {"type": "array", "items": {"type": "integer"}},
                "send_wp_welcome_email": {"type": "boolean"},
                "status": {"type": "string", "enum": ["active", "inactive"]},
                "allowed_ips": {"type": ["array", "null"], "items": {"type": "string"}},
                "signing_secret": {"type": ["string", "null"], "minLength": 16, "maxLength": 256},
                "field_map": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
                "expect_every_hours": {"type": ["integer", "null"], "minimum": 1, "maximum": 720,
                    "description": "Silence alert: when no call was accepted for this many hours, the operator gets one email and an incoming_webhook.silent event (incoming_webhook.resumed when calls resume); null turns it off"},
            }}))
        }
        ("post", "/admin/outbox/redrive") => Some(json!({"type": "object", "properties": {
            "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100,
                "description": "Parked batches this call redrives at most"},
            "cursor": {"type": ["string", "null"],
                "description": "The previous call's next_cursor (default: the oldest batches)"},
        }})),
        ("post", "/admin/webhooks/{id}/rotate-secret") => {
            Some(json!({"type": "object", "properties": {
                "overlap_seconds": {"type": "integer", "minimum": 0, "maximum": 604_800, "default": 86_400,
                    "description": "How long the previous secret keeps signing beside the new one"},
            }}))
        }
        ("post", "/admin/webhooks") | ("put", "/admin/webhooks/{id}") => {
            for (k, v) in [
                ("name", json!({"type": "string"})),
                ("url", json!({"type": "string", "format": "uri"})),
                (
                    "events",
                    json!({"type": "array", "items": {"type": "string"}}),
                ),
                (
                    "status",
                    json!({"type": "string", "enum": ["active", "inactive", "paused"],
                        "description": "inactive: events are not delivered and not kept; paused: deliveries are kept as held (GET shows their count as held) and sent, in publish order for fifo endpoints, when it is active again; a paused endpoint is never auto-disabled"}),
                ),
                ("secret", json!({"type": "string"})),
                ("filter", filter_schema()),
                (
                    "rate_limit",
                    json!({"type": ["integer", "null"], "minimum": 1, "maximum": 1000,
                        "description": "Deliveries per second to this endpoint (null: unlimited). Excess deliveries wait (not failed, not counted toward auto-disable) without holding other endpoints; enforced across instances by a conditional counter per window in the table"}),
                ),
                (
                    "headers",
                    json!({"type": "object", "additionalProperties": {"type": "string"}}),
                ),
                (
                    "retry_count",
                    json!({"type": "integer", "minimum": 0, "maximum": 5}),
                ),
            ] {
                props[k] = v;
            }
            Some(json!({"type": "object", "properties": props}))
        }
        _ => None,
    }
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, tag, summary) in ROUTES {
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = operation(method, path, tag, summary);
    }
    let mut schemas = Map::new();
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Switchboard admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Incoming and outgoing webhooks for online communities. Every route but the UI's static shell needs HTTP Basic credentials: the operator's, or an application password (`<name>:<password>`) whose scope allows the request (admin: everything; read: GET/HEAD; publish: POST /admin/events). Bodies must be application/json; unsafe methods from another site's browser context are refused (403); repeated failed sign-ins from one source under one user name get 429 with Retry-After (a success clears only that name's count from that source). Secrets by scope: to a read application password every secret field (outgoing secret and previous_secret, incoming key and webhook_url) is null and custom header values read \"<redacted>\"; the operator and admin passwords see them. The outgoing webhook routes are also served under /wp-json/fluent-community/v2/admin/webhooks and /wp-json/fluent-crm/v2/webhooks (with that alias's error codes).",
        },
        "security": [{"basic": []}],
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            "schemas": {"Error": {
                "type": "object",
                "required": ["code", "message", "data"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "data": {"type": "object", "properties": {"status": {"type": "integer"}}}},
            }},
        },
        "paths": paths,
        "webhooks": webhooks(&mut schemas),
    });
    if let Some(m) = doc["components"]["schemas"].as_object_mut() {
        m.extend(schemas);
    }
    doc
}

/// OpenAPI 3.1 `webhooks`: one operation per catalog event, the POST an endpoint receives,
/// whose body is the delivered payload of docs/reference/outgoing.md#the-delivery (its schema under
/// `components.schemas`, named after the event, so receivers can generate types).
fn webhooks(schemas: &mut Map<String, Value>) -> Value {
    let mut hooks = Map::new();
    for (event, description, _) in CATALOG {
        let (data, xprofile) = sample::sample(event);
        schemas.insert(
            event.to_string(),
            payload_schema(event, description, &data, xprofile.as_ref()),
        );
        let example = EventContext {
            event,
            timestamp: "2024-01-15T10:30:00Z",
            webhook_id: 1,
            delivery_id: "01HQ3Z9X4K8M2N5P7R9T1V3W5Y",
            data: &data,
            xprofile: xprofile.as_ref(),
        }
        .payload_json();
        hooks.insert(
            event.to_string(),
            json!({"post": {
                "summary": event,
                "description": description,
                "operationId": format!("receive_{}", event.replace('.', "_")),
                "parameters": delivery_headers(),
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": format!("#/components/schemas/{event}")},
                    "example": example,
                }}},
                "responses": {
                    "2XX": {"description": "Acknowledged (any 2xx within 30 s); anything else is retried"},
                    "410": {"description": "Gone: the endpoint is disabled at once"},
                },
            }}),
        );
    }
    Value::Object(hooks)
}

/// The headers every delivery carries (docs/reference/outgoing.md#the-delivery).
fn delivery_headers() -> Vec<Value> {
    use crate::domain::outgoing::signing::header;
    [
        (header::WEBHOOK_ID, "Standard Webhooks message id (the delivery id)"),
        (header::WEBHOOK_TIMESTAMP, "Unix seconds of the attempt"),
        (header::WEBHOOK_SIGNATURE, "v1,<base64 HMAC-SHA256 of {id}.{timestamp}.{body}>, space-separated (two during a secret rotation's overlap)"),
        (header::FLUENT_SIGNATURE, "sha256=<hex HMAC-SHA256 of the raw body>"),
        (header::FLUENTCRM_SIGNATURE, "sha256=<hex HMAC-SHA256 of the raw body>"),
        (header::FLUENTCRM_EVENT, "The event name"),
        (header::FLUENTCRM_WEBHOOK_ID, "The endpoint's id"),
        (header::FLUENTCRM_DELIVERY, "The delivery id"),
    ]
    .into_iter()
    .map(|(name, description)| json!({"name": name, "in": "header", "required": true, "description": description, "schema": {"type": "string"}}))
    .collect()
}

/// The JSON Schema of one event's delivered payload (the standard format).
fn payload_schema(event: &str, description: &str, data: &Value, xprofile: Option<&Value>) -> Value {
    let mut props = json!({
        "event": {"type": "string", "const": event},
        "timestamp": {"type": "string", "format": "date-time"},
        "webhook_id": {"type": "integer", "description": "The receiving endpoint's id"},
        "delivery_id": {"type": "string", "description": "The same on every attempt: deduplicate on it"},
        "data": infer_schema(data),
    });
    props["xprofile"] = match xprofile {
        Some(x) => infer_schema(x),
        None => {
            json!({"type": "object", "description": "The member's community profile, when the event is about a member"})
        }
    };
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": event,
        "description": description,
        "type": "object",
        "required": ["event", "timestamp", "webhook_id", "delivery_id", "data"],
        "properties": props,
    })
}

/// A schema describing `v`'s shape (the types of the catalog's sample; extra properties are
/// allowed, since publishers may add their own).
fn infer_schema(v: &Value) -> Value {
    match v {
        Value::Null => json!({}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(items) => match items.first() {
            Some(first) => json!({"type": "array", "items": infer_schema(first)}),
            None => json!({"type": "array"}),
        },
        Value::Object(m) => {
            let props: Map<String, Value> = m
                .iter()
                .map(|(k, v)| (k.clone(), infer_schema(v)))
                .collect();
            json!({"type": "object", "properties": props})
        }
    }
}

/// One route's operation: its parameters, its responses and, for writes, its body.
fn operation(method: &str, path: &str, tag: &str, summary: &str) -> Value {
    let mut params = path_parameters(path);
    if is_list(method, path) {
        params.extend(page_parameters());
    }
    if (method, path) == ("get", "/admin/outbox") {
        params.push(json!({"name": "cursor", "in": "query", "required": false,
            "description": "The previous page's next_cursor", "schema": {"type": "string"}}));
    }
    if (method, path) == ("post", "/admin/events") {
        params.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
            "description": "1-255 printable ASCII: a repeat within 24 h answers the first call's event_id and publishes nothing; with another body it is 409 idempotency_conflict (a body's own event_id does the same)",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"}}));
    }
    let mut op = json!({
        "tags": [tag],
        "summary": summary,
        "parameters": params,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {}}},
            "400": error_response("Invalid parameter (code names the problem, message names the field)"),
            "401": error_response("rest_forbidden: missing or wrong credentials"),
            "403": error_response("rest_forbidden: outside the application password's scope, or an unsafe request from another site"),
            "404": error_response("not_found"),
            "429": error_response("rest_rate_limited: too many failed sign-ins from this source (see Retry-After)"),
        },
    });
    if path == "/admin/ui" {
        // The static shell holds no data: it is served without credentials.
        op["security"] = json!([]);
        op["responses"]["200"] = json!({"description": "OK", "content": {"text/html": {}}});
    }
    if method == "post" || method == "put" {
        op["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"type": "object"}}}});
        op["responses"]["415"] =
            error_response("rest_unsupported_media_type: a body that is not application/json");
        op["responses"]["409"] =
            error_response("conflict: a concurrent change or a name already taken");
    }
    if method == "post" {
        op["responses"]["201"] =
            json!({"description": "Created", "content": {"application/json": {}}});
        op["responses"]["202"] = json!({"description": "Accepted (events, recover jobs)", "content": {"application/json": {}}});
    }
    if (method, path) == ("post", "/admin/events") {
        op["responses"]["413"] = error_response(
            "payload_too_large: the event serializes to more than 200 KiB (data, xprofile and all)",
        );
    }
    if method == "delete" && path == "/admin/users/{id}" {
        op["responses"]["202"] = json!({"description": "Accepted (the erasure runs on)", "content": {"application/json": {}}});
    }
    if let Some(schema) = body_schema(method, path) {
        // A bulk redrive's body is optional (every field has a default).
        let required = path != "/admin/outbox/redrive";
        op["requestBody"] =
            json!({"required": required, "content": {"application/json": {"schema": schema}}});
    }
    op
}

/// The ids in `path` (`{id}` is a number, the others strings).
fn path_parameters(path: &str) -> Vec<Value> {
    let mut params = Vec::new();
    for name in ["id", "delivery_id", "recover_id", "batch_id", "erasure_id"] {
        if path.contains(&format!("{{{name}}}")) {
            let schema = if name == "id" {
                json!({"type": "integer"})
            } else {
                json!({"type": "string"})
            };
            params.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
        }
    }
    params
}

/// Whether the route lists (and so pages).
fn is_list(method: &str, path: &str) -> bool {
    method == "get"
        && (path.ends_with('s')
            || path.ends_with("runs")
            || path.ends_with("deliveries")
            || path.ends_with("members")
            || path.ends_with("enrollments"))
        && !path.ends_with("event-types")
}

/// `?per_page=&page=&cursor=` of every list.
fn page_parameters() -> Vec<Value> {
    [
        (
            "per_page",
            json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 25}),
        ),
        (
            "page",
            json!({"type": "integer", "minimum": 1, "default": 1, "description": "page × per_page at most 10000 (else 400 invalid_param); walk further with cursor"}),
        ),
        ("cursor", json!({"type": "string"})),
    ]
    .into_iter()
    .map(|(name, schema)| json!({"name": name, "in": "query", "required": false, "schema": schema}))
    .collect()
}
