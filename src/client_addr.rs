//! Who is asking, by address: the peer, or — when the peer is a reverse proxy the site trusts —
//! the client the proxy names in `X-Forwarded-For`. Per-address limits (sign-in attempts, live
//! connections) count clients, not the proxy.
use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRef, FromRequestParts},
    http::{request::Parts, HeaderMap},
};
use ipnet::IpNet;

use crate::state::AppState;

/// The client's address, as far as the site can tell.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The client's address for a request from `peer` with these headers: the right-most address
/// of `X-Forwarded-For` that is not a trusted proxy (what a client writes on the left can be
/// anything; each trusted proxy appends the address it saw). Untrusted peers' headers are
/// ignored.
pub(crate) fn client_of(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    // From the right: each trusted proxy wrote the address it saw. Stop at the first one that
    // is not a proxy of ours, or at anything unreadable (written by whoever is to its left).
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Ok(ip) = entry.trim().parse::<IpAddr>() else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(addr)| addr.ip());
        Ok(ClientAddr(client_of(peer, &parts.headers, &state.settings.trusted_proxies)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("x-forwarded-for", value.parse().expect("a header value"));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client() {
        let trusted: Vec<IpNet> =
            vec!["127.0.0.1/32".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        let forwarded = headers(&["203.0.113.5"]);
        assert_eq!(client_of(ip("127.0.0.1"), &forwarded, &trusted), ip("203.0.113.5"));
        assert_eq!(client_of(ip("198.51.100.7"), &forwarded, &trusted), ip("198.51.100.7"));
        assert_eq!(client_of(ip("127.0.0.1"), &forwarded, &[]), ip("127.0.0.1"));
        assert_eq!(client_of(ip("127.0.0.1"), &HeaderMap::new(), &trusted), ip("127.0.0.1"));
    }

    #[test]
    fn what_a_client_writes_on_the_left_is_not_believed() {
        let trusted: Vec<IpNet> =
            vec!["127.0.0.1/32".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        // The client claims 1.2.3.4; the outer proxy saw 203.0.113.5, the inner one 10.0.0.2.
        let chain = headers(&["1.2.3.4, 203.0.113.5", "10.0.0.2"]);
        assert_eq!(client_of(ip("127.0.0.1"), &chain, &trusted), ip("203.0.113.5"));
        // Garbage stops the reading: what is left of it was written by the client.
        let garbage = headers(&["1.2.3.4, pas-une-adresse, 203.0.113.5"]);
        assert_eq!(client_of(ip("127.0.0.1"), &garbage, &trusted), ip("203.0.113.5"));
        let garbage = headers(&["1.2.3.4, pas-une-adresse, 10.0.0.2"]);
        assert_eq!(client_of(ip("127.0.0.1"), &garbage, &trusted), ip("10.0.0.2"));
        // Every address is a proxy of ours: the left-most one is the client.
        let inside = headers(&["10.0.0.3, 10.0.0.2"]);
        assert_eq!(client_of(ip("127.0.0.1"), &inside, &trusted), ip("10.0.0.3"));
        assert_eq!(client_of(ip("::1"), &chain, &["::1/128".parse().unwrap()]), ip("10.0.0.2"));
    }
}
