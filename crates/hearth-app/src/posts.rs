//! Post use-cases: write threads and replies in groups here or elsewhere,
//! edit, delete and remove them, react; and read timelines, threads and
//! profiles.
//!
//! Every change, whoever asks (a member here through the API, the web or
//! the CLI; another server through its inbox, a group's relay or a
//! backfill), runs through one core per kind of change, and so through the
//! same checks:
//!
//! | change            | core                         | who may                                                      |
//! |-------------------|------------------------------|--------------------------------------------------------------|
//! | write             | [`App::write`]               | joined members; anyone in a public thread of a group here that welcomes outside posts |
//! | edit              | [`App::change`]              | the author                                                   |
//! | delete / remove   | [`App::erase`]               | the author; a moderator of a group here; the group's own server for a group elsewhere |
//! | react / take back | [`App::add_reaction`] / [`App::take_back`] | joined members / the one who reacted            |
//!
//! and, for all of them: the post must be readable by whoever asks (the
//! one read rule, [`crate::access`]); what is written is [`Content`] (one
//! constructor for every source); a reply has exactly its thread's
//! visibility; deleted stays deleted; a group elsewhere speaks only about
//! its own posts and never for someone here; nothing about a `local` post
//! leaves this server.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hearth_db::groups::{self, Group, Member};
use hearth_db::posts::{self, NewPost, Order, Post, PostEdit, PostKind};
use hearth_db::remote::{self, RemoteActor};
use hearth_db::removed;
use hearth_db::tokens::Session;
use hearth_db::{DatabaseTransaction, DbError};
use hearth_domain::MembershipState;
use hearth_domain::content::{Content, Typed};
use hearth_domain::federation_policy::Standing;
use hearth_domain::moderation::ModAction;
use hearth_domain::post::{Reaction, SupportKind, Visibility};
use hearth_domain::professional::{Professional, ProfessionalRole};
use hearth_domain::sources::{RawSource, Source};
use hearth_domain::{ValidationError, text};

use crate::access::{self, Reader};
use crate::events::{Change, Event, PostAct, PostAudience, PostEvent};
use crate::ids::{Handle, LocalRef};
use crate::origin::{Origin, Via};
use crate::{App, AppError, notifications};

/// A group a post is in: here, or on another server.
#[derive(Debug, Clone)]
pub enum PostGroup {
    Local(Group),
    Remote(RemoteActor),
}

impl PostGroup {
    pub fn ap_id(&self, app: &App) -> String {
        match self {
            PostGroup::Local(g) => app.urls().group(&g.name).to_string(),
            PostGroup::Remote(a) => a.ap_id.clone(),
        }
    }

    pub fn handle(&self, app: &App) -> String {
        match self {
            PostGroup::Local(g) => format!("{}@{}", g.name, app.config.domain),
            PostGroup::Remote(a) => format!("{}@{}", a.preferred_username, a.authority),
        }
    }

    /// What people see as the group's name.
    pub fn title(&self) -> String {
        match self {
            PostGroup::Local(g) => g.display_name.clone(),
            PostGroup::Remote(a) if !a.name.trim().is_empty() => a.name.clone(),
            PostGroup::Remote(a) => a.preferred_username.clone(),
        }
    }

    fn same_as(&self, other: &RemoteActor) -> bool {
        matches!(self, PostGroup::Remote(a) if a.ap_id == other.ap_id)
    }
}

/// What someone writes.
#[derive(Debug, Default, Clone)]
pub struct PostInput {
    pub title: Option<String>,
    pub body: Option<String>,
    pub support_kind: Option<String>,
    pub content_warning: Option<String>,
    pub visibility: Option<String>,
    /// One web address (threads only); `Some("")` removes it when editing.
    pub link: Option<String>,
    /// Sources (general-knowledge and resource threads); `None` keeps
    /// them when editing, `Some(vec![])` removes them.
    pub sources: Option<Vec<RawSource>>,
    /// `peer` (the default) or `professional` (verified professionals
    /// only); left out when editing keeps the post's.
    pub speaking_as: Option<String>,
}

/// Timeline filters.
#[derive(Debug, Clone, Copy)]
pub struct TimelineQuery {
    pub order: Order,
    pub support_kind: Option<SupportKind>,
    /// Only threads that list sources.
    pub with_sources: bool,
    pub after: Option<(i64, i64)>,
    pub limit: u64,
}

impl TimelineQuery {
    /// The newest `limit` threads, of any kind.
    pub fn newest(limit: u64) -> Self {
        TimelineQuery {
            order: Order::Newest,
            support_kind: None,
            with_sources: false,
            after: None,
            limit,
        }
    }
}

/// Where a new post goes.
pub(crate) enum Target {
    Thread {
        group: PostGroup,
        visibility: Visibility,
    },
    Reply {
        parent: Post,
    },
}

/// A new post's id and dates: minted here, or as its own server gave them.
pub(crate) enum Identity {
    Minted,
    Given {
        ap_id: String,
        url: Option<String>,
        published: Option<DateTime<Utc>>,
        /// Ids of the people it mentions.
        mentions: Vec<String>,
    },
}

/// The visibility a reply to `thread` is written with, whatever the
/// reply's own addressing says: exactly who reads its thread, as they read
/// it now. A public thread written on a server the admin limits reads as
/// members-only, so its replies are members-only too (and stay so once
/// the limit is lifted: they were written for the members); taking the
/// thread's stored visibility instead sent them to the public.
pub fn reply_visibility(thread: &Post) -> Visibility {
    thread.effective_visibility()
}

/// A stored source as typed, for an edit that keeps it.
fn raw_source(source: &Source) -> RawSource {
    RawSource {
        url: source.url.clone(),
        title: source.title.clone(),
        kind: source.kind.as_str().to_owned(),
    }
}

/// The longest reason a moderator may give for a removal.
pub const REASON_MAX: usize = 500;

impl App {
    /// Find a group by local name, handle or link. A group elsewhere must
    /// already be known here (someone here asked to join it).
    pub async fn find_group(&self, target: &str) -> Result<PostGroup, AppError> {
        let target = target.trim();
        if let Ok(url) = url::Url::parse(target) {
            if let Some(LocalRef::Group(name)) = self.urls().parse_local(&url) {
                return self.local_group(&name).await;
            }
            return remote::find_actor(&self.db, url.as_str())
                .await?
                .filter(|a| a.kind == "Group")
                .map(PostGroup::Remote)
                .ok_or(AppError::NotFound { what: "group" });
        }
        if let Some(handle) = Handle::parse(target) {
            if handle.authority.eq_ignore_ascii_case(&self.config.domain) {
                return self.local_group(&handle.name).await;
            }
            return remote::find_actor_by_handle(&self.db, &handle.name, &handle.authority)
                .await?
                .filter(|a| a.kind == "Group")
                .map(PostGroup::Remote)
                .ok_or(AppError::NotFound { what: "group" });
        }
        self.local_group(target).await
    }

    async fn local_group(&self, name: &str) -> Result<PostGroup, AppError> {
        groups::find_by_name(&self.db, name)
            .await?
            .map(PostGroup::Local)
            .ok_or(AppError::NotFound { what: "group" })
    }

    /// A stored post by its local id.
    async fn post_by_id(&self, id: i64) -> Result<Post, AppError> {
        posts::find_by_id(&self.db, id)
            .await?
            .ok_or(AppError::NotFound { what: "post" })
    }

    /// Whether the account is a joined member of the group.
    pub async fn is_member(&self, account_id: i64, group: &PostGroup) -> Result<bool, AppError> {
        Ok(matches!(
            access::relation(
                &self.db,
                &Reader::Account(account_id),
                group,
                self.vouched()
            )
            .await?,
            hearth_domain::access::Relation::Member { .. }
        ))
    }

    /// Whether the viewer moderates the group (here) a post is in.
    pub async fn moderates(&self, session: &Session, group: &PostGroup) -> Result<bool, AppError> {
        Ok(match group {
            PostGroup::Local(g) => groups::is_moderator(&self.db, g.id, session.account.id).await?,
            PostGroup::Remote(_) => false,
        })
    }

    // ---- commands as members here call them --------------------------

