//! Which address a request comes from, when proxies stand in front (API.md §6).
//!
//! The client address is the socket's peer. Only when that peer is one of
//! `server.trusted_proxies` is `X-Forwarded-For` believed, and then only as far as the chain of
//! trusted proxies goes: the right-most entry that is not itself a trusted proxy is the client.
//! Entries left of it were written by whoever sent the request and prove nothing. (actix's
//! `realip_remote_addr` takes the left-most entry from anyone, which lets every client choose
//! the address it is throttled under.)

use std::net::IpAddr;

use ipnet::IpNet;

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
}

impl TrustedProxies {
    /// Parses addresses (`10.0.0.7`, `::1`) and CIDR blocks (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, String> {
        let mut networks = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = entry.as_ref().trim();
            let network = match entry.parse::<IpNet>() {
                Ok(network) => network.trunc(),
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(address) => IpNet::from(canonical(address)),
                    Err(_) => {
                        return Err(format!(
                            "{entry:?} is not an IP address or a CIDR block such as 10.0.0.0/8"
                        ));
                    }
                },
            };
            networks.push(network);
        }
        Ok(TrustedProxies { networks })
    }

    /// True when `address` is one of the trusted proxies.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks
            .iter()
            .any(|network| network.contains(&address))
    }

    /// The client's address: `peer`, or, when `peer` is trusted, the right-most address of the
    /// `X-Forwarded-For` values (in the order the headers came) that is not a trusted proxy.
    /// When every entry is trusted, the left-most is the best there is; an entry that is not an
    /// address ends the walk at the last trusted hop before it, since nothing trusted wrote it.
    pub fn client_address<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if self.networks.is_empty() || !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        let entries = forwarded_for.rev().flat_map(|value| value.rsplit(','));
        for entry in entries {
            let Some(address) = parse_forwarded_entry(entry) else {
                return client;
            };
            client = address;
            if !self.contains(address) {
                return address;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`), as some proxies write it.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    if let Ok(socket) = entry.parse::<std::net::SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    None
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, what a dual-stack socket reports) as IPv4.
pub fn canonical(address: IpAddr) -> IpAddr {
    address.to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn addresses_and_cidr_blocks_parse_and_garbage_is_named() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "192.168.1.1", "fd00::/8"]).unwrap();
        assert!(proxies.contains(ip("10.1.2.3")));
        assert!(proxies.contains(ip("192.168.1.1")));
        assert!(!proxies.contains(ip("192.168.1.2")));
        assert!(proxies.contains(ip("fd12::1")));
        assert!(proxies.contains(ip("::ffff:10.0.0.9")), "IPv4-mapped");
        let error = TrustedProxies::parse(&["10.0.0.0/33"]).unwrap_err();
        assert!(error.contains("10.0.0.0/33"), "{error}");
        assert!(TrustedProxies::parse(&["proxy.internal"]).is_err());
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let proxies = TrustedProxies::parse(&["10.0.0.1"]).unwrap();
        let client = proxies.client_address(ip("203.0.113.9"), ["198.51.100.1"].into_iter());
        assert_eq!(client, ip("203.0.113.9"));
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_address(ip("127.0.0.1"), ["198.51.100.1"].into_iter()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_trusted_peer_forwards_the_right_most_untrusted_address() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        let peer = ip("10.0.0.1");
        // The client wrote a fake first entry; the trusted proxies appended the rest.
        let client = proxies.client_address(peer, ["6.6.6.6, 198.51.100.7, 10.0.0.5"].into_iter());
        assert_eq!(client, ip("198.51.100.7"));
        // Several headers read as one list, in order.
        let client =
            proxies.client_address(peer, ["6.6.6.6", "198.51.100.7, 10.0.0.5"].into_iter());
        assert_eq!(client, ip("198.51.100.7"));
        // Ports and brackets as some proxies write them.
        let client = proxies.client_address(peer, ["[2001:db8::7]:443"].into_iter());
        assert_eq!(client, ip("2001:db8::7"));
        let client = proxies.client_address(peer, ["198.51.100.7:5678"].into_iter());
        assert_eq!(client, ip("198.51.100.7"));
    }

    #[test]
    fn missing_all_trusted_or_broken_chains_fall_back_safely() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        let peer = ip("10.0.0.1");
        assert_eq!(proxies.client_address(peer, std::iter::empty()), peer);
        assert_eq!(
            proxies.client_address(peer, ["10.0.0.9, 10.0.0.5"].into_iter()),
            ip("10.0.0.9")
        );
        // Garbage right of the trusted hops: nothing trusted wrote it, so stop before it.
        assert_eq!(
            proxies.client_address(peer, ["198.51.100.7, unknown, 10.0.0.5"].into_iter()),
            ip("10.0.0.5")
        );
        assert_eq!(proxies.client_address(peer, ["garbage"].into_iter()), peer);
    }
}
