//! Post use-cases: write threads and replies in groups here or elsewhere,
//! edit and delete them, react, and read timelines and threads.
//!
//! Who may do what: members of a group post, reply and react in it; only a
//! post's author edits or deletes it. Readers see public posts; members
//! also see members-only posts; `local` posts stay on this server.

use chrono::Utc;
use hearth_activitypub::context::LocalRef;
use hearth_activitypub::outbound;
use hearth_activitypub::posts as wire;
use hearth_activitypub::resolve::Handle;
use hearth_db::begin_write;
use hearth_db::groups::{self, Group, Member};
use hearth_db::posts::{self, NewPost, Order, Post, PostEdit, PostKind};
use hearth_db::remote::{self, RemoteActor};
use hearth_db::tokens::Session;
use hearth_domain::post::{
    Reaction, SupportKind, Visibility, parse_body, parse_content_warning, parse_link, parse_title,
};
use hearth_domain::{MembershipState, ValidationError, text};

use crate::{App, AppError};

/// A group a post is in: here, or on another server.
#[derive(Debug, Clone)]
pub enum PostGroup {
    Local(Group),
    Remote(RemoteActor),
}

impl PostGroup {
    pub fn ap_id(&self, app: &App) -> String {
        match self {
            PostGroup::Local(g) => app.fed().urls.group(&g.name).to_string(),
            PostGroup::Remote(a) => a.ap_id.clone(),
        }
    }

