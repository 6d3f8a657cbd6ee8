//! What every answer of the LAN service carries, and the check every console form post passes:
//! the pages run no scripts and are framed by nobody (Content-Security-Policy), browsers keep
//! to HTTPS and never guess types, and nothing is cached on a shared terminal. A form post that
//! rides on the session cookie must come from a page of this service (its Origin, or failing
//! that its Referer, names this host), so a page elsewhere on the intranet cannot post as a
//! logged-in officer; API calls carry a bearer token, which a browser never adds by itself.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub(crate) use pathway_shared::web::same_site;

/// The first segment of `path` that cannot be an id: ids (people, runs, sessions, referrals)
/// hold only ASCII letters, digits and `- _ . :`, so they never need escaping in a URL.
fn bad_segment(path: &str) -> Option<&str> {
    path.split('/').find(|seg| {
        !seg.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    })
}

pub(super) async fn guard(req: Request, next: Next) -> Response {
    if let Some(seg) = bad_segment(req.uri().path()) {
        let shown: String = seg.chars().take(40).collect();
        return super::ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "`{shown}` in the address is not an id: ids hold only letters, digits and - _ . :"
            ),
        )
        .into_response();
    }
    if !pathway_shared::web::write_allowed(req.method(), req.headers()) {
        return (
            StatusCode::FORBIDDEN,
            "This form was sent from a page outside Pathway, so it was not accepted.",
        )
            .into_response();
    }
    let mut resp = next.run(req).await;
    pathway_shared::web::secure_headers(resp.headers_mut());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_hold_only_ids() {
        assert_eq!(bad_segment("/api/cases/WHK-000001/notes"), None);
        assert_eq!(bad_segment("/sessions/run-1/2026-11/2026-11-20"), None);
        assert_eq!(bad_segment("/"), None);
        assert_eq!(bad_segment("/api/cases/WHK%2F1"), Some("WHK%2F1"));
        assert_eq!(bad_segment("/api/cases/a b"), Some("a b"));
        assert_eq!(bad_segment("/people/ก"), Some("ก"));
    }
}
