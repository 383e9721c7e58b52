//! What other servers ask first: WebFinger (who is `name@domain`?) and
//! NodeInfo (what software is this, how big is it?).

use hearth_app::AppError;
use hearth_app::accounts::NamedActor;

use crate::FederationError;
use crate::actors::SITE_ACTOR_NAME;
use crate::context::Federation;
use crate::protocol::{
    Jrd, JrdLink, NodeInfo, NodeInfoLinks, NodeInfoMetadata, NodeInfoServices, NodeInfoSoftware,
    NodeInfoUsage, NodeInfoUsers,
};

/// Who a WebFinger `resource` asks this server for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebfingerName<'a> {
    /// The instance actor: asked for by its name or by the server's
    /// authority as a name.
    Site,
    /// A member or a group, by name (the app says which, if either).
    Named(&'a str),
}

/// Read `resource` (`acct:name@domain`, or `name@domain`) as asked of the
/// server at `authority`: the name, when the domain is this server's (in
/// any case). The untrusted part of [`webfinger`], kept apart so that it
/// can be tested and fuzzed without a database.
pub fn webfinger_name<'a>(
    resource: &'a str,
    authority: &str,
) -> Result<WebfingerName<'a>, FederationError> {
    let acct = resource.strip_prefix("acct:").unwrap_or(resource);
    let (name, domain) = acct.rsplit_once('@').ok_or(FederationError::Refused(
        "resource must look like acct:name@domain".into(),
    ))?;
    if !domain.eq_ignore_ascii_case(authority) {
        return Err(FederationError::NotFound("account on this server"));
    }
    if name.eq_ignore_ascii_case(SITE_ACTOR_NAME) || name.eq_ignore_ascii_case(authority) {
        Ok(WebfingerName::Site)
    } else {
        Ok(WebfingerName::Named(name))
    }
}

/// Answer `GET /.well-known/webfinger?resource=…` for members, groups and
/// the instance actor: one `self` link per name. People and groups never
/// share a name; where old data has both, the app answers the one created
/// first ([`hearth_app::App::actor_named`]).
pub async fn webfinger(fed: &Federation, resource: &str) -> Result<Jrd, FederationError> {
    let mut links = Vec::new();
    let mut subject_name = None;
    match webfinger_name(resource, fed.urls.authority())? {
        WebfingerName::Site => {
            links.push(JrdLink::actor(&fed.urls.site(), "Application"));
            subject_name = Some(SITE_ACTOR_NAME.to_owned());
        }
        WebfingerName::Named(name) => match fed.app.actor_named(name).await {
            Ok(NamedActor::Person(account)) => {
                links.push(JrdLink::actor(&fed.urls.user(&account.username), "Person"));
                subject_name = Some(account.username);
            }
            Ok(NamedActor::Group(group)) => {
                links.push(JrdLink::actor(&fed.urls.group(&group.name), "Group"));
                subject_name = Some(group.name);
            }
            Err(AppError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        },
    }
    let name = subject_name.ok_or(FederationError::NotFound("account or group"))?;
    Ok(Jrd {
        subject: format!("acct:{name}@{}", fed.urls.authority()),
        aliases: links.iter().filter_map(|l| l.href.clone()).collect(),
        links,
    })
}

/// `GET /.well-known/nodeinfo`: the NodeInfo documents and, per FEP-2677,
/// the instance actor.
pub fn nodeinfo_links(fed: &Federation) -> NodeInfoLinks {
    let link = |rel: &str, href: String| JrdLink {
        rel: rel.to_owned(),
        kind: None,
        href: Some(href),
        properties: None,
    };
    NodeInfoLinks {
        links: vec![
            link(
                "http://nodeinfo.diaspora.software/ns/schema/2.0",
                fed.urls.nodeinfo("2.0").to_string(),
            ),
            link(
                "http://nodeinfo.diaspora.software/ns/schema/2.1",
                fed.urls.nodeinfo("2.1").to_string(),
            ),
            link(
                "https://www.w3.org/ns/activitystreams#Application",
                fed.urls.site().to_string(),
            ),
        ],
    }
}

/// The NodeInfo document in `version` ("2.0" or "2.1").
pub async fn nodeinfo(fed: &Federation, version: &str) -> Result<NodeInfo, FederationError> {
    let version: &'static str = match version {
        "2.0" => "2.0",
        "2.1" => "2.1",
        _ => return Err(FederationError::NotFound("NodeInfo version")),
    };
    let users = fed.app.active_account_count().await?;
    let group_count = fed.app.group_count().await?;
    Ok(NodeInfo {
        version,
        software: NodeInfoSoftware {
            name: "hearth",
            version: env!("CARGO_PKG_VERSION"),
            repository: None,
        },
        protocols: vec!["activitypub"],
        services: NodeInfoServices {
            inbound: vec![],
            outbound: vec![],
        },
        open_registrations: fed.settings.open_registrations,
        usage: NodeInfoUsage {
            users: NodeInfoUsers { total: users },
            local_posts: 0,
        },
        metadata: NodeInfoMetadata {
            node_name: fed.settings.instance_name.clone(),
            node_description: fed.settings.instance_description.clone(),
            groups: group_count,
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn webfinger_names_only_what_is_on_this_server() {
        let here = "hearth.example";
        let name = |resource| webfinger_name(resource, here);
        assert_eq!(
            name("acct:ann@hearth.example").unwrap(),
            WebfingerName::Named("ann")
        );
        assert_eq!(
            name("ann@HEARTH.example").unwrap(),
            WebfingerName::Named("ann")
        );
        // The last `@` separates the domain.
        assert_eq!(
            name("acct:a@b@hearth.example").unwrap(),
            WebfingerName::Named("a@b")
        );
        for site in [
            "acct:instance@hearth.example",
            "acct:hearth.example@hearth.example",
        ] {
            assert_eq!(name(site).unwrap(), WebfingerName::Site, "{site}");
        }
        assert!(matches!(
            name("acct:ann@elsewhere.example"),
            Err(FederationError::NotFound(_))
        ));
        assert!(matches!(
            name("acct:ann@hearth.example:443"),
            Err(FederationError::NotFound(_))
        ));
        for malformed in ["", "acct:", "https://hearth.example/u/ann", "ann"] {
            assert!(
                matches!(name(malformed), Err(FederationError::Refused(_))),
                "{malformed}"
            );
        }
    }
}
