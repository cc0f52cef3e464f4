//! Tests of the egress policy.

use super::AddressClass as C;
use super::*;

fn class(ip: &str) -> Option<AddressClass> {
    classify(ip.parse().unwrap())
}

#[test]
fn special_ipv4_ranges() {
    for (ip, want) in [
        ("0.0.0.0", C::Unspecified),
        ("0.1.2.3", C::Unspecified),
        ("10.0.0.1", C::Private),
        ("10.255.255.255", C::Private),
        ("100.64.0.1", C::SharedCgnat),
        ("100.127.255.254", C::SharedCgnat),
        ("127.0.0.1", C::Loopback),
        ("127.255.0.9", C::Loopback),
        ("169.254.0.1", C::LinkLocal),
        ("169.254.169.254", C::Metadata),
        ("172.16.0.1", C::Private),
        ("172.31.255.255", C::Private),
        ("192.0.0.8", C::Reserved),
        ("192.0.2.10", C::Documentation),
        ("192.88.99.1", C::Reserved),
        ("192.168.1.1", C::Private),
        ("198.18.0.1", C::Benchmarking),
        ("198.19.255.255", C::Benchmarking),
        ("198.51.100.7", C::Documentation),
        ("203.0.113.9", C::Documentation),
        ("224.0.0.1", C::Multicast),
        ("239.255.255.250", C::Multicast),
        ("240.0.0.1", C::Reserved),
        ("255.255.255.255", C::Broadcast),
    ] {
        assert_eq!(class(ip), Some(want), "{ip}");
    }
    for ip in [
        "1.1.1.1",
        "8.8.8.8",
        "93.184.216.34",
        "100.63.255.255",
        "100.128.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.255",
    ] {
        assert_eq!(class(ip), None, "{ip}");
    }
}

#[test]
fn ipv6_is_global_unicast_only() {
    for (ip, want) in [
        ("::", C::Unspecified),
        ("::1", C::Loopback),
        ("fc00::1", C::UniqueLocal),
        ("fd12:3456::1", C::UniqueLocal),
        ("fd00:ec2::254", C::Metadata),
        ("fe80::1", C::LinkLocal),
        ("febf::1", C::LinkLocal),
        ("fec0::1", C::SiteLocal),
        ("feff::1", C::SiteLocal),
        ("ff02::1", C::Multicast),
        ("2001:db8::1", C::Documentation),
        ("3fff::1", C::Documentation),
        ("2001:2::1", C::Benchmarking),
        ("2001:10::1", C::Reserved),
        ("100::1", C::NotGlobalUnicast),
        ("4000::1", C::NotGlobalUnicast),
        ("64:ff9b:1::1", C::NotGlobalUnicast),
    ] {
        assert_eq!(class(ip), Some(want), "{ip}");
    }
    for ip in ["2606:4700:4700::1111", "2a00:1450:4001::200e", "2600::1"] {
        assert_eq!(class(ip), None, "{ip}");
    }
}

#[test]
fn embedded_ipv4_is_checked_in_every_form() {
    for (ip, want) in [
        ("::ffff:127.0.0.1", Some(C::Loopback)),
        ("::ffff:10.0.0.1", Some(C::Private)),
        ("::ffff:169.254.169.254", Some(C::Metadata)),
        ("::ffff:8.8.8.8", None),
        // IPv4-compatible ::a.b.c.d
        ("::127.0.0.1", Some(C::Loopback)),
        ("::10.1.2.3", Some(C::Private)),
        ("::8.8.8.8", None),
        // IPv4-translated ::ffff:0:a.b.c.d
        ("::ffff:0:127.0.0.1", Some(C::Loopback)),
        ("::ffff:0:192.168.0.1", Some(C::Private)),
        ("::ffff:0:8.8.8.8", None),
        // NAT64 64:ff9b::/96
        ("64:ff9b::127.0.0.1", Some(C::Loopback)),
        ("64:ff9b::a9fe:a9fe", Some(C::Metadata)),
        ("64:ff9b::8.8.8.8", None),
        // 6to4 2002:AABB:CCDD::/48
        ("2002:7f00:1::1", Some(C::Loopback)),
        ("2002:a9fe:a9fe::1", Some(C::Metadata)),
        ("2002:c612:1::1", Some(C::Benchmarking)),
        ("2002:808:808::1", None),
        // Teredo: server 65.54.227.120, client !(0x7fffffff ^ ...) — both checked.
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", Some(C::Loopback)),
        ("2001:0:0a00:0001:8000:63bf:f7f7:f7f7", Some(C::Private)),
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", None),
    ] {
        assert_eq!(class(ip), want, "{ip}");
    }
}