    /// Start a thread.
    pub async fn create_thread(
        &self,
        origin: &Origin,
        group: &PostGroup,
        input: PostInput,
    ) -> Result<Post, AppError> {
        let content = Content::thread(Typed {
            title: input.title.as_deref().unwrap_or(""),
            body: input.body.as_deref().unwrap_or(""),
            support_kind: input.support_kind.as_deref().unwrap_or(""),
            content_warning: input.content_warning.as_deref().unwrap_or(""),
            link: input.link.as_deref().unwrap_or(""),
            sources: input.sources.as_deref().unwrap_or(&[]),
        });
        let visibility = parse_visibility(input.visibility.as_deref(), group);
        let speaking = self.speaking(origin, input.speaking_as.as_deref(), None);
        let (mut content, visibility) = match (content, visibility, speaking) {
            (Ok(content), Ok(visibility), Ok(_)) => (content, visibility),
            (content, visibility, speaking) => {
                let mut errors = content.err().unwrap_or_default();
                errors.extend(visibility.err());
                errors.extend(speaking.err());
                return Err(AppError::Invalid(errors));
            }
        };
        self.speak(origin, input.speaking_as.as_deref(), None, &mut content)?;
        let target = Target::Thread {
            group: group.clone(),
            visibility,
        };
        self.write(origin, target, content, Identity::Minted)
            .await?
            .ok_or_else(|| AppError::Internal("a new post's id was already taken".into()))
    }

    /// Reply to a post (a thread or another reply).
    pub async fn create_reply(
        &self,
        origin: &Origin,
        parent_id: i64,
        input: PostInput,
    ) -> Result<Post, AppError> {
        let content = Content::reply(
            input.body.as_deref().unwrap_or(""),
            input.content_warning.as_deref().unwrap_or(""),
        );
        let speaking = self.speaking(origin, input.speaking_as.as_deref(), None);
        let mut content = match (content, speaking) {
            (Ok(content), Ok(_)) => content,
            (content, speaking) => {
                let mut errors = content.err().unwrap_or_default();
                errors.extend(speaking.err());
                return Err(AppError::Invalid(errors));
            }
        };
        self.speak(origin, input.speaking_as.as_deref(), None, &mut content)?;
        let parent = self.post_by_id(parent_id).await?;
        self.write(origin, Target::Reply { parent }, content, Identity::Minted)
            .await?
            .ok_or_else(|| AppError::Internal("a new post's id was already taken".into()))
    }

    /// Edit one's own post. Fields left out keep their value.
    pub async fn edit_post(
        &self,
        origin: &Origin,
        id: i64,
        input: PostInput,
    ) -> Result<Post, AppError> {
        let post = self.post_by_id(id).await?;
        let keep = |given: &Option<String>, current: &str| -> String {
            given.clone().unwrap_or_else(|| current.to_owned())
        };
        let sources = input
            .sources
            .clone()
            .unwrap_or_else(|| post.sources.iter().map(raw_source).collect());
        let content = match post.kind {
            PostKind::Thread => Content::thread(Typed {
                title: &keep(&input.title, &post.title),
                body: &keep(&input.body, &post.source),
                support_kind: &keep(
                    &input.support_kind,
                    post.support_kind.map(SupportKind::as_str).unwrap_or(""),
                ),
                content_warning: &keep(
                    &input.content_warning,
                    post.content_warning.as_deref().unwrap_or(""),
                ),
                link: &keep(&input.link, post.link.as_deref().unwrap_or("")),
                sources: &sources,
            }),
            PostKind::Reply => Content::reply(
                &keep(&input.body, &post.source),
                &keep(
                    &input.content_warning,
                    post.content_warning.as_deref().unwrap_or(""),
                ),
            ),
        };
        // Refuse who may not edit before judging what they wrote.
        let group = self.check_edit(origin, &post).await?;
        let mut content = content.map_err(AppError::Invalid)?;
        self.speak(
            origin,
            input.speaking_as.as_deref(),
            Some(&post),
            &mut content,
        )?;
        self.change(origin, post, group, content, Utc::now())
            .await?
            .ok_or_else(|| AppError::Internal("an edit was applied twice".into()))
    }

    /// Delete one's own post: its words are gone here at once, and every
    /// server that has it is told.
    pub async fn delete_post(&self, origin: &Origin, id: i64) -> Result<(), AppError> {
        let post = self.post_by_id(id).await?;
        self.erase(origin, post, Erase::OwnPost).await?;
        Ok(())
    }

    /// Moderators: remove a post from a group here, with a reason for its
    /// author. Its words are erased here at once; every member server is
    /// sent a `Delete` by the moderator (carrying the reason), announced by
    /// the group; the author is notified, here or, through their server,
    /// elsewhere.
    pub async fn remove_post(
        &self,
        origin: &Origin,
        id: i64,
        reason: &str,
    ) -> Result<(), AppError> {
        let reason = hearth_domain::moderation::required_reason("reason", reason)
            .map_err(AppError::invalid)?;
        let post = self.post_by_id(id).await?;
        self.erase(origin, post, Erase::Removal(reason)).await?;
        Ok(())
    }

    /// Moderators: bring back a post they removed, while its words are
    /// still kept (see `moderation.removed_kept_days`), with an optional
    /// reason for the log.
    pub async fn restore_post(
        &self,
        origin: &Origin,
        id: i64,
        reason: &str,
    ) -> Result<(), AppError> {
        let reason = hearth_domain::moderation::optional_text("reason", reason)
            .map_err(AppError::invalid)?;
        let post = self.post_by_id(id).await?;
        self.bring_back(origin, post, &reason).await?;
        Ok(())
    }

    /// Give a support reaction (once per kind).
    pub async fn react(
        &self,
        origin: &Origin,
        id: i64,
        reaction: Reaction,
    ) -> Result<(), AppError> {
        let post = self.post_by_id(id).await?;
        self.add_reaction(origin, post, reaction).await?;
        Ok(())
    }

    /// Take a reaction back.
    pub async fn unreact(
        &self,
        origin: &Origin,
        id: i64,
        reaction: Reaction,
    ) -> Result<(), AppError> {
        let post = self.post_by_id(id).await?;
        let group = self.readable_group(origin, &post).await?;
        let actor = origin.actor_id(self.urls());
        let Some(txn) = self.begin(origin).await? else {
            return Ok(());
        };
        if let Some(like_id) = posts::remove_reaction(&txn, post.id, reaction, &actor).await? {
            let id = self.activity_id(origin);
            self.announce(
                &txn,
                origin,
                &group,
                &post,
                id,
                Change::Unreacted { reaction, like_id },
            )
            .await?;
        }
        self.commit(txn).await
    }

    // ---- the cores every origin goes through --------------------------

