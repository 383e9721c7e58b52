//! The SSRF guard: the one place that decides which addresses an outbound
//! request may reach. Every request Hearth makes to another server (actor
//! and object fetches, WebFinger, NodeInfo, deliveries, domain lists, the
//! crisis webhook) goes through the one client built in `context`, and that
//! client carries both halves of this guard:
//!
//! ```text
//! request ──▶ GuardLayer (every request, every redirect hop: the client follows none)
//!               scheme http(s); IP literal ─▶ is_public?; "localhost", "*.localhost" refused
//!         ──▶ reqwest connector ──▶ Resolver (names only, at connect time)
//!               every address the name resolves to ─▶ is_public?
//! ```
//!
//! The resolver checks the addresses at the moment of connecting, so a
//! name that resolves to a public address when checked and to a private
//! one a second later (DNS rebinding) is still refused. IP literals never
//! reach a resolver, so the layer checks them; the URL parser has already
//! turned every spelling (`2130706433`, `0x7f.1`, `127.1`, `[::ffff:7f00:1]`)
//! into the address it means.
//!
//! Relaxed in test mode only (peers on loopback ports), and for the names
//! the operator lists in `federation.allow_private_hosts`, each on its one
//! port: a host on the operator's own network (a list or webhook server).
//! A redirect from such a host to anywhere else is judged afresh.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Why the guard refused an address. Found again in an error's causes by
/// [`refusal`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("address refused: {0}")]
pub struct Refused(pub String);

/// What the guard lets through.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// `false` in test mode: everything is let through.
    enforce: bool,
    /// Names (lower case, without a trailing dot) that may resolve to
    /// private addresses, each with the one port it may be reached on.
    allowed: Vec<(String, u16)>,
}

impl Guard {
    /// A guard that refuses every non-public address, except the names in
    /// `allowed` (`host:port`; see [`parse_allowed`]).
    pub fn new(enforce: bool, allowed: &[String]) -> Result<Guard, String> {
        let allowed = allowed
            .iter()
            .map(|entry| parse_allowed(entry))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Guard { enforce, allowed })
    }

    /// Whether the guard refuses anything at all (not in test mode).
    pub fn enforced(&self) -> bool {
        self.enforce
    }

    fn allows_name(&self, host: &str) -> bool {
        let host = normalise(host);
        self.allowed.iter().any(|(name, _)| *name == host)
    }

    /// The check made on every request before it leaves: the scheme, an
    /// IP literal's address, names that mean this machine, and the port of
    /// a name the operator allowed. The addresses a name resolves to are
    /// checked when connecting ([`Resolver`]).
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        if !self.enforce {
            return Ok(());
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused(format!("{url}: only http and https are fetched")));
        }
        match url.host() {
            None => Err(Refused(format!("{url} names no host"))),
            Some(Host::Ipv4(ip)) => check_ip(url.as_str(), IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => check_ip(url.as_str(), IpAddr::V6(ip)),
            Some(Host::Domain(name)) => {
                let name = normalise(name);
                let port = url.port_or_known_default().unwrap_or(0);
                if let Some((_, allowed_port)) = self.allowed.iter().find(|(n, _)| *n == name) {
                    return if *allowed_port == port {
                        Ok(())
                    } else {
                        Err(Refused(format!(
                            "{name} is allowed on port {allowed_port} only, not {port}"
                        )))
                    };
                }
                // RFC 6761: `localhost` and every name under it mean this
                // machine, whatever a resolver answers.
                if name == "localhost" || name.ends_with(".localhost") {
                    return Err(Refused(format!("{name} is this machine")));
                }
                Ok(())
            }
        }
    }

    /// [`check_url`](Self::check_url), then resolve a name now and check
    /// its addresses: for callers that want to know before sending that
    /// an address is refused for good (the delivery queue fails such a
    /// delivery instead of retrying it). `Ok(Err(_))`: the name does not
    /// resolve just now.
    pub async fn check_resolved(&self, url: &Url) -> Result<Result<(), std::io::Error>, Refused> {
        self.check_url(url)?;
        let Some(Host::Domain(name)) = url.host() else {
            return Ok(Ok(()));
        };
        if !self.enforce || self.allows_name(name) {
            return Ok(Ok(()));
        }
        match tokio::net::lookup_host((normalise(name).as_str(), 0)).await {
            Ok(addrs) => {
                for addr in addrs {
                    check_ip(name, addr.ip())?;
                }
                Ok(Ok(()))
            }
            Err(err) => Ok(Err(err)),
        }
    }
}

