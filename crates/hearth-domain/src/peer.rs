//! What Hearth knows of another server's software, and the rules that
//! follow from it: which shape of relay it reads, and whether members-only
//! posts may go there at all.
//!
//! A members-only post is written for the group. Hearth sends it only to
//! servers whose software keeps non-public posts to the people they were
//! addressed to. Some software drops such posts (nothing is shown, so
//! sending is pointless), and some shows them to everybody (PieFed makes
//! every titled post it receives public). What a server runs is read from
//! its NodeInfo; software Hearth does not know is treated as if it published
//! members-only posts, unless an admin vouches for that server.

use crate::group::GroupVisibility;

/// The software a server runs, from its NodeInfo `software.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Software {
    Hearth,
    Lemmy,
    Mbin,
    PieFed,
    Mastodon,
    /// Known by name, but not by its handling of groups and members-only
    /// posts (Misskey, GoToSocial, Friendica, Fedify-based servers…).
    Other(String),
    /// Never looked up, or the server has no readable NodeInfo.
    Unknown,
}

/// What a server's software does with a post not addressed to the public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembersOnly {
    /// Shows it only to the members of the group it was written for.
    Keeps,
    /// Refuses or drops it: nobody there sees it.
    Drops,
    /// Shows it to everybody, as if it were public.
    Publishes,
    /// Nobody knows.
    Unknown,
}

impl Software {
    /// Reads a NodeInfo `software.name` (case-insensitive).
    pub fn from_nodeinfo(name: &str) -> Software {
        match name.trim().to_ascii_lowercase().as_str() {
            "" => Software::Unknown,
            "hearth" => Software::Hearth,
            "lemmy" => Software::Lemmy,
            // kbin is Mbin's ancestor and reads the same shapes.
            "mbin" | "kbin" => Software::Mbin,
            "piefed" => Software::PieFed,
            // Forks that keep Mastodon's name in NodeInfo's place.
            "mastodon" | "hometown" | "glitch-soc" => Software::Mastodon,
            other => Software::Other(other.to_owned()),
        }
    }

    /// The name as stored (and shown to admins); `None` for unknown.
    pub fn name(&self) -> Option<&str> {
        match self {
            Software::Hearth => Some("hearth"),
            Software::Lemmy => Some("lemmy"),
            Software::Mbin => Some("mbin"),
            Software::PieFed => Some("piefed"),
            Software::Mastodon => Some("mastodon"),
            Software::Other(name) => Some(name),
            Software::Unknown => None,
        }
    }

    /// Reads a stored name back (see [`Software::name`]).
    pub fn from_stored(name: Option<&str>) -> Software {
        name.map_or(Software::Unknown, Software::from_nodeinfo)
    }

    /// Whether it reads a group's relays as FEP-1b12 says (`Announce` of the
    /// member's whole activity: `Create`, `Update`, `Delete`, `Like`…).
    /// Software that does not (Mastodon and other microblogs) gets what it
    /// reads instead: the `Announce` of a thread's id, and a member's own
    /// `Update`/`Delete` sent unwrapped.
    pub fn reads_group_relays(&self) -> bool {
        matches!(
            self,
            Software::Hearth | Software::Lemmy | Software::Mbin | Software::PieFed
        )
    }

    /// What it does with members-only posts (read in each one's source;
    /// docs/FEDERATION.md has the details).
    pub fn members_only(&self) -> MembersOnly {
        match self {
            Software::Hearth => MembersOnly::Keeps,
            // Lemmy 0.19 refuses every non-public Announce and object;
            // Mastodon keeps a non-public boost to nobody; Mbin fails on it.
            Software::Lemmy | Software::Mastodon | Software::Mbin => MembersOnly::Drops,
            Software::PieFed => MembersOnly::Publishes,
            Software::Other(_) | Software::Unknown => MembersOnly::Unknown,
        }
    }
}

/// A member server as the group's rules see it: its software, and whether
/// this server's admin vouches that it keeps members-only posts private.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerServer {
    pub software: Software,
    pub vouched: bool,
}

