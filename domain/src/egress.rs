//! Where outgoing deliveries may go (docs/reference/security.md#outgoing-egress-ssrf-guard): one
//! policy, used when an endpoint URL is saved and again by the sender's DNS resolver for every
//! address a host resolves to at send time.
//!
//! IPv4: everything but the special-purpose ranges below. IPv6: only global unicast
//! (`2000::/3`) outside its special ranges; an IPv6 address that carries an IPv4 address
//! (IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64, 6to4, Teredo) is judged by every IPv4
//! address it carries. In local mode (`LOCAL_MODE=true`) `http://` and loopback are allowed.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

use crate::error::Error;

/// Why an address is not a place deliveries may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    Unspecified,
    Loopback,
    Private,
    SharedCgnat,
    LinkLocal,
    Metadata,
    Multicast,
    Broadcast,
    Documentation,
    Benchmarking,
    Reserved,
    SiteLocal,
    UniqueLocal,
    /// IPv6 outside global unicast (`2000::/3`), or a special range inside it.
    NotGlobalUnicast,
}

/// Why a URL or address is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    Malformed,
    Scheme,
    Credentials,
    NoHost,
    /// `localhost`, `*.localhost`, `*.internal`.
    InternalName,
    Address(AddressClass),
    /// The host resolved to nothing.
    NoAddress,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Blocked::Malformed => "Webhook URL must be a valid HTTPS URL.",
            Blocked::Scheme => "Webhook URL must use HTTPS protocol.",
            Blocked::Credentials => "Webhook URL must be a valid HTTPS URL without credentials.",
            Blocked::NoHost => "Webhook URL must have a host.",
            Blocked::InternalName => "Webhook URL must not point at a private or loopback address.",
            Blocked::Address(_) => {
                "Webhook URL must not point at a private, loopback or metadata address."
            }
            Blocked::NoAddress => "the host has no address",
        })
    }
}

impl std::error::Error for Blocked {}

/// The special-purpose IPv4 ranges (RFC 6890 and successors) deliveries never reach.
const V4: &[(&str, AddressClass)] = &[
    ("169.254.169.254/32", AddressClass::Metadata),
    ("0.0.0.0/8", AddressClass::Unspecified),
    ("10.0.0.0/8", AddressClass::Private),
    ("100.64.0.0/10", AddressClass::SharedCgnat),
    ("127.0.0.0/8", AddressClass::Loopback),
    ("169.254.0.0/16", AddressClass::LinkLocal),
    ("172.16.0.0/12", AddressClass::Private),
    ("192.0.0.0/24", AddressClass::Reserved),
    ("192.0.2.0/24", AddressClass::Documentation),
    ("192.88.99.0/24", AddressClass::Reserved),
    ("192.168.0.0/16", AddressClass::Private),
    ("198.18.0.0/15", AddressClass::Benchmarking),
    ("198.51.100.0/24", AddressClass::Documentation),
    ("203.0.113.0/24", AddressClass::Documentation),
    ("224.0.0.0/4", AddressClass::Multicast),
    ("255.255.255.255/32", AddressClass::Broadcast),
    ("240.0.0.0/4", AddressClass::Reserved),
];

/// Special ranges inside (or instead of) IPv6 global unicast. Ranges that embed IPv4 are
/// handled before this table.
const V6: &[(&str, AddressClass)] = &[
    ("fd00:ec2::254/128", AddressClass::Metadata),
    ("::/128", AddressClass::Unspecified),
    ("::1/128", AddressClass::Loopback),
    ("fc00::/7", AddressClass::UniqueLocal),
    ("fe80::/10", AddressClass::LinkLocal),
    ("fec0::/10", AddressClass::SiteLocal),
    ("ff00::/8", AddressClass::Multicast),
    ("2001:db8::/32", AddressClass::Documentation),
    ("3fff::/20", AddressClass::Documentation),
    ("2001:2::/48", AddressClass::Benchmarking),
    // IETF protocol assignments (Teredo, 2001::/32, is unpacked before this table).
    ("2001::/23", AddressClass::Reserved),
];

fn in_v4(ip: Ipv4Addr, net: &str) -> bool {
    net.parse::<Ipv4Net>().is_ok_and(|n| n.contains(&ip))
}

