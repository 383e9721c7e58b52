//! Erasure with receipts (GDPR art. 17): a member takes back a post or
//! their whole account, here and on every server that received any of it,
//! and sees, server by server, whether it was done.
//!
//! ```text
//! delivery acknowledged / signed fetch ──▶ copies (who holds what)
//!
//! delete a post ─────▶ erase() ─▶ Delete to member servers ∪ holders ─┐
//! delete an account ─▶ erase_account():                              │ erasure_id
//!                       each post: Delete (as above)                  │ keeps trying
//!                       reactions, memberships, sessions… erased here │ while the
//!                       Delete{Person, removeData} to every holder ───┘ server exists
//!                                         │
//!                receipt: per server sent / acknowledged / failing / gone
//! ```
//!
//! The member reads the receipt of an account's erasure through a secret
//! link given when it is deleted (they can no longer log in); the author
//! of a post reads its receipt on the post; admins read them all.
//!
//! Another server's person deleted ([`App::receive_actor_deleted`]): what
//! they wrote and the reactions they gave are erased here, each through
//! the same door as the person's own delete, so that a group here relays
//! each `Delete` to its members' servers.

use hearth_db::erasures::{self, ErasureKind};
use hearth_db::posts;
use hearth_domain::token::{self, IssuedToken};
use hearth_domain::{AccountStatus, Role, ValidationError};

use crate::events::{Change, Event, MemberServer, PostAct, PostAudience, PostEvent};
use crate::export::{OPERATOR, Requester, Subject};
use crate::inbound::Outcome;
use crate::origin::{Origin, Via};
use crate::posts::{Erase, PostGroup, group_of};
use crate::records::{Account, Post, Session};
use crate::{App, AppError};

pub use hearth_db::erasures::{Erasure, ServerReceipt};
pub use hearth_domain::erasure::ReceiptState;

/// How a member's own erasure names who asked.
pub const BY_MEMBER: &str = "member";

/// How a group's retention names itself as who asked.
pub fn by_retention(days: u32) -> String {
    format!("retention ({days} days)")
}

/// The days of a retention's erasure, from who asked (see
/// [`by_retention`]).
pub fn retention_days_of(requested_by: &str) -> Option<u32> {
    requested_by
        .strip_prefix("retention (")?
        .strip_suffix(" days)")?
        .parse()
        .ok()
}

/// An erasure and how each server answered it.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub erasure: Erasure,
    /// By server; empty when nothing had left this server.
    pub servers: Vec<ServerReceipt>,
}

impl Receipt {
    /// Whether every server has answered for good (acknowledged, or gone).
    pub fn is_complete(&self) -> bool {
        self.servers.iter().all(|s| s.state.is_final())
    }
}

/// An account just deleted.
#[derive(Debug, Clone)]
pub struct AccountErased {
    pub erasure: Erasure,
    /// The secret of the receipt's link (`/erasures/{secret}`): the only
    /// way to read it, since the account can no longer log in. Shown once.
    pub receipt_secret: String,
}

impl App {
    /// A member deletes their own account, proving it with their password.
    pub async fn delete_my_account(
        &self,
        session: &Session,
        password: &str,
    ) -> Result<AccountErased, AppError> {
        self.check_password(session, password, "password", "That is not your password")
            .await?;
        self.erase_account(&session.account, BY_MEMBER).await
    }

    /// An admin (or the operator at the shell) deletes a member's account,
    /// as for a data-subject request.
    pub async fn delete_member_account(
        &self,
        by: Requester<'_>,
        subject: Subject<'_>,
    ) -> Result<AccountErased, AppError> {
        let requested_by = match by {
            Requester::Admin(session) if session.account.role == Role::Admin => {
                format!("admin {}", session.account.username)
            }
            Requester::Admin(_) => {
                return Err(AppError::Forbidden(
                    "Only admins can delete a member's account.",
                ));
            }
            Requester::Operator => OPERATOR.to_owned(),
        };
        let account = match subject {
            Subject::Id(id) => hearth_db::accounts::find_by_id(&self.db, id)
                .await?
                .ok_or(AppError::NotFound { what: "account" })?,
            Subject::Username(name) => hearth_db::accounts::find_by_username(&self.db, name)
                .await?
                .ok_or_else(|| {
                    AppError::invalid(ValidationError::new(
                        "username",
                        "unknown",
                        format!("no account named '{name}'"),
                    ))
                })?,
        };
        self.erase_account(&account, &requested_by).await
    }

