//! Outgoing webhooks: `/admin/webhooks...`, the seed aliases, and `POST /admin/events`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde_json::{json, Value};

use super::guard::Viewer;
use super::views;
use super::{created, message, page_request, query_map, seg, updated, PathSeg, Query};
use crate::app::App;
use crate::domain::delivery::DeliveryStatus;
use crate::error::{Error, Result};
use crate::transport::error::relabel_for_crm;
use crate::transport::request::json_object;

const WHAT: &str = "Webhook";

/// Where the routes of `/admin/webhooks` are served again: seed 003's prefix, then seed 004's.
pub const ALIASES: [&str; 2] = [
    "/wp-json/fluent-community/v2/admin/webhooks",
    "/wp-json/fluent-crm/v2/webhooks",
];

/// The same routes under `/admin/webhooks` and both seed prefixes.
pub fn routes() -> Router<Arc<App>> {
    let r = resource();
    Router::new()
        .nest("/admin/webhooks", r.clone())
        .nest(ALIASES[0], r.clone())
        .nest(ALIASES[1], r.layer(middleware::from_fn(relabel_for_crm)))
        .route("/admin/events", post(publish))
}

fn resource() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/preview", post(preview))
        .route("/{id}", get(show).put(update).patch(update).delete(remove))
        .route("/{id}/test", post(test))
        .route("/{id}/rotate-secret", post(rotate))
        .route("/{id}/deliveries", get(deliveries))
        .route("/{id}/deliveries/{delivery_id}", get(delivery))
        .route("/{id}/deliveries/{delivery_id}/redeliver", post(redeliver))
        .route("/{id}/recover", post(recover))
        .route("/{id}/recover/{recover_id}", get(recover_status))
}

async fn list(State(app): State<Arc<App>>, Viewer(d): Viewer, q: Query) -> Result<Json<Value>> {
    let req = page_request(&query_map(q)?)?;
    let page = app.outgoing().list(&req).await?;
    Ok(Json(
        page.map(|e| views::outgoing(&e, d)).to_json("webhooks"),
    ))
}

async fn create(State(app): State<Arc<App>>, Viewer(d): Viewer, body: Bytes) -> Result<Response> {
    let e = app.outgoing().create(&json_object(&body)?).await?;
    Ok(created(
        views::outgoing(&e, d),
        "Webhook created successfully.",
    ))
}

/// The body a format renders for a sample event (nothing is sent or stored).
async fn preview(State(app): State<Arc<App>>, body: Bytes) -> Result<Json<Value>> {
    Ok(Json(app.outgoing().preview(&json_object(&body)?)?))
}

/// One endpoint; with `held` (its held deliveries) when it is paused or still has some.
async fn show(State(app): State<Arc<App>>, Viewer(d): Viewer, id: PathSeg) -> Result<Json<Value>> {
    let e = app.outgoing().get(seg(id, WHAT)?).await?;
    let held = app.outgoing().held_count(e.id()).await?;
    Ok(Json(views::outgoing_with_held(&e, held, d)))
}

async fn update(
    State(app): State<Arc<App>>,
    Viewer(d): Viewer,
    id: PathSeg,
    body: Bytes,
) -> Result<Response> {
    let id = seg(id, WHAT)?;
    let e = app.outgoing().update(id, &json_object(&body)?).await?;
    Ok(updated(
        views::outgoing(&e, d),
        "Webhook updated successfully.",
    ))
}

async fn remove(State(app): State<Arc<App>>, id: PathSeg) -> Result<Response> {
    app.outgoing().delete(seg(id, WHAT)?).await?;
    Ok(message("Webhook deleted successfully."))
}

async fn rotate(
    State(app): State<Arc<App>>,
    Viewer(d): Viewer,
    id: PathSeg,
    body: Bytes,
) -> Result<Response> {
    let id = seg(id, WHAT)?;
    let e = app
        .outgoing()
        .rotate_secret(id, &json_object(&body)?)
        .await?;
    let message = if e.config.previous_secret.is_some() {
        "Webhook secret rotated: deliveries are signed with the new secret and, until the overlap ends, the previous one."
    } else {
        "Webhook secret rotated: deliveries are now signed with the new secret."
    };
    Ok(updated(views::outgoing(&e, d), message))
}

async fn test(State(app): State<Arc<App>>, id: PathSeg) -> Result<Json<Value>> {
    let (delivery, outcome) = app.outgoing().test(seg(id, WHAT)?).await?;
    let message = if outcome.success() {
        "Webhook test successful.".to_string()
    } else {
        format!("Webhook test failed: {}.", outcome.error_text())
    };
    Ok(Json(json!({
        "success": outcome.success(),
        "status_code": outcome.status,
        "response_time": outcome.duration_ms,
        "message": message,
        "delivery_id": delivery.id,
    })))
}

async fn deliveries(State(app): State<Arc<App>>, id: PathSeg, q: Query) -> Result<Json<Value>> {
    let id = seg(id, WHAT)?;
    let q = query_map(q)?;
    let req = page_request(&q)?;
    let status = match q.get("status").map(String::as_str) {
        None | Some("") | Some("all") => None,
        Some(s) => Some(
            s.parse::<DeliveryStatus>()
                .map_err(|_| Error::invalid("status", "must be success, failed or pending"))?,
        ),
    };
    let page = app.outgoing().deliveries(id, status, &req).await?;
    Ok(Json(
        page.map(|d| views::delivery(&d)).to_json("deliveries"),
    ))
}

type DeliveryPath = std::result::Result<
    axum::extract::Path<(String, String)>,
    axum::extract::rejection::PathRejection,
>;

fn delivery_path(p: DeliveryPath) -> Result<(i64, String)> {
    let axum::extract::Path((id, did)) =
        p.map_err(|_| Error::NotFound("Delivery not found.".into()))?;
    let id = super::path_id(&id, WHAT)?;
    if did.len() != 26 || !did.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::NotFound("Delivery not found.".into()));
    }
    Ok((id, did))
}

async fn delivery(State(app): State<Arc<App>>, p: DeliveryPath) -> Result<Json<Value>> {
    let (id, did) = delivery_path(p)?;
    let d = app.outgoing().delivery(id, &did).await?;
    Ok(Json(views::delivery_detail(&d)))
}

async fn redeliver(State(app): State<Arc<App>>, p: DeliveryPath) -> Result<Response> {
    let (id, did) = delivery_path(p)?;
    let d = app.outgoing().redeliver(id, &did).await?;
    let ok = d.status == DeliveryStatus::Success;
    let mut v = views::delivery_detail(&d);
    v["success"] = json!(ok);
    Ok(updated(
        v,
        if ok {
            "Delivery redelivered successfully."
        } else {
            "Redelivery attempt failed."
        },
    ))
}

async fn recover(State(app): State<Arc<App>>, id: PathSeg, body: Bytes) -> Result<Response> {
    let id = seg(id, WHAT)?;
    let job = app
        .deliveries()
        .recover_start(id, &json_object(&body)?)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(views::recover_job(&job))).into_response())
}

async fn recover_status(State(app): State<Arc<App>>, p: DeliveryPath) -> Result<Json<Value>> {
    let not_found = || Error::NotFound("Recover job not found.".into());
    let axum::extract::Path((id, rid)) = p.map_err(|_| not_found())?;
    let id = super::path_id(&id, WHAT)?;
    if rid.len() != 26 || !rid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(not_found());
    }
    Ok(Json(views::recover_job(
        &app.deliveries().recover_get(id, &rid).await?,
    )))
}

async fn publish(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let event_id = app.outgoing().publish(&json_object(&body)?, key).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "event_id": event_id }))).into_response())
}
