//! `/admin/app-passwords`: application passwords (docs/reference/security.md). The password is
//! returned once, by the creation; lists show names, scopes and times only.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::Value;

use super::views;
use super::{message, page_request, query_map, seg, PathSeg, Query};
use crate::app::App;
use crate::error::{Error, Result};
use crate::transport::request::json_object;

const WHAT: &str = "Application password";

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/app-passwords", get(list).post(create))
        .route("/admin/app-passwords/{id}", delete(remove))
}

async fn list(State(app): State<Arc<App>>, q: Query) -> Result<Json<Value>> {
    let req = page_request(&query_map(q)?)?;
    let page = app.access().app_password_list(&req).await?;
    Ok(Json(
        page.map(|p| views::app_password(&p))
            .to_json("app_passwords"),
    ))
}

async fn create(State(app): State<Arc<App>>, body: Bytes) -> Result<Response> {
    let (record, password) = app
        .access()
        .app_password_create(&json_object(&body)?)
        .await?;
    let mut v = views::app_password(&record);
    v["password"] = Value::String(password);
    v["message"] =
        Value::String("Application password created. Copy it now: it is not shown again.".into());
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

async fn remove(State(app): State<Arc<App>>, id: PathSeg) -> Result<Response> {
    if app.access().app_password_revoke(seg(id, WHAT)?).await? {
        Ok(message("Application password revoked."))
    } else {
        Err(Error::NotFound(format!("{WHAT} not found.")))
    }
}