impl PeerServer {
    /// Whether members-only posts may be sent to it, or fetched by it.
    pub fn may_hold_members_only(&self) -> bool {
        self.vouched || self.software.members_only() == MembersOnly::Keeps
    }

    /// Whether one of its people may join a group here. A public group
    /// takes everyone: nothing that is not public is ever sent to a server
    /// that cannot keep it (see [`PeerServer::may_hold_members_only`]). A
    /// members-only group holds nothing else, so it takes only servers that
    /// keep members-only posts private (or that the admin vouches for):
    /// software that drops them would show its people an empty group, and
    /// software that publishes them must never hold them.
    pub fn may_join(&self, group: GroupVisibility) -> Result<(), JoinRefusal> {
        if group == GroupVisibility::Public || self.may_hold_members_only() {
            return Ok(());
        }
        match self.software.members_only() {
            MembersOnly::Unknown => Err(JoinRefusal::Unknown),
            MembersOnly::Keeps | MembersOnly::Drops | MembersOnly::Publishes => {
                Err(JoinRefusal::CannotKeepPrivate)
            }
        }
    }
}

/// Why a server's people cannot join a members-only group here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRefusal {
    /// Its software is known to drop or publish members-only posts.
    CannotKeepPrivate,
    /// Nobody here knows what its software does with them.
    Unknown,
}

impl JoinRefusal {
    /// A plain explanation, sent with the refusal (the `Reject`'s
    /// `summary`) and shown to moderators.
    pub fn explain(self) -> &'static str {
        match self {
            JoinRefusal::CannotKeepPrivate => {
                "This group is for members only. The software your server runs \
                 cannot keep posts private, so people from your server cannot \
                 join it."
            }
            JoinRefusal::Unknown => {
                "This group is for members only, and this server cannot tell \
                 whether yours keeps posts private, so people from your server \
                 cannot join it. An admin of this server can allow your server \
                 after checking."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str) -> PeerServer {
        PeerServer {
            software: Software::from_nodeinfo(name),
            vouched: false,
        }
    }

    #[test]
    fn only_software_that_keeps_members_only_posts_private_receives_them() {
        assert!(peer("hearth").may_hold_members_only());
        for name in ["lemmy", "mastodon", "mbin", "piefed", "misskey", ""] {
            assert!(!peer(name).may_hold_members_only(), "{name}");
        }
        let vouched = PeerServer {
            vouched: true,
            ..peer("gotosocial")
        };
        assert!(vouched.may_hold_members_only());
    }

    #[test]
    fn only_servers_that_keep_posts_private_join_members_only_groups() {
        let members = GroupVisibility::Members;
        for name in ["PieFed", "lemmy", "mastodon", "hometown", "mbin", "kbin"] {
            assert_eq!(
                peer(name).may_join(members),
                Err(JoinRefusal::CannotKeepPrivate),
                "{name}"
            );
        }
        assert_eq!(
            peer("gotosocial").may_join(members),
            Err(JoinRefusal::Unknown)
        );
        assert_eq!(peer("").may_join(members), Err(JoinRefusal::Unknown));
        assert_eq!(peer("hearth").may_join(members), Ok(()));
        let vouched = PeerServer {
            vouched: true,
            ..peer("fedify")
        };
        assert_eq!(vouched.may_join(members), Ok(()));
    }

    #[test]
    fn everyone_joins_a_public_group() {
        for name in [
            "piefed", "lemmy", "mastodon", "mbin", "hearth", "misskey", "",
        ] {
            assert_eq!(
                peer(name).may_join(GroupVisibility::Public),
                Ok(()),
                "{name}"
            );
        }
    }

    #[test]
    fn names_round_trip_through_storage() {
        for name in ["hearth", "lemmy", "mbin", "piefed", "mastodon", "akkoma"] {
            let software = Software::from_nodeinfo(name);
            assert_eq!(Software::from_stored(software.name()), software);
        }
        assert_eq!(Software::from_stored(None), Software::Unknown);
    }

    #[test]
    fn only_link_aggregators_and_hearth_read_group_relays() {
        assert!(Software::Lemmy.reads_group_relays());
        assert!(!Software::Mastodon.reads_group_relays());
        assert!(!Software::Unknown.reads_group_relays());
    }
}
