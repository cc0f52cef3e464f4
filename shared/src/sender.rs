//! Outbound HTTP for deliveries: a 30 s budget, no redirects, no proxies, and an SSRF guard
//! that checks every address a host resolves to (at send time, so DNS rebinding cannot bypass
//! the check made when the endpoint was saved).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::egress::{Blocked, EgressPolicy};
use crate::resolver::{Lookup, SystemLookup};

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

    /// What the delivery state machine reads of it.
    pub fn outcome(&self) -> crate::domain::delivery::machine::Outcome {
        crate::domain::delivery::machine::Outcome {
            status: self.status,
            retry_after: self.retry_after,
        }
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

/// The resolver reqwest connects through: every answer passes the [`EgressPolicy`] first, so
/// the address checked is the address connected to (DNS rebinding cannot slip past).
struct GuardedResolver {
    policy: EgressPolicy,
    lookup: Arc<dyn Lookup>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let ips = lookup.lookup(name.as_str().to_string()).await?;
            match policy.check_resolved(&ips) {
                Ok(()) => {}
                Err(Blocked::NoAddress) => return Err("the host has no address".into()),
                Err(_) => {
                    return Err(
                        "the host resolves to a forbidden (private, loopback or metadata) address"
                            .into(),
                    )
                }
            }
            let addrs: Vec<SocketAddr> = ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: EgressPolicy,
    timeout: Duration,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("policy", &self.policy)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// The sender of a cold start. A client that cannot be built (e.g. no TLS roots) fails the
    /// cold start: falling back to a default client would drop the timeouts, the redirect
    /// policy and the guarded resolver.
    pub fn new(local_mode: bool, timeout: Duration) -> Self {
        match Self::try_new(local_mode, timeout, Arc::new(SystemLookup)) {
            Ok(s) => s,
            Err(e) => panic!("cannot build the outgoing HTTP client: {e}"),
        }
    }

    /// A sender resolving names through `lookup`.
    pub fn try_new(
        local_mode: bool,
        timeout: Duration,
        lookup: Arc<dyn Lookup>,
    ) -> Result<Self, reqwest::Error> {
        let policy = EgressPolicy::new(local_mode);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { policy, lookup }))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            client,
            policy,
            timeout,
        })
    }

    /// POSTs `body` with `headers`; never fails, every problem is in the outcome.
    pub async fn post(&self, url: &str, headers: &[(String, String)], body: &str) -> SendOutcome {
        let started = Instant::now();
        let mut outcome = match self.guard(url) {
            Ok(parsed) => self.send(parsed, headers, body).await,
            Err(e) => SendOutcome {
                error: Some(e),
                ..Default::default()
            },
        };
        outcome.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        outcome
    }

    /// Literal IP hosts never reach the resolver: check them here, with the scheme. The parsed
    /// URL is what is sent (parsed once).
    fn guard(&self, url: &str) -> Result<url::Url, String> {
        self.policy.check_url(url).map_err(|blocked| {
            match blocked {
                Blocked::Scheme => "only HTTPS endpoints are allowed",
                Blocked::Address(_) | Blocked::InternalName => {
                    "forbidden (private, loopback or metadata) address"
                }
                _ => "invalid URL",
            }
            .to_string()
        })
    }

    async fn send(&self, url: url::Url, headers: &[(String, String)], body: &str) -> SendOutcome {
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
    use std::sync::Mutex;

    use futures::future::BoxFuture;

    use std::net::IpAddr;

    use super::*;

    /// A DNS server under an attacker's control: each lookup gets the next scripted answer.
    #[derive(Debug)]
    struct Scripted(Mutex<Vec<Vec<IpAddr>>>);

    impl Lookup for Scripted {
        fn lookup(&self, _host: String) -> BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
            let next = self.0.lock().map(|mut a| a.remove(0)).unwrap_or_default();
            Box::pin(async move { Ok(next) })
        }
    }

    #[tokio::test]
    async fn dns_rebinding_is_refused_at_send_time() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let dns = Arc::new(Scripted(Mutex::new(vec![vec![public], vec![loopback]])));
        // Saving the endpoint: the name resolves to a public address, so it is accepted.
        let policy = EgressPolicy::new(false);
        let first = dns.lookup("rebind.example".into()).await.unwrap();
        assert!(policy.check_resolved(&first).is_ok());
        // Sending: the same name now answers loopback; the send is refused before connecting.
        let sender = Sender::try_new(false, Duration::from_secs(2), dns.clone()).unwrap();
        let url = format!("https://rebind.example:{port}/hook");
        let out = sender.post(&url, &[], "{}").await;
        assert!(!out.success());
        let error = out.error.unwrap_or_default();
        assert!(error.contains("forbidden"), "{error}");
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(
            accepted.is_err(),
            "nothing may connect to the loopback listener"
        );
    }

    #[tokio::test]
    async fn literal_addresses_are_checked_without_dns() {
        let dns = Arc::new(Scripted(Mutex::new(vec![])));
        let sender = Sender::try_new(false, Duration::from_secs(2), dns).unwrap();
        for url in [
            "https://127.0.0.1:9/",
            "https://[::ffff:127.0.0.1]:9/",
            "https://[::127.0.0.1]:9/",
            "https://[2002:7f00:1::1]:9/",
            "https://198.18.0.1:9/",
        ] {
            let out = sender.post(url, &[], "{}").await;
            assert!(out.error.unwrap_or_default().contains("forbidden"), "{url}");
        }
        let out = sender.post("http://example.com/", &[], "{}").await;
        assert_eq!(
            out.error.as_deref(),
            Some("only HTTPS endpoints are allowed")
        );
    }

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
