//! What this server knows of the servers it federates with: the software
//! each runs (read from its NodeInfo and kept), and the admin's trust.
//! The rules that follow from them are in [`hearth_domain::peer`].

use chrono::{Duration, Utc};
use hearth_db::servers;
use hearth_domain::peer::{PeerServer, Software};

use crate::events::MemberServer;
use crate::{App, AppError};

/// How long a server's NodeInfo is trusted before it is read again.
const KNOWN_FOR_HOURS: i64 = 24;
/// How long before a server that had no readable NodeInfo is asked again.
const UNKNOWN_FOR_MINUTES: i64 = 10;

/// The server at `authority` as the rules see it, from what is stored (no
/// network): its software, and whether it is among the servers the admin
/// vouches for (`vouched`). `db`: the command's transaction when there is
/// one (a second connection while holding one can starve the pool).
pub(crate) async fn peer_at(
    db: &impl hearth_db::ConnectionTrait,
    authority: &str,
    vouched: &[String],
) -> Result<PeerServer, AppError> {
    let known = servers::software_of(db, authority).await?;
    Ok(standing(
        known.and_then(|k| k.name).as_deref(),
        authority,
        vouched,
    ))
}

/// The server at `authority` that runs `software` (as stored; `None`: not
/// known), as the rules see it.
fn standing(software: Option<&str>, authority: &str, vouched: &[String]) -> PeerServer {
    PeerServer {
        software: Software::from_stored(software),
        vouched: vouched.iter().any(|s| s.eq_ignore_ascii_case(authority)),
    }
}

impl App {
    /// [`peer_at`] with this server's configuration.
    pub(crate) async fn peer_server(
        &self,
        db: &impl hearth_db::ConnectionTrait,
        authority: &str,
    ) -> Result<PeerServer, AppError> {
        peer_at(db, authority, self.vouched()).await
    }

    /// The servers the admin vouches for (`federation.members_only_servers`).
    pub(crate) fn vouched(&self) -> &[String] {
        &self.config.federation.members_only_servers
    }

    /// Read the software of the server at `authority` from its NodeInfo
    /// when it is not known or was read too long ago. A server that cannot
    /// be asked keeps what was known (unknown software is the safe side).
    pub async fn learn_software(&self, authority: &str) -> Result<Software, AppError> {
        let known = servers::software_of(&self.db, authority).await?;
        let fresh = known.as_ref().is_some_and(|k| {
            let age = Utc::now() - k.checked_at;
            match k.name {
                Some(_) => age < Duration::hours(KNOWN_FOR_HOURS),
                None => age < Duration::minutes(UNKNOWN_FOR_MINUTES),
            }
        });
        // A server the policy cuts off is not asked anything.
        if fresh
            || self.urls.authority().eq_ignore_ascii_case(authority)
            || !self.server_standing(authority).await?.may_federate()
        {
            return Ok(Software::from_stored(known.and_then(|k| k.name).as_deref()));
        }
        match self.port()?.software(authority).await {
            Ok(found) => {
                let name = found.as_ref().map(|f| f.name.as_str());
                let version = found.as_ref().and_then(|f| f.version.as_deref());
                servers::record_software(&self.db, authority, name, version).await?;
                tracing::info!(server = authority, software = ?name, version = ?version, "read a server's NodeInfo");
                Ok(Software::from_stored(name))
            }
            Err(err) => {
                tracing::info!(server = authority, error = %err, "cannot read a server's NodeInfo");
                Ok(Software::from_stored(known.and_then(|k| k.name).as_deref()))
            }
        }
    }

    /// The member servers of a group here, with their software, that may
    /// hear about a post: for a members-only post, only those that keep it
    /// to the group.
    pub(crate) async fn member_servers(
        &self,
        db: &impl hearth_db::ConnectionTrait,
        group_id: i64,
        members_only: bool,
    ) -> Result<Vec<MemberServer>, AppError> {
        let mut out = Vec::new();
        for member in hearth_db::groups::remote_member_inboxes(db, group_id).await? {
            let peer = standing(
                member.software.as_deref(),
                &member.authority,
                self.vouched(),
            );
            if members_only && !peer.may_hold_members_only() {
                continue;
            }
            out.push(MemberServer {
                inbox: member.inbox,
                authority: member.authority,
                software: peer.software,
            });
        }
        Ok(out)
    }
}