    /// The one door for deleting an account: in one transaction, each of
    /// its posts is deleted and every server that received it told; its
    /// reactions, memberships, notifications, sessions and sign-ins are
    /// erased; its profile is emptied; and every server that holds
    /// anything of it is sent the `Delete` of the person. Its name stays
    /// taken, and its keys stay to sign what is still to go out.
    async fn erase_account(
        &self,
        account: &Account,
        requested_by: &str,
    ) -> Result<AccountErased, AppError> {
        if account.status == AccountStatus::Deleted {
            return Err(AppError::NotFound { what: "account" });
        }
        // A server must keep someone who can run it.
        if account.role == Role::Admin
            && hearth_db::accounts::admin_ids(&self.db).await? == [account.id]
        {
            return Err(AppError::invalid(ValidationError::new(
                "account",
                "last_admin",
                "This is the only admin account. Make another member an admin first, then delete it.",
            )));
        }
        let actor = self.urls().user(&account.username).to_string();
        let receipt = IssuedToken::generate();
        let txn = hearth_db::begin_write(&self.db).await?;
        let erasure = erasures::create(
            &txn,
            ErasureKind::Account,
            &actor,
            Some(account.id),
            requested_by,
            Some(&receipt.digest),
        )
        .await?;
        let mut told = 0usize;
        for post in erasures::posts_of(&txn, &actor).await? {
            let Some(group) = group_of(&txn, &post).await? else {
                hearth_db::removed::forget(&txn, post.id).await?;
                posts::mark_deleted(&txn, post.id).await?;
                continue;
            };
            if self
                .erase_for(&txn, erasure.id, post, &group, actor.clone(), None)
                .await?
            {
                told += 1;
            }
        }
        // Removed posts whose words were kept for the moderators.
        for (post, _) in hearth_db::removed::by_author(&txn, &actor).await? {
            hearth_db::removed::forget(&txn, post.id).await?;
        }
        // Their memberships of groups here end, and their roles in them
        // with a `Remove` each to the member servers; their roles in
        // groups elsewhere are forgotten here (those groups' servers hear
        // the `Delete` below).
        let own = Origin::Local(account.clone());
        for (group, _) in hearth_db::groups::memberships_of_user(&txn, account.id).await? {
            self.end_membership(
                &txn,
                &own,
                &group,
                hearth_db::groups::Member::Local(account.id),
                &actor,
            )
            .await?;
        }
        erasures::erase_account_rows(&txn, account.id).await?;
        hearth_db::moderation::forget_all_roles(&txn, &actor).await?;
        let holders = erasures::holders(&txn, &actor, None).await?;
        if !holders.is_empty() {
            self.emit_for(
                &txn,
                Event::ActorErased {
                    id: self.urls().new_activity().to_string(),
                    actor: actor.clone(),
                    inboxes: holders.into_iter().map(|h| h.inbox).collect(),
                },
                Some(erasure.id),
            )
            .await?;
        }
        erasures::forget_copies(&txn, &actor, None).await?;
        self.commit(txn).await?;
        tracing::info!(
            account_id = account.id,
            erasure = erasure.id,
            posts = told,
            by = requested_by,
            "account deleted; its erasure is under way"
        );
        Ok(AccountErased {
            erasure,
            receipt_secret: receipt.secret,
        })
    }