    /// Store a new thread or reply. `None` when it was already here (a
    /// second delivery).
    pub(crate) async fn write(
        &self,
        origin: &Origin,
        target: Target,
        content: Content,
        identity: Identity,
    ) -> Result<Option<Post>, AppError> {
        let (group, parent, visibility, kind) = match target {
            Target::Thread { group, visibility } => (group, None, visibility, PostKind::Thread),
            Target::Reply { parent } => {
                let group = self.live_group(origin, &parent).await?;
                // A reply is read by exactly those who read its thread,
                // whatever its own addressing says.
                let thread = self.thread_of(&parent).await?;
                // The group closed the thread (Lemmy's Lock): its server
                // would refuse the reply, so nobody here writes one.
                // A group here refuses every reply to a closed thread; a
                // group elsewhere relays only what it took.
                let relayed = origin
                    .remote()
                    .is_some_and(|r| matches!(r.via, Via::Relay(_)));
                if thread.locked_at.is_some() && !relayed {
                    return Err(AppError::Refused(
                        "This thread is closed to new replies.".into(),
                    ));
                }
                let visibility = reply_visibility(&thread);
                (group, Some(parent), visibility, PostKind::Reply)
            }
        };
        if visibility == Visibility::Local && !matches!(group, PostGroup::Local(_)) {
            return Err(AppError::invalid(ValidationError::new(
                "visibility",
                "not_here",
                "\"Only this server\" is for groups on this server",
            )));
        }
        let group_visibility = match &group {
            PostGroup::Local(g) => g.visibility,
            PostGroup::Remote(a) => a.visibility(),
        };
        let outside_welcome = match &group {
            PostGroup::Local(g) => {
                g.allow_outside_posts
                    && visibility == Visibility::Public
                    && group_visibility.allows(visibility)
            }
            PostGroup::Remote(_) => false,
        };
        self.may_take_part(origin, &group, outside_welcome).await?;
        // A members-only group never takes a public post, whoever writes
        // it: a member here, or another server (whose copy of the group
        // may be older than its change to members-only; it is refused,
        // not quietly narrowed, so its author's server learns). Only a
        // group elsewhere relaying its own posts is the judge of its own
        // rule (its public posts from before the change stay public).
        let relayed = origin
            .remote()
            .is_some_and(|r| matches!(r.via, Via::Relay(_)));
        if !relayed {
            let checked = match kind {
                PostKind::Thread => group_visibility.check(visibility),
                PostKind::Reply if !group_visibility.allows(visibility) => {
                    Err(ValidationError::new(
                        "visibility",
                        "members_only_group",
                        "This thread is public, but the group is now for members only, so \
                         it takes no new replies. Start a new thread for the members instead.",
                    ))
                }
                PostKind::Reply => Ok(()),
            };
            checked.map_err(AppError::invalid)?;
        }
        self.within_limits(origin, crate::limits::Act::Write)?;
        let held = match &group {
            PostGroup::Local(g) => self.holds(origin, g).await?,
            PostGroup::Remote(_) => false,
        };
        // Written on a server the admin limits: members of the group only.
        let limited = match origin.remote() {
            Some(r) => matches!(
                self.server_standing(&r.server).await?,
                Standing::Limited { .. }
            ),
            None => false,
        };
        let author = origin.actor_id(self.urls());
        let (ap_id, url, published, mention_ids) = match identity {
            Identity::Minted => {
                let id = self.urls().new_post().to_string();
                let mentions = hearth_domain::notification::local_mentions(
                    &content.source,
                    &self.config.domain,
                )
                .into_iter()
                .map(|name| self.urls().user(&name).to_string())
                .collect();
                (id.clone(), Some(id), Utc::now(), mentions)
            }
            Identity::Given {
                ap_id,
                url,
                published,
                mentions,
            } => {
                self.check_remote_id(origin, &ap_id)?;
                (ap_id, url, published.unwrap_or_else(Utc::now), mentions)
            }
        };
        let activity = self.activity_id(origin);
        let Some(txn) = self.begin(origin).await? else {
            return Ok(None);
        };
        let inserted = posts::insert(
            &txn,
            NewPost {
                ap_id,
                group_ap_id: group.ap_id(self),
                group_id: match &group {
                    PostGroup::Local(g) => Some(g.id),
                    PostGroup::Remote(_) => None,
                },
                author_ap_id: author,
                author_user_id: match origin {
                    Origin::Local(account) => Some(account.id),
                    Origin::Remote(_) => None,
                },
                in_reply_to_ap_id: parent.as_ref().map(|p| p.ap_id.clone()),
                parent,
                kind,
                title: content.title,
                source: content.source,
                content_html: content.html,
                content_warning: content.content_warning,
                support_kind: content.support_kind,
                visibility,
                url,
                link: content.link,
                sources: content.sources,
                local: origin.is_local(),
                published_at: published,
                held_activity: held.then(|| activity.clone()),
                limited,
                speaking_as: content.speaking_as,
                disclaimer: content.disclaimer,
            },
        )
        .await;
        let post = match inserted {
            Ok(post) => post,
            Err(DbError::Conflict { .. }) => {
                txn.rollback().await?;
                return Ok(None);
            }
            Err(err) => return Err(err.into()),
        };
        // A post in a group here is checked for crisis phrases whoever
        // wrote it, held or not (see `crisis.rs`).
        let crisis = match &group {
            PostGroup::Local(_) => self.notice_crisis(&txn, &post).await?,
            PostGroup::Remote(_) => None,
        };
        if held {
            // Nobody reads it, nothing is sent, nobody is told but the
            // moderators, until one of them approves it.
            self.tell_about_held(&txn, &post).await?;
            self.commit(txn).await?;
            if let Some(report) = &crisis {
                self.tell_crisis_webhook(&post, report);
            }
            tracing::info!(post = %post.ap_id, author = %post.author_ap_id, "post held for the moderators");
            return Ok(Some(post));
        }
        let mut mentioned = Vec::new();
        for id in &mention_ids {
            if let Some(LocalRef::User(name)) = self.urls().parse_local_id(id)
                && let Some(account) = hearth_db::accounts::find_by_username(&txn, &name).await?
            {
                mentioned.push(account.id);
            }
        }
        notifications::post_stored(&txn, &post, &mentioned).await?;
        self.announce(&txn, origin, &group, &post, activity, Change::Created)
            .await?;
        self.commit(txn).await?;
        if let Some(report) = &crisis {
            self.tell_crisis_webhook(&post, report);
        }
        tracing::info!(post = %post.ap_id, kind = kind.as_str(), author = %post.author_ap_id, "post written");
        Ok(Some(post))
    }

    /// Who may edit `post`: its author, and only while it exists. Returns
    /// the post's group, for [`App::change`].
    pub(crate) async fn check_edit(
        &self,
        origin: &Origin,
        post: &Post,
    ) -> Result<PostGroup, AppError> {
        let group = self.live_group(origin, post).await?;
        self.check_relay(origin, &group)?;
        if !self.is_author(origin, post) {
            return Err(AppError::Forbidden(
                "Only the person who wrote a post can change it.",
            ));
        }
        Ok(group)
    }

    /// Apply an edit that [`App::check_edit`] allowed. `None` for a second
    /// delivery.
    pub(crate) async fn change(
        &self,
        origin: &Origin,
        post: Post,
        group: PostGroup,
        content: Content,
        updated_at: DateTime<Utc>,
    ) -> Result<Option<Post>, AppError> {
        let Some(txn) = self.begin(origin).await? else {
            return Ok(None);
        };
        let updated = posts::update(
            &txn,
            post.id,
            PostEdit {
                title: content.title,
                source: content.source,
                content_html: content.html,
                content_warning: content.content_warning,
                support_kind: match post.kind {
                    PostKind::Thread => content.support_kind,
                    PostKind::Reply => None,
                },
                link: content.link,
                sources: content.sources,
                updated_at,
                speaking_as: content.speaking_as,
                disclaimer: content.disclaimer,
            },
        )
        .await?;
        // An edit that brings crisis words in is noticed as a new post's
        // would be; one that keeps them is not reported again.
        let crisis = match &group {
            PostGroup::Local(_) if self.crisis_words(&post).is_none() => {
                self.notice_crisis(&txn, &updated).await?
            }
            _ => None,
        };
        let id = self.activity_id(origin);
        self.announce(&txn, origin, &group, &updated, id, Change::Edited)
            .await?;
        self.commit(txn).await?;
        if let Some(report) = &crisis {
            self.tell_crisis_webhook(&updated, report);
        }
        Ok(Some(updated))
    }

    /// Delete (by its author) or remove (by a moderator) a post. `None` for
    /// a second delivery.
    pub(crate) async fn erase(
        &self,
        origin: &Origin,
        post: Post,
        how: Erase,
    ) -> Result<Option<()>, AppError> {
        let group = self.readable_group(origin, &post).await?;
        self.check_relay(origin, &group)?;
        let by_author = self.is_author(origin, &post);
        // Deleted stays deleted; only the author of a removed post may
        // still erase the words kept for the moderators.
        let kept = post.is_deleted();
        if kept && !(by_author && removed::find(&self.db, post.id).await?.is_some()) {
            return Err(AppError::NotFound { what: "post" });
        }
        // A group elsewhere: its own server (or a moderator it announced)
        // decides what is in it.
        let moderator = !kept && self.may_moderate(&self.db, origin, &group).await?;
        let reason = match (&how, by_author, moderator) {
            (Erase::OwnPost, true, _) => None,
            (Erase::Removal(reason), _, true) => Some(reason.clone()),
            (Erase::Either(_), true, _) => None,
            (Erase::Either(reason), false, true) => Some(reason.clone()),
            (Erase::Removal(_), _, false) => {
                return Err(AppError::Forbidden(
                    "Only the group's moderators can remove posts.",
                ));
            }
            _ => {
                return Err(AppError::Forbidden(
                    "Only the person who wrote a post can change it.",
                ));
            }
        };
        let actor = origin.actor_id(self.urls());
        let Some(txn) = self.begin(origin).await? else {
            return Ok(None);
        };
        let deleted = match &reason {
            // A moderator's removal: the words are kept aside (for the
            // moderators only) so that it can be undone.
            Some(reason) => {
                notifications::post_removed(&txn, &post, &actor, reason).await?;
                self.log_post_action(&txn, origin, &group, &post, ModAction::RemovePost, reason)
                    .await?;
                if self.config.moderation.removed_kept_days == 0 {
                    posts::mark_deleted(&txn, post.id).await?
                } else {
                    removed::remove(&txn, &post, &actor, reason).await?
                }
            }
            // The author's: nothing of it stays, not even for moderators.
            None => {
                removed::forget(&txn, post.id).await?;
                posts::mark_deleted(&txn, post.id).await?
            }
        };
        let id = self.activity_id(origin);
        let reason = reason.filter(|r| !r.is_empty());
        // The author's own post, deleted here: every server that received
        // it is told, and how each answers is its receipt.
        let erasure = match (&reason, origin) {
            (None, Origin::Local(account)) if post.local && !kept => Some(
                hearth_db::erasures::create(
                    &txn,
                    hearth_db::erasures::ErasureKind::Post,
                    &post.ap_id,
                    Some(account.id),
                    crate::erasure::BY_MEMBER,
                    None,
                )
                .await?
                .id,
            ),
            _ => None,
        };
        self.announce_erasure(
            &txn,
            origin,
            &group,
            &deleted,
            id,
            Change::Deleted { reason },
            erasure,
        )
        .await?;
        if erasure.is_some() {
            hearth_db::erasures::forget_copies(&txn, &post.author_ap_id, Some(&post.ap_id)).await?;
        }
        self.commit(txn).await?;
        tracing::info!(post = %post.ap_id, by = %actor, author = by_author, "post deleted");
        Ok(Some(()))
    }