fn in_v6(ip: Ipv6Addr, net: &str) -> bool {
    net.parse::<Ipv6Net>().is_ok_and(|n| n.contains(&ip))
}

/// The class of a special IPv4 address; `None` for a public one.
pub fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    V4.iter().find(|(net, _)| in_v4(ip, net)).map(|(_, c)| *c)
}

/// Every IPv4 address an IPv6 address carries (empty when it carries none).
pub fn embedded_v4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    // IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96 and
    // IPv4-compatible ::/96 (but not :: and ::1 themselves).
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    let translated = s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0;
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    let compatible = s[..6] == [0; 6] && u32::from(tail) > 1;
    if mapped || translated || nat64 || compatible {
        return vec![tail];
    }
    // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
    if s[0] == 0x2002 {
        return vec![Ipv4Addr::new(o[2], o[3], o[4], o[5])];
    }
    // Teredo 2001:0:SSSS:SSSS:flags:port:CCCC:CCCC — the server, and the client (inverted).
    if s[0] == 0x2001 && s[1] == 0 {
        let server = Ipv4Addr::new(o[4], o[5], o[6], o[7]);
        let client = Ipv4Addr::new(!o[12], !o[13], !o[14], !o[15]);
        return vec![server, client];
    }
    vec![]
}

/// The class of a special IPv6 address; `None` for a global unicast one.
pub fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    let carried = embedded_v4(ip);
    if !carried.is_empty() {
        return carried.into_iter().find_map(classify_v4);
    }
    if let Some((_, c)) = V6.iter().find(|(net, _)| in_v6(ip, net)) {
        return Some(*c);
    }
    if !in_v6(ip, "2000::/3") {
        return Some(AddressClass::NotGlobalUnicast);
    }
    None
}

pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// The egress rules of one deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EgressPolicy {
    local_mode: bool,
}

impl EgressPolicy {
    pub fn new(local_mode: bool) -> Self {
        Self { local_mode }
    }

    /// An address deliveries may connect to.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Blocked> {
        match classify(ip) {
            None => Ok(()),
            Some(AddressClass::Loopback) if self.local_mode => Ok(()),
            Some(class) => Err(Blocked::Address(class)),
        }
    }

    /// Every address a host resolved to must be allowed (one bad answer refuses them all).
    pub fn check_resolved(&self, addrs: &[IpAddr]) -> Result<(), Blocked> {
        if addrs.is_empty() {
            return Err(Blocked::NoAddress);
        }
        addrs.iter().try_for_each(|ip| self.check_ip(*ip))
    }

    /// Syntactic URL rules: absolute, `https` (or `http` in local mode), a host, no
    /// credentials, no internal names, and, for literal IP hosts, an allowed address.
    pub fn check_url(&self, raw: &str) -> Result<url::Url, Blocked> {
        let url = url::Url::parse(raw).map_err(|_| Blocked::Malformed)?;
        match url.scheme() {
            "https" => {}
            "http" if self.local_mode => {}
            _ => return Err(Blocked::Scheme),
        }
        if raw.len() > 2048 || !url.username().is_empty() || url.password().is_some() {
            return Err(Blocked::Credentials);
        }
        match url.host() {
            None => return Err(Blocked::NoHost),
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip))?,
            Some(url::Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                let internal =
                    d == "localhost" || d.ends_with(".localhost") || d.ends_with(".internal");
                if internal && !self.local_mode {
                    return Err(Blocked::InternalName);
                }
            }
        }
        Ok(url)
    }
}

/// Syntactic URL rules (see [`EgressPolicy::check_url`]), as the admin API's `400`.
pub fn check_url(raw: &str, local_mode: bool) -> crate::error::Result<String> {
    EgressPolicy::new(local_mode)
        .check_url(raw)
        .map(|u| u.to_string())
        .map_err(|b| Error::bad_url(b.to_string()))
}

/// The address rules above (see [`EgressPolicy::check_ip`]), as the admin API's `400`.
pub fn check_ip(ip: IpAddr, local_mode: bool) -> crate::error::Result<()> {
    EgressPolicy::new(local_mode)
        .check_ip(ip)
        .map_err(|b| Error::bad_url(b.to_string()))
}

#[cfg(test)]
#[path = "egress_tests.rs"]
mod tests;
