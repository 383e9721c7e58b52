//! Reading another server's NodeInfo (`/.well-known/nodeinfo`, then the
//! 2.x document it links) for the software it runs. Hearth's rules about
//! which server may hold members-only posts start from it
//! (`hearth_domain::peer`). Same SSRF guard and timeouts as every other
//! outbound request; answers are size-limited.

use futures::StreamExt;
use hearth_app::port::NodeSoftware;
use serde::Deserialize;
use url::Url;

use crate::FederationError;
use crate::context::Federation;

/// Largest NodeInfo document read.
const MAX_BYTES: usize = 64 * 1024;
/// The schema prefix of the NodeInfo 2.x link relations.
const SCHEMA: &str = "http://nodeinfo.diaspora.software/ns/schema/2.";

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    rel: String,
    #[serde(default)]
    href: String,
}

#[derive(Deserialize)]
struct Document {
    software: Software,
}

#[derive(Deserialize)]
struct Software {
    name: String,
    #[serde(default)]
    version: Option<String>,
}

/// What `authority` runs. `Ok(None)`: it answered, without a readable
/// NodeInfo.
pub async fn software(
    fed: &Federation,
    authority: &str,
) -> Result<Option<NodeSoftware>, FederationError> {
    let scheme = if fed.settings.test_mode {
        "http"
    } else {
        "https"
    };
    let well_known = Url::parse(&format!("{scheme}://{authority}/.well-known/nodeinfo"))
        .map_err(|e| FederationError::Refused(format!("bad server name {authority}: {e}")))?;
    let Some(body) = get(fed, &well_known).await? else {
        return Ok(None);
    };
    let Ok(links) = serde_json::from_slice::<Links>(&body) else {
        return Ok(None);
    };
    // The newest 2.x document the server links, on the server itself.
    let mut candidates: Vec<&Link> = links
        .links
        .iter()
        .filter(|l| l.rel.starts_with(SCHEMA))
        .collect();
    candidates.sort_by(|a, b| b.rel.cmp(&a.rel));
    for link in candidates {
        let Ok(href) = Url::parse(&link.href) else {
            continue;
        };
        if href.host_str() != well_known.host_str() || href.port() != well_known.port() {
            continue;
        }
        let Some(body) = get(fed, &href).await? else {
            continue;
        };
        if let Ok(doc) = serde_json::from_slice::<Document>(&body) {
            let name = doc.software.name.trim().to_ascii_lowercase();
            if !name.is_empty() {
                return Ok(Some(NodeSoftware {
                    name,
                    version: doc.software.version,
                }));
            }
        }
    }
    Ok(None)
}

/// The body of a GET, `None` for any answer but 200.
async fn get(fed: &Federation, url: &Url) -> Result<Option<Vec<u8>>, FederationError> {
    let response = fed
        .client
        .get(url.as_str())
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| match crate::guard::refusal(&e) {
            Some(refused) => FederationError::Refused(format!("NodeInfo at {url}: {refused}")),
            None => FederationError::Unreachable(format!("NodeInfo at {url}: {e}")),
        })?;
    if response.status() != reqwest::StatusCode::OK {
        return Ok(None);
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| FederationError::Unreachable(e.to_string()))?;
        if body.len() + chunk.len() > MAX_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}
