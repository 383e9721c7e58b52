//! Fetching a published domain list (a blocklist or allowlist the admin
//! subscribed to) for `hearth_app::subscriptions`: a plain, unsigned GET,
//! through the same guarded client as every other outbound request. And
//! the other plain request an admin's configuration makes: telling the
//! crisis webhook (`hearth_app::crisis`).
//!
//! The SSRF guard is the one every outbound request passes (`crate::guard`,
//! inside the client): loopback, private and link-local addresses are
//! refused, whether written as IP literals or reached through a name,
//! relaxed only in test mode and for the hosts the operator allows. The
//! client follows no redirects by itself; a few are followed here, each new
//! address a new request the guard judges. What is read is capped at
//! [`MAX_LIST_BYTES`]: the answer is read piece by piece and dropped at
//! the first piece past it, so a larger one is never held whole.

use futures::StreamExt;
use hearth_app::port::MAX_LIST_BYTES;
use url::Url;

use crate::FederationError;
use crate::context::Data;

/// Redirects followed before giving up (lists on code forges often move
/// once, from a short link or an old path).
const MAX_REDIRECTS: usize = 5;

/// The text at `url`.
pub async fn fetch(data: &Data, url: &str) -> Result<String, FederationError> {
    let mut url = Url::parse(url)
        .map_err(|e| FederationError::Refused(format!("{url} is not a URL: {e}")))?;
    for _ in 0..=MAX_REDIRECTS {
        check_address(&url)?;
        let response = data
            .client
            .get(url.as_str())
            .header(
                "Accept",
                "text/csv, text/plain;q=0.9, application/json;q=0.8, */*;q=0.1",
            )
            .send()
            .await
            .map_err(|e| send_error(&url, &e))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    FederationError::Unreachable(format!(
                        "{url} answered {status} without a Location"
                    ))
                })?;
            let next = url.join(location).map_err(|e| {
                FederationError::Unreachable(format!(
                    "{url} redirects to {location}, which is not a URL: {e}"
                ))
            })?;
            tracing::debug!(%url, %next, "domain list moved");
            url = next;
            continue;
        }
        if !status.is_success() {
            return Err(FederationError::Unreachable(format!(
                "{url} answered {status}"
            )));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_LIST_BYTES as u64)
        {
            return Err(too_large(&url));
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| FederationError::Unreachable(format!("{url}: {}", with_causes(&e))))?;
            if body.len() + chunk.len() > MAX_LIST_BYTES {
                return Err(too_large(&url));
            }
            body.extend_from_slice(&chunk);
        }
        return String::from_utf8(body)
            .map_err(|_| FederationError::Refused(format!("{url} is not UTF-8 text")));
    }
    Err(FederationError::Unreachable(format!(
        "{url}: more than {MAX_REDIRECTS} redirects"
    )))
}

/// POST `body` (JSON) to the admin's webhook at `url`: through the same
/// guard, no redirects followed (a webhook that moves is misconfigured),
/// the answer's body ignored. `Unreachable` unless it answers 2xx.
pub async fn post_webhook(data: &Data, url: &str, body: String) -> Result<(), FederationError> {
    let url = Url::parse(url)
        .map_err(|e| FederationError::Refused(format!("{url} is not a URL: {e}")))?;
    check_address(&url)?;
    let response = data
        .client
        .post(url.as_str())
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| send_error(&url, &e))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(FederationError::Unreachable(format!(
            "{url} answered {status}"
        )))
    }
}

/// Only http(s), and no credentials in the address (they would be sent to
/// whoever the list redirects to, and end up in logs).
fn check_address(url: &Url) -> Result<(), FederationError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FederationError::Refused(format!(
            "{url}: only http and https lists are fetched"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FederationError::Refused(
            "a list's address may not carry a user name or password".into(),
        ));
    }
    if url.host().is_none() {
        return Err(FederationError::Refused(format!("{url} names no host")));
    }
    Ok(())
}

/// A request that did not get an answer: refused by the SSRF guard, or
/// the server could not be reached.
fn send_error(url: &Url, err: &reqwest_middleware::Error) -> FederationError {
    match crate::guard::refusal(err) {
        Some(refused) => FederationError::Refused(format!("{url}: {refused}")),
        None => FederationError::Unreachable(format!("{url}: {}", with_causes(err))),
    }
}

fn too_large(url: &Url) -> FederationError {
    FederationError::Refused(format!(
        "{url} is larger than {} KiB",
        MAX_LIST_BYTES / 1024
    ))
}

/// An error with its causes, as the client's own message ("error sending
/// request for url …") leaves out why.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}
