//! Validated names: tenants, domains (hyper's service resources), apps and hostnames.

use crate::core::CoreError;
use std::fmt;

fn invalid(kind: &'static str, reason: impl Into<String>) -> CoreError {
    CoreError::InvalidName {
        kind,
        reason: reason.into(),
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The validated name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// A tenant id: `[a-z0-9][a-z0-9-]{0,62}`.
    TenantId
);
name_type!(
    /// A domain: hyper's name for a service resource of a tenant (a db, cache store, bucket, index or queue).
    /// 1 to 128 characters of `[A-Za-z0-9._~-]`, not starting with `.`, `_` or `-`, never `.` or `..`,
    /// so it is safe as a SQL value, a file name and an index directory name alike.
    DomainName
);
name_type!(
    /// An app name: `[a-z0-9][a-z0-9_-]{0,62}`.
    AppName
);
name_type!(
    /// A lower-cased hostname without port, optionally a `*.` wildcard: labels of `[a-z0-9-]`, 253 characters at most.
    Hostname
);

/// Names no tenant may take: the first path segments nano itself routes.
pub const RESERVED_TENANTS: [&str; 7] = [
    "data", "cache", "storage", "search", "queue", "admin", "healthz",
];

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

impl TenantId {
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        if s.is_empty() || s.len() > 63 {
            return Err(invalid(
                "tenant",
                format!("'{s}' must be 1 to 63 characters"),
            ));
        }
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(is_lower_alnum);
        if !first_ok || !chars.all(|c| is_lower_alnum(c) || c == '-') {
            return Err(invalid(
                "tenant",
                format!("'{s}' must match [a-z0-9][a-z0-9-]{{0,62}}"),
            ));
        }
        // `/<tenant>/<service>/...` and `/<service>/<domain>/...` must never read the same: a tenant named after
        // a service (or the admin API) would make one tenant's paths another's.
        if RESERVED_TENANTS.contains(&s) {
            return Err(invalid(
                "tenant",
                format!("'{s}' is reserved (it names a service or the admin API)"),
            ));
        }
        Ok(Self(s.to_string()))
    }
}

impl DomainName {
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        if s.is_empty() || s.len() > 128 {
            return Err(invalid(
                "domain",
                format!("'{s}' must be 1 to 128 characters"),
            ));
        }
        if s.starts_with(['.', '_', '-']) {
            return Err(invalid(
                "domain",
                format!("'{s}' must start with a letter or digit"),
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-')))
        {
            return Err(invalid(
                "domain",
                format!("'{s}' contains '{c}'; allowed are letters, digits and . _ ~ -"),
            ));
        }
        Ok(Self(s.to_string()))
    }
}

impl AppName {
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(is_lower_alnum);
        if s.len() > 63 || !first_ok || !chars.all(|c| is_lower_alnum(c) || c == '-' || c == '_') {
            return Err(invalid(
                "app",
                format!("'{s}' must match [a-z0-9][a-z0-9_-]{{0,62}}"),
            ));
        }
        Ok(Self(s.to_string()))
    }
}

impl Hostname {
    /// Parses a hostname, dropping any `:port` and lower-casing it. `*.example.com` is a wildcard.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let host = strip_port(s).to_ascii_lowercase();
        let body = host.strip_prefix("*.").unwrap_or(&host);
        if body.is_empty() || host.len() > 253 {
            return Err(invalid(
                "host",
                format!("'{s}' must be 1 to 253 characters"),
            ));
        }
        for label in body.split('.') {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| is_lower_alnum(c) || c == '-');
            if !ok {
                return Err(invalid(
                    "host",
                    format!("'{s}' has an invalid label '{label}'"),
                ));
            }
        }
        Ok(Self(host))
    }

    /// True for a `*.example.com` pattern.
    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with("*.")
    }

    /// The first label, e.g. `acme` for `acme.localhost`.
    pub fn first_label(&self) -> &str {
        self.0.split('.').next().unwrap_or_default()
    }
}

/// Drops a trailing `:port` from a Host header value (IPv6 literals in brackets are kept whole).
pub fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(h, _)| &host[..=h.len()]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names() {
        assert!(TenantId::parse("acme").is_ok());
        assert!(TenantId::parse("a-1").is_ok());
        assert!(TenantId::parse(&"a".repeat(63)).is_ok());
        for bad in [
            "",
            "-a",
            "Acme",
            "a_b",
            "a.b",
            &"a".repeat(64),
            "data",
            "storage",
            "admin",
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn domain_names() {
        for good in ["test", "My.Db-1", "a~b_c"] {
            assert_eq!(DomainName::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "a b",
            "é",
            &"a".repeat(129),
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad} should be rejected");
        }
        let err = DomainName::parse("a/b").unwrap_err().to_string();
        assert!(err.contains("'/'"), "{err}");
    }

    #[test]
    fn app_names() {
        assert!(AppName::parse("shop_2").is_ok());
        assert!(AppName::parse("Shop").is_err());
        assert!(AppName::parse("").is_err());
    }

    #[test]
    fn hostnames() {
        let h = Hostname::parse("Acme.LocalHost:6363").unwrap();
        assert_eq!(h.as_str(), "acme.localhost");
        assert_eq!(h.first_label(), "acme");
        assert!(Hostname::parse("*.example.com").unwrap().is_wildcard());
        for bad in ["", "a..b", "-a.com", "a_b.com", "*."] {
            assert!(Hostname::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("a.b:80"), "a.b");
        assert_eq!(strip_port("a.b"), "a.b");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
    }
}
