//! What both web front ends (the gateway's console, the hub's dashboard) check of a browser's
//! request.

use axum::http::{HeaderMap, HeaderValue, header};

/// The host a header's URL names (`https://host:port/path` → `host:port`).
fn url_host(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    let rest = s.split_once("://")?.1;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// Whether a cookie-borne post came from this service's own pages.
pub fn same_site(headers: &HeaderMap) -> bool {
    let named = headers.get(header::ORIGIN).or(headers.get(header::REFERER));
    // Neither: not a browser's cross-site form post (browsers send Origin on every POST).
    let Some(from) = named else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    host.is_some() && url_host(from) == host
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_this_sites_pages_post_with_the_cookie() {
        let host = (header::HOST, "gw.local:8443");
        assert!(same_site(&headers(&[
            host.clone(),
            (header::ORIGIN, "https://gw.local:8443")
        ])));
        assert!(!same_site(&headers(&[
            host.clone(),
            (header::ORIGIN, "https://gw.local:9000")
        ])));
        assert!(!same_site(&headers(&[
            host.clone(),
            (header::ORIGIN, "null")
        ])));
        assert!(same_site(&headers(&[
            host.clone(),
            (header::REFERER, "https://gw.local:8443/people/x")
        ])));
        assert!(!same_site(&headers(&[
            host.clone(),
            (header::REFERER, "https://evil.local/")
        ])));
        assert!(!same_site(&headers(&[(
            header::ORIGIN,
            "https://gw.local:8443"
        )])));
    }
}
