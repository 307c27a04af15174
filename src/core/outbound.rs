//! The outbound policy of apps' `fetch` and of queue targets: which addresses and hosts nano connects to for a
//! tenant. Addresses are judged after resolution (every connection's), hosts by name before it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The header on every request an app sends, counting the hops of its request chain: the incoming request's count
/// plus one (an incoming request without it is hop 0). Requests back into nano past [`MAX_HOPS`] get 508, so a
/// chain of apps calling each other (or themselves) cannot multiply.
pub const HOPS_HEADER: &str = "x-nano-hops";
pub const MAX_HOPS: u32 = 16;

/// The hop count a request carries (0 when it carries none or garbage).
pub fn hops(value: Option<&str>) -> u32 {
    value.and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// What kind of network an address is on, for the address rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918, 100.64.0.0/10 (carrier-grade NAT), fc00::/7.
    Private,
    /// 169.254.0.0/16 (cloud metadata lives at 169.254.169.254), fe80::/10.
    LinkLocal,
    /// 0.0.0.0/8, ::, 255.255.255.255, multicast, and the other reserved ranges no service lives on.
    Reserved,
}

impl AddressClass {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::of_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::of_v4(v4),
                None => Self::of_v6(v6),
            },
        }
    }

    fn of_v4(ip: Ipv4Addr) -> Self {
        let [a, b, ..] = ip.octets();
        if ip.is_loopback() {
            Self::Loopback
        } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
            Self::Private
        } else if ip.is_link_local() {
            Self::LinkLocal
        } else if a == 0 || ip.is_broadcast() || ip.is_multicast() || a >= 240 {
            Self::Reserved
        } else {
            Self::Public
        }
    }

    fn of_v6(ip: Ipv6Addr) -> Self {
        let first = ip.segments()[0];
        if ip.is_loopback() {
            Self::Loopback
        } else if first & 0xfe00 == 0xfc00 {
            Self::Private
        } else if first & 0xffc0 == 0xfe80 {
            Self::LinkLocal
        } else if ip.is_unspecified() || ip.is_multicast() {
            Self::Reserved
        } else if let Some(v4) = ip.to_ipv4() {
            // IPv4-compatible (::a.b.c.d, deprecated) addresses reach the IPv4 address on some stacks.
            match Self::of_v4(v4) {
                Self::Public => Self::Public,
                _ => Self::Reserved,
            }
        } else {
            Self::Public
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link-local",
            Self::Reserved => "reserved",
        }
    }
}

/// Host rules of one level (nano-wide, a tenant's, an app's): `none` refuses every outbound request; a non-empty
/// `allow` admits only the hosts it matches; `deny` refuses the hosts it matches. Patterns are host names,
/// exact (`api.example.com`) or `*.example.com` (any subdomain, not the name itself); IP addresses match literally.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostRules {
    pub none: bool,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

impl HostRules {
    pub fn is_empty(&self) -> bool {
        !self.none && self.allow.is_empty() && self.deny.is_empty()
    }

    /// Why `host` (lower case, no port, IPv6 without brackets) is refused at this level, if it is.
    fn refuses(&self, host: &str, level: &str) -> Option<String> {
        if self.none {
            return Some(format!("outbound requests are off for this {level}"));
        }
        if self.deny.iter().any(|p| matches(p, host)) {
            return Some(format!("{host} is denied for this {level}"));
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|p| matches(p, host)) {
            return Some(format!("{host} is not among this {level}'s allowed hosts"));
        }
        None
    }

    /// A pattern that cannot match anything, if there is one (checked when the configuration is read).
    pub fn invalid_pattern(&self) -> Option<&str> {
        self.allow
            .iter()
            .chain(&self.deny)
            .map(String::as_str)
            .find(|p| {
                let name = p.strip_prefix("*.").unwrap_or(p);
                name.is_empty()
                    || name.contains(['/', ':', '@', ' ', '*'])
                        && name.trim_matches(['[', ']']).parse::<IpAddr>().is_err()
            })
    }
}

