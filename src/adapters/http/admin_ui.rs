//! The operator console at `/admin/ui`: the static files of `console/`, embedded in the binary and served without
//! admin auth (they hold no data; the console's scripts call the admin API with the operator's token), under a
//! Content-Security-Policy that allows only the console's own scripts, styles and requests.

use super::body::{empty, full, Body};
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{Method, Response, StatusCode};

/// The console's files: path below `/admin/ui/`, content type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../../../console/index.html"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../console/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../console/console.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../console/api.js"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../console/charts.js"),
    ),
    (
        "pages.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../console/pages.js"),
    ),
];

/// Only the console's own files and the admin API on this origin; no inline script or style, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Answers `/admin/ui` and `/admin/ui/<file>` (`path` is the request's path): the console's files, `/admin/ui`
/// redirected to `/admin/ui/` so relative paths resolve below it, 404 for anything else.
pub fn serve(method: &Method, path: &str) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    let name = match path.strip_prefix("/admin/ui") {
        Some("") => {
            let mut res = status(StatusCode::PERMANENT_REDIRECT);
            res.headers_mut()
                .insert(LOCATION, HeaderValue::from_static("/admin/ui/"));
            return res;
        }
        Some("/") => "index.html",
        Some(rest) => rest.trim_start_matches('/'),
        None => return status(StatusCode::NOT_FOUND),
    };
    let Some((_, content_type, bytes)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return status(StatusCode::NOT_FOUND);
    };
    let mut res = Response::new(if method == Method::HEAD {
        empty()
    } else {
        full(*bytes)
    });
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("content-security-policy", HeaderValue::from_static(CSP));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    res
}

fn status(code: StatusCode) -> Response<Body> {
    let mut res = Response::new(empty());
    *res.status_mut() = code;
    res
}
