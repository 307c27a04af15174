//! The admin API under `/admin`: tenants and their keys, and the console's files at `/admin/ui`. Bearer token when `admin_token` is set; closed in prod
//! without one.

use super::auth::Keys;
use super::body::Body;
use super::request::read_json;
use super::response::{json, not_found, ApiError, RouteResult};
use super::tenancy::TenantResolver;
use crate::core::keys::KeyGrant;
use crate::core::TenantId;
use crate::ports::{ApiKey, Registry};
use http::header::{AUTHORIZATION, HOST};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};
use std::sync::Arc;

const ADMIN_BODY_LIMIT: usize = 1024 * 1024;

/// Who may use the admin API.
#[derive(Clone)]
pub enum AdminAccess {
    /// Anyone who reaches the listener (dev without `admin_token`).
    Open,
    /// Requests carrying `Authorization: Bearer <token>`.
    Token(String),
    /// Nobody (prod without `admin_token`).
    Disabled,
}

/// What the admin routes work on.
pub struct Admin {
    pub access: AdminAccess,
    pub registry: Arc<dyn Registry>,
    /// The services whose data a deleted tenant loses.
    pub services: crate::ports::Services,
    /// The hosted apps, for `/admin/apps`, `/admin/reload` and `/admin/metrics`.
    pub apps: Option<Arc<dyn crate::ports::AppControl>>,
    /// This node's name, sent as `X-Nano-Node` with every admin answer: logs and metrics are per node.
    pub node: http::HeaderValue,
    /// The span and log exporter, when one runs: its drops are a metric.
    pub telemetry: Option<Arc<dyn crate::ports::Telemetry>>,
}

fn tenant_json(id: &TenantId, created_ms: i64) -> Value {
    json!({ "id": id.as_str(), "created_ms": created_ms })
}

fn key_json(key: &ApiKey) -> Value {
    json!({ "id": key.id, "tenant": key.tenant.as_str(), "grant": key.grant, "created_ms": key.created_ms })
}

