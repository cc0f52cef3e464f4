//! The admin API's response shapes, one function per kind of object, built from the domain's
//! entities. Shapes that are also event payloads live with their entity: a space or course
//! (`CatalogEntry::view`) and a member's public profile (`Member::public`).

use serde_json::{json, Value};

use crate::domain::app_password::AppPassword;
use crate::domain::auth::Disclosure;
use crate::domain::delivery::Delivery;
use crate::domain::incoming::run::Run;
use crate::domain::incoming::IncomingWebhook;
use crate::domain::membership::{MemberState, Membership};
use crate::domain::outgoing::OutgoingWebhook;
use crate::domain::recover::RecoverJob;
use crate::domain::time;

/// Custom header values are secrets (a SendGrid `Authorization: Bearer …`): names stay
/// visible, values read `"<redacted>"` to a caller who may not see secrets.
const REDACTED: &str = "<redacted>";

/// The seed's webhook object; secrets as `d` allows.
pub fn outgoing(w: &OutgoingWebhook, d: Disclosure) -> Value {
    let c = &w.config;
    let headers: serde_json::Map<String, Value> = c
        .headers
        .iter()
        .map(|(k, v)| {
            let v = d.secret(v.as_str()).unwrap_or(REDACTED);
            (k.clone(), Value::String(v.to_string()))
        })
        .collect();
    json!({
        "id": c.id,
        "name": c.name,
        "url": c.url,
        "events": c.events,
        "status": w.status,
        "secret": d.secret(&c.secret),
        "previous_secret": c.previous_secret.as_ref().and_then(|p| d.secret(&p.secret)),
        "previous_secret_expires_at": c.previous_secret.as_ref().map(|p| &p.until),
        "headers": headers,
        "retry_count": c.retry_count,
        "ordering": c.ordering,
        "format": c.destination.format,
        "message_template": c.destination.message_template,
        "template": c.destination.template,
        "content_type": c.destination.content_type(),
        "filter": c.filter,
        "rate_limit": c.rate_limit,
        "last_triggered_at": w.last_triggered_at,
        "last_error": w.last_error,
        "consecutive_failures": w.consecutive_failures,
        "created_at": time::rfc3339(c.created_at),
        "updated_at": time::rfc3339(c.updated_at),
    })
}

/// [`outgoing`] with `held`, the count of held deliveries, when the endpoint is paused or
/// still has some (other endpoints' shape is unchanged).
pub fn outgoing_with_held(w: &OutgoingWebhook, held: u64, d: Disclosure) -> Value {
    let mut v = outgoing(w, d);
    if w.is_paused() || held > 0 {
        v["held"] = json!(held);
    }
    v
}

/// The admin view: everything but the signing secret, plus the URL to paste (the key and so
/// the URL only as `d` allows).
pub fn incoming(w: &IncomingWebhook, public_base_url: &str, d: Disclosure) -> Value {
    json!({
        "id": w.id,
        "title": w.title,
        "key": d.secret(&w.key),
        "webhook_url": d.secret(format!("{public_base_url}/webhook/{}", w.key)),
        "space_ids": w.space_ids,
        "remove_space_ids": w.remove_space_ids,
        "course_ids": w.course_ids,
        "remove_course_ids": w.remove_course_ids,
        "send_wp_welcome_email": w.send_wp_welcome_email,
        "status": w.status,
        "allowed_ips": w.allowed_ips,
        "signing_secret_set": w.signing_secret.is_some(),
        "field_map": w.field_map,
        "source": w.source,
        "source_secret_set": w.source_secret.is_some(),
        "rules": w.effective_rules(),
        "rules_customized": w.rules.is_some(),
        "products": w.products,
        "expect_every_hours": w.expect_every_hours,
        "running_count": w.running_count,
        "last_run_at": w.last_run_at.map(time::rfc3339),
        "created_at": time::rfc3339(w.created_at),
        "updated_at": time::rfc3339(w.updated_at),
    })
}

/// The seed's log row.
pub fn delivery(d: &Delivery) -> Value {
    let last = d.last();
    json!({
        "id": d.id,
        "event": d.event,
        "status": d.status,
        "response_code": last.and_then(|a| a.response_code),
        "response_time": last.map(|a| a.response_time),
        "attempts": d.total_attempts(),
        "attempted_at": last.map(|a| time::rfc3339(a.attempted_at)),
        "next_attempt_at": d.next_attempt_at.map(time::rfc3339),
    })
}

/// A single delivery with every attempt.
pub fn delivery_detail(d: &Delivery) -> Value {
    let mut v = delivery(d);
    v["webhook_id"] = json!(d.webhook_id);
    v["event_id"] = json!(d.event_id);
    v["payload"] = json!(d.payload);
    v["content_type"] = json!(d.content_type());
    v["attempts"] = json!(d.attempts);
    v["attempt_count"] = json!(d.total_attempts());
    v["created_at"] = json!(time::rfc3339(d.created_at));
    v
}

pub fn recover_job(job: &RecoverJob) -> Value {
    let mut v = json!({
        "recover_id": job.recover_id,
        "webhook_id": job.webhook_id,
        "since": time::rfc3339(job.since),
        "status": job.status,
        "total": job.total.max(job.attempted),
        "attempted": job.attempted,
        "created_at": time::rfc3339(job.created_at),
        "updated_at": time::rfc3339(job.updated_at),
    });
    // Counted up to the cap only (the job still walks them all): said the way pages say it.
    if job.total_is_lower_bound && job.status != crate::domain::recover::JobStatus::Done {
        v["total_is_lower_bound"] = Value::Bool(true);
    }
    v
}

/// What the API shows: never the password or its hash.
pub fn app_password(p: &AppPassword) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "scope": p.scope,
        "created_at": time::rfc3339(p.created_at),
        "last_used_at": p.last_used_at.map(time::rfc3339),
    })
}

pub fn membership(m: &Membership) -> Value {
    json!({
        format!("{}_id", m.kind.noun()): m.id,
        "user_id": m.user_id,
        "email": m.email,
        "origin": m.origin,
        "incoming_webhook_id": m.incoming_webhook_id,
        "created_at": time::rfc3339(m.created_at),
        "grants": m.effective_grants(),
    })
}

/// `/admin/users/...`: profile, spaces, courses (each with its grants).
pub fn member(state: &MemberState) -> Value {
    let Some(m) = &state.member else {
        return Value::Null;
    };
    let mut v = m.public();
    v["spaces"] = state.spaces.values().map(membership).collect();
    v["courses"] = state.courses.values().map(membership).collect();
    v
}

/// An execution's log row.
pub fn run(r: &Run) -> Value {
    json!(r)
}
