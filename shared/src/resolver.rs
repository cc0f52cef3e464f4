//! Host name resolution for the save-time URL checks (SPEC §6.3), behind a trait so that tests
//! can answer for hosts this machine cannot resolve (`hooks.slack.com` without outside DNS).
//! The send-time check lives in [`crate::sender`], on the address actually connected to.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use futures::future::BoxFuture;

/// Resolves a host name to its addresses.
pub trait Resolver: Send + Sync + std::fmt::Debug {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>>;
}

/// The system resolver (what Lambda uses).
#[derive(Debug, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// Fixed answers; unknown hosts do not resolve.
#[derive(Debug, Default)]
pub struct StaticResolver {
    hosts: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    pub fn with(mut self, host: &str, ips: &[IpAddr]) -> Self {
        self.hosts.insert(host.to_ascii_lowercase(), ips.to_vec());
        self
    }
}

impl Resolver for StaticResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>> {
        let found = self.hosts.get(&host.to_ascii_lowercase()).map(|ips| {
            ips.iter()
                .map(|ip| SocketAddr::new(*ip, port))
                .collect::<Vec<_>>()
        });
        Box::pin(async move {
            found.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "unknown host"))
        })
    }
}
