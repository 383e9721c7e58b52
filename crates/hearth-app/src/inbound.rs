//! Commands as another server's activities reach them. The ActivityPub
//! crate proves who is speaking (signature over this server's host and the
//! real path, key owner, id origin), reads the wire format, and calls one
//! of these with the verified [`Origin`]. Each lands in the same core a
//! member here goes through ([`crate::posts`], [`crate::groups`]), so a rule
//! written there holds whichever door a change comes in by.
//!
//! The entry points for follows live with the groups
//! ([`App::receive_follow`], [`App::receive_unfollow`],
//! [`App::receive_follow_answer`]).

use chrono::{DateTime, Utc};
use hearth_db::{posts, removed};
use hearth_domain::content::{Content, RemoteContent};
use hearth_domain::post::{Reaction, Visibility};

use crate::events::Event;
use crate::ids::LocalRef;
use crate::origin::{Origin, Via};
use crate::posts::{Erase, Identity, PostGroup, Target, remote_reason};
use crate::{App, AppError};

/// What became of another server's activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied.
    Applied,
    /// Seen before; nothing changed.
    Duplicate,
    /// Accepted, but there was nothing for Hearth to do.
    Ignored(String),
}

impl Outcome {
    /// `Applied` for a command's `Some`, `Duplicate` for its `None`.
    pub(crate) fn of<T>(done: Option<T>) -> Self {
        match done {
            Some(_) => Outcome::Applied,
            None => Outcome::Duplicate,
        }
    }
}

/// A thread or reply from another server, read off the wire and not yet
/// trusted.
#[derive(Debug, Clone)]
pub struct IncomingPost {
    pub id: String,
    /// Who it says wrote it.
    pub author: String,
    /// The group the payload names (its `audience`, else the group among
    /// its addressees or mentions), if any.
    pub group: Option<String>,
    pub in_reply_to: Option<String>,
    /// Addressed to the public.
    pub public: bool,
    /// Its page for people.
    pub url: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub content: RemoteContent,
    /// Ids of the people it mentions.
    pub mentions: Vec<String>,
}

impl App {
    /// A `Create` of a thread or reply.
    ///
    /// Signed by its author: for a group here (or a reply to a post of
    /// one). Relayed by a group elsewhere: for that group only. Someone
    /// who may not write in a group here is answered with `Reject`.
    pub async fn receive_post(
        &self,
        origin: &Origin,
        post: IncomingPost,
    ) -> Result<Outcome, AppError> {
        let r = origin
            .remote()
            .ok_or_else(|| AppError::Internal("a local post through the inbox".into()))?;
        if post.author != r.actor {
            return Err(AppError::Refused(format!(
                "{} is attributed to {}, not to {}",
                post.id, post.author, r.actor
            )));
        }
        if posts::find_by_ap_id(&self.db, &post.id).await?.is_some() {
            return Ok(Outcome::Duplicate);
        }
        let reply = post.in_reply_to.is_some();
        let target = match &post.in_reply_to {
            Some(parent_id) => {
                let parent = self
                    .named_post(parent_id)
                    .await?
                    .ok_or(AppError::NotFound {
                        what: "post this replies to",
                    })?;
                if let Some(named) = &post.group
                    && *named != parent.group_ap_id
                {
                    return Err(AppError::Refused(format!(
                        "{} replies to a post of another group",
                        post.id
                    )));
                }
                if matches!(r.via, Via::Signed(_)) && parent.group_id.is_none() {
                    // A reply in a group elsewhere sent to us too (we wrote
                    // the post it answers): the group relays it if it
                    // takes it.
                    return Ok(Outcome::Ignored(
                        "a reply in a group on another server; that group relays it".into(),
                    ));
                }
                Target::Reply { parent }
            }
            None => {
                let group = match &r.via {
                    Via::Relay(relay) => {
                        if post.group.as_deref() != Some(relay.ap_id.as_str()) {
                            return Err(AppError::Refused(format!(
                                "{} is not a post of {}",
                                post.id, relay.ap_id
                            )));
                        }
                        PostGroup::Remote(relay.clone())
                    }
                    Via::Signed(_) => match post
                        .group
                        .as_deref()
                        .and_then(|g| self.urls().parse_local_id(g))
                    {
                        Some(LocalRef::Group(name)) => {
                            match hearth_db::groups::find_by_name(&self.db, &name).await? {
                                Some(g) => PostGroup::Local(g),
                                None => return Err(AppError::NotFound { what: "group" }),
                            }
                        }
                        _ => {
                            return Ok(Outcome::Ignored("not addressed to a group here".into()));
                        }
                    },
                };
                Target::Thread {
                    group,
                    visibility: if post.public {
                        Visibility::Public
                    } else {
                        Visibility::Members
                    },
                }
            }
        };
        let group_here = match &target {
            Target::Thread {
                group: PostGroup::Local(g),
                ..
            } => Some(g.clone()),
            _ => None,
        };
        let content = Content::from_remote(&post.content, reply).map_err(AppError::invalid)?;
        let identity = Identity::Given {
            ap_id: post.id,
            url: post.url,
            published: post.published,
            mentions: post.mentions,
        };
        match self.write(origin, target, content, identity).await {
            Ok(done) => Ok(Outcome::of(done)),
            // Someone outside a group here starting a thread in it: tell
            // their server, so they can be told.
            Err(AppError::NotMember) => match (&r.via, group_here) {
                (Via::Signed(author), Some(group)) => {
                    let Some(txn) = self.begin(origin).await? else {
                        return Ok(Outcome::Duplicate);
                    };
                    self.emit(
                        &txn,
                        Event::PostRefused {
                            group: group.clone(),
                            author: author.clone(),
                            activity_id: r.activity.clone(),
                        },
                    )
                    .await?;
                    self.commit(txn).await?;
                    Ok(Outcome::Ignored(format!(
                        "{} is not a member of {}; answered with Reject",
                        r.actor, group.name
                    )))
                }
                _ => Err(AppError::NotMember),
            },
            Err(err) => Err(err),
        }
    }

