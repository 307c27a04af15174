//! Outbound clients that connect only where the outbound policy's address rule allows: every connection's name is
//! resolved here and refused addresses are dropped, so a name that resolves only to refused ones fails (DNS names
//! cannot get around the rule; literal IP addresses, which reqwest never resolves, are the caller's to check with
//! `OutboundPolicy::refuses_url` before each request and redirect). A refusal fails the connection with an
//! `io::Error` of kind `PermissionDenied`, a failed lookup with kind `NotFound`, so callers can tell them apart
//! from refused connections and timeouts.

use crate::core::outbound::{refused, OutboundPolicy};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::io::{Error, ErrorKind};
use std::net::SocketAddr;
use std::sync::Arc;

/// Resolves names with the system resolver and keeps only the addresses `policy` allows.
struct PolicyResolver {
    policy: Arc<OutboundPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let allowed = allowed_addrs(&policy, name.as_str(), 0).await?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The addresses of `host:port` that `policy` allows, in the resolver's order: a refusal when every address is
/// refused (kind `PermissionDenied`), a failed lookup (kind `NotFound`).
pub async fn allowed_addrs(
    policy: &OutboundPolicy,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, Error> {
    let found: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            let msg = format!("DNS lookup of {host} failed: {e}");
            return Err(Error::new(ErrorKind::NotFound, msg));
        }
    };
    let mut refusal = None;
    let allowed: Vec<SocketAddr> = found
        .into_iter()
        .filter(|a| match policy.refuses_address(a.ip()) {
            Some(why) => {
                refusal.get_or_insert(why);
                false
            }
            None => true,
        })
        .collect();
    if allowed.is_empty() {
        let why = refusal.unwrap_or_else(|| "it has no address".into());
        return Err(Error::new(ErrorKind::PermissionDenied, refused(host, &why)));
    }
    Ok(allowed)
}

/// A client builder whose connections obey the address rule of `policy`; redirects are not followed (callers
/// follow them, checking each hop).
pub fn builder(policy: OutboundPolicy) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PolicyResolver {
            policy: Arc::new(policy),
        }))
}
