//! Outbound HTTP for deliveries: a 30 s budget, no redirects, no proxies, and an SSRF guard
//! that checks every address a host resolves to (at send time, so DNS rebinding cannot bypass
//! the check made when the endpoint was saved).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::endpoint::ip_allowed;

/// What one attempt produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SendOutcome {
    pub status: Option<u16>,
    /// At most 1 KiB of the response body (lossy UTF-8).
    pub body_excerpt: String,
    pub duration_ms: u64,
    pub error: Option<String>,
    /// `Retry-After` in seconds, when given.
    pub retry_after: Option<u64>,
}

impl SendOutcome {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// A short description for `last_error` (never the URL, which may hold a secret).
    pub fn error_text(&self) -> String {
        match (&self.error, self.status) {
            (Some(e), _) => e.clone(),
            (None, Some(s)) => format!("HTTP {s}"),
            (None, None) => "no response".into(),
        }
    }
}

struct GuardedResolver {
    local_mode: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let local_mode = self.local_mode;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err("the host has no address".into());
            }
            if addrs.iter().any(|a| !ip_allowed(a.ip(), local_mode)) {
                return Err(
                    "the host resolves to a forbidden (private, loopback or metadata) address"
                        .into(),
                );
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
    local_mode: bool,
    timeout: Duration,
}

impl Sender {
    pub fn new(local_mode: bool, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { local_mode }))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            client,
            local_mode,
            timeout,
        }
    }

    /// POSTs `body` with `headers`; never fails, every problem is in the outcome.
    pub async fn post(&self, url: &str, headers: &[(String, String)], body: &str) -> SendOutcome {
        let started = Instant::now();
        let mut outcome = match self.guard(url) {
            Ok(()) => self.send(url, headers, body).await,
            Err(e) => SendOutcome {
                error: Some(e),
                ..Default::default()
            },
        };
        outcome.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        outcome
    }

    /// Literal IP hosts never reach the resolver: check them here, with the scheme.
    fn guard(&self, url: &str) -> Result<(), String> {
        let parsed = reqwest::Url::parse(url).map_err(|_| "invalid URL".to_string())?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.local_mode => {}
            _ => return Err("only HTTPS endpoints are allowed".into()),
        }
        let ip: Option<IpAddr> = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        match ip {
            Some(ip) if !ip_allowed(ip, self.local_mode) => {
                Err("forbidden (private, loopback or metadata) address".into())
            }
            _ => Ok(()),
        }
    }

    async fn send(&self, url: &str, headers: &[(String, String)], body: &str) -> SendOutcome {
        let mut req = self.client.post(url).body(body.to_string());
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return SendOutcome {
                    error: Some(describe(&e, self.timeout)),
                    ..Default::default()
                }
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let mut excerpt = Vec::new();
        let mut resp = resp;
        let mut error = None;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    excerpt.extend_from_slice(
                        &chunk[..chunk.len().min(4096 - excerpt.len().min(4096))],
                    );
                    if excerpt.len() >= 4096 {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(describe(&e, self.timeout));
                    break;
                }
            }
        }
        let text: String = String::from_utf8_lossy(&excerpt)
            .chars()
            .take(1024)
            .collect();
        SendOutcome {
            status: Some(status),
            body_excerpt: text,
            duration_ms: 0,
            error: if (200..300).contains(&status) {
                None
            } else {
                error
            },
            retry_after,
        }
    }
}

fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {} s", timeout.as_secs());
    }
    if e.is_connect() {
        let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
        while let Some(s) = src {
            let text = s.to_string();
            if text.contains("forbidden") || text.contains("no address") {
                return text;
            }
            src = s.source();
        }
        return "connection failed".into();
    }
    if e.is_redirect() {
        return "redirect refused".into();
    }
    "request failed".into()
}

/// `Retry-After`: delay-seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<u64> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let delta = when.as_second() - jiff::Timestamp::now().as_second();
    Some(u64::try_from(delta.max(0)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn retry_after() {
        assert_eq!(super::parse_retry_after("120"), Some(120));
        assert_eq!(
            super::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(0)
        );
        assert_eq!(super::parse_retry_after("soon"), None);
    }
}
