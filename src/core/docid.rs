//! Document ids for the data service: cuid-like, collision-resistant, sortable by creation time within a process.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn base36(mut n: u128, width: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out).expect("ascii digits")
}

/// A new id in cuid's shape: `c`, 8 base-36 digits of milliseconds, 4 of a process counter, 12 random (25 chars).
pub fn new_doc_id() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed) as u128;
    let random: u64 = rand::random();
    format!(
        "c{}{}{}",
        base36(ms, 8),
        base36(count, 4),
        base36(random as u128, 12)
    )
}

#[cfg(test)]
mod tests {
    use super::new_doc_id;

    #[test]
    fn ids_are_cuid_shaped_and_unique() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| new_doc_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(5) {
            assert_eq!(id.len(), 25, "{id}");
            assert!(id.starts_with('c'));
            assert!(id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        }
    }
}
