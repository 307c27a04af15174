//! The signed-URL key of file storage: kept in a file of the storage root (generated on first start, mode 0600)
//! unless one is given. Signatures themselves are `core::signing`'s.

use std::io::Write;
use std::path::Path;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_key(dir.path()).unwrap();
        let b = load_or_create_key(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
    }
}
