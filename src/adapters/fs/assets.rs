//! An app's static assets folder behind the app assets port: content types, ETag (304 on If-None-Match), single
//! byte ranges (206/416), `index.html` for folders and `<hostname>.html` for `/`. Paths never leave the folder:
//! `..`, `.` and empty segments, hidden names, backslashes, NULs and symbolic links are refused.

use crate::core::names::strip_port;
use crate::ports::{AppAssets, Body, BodyError};
use async_trait::async_trait;
use futures::TryStreamExt;
use http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_NONE_MATCH, RANGE,
};
use http::{HeaderValue, Method, Response, StatusCode};
use percent_encoding::percent_decode_str;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// One app's assets folder.
#[derive(Debug, Clone)]
pub struct FsAssets {
    dir: PathBuf,
}

impl FsAssets {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

#[async_trait]
impl AppAssets for FsAssets {
    async fn serve(
        &self,
        method: &Method,
        path: &str,
        host: &str,
        headers: &http::HeaderMap,
    ) -> Option<Response<Body>> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let dir = self.dir.clone();
        let path = path.to_string();
        let host = strip_port(host).to_ascii_lowercase();
        let found = tokio::task::spawn_blocking(move || find(&dir, &host, &path))
            .await
            .ok()
            .flatten()?;
        Some(answer(found, headers, method == Method::HEAD).await)
    }
}

/// A file to send: its path, size and ETag.
struct Found {
    path: PathBuf,
    len: u64,
    etag: String,
}

/// The file a URL path names under `dir`: the per-hostname page for `/`, then the file, then a folder's
/// `index.html`.
fn find(dir: &Path, host: &str, url_path: &str) -> Option<Found> {
    let segments = safe_segments(url_path)?;
    let plain_host = !host.is_empty()
        && !host.starts_with('.')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if segments.is_empty() && plain_host {
        if let Some(f) = regular_file(dir, &[format!("{host}.html")]) {
            return Some(f);
        }
    }
    if let Some(f) = regular_file(dir, &segments) {
        return Some(f);
    }
    let mut index = segments;
    index.push("index.html".to_string());
    regular_file(dir, &index)
}

/// Percent-decoded segments of a URL path, or `None` when one could escape the folder or name a hidden file.
fn safe_segments(url_path: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let trimmed = url_path.trim_start_matches('/');
    if trimmed.is_empty() {
        return Some(out);
    }
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    for raw in trimmed.split('/') {
        let seg = percent_decode_str(raw).decode_utf8().ok()?.into_owned();
        if seg.is_empty()
            || seg == "."
            || seg == ".."
            || seg.starts_with('.')
            || seg.contains(['/', '\\', '\0'])
        {
            return None;
        }
        out.push(seg);
    }
    Some(out)
}

/// A regular file at `dir/segments...`, reached without crossing a symbolic link.
fn regular_file(dir: &Path, segments: &[String]) -> Option<Found> {
    let mut path = dir.to_path_buf();
    for seg in segments {
        path.push(seg);
        let meta = fs::symlink_metadata(&path).ok()?;
        if meta.file_type().is_symlink() {
            return None;
        }
    }
    let meta = fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Some(Found {
        etag: format!("\"{:x}-{:x}\"", meta.len(), mtime),
        len: meta.len(),
        path,
    })
}

async fn answer(found: Found, headers: &http::HeaderMap, head: bool) -> Response<Body> {
    let content_type = mime_guess::from_path(&found.path)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let content_type = if content_type.starts_with("text/")
        || content_type == "application/javascript"
        || content_type == "application/json"
    {
        format!("{content_type}; charset=utf-8")
    } else {
        content_type.to_string()
    };
    let mut res = Response::new(Body::empty());
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&found.etag) {
        h.insert(ETAG, v);
    }
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let not_modified = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == "*" || t == found.etag)
        });
    if not_modified {
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        return res;
    }
    let range = match headers.get(RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(spec) => match parse_range(spec, found.len) {
            Some(r) => Some(r),
            None => {
                *res.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
                let h = res.headers_mut();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", found.len)) {
                    h.insert(CONTENT_RANGE, v);
                }
                h.insert(CONTENT_LENGTH, HeaderValue::from(0u64));
                return res;
            }
        },
    };
    let (start, end) = range.unwrap_or((0, found.len.saturating_sub(1)));
    let len = if found.len == 0 { 0 } else { end - start + 1 };
    if range.is_some() {
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{}", found.len)) {
            res.headers_mut().insert(CONTENT_RANGE, v);
        }
    }
    res.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(len));
    if head || len == 0 {
        return res;
    }
    // Streamed from disk in chunks: large files never sit whole in memory.
    let mut file = match tokio::fs::File::open(&found.path).await {
        Ok(f) => f,
        Err(_) => return unreadable(),
    };
    if start > 0 {
        use tokio::io::AsyncSeekExt;
        if file.seek(std::io::SeekFrom::Start(start)).await.is_err() {
            return unreadable();
        }
    }
    use tokio::io::AsyncReadExt;
    let stream = tokio_util::io::ReaderStream::new(file.take(len))
        .map_err(|e| BodyError(format!("cannot read the asset: {e}")));
    *res.body_mut() = Body::from_stream(stream);
    res
}

/// A file found but not readable: 500 in hyper's error shape.
fn unreadable() -> Response<Body> {
    let mut res = Response::new(Body::from_bytes(
        r#"{"ok":false,"status":500,"msg":"cannot read the asset"}"#,
    ));
    *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

/// One `bytes=a-b`, `bytes=a-` or `bytes=-n` range within `len`; `None` when it cannot be satisfied.
fn parse_range(spec: &str, len: u64) -> Option<(u64, u64)> {
    let spec = spec.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 {
            return None;
        }
        return Some((len.saturating_sub(n), len - 1));
    }
    let start: u64 = a.parse().ok()?;
    let end = if b.is_empty() {
        len - 1
    } else {
        b.parse::<u64>().ok()?.min(len - 1)
    };
    (start <= end && start < len).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-4", 10), Some((0, 4)));
        assert_eq!(parse_range("bytes=5-", 10), Some((5, 9)));
        assert_eq!(parse_range("bytes=-3", 10), Some((7, 9)));
        assert_eq!(parse_range("bytes=5-100", 10), Some((5, 9)));
        assert_eq!(parse_range("bytes=10-", 10), None);
        assert_eq!(parse_range("bytes=4-2", 10), None);
        assert_eq!(parse_range("items=0-1", 10), None);
    }

    #[test]
    fn paths_cannot_escape() {
        assert_eq!(safe_segments("/"), Some(vec![]));
        assert_eq!(
            safe_segments("/a/b.css"),
            Some(vec!["a".into(), "b.css".into()])
        );
        assert_eq!(safe_segments("/../etc/passwd"), None);
        assert_eq!(safe_segments("/a/%2e%2e/x"), None);
        assert_eq!(safe_segments("/a/%2F..%2Fx"), None);
        assert_eq!(safe_segments("/a//b"), None);
        assert_eq!(safe_segments("/.env"), None);
        assert_eq!(safe_segments("/a\\..\\b"), None);
    }
}