    pub fn handle(&self, app: &App) -> String {
        match self {
            PostGroup::Local(g) => format!("{}@{}", g.name, app.config.domain),
            PostGroup::Remote(a) => format!("{}@{}", a.preferred_username, a.authority),
        }
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
}

/// Timeline filters.
#[derive(Debug, Clone, Copy)]
pub struct TimelineQuery {
    pub order: Order,
    pub support_kind: Option<SupportKind>,
    pub after: Option<(i64, i64)>,
    pub limit: u64,
}

impl App {
    /// Find a group by local name, handle or link. A group elsewhere must
    /// already be known here (someone here asked to join it).
    pub async fn find_group(&self, target: &str) -> Result<PostGroup, AppError> {
        let target = target.trim();
        let urls = &self.fed().urls;
        if let Ok(url) = url::Url::parse(target) {
            if let Some(LocalRef::Group(name)) = urls.parse_local(&url) {
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

    /// Whether the account is a joined member of the group.
    pub async fn is_member(&self, account_id: i64, group: &PostGroup) -> Result<bool, AppError> {
        Ok(match group {
            PostGroup::Local(g) => {
                groups::find_membership(&self.db, g.id, Member::Local(account_id))
                    .await?
                    .is_some_and(|m| m.state == MembershipState::Joined)
            }
            PostGroup::Remote(a) => remote::find_membership(&self.db, account_id, a.id)
                .await?
                .is_some_and(|m| m.state == MembershipState::Joined),
        })
    }

    async fn require_member(&self, session: &Session, group: &PostGroup) -> Result<(), AppError> {
        if !self.is_member(session.account.id, group).await? {
            return Err(AppError::Forbidden(
                "Join the group to post, reply or react in it.",
            ));
        }
        Ok(())
    }

    /// Which visibilities `viewer` may read in `group`.
    pub async fn visible_in(
        &self,
        viewer: Option<&Session>,
        group: &PostGroup,
    ) -> Result<Vec<Visibility>, AppError> {
        let member = match viewer {
            Some(s) => self.is_member(s.account.id, group).await?,
            None => false,
        };
        Ok(match (member, group) {
            (true, PostGroup::Local(_)) => {
                vec![Visibility::Local, Visibility::Members, Visibility::Public]
            }
            (true, PostGroup::Remote(_)) => vec![Visibility::Members, Visibility::Public],
            (false, _) => vec![Visibility::Public],
        })
    }

    /// Start a thread.
    pub async fn create_thread(
        &self,
        session: &Session,
        group: &PostGroup,
        input: PostInput,
    ) -> Result<Post, AppError> {
        let mut errors = Vec::new();
        let title = parse_title(input.title.as_deref().unwrap_or(""))
            .map_err(|e| errors.push(e))
            .ok();
        let body = parse_body(input.body.as_deref().unwrap_or(""), false)
            .map_err(|e| errors.push(e))
            .ok();
        let cw = parse_content_warning(input.content_warning.as_deref().unwrap_or(""))
            .map_err(|e| errors.push(e))
            .ok();
        let support_kind = match input.support_kind.as_deref() {
            None | Some("") => {
                errors.push(ValidationError::new(
                    "support_kind",
                    "required",
                    "Choose what kind of post this is",
                ));
                None
            }
            Some(raw) => raw
                .parse::<SupportKind>()
                .map_err(|e| {
                    errors.push(ValidationError::new(
                        "support_kind",
                        "invalid",
                        e.to_string(),
                    ))
                })
                .ok(),
        };
        let visibility = parse_visibility(input.visibility.as_deref(), group)
            .map_err(|e| errors.push(e))
            .ok();
        let link = parse_link(input.link.as_deref().unwrap_or(""))
            .map_err(|e| errors.push(e))
            .ok();
        let (Some(title), Some(body), Some(cw), Some(support_kind), Some(visibility), Some(link)) =
            (title, body, cw, support_kind, visibility, link)
        else {
            return Err(AppError::Invalid(errors));
        };
        self.require_member(session, group).await?;
        self.publish(
            session,
            group,
            None,
            PostKind::Thread,
            title,
            body,
            cw,
            Some(support_kind),
            visibility,
            link,
        )
        .await
    }

    /// Reply to a post (a thread or another reply).
    pub async fn create_reply(
        &self,
        session: &Session,
        parent_id: i64,
        input: PostInput,
    ) -> Result<Post, AppError> {
        let mut errors = Vec::new();
        let body = parse_body(input.body.as_deref().unwrap_or(""), true)
            .map_err(|e| errors.push(e))
            .ok();
        let cw = parse_content_warning(input.content_warning.as_deref().unwrap_or(""))
            .map_err(|e| errors.push(e))
            .ok();
        let (Some(body), Some(cw)) = (body, cw) else {
            return Err(AppError::Invalid(errors));
        };
        let (parent, group) = self.readable_post(Some(session), parent_id).await?;
        if parent.is_deleted() {
            return Err(AppError::NotFound { what: "post" });
        }
        self.require_member(session, &group).await?;
        let visibility = parent.visibility;
        self.publish(
            session,
            &group,
            Some(parent),
            PostKind::Reply,
            String::new(),
            body,
            cw,
            None,
            visibility,
            None,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn publish(
        &self,
        session: &Session,
        group: &PostGroup,
        parent: Option<Post>,
        kind: PostKind,
        title: String,
        body: String,
        content_warning: Option<String>,
        support_kind: Option<SupportKind>,
        visibility: Visibility,
        link: Option<String>,
    ) -> Result<Post, AppError> {
        let urls = &self.fed().urls;
        let ap_id = urls.new_post().to_string();
        let author = urls.user(&session.account.username).to_string();
        let html = text::markdown_to_html(&body);
        let txn = begin_write(&self.db).await?;
        let post = posts::insert(
            &txn,
            NewPost {
                ap_id: ap_id.clone(),
                group_ap_id: group.ap_id(self),
                group_id: match group {
                    PostGroup::Local(g) => Some(g.id),
                    PostGroup::Remote(_) => None,
                },
                author_ap_id: author,
                author_user_id: Some(session.account.id),
                in_reply_to_ap_id: parent.as_ref().map(|p| p.ap_id.clone()),
                parent,
                kind,
                title,
                source: body,
                content_html: html,
                content_warning,
                support_kind,
                visibility,
                url: Some(ap_id),
                link,
                local: true,
                published_at: Utc::now(),
            },
        )
        .await?;
        let mut mentioned = Vec::new();
        for name in hearth_domain::notification::local_mentions(&post.source, &self.config.domain) {
            if let Some(account) = hearth_db::accounts::find_by_username(&txn, &name).await? {
                mentioned.push(account.id);
            }
        }
        hearth_db::notifications::post_stored(&txn, &post, &mentioned).await?;
        if visibility.federates() {
            let create = wire::create_activity(urls, &post, &group.handle(self));
            self.federate(
                &txn,
                group,
                &create,
                (kind == PostKind::Thread).then_some(&post),
            )
            .await?;
        }
        txn.commit().await?;
        self.fed().outbox_ready.notify_one();
        tracing::info!(post = %post.ap_id, kind = kind.as_str(), author = session.account.id, "post written");
        Ok(post)
    }

    /// Send an activity by a member about a post of `group`: a group here
    /// announces it to its members' servers; a group elsewhere gets it in
    /// its inbox and announces it itself.
    async fn federate(
        &self,
        txn: &hearth_db::DatabaseTransaction,
        group: &PostGroup,
        activity: &serde_json::Value,
        new_thread: Option<&Post>,
    ) -> Result<(), AppError> {
        match group {
            PostGroup::Local(g) => {
                wire::distribute(txn, self.fed(), g, activity, new_thread).await?
            }
            PostGroup::Remote(a) => {
                outbound::enqueue(
                    txn,
                    &self.fed().urls,
                    activity,
                    std::slice::from_ref(&a.inbox),
                )
                .await?
            }
        }
        Ok(())
    }

    /// A post the viewer may read, with its group.
    pub async fn readable_post(
        &self,
        viewer: Option<&Session>,
        id: i64,
    ) -> Result<(Post, PostGroup), AppError> {
        let post = posts::find_by_id(&self.db, id)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        let group = self.find_group(&post.group_ap_id).await?;
        let visible = self.visible_in(viewer, &group).await?;
        if !visible.contains(&post.visibility) {
            return Err(AppError::NotFound { what: "post" });
        }
        Ok((post, group))
    }

    async fn own_post(&self, session: &Session, id: i64) -> Result<(Post, PostGroup), AppError> {
        let (post, group) = self.readable_post(Some(session), id).await?;
        if post.author_user_id != Some(session.account.id) || post.is_deleted() {
            return Err(AppError::Forbidden(
                "Only the person who wrote a post can change it.",
            ));
        }
        Ok((post, group))
    }

    /// Edit one's own post.
    pub async fn edit_post(
        &self,
        session: &Session,
        id: i64,
        input: PostInput,
    ) -> Result<Post, AppError> {
        let (post, group) = self.own_post(session, id).await?;
        let mut errors = Vec::new();
        let title = match post.kind {
            PostKind::Thread => match input.title.as_deref() {
                Some(raw) => parse_title(raw).map_err(|e| errors.push(e)).ok(),
                None => Some(post.title.clone()),
            },
            PostKind::Reply => Some(String::new()),
        };
        let body = match input.body.as_deref() {
            Some(raw) => parse_body(raw, post.kind == PostKind::Reply)
                .map_err(|e| errors.push(e))
                .ok(),
            None => Some(post.source.clone()),
        };
        let cw = match input.content_warning.as_deref() {
            Some(raw) => parse_content_warning(raw).map_err(|e| errors.push(e)).ok(),
            None => Some(post.content_warning.clone()),
        };
        let support_kind = match (post.kind, input.support_kind.as_deref()) {
            (PostKind::Thread, Some(raw)) => raw
                .parse::<SupportKind>()
                .map(Some)
                .map_err(|e| {
                    errors.push(ValidationError::new(
                        "support_kind",
                        "invalid",
                        e.to_string(),
                    ))
                })
                .ok(),
            _ => Some(post.support_kind),
        };
        let link = match (post.kind, input.link.as_deref()) {
            (PostKind::Thread, Some(raw)) => parse_link(raw).map_err(|e| errors.push(e)).ok(),
            _ => Some(post.link.clone()),
        };
        let (Some(title), Some(body), Some(cw), Some(support_kind), Some(link)) =
            (title, body, cw, support_kind, link)
        else {
            return Err(AppError::Invalid(errors));
        };
        let txn = begin_write(&self.db).await?;
        let updated = posts::update(
            &txn,
            post.id,
            PostEdit {
                title,
                content_html: text::markdown_to_html(&body),
                source: body,
                content_warning: cw,
                support_kind,
                link,
                updated_at: Utc::now(),
            },
        )
        .await?;
        if updated.visibility.federates() {
            let update = wire::update_activity(&self.fed().urls, &updated, &group.handle(self));
            self.federate(&txn, &group, &update, None).await?;
        }
        txn.commit().await?;
        self.fed().outbox_ready.notify_one();
        Ok(updated)
    }

    /// Delete one's own post: its words are gone here at once, and every
    /// server that has it is told.
    pub async fn delete_post(&self, session: &Session, id: i64) -> Result<(), AppError> {
        let (post, group) = self.own_post(session, id).await?;
        let txn = begin_write(&self.db).await?;
        let deleted = posts::mark_deleted(&txn, post.id).await?;
        if deleted.visibility.federates() {
            let author = self.fed().urls.user(&session.account.username).to_string();
            let delete = wire::delete_activity(&self.fed().urls, &deleted, &author);
            self.federate(&txn, &group, &delete, None).await?;
        }
        txn.commit().await?;
        self.fed().outbox_ready.notify_one();
        Ok(())
    }

    /// Moderators: remove a post from a group here, with a reason for its
    /// author. Its words are erased here at once; every member server is
    /// sent a `Delete` by the moderator (carrying the reason as `summary`),
    /// announced by the group; the author is notified, here or, through
    /// their server, elsewhere.
    pub async fn remove_post(
        &self,
        session: &Session,
        id: i64,
        reason: &str,
    ) -> Result<(), AppError> {
        let reason = reason.trim();
        if reason.chars().count() > 500 {
            return Err(AppError::invalid(ValidationError::new(
                "reason",
                "too_long",
                "Keep the reason under 500 characters",
            )));
        }
        let (post, group) = self.readable_post(Some(session), id).await?;
        let PostGroup::Local(local) = &group else {
            return Err(AppError::Forbidden(
                "Only the group's moderators can remove posts.",
            ));
        };
        if !groups::is_moderator(&self.db, local.id, session.account.id).await? {
            return Err(AppError::Forbidden(
                "Only the group's moderators can remove posts.",
            ));
        }
        if post.is_deleted() {
            return Err(AppError::NotFound { what: "post" });
        }
        let moderator = self.fed().urls.user(&session.account.username).to_string();
        let txn = begin_write(&self.db).await?;
        hearth_db::notifications::post_removed(&txn, &post, &moderator, reason).await?;
        let deleted = posts::mark_deleted(&txn, post.id).await?;
        if deleted.visibility.federates() {
            let mut delete = wire::delete_activity(&self.fed().urls, &deleted, &moderator);
            if !reason.is_empty() {
                delete["summary"] = serde_json::json!(reason);
            }
            self.federate(&txn, &group, &delete, None).await?;
        }
        txn.commit().await?;
        self.fed().outbox_ready.notify_one();
        tracing::info!(post = %post.ap_id, moderator = session.account.id, "post removed by a moderator");
        Ok(())
    }

    /// Whether the viewer moderates the group (here) a post is in.
    pub async fn moderates(&self, session: &Session, group: &PostGroup) -> Result<bool, AppError> {
        Ok(match group {
            PostGroup::Local(g) => groups::is_moderator(&self.db, g.id, session.account.id).await?,
            PostGroup::Remote(_) => false,
        })
    }

    /// Give a support reaction (once per kind).
    pub async fn react(
        &self,
        session: &Session,
        id: i64,
        reaction: Reaction,
    ) -> Result<(), AppError> {
        let (post, group) = self.readable_post(Some(session), id).await?;
        if post.is_deleted() {
            return Err(AppError::NotFound { what: "post" });
        }
        self.require_member(session, &group).await?;
        let urls = &self.fed().urls;
        let actor = urls.user(&session.account.username).to_string();
        let like = wire::like_activity(urls, &actor, &post, reaction);
        let like_id = like["id"].as_str().unwrap_or_default().to_owned();
        let txn = begin_write(&self.db).await?;
        let added = posts::add_reaction(
            &txn,
            post.id,
            reaction,
            &actor,
            Some(session.account.id),
            &like_id,
        )
        .await?;
        if added {
            hearth_db::notifications::reacted(&txn, &post, &actor, reaction).await?;
        }
        if added && post.visibility.federates() {
            self.federate(&txn, &group, &like, None).await?;
        }
        txn.commit().await?;
        self.fed().outbox_ready.notify_one();
        Ok(())
    }

    /// Take a reaction back.
    pub async fn unreact(
        &self,
        session: &Session,
        id: i64,
        reaction: Reaction,
    ) -> Result<(), AppError> {
        let (post, group) = self.readable_post(Some(session), id).await?;
        let urls = &self.fed().urls;
        let actor = urls.user(&session.account.username).to_string();
        let txn = begin_write(&self.db).await?;
        let removed = posts::remove_reaction(&txn, post.id, reaction, &actor).await?;
        if let Some(like_id) = removed
            && post.visibility.federates()
        {
            let like = serde_json::json!({"id": like_id, "type": "Like", "actor": actor, "object": post.ap_id});
            let mut undo = outbound::undo(
                urls,
                &url::Url::parse(&actor).map_err(|e| AppError::Internal(e.to_string()))?,
                &like,
                &url::Url::parse(&post.group_ap_id)
                    .map_err(|e| AppError::Internal(e.to_string()))?,
            );
            undo["audience"] = serde_json::json!(post.group_ap_id);
            self.federate(&txn, &group, &undo, None).await?;
        }
        txn.commit().await?;
        self.fed().outbox_ready.notify_one();
        Ok(())
    }

    /// One page of a group's threads.
    pub async fn timeline(
        &self,
        viewer: Option<&Session>,
        group: &PostGroup,
        q: TimelineQuery,
    ) -> Result<Vec<Post>, AppError> {
        let visible = self.visible_in(viewer, group).await?;
        Ok(posts::threads(
            &self.db,
            &group.ap_id(self),
            &visible,
            q.support_kind,
            q.order,
            q.after,
            q.limit,
        )
        .await?)
    }

    /// A thread with every reply the viewer may read.
    pub async fn thread(
        &self,
        viewer: Option<&Session>,
        id: i64,
    ) -> Result<(PostGroup, Vec<Post>), AppError> {
        let (post, group) = self.readable_post(viewer, id).await?;
        // A reply can be narrower than its thread (a members-only answer
        // from another server under a public thread): filter each post.
        let visible = self.visible_in(viewer, &group).await?;
        let posts = posts::thread(&self.db, post.thread_id())
            .await?
            .into_iter()
            .filter(|p| visible.contains(&p.visibility))
            .collect();
        Ok((group, posts))
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
            let (group, title) = match m {
                crate::groups::MyMembership::Local { group, membership }
                    if membership.state == MembershipState::Joined =>
                {
                    let title = group.display_name.clone();
                    (PostGroup::Local(group), title)
                }
                crate::groups::MyMembership::Remote { group, membership }
                    if membership.state == MembershipState::Joined =>
                {
                    let title = if group.name.is_empty() {
                        group.preferred_username.clone()
                    } else {
                        group.name.clone()
                    };
                    (PostGroup::Remote(group), title)
                }
                _ => continue,
            };
            let threads = self
                .timeline(
                    Some(session),
                    &group,
                    TimelineQuery {
                        order: Order::Newest,
                        support_kind: None,
                        after: None,
                        limit,
                    },
                )
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
        let author = self.fed().urls.user(&account.username).to_string();
        let own = viewer.is_some_and(|s| s.account.id == account.id);
        let mut groups: std::collections::HashMap<String, Option<(String, Vec<Visibility>)>> =
            std::collections::HashMap::new();
        let mut out = Vec::new();
        for post in posts::by_author(&self.db, &author, None, limit).await? {
            if !groups.contains_key(&post.group_ap_id) {
                let seen = match self.find_group(&post.group_ap_id).await {
                    Ok(group) => {
                        let title = match &group {
                            PostGroup::Local(g) => g.display_name.clone(),
                            PostGroup::Remote(a) if !a.name.is_empty() => a.name.clone(),
                            PostGroup::Remote(a) => a.preferred_username.clone(),
                        };
                        Some((title, self.visible_in(viewer, &group).await?))
                    }
                    Err(AppError::NotFound { .. }) => None,
                    Err(e) => return Err(e),
                };
                groups.insert(post.group_ap_id.clone(), seen);
            }
            if let Some(Some((title, visible))) = groups.get(&post.group_ap_id)
                && (own || visible.contains(&post.visibility))
            {
                out.push((title.clone(), post));
            }
        }
        Ok((account, out))
    }

    /// The caller's own posts, newest first.
    pub async fn my_posts(
        &self,
        session: &Session,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Post>, AppError> {
        let author = self.fed().urls.user(&session.account.username).to_string();
        Ok(posts::by_author(&self.db, &author, before, limit).await?)
    }
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
}

impl App {
    /// Authors of `posts`, by actor id.
    pub async fn authors(
        &self,
        posts: &[Post],
    ) -> Result<std::collections::HashMap<String, Author>, AppError> {
        let mut out = std::collections::HashMap::new();
        for post in posts {
            if out.contains_key(&post.author_ap_id) {
                continue;
            }
            let author = self.actor_display(&post.author_ap_id).await?;
            out.insert(post.author_ap_id.clone(), author);
        }
        Ok(out)
    }

    /// Reaction counts and the viewer's own reactions for `posts`.
    pub async fn reactions(
        &self,
        viewer: Option<&Session>,
        posts: &[Post],
    ) -> Result<std::collections::HashMap<i64, posts::ReactionSummary>, AppError> {
        let viewer_id = viewer.map(|s| self.fed().urls.user(&s.account.username).to_string());
        let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        Ok(posts::reaction_summary(&self.db, &ids, viewer_id.as_deref()).await?)
    }
}
