//! What a command tells the rest of the world: each accepted change that
//! other servers must hear about is one [`Event`], handed to the federation
//! port ([`crate::port::Federation`]) inside the command's transaction. The
//! port turns it into activities; the command stores them in the delivery
//! queue in that same transaction, so a change and its announcement are
//! kept or lost together.
//!
//! A `local` post never produces an event: nothing about it leaves.

use hearth_db::groups::Group;
use hearth_db::posts::Post;
use hearth_db::remote::RemoteActor;
use hearth_domain::moderation::{BanTerms, ReportCategory};
use hearth_domain::peer::Software;
use hearth_domain::post::Reaction;

/// Something other servers must be told.
#[derive(Debug, Clone)]
pub enum Event {
    /// Something happened to a post in a group.
    Post(Box<PostEvent>),
    /// A member here asked to join a group elsewhere.
    JoinAsked {
        member: String,
        group: RemoteActor,
        follow_id: String,
    },
    /// A member here left (or stopped asking to join) a group elsewhere.
    JoinWithdrawn {
        member: String,
        group: RemoteActor,
        follow_id: String,
    },
    /// A group here let someone from another server in, or said no.
    JoinAnswered {
        group: Group,
        follower: RemoteActor,
        /// What the follower's server runs (the answer's shape depends on
        /// it: Mbin fails on a `Reject` that embeds the `Follow`).
        software: Software,
        follow_id: String,
        accepted: bool,
    },
    /// Someone asked to follow a person here (or the instance actor):
    /// Hearth is about groups, so the answer is no.
    FollowRefused {
        target: String,
        follower: RemoteActor,
        software: Software,
        follow_id: String,
        /// A plain explanation for the person, when there is one.
        reason: Option<String>,
    },
    /// Someone who is not a member wrote to a group here that does not
    /// take posts from outside.
    PostRefused {
        group: Group,
        author: RemoteActor,
        activity_id: String,
    },
    /// A moderator of a group here acted on a person (a ban, its lifting,
    /// the moderator role): the group tells the servers of its members.
    Moderation(Box<ModerationEvent>),
    /// A member here reported something written on other servers: this
    /// server's own actor sends the `Flag`, so the member stays anonymous.
    Reported(Box<FlagEvent>),
    /// A report another server sent was dealt with here: tell it.
    ReportResolved(Box<ResolvedEvent>),
    /// The moderators changed a group's rules or support guide: the group
    /// sends its actor document again (`Update{Group}`) to the Hearth
    /// servers of its members.
    GuidanceChanged {
        group: Group,
        rules_html: String,
        guide_html: String,
        inboxes: Vec<MemberServer>,
    },
    /// A member's account here was deleted: every server that holds
    /// anything of it is told to delete the person and all they wrote
    /// (`Delete` of the actor, with Lemmy's `removeData`).
    /// A member's actor changed in a way other servers must hear about
    /// (a professional role verified or revoked): `Update{Person}` to
    /// every server that holds the actor.
    ActorUpdated {
        /// The activity's id.
        id: String,
        account: hearth_db::accounts::Account,
        inboxes: Vec<String>,
    },
    ActorErased {
        /// The activity's id.
        id: String,
        /// The person's actor id.
        actor: String,
        inboxes: Vec<String>,
    },
}

