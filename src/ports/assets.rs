//! The app assets port: an app's static files answered as HTTP responses, for the HTTP server and `env.ASSETS`.

use super::runtime::Body;
use async_trait::async_trait;

/// Contract:
/// - `serve` answers a GET or HEAD of `path` (a URL path, percent-encoded) from the app's folder: the file, else a
///   folder's `index.html`; for `/` first the per-hostname page `<host>.html` when `host` is a plain hostname.
///   `None` when no file matches or for another method (the caller decides: the app's code, or a 404).
/// - A found file answers 200 with its content type (`; charset=utf-8` for text), `ETag` and `Accept-Ranges`;
///   304 when `If-None-Match` names its ETag (or `*`); 206 with `Content-Range` for one satisfiable `Range`, 416
///   with `Content-Range: bytes */len` for one that is not. HEAD gets the headers and no body.
/// - Paths never leave the folder: `..`, `.` and empty segments, hidden names, backslashes, NULs and symbolic links
///   match nothing.
#[async_trait]
pub trait AppAssets: Send + Sync + 'static {
    async fn serve(
        &self,
        method: &http::Method,
        path: &str,
        host: &str,
        headers: &http::HeaderMap,
    ) -> Option<http::Response<Body>>;
}
