//! RSA for WebCrypto: RSASSA-PKCS1-v1_5, RSA-PSS and RSA-OAEP over SHA-1 and SHA-2.
//!
//! A key is held as PKCS#1 DER (`RSAPrivateKey` or `RSAPublicKey`) and parsed again by each call; imports from SPKI,
//! PKCS#8 and JWK land in that form, and private-key operations are blinded.

use super::{rng, with_hash, Hash};
use base64::Engine as _;
use rsa::pkcs1::{
    DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey,
};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, Oaep, Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use sha2::Digest;

/// The modulus sizes `generateKey` makes, in bits.
pub const GENERATE_BITS: std::ops::RangeInclusive<usize> = 1024..=4096;

fn private(der: &[u8]) -> Result<RsaPrivateKey, String> {
    RsaPrivateKey::from_pkcs1_der(der).map_err(|e| format!("invalid RSA private key: {e}"))
}

fn public(der: &[u8]) -> Result<RsaPublicKey, String> {
    RsaPublicKey::from_pkcs1_der(der).map_err(|e| format!("invalid RSA public key: {e}"))
}

fn private_der(key: &RsaPrivateKey) -> Result<Vec<u8>, String> {
    Ok(key
        .to_pkcs1_der()
        .map_err(|e| e.to_string())?
        .as_bytes()
        .to_vec())
}

fn public_der(key: &RsaPublicKey) -> Result<Vec<u8>, String> {
    Ok(key
        .to_pkcs1_der()
        .map_err(|e| e.to_string())?
        .as_bytes()
        .to_vec())
}

/// A fresh private key of `bits` with public exponent `exponent` (big-endian; 3 or 65537).
pub fn generate(bits: usize, exponent: &[u8]) -> Result<Vec<u8>, String> {
    if !GENERATE_BITS.contains(&bits) || !bits.is_multiple_of(8) {
        return Err(format!(
            "modulusLength must be a multiple of 8 from {} to {}",
            GENERATE_BITS.start(),
            GENERATE_BITS.end()
        ));
    }
    let e = BigUint::from_bytes_be(exponent);
    if e != BigUint::from(3u32) && e != BigUint::from(65537u32) {
        return Err("publicExponent must be 3 or 65537".into());
    }
    let key = RsaPrivateKey::new_with_exp(&mut rng(), bits, &e).map_err(|e| e.to_string())?;
    private_der(&key)
}

/// Imports SPKI (to a public key) or PKCS#8 (to a private key) as PKCS#1 DER.
pub fn import(format: &str, der: &[u8]) -> Result<Vec<u8>, String> {
    match format {
        "spki" => public_der(
            &RsaPublicKey::from_public_key_der(der)
                .map_err(|e| format!("invalid spki RSA key: {e}"))?,
        ),
        "pkcs8" => private_der(
            &RsaPrivateKey::from_pkcs8_der(der)
                .map_err(|e| format!("invalid pkcs8 RSA key: {e}"))?,
        ),
        other => Err(format!("unknown key format {other}")),
    }
}

/// Imports a JWK's members (`n`, `e`, and for a private key `d`, `p`, `q`), given as base64url pairs.
pub fn from_jwk(members: &[(String, String)]) -> Result<Vec<u8>, String> {
    let get = |name: &str| -> Result<Option<BigUint>, String> {
        let Some((_, v)) = members.iter().find(|(k, _)| k == name) else {
            return Ok(None);
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(v.trim_end_matches('='))
            .map_err(|_| format!("JWK member {name} is not base64url"))?;
        Ok(Some(BigUint::from_bytes_be(&bytes)))
    };
    let need = |name: &str| get(name)?.ok_or_else(|| format!("JWK member {name} is missing"));
    let (n, e) = (need("n")?, need("e")?);
    let Some(d) = get("d")? else {
        return public_der(&RsaPublicKey::new(n, e).map_err(|e| format!("invalid RSA JWK: {e}"))?);
    };
    let key = RsaPrivateKey::from_components(n, e, d, vec![need("p")?, need("q")?])
        .map_err(|e| format!("invalid RSA JWK: {e}"))?;
    private_der(&key)
}

/// The public half of a private key.
pub fn public_of(der: &[u8]) -> Result<Vec<u8>, String> {
    public_der(&private(der)?.to_public_key())
}

fn public_parts(der: &[u8], is_private: bool) -> Result<RsaPublicKey, String> {
    if is_private {
        Ok(private(der)?.to_public_key())
    } else {
        public(der)
    }
}

/// `[modulus bits, public exponent as hex]`.
pub fn info(der: &[u8], is_private: bool) -> Result<Vec<String>, String> {
    let key = public_parts(der, is_private)?;
    Ok(vec![
        key.n().bits().to_string(),
        hex::encode(key.e().to_bytes_be()),
    ])
}

/// Exports as SPKI (public) or PKCS#8 (private).
pub fn export(format: &str, der: &[u8], is_private: bool) -> Result<Vec<u8>, String> {
    match (format, is_private) {
        ("spki", false) => Ok(public(der)?
            .to_public_key_der()
            .map_err(|e| e.to_string())?
            .as_bytes()
            .to_vec()),
        ("pkcs8", true) => Ok(private(der)?
            .to_pkcs8_der()
            .map_err(|e| e.to_string())?
            .as_bytes()
            .to_vec()),
        _ => Err(format!("cannot export this RSA key as {format}")),
    }
}

/// The JWK members as base64url: `[n, e]`, or `[n, e, d, p, q, dp, dq, qi]` for a private key.
pub fn jwk(der: &[u8], is_private: bool) -> Result<Vec<String>, String> {
    let b64 =
        |v: &BigUint| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_bytes_be());
    if !is_private {
        let key = public(der)?;
        return Ok(vec![b64(key.n()), b64(key.e())]);
    }
    let key = private(der)?;
    let [p, q] = key.primes() else {
        return Err("multi-prime RSA keys cannot be exported as JWK".into());
    };
    let (dp, dq) = (key.dp().ok_or("no dp")?, key.dq().ok_or("no dq")?);
    let qi = key.qinv().and_then(|v| v.to_biguint()).ok_or("no qi")?;
    Ok(vec![
        b64(key.n()),
        b64(key.e()),
        b64(key.d()),
        b64(p),
        b64(q),
        b64(dp),
        b64(dq),
        b64(&qi),
    ])
}

