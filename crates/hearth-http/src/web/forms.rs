//! Sessions and CSRF for the web pages.
//!
//! A logged-in browser holds its bearer token in an `HttpOnly`,
//! `SameSite=Lax` cookie (`Secure` outside test mode). Forms are protected
//! with a double-submit token: a random value in its own cookie that every
//! form repeats in a hidden field; a cross-site page can neither read the
//! cookie nor set it.

use axum::http::HeaderMap;
use hearth_app::{App, Session};
use hearth_domain::token::{IssuedToken, digests_match};

pub const SESSION_COOKIE: &str = "hearth_session";
pub const CSRF_COOKIE: &str = "hearth_csrf";
pub const CSRF_FIELD: &str = "csrf";

/// The value of cookie `name`, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A logged-in browser: its session, and what the page header shows.
pub struct WebSession {
    pub session: Session,
    /// Unread notifications, for the count in the header.
    pub unread: u64,
}

impl std::ops::Deref for WebSession {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

/// The session of a browser, if its cookie holds a valid token.
pub async fn session(app: &App, headers: &HeaderMap) -> Option<WebSession> {
    let token = cookie(headers, SESSION_COOKIE)?;
    let session = app.authenticate(token).await.ok()?;
    let unread = app.unread_notifications(&session).await.unwrap_or(0);
    Some(WebSession { session, unread })
}

/// A `Set-Cookie` value.
pub fn set_cookie(app: &App, name: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if app.config.test_mode { "" } else { "; Secure" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

/// The CSRF token to put in forms: the browser's, or a new one to set.
pub struct Csrf {
    pub token: String,
    /// `Some` when the browser has none yet: send this `Set-Cookie`.
    pub set_cookie: Option<String>,
}

pub fn csrf(app: &App, headers: &HeaderMap) -> Csrf {
    match cookie(headers, CSRF_COOKIE) {
        Some(token) => Csrf {
            token: token.to_owned(),
            set_cookie: None,
        },
        None => {
            let token = IssuedToken::generate().secret;
            Csrf {
                set_cookie: Some(set_cookie(app, CSRF_COOKIE, &token, 60 * 60 * 24 * 30)),
                token,
            }
        }
    }
}

/// Whether a submitted form's token matches the browser's cookie, and the
/// browser did not say the form came from another site. Browsers send
/// `Sec-Fetch-Site`; a form posted from a sibling subdomain (which could
/// have set the cookie itself) is `same-site`, from elsewhere
/// `cross-site`: both are refused whatever the token. Clients that send
/// no such header are judged by the token alone.
pub fn csrf_ok(headers: &HeaderMap, submitted: &str) -> bool {
    let from_elsewhere = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| matches!(site, "cross-site" | "same-site"));
    if from_elsewhere {
        return false;
    }
    match cookie(headers, CSRF_COOKIE) {
        Some(expected) => !submitted.is_empty() && digests_match(expected, submitted),
        None => false,
    }
}
