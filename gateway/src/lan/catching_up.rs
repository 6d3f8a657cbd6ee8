//! While a restored or rebuilt store catches up with the hub, the LAN service asks staff to
//! wait: every request (reads too write the audit trail) would otherwise chain entries onto a
//! tail whose newest entries are still only at the hub.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

const WAIT: &str = "This gateway was restored or rebuilt and is catching up with the national hub. \
It serves staff again as soon as it holds everything (usually a few minutes with a link). \
— เกตเวย์นี้เพิ่งกู้คืนข้อมูลและกำลังซิงก์กับศูนย์กลาง จะกลับมาให้บริการเมื่อได้รับข้อมูลครบ (โดยปกติไม่กี่นาที)";

/// Answers 503 with `Retry-After` while `flag` is up.
pub(crate) async fn refuse_while(flag: Arc<AtomicBool>, req: Request, next: Next) -> Response {
    if !flag.load(Ordering::Acquire) {
        return next.run(req).await;
    }
    let api = req.uri().path().starts_with("/api/");
    let mut resp = if api {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "error": WAIT })),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            WAIT,
        )
            .into_response()
    };
    resp.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
    resp
}