    /// The one door for undoing a moderator's removal: the kept words are
    /// put back, the author is told, and every server that was told of the
    /// removal is sent its `Undo` (announced by the group), carrying the
    /// removal's reason as Lemmy expects. `None` for a second delivery.
    pub(crate) async fn bring_back(
        &self,
        origin: &Origin,
        post: Post,
        reason: &str,
    ) -> Result<Option<()>, AppError> {
        let group = self.readable_group(origin, &post).await?;
        self.check_relay(origin, &group)?;
        if !self.may_moderate(&self.db, origin, &group).await? {
            return Err(AppError::Forbidden(
                "Only the group's moderators can bring back a removed post.",
            ));
        }
        let Some(kept) = removed::find(&self.db, post.id).await? else {
            return Err(AppError::NotFound {
                what: "removed post",
            });
        };
        let actor = origin.actor_id(self.urls());
        let Some(txn) = self.begin(origin).await? else {
            return Ok(None);
        };
        let Some(restored) = removed::restore(&txn, post.id).await? else {
            txn.rollback().await?;
            return Err(AppError::NotFound {
                what: "removed post",
            });
        };
        notifications::post_restored(&txn, &restored, &actor).await?;
        self.log_post_action(
            &txn,
            origin,
            &group,
            &restored,
            ModAction::RestorePost,
            reason,
        )
        .await?;
        let id = self.activity_id(origin);
        self.announce(
            &txn,
            origin,
            &group,
            &restored,
            id,
            Change::Restored {
                removal_reason: kept.reason,
            },
        )
        .await?;
        self.commit(txn).await?;
        tracing::info!(post = %post.ap_id, by = %actor, "removed post brought back");
        Ok(Some(()))
    }

    /// Record a reaction. `None` for a second delivery.
    pub(crate) async fn add_reaction(
        &self,
        origin: &Origin,
        post: Post,
        reaction: Reaction,
    ) -> Result<Option<()>, AppError> {
        let group = self.live_group(origin, &post).await?;
        self.may_take_part(origin, &group, false).await?;
        self.within_limits(origin, crate::limits::Act::React)?;
        let actor = origin.actor_id(self.urls());
        let id = self.activity_id(origin);
        let Some(txn) = self.begin(origin).await? else {
            return Ok(None);
        };
        let user_id = match origin {
            Origin::Local(account) => Some(account.id),
            Origin::Remote(_) => None,
        };
        if posts::add_reaction(&txn, post.id, reaction, &actor, user_id, &id).await? {
            notifications::reacted(&txn, &post, &actor, reaction).await?;
            self.announce(&txn, origin, &group, &post, id, Change::Reacted(reaction))
                .await?;
        }
        self.commit(txn).await?;
        Ok(Some(()))
    }

    /// Take back the reaction another server's member gave with the
    /// activity `like_id`. Only the one who reacted can; a group elsewhere
    /// only for its own posts. `None` when there was nothing to take back
    /// (or for a second delivery).
    pub(crate) async fn take_back(
        &self,
        origin: &Origin,
        like_id: &str,
    ) -> Result<Option<()>, AppError> {
        let actor = origin.actor_id(self.urls());
        let Some(found) = posts::find_reaction_by_ap_id(&self.db, like_id).await? else {
            return Ok(None);
        };
        if found.actor_ap_id != actor {
            return Err(AppError::Refused(format!(
                "{actor} may not take back a reaction of {}",
                found.actor_ap_id
            )));
        }
        let post = posts::find_by_id(&self.db, found.post_id)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        let group = group_of(&self.db, &post)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        self.check_relay(origin, &group)?;
        let Some(txn) = self.begin(origin).await? else {
            return Ok(None);
        };
        if posts::remove_reaction_by_ap_id(&txn, like_id, &actor)
            .await?
            .is_some()
        {
            let id = self.activity_id(origin);
            self.announce(
                &txn,
                origin,
                &group,
                &post,
                id,
                Change::Unreacted {
                    reaction: found.reaction,
                    like_id: like_id.to_owned(),
                },
            )
            .await?;
        }
        self.commit(txn).await?;
        Ok(Some(()))
    }

    // ---- the checks ---------------------------------------------------

    /// The post's group, when whoever asks may read the post; "not found"
    /// otherwise, exactly as for a post that does not exist.
    async fn readable_group(&self, origin: &Origin, post: &Post) -> Result<PostGroup, AppError> {
        let group = group_of(&self.db, post).await?;
        if !access::can_read(
            &self.db,
            &origin.reader(),
            post,
            group.as_ref(),
            self.vouched(),
        )
        .await?
        {
            return Err(AppError::NotFound { what: "post" });
        }
        group.ok_or(AppError::NotFound { what: "post" })
    }

    /// [`App::readable_group`], for a post that is not deleted: deleted
    /// stays deleted, nothing changes or attaches to it.
    async fn live_group(&self, origin: &Origin, post: &Post) -> Result<PostGroup, AppError> {
        let group = self.readable_group(origin, post).await?;
        if post.is_deleted() {
            return Err(AppError::NotFound { what: "post" });
        }
        Ok(group)
    }

    /// The visibility of the thread `post` is in (its own for a thread).
    /// The thread `post` is in (itself for a thread).
    async fn thread_of(&self, post: &Post) -> Result<Post, AppError> {
        Ok(match post.root_id {
            Some(root) => posts::find_by_id(&self.db, root)
                .await?
                .unwrap_or_else(|| post.clone()),
            None => post.clone(),
        })
    }

    /// Whether `origin` may write, reply or react in `group`:
    /// - a member here: when a joined member;
    /// - another server's member, signed: in a group here, when a joined
    ///   member (or when the group welcomes outside posts and
    ///   `outside_welcome` says this is such a post);
    /// - a group elsewhere: only in itself, and only while members here
    ///   follow it.
    async fn may_take_part(
        &self,
        origin: &Origin,
        group: &PostGroup,
        outside_welcome: bool,
    ) -> Result<(), AppError> {
        self.check_not_banned(origin, &group.ap_id(self)).await?;
        match origin {
            Origin::Local(account) => {
                if !self.is_member(account.id, group).await? {
                    return Err(AppError::NotMember);
                }
            }
            Origin::Remote(r) => match (&r.via, group) {
                (Via::Signed(actor), PostGroup::Local(g)) => {
                    let joined = groups::find_membership(&self.db, g.id, Member::Remote(actor.id))
                        .await?
                        .is_some_and(|m| m.state == MembershipState::Joined);
                    if !joined && !outside_welcome {
                        return Err(AppError::NotMember);
                    }
                }
                (Via::Signed(_), PostGroup::Remote(g)) => {
                    return Err(AppError::Refused(format!(
                        "{} is a group on another server; write to it there",
                        g.ap_id
                    )));
                }
                (Via::Relay(_), _) => self.check_relay(origin, group)?,
            },
        }
        Ok(())
    }

    /// A group elsewhere may only pass on what belongs to itself.
    fn check_relay(&self, origin: &Origin, group: &PostGroup) -> Result<(), AppError> {
        if let Some(r) = origin.remote()
            && let Via::Relay(relay) = &r.via
            && !group.same_as(relay)
        {
            return Err(AppError::Refused(format!(
                "{} may only pass on activities about its own posts",
                relay.ap_id
            )));
        }
        Ok(())
    }

    pub(crate) fn is_author(&self, origin: &Origin, post: &Post) -> bool {
        match origin {
            Origin::Local(account) => post.author_user_id == Some(account.id),
            Origin::Remote(r) => !post.local && post.author_ap_id == r.actor,
        }
    }