#[test]
fn local_mode_allows_loopback_only() {
    let local = EgressPolicy::new(true);
    let deployed = EgressPolicy::new(false);
    for ip in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
        let ip: IpAddr = ip.parse().unwrap();
        assert!(local.check_ip(ip).is_ok(), "{ip}");
        assert_eq!(
            deployed.check_ip(ip),
            Err(Blocked::Address(C::Loopback)),
            "{ip}"
        );
    }
    assert!(local.check_ip("10.0.0.1".parse().unwrap()).is_err());
    assert!(local.check_url("http://127.0.0.1:8080/hook").is_ok());
    assert!(local.check_url("http://localhost:8080/hook").is_ok());
    assert_eq!(
        local.check_url("http://10.0.0.1/"),
        Err(Blocked::Address(C::Private))
    );
}

#[test]
fn urls() {
    let p = EgressPolicy::new(false);
    assert!(p.check_url("https://hooks.slack.com/services/x").is_ok());
    assert!(p.check_url("https://[2606:4700:4700::1111]/x").is_ok());
    for (url, want) in [
        ("http://example.com/", Blocked::Scheme),
        ("ftp://x.com", Blocked::Scheme),
        ("not a url", Blocked::Malformed),
        ("https://user:pw@example.com/", Blocked::Credentials),
        ("https://localhost/", Blocked::InternalName),
        ("https://db.internal/", Blocked::InternalName),
        ("https://127.0.0.1/", Blocked::Address(C::Loopback)),
        ("https://2130706433/", Blocked::Address(C::Loopback)),
        ("https://0x7f.1/", Blocked::Address(C::Loopback)),
        ("https://[::127.0.0.1]/", Blocked::Address(C::Loopback)),
        ("https://[2002:7f00:1::1]/", Blocked::Address(C::Loopback)),
        ("https://[fec0::1]/", Blocked::Address(C::SiteLocal)),
        ("https://198.18.0.1/", Blocked::Address(C::Benchmarking)),
        ("https://[fd00:ec2::254]/", Blocked::Address(C::Metadata)),
    ] {
        assert_eq!(p.check_url(url).map(|_| ()), Err(want), "{url}");
    }
}

#[test]
fn resolved_addresses_all_count() {
    let p = EgressPolicy::new(false);
    let public: IpAddr = "93.184.216.34".parse().unwrap();
    let private: IpAddr = "10.0.0.1".parse().unwrap();
    assert!(p.check_resolved(&[public]).is_ok());
    assert!(p.check_resolved(&[public, private]).is_err());
    assert_eq!(p.check_resolved(&[]), Err(Blocked::NoAddress));
}

#[test]
fn urls_as_admin_errors() {
    assert!(check_url("https://hooks.slack.com/services/x", false).is_ok());
    for bad in [
        "http://example.com/",
        "ftp://x.com",
        "not a url",
        "https://user:pw@example.com/",
        "https://127.0.0.1/",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest",
        "https://[::1]/",
        "https://localhost/",
        "https://[::ffff:10.0.0.1]/",
        "https://100.64.0.1/",
        "https://[fd00:ec2::254]/",
    ] {
        assert!(check_url(bad, false).is_err(), "{bad}");
    }
    assert!(check_url("http://127.0.0.1:8080/hook", true).is_ok());
    assert!(check_url("http://10.0.0.1/", true).is_err());
}