fn matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_matches(['[', ']']).to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
        None => pattern == host,
    }
}

/// Everything that decides where one app may connect: the address rule and the host rules of every level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Whether loopback and private addresses are reachable (the dev profile, where apps call each other on
    /// loopback). Link-local and reserved addresses never are.
    pub private_networks: bool,
    /// Host rules, each with the name of its level (`node`, `tenant`, `app`); a host must pass every one.
    pub levels: Vec<(&'static str, HostRules)>,
}

impl OutboundPolicy {
    /// Why connecting to `ip` is refused, if it is.
    pub fn refuses_address(&self, ip: IpAddr) -> Option<String> {
        let class = AddressClass::of(ip);
        let allowed = match class {
            AddressClass::Public => true,
            AddressClass::Loopback | AddressClass::Private => self.private_networks,
            AddressClass::LinkLocal | AddressClass::Reserved => false,
        };
        (!allowed).then(|| format!("{ip} is a {} address", class.as_str()))
    }

    /// Why requests to `host` are refused by name, if they are.
    pub fn refuses_host(&self, host: &str) -> Option<String> {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        let host = host.trim_end_matches('.');
        self.levels
            .iter()
            .find_map(|(level, rules)| rules.refuses(host, level))
    }

    /// Why a request to `url` is refused before any connection, if it is: its scheme, its host's rules, and its
    /// address when the host is a literal IP address (the URL parser has already turned forms like `2130706433`
    /// and `127.1` into one; names are judged by address when they resolve).
    pub fn refuses_url(&self, url: &url::Url) -> Option<String> {
        let host = url.host_str().unwrap_or_default();
        let why = if !matches!(url.scheme(), "http" | "https") {
            Some(format!("the {} scheme is not fetched", url.scheme()))
        } else {
            match url.host() {
                None => Some("the URL has no host".to_string()),
                Some(url::Host::Domain(d)) => self.refuses_host(d),
                Some(url::Host::Ipv4(ip)) => self.refuses_ip(ip.into()),
                Some(url::Host::Ipv6(ip)) => self.refuses_ip(ip.into()),
            }
        };
        why.map(|why| refused(host, &why))
    }

    /// A literal IP address as a URL's host: its host rules (IPs match literally), then the address rule.
    fn refuses_ip(&self, ip: IpAddr) -> Option<String> {
        self.refuses_host(&ip.to_string())
            .or_else(|| self.refuses_address(ip))
    }
}

/// The message of every refusal: `fetch to <host> refused by the outbound policy (<why>)`.
pub fn refused(host: &str, why: &str) -> String {
    format!("fetch to {host} refused by the outbound policy ({why})")
}

/// The node's outbound settings and each tenant's host rules, from which every app's policy is made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbound {
    pub private_networks: bool,
    pub node: HostRules,
    pub tenants: BTreeMap<String, HostRules>,
}

impl Outbound {
    /// The policy of an app of `tenant` with its own `app` rules (of a queue target when `app` is `None`).
    pub fn policy(&self, tenant: &str, app: Option<&HostRules>) -> OutboundPolicy {
        let mut levels = Vec::new();
        for (level, rules) in [
            ("node", Some(&self.node)),
            ("tenant", self.tenants.get(tenant)),
            ("app", app),
        ] {
            if let Some(rules) = rules.filter(|r| !r.is_empty()) {
                levels.push((level, rules.clone()));
            }
        }
        OutboundPolicy {
            private_networks: self.private_networks,
            levels,
        }
    }
}

