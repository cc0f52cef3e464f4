//! `/admin/spaces...` and `/admin/courses...`

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::views;
use super::{created, message, page_request, query_map, seg, updated, PathSeg, Query};
use crate::app::App;
use crate::error::Result;
use crate::store::keys::Kind;
use crate::transport::request::json_object;

pub fn routes() -> Router<Arc<App>> {
    let mut r = Router::new();
    for kind in [Kind::Space, Kind::Course] {
        let (plural, members) = match kind {
            Kind::Space => ("spaces", "members"),
            Kind::Course => ("courses", "enrollments"),
        };
        r = r
            .route(
                &format!("/admin/{plural}"),
                get(move |s, q| list(s, q, kind)).post(move |s, b| create(s, b, kind)),
            )
            .route(
                &format!("/admin/{plural}/{{id}}"),
                get(move |s, id| show(s, id, kind))
                    .put(move |s, id, b| update(s, id, b, kind))
                    .patch(move |s, id, b| update(s, id, b, kind))
                    .delete(move |s, id| remove(s, id, kind)),
            )
            .route(
                &format!("/admin/{plural}/{{id}}/{members}"),
                get(move |s, id, q| memberships(s, id, q, kind)),
            );
    }
    r
}

fn what(kind: Kind) -> &'static str {
    match kind {
        Kind::Space => "Space",
        Kind::Course => "Course",
    }
}

fn plural(kind: Kind) -> &'static str {
    match kind {
        Kind::Space => "spaces",
        Kind::Course => "courses",
    }
}

async fn list(State(app): State<Arc<App>>, q: Query, kind: Kind) -> Result<Json<Value>> {
    let req = page_request(&query_map(q)?)?;
    let page = app.catalog().list(kind, &req).await?;
    Ok(Json(page.map(|e| e.view()).to_json(plural(kind))))
}

async fn create(State(app): State<Arc<App>>, body: Bytes, kind: Kind) -> Result<Response> {
    let e = app.catalog().create(kind, &json_object(&body)?).await?;
    Ok(created(
        e.view(),
        &format!("{} created successfully.", what(kind)),
    ))
}

async fn show(State(app): State<Arc<App>>, id: PathSeg, kind: Kind) -> Result<Json<Value>> {
    Ok(Json(
        app.catalog().get(kind, seg(id, what(kind))?).await?.view(),
    ))
}

async fn update(
    State(app): State<Arc<App>>,
    id: PathSeg,
    body: Bytes,
    kind: Kind,
) -> Result<Response> {
    let id = seg(id, what(kind))?;
    let e = app.catalog().update(kind, id, &json_object(&body)?).await?;
    Ok(updated(
        e.view(),
        &format!("{} updated successfully.", what(kind)),
    ))
}

async fn remove(State(app): State<Arc<App>>, id: PathSeg, kind: Kind) -> Result<Response> {
    app.catalog().delete(kind, seg(id, what(kind))?).await?;
    Ok(message(&format!("{} deleted successfully.", what(kind))))
}

async fn memberships(
    State(app): State<Arc<App>>,
    id: PathSeg,
    q: Query,
    kind: Kind,
) -> Result<Json<Value>> {
    let id = seg(id, what(kind))?;
    let req = page_request(&query_map(q)?)?;
    let page = app.catalog().members(kind, id, &req).await?;
    let key = match kind {
        Kind::Space => "members",
        Kind::Course => "enrollments",
    };
    Ok(Json(page.map(|m| views::membership(&m)).to_json(key)))
}
