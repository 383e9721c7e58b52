//! A member's own data, gathered for them to take away (GDPR art. 20), and
//! the audit log of privileged reads (who opened whose private data).
//!
//! What an export holds: the profile (with the words given when signing
//! up), every post and reply the member wrote that is not deleted (each
//! through the read rule, as the member reads it), including those waiting
//! for a moderator and those a moderator removed whose words are still
//! kept: both are the member's own words, still on this server. The
//! reactions they gave, their memberships here and elsewhere, and their
//! notifications. Nothing anybody else wrote: a reply names the post it
//! answers by id, a reaction the post by id, a notification who and which
//! post by id, never their words (a ban's reason, a moderator's words, is
//! left out too).
//!
//! The member asks for their own ([`App::export_mine`]); an admin, or the
//! operator at the server's shell, asks for a member's
//! ([`App::export_member`]), and that is written in the audit log first,
//! which the member reads ([`App::my_audit_log`]) as admins read all of it
//! ([`App::audit_log`]).

use chrono::{DateTime, Utc};
use hearth_db::audit::{self, NewEntry};
use hearth_db::{accounts, groups, notifications, posts, remote, removed};
use hearth_domain::audit::AuditAction;
use hearth_domain::notification::NotificationKind;
use hearth_domain::{MembershipState, Role, ValidationError};

use crate::access::{self, Reader};
use crate::posts::{PostGroup, group_of};
use crate::records::{Account, Post, Session};
use crate::{App, AppError};

pub use hearth_db::audit::AuditEntry;
pub use hearth_db::posts::GivenReaction;

/// Everything an export holds.
#[derive(Debug, Clone)]
pub struct Export {
    pub account: Account,
    /// The member's actor id here.
    pub actor_id: String,
    pub posts: Vec<ExportedPost>,
    pub reactions: Vec<GivenReaction>,
    pub memberships: Vec<ExportedMembership>,
    pub notifications: Vec<ExportedNotification>,
    pub made_at: DateTime<Utc>,
}

/// Where one of the member's posts stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostState {
    Published,
    /// Waiting for a moderator's approval.
    Waiting,
    /// Removed by a moderator, then; its words are still kept.
    Removed(DateTime<Utc>),
}

/// One of the member's posts, with the group it is in.
#[derive(Debug, Clone)]
pub struct ExportedPost {
    /// As written (for a removed post, the words kept aside).
    pub post: Post,
    pub group_ap_id: String,
    /// The group's handle and name, when the group is still known here.
    pub group: Option<(String, String)>,
    pub state: PostState,
}

/// A group the member belongs to (or asked to join), here or elsewhere.
#[derive(Debug, Clone)]
pub struct ExportedMembership {
    pub group_ap_id: String,
    pub handle: String,
    pub title: String,
    pub state: MembershipState,
    pub since: DateTime<Utc>,
}

/// A notification, naming who and which post by id only.
#[derive(Debug, Clone)]
pub struct ExportedNotification {
    pub id: i64,
    pub kind: NotificationKind,
    pub actor_ap_id: Option<String>,
    pub post_ap_id: Option<String>,
    pub group_ap_id: Option<String>,
    /// The reaction, for reactions; nothing else (a ban's reason is a
    /// moderator's words).
    pub reaction: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// Whose export an admin asks for.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Id(i64),
    Username(&'a str),
}

/// Who asks for a member's export.
#[derive(Debug, Clone, Copy)]
pub enum Requester<'a> {
    /// An admin, logged in.
    Admin(&'a Session),
    /// The operator at the server's shell (`hearth admin export-user`).
    Operator,
}

/// How the operator at the shell is named in the audit log.
pub const OPERATOR: &str = "server operator (command line)";

impl App {
    /// The logged-in member's own export.
    pub async fn export_mine(&self, session: &Session) -> Result<Export, AppError> {
        self.gather_export(&session.account).await
    }

