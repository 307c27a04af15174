//! The Host routing table: exact hostnames and `*.domain` wildcards mapped to apps, looked up in time that does not
//! grow with the number of apps (a hash lookup per label of the request's host).

use super::names::{strip_port, Hostname};
use foldhash::{HashMap, HashMapExt};

/// Hostnames and wildcards mapped to values (app versions, in practice).
#[derive(Debug, Clone)]
pub struct HostnameTable<T> {
    exact: HashMap<String, T>,
    /// Keyed by the suffix after `*.`: `*.example.com` is stored as `example.com`.
    wildcard: HashMap<String, T>,
}

impl<T> Default for HostnameTable<T> {
    fn default() -> Self {
        Self {
            exact: HashMap::new(),
            wildcard: HashMap::new(),
        }
    }
}

impl<T> HostnameTable<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `host` to `value`, returning the value it replaced.
    pub fn insert(&mut self, host: &Hostname, value: T) -> Option<T> {
        match host.as_str().strip_prefix("*.") {
            Some(suffix) => self.wildcard.insert(suffix.to_string(), value),
            None => self.exact.insert(host.as_str().to_string(), value),
        }
    }

    pub fn remove(&mut self, host: &Hostname) -> Option<T> {
        match host.as_str().strip_prefix("*.") {
            Some(suffix) => self.wildcard.remove(suffix),
            None => self.exact.remove(host.as_str()),
        }
    }

    /// The value stored for exactly this hostname or wildcard pattern.
    pub fn lookup_exact(&self, host: &Hostname) -> Option<&T> {
        match host.as_str().strip_prefix("*.") {
            Some(suffix) => self.wildcard.get(suffix),
            None => self.exact.get(host.as_str()),
        }
    }

    /// The value for a `Host` header: its exact name first, then the most specific wildcard. The port is ignored,
    /// case does not matter, and `*.example.com` matches `a.example.com` and `a.b.example.com`, not `example.com`.
    pub fn lookup(&self, host_header: &str) -> Option<&T> {
        let host = strip_port(host_header).trim_end_matches('.');
        let lowered;
        let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = host.to_ascii_lowercase();
            lowered.as_str()
        } else {
            host
        };
        if let Some(v) = self.exact.get(host) {
            return Some(v);
        }
        if self.wildcard.is_empty() {
            return None;
        }
        let mut rest = host;
        while let Some((_, suffix)) = rest.split_once('.') {
            if let Some(v) = self.wildcard.get(suffix) {
                return Some(v);
            }
            rest = suffix;
        }
        None
    }

    pub fn len(&self) -> usize {
        self.exact.len() + self.wildcard.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hostname {
        Hostname::parse(s).unwrap()
    }

    #[test]
    fn exact_then_most_specific_wildcard() {
        let mut t = HostnameTable::new();
        t.insert(&h("shop.example.com"), "shop");
        t.insert(&h("*.example.com"), "any");
        t.insert(&h("*.eu.example.com"), "eu");
        assert_eq!(t.lookup("shop.example.com:8080"), Some(&"shop"));
        assert_eq!(t.lookup("SHOP.Example.COM"), Some(&"shop"));
        assert_eq!(t.lookup("blog.example.com"), Some(&"any"));
        assert_eq!(t.lookup("a.b.example.com"), Some(&"any"));
        assert_eq!(t.lookup("x.eu.example.com"), Some(&"eu"));
        assert_eq!(t.lookup("example.com"), None);
        assert_eq!(t.lookup("other.org"), None);
        assert_eq!(t.lookup(""), None);
    }

    #[test]
    fn insert_replaces_and_remove_forgets() {
        let mut t = HostnameTable::new();
        assert_eq!(t.insert(&h("a.test"), 1), None);
        assert_eq!(t.insert(&h("a.test"), 2), Some(1));
        assert_eq!(t.len(), 1);
        assert_eq!(t.remove(&h("a.test")), Some(2));
        assert!(t.is_empty());
        assert_eq!(t.lookup("a.test"), None);
    }

    #[test]
    fn thousands_of_apps() {
        let mut t = HostnameTable::new();
        for i in 0..5000 {
            t.insert(&h(&format!("app{i}.test")), i);
        }
        assert_eq!(t.lookup("app4999.test"), Some(&4999));
        assert_eq!(t.lookup("app5000.test"), None);
    }
}
