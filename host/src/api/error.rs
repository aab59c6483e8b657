//! JSON errors of the API: `{"error": {"status", "parameter", "message"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An API error with its status, the parameter at fault (if any) and a message saying what to
/// change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The query parameter or path segment at fault.
    pub parameter: Option<String>,
    /// The failure and how to fix it.
    pub message: String,
}

impl ApiError {
    /// Creates a 400 error naming `parameter`.
    pub fn bad_parameter(parameter: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            parameter: Some(parameter.to_string()),
            message: message.into(),
        }
    }

    /// Creates a 404 error.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            parameter: None,
            message: message.into(),
        }
    }

    /// Creates the 401 error of a missing or wrong bearer token.
    pub fn unauthorized() -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            parameter: None,
            message: "missing or invalid bearer token: send `Authorization: Bearer <token>`".into(),
        }
    }

    /// Creates a 500 or 503 error from a failure of the server.
    pub fn internal(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            parameter: None,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), message = %self.message, "request failed");
        }
        let body = serde_json::json!({
            "error": {
                "status": self.status.as_u16(),
                "parameter": self.parameter,
                "message": self.message,
            }
        });
        (self.status, Json(body)).into_response()
    }
}
