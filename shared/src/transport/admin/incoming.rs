//! `/admin/incoming-webhooks...`

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use super::guard::Viewer;
use super::views;
use super::{created, message, page_request, query_map, seg, updated, PathSeg, Query};
use crate::app::App;
use crate::error::Result;
use crate::transport::request::json_object;

const WHAT: &str = "Incoming webhook";

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/incoming-webhooks", get(list).post(create))
        .route(
            "/admin/incoming-webhooks/{id}",
            get(show).put(update).patch(update).delete(remove),
        )
        .route("/admin/incoming-webhooks/{id}/rotate", post(rotate))
        .route("/admin/incoming-webhooks/{id}/sample", post(sample))
        .route("/admin/incoming-webhooks/{id}/runs", get(runs))
}

async fn list(State(app): State<Arc<App>>, Viewer(d): Viewer, q: Query) -> Result<Json<Value>> {
    let req = page_request(&query_map(q)?)?;
    let base = app.config().public_base_url.clone();
    let page = app.incoming().list(&req).await?;
    Ok(Json(
        page.map(|w| views::incoming(&w, &base, d))
            .to_json("webhooks"),
    ))
}

async fn create(State(app): State<Arc<App>>, Viewer(d): Viewer, body: Bytes) -> Result<Response> {
    let w = app.incoming().create(&json_object(&body)?).await?;
    Ok(created(
        views::incoming(&w, &app.config().public_base_url, d),
        "Incoming webhook created successfully.",
    ))
}

async fn show(State(app): State<Arc<App>>, Viewer(d): Viewer, id: PathSeg) -> Result<Json<Value>> {
    let w = app.incoming().get(seg(id, WHAT)?).await?;
    Ok(Json(views::incoming(&w, &app.config().public_base_url, d)))
}

async fn update(
    State(app): State<Arc<App>>,
    Viewer(d): Viewer,
    id: PathSeg,
    body: Bytes,
) -> Result<Response> {
    let id = seg(id, WHAT)?;
    let w = app.incoming().update(id, &json_object(&body)?).await?;
    Ok(updated(
        views::incoming(&w, &app.config().public_base_url, d),
        "Incoming webhook updated successfully.",
    ))
}

async fn remove(State(app): State<Arc<App>>, id: PathSeg) -> Result<Response> {
    app.incoming().delete(seg(id, WHAT)?).await?;
    Ok(message("Incoming webhook deleted successfully."))
}

async fn rotate(State(app): State<Arc<App>>, Viewer(d): Viewer, id: PathSeg) -> Result<Response> {
    let w = app.incoming().rotate(seg(id, WHAT)?).await?;
    Ok(updated(
        views::incoming(&w, &app.config().public_base_url, d),
        "Webhook key rotated: the old URL no longer works.",
    ))
}

/// A signed sample of the provider's purchase event, for the caller to POST to `url` (the UI's
/// "Send sample event"): the request the provider itself would send.
async fn sample(
    State(app): State<Arc<App>>,
    Viewer(d): Viewer,
    id: PathSeg,
) -> Result<Json<Value>> {
    let (w, s) = app.incoming().sample(seg(id, WHAT)?).await?;
    let headers: serde_json::Map<String, Value> = s
        .headers
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    Ok(Json(serde_json::json!({
        "url": views::incoming(&w, &app.config().public_base_url, d)["webhook_url"],
        "method": "POST",
        "event": s.event,
        "content_type": s.content_type,
        "headers": headers,
        "body": s.body,
    })))
}

async fn runs(State(app): State<Arc<App>>, id: PathSeg, q: Query) -> Result<Response> {
    let id = seg(id, WHAT)?;
    let req = page_request(&query_map(q)?)?;
    let page = app.incoming().runs(id, &req).await?;
    Ok(Json(page.map(|r| views::run(&r)).to_json("runs")).into_response())
}