    /// A post another server names must be its own: on the author's
    /// server, and never on this one.
    fn check_remote_id(&self, origin: &Origin, ap_id: &str) -> Result<(), AppError> {
        let server = crate::ids::authority_of(ap_id);
        match origin.remote() {
            Some(r) if server.as_deref() == Some(r.server.as_str()) => Ok(()),
            Some(r) => Err(AppError::Refused(format!(
                "{ap_id} is not on the server of its author {}",
                r.actor
            ))),
            None => Err(AppError::Internal("a given id for a local post".into())),
        }
    }

    /// The id of the activity a change is announced with.
    pub(crate) fn activity_id(&self, origin: &Origin) -> String {
        match origin {
            Origin::Local(_) => self.urls().new_activity().to_string(),
            Origin::Remote(r) => r.activity.clone(),
        }
    }

    /// Tell other servers about a change to a post, unless it never leaves
    /// this server: a group here relays it to its members' servers; a group
    /// elsewhere hears it from the member here who did it (and relays it
    /// itself; what it relays to us is not passed on again).
    async fn announce(
        &self,
        txn: &DatabaseTransaction,
        origin: &Origin,
        group: &PostGroup,
        post: &Post,
        id: String,
        change: Change,
    ) -> Result<(), AppError> {
        self.announce_erasure(txn, origin, group, post, id, change, None)
            .await
    }

