//! A member's notifications: who is told about what (written in the
//! transaction of the change, whichever door it came through), listing
//! them with who did what where, the unread count for the page header, and
//! marking them read.
//!
//! Who is told:
//! - nobody about their own actions;
//! - nobody about a post they may not read (the one read rule decides: a
//!   members-only post in a group they are not, or no longer, in);
//! - the same unread news is not repeated (the store keeps one).

use hearth_db::notifications::{self, Notification};
use hearth_db::posts::{self, Post};
use hearth_db::tokens::Session;
use hearth_db::{ConnectionTrait, remote};
use hearth_domain::notification::NotificationKind;
use hearth_domain::post::Reaction;

use crate::access::{self, Reader};
use crate::posts::{Author, PostGroup, group_of};
use crate::{App, AppError};

/// Whether local account `user_id` may read `post`: the one read rule.
async fn may_read(db: &impl ConnectionTrait, user_id: i64, post: &Post) -> Result<bool, AppError> {
    let group = group_of(db, post).await?;
    access::can_read(db, &Reader::Account(user_id), post, group.as_ref(), &[]).await
}

/// A post was stored: tell the author of the post it answers, and the local
/// accounts it mentions (`mentioned`), if they may read it.
pub(crate) async fn post_stored(
    db: &impl ConnectionTrait,
    post: &Post,
    mentioned: &[i64],
) -> Result<(), AppError> {
    if post.is_deleted() {
        return Ok(());
    }
    let mut told = Vec::new();
    if let Some(parent_id) = post.parent_id
        && let Some(parent) = posts::find_by_id(db, parent_id).await?
        && let Some(author) = parent.author_user_id
        && parent.author_ap_id != post.author_ap_id
        && may_read(db, author, post).await?
    {
        notifications::record(
            db,
            author,
            NotificationKind::Reply,
            Some(&post.author_ap_id),
            Some(post.id),
            Some(&post.group_ap_id),
            "",
        )
        .await?;
        told.push(author);
    }
    for &user in mentioned {
        if told.contains(&user) || post.author_user_id == Some(user) {
            continue;
        }
        if may_read(db, user, post).await? {
            notifications::record(
                db,
                user,
                NotificationKind::Mention,
                Some(&post.author_ap_id),
                Some(post.id),
                Some(&post.group_ap_id),
                "",
            )
            .await?;
            told.push(user);
        }
    }
    Ok(())
}

/// `actor` gave `post` a reaction: tell its author, if it was written here.
pub(crate) async fn reacted(
    db: &impl ConnectionTrait,
    post: &Post,
    actor_ap_id: &str,
    reaction: Reaction,
) -> Result<(), AppError> {
    if let Some(author) = post.author_user_id
        && post.author_ap_id != actor_ap_id
        && !post.is_deleted()
    {
        notifications::record(
            db,
            author,
            NotificationKind::Reaction,
            Some(actor_ap_id),
            Some(post.id),
            Some(&post.group_ap_id),
            reaction.as_str(),
        )
        .await?;
    }
    Ok(())
}

/// A group decided on `user_id`'s request to join.
pub(crate) async fn join_decided(
    db: &impl ConnectionTrait,
    user_id: i64,
    group_ap_id: &str,
    approved: bool,
) -> Result<(), AppError> {
    let kind = if approved {
        NotificationKind::JoinApproved
    } else {
        NotificationKind::JoinDeclined
    };
    Ok(notifications::record(db, user_id, kind, None, None, Some(group_ap_id), "").await?)
}

/// A moderator (`actor`) acted on `post` (`kind`: removed, restored,
/// labelled; `detail`: their reason, or the label's kind): tell its
/// author, if written here and not by themselves.
async fn moderator_acted_on(
    db: &impl ConnectionTrait,
    post: &Post,
    actor_ap_id: &str,
    kind: NotificationKind,
    detail: &str,
) -> Result<(), AppError> {
    if let Some(author) = post.author_user_id
        && post.author_ap_id != actor_ap_id
    {
        notifications::record(
            db,
            author,
            kind,
            Some(actor_ap_id),
            Some(post.id),
            Some(&post.group_ap_id),
            detail,
        )
        .await?;
    }
    Ok(())
}

/// A moderator (`actor`) removed `post`, saying `reason`.
pub(crate) async fn post_removed(
    db: &impl ConnectionTrait,
    post: &Post,
    actor_ap_id: &str,
    reason: &str,
) -> Result<(), AppError> {
    moderator_acted_on(db, post, actor_ap_id, NotificationKind::PostRemoved, reason).await
}

