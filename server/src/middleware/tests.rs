//! Unit tests of the request path's pure parts: client address, origins, methods.

use super::*;

fn h(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
    let mut m = http::HeaderMap::new();
    for (k, v) in pairs {
        m.insert(*k, HeaderValue::from_static(v));
    }
    m
}

#[test]
fn origin_rules() {
    let o = "http://127.0.0.1:3000";
    assert!(same_origin(&h(&[("origin", "http://127.0.0.1:3000")]), o).is_ok());
    assert!(same_origin(&h(&[("origin", "http://evil.example")]), o).is_err());
    assert!(same_origin(&h(&[]), o).is_err());
    assert!(same_origin(
        &h(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://127.0.0.1:3000")
        ]),
        o
    )
    .is_err());
    assert!(same_origin(
        &h(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://localhost:3000"),
            ("host", "localhost:3000")
        ]),
        o
    )
    .is_ok());
    assert!(same_origin(
        &h(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://evil:3000"),
            ("host", "localhost:3000")
        ]),
        o
    )
    .is_err());
    assert!(same_origin(
        &h(&[
            ("sec-fetch-site", "same-site"),
            ("origin", "http://127.0.0.1:3000")
        ]),
        o
    )
    .is_err());
    // Compared after normalisation: default ports and case do not matter, paths do not
    // sneak in, and a lookalike host or an opaque origin is refused.
    let tls = "https://steward.example";
    for ok in [
        "https://steward.example",
        "https://STEWARD.example",
        "https://steward.example:443",
    ] {
        assert!(same_origin(&h(&[("origin", ok)]), tls).is_ok(), "{ok}");
    }
    for bad in [
        "https://steward.example:8443",
        "http://steward.example",
        "https://steward.example.evil",
        "https://evil.example@steward.example",
        "null",
    ] {
        assert!(same_origin(&h(&[("origin", bad)]), tls).is_err(), "{bad}");
    }
    assert!(same_origin(
        &h(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://localhost"),
            ("host", "localhost:80")
        ]),
        o
    )
    .is_ok());
}

fn xff(v: &[&'static str]) -> http::HeaderMap {
    let mut m = http::HeaderMap::new();
    for x in v {
        m.append("x-forwarded-for", HeaderValue::from_static(x));
    }
    m
}

#[test]
fn client_address_believes_only_trusted_proxies() {
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let trusted: Vec<ipnet::IpNet> =
        vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    // No trusted proxies: the peer, whatever the header says.
    assert_eq!(
        client_address(Some(ip("10.1.2.3")), &xff(&["203.0.113.9"]), &[]),
        Some(ip("10.1.2.3"))
    );
    // An untrusted peer cannot claim another address.
    assert_eq!(
        client_address(Some(ip("198.51.100.7")), &xff(&["203.0.113.9"]), &trusted),
        Some(ip("198.51.100.7"))
    );
    // Behind a trusted proxy: the right-most hop it did not add itself.
    assert_eq!(
        client_address(Some(ip("10.0.0.2")), &xff(&["203.0.113.9"]), &trusted),
        Some(ip("203.0.113.9"))
    );
    // A client's forged hops to the left are ignored; chains of trusted proxies are walked.
    assert_eq!(
        client_address(
            Some(ip("10.0.0.2")),
            &xff(&["1.1.1.1, 203.0.113.9", "10.0.0.5"]),
            &trusted
        ),
        Some(ip("203.0.113.9"))
    );
    assert_eq!(
        client_address(Some(ip("::1")), &xff(&["[2001:db8::1]:443"]), &trusted),
        Some(ip("2001:db8::1"))
    );
    // Garbage where the proxy writes: the last trusted hop, never the garbage.
    assert_eq!(
        client_address(
            Some(ip("10.0.0.2")),
            &xff(&["203.0.113.9, not-an-ip"]),
            &trusted
        ),
        Some(ip("10.0.0.2"))
    );
    // IPv4 peers seen through a dual-stack socket are still IPv4.
    assert_eq!(
        client_address(
            Some(ip("::ffff:10.0.0.2")),
            &xff(&["203.0.113.9"]),
            &trusted
        ),
        Some(ip("203.0.113.9"))
    );
    // No header behind a trusted proxy: the proxy.
    assert_eq!(
        client_address(Some(ip("10.0.0.2")), &http::HeaderMap::new(), &trusted),
        Some(ip("10.0.0.2"))
    );
}

#[test]
fn method_labels_are_a_fixed_set() {
    assert_eq!(method_label(&Method::GET), "GET");
    for m in ["FOO", "get", "XXXXXXXXXXXXXXXXXXXXXXXXXXXX", "PROPFIND"] {
        assert_eq!(
            method_label(&Method::from_bytes(m.as_bytes()).unwrap()),
            "OTHER"
        );
    }
}
