//! The admin API's routes that change an admin-created app in place: `PATCH /admin/apps/:name` edits its settings
//! (env, limits, hostnames, …) keeping its code, `GET /admin/apps/:name/versions` lists its versions and
//! `POST /admin/apps/:name/rollback` serves its previous one again, over `AppControl`.

use super::request::read_json;
use super::response::{json, not_found, RouteResult};
use crate::ports::AppControl;
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

/// An edit is settings only: env vars and limits fit well under this.
const EDIT_BODY_LIMIT: usize = 1024 * 1024;

/// Whether `route` answers this request (`segs` are the path parts after `admin`).
pub fn handles(method: &Method, segs: &[&str]) -> bool {
    matches!(
        (method, segs),
        (&Method::PATCH, ["apps", _]) | (_, ["apps", _, "versions" | "rollback"])
    )
}

/// Answers the paths `handles` accepts.
pub async fn route(
    apps: Option<&dyn AppControl>,
    req: Request<Incoming>,
    segs: &[&str],
) -> RouteResult {
    let Some(apps) = apps else {
        return Ok(not_found());
    };
    match (req.method(), segs) {
        (&Method::PATCH, ["apps", name]) => {
            let body = read_json(req.into_body(), EDIT_BODY_LIMIT).await?;
            apps.edit(name, body)
                .await
                .map(|app| json(StatusCode::OK, &json!({ "ok": true, "app": app })))
        }
        (&Method::GET, ["apps", name, "versions"]) => apps
            .versions(name)
            .await
            .map(|list| json(StatusCode::OK, &json!({ "ok": true, "versions": list }))),
        (&Method::POST, ["apps", name, "rollback"]) => apps
            .rollback(name)
            .await
            .map(|app| json(StatusCode::OK, &json!({ "ok": true, "app": app }))),
        _ => Ok(not_found()),
    }
}
