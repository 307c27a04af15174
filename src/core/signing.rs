//! Signed storage URLs: an HMAC-SHA256 over tenant, access, bucket, object and expiry, checked in constant time.
//! Every storage adapter signs and verifies with these, each with its own key.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

/// Why a signature does not grant access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SignatureError {
    #[error("signature is not valid")]
    Invalid,
    #[error("signature has expired")]
    Expired,
}

/// What a signature covers.
pub struct Claim<'a> {
    pub tenant: &'a str,
    /// `download` or `upload`.
    pub access: &'a str,
    pub bucket: &'a str,
    pub object: &'a str,
    pub expires_unix: u64,
}

fn mac(key: &[u8], claim: &Claim<'_>) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    let message = format!(
        "nano-storage-v1\n{}\n{}\n{}\n{}\n{}",
        claim.tenant, claim.access, claim.bucket, claim.object, claim.expires_unix
    );
    mac.update(message.as_bytes());
    mac
}

/// The hex signature of a claim.
pub fn sign(key: &[u8], claim: &Claim<'_>) -> String {
    hex::encode(mac(key, claim).finalize().into_bytes())
}

/// Checks a hex signature in constant time, then the expiry against `now_unix`.
pub fn verify(
    key: &[u8],
    claim: &Claim<'_>,
    signature: &str,
    now_unix: u64,
) -> Result<(), SignatureError> {
    let bytes = hex::decode(signature).map_err(|_| SignatureError::Invalid)?;
    mac(key, claim)
        .verify_slice(&bytes)
        .map_err(|_| SignatureError::Invalid)?;
    if now_unix > claim.expires_unix {
        return Err(SignatureError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(tenant: &str, expires: u64) -> Claim<'_> {
        Claim {
            tenant,
            access: "download",
            bucket: "b",
            object: "a/x.png",
            expires_unix: expires,
        }
    }

    #[test]
    fn signatures_bind_every_field_and_expire() {
        let key = b"0123456789abcdef";
        let sig = sign(key, &claim("acme", 100));
        assert!(verify(key, &claim("acme", 100), &sig, 50).is_ok());
        assert_eq!(
            verify(key, &claim("acme", 100), &sig, 101),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify(key, &claim("other", 100), &sig, 50),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(key, &claim("acme", 200), &sig, 50),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(b"another-key-0000", &claim("acme", 100), &sig, 50),
            Err(SignatureError::Invalid)
        );
        assert!(verify(key, &claim("acme", 100), "zz", 50).is_err());
    }
}
