//! WebCrypto's native half: the primitives behind `crypto.subtle`, over raw bytes, for every engine.
//!
//! `web/crypto.js` and `web/crypto_algs.js` check algorithms, formats and usages and raise the DOMExceptions;
//! these functions take key material as bytes and answer bytes or a message, which the glue turns into a
//! `DataError` (import) or an `OperationError` (use). Keys live in JS as bytes: a secret, an EC scalar and point, or an
//! RSA key's PKCS#1 DER, parsed again by each call. One file per family: `hash.rs` (digests, HMAC, PBKDF2, HKDF),
//! `aes.rs`, `ec.rs` (NIST curves, Ed25519, X25519) and `rsa.rs`.

pub mod aes;
pub mod ec;
pub mod hash;
pub mod rsa;

/// A hash WebCrypto names, as `SHA-1`, `SHA-256`, `SHA-384` or `SHA-512` (any case, `_` for `-`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub fn parse(name: &str) -> Result<Hash, String> {
        match name.to_ascii_uppercase().replace('_', "-").as_str() {
            "SHA-1" => Ok(Hash::Sha1),
            "SHA-256" => Ok(Hash::Sha256),
            "SHA-384" => Ok(Hash::Sha384),
            "SHA-512" => Ok(Hash::Sha512),
            other => Err(format!("Unrecognized hash {other}")),
        }
    }
}

/// Runs `$body` with `$h` naming the RustCrypto digest type of `$hash` (a `Hash`), from the `sha1` and `sha2`
/// crates, or from the two named (`rsa.rs` names the digest 0.11 generation, `sha1_11` and `sha2_11`).
macro_rules! with_hash {
    ($hash:expr, $sha1:ident, $sha2:ident, |$h:ident| $body:expr) => {
        match $hash {
            $crate::adapters::js::crypto::Hash::Sha1 => {
                type $h = $sha1::Sha1;
                $body
            }
            $crate::adapters::js::crypto::Hash::Sha256 => {
                type $h = $sha2::Sha256;
                $body
            }
            $crate::adapters::js::crypto::Hash::Sha384 => {
                type $h = $sha2::Sha384;
                $body
            }
            $crate::adapters::js::crypto::Hash::Sha512 => {
                type $h = $sha2::Sha512;
                $body
            }
        }
    };
    ($hash:expr, |$h:ident| $body:expr) => {
        $crate::adapters::js::crypto::with_hash!($hash, sha1, sha2, |$h| $body)
    };
}
pub(crate) use with_hash;

/// The operating system's CSPRNG, the one source of key material, salts and blinding.
pub fn rng() -> rand::rngs::OsRng {
    rand::rngs::OsRng
}

/// The same CSPRNG for the crates on rand_core 0.10 (`rsa`).
pub fn sys_rng() -> getrandom::SysRng {
    getrandom::SysRng
}
