//! Who is asking, one function each (design.md, section 6): the client's address, behind
//! the proxies the operator trusts, and the key that rate limits count by. Login limits,
//! route limits and logs all use these.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap};

use crate::api::caller::bearer_token;
use crate::config::TrustedProxies;
use crate::limits::RateKey;
use crate::state::AppState;

/// The client's address: the TCP peer, unless the peer is a trusted proxy; then the
/// right-most address of `Forwarded` (or, without it, `X-Forwarded-For`) that is not a
/// trusted proxy. Forwarding headers from any other peer are ignored, so nobody can pick their
/// own address (and dodge a limit) by sending them.
pub fn client_address(req: &HttpRequest, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let hops = forwarded_for(req.headers());
    // Right to left: each hop was added by the proxy in front of it; the first one that is not
    // a proxy of ours is the client. If they all are, the left-most is as far as we can see.
    let client = hops
        .iter()
        .rev()
        .find(|hop| !trusted.contains(**hop))
        .or(hops.first())
        .copied();
    Some(client.unwrap_or(peer))
}

/// The addresses a request passed through, from `Forwarded` (RFC 7239) or `X-Forwarded-For`,
/// client first. Obfuscated or unknown hops (`for=_hidden`, `unknown`) are skipped.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let forwarded: Vec<&str> = headers
        .get_all(header::FORWARDED)
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .flat_map(|element| element.split(';'))
            .filter_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(value))
                    .flatten()
            })
            .collect();
    }
    headers
        .get_all(header::X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(parse_node)
        .collect()
}

/// `192.0.2.1`, `"[2001:db8::1]:4711"`, `198.51.100.7:8080`.
fn parse_node(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    value
        .parse::<IpAddr>()
        .ok()
        .or_else(|| value.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            value
                .strip_prefix('[')
                .and_then(|v| v.split(']').next())
                .and_then(|v| v.parse().ok())
        })
}

/// The rate-limit key of a request: the user of a valid access token (checked by signature
/// only: no database read), a personal access token or identity provider's token verified
/// lately, otherwise the client address.
pub fn rate_key(req: &HttpRequest, state: &AppState) -> Option<RateKey> {
    let presented = bearer_token(req).and_then(Result::ok);
    if let Some(token) = &presented {
        if !crate::auth::api_token::is_personal(token)
            && let Some(id) = state
                .tokens()
                .ok()
                .and_then(|keys| keys.verify_access(token).ok())
        {
            return Some(RateKey::User(id));
        }
        let hash = crate::auth::token::secret_token_hash(token);
        if state.limits.verified_tokens.get(&hash).is_some() {
            return Some(RateKey::Token(hash));
        }
    }
    client_address(req, &state.config.trusted_proxies).map(RateKey::Address)
}

/// The API's origin as the client sees it (`https://api.example`), for links the API makes
/// to itself (a feed's self link, sitemap files): the scheme and host a trusted proxy
/// forwarded, else the `Host` the client sent, over plain HTTP (Folio itself does not
/// terminate TLS).
pub fn public_origin(req: &HttpRequest, trusted: &TrustedProxies) -> String {
    let peer_trusted = req
        .peer_addr()
        .is_some_and(|peer| trusted.contains(peer.ip()));
    let (scheme, host) = if peer_trusted {
        let info = req.connection_info();
        (info.scheme().to_owned(), info.host().to_owned())
    } else {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        ("http".to_owned(), host.unwrap_or_default())
    };
    let scheme = if scheme == "https" { "https" } else { "http" };
    let host_is_plain = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    let host = if host_is_plain {
        host
    } else {
        req.app_config().host().to_owned()
    };
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn address(peer: &str, headers: &[(&str, &str)], trusted: &str) -> Option<IpAddr> {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        client_address(&req.to_http_request(), &trusted.parse().unwrap())
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let xff = [("x-forwarded-for", "203.0.113.9, 10.0.0.5")];
        assert_eq!(
            address("198.51.100.1:1", &xff, ""),
            "198.51.100.1".parse().ok()
        );
        assert_eq!(
            address("10.0.0.2:1", &xff, "10.0.0.0/8"),
            "203.0.113.9".parse().ok()
        );
        let spoofed = [("x-forwarded-for", "1.2.3.4, 203.0.113.9")];
        assert_eq!(
            address("10.0.0.2:1", &spoofed, "10.0.0.0/8"),
            "203.0.113.9".parse().ok(),
            "the right-most untrusted hop, not what the client wrote first"
        );
        let forwarded = [(
            "forwarded",
            "for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.9",
        )];
        assert_eq!(
            address("10.0.0.2:1", &forwarded, "10.0.0.0/8"),
            "2001:db8::7".parse().ok()
        );
        assert_eq!(
            address("10.0.0.2:1", &[], "10.0.0.0/8"),
            "10.0.0.2".parse().ok()
        );
    }
}
