//! The JSON body extractor every endpoint uses.
//!
//! It differs from `axum::Json` in what a client is told when the body is
//! wrong: a syntax error is a 400 naming line and column, a missing or
//! mistyped field is a 422 naming the field, a body over the limit is a 413,
//! and all of them are problem documents.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_domain::ValidationError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// A JSON request body (extractor) or response body.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let mime = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(Problem::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .detail("Send the body with `Content-Type: application/json`."));
        }
        let bytes =
            Bytes::from_request(req, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        Problem::for_status(StatusCode::PAYLOAD_TOO_LARGE)
                            .detail("The request body is larger than this server accepts.")
                    } else {
                        Problem::for_status(StatusCode::BAD_REQUEST).detail(rejection.body_text())
                    }
                })?;
        parse(&bytes).map(Json)
    }
}

/// An optional JSON body: none when the request has no body at all (and
/// no `Content-Type`); otherwise exactly as [`Json`].
impl<S, T> OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Problem> {
        let empty = req.headers().get(header::CONTENT_TYPE).is_none()
            && req
                .headers()
                .get(header::CONTENT_LENGTH)
                .is_none_or(|v| v.as_bytes() == b"0");
        if empty {
            return Ok(None);
        }
        <Json<T> as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

/// Deepest nesting accepted in a request body. Hearth's own bodies are
/// flat; ActivityPub documents nest a few levels. Anything deeper is an
/// attack on the parser, not a request.
pub const MAX_DEPTH: usize = 32;

/// Parse a JSON body, classifying errors as described in the module docs:
/// first the syntax (400), then the nesting depth (400), then the shape the
/// endpoint expects (422, naming the field).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let malformed = |detail: String| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "The request body is not valid JSON",
        )
        .detail(detail)
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    if depth(&value) > MAX_DEPTH {
        return Err(malformed(format!(
            "the body is nested more than {MAX_DEPTH} levels deep"
        )));
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let (field, code, text) = describe_data_error(&path, &message);
        Problem::validation(&[ValidationError::new(field, code, text)])
    })
}

/// Nesting depth of a JSON value, without recursion.
fn depth(value: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            serde_json::Value::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            serde_json::Value::Object(map) => stack.extend(map.values().map(|i| (i, d + 1))),
            _ => {}
        }
    }
    deepest
}

/// Work out which field a serde data error is about. serde reports a
/// missing field at the parent path with the name in backticks.
fn describe_data_error(path: &str, message: &str) -> (&'static str, &'static str, String) {
    let text = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    if let Some(rest) = text.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        return (
            leak_field(name),
            "required",
            format!("`{name}` is required"),
        );
    }
    let field = if path == "." {
        "body"
    } else {
        leak_field(path)
    };
    (field, "invalid_type", text)
}

/// Field names in validation errors are `&'static str` because the domain
/// crate names its own fields statically. Body fields come from the request,
/// so map the known ones to static names and everything else to "body".
fn leak_field(name: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "username",
        "password",
        "display_name",
        "bio",
        "email",
        "reason",
        "current_password",
        "new_password",
    ];
    KNOWN
        .iter()
        .find(|k| **k == name)
        .copied()
        .unwrap_or("body")
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Login {
        username: String,
        password: String,
    }

    #[test]
    fn syntax_errors_are_400_with_position() {
        let p = parse::<Login>(br#"{"username": "ann", "#).unwrap_err();
        assert_eq!(p.status, 400);
        assert_eq!(p.code, "malformed-json");
        assert!(p.detail.unwrap().contains("line 1"));
        let p = parse::<Login>(br#"{"username":"a","password":"b"} trailing"#).unwrap_err();
        assert_eq!(p.status, 400);
    }

    #[test]
    fn missing_and_mistyped_fields_are_422_naming_the_field() {
        let p = parse::<Login>(br#"{"username": "ann"}"#).unwrap_err();
        assert_eq!((p.status, p.field.as_deref()), (422, Some("password")));
        assert_eq!(p.errors[0].code, "required");
        let p = parse::<Login>(br#"{"username": 5, "password": "x"}"#).unwrap_err();
        assert_eq!((p.status, p.field.as_deref()), (422, Some("username")));
        assert_eq!(p.errors[0].code, "invalid_type");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowing() {
        let body = "[".repeat(10_000);
        let p = parse::<serde_json::Value>(body.as_bytes()).unwrap_err();
        assert_eq!(p.status, 400);
        let body = format!("{}{}", "[".repeat(40), "]".repeat(40));
        let p = parse::<serde_json::Value>(body.as_bytes()).unwrap_err();
        assert!(p.detail.unwrap().contains("nested more than 32"));
        let body = format!("{}{}", "[".repeat(30), "]".repeat(30));
        assert!(parse::<serde_json::Value>(body.as_bytes()).is_ok());
    }
}
