//! A member's notifications: listing them with who did what where, the
//! unread count for the page header, and marking them read.

use hearth_db::notifications::{self, Notification};
use hearth_db::posts::{self, Post};
use hearth_db::remote;
use hearth_db::tokens::Session;

use crate::posts::{Author, PostGroup};
use crate::{App, AppError};

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
                    Some(p)
                        if notifications::can_read(&self.db, session.account.id, &p).await? =>
                    {
                        Some(p)
                    }
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
            && let Some(hearth_activitypub::context::LocalRef::User(name)) =
                self.fed().urls.parse_local(&url)
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
            },
            None => Author {
                handle: ap_id.to_owned(),
                display_name: ap_id.to_owned(),
                url: ap_id.to_owned(),
                local: false,
            },
        })
    }
}

/// A group's title and the slug of its page here.
fn group_title(app: &App, group: &PostGroup) -> (String, String) {
    match group {
        PostGroup::Local(g) => (g.display_name.clone(), g.name.clone()),
        PostGroup::Remote(a) => (
            if a.name.is_empty() {
                a.preferred_username.clone()
            } else {
                a.name.clone()
            },
            group.handle(app),
        ),
    }
}