/// `host:port`, as `federation.allow_private_hosts` names an allowed host.
/// The port is required: the allowance is for one service, not a machine.
pub fn parse_allowed(entry: &str) -> Result<(String, u16), String> {
    let (host, port) = entry
        .trim()
        .rsplit_once(':')
        .ok_or_else(|| format!("{entry:?} must be host:port"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("{entry:?}: {port:?} is not a port"))?;
    let host = normalise(host);
    let valid = !host.is_empty()
        && host.parse::<IpAddr>().is_err()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !valid {
        return Err(format!(
            "{entry:?}: name a host by its name (letters, digits, dots, dashes), not an address"
        ));
    }
    Ok((host, port))
}

fn normalise(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn check_ip(what: &str, ip: IpAddr) -> Result<(), Refused> {
    if is_public(ip) {
        Ok(())
    } else {
        Err(Refused(format!(
            "{what} is the private or local address {ip}, which is refused"
        )))
    }
}

/// Whether `ip` is an address on the public internet: not this machine,
/// not a private, shared, link-local, multicast, reserved or documentation
/// range (IANA's special-purpose address registries, RFC 6890), and not an
/// IPv6 spelling of such an IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0 // "this network"; 0.0.0.0 reaches this machine
        || a == 10 // private
        || (a == 100 && (64..128).contains(&b)) // shared (carrier-grade NAT)
        || a == 127 // loopback
        || (a == 169 && b == 254) // link-local, cloud metadata services
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relays (deprecated)
        || (a == 192 && b == 168) // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    !special
}

/// Only global unicast (2000::/3) is public, less its special blocks; and
/// the NAT64 prefix when the IPv4 address in it is public. Every other
/// IPv6 way of writing an IPv4 address (mapped, compatible, 6to4, Teredo)
/// is refused whole.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // 64:ff9b::/96, RFC 6052: a NAT64 gateway reaches the IPv4 address in
    // the last 32 bits, so that address decides.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    let global_unicast = (s[0] & 0xe000) == 0x2000;
    let special = (s[0] == 0x2001 && (s[1] < 0x200 || s[1] == 0xdb8)) // IETF protocol assignments and Teredo; documentation
        || s[0] == 0x2002 // 6to4
        || (s[0] == 0x3fff && s[1] < 0x1000); // documentation
    global_unicast && !special
}

/// The client's DNS resolver: a name is reached only when every address
/// it resolves to is public (or it is one the operator allowed).
pub struct Resolver(pub Arc<Guard>);

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.0.clone();
        let host = normalise(name.as_str());
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if guard.enforce && !guard.allows_name(&host) {
                for addr in &addrs {
                    check_ip(&host, addr.ip())?;
                }
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(addrs)
        })
    }
}

/// The client middleware that checks every request before it leaves.
pub struct GuardLayer(pub Arc<Guard>);

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for GuardLayer {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        if let Err(refused) = self.0.check_url(request.url()) {
            tracing::info!(url = %request.url(), %refused, "outbound request refused");
            return Err(reqwest_middleware::Error::middleware(refused));
        }
        next.run(request, extensions).await
    }
}

