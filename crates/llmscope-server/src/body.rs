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
/// `invalid_query` naming what is wrong: where the JSON is broken (line and column) or which
/// field does not fit (its path, e.g. `after.start_us`).
pub fn parse_query<T: Default + serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let bad = |message: String| ApiError::bad_request("invalid_query", format!("invalid {what}: {message}"));
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    // serde reads a struct from an array too (its fields in order): the query and its parts
    // are objects.
    let serde_json::Value::Object(fields) = &value else {
        return Err(bad("expected a JSON object".into()));
    };
    if let Some(name) =
        OBJECT_FIELDS.iter().find(|name| fields.get(**name).is_some_and(|v| !v.is_object() && !v.is_null()))
    {
        return Err(bad(format!("{name}: expected an object")));
    }
    if let Some(serde_json::Value::Object(prices)) = fields.get("prices") {
        if let Some((model, _)) = prices.iter().find(|(_, v)| !v.is_object()) {
            return Err(bad(format!("prices.{model}: expected an object")));
        }
    }
    // From the text again, not the tree: a tree keeps the last of two equal keys, where
    // reading the text refuses the duplicate.
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        bad(if path == "." { inner.to_string() } else { format!("{path}: {inner}") })
    })
}

/// The parts of a query that are objects (a filter, a page key).
const OBJECT_FIELDS: [&str; 2] = ["filter", "after"];
