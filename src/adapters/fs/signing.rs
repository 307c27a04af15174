//! Signed-URL keys and signatures: HMAC-SHA256 over tenant, access, bucket, object and expiry, with a key
//! kept in a file of the storage root (generated on first start, mode 0600) unless one is given.

use crate::ports::storage::{SignedAccess, StorageError};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::Write;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// The file, in the storage root, holding the hex signing key.
pub const KEY_FILE: &str = ".signing-key";

/// Reads the signing key from `<root>/.signing-key`, creating it with 32 random bytes when missing.
pub fn load_or_create_key(root: &Path) -> std::io::Result<Vec<u8>> {
    let path = root.join(KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(key) = hex::decode(text.trim()) {
            if key.len() >= 16 {
                return Ok(key);
            }
        }
        return Err(std::io::Error::other(format!(
            "{} does not hold a hex key of at least 16 bytes",
            path.display()
        )));
    }
    let key: [u8; 32] = rand::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut f) => {
            f.write_all(hex::encode(key).as_bytes())?;
            f.sync_all()?;
            Ok(key.to_vec())
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_key(root),
        Err(e) => Err(e),
    }
}

/// What a signature covers.
pub struct Claim<'a> {
    pub tenant: &'a str,
    pub access: SignedAccess,
    pub bucket: &'a str,
    pub object: &'a str,
    pub expires_unix: u64,
}

fn mac(key: &[u8], claim: &Claim<'_>) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    let message = format!(
        "nano-storage-v1\n{}\n{}\n{}\n{}\n{}",
        claim.tenant,
        claim.access.as_str(),
        claim.bucket,
        claim.object,
        claim.expires_unix
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
) -> Result<(), StorageError> {
    let bytes = hex::decode(signature).map_err(|_| StorageError::SignatureInvalid)?;
    mac(key, claim)
        .verify_slice(&bytes)
        .map_err(|_| StorageError::SignatureInvalid)?;
    if now_unix > claim.expires_unix {
        return Err(StorageError::SignatureExpired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(tenant: &str, expires: u64) -> Claim<'_> {
        Claim {
            tenant,
            access: SignedAccess::Download,
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
        assert!(matches!(
            verify(key, &claim("acme", 100), &sig, 101),
            Err(StorageError::SignatureExpired)
        ));
        assert!(matches!(
            verify(key, &claim("other", 100), &sig, 50),
            Err(StorageError::SignatureInvalid)
        ));
        assert!(matches!(
            verify(key, &claim("acme", 200), &sig, 50),
            Err(StorageError::SignatureInvalid)
        ));
        assert!(matches!(
            verify(b"another-key-0000", &claim("acme", 100), &sig, 50),
            Err(StorageError::SignatureInvalid)
        ));
        assert!(verify(key, &claim("acme", 100), "zz", 50).is_err());
    }

    #[test]
    fn key_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_key(dir.path()).unwrap();
        let b = load_or_create_key(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
    }
}