    /// [`Self::announce`] for a deletion that carries out the erasure
    /// `erasure` (when given): the servers that hold a copy of the post
    /// are told too, member servers or not, and the deliveries keep trying.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn announce_erasure(
        &self,
        txn: &DatabaseTransaction,
        origin: &Origin,
        group: &PostGroup,
        post: &Post,
        id: String,
        change: Change,
        erasure: Option<i64>,
    ) -> Result<(), AppError> {
        // A held post has not been published: nothing about it leaves
        // until a moderator lets it through.
        if !post.visibility.federates() || post.is_held() {
            return Ok(());
        }
        let to = match group {
            PostGroup::Local(g) if erasure.is_some() => PostAudience::GroupHere {
                group: g.clone(),
                inboxes: self.holding_servers(txn, g.id, post).await?,
            },
            // Every member server, the one the activity came from included:
            // as Lemmy's groups do, the group's Announce tells it the
            // activity was accepted (and Hearth ignores its own activities
            // coming back).
            // Reactions are the group's own business, whatever the post's
            // visibility: only servers that keep members-only posts to the
            // group hear of them.
            PostGroup::Local(g) => PostAudience::GroupHere {
                group: g.clone(),
                inboxes: self
                    .member_servers(
                        txn,
                        g.id,
                        post.effective_visibility() != Visibility::Public
                            || matches!(change, Change::Reacted(_) | Change::Unreacted { .. }),
                    )
                    .await?,
            },
            PostGroup::Remote(g) if origin.is_local() => {
                PostAudience::GroupElsewhere { group: g.clone() }
            }
            PostGroup::Remote(_) => return Ok(()),
        };
        let act = PostAct {
            id,
            actor: origin.actor_id(self.urls()),
            by_member_here: origin.is_local(),
            post: post.clone(),
            change,
        };
        self.emit_for(txn, Event::Post(Box::new(PostEvent { to, act })), erasure)
            .await
    }

    // ---- reading ------------------------------------------------------

    /// A post the viewer may read, with its group.
    pub async fn readable_post(
        &self,
        viewer: Option<&Session>,
        id: i64,
    ) -> Result<(Post, PostGroup), AppError> {
        let post = self.post_by_id(id).await?;
        self.visible(&Reader::viewer(viewer), post).await
    }

    /// `post` with its group, when `reader` may read it.
    async fn visible(&self, reader: &Reader, post: Post) -> Result<(Post, PostGroup), AppError> {
        let group = group_of(&self.db, &post).await?;
        if !access::can_read(&self.db, reader, &post, group.as_ref(), self.vouched()).await? {
            return Err(AppError::NotFound { what: "post" });
        }
        let group = group.ok_or(AppError::NotFound { what: "post" })?;
        Ok((post, group))
    }

    /// `post` with its group and the read rule for `reader` in that group,
    /// when `reader` may read it: one look at how the reader stands towards
    /// the group serves the post and the thread around it.
    async fn readable_around(
        &self,
        reader: &Reader,
        post: Post,
    ) -> Result<(Post, PostGroup, access::Readable), AppError> {
        let group = group_of(&self.db, &post)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        let rule = access::readable_in(&self.db, reader, &group, self.vouched()).await?;
        if !rule.allows(&post) {
            return Err(AppError::NotFound { what: "post" });
        }
        Ok((post, group, rule))
    }

    /// A post written here, by its id, when `reader` may read it (for
    /// fetches by id; a deleted one comes back as its tombstone).
    pub async fn own_post_for(
        &self,
        reader: &Reader,
        ap_id: &str,
    ) -> Result<(Post, PostGroup), AppError> {
        let post = posts::find_by_ap_id(&self.db, ap_id)
            .await?
            .filter(|p| p.local)
            .ok_or(AppError::NotFound { what: "post" })?;
        self.visible(reader, post).await
    }

    /// A stored post, written here or on another server, by its
    /// ActivityPub id, when `reader` may read it (a deleted one comes back
    /// as its tombstone): what a member's own report was about.
    pub async fn stored_post_for(
        &self,
        reader: &Reader,
        ap_id: &str,
    ) -> Result<(Post, PostGroup), AppError> {
        let post = posts::find_by_ap_id(&self.db, ap_id)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        self.visible(reader, post).await
    }

    /// The direct replies to a post written here, for its `replies`
    /// collection: those `reader` may read, not deleted.
    pub async fn replies_for(&self, reader: &Reader, ap_id: &str) -> Result<Vec<Post>, AppError> {
        let post = posts::find_by_ap_id(&self.db, ap_id)
            .await?
            .filter(|p| p.local)
            .ok_or(AppError::NotFound { what: "post" })?;
        let (post, _, visible) = self.readable_around(reader, post).await?;
        Ok(posts::thread(&self.db, post.thread_id(), None)
            .await?
            .into_iter()
            .filter(|p| p.parent_id == Some(post.id) && !p.is_deleted())
            .filter(|p| visible.allows(p))
            .collect())
    }

    /// One page of a group's threads.
    pub async fn timeline(
        &self,
        viewer: Option<&Session>,
        group: &PostGroup,
        q: TimelineQuery,
    ) -> Result<Vec<Post>, AppError> {
        self.timeline_for(&Reader::viewer(viewer), group, q).await
    }

    pub(crate) async fn timeline_for(
        &self,
        reader: &Reader,
        group: &PostGroup,
        q: TimelineQuery,
    ) -> Result<Vec<Post>, AppError> {
        let visible = access::readable_in(&self.db, reader, group, self.vouched()).await?;
        Ok(posts::threads(
            &self.db,
            &group.ap_id(self),
            &visible.visibilities(),
            posts::ThreadFilter {
                support_kind: q.support_kind,
                with_sources: q.with_sources,
            },
            q.order,
            q.after,
            q.limit,
        )
        .await?)
    }

    /// One page of a group's threads with everything the API shows beside
    /// them, in a fixed number of queries whatever the page size: how the
    /// viewer stands towards the group (one), the threads (one, a range on
    /// a timeline index), their authors (at most two), reactions (one,
    /// grouped) and reply counts (one, grouped).
    pub async fn timeline_page(
        &self,
        viewer: Option<&Session>,
        group: &PostGroup,
        q: TimelineQuery,
    ) -> Result<TimelinePage, AppError> {
        let threads = self.timeline(viewer, group, q).await?;
        Ok(TimelinePage {
            authors: self.authors(&threads).await?,
            reactions: self.reactions(viewer, &threads).await?,
            replies: self.reply_counts(&threads).await?,
            threads,
        })
    }

    /// A group here's newest threads as `reader` may see them (its outbox).
    pub async fn group_outbox(
        &self,
        reader: &Reader,
        name: &str,
        limit: u64,
    ) -> Result<(Group, Vec<Post>), AppError> {
        let group = groups::find_by_name(&self.db, name)
            .await?
            .ok_or(AppError::NotFound { what: "group" })?;
        let threads = self
            .timeline_for(
                reader,
                &PostGroup::Local(group.clone()),
                TimelineQuery::newest(limit),
            )
            .await?;
        Ok((group, threads))
    }

    /// A thread with every reply the viewer may read (their own posts
    /// waiting for a moderator included), and whether the
    /// viewer is a member of its group (and so may reply and react): both
    /// from the one look at how the viewer stands towards the group that
    /// the read rule takes.
    pub async fn thread(&self, viewer: Option<&Session>, id: i64) -> Result<ThreadView, AppError> {
        let reader = Reader::viewer(viewer);
        let post = self.post_by_id(id).await?;
        let (post, group, visible) = self.readable_around(&reader, post).await?;
        // The viewer's own posts waiting for a moderator are shown to them
        // in their place.
        let own = viewer.map(|s| s.account.id);
        let posts = posts::thread(&self.db, post.thread_id(), own)
            .await?
            .into_iter()
            .filter(|p| visible.allows(p))
            .collect();
        Ok(ThreadView {
            group,
            posts,
            member: visible.is_member(),
        })
    }

    /// The newest threads across the groups the caller has joined, with
    /// each one's group title.
    pub async fn latest_in_my_groups(
        &self,
        session: &Session,
        limit: u64,
    ) -> Result<Vec<(String, Post)>, AppError> {
        let mut out = Vec::new();
        for m in self.my_memberships(session).await? {
            let group = match m {
                crate::groups::MyMembership::Local { group, membership }
                    if membership.state == MembershipState::Joined =>
                {
                    PostGroup::Local(group)
                }
                crate::groups::MyMembership::Remote { group, membership }
                    if membership.state == MembershipState::Joined =>
                {
                    PostGroup::Remote(group)
                }
                _ => continue,
            };
            let title = group.title();
            let threads = self
                .timeline(Some(session), &group, TimelineQuery::newest(limit))
                .await?;
            out.extend(threads.into_iter().map(|p| (title.clone(), p)));
        }
        out.sort_by_key(|(_, p)| std::cmp::Reverse(p.published_at));
        out.truncate(limit as usize);
        Ok(out)
    }

    /// A local member's public profile: their account and the posts of
    /// theirs the viewer may read (all of them for the author), newest
    /// first, each with its group's title.
    pub async fn profile(
        &self,
        viewer: Option<&Session>,
        username: &str,
        limit: u64,
    ) -> Result<(hearth_db::accounts::Account, Vec<(String, Post)>), AppError> {
        let account = hearth_db::accounts::find_by_username(&self.db, username)
            .await?
            .filter(|a| a.status == hearth_domain::AccountStatus::Active)
            .ok_or(AppError::NotFound { what: "account" })?;
        let author = self.urls().user(&account.username).to_string();
        let reader = Reader::viewer(viewer);
        let page = posts::by_author(&self.db, &author, None, limit).await?;
        let mut rules = GroupRules::default();
        let mut out = Vec::new();
        for post in page {
            if let Some(group) = rules.readable(self, &reader, &post).await? {
                out.push((group.title(), post));
            }
        }
        Ok((account, out))
    }

    /// The caller's own posts, newest first, each with its group (through
    /// the read rule like every read: people always read their own words).
    pub async fn my_posts(
        &self,
        session: &Session,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<(PostGroup, Post)>, AppError> {
        let author = self.urls().user(&session.account.username).to_string();
        let reader = Reader::Account(session.account.id);
        let page = posts::by_author(&self.db, &author, before, limit).await?;
        let mut rules = GroupRules::default();
        let mut out = Vec::new();
        for post in page {
            if let Some(group) = rules.readable(self, &reader, &post).await? {
                out.push((group, post));
            }
        }
        Ok(out)
    }

    /// Authors of `posts`, by actor id: at most two queries whatever the
    /// number of posts (the local accounts among them, then the actors
    /// known from elsewhere), each reading only the names a page shows.
    pub async fn authors(&self, posts: &[Post]) -> Result<HashMap<String, Author>, AppError> {
        let mut ids: Vec<&str> = posts.iter().map(|p| p.author_ap_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        // Local authors by their lower-case name, the way accounts are
        // looked up.
        let mut local: HashMap<String, Vec<&str>> = HashMap::new();
        for id in &ids {
            if let Ok(url) = url::Url::parse(id)
                && let Some(LocalRef::User(name)) = self.urls().parse_local(&url)
            {
                local.entry(name.to_ascii_lowercase()).or_default().push(id);
            }
        }
        let mut out = HashMap::new();
        if !local.is_empty() {
            let names: Vec<String> = local.keys().cloned().collect();
            for a in posts::local_authors(&self.db, &names).await? {
                for id in local
                    .get(&a.username.to_ascii_lowercase())
                    .into_iter()
                    .flatten()
                {
                    out.insert((*id).to_owned(), self.local_author(&a, id));
                }
            }
        }
        let elsewhere: Vec<String> = ids
            .iter()
            .filter(|id| !out.contains_key(**id))
            .map(|id| (*id).to_owned())
            .collect();
        if !elsewhere.is_empty() {
            for a in posts::remote_authors(&self.db, &elsewhere).await? {
                let author = remote_author(&a);
                out.insert(a.ap_id, author);
            }
        }
        // Actors not known here at all are shown by their id.
        for id in ids {
            out.entry(id.to_owned()).or_insert_with(|| Author {
                handle: id.to_owned(),
                display_name: id.to_owned(),
                url: id.to_owned(),
                local: false,
                professional: None,
            });
        }
        Ok(out)
    }

    /// A local account as an author, `ap_id` being its actor id.
    fn local_author(&self, a: &posts::LocalAuthor, ap_id: &str) -> Author {
        Author {
            handle: format!("{}@{}", a.username, self.config.domain),
            display_name: if a.display_name.is_empty() {
                a.username.clone()
            } else {
                a.display_name.clone()
            },
            url: ap_id.to_owned(),
            local: true,
            professional: a
                .professional_role
                .as_deref()
                .and_then(ProfessionalRole::from_remote)
                .map(|role| Professional {
                    role,
                    verified_by: self.config.domain.to_ascii_lowercase(),
                }),
        }
    }

    /// Reaction counts and the viewer's own reactions for `posts`, in one
    /// grouped query.
    pub async fn reactions(
        &self,
        viewer: Option<&Session>,
        posts: &[Post],
    ) -> Result<HashMap<i64, posts::ReactionSummary>, AppError> {
        let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let viewer_id = viewer.map(|s| self.urls().user(&s.account.username).to_string());
        Ok(posts::reaction_summary(
            &self.db,
            posts::ReactionScope::Posts(&ids),
            viewer_id.as_deref(),
        )
        .await?)
    }

    /// Reaction counts and the viewer's own reactions for every post of
    /// the thread `root_id` (as [`App::thread`] returns it), in one query
    /// however long the thread is. Counts of posts the viewer may not read
    /// are never asked for by callers, which only look up posts they hold.
    pub async fn thread_reactions(
        &self,
        viewer: Option<&Session>,
        root_id: i64,
    ) -> Result<HashMap<i64, posts::ReactionSummary>, AppError> {
        let viewer_id = viewer.map(|s| self.urls().user(&s.account.username).to_string());
        Ok(posts::reaction_summary(
            &self.db,
            posts::ReactionScope::Thread(root_id),
            viewer_id.as_deref(),
        )
        .await?)
    }

    /// How many replies each of `threads` has (tombstones of deleted ones
    /// included, as the thread shows them), in one grouped query. Replies
    /// are read by exactly those who read their thread, so the count of a
    /// thread the caller was allowed to list is a count they may know.
    pub async fn reply_counts(&self, threads: &[Post]) -> Result<HashMap<i64, u64>, AppError> {
        let ids: Vec<i64> = threads
            .iter()
            .filter(|p| p.kind == PostKind::Thread)
            .map(|p| p.id)
            .collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(posts::reply_counts(&self.db, &ids).await?)
    }
}

/// A page of a group's threads as one reader sees it
/// ([`App::timeline_page`]).
#[derive(Debug, Clone)]
pub struct TimelinePage {
    /// Newest (or most recently active) first.
    pub threads: Vec<Post>,
    /// By actor id.
    pub authors: HashMap<String, Author>,
    /// By post id; threads nobody reacted to are missing.
    pub reactions: HashMap<i64, posts::ReactionSummary>,
    /// Replies per thread id; threads without replies are missing.
    pub replies: HashMap<i64, u64>,
}

/// A thread as one reader sees it ([`App::thread`]).
#[derive(Debug, Clone)]
pub struct ThreadView {
    pub group: PostGroup,
    /// The thread and the replies the reader may read, oldest first.
    pub posts: Vec<Post>,
    /// Whether the reader is a joined member of the group, and so may
    /// reply and react.
    pub member: bool,
}

/// An actor from elsewhere as an author.
fn remote_author(a: &posts::RemoteAuthor) -> Author {
    Author {
        handle: format!("{}@{}", a.preferred_username, a.authority),
        display_name: if a.name.is_empty() {
            a.preferred_username.clone()
        } else {
            a.name.clone()
        },
        url: a.ap_id.clone(),
        local: false,
        professional: a.professional.clone(),
    }
}

/// The read rule for one reader across the groups of a list of posts
/// (a profile, one's own posts): each group is looked up, and how the
/// reader stands towards it asked, once, however many of its posts the
/// list holds. Each post is still judged by [`access::Readable::allows`],
/// the rule itself.
#[derive(Default)]
struct GroupRules {
    known: HashMap<String, Option<(PostGroup, access::Readable)>>,
}

impl GroupRules {
    /// `post`'s group, when `reader` may read `post`.
    async fn readable(
        &mut self,
        app: &App,
        reader: &Reader,
        post: &Post,
    ) -> Result<Option<PostGroup>, AppError> {
        if !self.known.contains_key(&post.group_ap_id) {
            let found = match group_of(&app.db, post).await? {
                Some(group) => {
                    let rule = access::readable_in(&app.db, reader, &group, app.vouched()).await?;
                    Some((group, rule))
                }
                None => None,
            };
            self.known.insert(post.group_ap_id.clone(), found);
        }
        // A post whose group is no longer known here is left out: a list
        // shows each post with its group.
        Ok(match self.known.get(&post.group_ap_id) {
            Some(Some((group, rule))) if rule.allows(post) => Some(group.clone()),
            _ => None,
        })
    }
}

/// The group a stored post is in, if it is still known here.
pub(crate) async fn group_of(
    db: &impl hearth_db::ConnectionTrait,
    post: &Post,
) -> Result<Option<PostGroup>, AppError> {
    Ok(match post.group_id {
        Some(id) => groups::find_by_id(db, id).await?.map(PostGroup::Local),
        None => remote::find_actor(db, &post.group_ap_id)
            .await?
            .map(PostGroup::Remote),
    })
}

/// How a post is being erased.
#[derive(Debug, Clone)]
pub(crate) enum Erase {
    /// By its author; nobody else may.
    OwnPost,
    /// By a moderator, with a reason; nobody else may.
    Removal(String),
    /// Whichever applies (another server's `Delete` does not say): by the
    /// author, or a moderator's removal with this reason.
    Either(String),
}

fn parse_visibility(raw: Option<&str>, group: &PostGroup) -> Result<Visibility, ValidationError> {
    let visibility = match raw {
        None | Some("") => Visibility::Members,
        Some(raw) => raw
            .parse::<Visibility>()
            .map_err(|e| ValidationError::new("visibility", "invalid", e.to_string()))?,
    };
    if visibility == Visibility::Local && matches!(group, PostGroup::Remote(_)) {
        return Err(ValidationError::new(
            "visibility",
            "not_here",
            "\"Only this server\" is for groups on this server",
        ));
    }
    Ok(visibility)
}

/// Who wrote a post, for display.
#[derive(Debug, Clone)]
pub struct Author {
    pub handle: String,
    pub display_name: String,
    pub url: String,
    pub local: bool,
    /// Their professional role and who verified it: verified here and
    /// not revoked, or confirmed by the verifying server itself.
    pub professional: Option<Professional>,
}

impl Author {
    /// The disclaimer shown under `post` when it was written as a
    /// professional and its author's verification holds now (here, or
    /// confirmed by the server that verified them); `None` shows it as a
    /// peer's post. Revoking the verification takes the badge and the
    /// professional's voice off every post at once.
    pub fn disclaimer_for<'a>(&self, post: &'a Post) -> Option<&'a str> {
        (post.speaking_as == hearth_domain::post::SpeakingAs::Professional
            && self.professional.is_some()
            && !post.is_deleted())
        .then(|| {
            post.disclaimer
                .as_deref()
                .filter(|d| !d.is_empty())
                .unwrap_or(hearth_domain::professional::DEFAULT_DISCLAIMER)
        })
    }
}

