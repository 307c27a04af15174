//! Verifying the HS256 JSON Web Tokens hyper-connect signs: `Authorization: Bearer <jwt>` with `sub` = key id.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Seconds of clock skew tolerated on `exp`.
pub const EXP_LEEWAY_SECS: i64 = 60;

/// Why a token was refused. Never shown to clients (they get a bare 401), only logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("token is not three base64url parts")]
    Malformed,
    #[error("token header is not HS256")]
    Algorithm,
    #[error("token has no string `sub`")]
    NoSubject,
    #[error("token signature does not match")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token has no numeric `exp`")]
    NoExpiry,
}

/// A token split and decoded but not yet verified: enough to find the key its `sub` names.
#[derive(Debug, Clone)]
pub struct UnverifiedToken<'a> {
    signed: &'a str,
    signature: Vec<u8>,
    pub subject: String,
    pub exp: i64,
}

fn decode_part(part: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed)
}

/// Splits and decodes `header.payload.signature`, checking that the header says HS256.
pub fn parse(token: &str) -> Result<UnverifiedToken<'_>, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Value =
        serde_json::from_slice(&decode_part(header)?).map_err(|_| JwtError::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(JwtError::Algorithm);
    }
    let claims: Value =
        serde_json::from_slice(&decode_part(payload)?).map_err(|_| JwtError::Malformed)?;
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(JwtError::NoSubject)?
        .to_string();
    // A token without an expiry would be valid forever: refused, as is any `exp` that is not a finite number.
    let exp = claims
        .get("exp")
        .and_then(Value::as_f64)
        .filter(|e| e.is_finite())
        .ok_or(JwtError::NoExpiry)? as i64;
    Ok(UnverifiedToken {
        signed: &token[..header_payload_len(token)],
        signature: decode_part(signature)?,
        subject,
        exp,
    })
}

fn header_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(0)
}

impl UnverifiedToken<'_> {
    /// Checks the HMAC-SHA256 signature with `secret` (constant time) and `exp` against `now_secs`.
    pub fn verify(&self, secret: &[u8], now_secs: i64) -> Result<(), JwtError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| JwtError::Signature)?;
        mac.update(self.signed.as_bytes());
        mac.verify_slice(&self.signature)
            .map_err(|_| JwtError::Signature)?;
        if self.exp.saturating_add(EXP_LEEWAY_SECS) < now_secs {
            return Err(JwtError::Expired);
        }
        Ok(())
    }
}

/// Signs `{ sub, exp }` as hyper-connect does (HS256). Used by nano's own tooling and tests.
pub fn sign(subject: &str, exp: i64, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
    let payload =
        URL_SAFE_NO_PAD.encode(serde_json::json!({ "sub": subject, "exp": exp }).to_string());
    let signed = format!("{header}.{payload}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(signed.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signed}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let token = sign("key-1", 2_000, b"secret");
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.subject, "key-1");
        assert!(parsed.verify(b"secret", 1_000).is_ok());
        assert_eq!(parsed.verify(b"wrong", 1_000), Err(JwtError::Signature));
        assert_eq!(
            parsed.verify(b"secret", 2_000 + EXP_LEEWAY_SECS + 1),
            Err(JwtError::Expired)
        );
    }

    #[test]
    fn malformed_tokens() {
        assert_eq!(parse("null").unwrap_err(), JwtError::Malformed);
        assert_eq!(parse("a.b").unwrap_err(), JwtError::Malformed);
        assert_eq!(parse("a.b.c.d").unwrap_err(), JwtError::Malformed);
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"sub":"k"}"#)
        );
        assert_eq!(parse(&none_alg).unwrap_err(), JwtError::Algorithm);
    }

    #[test]
    fn tokens_without_a_numeric_expiry_are_refused() {
        for claims in [
            &br#"{"sub":"k"}"#[..],
            br#"{"sub":"k","exp":"9999999999"}"#,
            br#"{"sub":"k","exp":null}"#,
            br#"{"sub":"k","exp":[1]}"#,
        ] {
            let token = format!(
                "{}.{}.c2ln",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#),
                URL_SAFE_NO_PAD.encode(claims)
            );
            assert_eq!(parse(&token).unwrap_err(), JwtError::NoExpiry);
        }
    }

    #[test]
    fn tampered_payload_fails() {
        let token = sign("key-1", 2_000, b"secret");
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"key-2","exp":2000}"#);
        parts[1] = &forged;
        let forged = parts.join(".");
        assert_eq!(
            parse(&forged).unwrap().verify(b"secret", 1_000),
            Err(JwtError::Signature)
        );
    }
}
