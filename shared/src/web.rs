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