/// A plain-text excerpt of a removal reason another server gave.
pub(crate) fn remote_reason(raw: &str) -> String {
    text::excerpt(&text::html_to_plain(raw), REASON_MAX)
}

#[cfg(test)]
mod tests {
    //! A timeline page and a thread against a real SQLite file: what they
    //! show (order, reply counts, authors, reactions, what a non-member
    //! sees), and that they cost the same number of queries whatever
    //! their size. The statements are counted with sea-orm's metric
    //! callback on the app's own connection pool; that each runs on an
    //! index is `hearth_db::posts`' test.

    use std::sync::{Arc, Mutex};

    use chrono::Duration;
    use hearth_db::DatabaseConnection;
    use hearth_db::accounts::NewAccount;
    use hearth_db::groups::NewGroup;
    use hearth_db::remote::FetchedActor;
    use hearth_db::tokens::Session;
    use hearth_domain::{AccountStatus, Bio, DisplayName, GroupName, JoinPolicy, Role, Username};

    use super::*;

    const REMOTE: &str = "https://remote.example/users/someone";

    /// The SQL of every statement the app ran.
    type Log = Arc<Mutex<Vec<String>>>;

    struct Scene {
        app: App,
        log: Log,
        group: PostGroup,
        reader: Session,
        outsider: Session,
        /// Thread ids, oldest first; thread `i` has `i % 4` replies.
        threads: Vec<i64>,
        _dir: tempfile::TempDir,
    }

    fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    async fn account(db: &DatabaseConnection, name: &str) -> Session {
        let account = ok(hearth_db::accounts::insert(
            db,
            NewAccount {
                username: ok(Username::parse(name)),
                display_name: ok(DisplayName::parse(&format!("{name} shown"))),
                bio: ok(Bio::parse("")),
                email: None,
                password_hash: String::new(),
                role: Role::Member,
                status: AccountStatus::Active,
                registration_reason: String::new(),
                public_key_pem: String::new(),
                private_key_pem: String::new(),
            },
        )
        .await);
        Session {
            token_id: 0,
            account,
        }
    }

    async fn scene() -> Scene {
        let dir = ok(tempfile::tempdir());
        let env = [
            ("HEARTH_DATA_DIR", dir.path().display().to_string()),
            ("HEARTH_TEST_MODE", "true".to_owned()),
            ("HEARTH_DOMAIN", "localhost:8080".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v));
        let config = ok(crate::Config::load(None, env)).config;
        let (mut app, _) = ok(App::open(config).await);
        let log: Log = Arc::default();
        let sink = log.clone();
        app.db.set_metric_callback(move |info| {
            if let Ok(mut log) = sink.lock() {
                log.push(info.statement.sql.clone());
            }
        });
        let db = app.db.clone();
        let reader = account(&db, "reader").await;
        let writer = account(&db, "writer").await;
        let outsider = account(&db, "outsider").await;
        let group = ok(groups::insert(
            &db,
            NewGroup {
                name: ok(GroupName::parse("circle")),
                display_name: "Circle".into(),
                description: String::new(),
                rules: String::new(),
                join_policy: JoinPolicy::Open,
                listed: true,
                allow_outside_posts: false,
                visibility: hearth_domain::GroupVisibility::Public,
                public_key_pem: String::new(),
                private_key_pem: String::new(),
                created_by: reader.account.id,
            },
        )
        .await);
        ok(groups::request_membership(
            &db,
            group.id,
            Member::Local(writer.account.id),
            MembershipState::Joined,
            None,
        )
        .await);
        ok(remote::upsert_actor(
            &db,
            FetchedActor {
                ap_id: REMOTE.into(),
                kind: "Person".into(),
                authority: "remote.example".into(),
                preferred_username: "someone".into(),
                name: "Someone Elsewhere".into(),
                summary: String::new(),
                inbox: format!("{REMOTE}/inbox"),
                shared_inbox: None,
                outbox: None,
                followers: None,
                url: None,
                public_key_id: format!("{REMOTE}#key"),
                public_key_pem: String::new(),
                manually_approves_followers: false,
                group_visibility: None,
                professional: Default::default(),
            },
        )
        .await);
        let group = PostGroup::Local(group);
        let group_ap_id = group.ap_id(&app);
        let authors = [
            (
                app.urls().user("reader").to_string(),
                Some(reader.account.id),
            ),
            (
                app.urls().user("writer").to_string(),
                Some(writer.account.id),
            ),
            (REMOTE.to_owned(), None),
        ];
        let start = Utc::now() - Duration::days(1);
        let mut threads = Vec::new();
        for i in 0..12usize {
            let (author, user) = authors[i % 3].clone();
            let visibility = [Visibility::Public, Visibility::Members, Visibility::Local][i % 3];
            let new = |parent: Option<Post>, n: usize| NewPost {
                ap_id: format!("https://localhost:8080/p/{i}-{n}"),
                group_ap_id: group_ap_id.clone(),
                group_id: match &group {
                    PostGroup::Local(g) => Some(g.id),
                    PostGroup::Remote(_) => None,
                },
                author_ap_id: author.clone(),
                author_user_id: user,
                in_reply_to_ap_id: parent.as_ref().map(|p| p.ap_id.clone()),
                kind: if parent.is_some() {
                    PostKind::Reply
                } else {
                    PostKind::Thread
                },
                parent,
                title: format!("thread {i}"),
                source: "words".into(),
                content_html: "<p>words</p>".into(),
                content_warning: None,
                support_kind: Some(SupportKind::Emotional),
                visibility,
                url: None,
                link: None,
                local: user.is_some(),
                published_at: start + Duration::minutes(i as i64 * 10 + n as i64),
                held_activity: None,
                limited: false,
                sources: Vec::new(),
                speaking_as: Default::default(),
                disclaimer: None,
            };
            let thread = ok(posts::insert(&db, new(None, 0)).await);
            for n in 1..=(i % 4) {
                ok(posts::insert(&db, new(Some(thread.clone()), n)).await);
            }
            if i % 2 == 0 {
                let by = app.urls().user("reader").to_string();
                let like = format!("{by}#like-{i}");
                ok(posts::add_reaction(
                    &db,
                    thread.id,
                    Reaction::Hug,
                    &by,
                    Some(reader.account.id),
                    &like,
                )
                .await);
            }
            if i % 3 == 0 {
                let like = format!("{REMOTE}#like-{i}");
                ok(
                    posts::add_reaction(&db, thread.id, Reaction::Helpful, REMOTE, None, &like)
                        .await,
                );
            }
            threads.push(thread.id);
        }
        Scene {
            app,
            log,
            group,
            reader,
            outsider,
            threads,
            _dir: dir,
        }
    }

