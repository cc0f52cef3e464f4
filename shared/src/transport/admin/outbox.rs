//! `/admin/outbox...`: the outbox walked page by page (`?cursor=`), parked batches (events SQS
//! never fanned out after repeated re-sends), and their redrive, one by one or in bounded bulk.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{message, query_map, PathSeg, Query};
use crate::app::outbox::REDRIVE_LIMIT;
use crate::app::App;
use crate::domain::events::{OutboxCursor, OutboxEntry};
use crate::error::{Error, Result};
use crate::transport::request::json_object;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/outbox", get(status))
        .route("/admin/outbox/redrive", post(redrive_parked))
        .route("/admin/outbox/{batch_id}/redrive", post(redrive))
}

fn view(e: &OutboxEntry) -> Value {
    json!({
        "batch_id": e.batch.batch_id,
        "created_at": e.created_at,
        "attempts": e.attempts,
        "last_sent_at": e.sent_at,
        "events": e.batch.events.iter().map(|ev| json!({"event_id": ev.event_id, "event": ev.event})).collect::<Vec<_>>(),
    })
}

/// `?cursor=` (the previous page's `next_cursor`): one bounded page of the outbox walk.
async fn status(State(app): State<Arc<App>>, q: Query) -> Result<Json<Value>> {
    let q = query_map(q)?;
    let from = OutboxCursor::parse(q.get("cursor").map(String::as_str))?;
    let page = app.outbox().status(&from).await?;
    Ok(Json(json!({
        "waiting": page.waiting,
        "more": page.next.is_some(),
        "next_cursor": page.next.map(|c| c.encode()),
        "parked": page.parked.iter().map(view).collect::<Vec<_>>(),
    })))
}

/// Body (optional): `{"limit": 1..100, "cursor": "<next_cursor>"}`.
async fn redrive_parked(State(app): State<Arc<App>>, body: Bytes) -> Result<Json<Value>> {
    let body = json_object(&body)?;
    let limit = match body.get("limit") {
        None | Some(Value::Null) => REDRIVE_LIMIT,
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=REDRIVE_LIMIT).contains(n))
            .ok_or_else(|| {
                Error::invalid(
                    "limit",
                    format!("must be an integer from 1 to {REDRIVE_LIMIT}"),
                )
            })?,
    };
    let cursor = match body.get("cursor") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) => Some(c.as_str()),
        Some(_) => return Err(Error::invalid("cursor", "is not a cursor of this list")),
    };
    let from = OutboxCursor::parse(cursor)?;
    let done = app.outbox().redrive_parked(&from, limit).await?;
    let message = match done.redriven {
        1 => "1 parked batch was sent to the event queue again.".to_string(),
        n => format!("{n} parked batches were sent to the event queue again."),
    };
    Ok(Json(json!({
        "redriven": done.redriven,
        "more": done.next.is_some(),
        "next_cursor": done.next.map(|c| c.encode()),
        "message": message,
    })))
}

async fn redrive(State(app): State<Arc<App>>, id: PathSeg) -> Result<Response> {
    let Ok(axum::extract::Path(batch_id)) = id else {
        return Err(Error::NotFound(
            "No parked outbox batch has this id.".into(),
        ));
    };
    app.outbox().redrive(&batch_id).await?;
    Ok(message("The batch was sent to the event queue again."))
}
