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

    /// Whether one of its people may join a group here. Groups hold
    /// members-only threads, so software that would publish them, or that
    /// nobody knows, may not join unless the admin vouches for the server.
    /// Software that drops them may: its people see the public threads.
    pub fn may_join(&self) -> Result<(), JoinRefusal> {
        if self.vouched {
            return Ok(());
        }
        match self.software.members_only() {
            MembersOnly::Keeps | MembersOnly::Drops => Ok(()),
            MembersOnly::Publishes => Err(JoinRefusal::Publishes),
            MembersOnly::Unknown => Err(JoinRefusal::Unknown),
        }
    }
}

/// Why a server's people cannot join a group here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRefusal {
    Publishes,
    Unknown,
}

impl JoinRefusal {
    /// A plain explanation, sent with the refusal and shown to moderators.
    pub fn explain(self) -> &'static str {
        match self {
            JoinRefusal::Publishes => {
                "This group keeps some posts for its members only. The software \
                 your server runs shows such posts to everyone, so people from \
                 your server cannot join it."
            }
            JoinRefusal::Unknown => {
                "This group keeps some posts for its members only, and this \
                 server cannot tell whether yours keeps them private. An admin \
                 of this server can allow your server after checking."
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
    fn software_that_publishes_or_is_unknown_cannot_join() {
        assert_eq!(peer("PieFed").may_join(), Err(JoinRefusal::Publishes));
        assert_eq!(peer("gotosocial").may_join(), Err(JoinRefusal::Unknown));
        assert_eq!(peer("").may_join(), Err(JoinRefusal::Unknown));
        for name in ["hearth", "lemmy", "mastodon", "mbin", "kbin"] {
            assert_eq!(peer(name).may_join(), Ok(()), "{name}");
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
