//! AES in WebCrypto's four modes: GCM (96-bit IV, 128-bit tag appended), CBC with PKCS#7 padding, CTR over the low
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

/// AES-GCM with a 96-bit IV; the 128-bit tag follows the ciphertext, as WebCrypto lays it out.
pub fn gcm(
    encrypt: bool,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, String> {
    use aes_gcm::aead::{consts::U12, Aead, Payload};
    if iv.len() != 12 {
        return Err("AES-GCM needs a 12-byte iv".into());
    }
    let nonce = GenericArray::from_slice(iv);
    let payload = Payload { msg: data, aad };
    with_aes!(key.len(), |C| {
        let c = aes_gcm::AesGcm::<C, U12>::new_from_slice(key).map_err(|e| e.to_string())?;
        if encrypt {
            c.encrypt(nonce, payload)
                .map_err(|_| "encryption failed".to_string())
        } else {
            c.decrypt(nonce, payload).map_err(|_| FAILED.to_string())
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
