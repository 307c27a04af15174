//! API keys: ids, the secrets derived from the master key (never stored), and what a key may do.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The services where `POST .../_query` is a read (a query), not a write.
pub const QUERY_SERVICES: [&str; 3] = ["data", "search", "cache"];

/// What a key grants within its tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyGrant {
    /// Services it may use (`data`, `cache`, ...); empty means all.
    pub services: Vec<String>,
    /// Domains it may use; empty means all.
    pub domains: Vec<String>,
    /// Only reads: GET, HEAD and POST `_query` of the services whose `_query` only reads (`QUERY_SERVICES`).
    pub read_only: bool,
}

impl KeyGrant {
    /// Whether this grant allows `method` on `service`/`domain` (`domain` is `None` for service-level routes).
    /// `is_query` marks a POST to a path ending in `_query`, which only reads in `QUERY_SERVICES` (in storage it
    /// would upload an object named `_query`).
    pub fn allows(
        &self,
        service: &str,
        domain: Option<&str>,
        method: &str,
        is_query: bool,
    ) -> bool {
        let service_ok = self.services.is_empty() || self.services.iter().any(|s| s == service);
        let domain_ok = match domain {
            Some(d) => self.domains.is_empty() || self.domains.iter().any(|x| x == d),
            None => self.domains.is_empty(),
        };
        let reads = matches!(method, "GET" | "HEAD")
            || (method == "POST" && is_query && QUERY_SERVICES.contains(&service));
        let method_ok = !self.read_only || reads;
        service_ok && domain_ok && method_ok
    }
}

/// The secret of key `key_id` with `salt`: hex HMAC-SHA256 under the master key. Stored nowhere; recomputed to verify.
pub fn derive_secret(master_key: &[u8], key_id: &str, salt: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(master_key).expect("HMAC takes any key length");
    mac.update(key_id.as_bytes());
    mac.update(b".");
    mac.update(salt.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_depend_on_master_id_and_salt() {
        let a = derive_secret(b"m1", "k", "s");
        assert_eq!(a, derive_secret(b"m1", "k", "s"));
        assert_ne!(a, derive_secret(b"m2", "k", "s"));
        assert_ne!(a, derive_secret(b"m1", "k2", "s"));
        assert_ne!(a, derive_secret(b"m1", "k", "s2"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn grants() {
        let all = KeyGrant::default();
        assert!(all.allows("data", Some("x"), "DELETE", false));
        let ro = KeyGrant {
            read_only: true,
            ..Default::default()
        };
        assert!(ro.allows("data", Some("x"), "GET", false));
        assert!(ro.allows("data", Some("x"), "POST", true));
        assert!(!ro.allows("data", Some("x"), "POST", false));
        assert!(ro.allows("search", Some("x"), "POST", true));
        assert!(
            !ro.allows("storage", Some("x"), "POST", true),
            "an upload of an object named _query is a write"
        );
        let narrow = KeyGrant {
            services: vec!["cache".into()],
            domains: vec!["a".into()],
            read_only: false,
        };
        assert!(narrow.allows("cache", Some("a"), "PUT", false));
        assert!(!narrow.allows("data", Some("a"), "GET", false));
        assert!(!narrow.allows("cache", Some("b"), "GET", false));
        assert!(!narrow.allows("cache", None, "GET", false));
    }
}
