//! Who asked for a change. Every command takes an [`Origin`]: a member of
//! this server (through the API, the web pages or the CLI), or another
//! server whose request was verified (signature, key owner, id origin) by
//! the ActivityPub inbox before it became a command. The checks a command
//! runs are the same for both; the origin only says whose rights count.

use hearth_db::remote::RemoteActor;
use hearth_db::tokens::Session;

use crate::AppError;
use crate::access::Reader;
use crate::ids::{Urls, authority_of};
use crate::records::Account;

/// Who asked.
#[derive(Debug, Clone)]
pub enum Origin {
    /// An account of this server.
    Local(Account),
    /// Another server, speaking for one of its actors.
    Remote(Box<RemoteOrigin>),
}

/// A verified request from another server.
#[derive(Debug, Clone)]
pub struct RemoteOrigin {
    /// The id of the actor the activity is by.
    pub actor: String,
    /// The server it speaks for: `actor`'s authority, lower case.
    pub server: String,
    /// The activity's id: recorded in the command's own transaction, so a
    /// second delivery changes nothing.
    pub activity: String,
    /// The activity's type, for the record.
    pub kind: String,
    pub via: Via,
}

/// How another server's activity reached this one.
#[derive(Debug, Clone)]
pub enum Via {
    /// Signed by its actor.
    Signed(RemoteActor),
    /// Passed on by a group on another server that members here joined
    /// (announced to our inbox, or read from the group's outbox). The group
    /// proved who it is; what it says about others is checked by the
    /// commands: it may only speak about its own posts.
    Relay(RemoteActor),
}

impl Origin {
    /// A member of this server.
    pub fn local(session: &Session) -> Self {
        Origin::Local(session.account.clone())
    }

    /// An activity signed by `actor` itself.
    pub fn signed(actor: RemoteActor, activity: &str, kind: &str) -> Self {
        Origin::Remote(Box::new(RemoteOrigin {
            actor: actor.ap_id.clone(),
            server: actor.authority.to_ascii_lowercase(),
            activity: activity.to_owned(),
            kind: kind.to_owned(),
            via: Via::Signed(actor),
        }))
    }

    /// An activity by `actor` that the group `group` passed on. A group can
    /// never speak for someone on this server.
    pub fn relayed(
        urls: &Urls,
        group: RemoteActor,
        actor: &str,
        activity: &str,
        kind: &str,
    ) -> Result<Self, AppError> {
        let server = authority_of(actor)
            .ok_or_else(|| AppError::Refused(format!("{actor} is not a URL")))?;
        if server == urls.authority() {
            return Err(AppError::Refused(format!(
                "{} may not speak for {actor}, who is a member of this server",
                group.ap_id
            )));
        }
        if authority_of(activity).as_deref() != Some(server.as_str()) {
            return Err(AppError::Refused(format!(
                "activity {activity} is not on the server of its actor {actor}"
            )));
        }
        Ok(Origin::Remote(Box::new(RemoteOrigin {
            actor: actor.to_owned(),
            server,
            activity: activity.to_owned(),
            kind: kind.to_owned(),
            via: Via::Relay(group),
        })))
    }

    /// Who is reading, when this origin reads: the account, or the server
    /// that proved itself (for a relayed activity, the group's server).
    pub fn reader(&self) -> Reader {
        match self {
            Origin::Local(account) => Reader::Account(account.id),
            Origin::Remote(r) => match &r.via {
                Via::Signed(_) => Reader::Server(r.server.clone()),
                Via::Relay(group) => Reader::Server(group.authority.to_ascii_lowercase()),
            },
        }
    }

    /// The actor id this origin acts as.
    pub fn actor_id(&self, urls: &Urls) -> String {
        match self {
            Origin::Local(account) => urls.user(&account.username).to_string(),
            Origin::Remote(r) => r.actor.clone(),
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Origin::Local(_))
    }

    pub(crate) fn remote(&self) -> Option<&RemoteOrigin> {
        match self {
            Origin::Remote(r) => Some(r),
            Origin::Local(_) => None,
        }
    }
}
