//! Digests, HMAC (signing and a constant-time check), PBKDF2 and HKDF over SHA-1 and SHA-2.

use super::{with_hash, Hash};
use hmac::{Hmac, Mac};
use sha2::Digest;

pub fn digest(hash: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    Ok(with_hash!(Hash::parse(hash)?, |H| H::digest(data).to_vec()))
}

/// The HMAC-`$h` of `$data` under `$key`, ready to finalize or verify.
macro_rules! mac {
    ($h:ty, $key:expr, $data:expr) => {{
        let mut m =
            <Hmac<$h> as hmac::digest::KeyInit>::new_from_slice($key).expect("hmac takes any key");
        m.update($data);
        m
    }};
}

pub fn hmac(hash: &str, key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    Ok(with_hash!(Hash::parse(hash)?, |H| mac!(H, key, data)
        .finalize()
        .into_bytes()
        .to_vec()))
}

/// Whether `sig` is the HMAC of `data`, compared in constant time.
pub fn hmac_verify(hash: &str, key: &[u8], data: &[u8], sig: &[u8]) -> Result<bool, String> {
    Ok(with_hash!(Hash::parse(hash)?, |H| mac!(H, key, data)
        .verify_slice(sig)
        .is_ok()))
}

/// The most PBKDF2 iterations one call may ask for.
pub const MAX_PBKDF2_ITERATIONS: u32 = 100_000;

fn out_len(bits: usize) -> Result<usize, String> {
    if bits == 0 || !bits.is_multiple_of(8) {
        return Err("length must be a non-zero multiple of 8".into());
    }
    Ok(bits / 8)
}

/// PBKDF2 with HMAC-`hash`, `bits` long.
pub fn pbkdf2(
    hash: &str,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    bits: usize,
) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; out_len(bits)?];
    if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
        // Host CPU is not interruptible: cap the work one call may ask for, as workerd does.
        return Err(format!(
            "iterations must be between 1 and {MAX_PBKDF2_ITERATIONS}"
        ));
    }
    with_hash!(Hash::parse(hash)?, |H| pbkdf2::pbkdf2_hmac::<H>(
        password, salt, iterations, &mut out
    ));
    Ok(out)
}

/// HKDF (extract and expand) with `hash`, `bits` long.
pub fn hkdf(
    hash: &str,
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
    bits: usize,
) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; out_len(bits)?];
    with_hash!(Hash::parse(hash)?, |H| hkdf::Hkdf::<H>::new(
        Some(salt),
        ikm
    )
    .expand(info, &mut out)
    .map_err(|_| "HKDF length is too long for the hash".to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_macs_match_known_vectors() {
        assert_eq!(
            hex::encode(digest("SHA-256", b"abc").unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(digest("MD5", b"").is_err());
        let sig = hmac("SHA-256", b"Jefe", b"what do ya want for nothing?").unwrap();
        assert!(hmac_verify("SHA-256", b"Jefe", b"what do ya want for nothing?", &sig).unwrap());
        assert!(!hmac_verify("SHA-256", b"Jefe", b"what do ya want", &sig).unwrap());
        assert!(!hmac_verify(
            "SHA-256",
            b"Jefe",
            b"what do ya want for nothing?",
            &sig[..31]
        )
        .unwrap());
    }
}