    impl Scene {
        /// Run `work`, returning what it gave and the statements it ran.
        async fn counted<T>(&self, work: impl Future<Output = T>) -> (T, Vec<String>) {
            ok(self.log.lock().map_err(|e| e.to_string())).clear();
            let out = work.await;
            let ran = ok(self.log.lock().map_err(|e| e.to_string())).clone();
            (out, ran)
        }

        fn newest(&self, limit: u64, after: Option<(i64, i64)>) -> TimelineQuery {
            TimelineQuery {
                after,
                ..TimelineQuery::newest(limit)
            }
        }
    }

    #[tokio::test]
    async fn timeline_page_shows_the_same_in_a_fixed_number_of_queries() {
        let s = scene().await;
        let member = Some(&s.reader);

        // A member: every thread, newest first, with what is shown beside.
        let (page, ran_50) = s
            .counted(s.app.timeline_page(member, &s.group, s.newest(50, None)))
            .await;
        let page = ok(page);
        let ids: Vec<i64> = page.threads.iter().map(|p| p.id).collect();
        let mut expected = s.threads.clone();
        expected.reverse();
        assert_eq!(ids, expected);
        for (i, id) in s.threads.iter().enumerate() {
            let replies = page.replies.get(id).copied().unwrap_or(0);
            assert_eq!(replies, (i % 4) as u64, "replies of thread {i}");
            let thread = page.threads.iter().find(|p| p.id == *id);
            let author = thread.and_then(|t| page.authors.get(&t.author_ap_id));
            let handle = author.map(|a| (a.handle.as_str(), a.display_name.as_str(), a.local));
            let want = [
                ("reader@localhost:8080", "reader shown", true),
                ("writer@localhost:8080", "writer shown", true),
                ("someone@remote.example", "Someone Elsewhere", false),
            ][i % 3];
            assert_eq!(handle, Some(want), "author of thread {i}");
            let summary = page.reactions.get(id).cloned().unwrap_or_default();
            let mut counts = Vec::new();
            if i % 2 == 0 {
                counts.push((Reaction::Hug, 1));
            }
            if i % 3 == 0 {
                counts.push((Reaction::Helpful, 1));
            }
            counts.sort_by_key(|(r, _)| Reaction::ALL.iter().position(|x| x == r));
            assert_eq!(summary.counts, counts, "reactions to thread {i}");
            let mine: Vec<Reaction> = (i % 2 == 0).then_some(Reaction::Hug).into_iter().collect();
            assert_eq!(summary.mine, mine, "the reader's reactions to thread {i}");
        }

        // Paging: a short page and the one after its cursor, in the same
        // number of statements as the long page.
        let (first, ran_5) = s
            .counted(s.app.timeline_page(member, &s.group, s.newest(5, None)))
            .await;
        let first = ok(first);
        let last = first
            .threads
            .last()
            .map(|p| (p.published_at.timestamp_micros(), p.id));
        let (second, ran_deep) = s
            .counted(s.app.timeline_page(member, &s.group, s.newest(5, last)))
            .await;
        let second = ok(second);
        let paged: Vec<i64> = first
            .threads
            .iter()
            .chain(&second.threads)
            .map(|p| p.id)
            .collect();
        assert_eq!(paged, expected[..10].to_vec());
        assert_eq!(ran_5.len(), ran_50.len(), "{ran_5:#?}\n{ran_50:#?}");
        assert_eq!(ran_deep.len(), ran_50.len());
        // Membership, threads, local and remote authors, reactions,
        // reply counts.
        assert!(ran_50.len() <= 6, "{ran_50:#?}");

        // Someone who is not a member, and nobody logged in: public
        // threads only.
        let public: Vec<i64> = expected
            .iter()
            .copied()
            .filter(|id| {
                s.threads
                    .iter()
                    .position(|t| t == id)
                    .is_some_and(|i| i % 3 == 0)
            })
            .collect();
        for viewer in [Some(&s.outsider), None] {
            let (page, ran) = s
                .counted(s.app.timeline_page(viewer, &s.group, s.newest(50, None)))
                .await;
            let page = ok(page);
            let ids: Vec<i64> = page.threads.iter().map(|p| p.id).collect();
            assert_eq!(ids, public);
            assert!(page.reactions.values().all(|r| r.mine.is_empty()));
            // Nobody logged in needs no look-up of a membership.
            assert!(ran.len() <= ran_50.len(), "{ran:#?}");
        }

        // The active order: the thread replied to last comes first.
        let (active, ran) = s
            .counted(s.app.timeline_page(
                member,
                &s.group,
                TimelineQuery {
                    order: Order::Active,
                    ..s.newest(50, None)
                },
            ))
            .await;
        let active = ok(active);
        assert_eq!(
            active.threads.first().map(|p| p.id),
            s.threads.last().copied()
        );
        assert_eq!(active.threads.len(), s.threads.len());
        assert_eq!(ran.len(), ran_50.len());
    }

    #[tokio::test]
    async fn a_thread_costs_the_same_queries_whatever_its_length() {
        let s = scene().await;
        let member = Some(&s.reader);
        let mut costs = Vec::new();
        // Threads 0, 3 and 6 have 0, 3 and 2 replies.
        for i in [0usize, 3, 6] {
            let id = s.threads[i];
            let ((view, authors, reactions), ran) = s
                .counted(async {
                    let view = ok(s.app.thread(member, id).await);
                    let authors = ok(s.app.authors(&view.posts).await);
                    let reactions = ok(s.app.thread_reactions(member, id).await);
                    (view, authors, reactions)
                })
                .await;
            assert_eq!(view.posts.len(), 1 + i % 4, "posts in thread {i}");
            assert!(view.member);
            assert!(
                view.posts
                    .iter()
                    .all(|p| authors.contains_key(&p.author_ap_id))
            );
            assert_eq!(
                reactions.get(&id).map(|r| r.counts.len()).unwrap_or(0),
                usize::from(i % 2 == 0) + usize::from(i % 3 == 0)
            );
            costs.push(ran.len());
        }
        assert!(costs.windows(2).all(|w| w[0] == w[1]), "{costs:?}");

        // A members-only thread is not found for someone outside.
        assert!(matches!(
            s.app.thread(Some(&s.outsider), s.threads[1]).await,
            Err(AppError::NotFound { .. })
        ));
        let public = ok(s.app.thread(Some(&s.outsider), s.threads[3]).await);
        assert!(!public.member);
    }
}