    /// One post of the erasure `erasure`: its words erased here (those kept
    /// for the moderators too) and, when it ever left this server, its
    /// `Delete` by `actor` (with `reason`: a moderator's) sent through its
    /// group: a group here tells its member servers and every server that
    /// holds a copy. Whether a `Delete` went out.
    async fn erase_for(
        &self,
        txn: &hearth_db::DatabaseTransaction,
        erasure: i64,
        post: Post,
        group: &PostGroup,
        actor: String,
        reason: Option<String>,
    ) -> Result<bool, AppError> {
        hearth_db::removed::forget(txn, post.id).await?;
        let deleted = posts::mark_deleted(txn, post.id).await?;
        if !post.visibility.federates() || post.is_held() {
            return Ok(false);
        }
        let to = match group {
            PostGroup::Local(g) => PostAudience::GroupHere {
                group: g.clone(),
                inboxes: self.holding_servers(txn, g.id, &post).await?,
            },
            PostGroup::Remote(g) => PostAudience::GroupElsewhere { group: g.clone() },
        };
        let act = PostAct {
            id: self.urls().new_activity().to_string(),
            actor,
            by_member_here: true,
            post: deleted,
            change: Change::Deleted { reason },
        };
        self.emit_for(
            txn,
            Event::Post(Box::new(PostEvent { to, act })),
            Some(erasure),
        )
        .await?;
        Ok(true)
    }

    /// The servers a deletion of `post`, in the group here `group_id`, goes
    /// to: its member servers (those that were sent the post) and every
    /// server recorded as holding a copy of it, member or not any more.
    pub(crate) async fn holding_servers(
        &self,
        db: &impl hearth_db::ConnectionTrait,
        group_id: i64,
        post: &Post,
    ) -> Result<Vec<MemberServer>, AppError> {
        let mut servers = self
            .member_servers(
                db,
                group_id,
                post.effective_visibility() != hearth_domain::post::Visibility::Public,
            )
            .await?;
        for holder in erasures::holders(db, &post.author_ap_id, Some(&post.ap_id)).await? {
            if servers
                .iter()
                .any(|s| s.authority.eq_ignore_ascii_case(&holder.authority))
            {
                continue;
            }
            let peer = self.peer_server(db, &holder.authority).await?;
            servers.push(MemberServer {
                inbox: holder.inbox,
                authority: holder.authority,
                software: peer.software,
            });
        }
        Ok(servers)
    }

    /// `reader` was just served `object` of the member here `owner` (their
    /// post, or their actor): when it is another server, proven by its
    /// signature, it holds a copy now, and is told when the member takes
    /// it back. Unsigned readers cannot be told anything.
    pub async fn served_to(
        &self,
        reader: &crate::access::Reader,
        owner: &str,
        object: &str,
    ) -> Result<(), AppError> {
        let crate::access::Reader::Server(authority) = reader else {
            return Ok(());
        };
        let Some(inbox) = hearth_db::remote::inbox_on(&self.db, authority).await? else {
            return Ok(());
        };
        erasures::record_fetch(&self.db, owner, object, authority, &inbox).await?;
        Ok(())
    }

    /// The receipt behind a secret link given when an account was deleted.
    pub async fn receipt_by_secret(&self, secret: &str) -> Result<Receipt, AppError> {
        let erasure = erasures::find_by_receipt(&self.db, &token::digest(secret.trim()))
            .await?
            .ok_or(AppError::NotFound { what: "receipt" })?;
        self.receipt_of(erasure).await
    }

    /// The receipt of the deletion of post `id`, for its author (or an
    /// admin).
    pub async fn post_receipt(&self, session: &Session, id: i64) -> Result<Receipt, AppError> {
        let post = posts::find_by_id(&self.db, id)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        let allowed =
            post.author_user_id == Some(session.account.id) || session.account.role == Role::Admin;
        if !allowed {
            return Err(AppError::NotFound { what: "post" });
        }
        let erasure = erasures::latest_of(&self.db, &post.ap_id)
            .await?
            .ok_or(AppError::NotFound { what: "receipt" })?;
        self.receipt_of(erasure).await
    }

