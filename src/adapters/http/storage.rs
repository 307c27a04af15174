//! The storage service's routes, `/storage/:name/*` (hyper's §2.7), plus what hyper lacks: listing, `HEAD`,
//! `Range` downloads, and signed URLs nano serves itself.

use super::body::{empty, Body, BoxError};
use super::response::{json, reply, ApiError, RouteResult};
use super::router::ServiceRequest;
use super::storage_upload::{self as upload, FORM_DATA_REQUIRED};
use crate::core::clock::now_unix;
use crate::core::{DomainName, TenantScope};
use crate::ports::storage::{ObjectKey, RangeSpec, SignedAccess, Storage, StorageError};
use crate::services::storage::{self as service, bucket_name, object_key};
use futures::TryStreamExt;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::json;

/// Default and longest lifetime of a signed URL, in seconds.
const SIGNED_URL_TTL: u64 = 900;
const SIGNED_URL_MAX_TTL: u64 = 7 * 24 * 3600;

/// Characters escaped in an object path segment of a signed URL.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'+')
    .add(b'&');

pub async fn route(storage: &dyn Storage, req: ServiceRequest) -> RouteResult {
    let Some(raw_bucket) = req.segments.first().cloned() else {
        return match req.method {
            Method::GET | Method::HEAD => Ok(json(
                StatusCode::OK,
                &json!({"name": "hyper63 Storage", "version": "1.0", "status": "unstable"}),
            )),
            _ => Ok(super::response::not_found()),
        };
    };
    let bucket = bucket_name(&raw_bucket)?;
    if is_signed_object(&req.method, &req.rest, &req.query) {
        return signed_request(storage, &bucket, req).await;
    }
    let has_object = !has_no_object(&req.rest);
    let scope = &req.scope;
    let answer = match (req.method.clone(), has_object) {
        (Method::PUT, false) => service::create_bucket(storage, scope, &raw_bucket).await,
        (Method::DELETE, false) => service::delete_bucket(storage, scope, &raw_bucket).await,
        (Method::GET, false) => {
            let prefix = req.query.single("prefix")?.unwrap_or_default();
            service::list(storage, scope, &raw_bucket, prefix).await
        }
        (Method::POST, _) => return post(storage, &bucket, req).await,
        (Method::GET | Method::HEAD, true) => {
            let object = object_key(&req.rest)?;
            if req.method == Method::GET && use_signed_url(&req) {
                return signed_url(storage, &bucket, &object, SignedAccess::Download, &req).await;
            }
            return download(storage, scope, &bucket, &object, &req.method, &req.headers).await;
        }
        (Method::DELETE, true) => service::remove(storage, scope, &raw_bucket, &req.rest).await,
        _ => return Ok(super::response::not_found()),
    };
    answer.map(reply)
}

fn use_signed_url(req: &ServiceRequest) -> bool {
    req.query.get("useSignedUrl") == Some("true")
}

/// `POST /storage/:name[/*]`: multipart, else the signed-URL flow, else a raw binary upload (hyper's order).
async fn post(storage: &dyn Storage, bucket: &DomainName, req: ServiceRequest) -> RouteResult {
    let content_type = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(ct) = content_type
        .as_deref()
        .filter(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"))
    {
        return upload::multipart(storage, &req.scope, bucket, &req.rest, ct, req.body).await;
    }
    // Without an object path only a multipart form can name the object (hyper's `POST /storage/:name`).
    if has_no_object(&req.rest) {
        return Err(ApiError::unprocessable(FORM_DATA_REQUIRED));
    }
    // Exactly `application/json`, as hyper compares it: `application/json, */*` (axios) is a raw upload.
    let accepts_json = req
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.trim() == "application/json");
    let object = object_key(&req.rest)?;
    if accepts_json || use_signed_url(&req) || content_type.is_none() {
        return signed_url(storage, bucket, &object, SignedAccess::Upload, &req).await;
    }
    upload::raw(storage, &req.scope, bucket, &object, req.body).await
}

/// `201 {ok:true, url}`: the store's presigned URL when it answers one, else nano's own URL of the object with a
/// signature granting `access` for the TTL.
async fn signed_url(
    storage: &dyn Storage,
    bucket: &DomainName,
    object: &ObjectKey,
    access: SignedAccess,
    req: &ServiceRequest,
) -> RouteResult {
    if !storage.bucket_exists(&req.scope, bucket).await? {
        return Err(ApiError::from(StorageError::BucketNotFound));
    }
    let ttl = match req.query.single("expiresIn")? {
        None => SIGNED_URL_TTL,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|t| (1..=SIGNED_URL_MAX_TTL).contains(t))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "expiresIn must be a number of seconds from 1 to {SIGNED_URL_MAX_TTL}"
                ))
            })?,
    };
    let status = if access == SignedAccess::Upload {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    if let Some(url) = storage
        .presign(&req.scope, bucket, object, access, ttl)
        .await?
    {
        return Ok(json(status, &json!({"ok": true, "url": url})));
    }
    let expires = now_unix() + ttl;
    let query = storage
        .sign(&req.scope, bucket, object, access, expires)
        .await?;
    let scheme = match req.headers.get("x-forwarded-proto").map(|v| v.as_bytes()) {
        Some(b"https") => "https",
        _ => "http",
    };
    let host = req
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let path: Vec<String> = object
        .segments()
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect();
    let url = format!(
        "{scheme}://{host}/{}/storage/{}/{}?{query}",
        req.scope.as_str(),
        bucket.as_str(),
        path.join("/")
    );
    Ok(json(status, &json!({"ok": true, "url": url})))
}

