//! RSA for WebCrypto: RSASSA-PKCS1-v1_5, RSA-PSS and RSA-OAEP over SHA-1 and SHA-2.
//!
//! A key is held as PKCS#1 DER (`RSAPrivateKey` or `RSAPublicKey`) and parsed again by each call; imports from SPKI,
//! PKCS#8 and JWK land in that form, for moduli of 1024 to 8192 bits. Private-key operations (decrypt, sign, unwrap)
//! are constant-time: the `rsa` crate runs them on crypto-bigint's constant-time arithmetic, and blinds them too.
//! That crate takes the digest 0.11 and rand_core 0.10 generation, hence `sha1_11`, `sha2_11` and `sys_rng`.

use super::{sys_rng, with_hash, Hash};
use base64::Engine as _;
use rsa::pkcs1::der::Decode;
use rsa::pkcs1::{
    DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey,
    RsaPrivateKeyRef, RsaPublicKeyRef,
};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, Oaep, Pkcs1v15Sign, PrivateKey, Pss, PublicKey};
use sha2_11::Digest;

/// The modulus sizes `generateKey` makes, in bits.
pub const GENERATE_BITS: std::ops::RangeInclusive<usize> = 1024..=4096;

fn private(der: &[u8]) -> Result<PrivateKey, String> {
    PrivateKey::from_pkcs1_der(der).map_err(|e| format!("invalid RSA private key: {e}"))
}

fn public(der: &[u8]) -> Result<PublicKey, String> {
    PublicKey::from_pkcs1_der(der).map_err(|e| format!("invalid RSA public key: {e}"))
}

/// A private key's PKCS#1 DER, if its modulus is one a public key may have (the crate checks that only for those).
fn private_der(key: &PrivateKey) -> Result<Vec<u8>, String> {
    let bits = key.n().bit_width_vartime() as usize;
    if !(PublicKey::MIN_SIZE..=PublicKey::MAX_SIZE).contains(&bits) {
        return Err(format!(
            "RSA keys must have {} to {} bits",
            PublicKey::MIN_SIZE,
            PublicKey::MAX_SIZE
        ));
    }
    Ok(key
        .to_pkcs1_der()
        .map_err(|e| e.to_string())?
        .as_bytes()
        .to_vec())
}

fn public_der(key: &PublicKey) -> Result<Vec<u8>, String> {
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
    let first = exponent
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(exponent.len());
    let e: u64 = match &exponent[first..] {
        [3] => 3,
        [1, 0, 1] => 65537,
        _ => return Err("publicExponent must be 3 or 65537".into()),
    };
    let key = PrivateKey::new_with_exp(&mut sys_rng(), bits, BoxedUint::from(e))
        .map_err(|e| e.to_string())?;
    private_der(&key)
}

/// Imports SPKI (to a public key) or PKCS#8 (to a private key) as PKCS#1 DER.
pub fn import(format: &str, der: &[u8]) -> Result<Vec<u8>, String> {
    match format {
        "spki" => public_der(
            &PublicKey::from_public_key_der(der)
                .map_err(|e| format!("invalid spki RSA key: {e}"))?,
        ),
        "pkcs8" => private_der(
            &PrivateKey::from_pkcs8_der(der).map_err(|e| format!("invalid pkcs8 RSA key: {e}"))?,
        ),
        other => Err(format!("unknown key format {other}")),
    }
}

