//! Static assets, compiled into the binary and served under a name that
//! carries a hash of their content, so browsers may cache them for ever.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const STYLESHEET: &str = include_str!("../../assets/hearth.css");
pub const STYLESHEET_ROUTE: &str = "/static/{file}";

fn stylesheet_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        Sha256::digest(STYLESHEET.as_bytes())
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// The URL of the stylesheet, which changes whenever its content does.
pub fn stylesheet_path() -> String {
    format!("/static/hearth.{}.css", stylesheet_hash())
}

pub async fn stylesheet(Path(file): Path<String>) -> Response {
    if format!("/static/{file}") != stylesheet_path() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