/// Whether a request is one a signed URL can authorize: a download (GET, HEAD) or upload (PUT, POST) of an object
/// (a non-empty path below the bucket) carrying `signature`. The router lets exactly these through without a key,
/// and `route` sends exactly these to `signed_request`.
pub fn is_signed_object(method: &Method, rest: &str, query: &super::request::Query) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::POST
    ) && !has_no_object(rest)
        && query.get("signature").is_some()
}

/// Whether the path below the bucket names no object (empty, or only slashes).
fn has_no_object(rest: &str) -> bool {
    rest.trim_matches('/').is_empty()
}

/// A request carrying `signature` and `expires`: verified (403 when expired or tampered), then served.
async fn signed_request(
    storage: &dyn Storage,
    bucket: &DomainName,
    req: ServiceRequest,
) -> RouteResult {
    let object = object_key(&req.rest)?;
    let access = match req.method {
        Method::GET | Method::HEAD => SignedAccess::Download,
        Method::PUT | Method::POST => SignedAccess::Upload,
        _ => return Ok(super::response::not_found()),
    };
    let forbidden = || ApiError::from(StorageError::SignatureInvalid);
    let expires = req
        .query
        .single("expires")
        .map_err(|_| forbidden())?
        .and_then(|e| e.parse::<u64>().ok())
        .ok_or_else(forbidden)?;
    let signature = req.query.single("signature").map_err(|_| forbidden())?;
    storage
        .verify(
            &req.scope,
            bucket,
            &object,
            access,
            expires,
            signature.unwrap_or_default(),
        )
        .await?;
    match access {
        SignedAccess::Download => {
            download(
                storage,
                &req.scope,
                bucket,
                &object,
                &req.method,
                &req.headers,
            )
            .await
        }
        SignedAccess::Upload => upload::raw(storage, &req.scope, bucket, &object, req.body).await,
    }
}

/// Streams an object (or the asked range) with its type, length and range headers.
async fn download(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &DomainName,
    object: &ObjectKey,
    method: &Method,
    headers: &HeaderMap,
) -> RouteResult {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_range);
    let found = match storage.get_object(scope, bucket, object, range).await {
        Ok(found) => found,
        Err(StorageError::RangeNotSatisfiable { size }) => {
            let mut res = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("range not satisfiable: the object has {size} bytes"),
            )
            .into_response();
            res.headers_mut().insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes */{size}")),
            );
            return Ok(res);
        }
        Err(e) => return Err(ApiError::from(e)),
    };
    let length = found
        .range
        .map_or(found.size, |(start, end)| end - start + 1);
    let body: Body = if method == Method::HEAD {
        empty()
    } else {
        StreamBody::new(
            found
                .stream
                .map_ok(Frame::data)
                .map_err(|e| Box::new(e) as BoxError),
        )
        .boxed_unsync()
    };
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header_value(&content_type(object.as_str())),
    );
    h.insert(header::CONTENT_LENGTH, header_value(&length.to_string()));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some((start, end)) = found.range {
        h.insert(
            header::CONTENT_RANGE,
            header_value(&format!("bytes {start}-{end}/{}", found.size)),
        );
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(res)
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// A single `bytes=` range; anything else (several ranges, other units, bad syntax) is ignored, so the whole
/// object is sent, as RFC 9110 allows.
fn parse_range(value: &str) -> Option<RangeSpec> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (start.trim(), end.trim());
    match (start.is_empty(), end.is_empty()) {
        (true, false) => end.parse().ok().map(RangeSpec::Suffix),
        (false, true) => start.parse().ok().map(RangeSpec::From),
        (false, false) => {
            let (a, b) = (start.parse().ok()?, end.parse().ok()?);
            (a <= b).then_some(RangeSpec::FromTo(a, b))
        }
        (true, true) => None,
    }
}

/// The Content-Type of an object, from the extension of its file name (`a.tar.gz` gives `application/gzip`;
/// hyper used the first dot of the whole path). Text types get `; charset=UTF-8` as hyper's deno `contentType`
/// adds; unknown or absent extensions give `application/octet-stream`.
pub fn content_type(object: &str) -> String {
    let file = object.rsplit('/').next().unwrap_or(object);
    let Some((_, ext)) = file.rsplit_once('.') else {
        return "application/octet-stream".into();
    };
    let Some(mime) = mime_guess::from_ext(ext).first() else {
        return "application/octet-stream".into();
    };
    let essence = mime.essence_str().to_string();
    let texty = mime.type_() == mime_guess::mime::TEXT
        || matches!(
            essence.as_str(),
            "application/json" | "application/javascript" | "application/xml"
        );
    if texty {
        format!("{essence}; charset=UTF-8")
    } else {
        essence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(content_type("bar.txt"), "text/plain; charset=UTF-8");
        assert_eq!(content_type("dir/logo.png"), "image/png");
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert_eq!(content_type("v1.2/noext"), "application/octet-stream");
        assert_eq!(content_type("x.unknownext"), "application/octet-stream");
        assert_eq!(content_type("a.json"), "application/json; charset=UTF-8");
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9"), Some(RangeSpec::FromTo(0, 9)));
        assert_eq!(parse_range("bytes=5-"), Some(RangeSpec::From(5)));
        assert_eq!(parse_range("bytes=-5"), Some(RangeSpec::Suffix(5)));
        assert_eq!(parse_range("bytes=0-1,3-4"), None);
        assert_eq!(parse_range("items=0-1"), None);
        assert_eq!(parse_range("bytes=9-1"), None);
        assert_eq!(parse_range("bytes=-"), None);
    }
}