/// Imports a JWK's members (`n`, `e`, and for a private key `d`, `p`, `q`), given as base64url pairs.
pub fn from_jwk(members: &[(String, String)]) -> Result<Vec<u8>, String> {
    let get = |name: &str| -> Result<Option<Vec<u8>>, String> {
        let Some((_, v)) = members.iter().find(|(k, _)| k == name) else {
            return Ok(None);
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(v.trim_end_matches('='))
            .map_err(|_| format!("JWK member {name} is not base64url"))?;
        Ok(Some(bytes))
    };
    let need = |name: &str| get(name)?.ok_or_else(|| format!("JWK member {name} is missing"));
    let invalid = |e: rsa::Error| format!("invalid RSA JWK: {e}");
    // `n` and `e` are public, so their widths may follow their values; the secret members take `n`'s width.
    let n = BoxedUint::from_be_slice_vartime(&need("n")?);
    let e = BoxedUint::from_be_slice_vartime(&need("e")?);
    let Some(d) = get("d")? else {
        return public_der(&PublicKey::new(n, e).map_err(invalid)?);
    };
    let secret = |bytes: &[u8]| {
        BoxedUint::from_be_slice(bytes, n.bits_precision())
            .map_err(|_| "invalid RSA JWK: a private member is wider than n".to_string())
    };
    let (d, p, q) = (secret(&d)?, secret(&need("p")?)?, secret(&need("q")?)?);
    private_der(&PrivateKey::from_components(n, e, d, vec![p, q]).map_err(invalid)?)
}

/// The public half of a private key.
pub fn public_of(der: &[u8]) -> Result<Vec<u8>, String> {
    public_der(private(der)?.as_public_key())
}

fn public_parts(der: &[u8], is_private: bool) -> Result<PublicKey, String> {
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
        key.n().bit_width_vartime().to_string(),
        hex::encode(key.e_bytes()),
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

/// The JWK members as base64url: `[n, e]`, or `[n, e, d, p, q, dp, dq, qi]` for a private key, read from the
/// key's DER (whose integers are already minimal, as JWK wants them).
pub fn jwk(der: &[u8], is_private: bool) -> Result<Vec<String>, String> {
    let b64 = |v: rsa::pkcs1::UintRef| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.as_bytes())
    };
    if !is_private {
        let key =
            RsaPublicKeyRef::from_der(der).map_err(|e| format!("invalid RSA public key: {e}"))?;
        return Ok(vec![b64(key.modulus), b64(key.public_exponent)]);
    }
    let key =
        RsaPrivateKeyRef::from_der(der).map_err(|e| format!("invalid RSA private key: {e}"))?;
    if key.other_prime_infos.is_some() {
        return Err("multi-prime RSA keys cannot be exported as JWK".into());
    }
    Ok([
        key.modulus,
        key.public_exponent,
        key.private_exponent,
        key.prime1,
        key.prime2,
        key.exponent1,
        key.exponent2,
        key.coefficient,
    ]
    .into_iter()
    .map(b64)
    .collect())
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
    with_hash!(Hash::parse(hash)?, sha1_11, sha2_11, |H| {
        let hashed = H::digest(data);
        match scheme {
            "PKCS1" => key.sign_with_rng(&mut sys_rng(), Pkcs1v15Sign::new::<H>(), &hashed),
            _ => key.sign_with_rng(&mut sys_rng(), Pss::<H>::new_with_salt(salt), &hashed),
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
    Ok(with_hash!(Hash::parse(hash)?, sha1_11, sha2_11, |H| {
        let hashed = H::digest(data);
        match scheme {
            "PKCS1" => key.verify(Pkcs1v15Sign::new::<H>(), &hashed, sig),
            _ => key.verify(Pss::<H>::new_with_salt(salt), &hashed, sig),
        }
        .is_ok()
    }))
}

/// RSA-OAEP with MGF1 over `hash` and `label` (any bytes).
pub fn oaep(
    encrypt: bool,
    hash: &str,
    der: &[u8],
    label: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, String> {
    with_hash!(Hash::parse(hash)?, sha1_11, sha2_11, |H| {
        let padding = Oaep::<H>::new_with_label(label);
        if encrypt {
            public(der)?
                .encrypt(&mut sys_rng(), padding, data)
                .map_err(|e| e.to_string())
        } else {
            private(der)?
                .decrypt_blinded(&mut sys_rng(), padding, data)
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
        let label = [0xff, 0, 0xfe];
        let ct = oaep(true, "SHA-256", &pubkey, &label, b"secret").unwrap();
        assert_eq!(
            oaep(false, "SHA-256", &der, &label, &ct).unwrap(),
            b"secret"
        );
        assert!(oaep(false, "SHA-256", &der, b"", &ct).is_err());
        let small = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xffu8; 64]);
        let small = [("n".into(), small), ("e".into(), "AQAB".into())];
        assert!(from_jwk(&small).is_err(), "a 512-bit modulus");
    }
}
