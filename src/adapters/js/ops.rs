//! Engine-neutral implementations of the Web API's native operations (randomness, URL, encodings, compression);
//! WebCrypto's are in `crypto/`.

use base64::Engine as _;
use rand::RngCore;

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

pub fn random_uuid() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn base64_encode(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Forgiving base64 decode as `atob` specifies (ASCII whitespace ignored, padding optional).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut clean: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r'))
        .collect();
    if clean.len().is_multiple_of(4) && clean.ends_with('=') {
        clean = clean.trim_end_matches('=').to_string();
        if s.chars().filter(|c| *c == '=').count() > 2 {
            return None;
        }
    }
    if clean.len() % 4 == 1 {
        return None;
    }
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(clean.as_bytes())
        .ok()
}

/// URL components in the order the JS glue expects, or None when the input (or the base) does not parse. The
/// parser is ada, the WHATWG URL Standard's as Node's is.
pub fn url_parse(input: &str, base: Option<&str>) -> Option<Vec<String>> {
    ada_url::Url::parse(input, base).ok().map(|u| url_parts(&u))
}

/// The WHATWG getters (an empty query or fragment reads as `""`), in the glue's `URL_PARTS` order.
fn url_parts(u: &ada_url::Url) -> Vec<String> {
    [
        u.href(),
        u.protocol(),
        u.username(),
        u.password(),
        u.host(),
        u.hostname(),
        u.port(),
        u.pathname(),
        u.search(),
        u.hash(),
    ]
    .into_iter()
    .map(str::to_string)
    .chain([u.origin()])
    .collect()
}

/// Applies one WHATWG setter (`href`, `protocol`, `host`, `pathname`, ...), or sets the serialized `query` as
/// `URLSearchParams` does, and returns the new components. A value the spec ignores leaves the URL as it was; only
/// an `href` (current or new) that does not parse, or an unknown part, is an error, and with `strict` any value the
/// URL parser refuses is one too (URLPattern canonicalizes that way).
pub fn url_set(href: &str, part: &str, value: &str, strict: bool) -> Result<Vec<String>, String> {
    let invalid = |s: &str| format!("Invalid URL: {s}");
    let mut u = ada_url::Url::parse(href, None).map_err(|_| invalid(href))?;
    let some = Some(value);
    // The setters' `Err(())` only says the parser refused the value, which the URL setters ignore.
    let applied = match part {
        "href" => {
            u.set_href(value).map_err(|_| invalid(value))?;
            Ok(())
        }
        "protocol" => u.set_protocol(value),
        "username" => u.set_username(some),
        "password" => u.set_password(some),
        "host" => u.set_host(some),
        "hostname" => u.set_hostname(some),
        "port" => u.set_port(some),
        "pathname" => u.set_pathname(some),
        "search" => {
            u.set_search(some);
            Ok(())
        }
        "hash" => {
            u.set_hash(some);
            Ok(())
        }
        "query" => {
            u.set_search(some.filter(|v| !v.is_empty()));
            Ok(())
        }
        other => return Err(format!("URL has no settable part '{other}'")),
    };
    if strict && applied.is_err() {
        return Err(format!("Invalid URL {part}: {value}"));
    }
    Ok(url_parts(&u))
}

/// A streaming gzip / deflate (zlib) / deflate-raw compressor or decompressor.
pub enum Codec {
    GzEnc(flate2::write::GzEncoder<Vec<u8>>),
    ZlibEnc(flate2::write::ZlibEncoder<Vec<u8>>),
    RawEnc(flate2::write::DeflateEncoder<Vec<u8>>),
    GzDec(flate2::write::GzDecoder<Vec<u8>>),
    ZlibDec(flate2::write::ZlibDecoder<Vec<u8>>),
    RawDec(flate2::write::DeflateDecoder<Vec<u8>>),
}

impl Codec {
    pub fn new(format: &str, compress: bool) -> Result<Self, String> {
        use flate2::Compression;
        let level = Compression::default();
        Ok(match (format, compress) {
            ("gzip", true) => Codec::GzEnc(flate2::write::GzEncoder::new(Vec::new(), level)),
            ("deflate", true) => Codec::ZlibEnc(flate2::write::ZlibEncoder::new(Vec::new(), level)),
            ("deflate-raw", true) => {
                Codec::RawEnc(flate2::write::DeflateEncoder::new(Vec::new(), level))
            }
            ("gzip", false) => Codec::GzDec(flate2::write::GzDecoder::new(Vec::new())),
            ("deflate", false) => Codec::ZlibDec(flate2::write::ZlibDecoder::new(Vec::new())),
            ("deflate-raw", false) => Codec::RawDec(flate2::write::DeflateDecoder::new(Vec::new())),
            (other, _) => return Err(format!("Unsupported compression format: '{other}'")),
        })
    }

    /// Feeds `data`; with `finish`, ends the stream. Returns the output produced so far.
    pub fn push(&mut self, data: &[u8], finish: bool) -> Result<Vec<u8>, String> {
        use std::io::Write;
        macro_rules! run {
            ($c:expr) => {{
                $c.write_all(data).map_err(|e| e.to_string())?;
                if finish {
                    $c.try_finish().map_err(|e| e.to_string())?;
                }
                Ok(std::mem::take($c.get_mut()))
            }};
        }
        match self {
            Codec::GzEnc(c) => run!(c),
            Codec::ZlibEnc(c) => run!(c),
            Codec::RawEnc(c) => run!(c),
            Codec::GzDec(c) => run!(c),
            Codec::ZlibDec(c) => run!(c),
            Codec::RawDec(c) => run!(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_setters_follow_the_whatwg_rules() {
        let host = |href: &str, v: &str| url_set(href, "host", v, false).unwrap()[0].clone();
        assert_eq!(host("sc://test:12/", ""), "sc://test:12/");
        assert_eq!(
            host("http://a.test:8080/", "b.test/x"),
            "http://b.test:8080/"
        );
        let port = url_set("http://a.test/", "port", "8080stuff", false).unwrap();
        assert_eq!(port[6], "8080");
        let empty = url_parse("http://a.test/?#", None).unwrap();
        assert_eq!(
            (&empty[0][..], &empty[8][..], &empty[9][..]),
            ("http://a.test/?#", "", "")
        );
        assert!(url_set("http://a.test/", "href", "nope", false).is_err());
        assert!(url_set("http://a.test/", "origin", "x", false).is_err());
        assert_eq!(
            url_set("http://a.test/", "port", "x", false).unwrap()[0],
            "http://a.test/"
        );
        assert!(url_set("http://a.test/", "port", "x", true).is_err());
    }

    #[test]
    fn atob_is_forgiving() {
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert!(base64_decode("a").is_none());
    }
}