    /// A member's export for an admin or the operator (a data-subject
    /// request), written in the audit log before anything is read.
    pub async fn export_member(
        &self,
        by: Requester<'_>,
        subject: Subject<'_>,
        reason: &str,
    ) -> Result<Export, AppError> {
        let (actor_user_id, actor_name) = match by {
            Requester::Admin(session) if session.account.role == Role::Admin => {
                (Some(session.account.id), session.account.username.as_str())
            }
            Requester::Admin(_) => {
                return Err(AppError::Forbidden(
                    "Only admins can download a member's data.",
                ));
            }
            Requester::Operator => (None, OPERATOR),
        };
        let account = match subject {
            Subject::Id(id) => accounts::find_by_id(&self.db, id)
                .await?
                .ok_or(AppError::NotFound { what: "account" })?,
            Subject::Username(name) => accounts::find_by_username(&self.db, name)
                .await?
                .ok_or_else(|| {
                    AppError::invalid(ValidationError::new(
                        "username",
                        "unknown",
                        format!("no account named '{name}'"),
                    ))
                })?,
        };
        let reason = reason.trim();
        if reason.chars().count() > 500 {
            return Err(AppError::invalid(ValidationError::new(
                "reason",
                "too_long",
                "the reason can be at most 500 characters",
            )));
        }
        audit::record(
            &self.db,
            NewEntry {
                actor_user_id,
                actor_name,
                action: AuditAction::Export,
                subject_user_id: account.id,
                subject_name: &account.username,
                reason,
            },
        )
        .await?;
        tracing::info!(
            by = actor_name,
            member = %account.username,
            "member's data exported for an admin"
        );
        self.gather_export(&account).await
    }

