//! Finding actors on other servers: a handle (`@support@other.example`)
//! through WebFinger, or a URL directly; then the actor document through
//! activitypub_federation's fetch (signed by the instance actor, SSRF
//! guarded, cached and refreshed when stale).
//!
//! WebFinger is done here rather than with the library's
//! `webfinger_resolve_actor`, which asserts (and so panics, in debug builds)
//! when a server answers with a differently spelled subject.

use activitypub_federation::fetch::object_id::ObjectId;
use futures::StreamExt;
use url::Url;

use crate::FederationError;
use crate::actors::RemoteActorObject;
use crate::context::Data;
use crate::protocol::{self, JRD_JSON, Jrd};
pub use hearth_app::ids::Handle;

/// Largest WebFinger answer read.
const MAX_JRD_BYTES: usize = 64 * 1024;

/// Resolve a handle or an actor URL to a cached remote actor.
pub async fn resolve(data: &Data, input: &str) -> Result<RemoteActorObject, FederationError> {
    let input = input.trim();
    let url = if input.starts_with("https://") || input.starts_with("http://") {
        Url::parse(input)
            .map_err(|e| FederationError::Refused(format!("not a valid address: {e}")))?
    } else {
        let handle = Handle::parse(input).ok_or_else(|| {
            FederationError::Refused(format!(
                "'{input}' is not a handle like @name@example.org or a link"
            ))
        })?;
        webfinger(data, &handle).await?
    };
    if data.app_data().urls.is_local(&url) {
        return Err(FederationError::Refused(format!("{url} is on this server")));
    }
    let id: ObjectId<RemoteActorObject> = url.into();
    id.dereference(data).await
}

/// Ask the handle's server which actor it is; prefer a Group link when a
/// person and a group share the name.
pub async fn webfinger(data: &Data, handle: &Handle) -> Result<Url, FederationError> {
    let fed = data.app_data();
    // A server the policy cuts off is not even asked who someone is.
    fed.app.check_server(&handle.authority).await?;
    let scheme = if fed.settings.test_mode {
        "http"
    } else {
        "https"
    };
    let mut url = Url::parse(&format!(
        "{scheme}://{}/.well-known/webfinger",
        handle.authority
    ))
    .map_err(|e| FederationError::Refused(format!("bad server name {}: {e}", handle.authority)))?;
    if url.domain().is_none() {
        return Err(FederationError::Refused(format!(
            "{} is an IP address; servers are addressed by host name",
            handle.authority
        )));
    }
    if !fed.settings.test_mode && url.port().is_some() {
        return Err(FederationError::Refused(format!(
            "{} names a port; only standard HTTPS servers are reached",
            handle.authority
        )));
    }
    url.query_pairs_mut().append_pair(
        "resource",
        &format!("acct:{}@{}", handle.name, handle.authority),
    );
    let response = fed
        .client
        .get(url.as_str())
        .header("Accept", format!("{JRD_JSON}, application/json"))
        .send()
        .await
        .map_err(|e| match crate::guard::refusal(&e) {
            Some(refused) => FederationError::Refused(refused.to_string()),
            None => FederationError::Unreachable(format!("WebFinger at {}: {e}", handle.authority)),
        })?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(FederationError::NotFound("account or group on that server"));
    }
    if !response.status().is_success() {
        return Err(FederationError::Unreachable(format!(
            "WebFinger at {} answered {}",
            handle.authority,
            response.status()
        )));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| FederationError::Unreachable(e.to_string()))?;
        if body.len() + chunk.len() > MAX_JRD_BYTES {
            return Err(FederationError::Refused(
                "WebFinger answer is too large".into(),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let jrd: Jrd = serde_json::from_slice(&body)
        .map_err(|e| FederationError::Refused(format!("WebFinger answer is not valid: {e}")))?;
    let links: Vec<_> = jrd.links.iter().filter(|l| l.is_actor_link()).collect();
    let chosen = links
        .iter()
        .find(|l| l.as_type() == Some("Group"))
        .or_else(|| links.last())
        .and_then(|l| l.href.as_deref())
        .ok_or(FederationError::NotFound(
            "ActivityPub actor for that handle",
        ))?;
    let actor = Url::parse(chosen)
        .map_err(|e| FederationError::Refused(format!("WebFinger link is not a URL: {e}")))?;
    if protocol::authority(&actor).is_none() {
        return Err(FederationError::Refused(
            "WebFinger link has no host".into(),
        ));
    }
    Ok(actor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_in_their_usual_spellings() {
        let expected = Handle {
            name: "support".into(),
            authority: "other.example".into(),
        };
        for raw in [
            "@support@other.example",
            "support@other.example",
            "acct:support@Other.Example",
            " @support@other.example ",
        ] {
            assert_eq!(Handle::parse(raw).as_ref(), Some(&expected), "{raw}");
        }
        assert_eq!(
            Handle::parse("@g@localhost:8081").unwrap().authority,
            "localhost:8081"
        );
        for bad in [
            "support",
            "@support",
            "a@b@c",
            "a b@c.example",
            "a@c.example/path",
            "@@x",
        ] {
            assert!(Handle::parse(bad).is_none(), "{bad}");
        }
    }
}
