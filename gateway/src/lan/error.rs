//! Refusals, as JSON the API and the console share.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pathway_shared::store::StoreError;
use serde_json::json;

/// A refusal, as JSON: `{"error": "...", "field": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    pub(super) status: StatusCode,
    pub(super) message: String,
    pub(super) field: Option<String>,
    /// The message as a console string and its arguments, so a page can say it in the staff
    /// member's language; `message` is the English.
    pub(super) words: Option<(&'static str, Vec<(&'static str, String)>)>,
    /// Seconds to wait before trying again (a `Retry-After` header).
    pub(super) retry_after: Option<i64>,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            field: None,
            words: None,
            retry_after: None,
        }
    }

    /// A refusal of `field` said by the console string `key` with `args` (English for the API).
    pub(super) fn field_words(
        field: &str,
        key: &'static str,
        args: Vec<(&'static str, String)>,
    ) -> ApiError {
        let refs: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: super::messages::tf(super::messages::Lang::En, key, &refs),
            field: Some(field.to_owned()),
            words: Some((key, args)),
            retry_after: None,
        }
    }

    pub(super) fn retry_after(mut self, seconds: i64) -> ApiError {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub(super) fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    pub(super) fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
            field: Some(field.to_owned()),
            words: None,
            retry_after: None,
        }
    }

    pub(super) fn forbidden(message: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        if let StoreError::NotFound(id) = &e {
            let message = match id.as_str().strip_prefix("case/") {
                Some(person) => format!("no case file for person `{person}` at this facility"),
                None => format!("`{id}` is not at this facility"),
            };
            return ApiError::new(StatusCode::NOT_FOUND, message);
        }
        if let StoreError::Exists(id) = &e {
            return ApiError::new(
                StatusCode::CONFLICT,
                format!("`{id}` was made by someone else a moment ago; try again"),
            );
        }
        tracing::error!(error = %e, "store failure behind a LAN request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the gateway's store failed; nothing was saved",
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        let status = match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        // serde's message names the field: "missing field `text`", "unknown variant `x`".
        ApiError::new(status, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        // serde's message starts with the parameter: "page: invalid digit found in string".
        let text = r.body_text();
        let detail = text
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&text);
        let field = detail
            .split_once(": ")
            .map(|(f, _)| f)
            .filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: detail.to_owned(),
            field: field.map(str::to_owned),
            words: None,
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(f) = self.field {
            body["field"] = json!(f);
        }
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        resp
    }
}

pub(super) type ApiResult<T> = Result<T, ApiError>;