    /// Admins: one page of the accounts with their private details (e-mail
    /// address, the words given when signing up), written in the audit log
    /// (one line per member and admin an hour, however often the page is
    /// opened), which each member reads.
    pub async fn accounts_for_admin(
        &self,
        session: &Session,
        status: Option<hearth_domain::AccountStatus>,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Account>, AppError> {
        if session.account.role != Role::Admin {
            return Err(AppError::Forbidden(
                "Only admins can read members' accounts.",
            ));
        }
        let rows = accounts::list(&self.db, status, after, limit).await?;
        let subjects: Vec<(i64, String)> = rows
            .iter()
            .filter(|a| a.id != session.account.id)
            .map(|a| (a.id, a.username.clone()))
            .collect();
        self.record_reads(session, AuditAction::AccountDetails, &subjects)
            .await?;
        Ok(rows)
    }

    /// Write in the audit log that `session` read `action` of `subjects`
    /// (see [`audit::record_reads`]: once an hour per member).
    pub(crate) async fn record_reads(
        &self,
        session: &Session,
        action: AuditAction,
        subjects: &[(i64, String)],
    ) -> Result<(), AppError> {
        let written = audit::record_reads(
            &self.db,
            session.account.id,
            &session.account.username,
            action,
            subjects,
            Utc::now() - chrono::Duration::hours(1),
        )
        .await?;
        if written > 0 {
            tracing::info!(by = %session.account.username, action = action.as_str(), members = written, "privileged read written in the audit log");
        }
        Ok(())
    }

    /// Admins: one page of the whole audit log, newest first.
    pub async fn audit_log(
        &self,
        session: &Session,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, AppError> {
        if session.account.role != Role::Admin {
            return Err(AppError::Forbidden("Only admins can read the audit log."));
        }
        Ok(audit::page(&self.db, None, before, limit).await?)
    }

    /// The lines of the audit log about the logged-in member.
    pub async fn my_audit_log(
        &self,
        session: &Session,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, AppError> {
        Ok(audit::page(&self.db, Some(session.account.id), before, limit).await?)
    }

    async fn gather_export(&self, account: &Account) -> Result<Export, AppError> {
        let actor_id = self.urls().user(&account.username).to_string();
        let reader = Reader::Account(account.id);
        let mut out = Vec::new();

        // Posts not deleted, held ones included; each through the read rule
        // as the member reads it.
        let mut after = None;
        loop {
            let page = posts::for_export(&self.db, &actor_id, after, hearth_db::MAX_PAGE).await?;
            for post in &page {
                let group = group_of(&self.db, post).await?;
                if !access::can_read(&self.db, &reader, post, group.as_ref(), self.vouched())
                    .await?
                {
                    continue;
                }
                let state = if post.is_held() {
                    PostState::Waiting
                } else {
                    PostState::Published
                };
                out.push(self.exported(post.clone(), group, state));
            }
            match page.last() {
                Some(last) if page.len() as u64 == hearth_db::MAX_PAGE => after = Some(last.id),
                _ => break,
            }
        }
        // Removed by a moderator, words still kept: the member's own words.
        for (mut post, kept) in removed::by_author(&self.db, &actor_id).await? {
            post.title = kept.title;
            post.source = kept.source;
            post.content_html = kept.content_html;
            post.content_warning = kept.content_warning;
            post.link = kept.link;
            let group = group_of(&self.db, &post).await?;
            if !access::can_read(&self.db, &reader, &post, group.as_ref(), self.vouched()).await? {
                continue;
            }
            out.push(self.exported(post, group, PostState::Removed(kept.removed_at)));
        }
        out.sort_by_key(|p| p.post.id);

        let mut reactions = Vec::new();
        let mut after = None;
        loop {
            let page =
                posts::reactions_given(&self.db, account.id, after, hearth_db::MAX_PAGE).await?;
            let full = page.len() as u64 == hearth_db::MAX_PAGE;
            after = page.last().map(|r| r.id);
            reactions.extend(page);
            if !full {
                break;
            }
        }

        let mut memberships = Vec::new();
        for (group, m) in groups::memberships_of_user(&self.db, account.id).await? {
            memberships.push(ExportedMembership {
                group_ap_id: self.urls().group(&group.name).to_string(),
                handle: format!("{}@{}", group.name, self.config.domain),
                title: group.display_name.clone(),
                state: m.state,
                since: m.created_at,
            });
        }
        for (group, m) in remote::memberships_of_user(&self.db, account.id).await? {
            memberships.push(ExportedMembership {
                group_ap_id: group.ap_id.clone(),
                handle: format!("{}@{}", group.preferred_username, group.authority),
                title: PostGroup::Remote(group).title(),
                state: m.state,
                since: m.created_at,
            });
        }

        let mut exported_notifications = Vec::new();
        let mut before = None;
        loop {
            let page =
                notifications::list(&self.db, account.id, before, hearth_db::MAX_PAGE).await?;
            let full = page.len() as u64 == hearth_db::MAX_PAGE;
            before = page.last().map(|n| n.id);
            for n in page {
                let post_ap_id = match n.post_id {
                    Some(id) => posts::find_by_id(&self.db, id).await?.map(|p| p.ap_id),
                    None => None,
                };
                exported_notifications.push(ExportedNotification {
                    id: n.id,
                    kind: n.kind,
                    actor_ap_id: n.actor_ap_id,
                    post_ap_id,
                    group_ap_id: n.group_ap_id,
                    reaction: (n.kind == NotificationKind::Reaction).then_some(n.detail),
                    created_at: n.created_at,
                    read_at: n.read_at,
                });
            }
            if !full {
                break;
            }
        }
        exported_notifications.reverse();

        Ok(Export {
            account: account.clone(),
            actor_id,
            posts: out,
            reactions,
            memberships,
            notifications: exported_notifications,
            made_at: Utc::now(),
        })
    }

    fn exported(&self, post: Post, group: Option<PostGroup>, state: PostState) -> ExportedPost {
        ExportedPost {
            group_ap_id: post.group_ap_id.clone(),
            group: group.map(|g| (g.handle(self), g.title())),
            post,
            state,
        }
    }
}