/// A moderator (`actor`) labelled `post` (`kind`: the label's spelling).
pub(crate) async fn post_labelled(
    db: &impl ConnectionTrait,
    post: &Post,
    actor_ap_id: &str,
    kind: &str,
) -> Result<(), AppError> {
    moderator_acted_on(db, post, actor_ap_id, NotificationKind::PostLabelled, kind).await
}

/// A moderator (`actor`) brought back `post` after removing it.
pub(crate) async fn post_restored(
    db: &impl ConnectionTrait,
    post: &Post,
    actor_ap_id: &str,
) -> Result<(), AppError> {
    moderator_acted_on(db, post, actor_ap_id, NotificationKind::PostRestored, "").await
}

/// One notification with what a page needs to say it in words.
#[derive(Debug, Clone)]
pub struct NotificationView {
    pub notification: Notification,
    /// Who did it.
    pub actor: Option<Author>,
    /// The post it is about, when the member may still read it.
    pub post: Option<Post>,
    /// The group it happened in: its title and the slug of its page here.
    pub group: Option<(String, String)>,
}

impl App {
    /// One page of the caller's notifications, newest first.
    pub async fn notifications(
        &self,
        session: &Session,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<NotificationView>, AppError> {
        let list = notifications::list(&self.db, session.account.id, before, limit).await?;
        let mut out = Vec::with_capacity(list.len());
        for n in list {
            let actor = match &n.actor_ap_id {
                Some(id) => Some(self.actor_display(id).await?),
                None => None,
            };
            let post = match n.post_id {
                Some(id) => match posts::find_by_id(&self.db, id).await? {
                    Some(p) if may_read(&self.db, session.account.id, &p).await? => Some(p),
                    _ => None,
                },
                None => None,
            };
            let group = match &n.group_ap_id {
                Some(id) => match self.find_group(id).await {
                    Ok(g) => Some(group_title(self, &g)),
                    Err(AppError::NotFound { .. }) => None,
                    Err(e) => return Err(e),
                },
                None => None,
            };
            out.push(NotificationView {
                notification: n,
                actor,
                post,
                group,
            });
        }
        Ok(out)
    }

    /// How many of the caller's notifications are unread.
    pub async fn unread_notifications(&self, session: &Session) -> Result<u64, AppError> {
        Ok(notifications::unread_count(&self.db, session.account.id).await?)
    }

    /// Mark the caller's notifications read: those in `ids`, or every one
    /// up to `up_to` (all of them when both are `None`).
    pub async fn mark_notifications_read(
        &self,
        session: &Session,
        ids: Option<&[i64]>,
        up_to: Option<i64>,
    ) -> Result<u64, AppError> {
        Ok(notifications::mark_read(&self.db, session.account.id, ids, up_to).await?)
    }

    /// How to show an actor (a member here or elsewhere) by id.
    pub async fn actor_display(&self, ap_id: &str) -> Result<Author, AppError> {
        if let Ok(url) = url::Url::parse(ap_id)
            && let Some(crate::LocalRef::User(name)) = self.urls().parse_local(&url)
            && let Some(a) = hearth_db::accounts::find_by_username(&self.db, &name).await?
        {
            return Ok(Author {
                handle: format!("{}@{}", a.username, self.config.domain),
                display_name: if a.display_name.is_empty() {
                    a.username.clone()
                } else {
                    a.display_name.clone()
                },
                url: ap_id.to_owned(),
                local: true,
                professional: None,
            });
        }
        Ok(match remote::find_actor(&self.db, ap_id).await? {
            Some(a) => Author {
                handle: format!("{}@{}", a.preferred_username, a.authority),
                display_name: if a.name.is_empty() {
                    a.preferred_username.clone()
                } else {
                    a.name.clone()
                },
                url: a.ap_id.clone(),
                local: false,
                professional: None,
            },
            None => Author {
                handle: ap_id.to_owned(),
                display_name: ap_id.to_owned(),
                url: ap_id.to_owned(),
                local: false,
                professional: None,
            },
        })
    }
}

/// A group's title and the slug of its page here.
fn group_title(app: &App, group: &PostGroup) -> (String, String) {
    let slug = match group {
        PostGroup::Local(g) => g.name.clone(),
        PostGroup::Remote(_) => group.handle(app),
    };
    (group.title(), slug)
}
