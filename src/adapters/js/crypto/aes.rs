//! AES in WebCrypto's four modes: GCM (tag appended), CBC with PKCS#7 padding, CTR over the low
//! `length` bits of the counter block, and key wrap (RFC 3394). Keys are 128, 192 or 256 bits.

use aes::cipher::{
    block_padding::Pkcs7, generic_array::GenericArray, BlockDecryptMut, BlockEncrypt,
    BlockEncryptMut, KeyInit, KeyIvInit,
};
use aes::{Aes128, Aes192, Aes256};

/// The message WebCrypto's OperationError carries when a check fails, naming nothing secret.
const FAILED: &str = "The operation failed for an operation-specific reason";

/// Runs `$body` with `$c` naming the AES type for a key of `$len` bytes.
macro_rules! with_aes {
    ($len:expr, |$c:ident| $body:expr) => {
        match $len {
            16 => {
                type $c = Aes128;
                $body
            }
            24 => {
                type $c = Aes192;
                $body
            }
            32 => {
                type $c = Aes256;
                $body
            }
            n => Err(format!("AES keys are 128, 192 or 256 bits, not {}", n * 8)),
        }
    };
}

/// AES-GCM with a 96-bit IV (or a 128-bit one with a full tag) and a tag of 96 to 128 bits, which follows the
/// ciphertext as WebCrypto lays it out.
pub fn gcm(
    encrypt: bool,
    key: &[u8],
    iv: &[u8],
    tag_bits: u32,
    data: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, String> {
    use aes_gcm::aead::consts::{U12, U13, U14, U15, U16};
    use aes_gcm::aead::{Aead, Payload};
    let payload = Payload { msg: data, aad };
    macro_rules! run {
        ($c:ty, $n:ty, $t:ty) => {{
            let c =
                aes_gcm::AesGcm::<$c, $n, $t>::new_from_slice(key).map_err(|e| e.to_string())?;
            let nonce = GenericArray::from_slice(iv);
            if encrypt {
                c.encrypt(nonce, payload)
                    .map_err(|_| "encryption failed".to_string())
            } else {
                c.decrypt(nonce, payload).map_err(|_| FAILED.to_string())
            }
        }};
    }
    with_aes!(key.len(), |C| {
        match (iv.len(), tag_bits) {
        (12, 128) => run!(C, U12, U16),
        (12, 120) => run!(C, U12, U15),
        (12, 112) => run!(C, U12, U14),
        (12, 104) => run!(C, U12, U13),
        (12, 96) => run!(C, U12, U12),
        (16, 128) => run!(C, U16, U16),
        _ => Err(format!(
            "AES-GCM supports 12-byte ivs with 96 to 128-bit tags and 16-byte ivs with 128-bit tags, not {} bytes and {tag_bits} bits",
            iv.len()
        )),
    }
    })
}

/// AES-CBC with PKCS#7 padding and a 16-byte IV.
pub fn cbc(encrypt: bool, key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    if iv.len() != 16 {
        return Err("AES-CBC needs a 16-byte iv".into());
    }
    with_aes!(key.len(), |C| {
        if encrypt {
            let c = cbc::Encryptor::<C>::new_from_slices(key, iv).map_err(|e| e.to_string())?;
            Ok(c.encrypt_padded_vec_mut::<Pkcs7>(data))
        } else {
            let c = cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|e| e.to_string())?;
            c.decrypt_padded_vec_mut::<Pkcs7>(data)
                .map_err(|_| FAILED.to_string())
        }
    })
}

/// AES-CTR: the rightmost `length` bits of `counter` count blocks and wrap; the rest is a fixed nonce. Encryption
/// and decryption are the same. A message so long that the counter would repeat is refused.
pub fn ctr(key: &[u8], counter: &[u8], length: u32, data: &[u8]) -> Result<Vec<u8>, String> {
    let counter: [u8; 16] = counter
        .try_into()
        .map_err(|_| "AES-CTR needs a 16-byte counter".to_string())?;
    if !(1..=128).contains(&length) {
        return Err("AES-CTR length must be between 1 and 128".into());
    }
    let blocks = data.len().div_ceil(16) as u128;
    if length < 128 && blocks > 1u128 << length {
        return Err("AES-CTR counter would wrap around within this message".into());
    }
    with_aes!(key.len(), |C| {
        let cipher = C::new_from_slice(key).map_err(|e| e.to_string())?;
        Ok(ctr_with(
            &cipher,
            u128::from_be_bytes(counter),
            length,
            data,
        ))
    })
}

fn ctr_with<C: BlockEncrypt>(cipher: &C, mut block: u128, length: u32, data: &[u8]) -> Vec<u8> {
    let mask = if length == 128 {
        u128::MAX
    } else {
        (1u128 << length) - 1
    };
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks(16) {
        let mut ks = GenericArray::clone_from_slice(&block.to_be_bytes());
        cipher.encrypt_block(&mut ks);
        out.extend(chunk.iter().zip(ks.iter()).map(|(d, k)| d ^ k));
        block = (block & !mask) | (block.wrapping_add(1) & mask);
    }
    out
}

/// AES key wrap (RFC 3394): wraps or unwraps `data`, a multiple of 8 bytes and at least 16.
pub fn kw(wrap: bool, key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    if !data.len().is_multiple_of(8) || data.len() < 16 {
        return Err("AES-KW data must be a multiple of 8 bytes and at least 16".into());
    }
    with_aes!(key.len(), |C| {
        let kek = aes_kw::Kek::<C>::try_from(key).map_err(|e| e.to_string())?;
        if wrap {
            kek.wrap_vec(data).map_err(|e| e.to_string())
        } else {
            kek.unwrap_vec(data).map_err(|_| FAILED.to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn ctr_wraps_only_the_counter_bits() {
        let key = [7u8; 16];
        let nonce = h("00112233445566778899aabbccddeeff");
        // With 8 counter bits, block 2 of a counter ending in ff uses ...ee00, not ...ef00.
        let out = ctr(&key, &nonce, 8, &[0u8; 32]).unwrap();
        let mut wrapped = nonce.clone();
        wrapped[15] = 0;
        let second = ctr(&key, &wrapped, 8, &[0u8; 16]).unwrap();
        assert_eq!(&out[16..], &second[..]);
        assert!(ctr(&key, &nonce, 1, &[0u8; 33]).is_err());
        assert!(ctr(&key, &nonce, 1, &[0u8; 32]).is_ok());
    }
}