/// Signs with `scheme` (`PKCS1` or `PSS`, with `salt` bytes of salt) over `hash` of the data.
pub fn sign(
    scheme: &str,
    hash: &str,
    der: &[u8],
    salt: usize,
    data: &[u8],
) -> Result<Vec<u8>, String> {
    let key = private(der)?;
    with_hash!(Hash::parse(hash)?, |H| {
        let hashed = H::digest(data);
        match scheme {
            "PKCS1" => key.sign_with_rng(&mut rng(), Pkcs1v15Sign::new::<H>(), &hashed),
            _ => key.sign_with_rng(&mut rng(), Pss::new_blinded_with_salt::<H>(salt), &hashed),
        }
        .map_err(|e| e.to_string())
    })
}

/// Whether `sig` signs `data`; a signature of the wrong length or padding is simply not valid.
pub fn verify(
    scheme: &str,
    hash: &str,
    der: &[u8],
    salt: usize,
    sig: &[u8],
    data: &[u8],
) -> Result<bool, String> {
    let key = public(der)?;
    Ok(with_hash!(Hash::parse(hash)?, |H| {
        let hashed = H::digest(data);
        match scheme {
            "PKCS1" => key.verify(Pkcs1v15Sign::new::<H>(), &hashed, sig),
            _ => key.verify(Pss::new_with_salt::<H>(salt), &hashed, sig),
        }
        .is_ok()
    }))
}

/// RSA-OAEP with MGF1 over `hash`; the label must be UTF-8 (the RSA crate keeps it as a string).
pub fn oaep(
    encrypt: bool,
    hash: &str,
    der: &[u8],
    label: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, String> {
    let label =
        std::str::from_utf8(label).map_err(|_| "RSA-OAEP labels must be UTF-8 here".to_string())?;
    with_hash!(Hash::parse(hash)?, |H| {
        let padding = if label.is_empty() {
            Oaep::new::<H>()
        } else {
            Oaep::new_with_label::<H, _>(label)
        };
        if encrypt {
            public(der)?
                .encrypt(&mut rng(), padding, data)
                .map_err(|e| e.to_string())
        } else {
            private(der)?
                .decrypt_blinded(&mut rng(), padding, data)
                .map_err(|_| "The operation failed for an operation-specific reason".to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_every_format() {
        let der = generate(1024, &[1, 0, 1]).unwrap();
        let pubkey = public_of(&der).unwrap();
        assert_eq!(info(&der, true).unwrap(), vec!["1024", "010001"]);
        let pkcs8 = export("pkcs8", &der, true).unwrap();
        assert_eq!(import("pkcs8", &pkcs8).unwrap(), der);
        let spki = export("spki", &pubkey, false).unwrap();
        assert_eq!(import("spki", &spki).unwrap(), pubkey);
        let names = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];
        let members: Vec<_> = names
            .iter()
            .map(|n| n.to_string())
            .zip(jwk(&der, true).unwrap())
            .collect();
        assert_eq!(from_jwk(&members).unwrap(), der);
        assert_eq!(from_jwk(&members[..2]).unwrap(), pubkey);
        let sig = sign("PSS", "SHA-256", &der, 32, b"hi").unwrap();
        assert!(verify("PSS", "SHA-256", &pubkey, 32, &sig, b"hi").unwrap());
        assert!(!verify("PSS", "SHA-256", &pubkey, 32, &sig, b"ho").unwrap());
        let ct = oaep(true, "SHA-1", &pubkey, b"", b"secret").unwrap();
        assert_eq!(oaep(false, "SHA-1", &der, b"", &ct).unwrap(), b"secret");
        assert!(generate(1024, &[5]).is_err());
    }
}
