//! Reading request bodies: the size limit as an OpenAI-shaped 413, and JSON query bodies
//! where an empty body means every default.

use axum::body::Body;
use axum::http::StatusCode;
use bytes::Bytes;

use crate::errors::ApiError;

/// The whole body, or a 413 `request_too_large` past `limit` bytes.
pub async fn read(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let too_big = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            if too_big {
                Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_request_error",
                    "request_too_large",
                    format!("the request body is larger than the {limit} bytes accepted"),
                ))
            } else {
                Err(ApiError::bad_request("invalid_body", format!("could not read the request body: {e}")))
            }
        }
    }
}

/// Parses a JSON query body; an empty body means every default. A bad body is a 400
/// `invalid_query` naming what is wrong (serde's message carries line and column).
pub fn parse_query<T: Default + serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    let Some(first) = body.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Ok(T::default());
    };
    // serde reads a struct from an array too (its fields in order): a query is an object.
    if *first != b'{' {
        return Err(ApiError::bad_request("invalid_query", format!("invalid {what}: expected a JSON object")));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request("invalid_query", format!("invalid {what}: {e}")))
}
