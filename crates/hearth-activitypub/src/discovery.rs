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

/// Answer `GET /.well-known/webfinger?resource=…` for members, groups and
/// the instance actor: one `self` link per name. People and groups never
/// share a name; where old data has both, the app answers the one created
/// first ([`hearth_app::App::actor_named`]).
pub async fn webfinger(fed: &Federation, resource: &str) -> Result<Jrd, FederationError> {
    let acct = resource.strip_prefix("acct:").unwrap_or(resource);
    let (name, domain) = acct.rsplit_once('@').ok_or(FederationError::Refused(
        "resource must look like acct:name@domain".into(),
    ))?;
    if !domain.eq_ignore_ascii_case(fed.urls.authority()) {
        return Err(FederationError::NotFound("account on this server"));
    }
    let mut links = Vec::new();
    let mut subject_name = None;
    if name.eq_ignore_ascii_case(SITE_ACTOR_NAME) || name.eq_ignore_ascii_case(fed.urls.authority())
    {
        links.push(JrdLink::actor(&fed.urls.site(), "Application"));
        subject_name = Some(SITE_ACTOR_NAME.to_owned());
    } else {
        match fed.app.actor_named(name).await {
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
        }
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
