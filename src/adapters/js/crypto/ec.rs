//! Elliptic-curve keys: ECDSA and ECDH on P-256, P-384 and P-521; Ed25519 signatures; X25519 agreement.
//!
//! A private key is the scalar (NIST curves, field-size bytes) or the 32-byte seed (Ed25519, X25519); a public key
//! is the uncompressed SEC1 point or the 32-byte key. SPKI and PKCS#8 use the curve's own OIDs; Ed25519 and X25519
//! DER is the fixed RFC 8410 layout.

use super::{with_hash, Hash};
use ecdsa::signature::hazmat::{PrehashVerifier, RandomizedPrehashSigner};
use elliptic_curve::pkcs8::{
    self, der::asn1::ObjectIdentifier, DecodePrivateKey, DecodePublicKey, EncodePrivateKey,
    EncodePublicKey,
};
use elliptic_curve::sec1::ToEncodedPoint;
use sha2::Digest;

/// The curves `crypto.subtle` knows, by their WebCrypto names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Curve {
    P256,
    P384,
    P521,
    Ed25519,
    X25519,
}

impl Curve {
    pub fn parse(name: &str) -> Result<Curve, String> {
        Ok(match name {
            "P-256" => Curve::P256,
            "P-384" => Curve::P384,
            "P-521" => Curve::P521,
            "Ed25519" => Curve::Ed25519,
            "X25519" => Curve::X25519,
            other => return Err(format!("Unrecognized curve {other}")),
        })
    }

    /// The bytes of a private scalar or seed.
    fn private_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
            Curve::Ed25519 | Curve::X25519 => 32,
        }
    }

    /// The last byte of the RFC 8410 OID (1.3.101.x) for Ed25519 and X25519.
    fn okp_arc(self) -> Option<u8> {
        match self {
            Curve::Ed25519 => Some(112),
            Curve::X25519 => Some(110),
            _ => None,
        }
    }
}

/// Runs `$body` with `$m` naming the crate of a NIST curve (`p256`, `p384`, `p521`).
macro_rules! nist {
    ($curve:expr, |$m:ident| $body:expr) => {
        match $curve {
            Curve::P256 => {
                use p256 as $m;
                $body
            }
            Curve::P384 => {
                use p384 as $m;
                $body
            }
            Curve::P521 => {
                use p521 as $m;
                $body
            }
            other => Err(format!("{other:?} is not a NIST curve")),
        }
    };
}

fn bad<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("invalid {what}: {e}")
}

fn seed(curve: Curve, d: &[u8]) -> Result<[u8; 32], String> {
    d.try_into()
        .map_err(|_| format!("{curve:?} private keys are 32 bytes"))
}

fn key32(curve: Curve, raw: &[u8]) -> Result<[u8; 32], String> {
    raw.try_into()
        .map_err(|_| format!("{curve:?} public keys are 32 bytes"))
}

fn check_len(curve: Curve, d: &[u8]) -> Result<(), String> {
    if d.len() != curve.private_len() {
        return Err(format!(
            "{curve:?} private keys are {} bytes",
            curve.private_len()
        ));
    }
    Ok(())
}

/// A fresh private key.
pub fn generate(curve: Curve) -> Result<Vec<u8>, String> {
    if curve.okp_arc().is_some() {
        let mut d = vec![0u8; 32];
        rand::RngCore::fill_bytes(&mut super::rng(), &mut d);
        return Ok(d);
    }
    nist!(curve, |m| Ok(m::SecretKey::random(&mut super::rng())
        .to_bytes()
        .to_vec()))
}

/// The public key of private key `d`.
pub fn public_of(curve: Curve, d: &[u8]) -> Result<Vec<u8>, String> {
    check_len(curve, d)?;
    match curve {
        Curve::Ed25519 => Ok(ed25519_dalek::SigningKey::from_bytes(&seed(curve, d)?)
            .verifying_key()
            .to_bytes()
            .to_vec()),
        Curve::X25519 => {
            let secret = x25519_dalek::StaticSecret::from(seed(curve, d)?);
            Ok(x25519_dalek::PublicKey::from(&secret).to_bytes().to_vec())
        }
        _ => nist!(curve, |m| Ok(m::SecretKey::from_slice(d)
            .map_err(bad("private key"))?
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec())),
    }
}

