//! Reading requests: the query string (hyper parses it with `qs`), and bodies read with a size limit and parsed as JSON.

use super::response::ApiError;
use bytes::Bytes;
use http::StatusCode;
use http_body::Body as HttpBody;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

/// A parsed query string: every `name=value` pair, in order, percent-decoded.
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The single value of `name`; a repeated parameter is a 422 naming it (hyper's zod rejects the array `qs` makes).
    pub fn single<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, ApiError> {
        let mut values = self.get_all(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::unprocessable(format!(
                "Invalid Arguments '{name}': Expected string, received array."
            )));
        }
        Ok(first)
    }
}

/// Reads a whole request body, failing with 413 when it exceeds `limit` bytes.
pub async fn read_bytes<B>(body: B, limit: usize) -> Result<Bytes, ApiError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than {limit} bytes"),
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "request body could not be read: {e}"
        ))),
    }
}

/// Parses a JSON body as hyper's `express.json` does, but with honest status codes: an empty body is `{}`,
/// malformed JSON is 400 naming the parse error, and (in strict mode) only objects and arrays are accepted.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))?;
    if !(value.is_object() || value.is_array()) {
        return Err(ApiError::bad_request(
            "request body must be a JSON object or array",
        ));
    }
    if crate::core::nul::json_has_nul(&value) {
        return Err(ApiError::bad_request(crate::core::nul::NUL_REFUSED));
    }
    Ok(value)
}

/// Reads and parses a JSON body of at most `limit` bytes.
pub async fn read_json<B>(body: B, limit: usize) -> Result<Value, ApiError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    parse_json(&read_bytes(body, limit).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        let q = Query::parse(Some("keys=a&keys=b&limit=%202%20&x"));
        assert_eq!(q.get("limit"), Some(" 2 "));
        assert_eq!(q.get_all("keys").collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(q.get("x"), Some(""));
        assert!(q.single("keys").is_err());
        assert_eq!(q.single("limit").unwrap(), Some(" 2 "));
        assert_eq!(q.single("missing").unwrap(), None);
    }

    #[test]
    fn json_parsing() {
        assert_eq!(parse_json(b"  ").unwrap(), serde_json::json!({}));
        assert_eq!(parse_json(b"[1]").unwrap(), serde_json::json!([1]));
        assert_eq!(
            parse_json(b"{bad").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            parse_json(b"\"str\"").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            parse_json(b"null").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
