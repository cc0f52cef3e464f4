//! `/admin/users?email=` and `/admin/users/{id}`: profile, spaces, courses; `DELETE` erases a
//! member (docs/reference/security.md#gdpr-and-erasure), `/admin/users/erasures/{id}` shows how
//! far.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::views;
use super::{page_request, query_map, seg, PathSeg, Query};
use crate::app::App;
use crate::domain::erasure::JobStatus;
use crate::domain::member::normalize_email;
use crate::domain::page::Page;
use crate::error::{Error, Result};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/users", get(list))
        .route("/admin/users/{id}", get(show).delete(erase))
        .route("/admin/users/erasures/{erasure_id}", get(erasure))
}

/// Without `email`: every member, paginated. With `email`: the list of the (at most one)
/// member with that address, each with spaces and courses.
async fn list(State(app): State<Arc<App>>, q: Query) -> Result<Json<Value>> {
    let q = query_map(q)?;
    let req = page_request(&q)?;
    if let Some(raw) = q.get("email") {
        let email = normalize_email(raw)
            .ok_or_else(|| Error::invalid("email", "is not a valid email address"))?;
        let state = app.members().by_email(&email).await?;
        let items: Vec<Value> = state
            .member
            .is_some()
            .then(|| views::member(&state))
            .into_iter()
            .collect();
        let page = Page {
            total: items.len(),
            total_exact: true,
            items,
            per_page: req.per_page,
            current_page: 1,
            next_cursor: None,
        };
        return Ok(Json(page.to_json("users")));
    }
    let page = app.members().list(&req).await?;
    Ok(Json(page.map(|m| m.public()).to_json("users")))
}

async fn show(State(app): State<Arc<App>>, id: PathSeg) -> Result<Json<Value>> {
    let id = seg(id, "User")?;
    let state = app.members().by_id(id).await?;
    Ok(Json(views::member(&state)))
}

/// `202` while the erasure runs on, `200` when it completed within the request.
async fn erase(State(app): State<Arc<App>>, id: PathSeg) -> Result<Response> {
    let id = seg(id, "User")?;
    let job = app.erasure().start(id).await?;
    let status = match job.status {
        JobStatus::Done => StatusCode::OK,
        JobStatus::Running => StatusCode::ACCEPTED,
    };
    Ok((status, Json(job.public())).into_response())
}

async fn erasure(
    State(app): State<Arc<App>>,
    id: std::result::Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>> {
    let not_found = || Error::NotFound("Erasure not found.".into());
    let axum::extract::Path(raw) = id.map_err(|_| not_found())?;
    let id = raw.parse::<ulid::Ulid>().map_err(|_| not_found())?;
    Ok(Json(app.erasure().get(&id.to_string()).await?.public()))
}