/// Checks a raw public key, returning it in the uncompressed form.
pub fn check_public(curve: Curve, raw: &[u8]) -> Result<Vec<u8>, String> {
    match curve {
        Curve::Ed25519 => {
            ed25519_dalek::VerifyingKey::from_bytes(&key32(curve, raw)?)
                .map_err(bad("Ed25519 public key"))?;
            Ok(raw.to_vec())
        }
        Curve::X25519 => Ok(key32(curve, raw)?.to_vec()),
        _ => nist!(curve, |m| Ok(m::PublicKey::from_sec1_bytes(raw)
            .map_err(bad("public key"))?
            .to_encoded_point(false)
            .as_bytes()
            .to_vec())),
    }
}

fn okp_oid(arc: u8) -> ObjectIdentifier {
    if arc == 112 {
        ObjectIdentifier::new_unwrap("1.3.101.112")
    } else {
        ObjectIdentifier::new_unwrap("1.3.101.110")
    }
}

/// Decodes SPKI (to the raw public key) or PKCS#8 (to the private key).
pub fn from_der(curve: Curve, format: &str, der: &[u8]) -> Result<Vec<u8>, String> {
    let what = format!("{format} {curve:?} key");
    if let Some(arc) = curve.okp_arc() {
        let oid = okp_oid(arc);
        return match format {
            "spki" => {
                let spki =
                    pkcs8::spki::SubjectPublicKeyInfoRef::try_from(der).map_err(bad(&what))?;
                if spki.algorithm.oid != oid || spki.algorithm.parameters.is_some() {
                    return Err(format!("invalid {what}: not a {curve:?} key"));
                }
                let raw = spki
                    .subject_public_key
                    .as_bytes()
                    .ok_or_else(|| format!("invalid {what}"))?;
                check_public(curve, raw)
            }
            "pkcs8" => {
                let pki = pkcs8::PrivateKeyInfo::try_from(der).map_err(bad(&what))?;
                if pki.algorithm.oid != oid || pki.algorithm.parameters.is_some() {
                    return Err(format!("invalid {what}: not a {curve:?} key"));
                }
                match pki.private_key {
                    [0x04, 0x20, d @ ..] if d.len() == 32 => {
                        if let Some(public) = pki.public_key {
                            if public != public_of(curve, d)? {
                                return Err(format!("invalid {what}: public key does not match"));
                            }
                        }
                        Ok(d.to_vec())
                    }
                    _ => Err(format!("invalid {what}: the private key is not 32 bytes")),
                }
            }
            other => Err(format!("unknown key format {other}")),
        };
    }
    match format {
        "spki" => nist!(curve, |m| Ok(m::PublicKey::from_public_key_der(der)
            .map_err(bad(&what))?
            .to_encoded_point(false)
            .as_bytes()
            .to_vec())),
        "pkcs8" => nist!(curve, |m| Ok(m::SecretKey::from_pkcs8_der(der)
            .map_err(bad(&what))?
            .to_bytes()
            .to_vec())),
        other => Err(format!("unknown key format {other}")),
    }
}

/// Encodes a raw public key as SPKI or a private key as PKCS#8.
pub fn to_der(curve: Curve, format: &str, key: &[u8]) -> Result<Vec<u8>, String> {
    if let Some(arc) = curve.okp_arc() {
        let key = seed(curve, key)?;
        let mut der = match format {
            "spki" => vec![
                0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, arc, 0x03, 0x21, 0x00,
            ],
            "pkcs8" => vec![
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, arc, 0x04, 0x22,
                0x04, 0x20,
            ],
            other => return Err(format!("unknown key format {other}")),
        };
        der.extend_from_slice(&key);
        return Ok(der);
    }
    match format {
        "spki" => nist!(curve, |m| Ok(m::PublicKey::from_sec1_bytes(key)
            .map_err(bad("key"))?
            .to_public_key_der()
            .map_err(bad("key"))?
            .as_bytes()
            .to_vec())),
        "pkcs8" => nist!(curve, |m| Ok(m::SecretKey::from_slice(key)
            .map_err(bad("key"))?
            .to_pkcs8_der()
            .map_err(bad("key"))?
            .as_bytes()
            .to_vec())),
        other => Err(format!("unknown key format {other}")),
    }
}

/// The `hash` of `data` as an ECDSA integer of the curve's field size: shorter digests are left-padded (the same
/// integer), longer ones keep their leftmost bytes.
fn prehash(curve: Curve, hash: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    let digest = with_hash!(Hash::parse(hash)?, |H| H::digest(data).to_vec());
    let size = curve.private_len();
    if digest.len() >= size {
        return Ok(digest);
    }
    let mut z = vec![0u8; size - digest.len()];
    z.extend_from_slice(&digest);
    Ok(z)
}