/// The guard's refusal among an outbound error's causes, if it was one.
pub fn refusal(err: &reqwest_middleware::Error) -> Option<Refused> {
    match err {
        reqwest_middleware::Error::Middleware(inner) => inner.downcast_ref::<Refused>().cloned(),
        reqwest_middleware::Error::Reqwest(inner) => {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(inner);
            while let Some(e) = cause {
                if let Some(refused) = e.downcast_ref::<Refused>() {
                    return Some(refused.clone());
                }
                // An I/O error's `source` skips the error it carries.
                if let Some(refused) = e
                    .downcast_ref::<std::io::Error>()
                    .and_then(|io| io.get_ref())
                    .and_then(|inner| inner.downcast_ref::<Refused>())
                {
                    return Some(refused.clone());
                }
                cause = e.source();
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn guard() -> Guard {
        Guard::new(true, &["lists.internal:8443".into()]).unwrap()
    }

    #[test]
    fn private_and_local_addresses_are_not_public() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:7f00:1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::7f00:1",
            "::a01:203",
            "64:ff9b::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "2002:0808:0808::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "100::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} counted as public");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.128.0.1",
            "172.32.0.1",
            "192.0.1.1",
            "198.20.0.1",
            "223.255.255.1",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2606:4700::1111",
            "2a01:4f8::1",
            "2001:4860:4860::8888",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} counted as private");
        }
    }

    /// Every spelling the URL parser accepts is checked as the address it
    /// means.
    #[test]
    fn ip_literals_in_every_spelling_are_refused() {
        let guard = guard();
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://017700000001/",
            "http://0x7f000001/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://0/",
            "http://0.0.0.0:8080/",
            "http://10.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[0:0:0:0:0:ffff:7f00:0001]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:7f00:1::]/",
            "http://[fc00::1]/",
            "http://[fd00:ec2::254]/",
            "http://[fe80::1]/",
            "https://192.168.0.1:8443/",
        ] {
            let parsed = Url::parse(url).unwrap();
            assert!(
                guard.check_url(&parsed).is_err(),
                "{url} (parsed as {parsed}) let through"
            );
        }
        for url in ["https://93.184.216.34/", "https://[2606:4700::1111]/x"] {
            guard.check_url(&Url::parse(url).unwrap()).unwrap();
        }
    }

    #[test]
    fn names_of_this_machine_and_other_schemes_are_refused() {
        let guard = guard();
        for url in [
            "http://localhost/",
            "http://LOCALHOST./",
            "http://localhost:8080/",
            "http://a.b.localhost/",
            "file:///etc/passwd",
            "ftp://example.com/",
            "gopher://example.com/",
        ] {
            assert!(
                guard.check_url(&Url::parse(url).unwrap()).is_err(),
                "{url} let through"
            );
        }
        guard
            .check_url(&Url::parse("https://example.com/x").unwrap())
            .unwrap();
    }

    #[test]
    fn an_allowed_host_is_allowed_on_its_port_only() {
        let guard = guard();
        guard
            .check_url(&Url::parse("https://lists.internal:8443/x").unwrap())
            .unwrap();
        guard
            .check_url(&Url::parse("https://Lists.Internal.:8443/x").unwrap())
            .unwrap();
        for url in [
            "https://lists.internal/x",
            "http://lists.internal/x",
            "https://lists.internal:8444/x",
        ] {
            assert!(
                guard.check_url(&Url::parse(url).unwrap()).is_err(),
                "{url} let through"
            );
        }
        assert!(guard.allows_name("lists.internal"));
        assert!(!guard.allows_name("other.internal"));
    }

    #[test]
    fn allowed_hosts_are_names_with_ports() {
        assert_eq!(
            parse_allowed("Lists.Internal:8443").unwrap(),
            ("lists.internal".into(), 8443)
        );
        for bad in [
            "lists.internal",
            "lists.internal:",
            "lists.internal:0",
            "lists.internal:99999",
            "127.0.0.1:80",
            "[::1]:80",
            ":80",
            "a b:80",
        ] {
            assert!(parse_allowed(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn test_mode_lets_everything_through() {
        let guard = Guard::new(false, &[]).unwrap();
        guard
            .check_url(&Url::parse("http://127.0.0.1:8080/").unwrap())
            .unwrap();
        guard
            .check_url(&Url::parse("http://localhost:8080/").unwrap())
            .unwrap();
    }

    /// `localhost` is in every hosts file; the resolver refuses what it
    /// resolves to even when the layer is not asked (as for a name
    /// reached through a redirect the layer already passed).
    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_when_connecting() {
        let resolver = Resolver(Arc::new(guard()));
        let refused = match resolver.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost resolved through the guard"),
            Err(err) => err,
        };
        assert!(
            refused.downcast_ref::<Refused>().is_some(),
            "not the guard's refusal: {refused}"
        );
        let open = Resolver(Arc::new(Guard::new(false, &[]).unwrap()));
        assert!(open.resolve("localhost".parse().unwrap()).await.is_ok());
        assert!(matches!(
            guard()
                .check_resolved(&Url::parse("http://localhost./").unwrap())
                .await,
            Err(Refused(_))
        ));
    }
}
