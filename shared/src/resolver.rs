//! Host name resolution, one trait for both address checks of
//! docs/reference/security.md#outgoing-egress-ssrf-guard: when an endpoint URL is saved
//! (`Outgoing`, so the admin sees a `400` at once) and at every send (the sender's guarded
//! resolver, on the address actually connected to). Both judge the answers with the one
//! [`crate::domain::egress::EgressPolicy`]. Tests answer for hosts this machine cannot resolve
//! (`hooks.slack.com` without outside DNS) with [`StaticLookup`].

use std::collections::HashMap;
use std::net::IpAddr;

use futures::future::BoxFuture;

/// Resolves a host name to its addresses.
pub trait Lookup: Send + Sync + std::fmt::Debug + 'static {
    fn lookup(&self, host: String) -> BoxFuture<'static, std::io::Result<Vec<IpAddr>>>;
}

/// The operating system's resolver (`getaddrinfo` through tokio; what Lambda uses).
#[derive(Debug, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: String) -> BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// Fixed answers; unknown hosts do not resolve.
#[derive(Debug, Default)]
pub struct StaticLookup {
    hosts: HashMap<String, Vec<IpAddr>>,
}

impl StaticLookup {
    pub fn with(mut self, host: &str, ips: &[IpAddr]) -> Self {
        self.hosts.insert(host.to_ascii_lowercase(), ips.to_vec());
        self
    }
}

impl Lookup for StaticLookup {
    fn lookup(&self, host: String) -> BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
        let found = self.hosts.get(&host.to_ascii_lowercase()).cloned();
        Box::pin(async move {
            found.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "unknown host"))
        })
    }
}
