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

/// URL components in the order the JS glue expects, or None when the input does not parse.
pub fn url_parse(input: &str, base: Option<&str>) -> Option<Vec<String>> {
    let url = match base {
        Some(b) => url::Url::parse(b).ok()?.join(input).ok()?,
        None => url::Url::parse(input).ok()?,
    };
    Some(url_parts(&url))
}

fn url_parts(u: &url::Url) -> Vec<String> {
    let port = u.port().map(|p| p.to_string()).unwrap_or_default();
    let host = match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    };
    let origin = u.origin().ascii_serialization();
    vec![
        u.as_str().to_string(),
        format!("{}:", u.scheme()),
        u.username().to_string(),
        u.password().unwrap_or_default().to_string(),
        host,
        u.host_str().unwrap_or_default().to_string(),
        port,
        u.path().to_string(),
        u.query().map(|q| format!("?{q}")).unwrap_or_default(),
        u.fragment().map(|f| format!("#{f}")).unwrap_or_default(),
        origin,
    ]
}

/// Applies one URL setter (`protocol`, `host`, `pathname`, ...) and returns the new components.
pub fn url_set(href: &str, part: &str, value: &str) -> Option<Vec<String>> {
    let mut u = url::Url::parse(href).ok()?;
    match part {
        "href" => u = url::Url::parse(value).ok()?,
        "protocol" => {
            let _ = u.set_scheme(value.trim_end_matches(':'));
        }
        "username" => {
            let _ = u.set_username(value);
        }
        "password" => {
            let _ = u.set_password(Some(value).filter(|v| !v.is_empty()));
        }
        "host" => {
            let (h, p) = match value.rsplit_once(':') {
                Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (h, p.parse().ok()),
                _ => (value, None),
            };
            if u.set_host(Some(h)).is_ok() {
                let _ = u.set_port(p);
            }
        }
        "hostname" => {
            let _ = u.set_host(Some(value));
        }
        "port" => {
            let _ = u.set_port(if value.is_empty() {
                None
            } else {
                value.parse().ok()
            });
        }
        "pathname" => u.set_path(value),
        "search" => {
            let q = value.strip_prefix('?').unwrap_or(value);
            u.set_query(if q.is_empty() { None } else { Some(q) });
        }
        "hash" => {
            let f = value.strip_prefix('#').unwrap_or(value);
            u.set_fragment(if f.is_empty() { None } else { Some(f) });
        }
        _ => return None,
    }
    Some(url_parts(&u))
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
    fn atob_is_forgiving() {
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert!(base64_decode("a").is_none());
    }
}
