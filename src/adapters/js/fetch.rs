//! Apps' outbound `fetch`: the outbound policy checked before the request and every redirect (names are checked
//! again by address when the client resolves them), redirects followed, handed back or refused as the request's
//! `redirect` mode says (the Fetch standard's HTTP-redirect fetch), the hop count carried so request chains back
//! into nano cannot multiply, and failures told apart by a code the glue puts on `e.cause.code`.
//!
//! The client is built by the composition root with `http_client::guarded`, which checks every connection's resolved
//! addresses. At most `MAX_OUTBOUND_PER_APP` (128) fetches of one app are under way at once, a semaphore in its
//! counters.

use crate::core::outbound::{OutboundPolicy, HOPS_HEADER};
use crate::ports::BodyError;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use std::io::ErrorKind;

/// Most redirects followed for one fetch, as browsers and workerd.
const MAX_REDIRECTS: usize = 20;

/// What a fetch does with a redirect response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    Follow,
    /// The redirect response itself is the fetch's response.
    Manual,
    /// A redirect response fails the fetch.
    Error,
}

impl Redirect {
    pub fn parse(mode: &str) -> Self {
        match mode {
            "manual" => Self::Manual,
            "error" => Self::Error,
            _ => Self::Follow,
        }
    }
}

/// The body of an outgoing request: bytes can be sent again after a redirect, a stream only once.
pub enum OutBody {
    None,
    Bytes(Bytes),
    Stream(reqwest::Body),
}

/// An outbound request as the app made it.
pub struct Outgoing {
    pub method: http::Method,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: OutBody,
    pub redirect: Redirect,
    /// Hops of the request chain so far (the incoming request's, plus this one).
    pub hops: u32,
}

/// The final response: its head, the URL it came from when redirects were followed, and its body.
pub struct Fetched {
    pub status: u16,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    pub redirected_to: Option<String>,
    pub body: BoxStream<'static, Result<Bytes, BodyError>>,
}

/// A failure as the glue reads it: `<CODE> <message>`.
fn failure(code: &str, msg: impl std::fmt::Display) -> String {
    format!("{code} {msg}")
}

/// Sends `req` with `client` under `policy`, following redirects as asked.
pub async fn send(
    client: &reqwest::Client,
    policy: &OutboundPolicy,
    mut req: Outgoing,
) -> Result<Fetched, String> {
    let mut redirects = 0;
    let mut streamed = false;
    loop {
        if let Some(why) = policy.refuses_url(&req.url) {
            return Err(failure("EPOLICY", why));
        }
        let mut rb = client.request(req.method.clone(), req.url.clone());
        for (k, v) in &req.headers {
            if !k.eq_ignore_ascii_case(HOPS_HEADER) {
                rb = rb.header(k, v);
            }
        }
        rb = rb.header(HOPS_HEADER, req.hops.to_string());
        rb = match std::mem::replace(&mut req.body, OutBody::None) {
            OutBody::None => rb,
            OutBody::Bytes(b) => {
                req.body = OutBody::Bytes(b.clone());
                rb.body(b)
            }
            OutBody::Stream(s) => {
                streamed = true;
                rb.body(s)
            }
        };
        let res = rb.send().await.map_err(|e| describe(&e))?;
        let status = res.status();
        let location = res
            .headers()
            .get(http::header::LOCATION)
            .and_then(|l| l.to_str().ok());
        let is_redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
        if !is_redirect || req.redirect == Redirect::Manual || location.is_none() {
            return Ok(fetched(res, redirects > 0));
        }
        if req.redirect == Redirect::Error {
            return Err(failure(
                "EREDIRECT",
                format!(
                    "fetch to {} was redirected and its redirect mode is \"error\"",
                    req.url
                ),
            ));
        }
        redirects += 1;
        if redirects > MAX_REDIRECTS {
            return Err(failure(
                "EREDIRECT",
                format!(
                    "fetch to {} was redirected more than {MAX_REDIRECTS} times",
                    req.url
                ),
            ));
        }
        let location = location.unwrap_or_default();
        let next = req.url.join(location).map_err(|e| {
            failure(
                "EREDIRECT",
                format!("redirect to an invalid URL {location}: {e}"),
            )
        })?;
        // 303, and 301/302 after a POST, turn into a GET without a body (the Fetch standard).
        let to_get = status.as_u16() == 303 && req.method != http::Method::HEAD
            || matches!(status.as_u16(), 301 | 302) && req.method == http::Method::POST;
        if to_get {
            req.method = http::Method::GET;
            req.body = OutBody::None;
            req.headers.retain(|(k, _)| {
                !matches!(
                    k.to_ascii_lowercase().as_str(),
                    "content-type"
                        | "content-length"
                        | "content-encoding"
                        | "content-language"
                        | "content-location"
                )
            });
        } else if streamed {
            return Err(failure(
                "EREDIRECT",
                "cannot follow a redirect that resends a streamed request body",
            ));
        }
        if next.origin() != req.url.origin() {
            req.headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
        }
        req.url = next;
    }
}

fn fetched(res: reqwest::Response, redirected: bool) -> Fetched {
    Fetched {
        status: res.status().as_u16(),
        status_text: res.status().canonical_reason().unwrap_or("").to_string(),
        headers: header_pairs(res.headers()),
        redirected_to: redirected.then(|| res.url().to_string()),
        body: res
            .bytes_stream()
            .map(|r| r.map_err(|e| BodyError(e.to_string())))
            .boxed(),
    }
}

/// A response's headers as the glue takes them: lower-case names and values, in order.
pub fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// A failed request as `<CODE> <message>`: the outbound policy (`EPOLICY`), a failed lookup (`ENOTFOUND`), a refused
/// connection (`ECONNREFUSED`), a timeout (`ETIMEDOUT`), anything else (`EFETCH`). The client's resolver reports
/// refusals and failed lookups as `io::Error`s of kind `PermissionDenied` and `NotFound`.
fn describe(e: &reqwest::Error) -> String {
    let host = e
        .url()
        .and_then(|u| u.host_str())
        .unwrap_or_default()
        .to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::PermissionDenied => return failure("EPOLICY", io),
                ErrorKind::NotFound => return failure("ENOTFOUND", io),
                ErrorKind::ConnectionRefused => {
                    return failure("ECONNREFUSED", format!("connection to {host} refused"))
                }
                ErrorKind::TimedOut => {
                    return failure("ETIMEDOUT", format!("connecting to {host} timed out"))
                }
                _ => {}
            }
        }
        source = s.source();
    }
    if e.is_timeout() {
        return failure("ETIMEDOUT", format!("fetch to {host} timed out"));
    }
    failure("EFETCH", format!("fetch to {host} failed: {e}"))
}
