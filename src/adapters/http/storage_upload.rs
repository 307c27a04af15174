//! Storage uploads: request bodies as byte streams (raw binary) and hyper's multipart form (`file` + optional
//! `path`), streamed into the port without buffering the object.

use super::response::{ok, ApiError, RouteResult};
use crate::core::{DomainName, TenantScope};
use crate::ports::storage::{ByteStream, ObjectKey, Storage};
use bytes::Bytes;
use futures::StreamExt;
use http::StatusCode;
use http_body_util::BodyStream;
use hyper::body::Incoming;
use multer::{Constraints, Field, Multipart, SizeLimit};
use std::io;

/// hyper's 422 when `POST /storage/:name` carries no usable file.
pub const FORM_DATA_REQUIRED: &str =
    "body must be FormData that contains a file field and optional path field";

/// A request body as a stream of data chunks.
pub fn body_stream(body: Incoming) -> ByteStream {
    Box::pin(BodyStream::new(body).filter_map(|frame| async move {
        match frame {
            Ok(frame) => frame.into_data().ok().map(Ok),
            Err(e) => Some(Err(io::Error::other(e))),
        }
    }))
}

/// Streams a raw body to `object`: `201 {ok:true}`.
pub async fn raw(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &DomainName,
    object: &ObjectKey,
    body: Incoming,
) -> RouteResult {
    storage
        .put_object(scope, bucket, object, body_stream(body))
        .await?;
    Ok(ok(StatusCode::CREATED))
}

/// hyper's object name for a multipart upload: the `path` field (or else the URL wildcard) as a folder, with a
/// last segment that looks like a file name (contains `.`) dropped, then the uploaded file's own name.
pub fn multipart_object_name(dir: &str, file_name: &str) -> String {
    let mut dir = dir.trim_end_matches('/');
    if let Some((parent, last)) = dir.rsplit_once('/') {
        if last.contains('.') {
            dir = parent;
        }
    } else if dir.contains('.') {
        dir = "";
    }
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() {
        file_name.to_string()
    } else {
        format!("{dir}/{file_name}")
    }
}

/// A multipart upload: reads fields until `file`, streams it to the port, and checks what follows it.
/// The `path` field must come before `file` (FormData sends fields in the order they were appended).
pub async fn multipart(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &DomainName,
    wildcard: &str,
    content_type: &str,
    body: Incoming,
) -> RouteResult {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| ApiError::bad_request(format!("multipart body has no boundary: {e}")))?;
    let constraints = Constraints::new().size_limit(SizeLimit::new().for_field("path", 4096));
    let mut form = Multipart::with_constraints(body_stream(body), boundary, constraints);
    let mut path: Option<String> = None;
    let file = loop {
        let field = form.next_field().await.map_err(form_error)?;
        let Some(field) = field else {
            return Err(ApiError::unprocessable(FORM_DATA_REQUIRED));
        };
        let name = field.name().unwrap_or_default().to_string();
        match (name.as_str(), field.file_name().is_some()) {
            ("file", true) => break field,
            ("path", false) => path = Some(field.text().await.map_err(form_error)?),
            (_, true) => {
                return Err(ApiError::bad_request(format!(
                    "Unexpected field '{name}': the file must be sent in the 'file' field"
                )))
            }
            _ => drop(field.bytes().await.map_err(form_error)?),
        }
    };
    let file_name = file.file_name().unwrap_or_default().to_string();
    if file_name.is_empty() {
        return Err(ApiError::unprocessable(FORM_DATA_REQUIRED));
    }
    let dir = path.as_deref().unwrap_or(wildcard);
    let object = ObjectKey::parse(&multipart_object_name(dir, &file_name))?;
    storage
        .put_object(scope, bucket, &object, file_then_rest(file, form))
        .await?;
    Ok(ok(StatusCode::CREATED))
}

fn form_error(e: multer::Error) -> ApiError {
    ApiError::bad_request(format!("multipart body is not valid: {e}"))
}

/// The file part's bytes; when they end, the remaining fields are read, and a late `path` or a second file
/// turns the end of the stream into an error, so the port stores nothing.
fn file_then_rest(file: Field<'static>, form: Multipart<'static>) -> ByteStream {
    enum State {
        File(Box<(Field<'static>, Multipart<'static>)>),
        Done,
    }
    Box::pin(futures::stream::unfold(
        State::File(Box::new((file, form))),
        |state| async move {
            let State::File(parts) = state else {
                return None;
            };
            let (mut file, mut form) = *parts;
            match file.chunk().await {
                Ok(Some(bytes)) => Some((
                    Ok::<Bytes, io::Error>(bytes),
                    State::File(Box::new((file, form))),
                )),
                Ok(None) => {
                    drop(file);
                    match check_rest(&mut form).await {
                        Ok(()) => None,
                        Err(msg) => Some((Err(io::Error::other(msg)), State::Done)),
                    }
                }
                Err(e) => Some((Err(io::Error::other(e.to_string())), State::Done)),
            }
        },
    ))
}

async fn check_rest(form: &mut Multipart<'static>) -> Result<(), String> {
    while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
        if field.name() == Some("path") {
            return Err("the path field must come before the file field".into());
        }
        if field.file_name().is_some() {
            return Err("only one file may be uploaded per request".into());
        }
        field.bytes().await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::multipart_object_name as name;

    #[test]
    fn multipart_names_follow_hyper() {
        assert_eq!(name("", "logo.png"), "logo.png");
        assert_eq!(name("images", "logo.png"), "images/logo.png");
        assert_eq!(name("images/", "logo.png"), "images/logo.png");
        assert_eq!(name("/path/x.png", "logo.png"), "/path/logo.png");
        assert_eq!(name("x.png", "logo.png"), "logo.png");
        assert_eq!(name("a/b/c", "f.txt"), "a/b/c/f.txt");
    }
}