/// Reads an app's `outbound`: `"none"`, or a table of `none`, `allow` and `deny`.
pub fn deserialize_rules<'de, D: serde::Deserializer<'de>>(d: D) -> Result<HostRules, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Setting {
        Word(String),
        Rules(HostRules),
    }
    match Setting::deserialize(d)? {
        Setting::Word(w) if w == "none" => Ok(HostRules {
            none: true,
            ..Default::default()
        }),
        Setting::Word(w) => Err(serde::de::Error::custom(format!(
            "outbound must be \"none\" or a table of none, allow and deny, not \"{w}\""
        ))),
        Setting::Rules(r) => Ok(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        AddressClass::of(s.parse().unwrap())
    }

    #[test]
    fn addresses_are_classified() {
        assert_eq!(class("127.0.0.1"), AddressClass::Loopback);
        assert_eq!(class("127.255.0.9"), AddressClass::Loopback);
        assert_eq!(class("::1"), AddressClass::Loopback);
        assert_eq!(class("::ffff:127.0.0.1"), AddressClass::Loopback);
        for private in [
            "10.0.0.5",
            "172.16.3.4",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
        ] {
            assert_eq!(class(private), AddressClass::Private, "{private}");
        }
        assert_eq!(class("169.254.169.254"), AddressClass::LinkLocal);
        assert_eq!(class("::ffff:169.254.169.254"), AddressClass::LinkLocal);
        assert_eq!(class("fe80::1"), AddressClass::LinkLocal);
        for reserved in [
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "255.255.255.255",
            "ff02::1",
            "::10.0.0.1",
        ] {
            assert_eq!(class(reserved), AddressClass::Reserved, "{reserved}");
        }
        assert_eq!(class("93.184.216.34"), AddressClass::Public);
        assert_eq!(class("2606:4700::1111"), AddressClass::Public);
    }

    #[test]
    fn the_address_rule_depends_on_private_networks() {
        let prod = OutboundPolicy::default();
        assert!(prod.refuses_address("10.0.0.5".parse().unwrap()).is_some());
        assert!(prod.refuses_address("1.1.1.1".parse().unwrap()).is_none());
        let dev = OutboundPolicy {
            private_networks: true,
            levels: vec![],
        };
        assert!(dev.refuses_address("127.0.0.1".parse().unwrap()).is_none());
        assert!(dev
            .refuses_address("169.254.169.254".parse().unwrap())
            .unwrap()
            .contains("link-local"));
    }

    #[test]
    fn literal_addresses_in_urls_are_judged_in_every_spelling() {
        let prod = OutboundPolicy::default();
        for url in [
            "http://2130706433/",
            "http://127.1/",
            "http://0x7f.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0/",
            "http://[::]/",
            "http://10.0.0.5:8080/",
        ] {
            let why = prod.refuses_url(&url::Url::parse(url).unwrap());
            assert!(
                why.is_some_and(|w| w.contains("refused by the outbound policy")),
                "{url}"
            );
        }
        assert!(prod
            .refuses_url(&url::Url::parse("http://93.184.216.34/").unwrap())
            .is_none());
        assert!(prod
            .refuses_url(&url::Url::parse("file:///etc/passwd").unwrap())
            .is_some());
    }

    #[test]
    fn host_rules_of_every_level_apply() {
        let policy = OutboundPolicy {
            private_networks: false,
            levels: vec![
                (
                    "tenant",
                    HostRules {
                        deny: vec!["evil.example".into()],
                        ..Default::default()
                    },
                ),
                (
                    "app",
                    HostRules {
                        allow: vec!["*.example".into(), "api.other.com".into()],
                        ..Default::default()
                    },
                ),
            ],
        };
        assert!(policy.refuses_host("www.example").is_none());
        assert!(policy.refuses_host("API.other.com.").is_none());
        assert!(
            policy.refuses_host("example").is_some(),
            "a wildcard needs a subdomain"
        );
        assert!(policy
            .refuses_host("evil.example")
            .unwrap()
            .contains("tenant"));
        assert!(policy
            .refuses_host("other.com")
            .unwrap()
            .contains("allowed"));
        let off = OutboundPolicy {
            private_networks: true,
            levels: vec![(
                "app",
                HostRules {
                    none: true,
                    ..Default::default()
                },
            )],
        };
        assert!(off.refuses_host("www.example").unwrap().contains("off"));
    }
}
