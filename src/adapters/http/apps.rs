//! Requests whose Host maps to an app: the Host -> app table, and the bridge between hyper bodies and the runtime port.

use super::body::{Body, BoxError};
use crate::core::names::strip_port;
use crate::core::{AppName, Hostname};
use crate::ports::{AppRuntime, BodyError};
use futures::{StreamExt, TryStreamExt};
use http::{Request, Response};
use http_body_util::{BodyExt, BodyStream, StreamBody};
use hyper::body::{Frame, Incoming};
use std::collections::HashMap;
use std::sync::Arc;

/// One Host route: a hostname (exact or `*.` wildcard), the app it reaches, and the app's tenant.
pub type AppRoute = (Hostname, AppName, String);

/// The apps nano hosts, by hostname, and the runtime that runs them.
pub struct AppHosts {
    runtime: Arc<dyn AppRuntime>,
    exact: HashMap<String, (AppName, String)>,
    /// `(".example.com", app, tenant)` for `*.example.com`, longest suffix first.
    wildcard: Vec<(String, AppName, String)>,
}

impl AppHosts {
    /// `routes` gives each hostname (exact or `*.` wildcard) its app and the app's tenant.
    pub fn new(runtime: Arc<dyn AppRuntime>, routes: Vec<AppRoute>) -> Self {
        let mut exact = HashMap::new();
        let mut wildcard = Vec::new();
        for (host, app, tenant) in routes {
            match host.as_str().strip_prefix('*') {
                Some(suffix) => wildcard.push((suffix.to_string(), app, tenant)),
                None => {
                    exact.insert(host.as_str().to_string(), (app, tenant));
                }
            }
        }
        wildcard.sort_by_key(|(suffix, _, _)| std::cmp::Reverse(suffix.len()));
        Self {
            runtime,
            exact,
            wildcard,
        }
    }

    /// The app (and its tenant) a Host header maps to: exact names first, then the longest wildcard.
    pub fn lookup(&self, host: &str) -> Option<(&AppName, &str)> {
        let host = strip_port(host).to_ascii_lowercase();
        if let Some((app, tenant)) = self.exact.get(&host) {
            return Some((app, tenant));
        }
        self.wildcard
            .iter()
            .find(|(suffix, _, _)| host.ends_with(suffix.as_str()) && host.len() > suffix.len())
            .map(|(_, app, tenant)| (app, tenant.as_str()))
    }

    /// Runs the request on the app; limit and load errors become `{ ok:false, status, msg, limit }` JSON.
    pub async fn serve(&self, app: &AppName, host: &str, req: Request<Incoming>) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        if let Ok(uri) = format!("http://{host}{path}").parse() {
            parts.uri = uri;
        }
        let body = BodyStream::new(body)
            .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) })
            .map_err(|e| BodyError(e.to_string()));
        let req = Request::from_parts(parts, crate::ports::Body::from_stream(body));
        let res = match self.runtime.dispatch(app, req).await {
            Ok(res) => res,
            Err(e) => e.to_response(),
        };
        let (parts, body) = res.into_parts();
        if body.known_len().is_some() {
            // In memory already: send it whole, so hyper can give it a Content-Length.
            let bytes = body.collect().await.unwrap_or_default();
            return Response::from_parts(parts, super::body::full(bytes));
        }
        let stream = body
            .into_stream()
            .map_ok(Frame::data)
            .map_err(|e| Box::new(e) as BoxError);
        Response::from_parts(parts, StreamBody::new(stream.boxed()).boxed_unsync())
    }
}