/// An ECDSA signature (IEEE P1363 `r || s` over `hash` of the data) or an Ed25519 one.
pub fn sign(curve: Curve, hash: &str, d: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    check_len(curve, d)?;
    match curve {
        Curve::Ed25519 => {
            use ed25519_dalek::Signer;
            let key = ed25519_dalek::SigningKey::from_bytes(&seed(curve, d)?);
            Ok(key.sign(data).to_bytes().to_vec())
        }
        Curve::X25519 => Err("X25519 keys cannot sign".into()),
        _ => {
            let z = prehash(curve, hash, data)?;
            nist!(curve, |m| {
                let key = m::ecdsa::SigningKey::from_slice(d).map_err(bad("private key"))?;
                let sig: m::ecdsa::Signature = key
                    .sign_prehash_with_rng(&mut super::rng(), &z)
                    .map_err(|e| e.to_string())?;
                Ok(sig.to_bytes().to_vec())
            })
        }
    }
}

/// Whether `sig` signs `data` for `public`. A signature of the wrong size or form is simply not valid.
pub fn verify(
    curve: Curve,
    hash: &str,
    public: &[u8],
    sig: &[u8],
    data: &[u8],
) -> Result<bool, String> {
    match curve {
        Curve::Ed25519 => {
            let key = ed25519_dalek::VerifyingKey::from_bytes(&key32(curve, public)?)
                .map_err(bad("public key"))?;
            let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
                return Ok(false);
            };
            Ok(key.verify_strict(data, &sig).is_ok())
        }
        Curve::X25519 => Err("X25519 keys cannot verify".into()),
        _ => {
            let z = prehash(curve, hash, data)?;
            nist!(curve, |m| {
                let key =
                    m::ecdsa::VerifyingKey::from_sec1_bytes(public).map_err(bad("public key"))?;
                let Ok(sig) = m::ecdsa::Signature::from_slice(sig) else {
                    return Ok(false);
                };
                Ok(key.verify_prehash(&z, &sig).is_ok())
            })
        }
    }
}

/// The shared secret of ECDH (the x-coordinate) or X25519, refusing X25519's all-zero result from a
/// small-order public key.
pub fn derive(curve: Curve, d: &[u8], public: &[u8]) -> Result<Vec<u8>, String> {
    check_len(curve, d)?;
    match curve {
        Curve::X25519 => {
            let secret = x25519_dalek::StaticSecret::from(seed(curve, d)?);
            let shared =
                secret.diffie_hellman(&x25519_dalek::PublicKey::from(key32(curve, public)?));
            if !shared.was_contributory() {
                return Err("X25519 public key has small order".into());
            }
            Ok(shared.as_bytes().to_vec())
        }
        Curve::Ed25519 => Err("Ed25519 keys cannot derive".into()),
        _ => nist!(curve, |m| {
            let secret = m::SecretKey::from_slice(d).map_err(bad("private key"))?;
            let public = m::PublicKey::from_sec1_bytes(public).map_err(bad("public key"))?;
            let shared = m::ecdh::diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
            Ok(shared.raw_secret_bytes().to_vec())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn x25519_matches_rfc7748() {
        let a = h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let b_pub = h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        assert_eq!(
            hex::encode(derive(Curve::X25519, &a, &b_pub).unwrap()),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        );
        assert!(derive(Curve::X25519, &a, &[0u8; 32]).is_err());
    }

    #[test]
    fn der_round_trips_on_every_curve() {
        for curve in [
            Curve::P256,
            Curve::P384,
            Curve::P521,
            Curve::Ed25519,
            Curve::X25519,
        ] {
            let d = generate(curve).unwrap();
            let public = public_of(curve, &d).unwrap();
            let pkcs8 = to_der(curve, "pkcs8", &d).unwrap();
            assert_eq!(from_der(curve, "pkcs8", &pkcs8).unwrap(), d);
            let spki = to_der(curve, "spki", &public).unwrap();
            assert_eq!(from_der(curve, "spki", &spki).unwrap(), public);
        }
        let p256 = to_der(
            Curve::P256,
            "spki",
            &public_of(Curve::P256, &generate(Curve::P256).unwrap()).unwrap(),
        )
        .unwrap();
        assert!(from_der(Curve::P384, "spki", &p256).is_err());
    }
}
