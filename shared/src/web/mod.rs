//! What both web front ends (the gateway's LAN service, the hub's administration) share: how
//! they are served and capped (`serve`, `conns`), the log-in guard (`login`), and the check of a
//! browser's request (`same_site`).

use axum::http::{HeaderMap, HeaderValue, header};

pub mod conns;
pub mod login;
mod serve;

pub use serve::{BODY_GRACE, BODY_IDLE, BODY_MIN_RATE, BodyDeadline, body_deadline, serve_https};

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The host a header's URL names (`https://host:port/path` → `host:port`).
fn url_host(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    let rest = s.split_once("://")?.1;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// Whether a request that would change something may go on: one riding on a cookie (no
/// `Authorization` header, which a browser never adds by itself across sites) must come from
/// this service's own pages, whatever its body's type, so neither a form nor a raw-body API call
/// from a page elsewhere can act as the logged-in user.
pub fn write_allowed(method: &axum::http::Method, headers: &HeaderMap) -> bool {
    use axum::http::Method;
    let writes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    !writes || headers.contains_key(header::AUTHORIZATION) || same_site(headers)
}

/// What every answer of both front ends carries: the pages run no scripts and are framed by
/// nobody (Content-Security-Policy), browsers keep to HTTPS and never guess types, and nothing
/// is cached on a shared terminal.
pub fn secure_headers(h: &mut HeaderMap) {
    const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
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