/// A moderator's action on a person in a group here.
#[derive(Debug, Clone)]
pub struct ModerationEvent {
    pub group: Group,
    /// The member servers (every one: moderation is not content).
    pub inboxes: Vec<MemberServer>,
    /// Also told: the person's own server, when it is not a member server.
    pub person_inbox: Option<String>,
    /// The activity's id.
    pub id: String,
    /// The moderator.
    pub actor: String,
    /// The person acted on.
    pub person: String,
    pub act: ModAct,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModAct {
    Banned(BanTerms),
    /// `block_id` is the `Block` being undone.
    Unbanned {
        block_id: String,
        terms: BanTerms,
    },
    ModeratorAdded,
    ModeratorRemoved,
    /// The person was named a peer mentor of the group (`Add` on its
    /// `hearth:mentors` collection; Hearth member servers only).
    MentorAdded,
    MentorRemoved,
    /// `person` is a reply the moderators marked helpful (`Add` on the
    /// group's `hearth:helpful` collection; Hearth member servers only).
    HelpfulMarked,
    HelpfulUnmarked,
}

impl ModAct {
    /// Whether only Hearth servers read it: link aggregators answer an
    /// `Add` to a collection they do not know with an error (Lemmy looks
    /// the target up as a community's moderators or featured collection).
    pub fn hearth_only(&self) -> bool {
        matches!(
            self,
            ModAct::MentorAdded
                | ModAct::MentorRemoved
                | ModAct::HelpfulMarked
                | ModAct::HelpfulUnmarked
        )
    }
}

/// A report sent to other servers.
#[derive(Debug, Clone)]
pub struct FlagEvent {
    pub id: String,
    /// The account reported (first in `object`, as Mastodon reads it).
    pub account: String,
    /// The post reported, if a post.
    pub post: Option<String>,
    /// The group the post is in, if any (Lemmy reads `to` and `audience`).
    pub group: Option<String>,
    pub category: ReportCategory,
    pub comment: String,
    pub inboxes: Vec<String>,
}

/// A report another server sent, dealt with here.
#[derive(Debug, Clone)]
pub struct ResolvedEvent {
    pub id: String,
    /// The `Flag` it answers.
    pub flag_id: String,
    /// Who sent the `Flag`, and where it is told.
    pub flagged_by: String,
    pub inbox: String,
    /// What was done, in the moderator's words.
    pub resolution: String,
}

/// A change to a post, and who hears about it.
#[derive(Debug, Clone)]
pub struct PostEvent {
    pub to: PostAudience,
    pub act: PostAct,
}

/// Who hears about a post's change.
#[derive(Debug, Clone)]
pub enum PostAudience {
    /// A group here relays it to the servers its members are on.
    GroupHere {
        group: Group,
        /// The member servers that may hear about this post: for a
        /// members-only post, only those that keep it to the group.
        inboxes: Vec<MemberServer>,
    },
    /// A group elsewhere gets it from the member here who did it, and
    /// relays it itself.
    GroupElsewhere { group: RemoteActor },
}

/// A member server's inbox, with the software it runs (which decides the
/// shape of what it is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberServer {
    pub inbox: String,
    /// `host[:port]`, lower case.
    pub authority: String,
    pub software: Software,
}

/// One change to a post, by one actor.
#[derive(Debug, Clone)]
pub struct PostAct {
    /// The activity's id: minted here for members here, as received for
    /// members elsewhere.
    pub id: String,
    /// Who did it.
    pub actor: String,
    /// The actor is a member of this server (so the activity is ours, kept
    /// to be fetched by its id).
    pub by_member_here: bool,
    /// The post as it is now (a tombstone after a delete).
    pub post: Post,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Created,
    Edited,
    /// Deleted by its author, or removed by a moderator with a reason.
    Deleted {
        reason: Option<String>,
    },
    /// A moderator's removal undone (`Undo{Delete}`); the `Delete` being
    /// undone carries the removal's reason, as Lemmy expects of a removal.
    Restored {
        removal_reason: String,
    },
    Reacted(Reaction),
    /// A reaction taken back; `like_id` is the activity that gave it.
    Unreacted {
        reaction: Reaction,
        like_id: String,
    },
    /// A thread closed to new replies (`true`) or opened again, by a
    /// moderator.
    Locked(bool),
    /// A thread pinned to the top of its group (`true`) or unpinned, by a
    /// moderator (`Add`/`Remove` on the group's featured collection).
    Pinned(bool),
    /// A moderator put a label on the post, or took it off (the post
    /// carries its current label): an `Update` in Hearth's namespace.
    Labelled,
}

/// The member here whose data the activities for `event` carry, if any:
/// each server that acknowledges them is recorded as holding a copy (see
/// `hearth_db::erasures`), to be told when the member takes it back.
pub(crate) fn owner_of(event: &Event) -> Option<String> {
    match event {
        Event::Post(e) => match &e.act.change {
            Change::Created | Change::Edited | Change::Restored { .. } | Change::Labelled
                if e.act.post.local && !e.act.post.author_ap_id.is_empty() =>
            {
                Some(e.act.post.author_ap_id.clone())
            }
            Change::Reacted(_) if e.act.by_member_here => Some(e.act.actor.clone()),
            _ => None,
        },
        Event::JoinAsked { member, .. } => Some(member.clone()),
        _ => None,
    }
}
