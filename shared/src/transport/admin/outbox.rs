//! `/admin/outbox...`: parked outbox batches (events SQS never fanned out after repeated
//! re-sends) and their redrive.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{message, PathSeg};
use crate::app::App;
use crate::domain::events::OutboxEntry;
use crate::error::{Error, Result};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/outbox", get(status))
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

async fn status(State(app): State<Arc<App>>) -> Result<Json<Value>> {
    let (parked, total, more) = app.outbox().status().await?;
    Ok(Json(json!({
        "waiting": total,
        "more": more,
        "parked": parked.iter().map(view).collect::<Vec<_>>(),
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