    /// Admins: erasures, newest first.
    pub async fn erasures(
        &self,
        session: &Session,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Receipt>, AppError> {
        Self::admin_only(session)?;
        let mut out = Vec::new();
        for erasure in erasures::list(&self.db, None, before, limit).await? {
            out.push(self.receipt_of(erasure).await?);
        }
        Ok(out)
    }

    /// Admins: the groups here that delete threads after a while, with
    /// how long they keep them.
    pub async fn groups_with_retention(
        &self,
        session: &Session,
    ) -> Result<Vec<hearth_db::groups::Group>, AppError> {
        Self::admin_only(session)?;
        Ok(hearth_db::groups::with_retention(&self.db).await?)
    }

    /// Admins: one erasure's receipt.
    pub async fn erasure_receipt(&self, session: &Session, id: i64) -> Result<Receipt, AppError> {
        Self::admin_only(session)?;
        let erasure = erasures::find(&self.db, id)
            .await?
            .ok_or(AppError::NotFound { what: "erasure" })?;
        self.receipt_of(erasure).await
    }

    fn admin_only(session: &Session) -> Result<(), AppError> {
        if session.account.role != Role::Admin {
            return Err(AppError::Forbidden("Only admins can read erasures."));
        }
        Ok(())
    }

    async fn receipt_of(&self, erasure: Erasure) -> Result<Receipt, AppError> {
        let servers = erasures::receipts(&self.db, erasure.id).await?;
        Ok(Receipt { erasure, servers })
    }

    /// A deleted account's name, while what tells other servers is still
    /// going out: its actor is then still served, emptied of everything
    /// but its key, so that servers that fetch it to check the `Delete`'s
    /// signature find it. `None` when the account is not deleted, or its
    /// erasure is done (its actor is then gone).
    pub async fn erased_actor_under_way(
        &self,
        username: &str,
    ) -> Result<Option<Account>, AppError> {
        let Some(account) = hearth_db::accounts::find_by_username(&self.db, username)
            .await?
            .filter(|a| a.status == AccountStatus::Deleted)
        else {
            return Ok(None);
        };
        let actor = self.urls().user(&account.username).to_string();
        Ok(erasures::under_way(&self.db, &actor)
            .await?
            .then_some(account))
    }

    /// Whether `username` is an account deleted here.
    pub async fn is_erased(&self, username: &str) -> Result<bool, AppError> {
        Ok(hearth_db::accounts::find_by_username(&self.db, username)
            .await?
            .is_some_and(|a| a.status == AccountStatus::Deleted))
    }

    /// Retention: in each group here that keeps threads for a limited
    /// time, delete the threads with no new reply for longer than that
    /// (pinned ones are kept: a moderator chose to keep them in view),
    /// each everywhere it went, with a receipt. At most `per_group`
    /// threads per group in one go. How many threads.
    pub async fn expire_stale_threads(&self, per_group: u64) -> Result<u64, AppError> {
        let mut expired = 0;
        for group in hearth_db::groups::with_retention(&self.db).await? {
            let before =
                chrono::Utc::now() - chrono::Duration::days(i64::from(group.retention_days));
            for thread in erasures::stale_threads(&self.db, group.id, before, per_group).await? {
                self.expire_thread(&group, thread).await?;
                expired += 1;
            }
        }
        Ok(expired)
    }

    /// Delete one thread of a group here that keeps threads for a limited
    /// time: every post in it is erased here, and every server that
    /// received it is told, through the group: a member here's post by its
    /// author's own `Delete`, anyone else's by a moderator of the group
    /// (with the group's rule as the reason, so that Lemmy, which takes a
    /// removal only from a moderator, applies it). One receipt for the
    /// thread.
    async fn expire_thread(
        &self,
        group: &hearth_db::groups::Group,
        thread: Post,
    ) -> Result<(), AppError> {
        let moderator = match hearth_db::groups::moderator_ids(&self.db, group.id)
            .await?
            .first()
        {
            Some(id) => hearth_db::accounts::find_by_id(&self.db, *id)
                .await?
                .map(|a| self.urls().user(&a.username).to_string()),
            None => None,
        }
        .unwrap_or_else(|| self.urls().group(&group.name).to_string());
        let reason = format!(
            "This group keeps threads for {} days after their last reply.",
            group.retention_days
        );
        let txn = hearth_db::begin_write(&self.db).await?;
        let erasure = erasures::create(
            &txn,
            ErasureKind::Post,
            &thread.ap_id,
            None,
            &by_retention(group.retention_days),
            None,
        )
        .await?;
        let in_group = PostGroup::Local(group.clone());
        for post in erasures::thread_posts(&txn, thread.id).await? {
            let (actor, reason) = if post.local && !post.author_ap_id.is_empty() {
                (post.author_ap_id.clone(), None)
            } else {
                (moderator.clone(), Some(reason.clone()))
            };
            let (author, ap_id) = (post.author_ap_id.clone(), post.ap_id.clone());
            if self
                .erase_for(&txn, erasure.id, post, &in_group, actor, reason)
                .await?
            {
                erasures::forget_copies(&txn, &author, Some(&ap_id)).await?;
            }
        }
        self.commit(txn).await?;
        tracing::info!(group = %group.name, thread = %thread.ap_id, erasure = erasure.id, days = group.retention_days, "thread deleted: older than the group keeps threads");
        Ok(())
    }

    /// Another server's `Delete` of one of its people, signed by that
    /// person: everything they wrote that is stored here is deleted, and
    /// the reactions they gave taken back, each through the door their own
    /// `Delete` (or `Undo`) would take, so that a group here tells its
    /// members' servers. Their memberships of groups here end, and their
    /// stored profile is emptied (the key stays, to check what they sent
    /// before).
    pub async fn receive_actor_deleted(&self, origin: &Origin) -> Result<Outcome, AppError> {
        let Origin::Remote(remote) = origin else {
            return Ok(Outcome::Ignored("not another server's person".into()));
        };
        let Via::Signed(actor) = &remote.via else {
            return Ok(Outcome::Ignored(
                "a person's deletion is taken only from the person".into(),
            ));
        };
        self.check_server(&remote.server).await?;
        // Each part is its own command, recorded under an id of its own
        // derived from the activity's: a repeated delivery repeats none.
        let part = |n: &str| {
            Origin::signed(
                actor.clone(),
                &format!("{}#erase-{n}", remote.activity),
                &remote.kind,
            )
        };
        let mut erased = 0usize;
        for post in erasures::posts_of(&self.db, &actor.ap_id).await? {
            if post.local {
                continue;
            }
            let id = post.id;
            match self
                .erase(&part(&format!("post-{id}")), post, Erase::OwnPost)
                .await
            {
                Ok(Some(())) => erased += 1,
                Ok(None) => {}
                // Not theirs to delete through this door (a group that is
                // gone, say): it is left as it is, and said.
                Err(err) => {
                    tracing::warn!(actor = %actor.ap_id, post = id, error = %err, "cannot erase a deleted person's post")
                }
            }
        }
        for like in erasures::reactions_of(&self.db, &actor.ap_id).await? {
            let n = token::digest(&like);
            if let Err(err) = self
                .receive_undo_reaction(&part(&format!("like-{}", &n[..16])), &like)
                .await
            {
                tracing::warn!(actor = %actor.ap_id, like = %like, error = %err, "cannot take back a deleted person's reaction");
            }
        }
        let Some(txn) = self.begin(origin).await? else {
            return Ok(Outcome::Ignored("already received".into()));
        };
        for (group, _) in hearth_db::groups::memberships_of_remote(&txn, actor.id).await? {
            self.end_membership(
                &txn,
                origin,
                &group,
                hearth_db::groups::Member::Remote(actor.id),
                &actor.ap_id,
            )
            .await?;
        }
        hearth_db::moderation::forget_all_roles(&txn, &actor.ap_id).await?;
        hearth_db::remote::forget_profile(&txn, actor.id).await?;
        self.commit(txn).await?;
        self.actors.remove(&actor.ap_id);
        tracing::info!(actor = %actor.ap_id, posts = erased, "a person on another server was deleted; erased here");
        Ok(Outcome::Applied)
    }
}