fn parse_tenant(s: &str) -> Result<TenantId, ApiError> {
    TenantId::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Admin {
    fn authorize(&self, req: &Request<Incoming>) -> Result<(), ApiError> {
        match &self.access {
            AdminAccess::Open => Ok(()),
            AdminAccess::Disabled => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "the admin API is disabled: set admin_token to enable it",
            )),
            AdminAccess::Token(token) => {
                let given = req
                    .headers()
                    .get(AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or_default();
                if constant_time_eq(given.trim().as_bytes(), token.as_bytes()) {
                    Ok(())
                } else {
                    Err(ApiError::new(StatusCode::UNAUTHORIZED, "not authorized"))
                }
            }
        }
    }

    /// Answers a request below `/admin` (`segments` are the path parts after `admin`), naming this node in
    /// `X-Nano-Node`.
    pub async fn handle(
        &self,
        keys: &Keys,
        tenants: &TenantResolver,
        req: Request<Incoming>,
        segments: &[String],
    ) -> RouteResult {
        if let Some(ui) = segments.first() {
            if ui == "ui" {
                return Ok(super::admin_ui::serve(req.method(), req.uri().path()));
            }
        }
        let mut res = match self.answer(keys, tenants, req, segments).await {
            Ok(res) => res,
            Err(e) => e.into_response(),
        };
        res.headers_mut().insert("x-nano-node", self.node.clone());
        Ok(res)
    }

    async fn answer(
        &self,
        keys: &Keys,
        tenants: &TenantResolver,
        req: Request<Incoming>,
        segments: &[String],
    ) -> RouteResult {
        self.authorize(&req)?;
        let method = req.method().clone();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        if super::admin_app_changes::handles(&method, &segs) {
            return super::admin_app_changes::route(self.apps.as_deref(), req, &segs).await;
        }
        if let ["tenants", t, "services" | "queue", ..] = segs.as_slice() {
            let id = parse_tenant(t)?;
            self.require_tenant(&id).await?;
            let scope = tenants.scope_of_key(&id).scope;
            return super::admin_services::route(
                &self.services,
                &scope,
                &method,
                req.uri().query(),
                &segs,
            )
            .await;
        }
        if matches!(segs.first(), Some(&"apps" | &"reload" | &"metrics")) {
            let telemetry = self.telemetry.as_deref();
            return super::admin_apps::route(self.apps.as_deref(), telemetry, req, &segs)
                .await
                .unwrap_or_else(|| Ok(not_found()));
        }
        match (&method, segs.as_slice()) {
            (&Method::GET, ["tenants"]) => {
                let list = self.registry.list_tenants().await.map_err(ApiError::from)?;
                let list: Vec<Value> = list
                    .iter()
                    .map(|t| tenant_json(&t.id, t.created_ms))
                    .collect();
                Ok(json(
                    StatusCode::OK,
                    &json!({ "ok": true, "tenants": list }),
                ))
            }
            (&Method::POST, ["tenants"]) => {
                let body = read_json(req.into_body(), ADMIN_BODY_LIMIT).await?;
                let id = body.get("id").and_then(Value::as_str).ok_or_else(|| {
                    ApiError::bad_request("body must be { \"id\": \"<tenant>\" }")
                })?;
                let id = parse_tenant(id)?;
                let t = self
                    .registry
                    .create_tenant(&id)
                    .await
                    .map_err(ApiError::from)?;
                tenants.forget(&id);
                Ok(json(
                    StatusCode::CREATED,
                    &json!({ "ok": true, "tenant": tenant_json(&t.id, t.created_ms) }),
                ))
            }
            (&Method::GET, ["tenants", t]) => {
                let id = parse_tenant(t)?;
                let tenant = self
                    .registry
                    .get_tenant(&id)
                    .await
                    .map_err(ApiError::from)?
                    .ok_or_else(|| ApiError::not_found(format!("tenant {id} does not exist")))?;
                let keys = self.registry.list_keys(&id).await.map_err(ApiError::from)?;
                Ok(json(
                    StatusCode::OK,
                    &json!({ "ok": true, "tenant": tenant_json(&tenant.id, tenant.created_ms), "keys": keys.len() }),
                ))
            }
            // Marked first (no node accepts the tenant's writes from then on, see `purge.rs`), then purged, then
            // finished. A failed purge answers 500; deleting again resumes it.
            (&Method::DELETE, ["tenants", t]) => {
                let id = parse_tenant(t)?;
                self.registry
                    .mark_tenant_deleted(&id)
                    .await
                    .map_err(|e| match e {
                        crate::ports::RegistryError::TenantNotFound(_) => {
                            ApiError::not_found(format!("tenant {id} does not exist"))
                        }
                        e => ApiError::from(e),
                    })?;
                tenants.forget(&id);
                super::purge::purge_tenant(&self.services, &tenants.scope_of_key(&id).scope)
                    .await?;
                self.registry
                    .delete_tenant(&id)
                    .await
                    .map_err(ApiError::from)?;
                tenants.forget(&id);
                Ok(json(StatusCode::OK, &json!({ "ok": true })))
            }
            (&Method::GET, ["tenants", t, "export"]) => {
                let id = parse_tenant(t)?;
                self.require_tenant(&id).await?;
                let scope = tenants.scope_of_key(&id).scope;
                Ok(super::admin_export::export(self.services.clone(), scope))
            }
            (&Method::POST, ["tenants", t, "import"]) => {
                let id = parse_tenant(t)?;
                self.require_tenant(&id).await?;
                let scope = tenants.scope_of_key(&id).scope;
                super::admin_import::import(&self.services, &scope, req.into_body()).await
            }
            (&Method::GET, ["tenants", t, "keys"]) => {
                let id = parse_tenant(t)?;
                self.require_tenant(&id).await?;
                let list = self.registry.list_keys(&id).await.map_err(ApiError::from)?;
                let list: Vec<Value> = list.iter().map(key_json).collect();
                Ok(json(StatusCode::OK, &json!({ "ok": true, "keys": list })))
            }
            (&Method::POST, ["tenants", t, "keys"]) => {
                let id = parse_tenant(t)?;
                self.require_tenant(&id).await?;
                let host = req
                    .headers()
                    .get(HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("127.0.0.1:6363")
                    .to_string();
                let body = read_json(req.into_body(), ADMIN_BODY_LIMIT).await?;
                let grant: KeyGrant = serde_json::from_value(body)
                    .map_err(|e| ApiError::bad_request(format!("invalid key grant: {e}")))?;
                let (key, secret) = keys.issue(&id, grant).await.map_err(ApiError::from)?;
                let domain = key.grant.domains.first().map_or("default", String::as_str);
                Ok(json(
                    StatusCode::CREATED,
                    &json!({
                        "ok": true,
                        "key": key_json(&key),
                        "secret": secret,
                        "connection": {
                            "http": format!("http://{}:{}@{}/{}", key.id, secret, host, domain),
                            "cloud": format!("cloud://{}:{}@{}/{}", key.id, secret, host, id),
                        },
                    }),
                ))
            }
            (&Method::DELETE, ["tenants", t, "keys", key]) => {
                let id = parse_tenant(t)?;
                self.registry
                    .delete_key(&id, key)
                    .await
                    .map_err(ApiError::from)?;
                keys.forget(key);
                Ok(json(StatusCode::OK, &json!({ "ok": true })))
            }
            _ => Ok(not_found()),
        }
    }

    async fn require_tenant(&self, id: &TenantId) -> Result<(), ApiError> {
        match self.registry.get_tenant(id).await.map_err(ApiError::from)? {
            Some(_) => Ok(()),
            None => Err(ApiError::not_found(format!("tenant {id} does not exist"))),
        }
    }
}

/// The 401 every refused services request gets: no hint about which tenant or key exists.
pub fn unauthorized() -> Response<Body> {
    json(
        StatusCode::UNAUTHORIZED,
        &json!({ "ok": false, "msg": "not authorized" }),
    )
}
