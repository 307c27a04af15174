//! Engine-neutral implementations of the Web API's native operations (crypto, URL, encodings).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

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

fn norm(alg: &str) -> String {
    alg.to_ascii_uppercase().replace('_', "-")
}

pub fn digest(alg: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    Ok(match norm(alg).as_str() {
        "SHA-1" => Sha1::digest(data).to_vec(),
        "SHA-256" => Sha256::digest(data).to_vec(),
        "SHA-384" => Sha384::digest(data).to_vec(),
        "SHA-512" => Sha512::digest(data).to_vec(),
        other => return Err(format!("Unrecognized algorithm name: {other}")),
    })
}

pub fn hmac(alg: &str, key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).expect("hmac takes any key");
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }
    Ok(match norm(alg).as_str() {
        "SHA-1" => run::<Hmac<Sha1>>(key, data),
        "SHA-256" => run::<Hmac<Sha256>>(key, data),
        "SHA-384" => run::<Hmac<Sha384>>(key, data),
        "SHA-512" => run::<Hmac<Sha512>>(key, data),
        other => return Err(format!("Unrecognized hash for HMAC: {other}")),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_known_vectors() {
        assert_eq!(
            hex::encode(digest("SHA-256", b"abc").unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(digest("MD5", b"").is_err());
    }

    #[test]
    fn atob_is_forgiving() {
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert!(base64_decode("a").is_none());
    }
}