    /// An `Update` of a post, by its author (or relayed by its group).
    pub async fn receive_edit(
        &self,
        origin: &Origin,
        incoming: IncomingPost,
    ) -> Result<Outcome, AppError> {
        let r = origin
            .remote()
            .ok_or_else(|| AppError::Internal("a local edit through the inbox".into()))?;
        if incoming.author != r.actor {
            return Err(AppError::Refused(format!(
                "{} may not edit {}, which it says is by {}",
                r.actor, incoming.id, incoming.author
            )));
        }
        let Some(post) = posts::find_by_ap_id(&self.db, &incoming.id).await? else {
            return Ok(Outcome::Ignored("an edit of a post not known here".into()));
        };
        let group = self.check_edit(origin, &post).await?;
        let reply = post.kind == posts::PostKind::Reply;
        let content = Content::from_remote(&incoming.content, reply).map_err(AppError::invalid)?;
        let updated = incoming.updated.unwrap_or_else(Utc::now);
        Ok(Outcome::of(
            self.change(origin, post, group, content, updated).await?,
        ))
    }

    /// A `Delete` of a post: by its author, or (relayed by a group
    /// elsewhere) a removal by that group's own server, with its reason.
    pub async fn receive_delete(
        &self,
        origin: &Origin,
        object_id: &str,
        reason: Option<&str>,
    ) -> Result<Outcome, AppError> {
        // A person deleted on their server, by themselves.
        if let Origin::Remote(r) = origin
            && r.actor == object_id
        {
            return self.receive_actor_deleted(origin).await;
        }
        let Some(post) = posts::find_by_ap_id(&self.db, object_id).await? else {
            return Ok(Outcome::Ignored("nothing to delete".into()));
        };
        // A removed post stays deleted, unless its author now deletes it:
        // then the words kept for the moderators go too.
        if post.is_deleted()
            && !(self.is_author(origin, &post) && removed::find(&self.db, post.id).await?.is_some())
        {
            return Ok(Outcome::Ignored("already deleted".into()));
        }
        let reason = reason.map(remote_reason).unwrap_or_default();
        Ok(Outcome::of(
            self.erase(origin, post, Erase::Either(reason)).await?,
        ))
    }

    /// An `Undo{Delete}` of a moderator's removal of the post `object_id`,
    /// relayed by its group (Lemmy's and Hearth's restore): the words kept
    /// here come back. A post whose words were not kept here (deleted by
    /// its author, or kept too long) stays deleted.
    pub async fn receive_restore(
        &self,
        origin: &Origin,
        object_id: &str,
    ) -> Result<Outcome, AppError> {
        let Some(post) = posts::find_by_ap_id(&self.db, object_id).await? else {
            return Ok(Outcome::Ignored("nothing to bring back".into()));
        };
        if !post.is_deleted() || removed::find(&self.db, post.id).await?.is_none() {
            return Ok(Outcome::Ignored("nothing kept to bring back".into()));
        }
        Ok(Outcome::of(self.bring_back(origin, post, "").await?))
    }

    /// A reaction (`Like`, `EmojiReact`) to the post `object_id`.
    pub async fn receive_reaction(
        &self,
        origin: &Origin,
        object_id: &str,
        reaction: Reaction,
    ) -> Result<Outcome, AppError> {
        let post = self
            .named_post(object_id)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        Ok(Outcome::of(
            self.add_reaction(origin, post, reaction).await?,
        ))
    }

    /// `Undo` of the reaction given by the activity `like_id`.
    pub async fn receive_undo_reaction(
        &self,
        origin: &Origin,
        like_id: &str,
    ) -> Result<Outcome, AppError> {
        Ok(match self.take_back(origin, like_id).await? {
            Some(()) => Outcome::Applied,
            None => Outcome::Ignored("nothing to undo".into()),
        })
    }

    /// The post another server names by `id`, which may be a thread's
    /// note (`/p/{id}/note`): what Mastodon people reply to and favourite,
    /// standing for the thread.
    async fn named_post(&self, id: &str) -> Result<Option<posts::Post>, AppError> {
        let id = self
            .urls()
            .thread_of_note(id)
            .unwrap_or_else(|| id.to_owned());
        Ok(posts::find_by_ap_id(&self.db, &id).await?)
    }
}
