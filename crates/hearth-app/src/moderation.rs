//! Moderation that federates: locked threads, bans, the moderator role,
//! reports, and the moderation log.
//!
//! Every action, whoever asks (a moderator here through the API, the web
//! or the CLI; a group elsewhere relaying its moderator's activity), runs
//! through one core per kind of action, and so through the same checks:
//!
//! | action              | core                      | who may                                               |
//! |---------------------|---------------------------|-------------------------------------------------------|
//! | lock / unlock       | [`App::set_lock`]         | a moderator of the group (here), or an admin here; for a group elsewhere, that group relaying its moderator |
//! | ban / lift          | [`App::ban`] / [`App::lift_ban`] | the same; instance bans: admins here           |
//! | moderator role      | [`App::set_moderator`]    | the same                                              |
//! | report              | [`App::report`] / [`App::receive_flag`] | a member here / another server         |
//! | resolve a report    | [`App::resolve_report`]   | a moderator of the report's group here, or an admin   |
//!
//! "A moderator of a group elsewhere" is someone on the group's own server
//! (its moderators and admins, as Lemmy checks) or someone the group
//! announced as a moderator with `Add` ([`App::may_moderate`]). Each action
//! is recorded in the moderation log in the same transaction, and told to
//! the group's member servers through the federation port.

use chrono::{DateTime, Utc};
use hearth_db::groups::{self, Group, Member};
use hearth_db::moderation::{
    self as store, LogEntry, LogScope, NewBan, NewLogEntry, NewReport, ReportScope,
};
pub use hearth_db::moderation::{Ban, LogEntry as StoredLogEntry, Report};
use hearth_db::posts::{self, Post, PostKind};
use hearth_db::remote::{self, RemoteActor};
use hearth_db::tokens::Session;
use hearth_db::{DatabaseTransaction, WriteTxn, accounts};
use hearth_domain::moderation::{
    BanTerms, ModAction, ReportCategory, ReportState, optional_text, required_reason,
};
use hearth_domain::notification::NotificationKind;
use hearth_domain::peer::Software;
use hearth_domain::{MembershipState, Role, ValidationError};

use crate::events::{
    Change, Event, FlagEvent, ModAct, ModerationEvent, PostAct, PostAudience, PostEvent,
    ResolvedEvent,
};
use crate::ids::LocalRef;
use crate::inbound::Outcome;
use crate::origin::{Origin, Via};
use crate::posts::{PostGroup, group_of};
use crate::{App, AppError};

/// A ban as a moderator asks for it.
#[derive(Debug, Clone, Default)]
pub struct BanRequest {
    /// `name` (here), `name@server`, or the person's actor URL.
    pub person: String,
    pub reason: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// Also remove everything the person wrote in the group.
    pub remove_data: bool,
}

/// A report as a member makes it: about a post, or about an account.
#[derive(Debug, Clone, Default)]
pub struct ReportRequest {
    pub post_id: Option<i64>,
    /// `name`, `name@server` or an actor URL, when the report is about an
    /// account rather than a post.
    pub account: Option<String>,
    pub category: String,
    pub comment: String,
}

/// A `Flag` read off the wire.
#[derive(Debug, Clone, Default)]
pub struct IncomingFlag {
    /// What it names: posts, accounts (Mastodon: the account first).
    pub objects: Vec<String>,
    /// The reporter's words (`content` or `summary`).
    pub comment: Option<String>,
    /// Hearth's category, when a Hearth server sent it.
    pub category: Option<String>,
}

/// A person a moderator acts on.
struct Person {
    ap_id: String,
    member: Member,
    /// Their server's inbox, for someone elsewhere.
    inbox: Option<String>,
}

/// One line of the moderation log, as its reader may see it.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub entry: LogEntry,
    /// Who did it; `None` when the instance hides moderators' names from
    /// this reader.
    pub actor: Option<String>,
}

/// The moderation log of a group here is read by its members, and by
/// everyone when the group is listed; admins read the whole log.
#[derive(Debug, Clone, Copy)]
pub enum LogReader<'a> {
    Anonymous,
    Account(&'a Session),
}

impl App {
    // ---- who moderates ------------------------------------------------

    /// Whether whoever asks may moderate `group`: a joined moderator of a
    /// group here, or an admin here; for a group elsewhere, that group
    /// relaying an activity by someone on its own server or by someone it
    /// announced as a moderator.
    pub(crate) async fn may_moderate(
        &self,
        db: &impl hearth_db::ConnectionTrait,
        origin: &Origin,
        group: &PostGroup,
    ) -> Result<bool, AppError> {
        Ok(match (origin, group) {
            (Origin::Local(account), PostGroup::Local(g)) => {
                account.role == Role::Admin || groups::is_moderator(db, g.id, account.id).await?
            }
            // A member here whom a group elsewhere announced as its
            // moderator: their actions go to that group, which decides.
            (Origin::Local(account), PostGroup::Remote(g)) => {
                let me = self.urls().user(&account.username).to_string();
                store::is_remote_moderator(db, &g.ap_id, &me).await?
            }
            // Another server's member, signing for themselves, whom this
            // group made a moderator, while they are still a member.
            (Origin::Remote(r), PostGroup::Local(g)) => match &r.via {
                Via::Signed(actor) => {
                    let group_id = self.urls().group(&g.name).to_string();
                    store::is_remote_moderator(db, &group_id, &actor.ap_id).await?
                        && groups::find_membership(db, g.id, Member::Remote(actor.id))
                            .await?
                            .is_some_and(|m| m.state == MembershipState::Joined)
                }
                Via::Relay(_) => false,
            },
            (Origin::Remote(r), PostGroup::Remote(g)) => match &r.via {
                Via::Relay(relay) if relay.ap_id == g.ap_id => {
                    g.authority.eq_ignore_ascii_case(&r.server)
                        || store::is_remote_moderator(db, &g.ap_id, &r.actor).await?
                }
                _ => false,
            },
        })
    }

    pub(crate) async fn moderated(
        &self,
        origin: &Origin,
        group: &PostGroup,
    ) -> Result<(), AppError> {
        if self.may_moderate(&self.db, origin, group).await? {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "Only the group's moderators can do this.",
            ))
        }
    }

    /// Record an action in the log.
    pub(crate) async fn log(
        &self,
        txn: &DatabaseTransaction,
        origin: &Origin,
        group: Option<&str>,
        line: Logged<'_>,
    ) -> Result<(), AppError> {
        let Logged {
            action,
            target,
            reason,
            expires_at,
        } = line;
        let actor = origin.actor_id(self.urls());
        store::log(
            txn,
            NewLogEntry {
                group_ap_id: group,
                actor_ap_id: &actor,
                action,
                target_ap_id: target,
                reason,
                expires_at,
            },
        )
        .await?;
        tracing::info!(group, by = %actor, action = action.as_str(), target, "moderation action");
        Ok(())
    }

    /// Log a moderator's action on a post (a removal, its undoing).
    pub(crate) async fn log_post_action(
        &self,
        txn: &DatabaseTransaction,
        origin: &Origin,
        group: &PostGroup,
        post: &Post,
        action: ModAction,
        reason: &str,
    ) -> Result<(), AppError> {
        let group = group.ap_id(self);
        self.log(
            txn,
            origin,
            Some(&group),
            Logged {
                action,
                target: &post.ap_id,
                reason,
                expires_at: None,
            },
        )
        .await
    }

    // ---- locked threads -------------------------------------------------

    /// Moderators: close a thread to new replies (`true`), or open it
    /// again. Every member server is told (`Lock`, `Undo{Lock}`, announced
    /// by the group).
    pub async fn lock_thread(
        &self,
        origin: &Origin,
        id: i64,
        locked: bool,
    ) -> Result<(), AppError> {
        let post = posts::find_by_id(&self.db, id)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        self.set_thread(origin, post, ThreadMark::Locked(locked))
            .await?;
        Ok(())
    }

    /// Moderators: pin a thread to the top of its group (`true`), or unpin
    /// it. Every member server is told (`Add`/`Remove` on the group's
    /// `featured` collection, announced by the group).
    pub async fn pin_thread(&self, origin: &Origin, id: i64, pinned: bool) -> Result<(), AppError> {
        let post = posts::find_by_id(&self.db, id)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        self.set_thread(origin, post, ThreadMark::Pinned(pinned))
            .await?;
        Ok(())
    }

    /// The one door for locking and pinning a thread. `None` for a second
    /// delivery.
    pub(crate) async fn set_thread(
        &self,
        origin: &Origin,
        post: Post,
        mark: ThreadMark,
    ) -> Result<Option<()>, AppError> {
        let group = group_of(&self.db, &post)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        if !access_allows(self, origin, &post, &group).await? || post.is_deleted() || post.is_held()
        {
            return Err(AppError::NotFound { what: "post" });
        }
        self.moderated(origin, &group).await?;
        if post.kind != PostKind::Thread {
            return Err(AppError::invalid(ValidationError::new(
                "post",
                "not_a_thread",
                "Only a whole thread can be closed to replies or pinned",
            )));
        }
        let Some(txn) = self.begin(origin).await? else {
            return Ok(None);
        };
        let (updated, action, change) = match mark {
            ThreadMark::Locked(on) => (
                posts::set_locked(&txn, post.id, on).await?,
                if on {
                    ModAction::LockThread
                } else {
                    ModAction::UnlockThread
                },
                Change::Locked(on),
            ),
            ThreadMark::Pinned(on) => (
                posts::set_pinned(&txn, post.id, on).await?,
                if on {
                    ModAction::PinThread
                } else {
                    ModAction::UnpinThread
                },
                Change::Pinned(on),
            ),
        };
        let group_id = group.ap_id(self);
        self.log(
            &txn,
            origin,
            Some(&group_id),
            Logged {
                action,
                target: &post.ap_id,
                reason: "",
                expires_at: None,
            },
        )
        .await?;
        let to = match &group {
            _ if !updated.visibility.federates() => None,
            // A group here tells its member servers.
            PostGroup::Local(g) => {
                let members_only =
                    updated.effective_visibility() != hearth_domain::post::Visibility::Public;
                Some(PostAudience::GroupHere {
                    group: g.clone(),
                    inboxes: self.member_servers(&txn, g.id, members_only).await?,
                })
            }
            // A member here who moderates a group elsewhere: the group is
            // asked, and tells its member servers (this one included).
            PostGroup::Remote(g) if origin.is_local() => {
                Some(PostAudience::GroupElsewhere { group: g.clone() })
            }
            PostGroup::Remote(_) => None,
        };
        if let Some(to) = to {
            let act = PostAct {
                id: self.activity_id(origin),
                actor: origin.actor_id(self.urls()),
                by_member_here: origin.is_local(),
                post: updated,
                change,
            };
            self.emit(&txn, Event::Post(Box::new(PostEvent { to, act })))
                .await?;
        }
        self.commit(txn).await?;
        Ok(Some(()))
    }

    /// Lemmy's or Hearth's `Lock` (`locked`) or `Undo{Lock}` of the thread
    /// `object_id`, relayed by its group.
    pub async fn receive_lock(
        &self,
        origin: &Origin,
        object_id: &str,
        locked: bool,
    ) -> Result<Outcome, AppError> {
        self.receive_mark(origin, object_id, ThreadMark::Locked(locked))
            .await
    }

    /// A mark on a thread of a group elsewhere, relayed by that group.
    async fn receive_mark(
        &self,
        origin: &Origin,
        object_id: &str,
        mark: ThreadMark,
    ) -> Result<Outcome, AppError> {
        let Origin::Remote(r) = origin else {
            return Err(AppError::Internal("a local Lock or Add".into()));
        };
        let post = posts::find_by_ap_id(&self.db, object_id)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        match (&r.via, post.group_id) {
            // A group elsewhere, about one of its own threads.
            (Via::Relay(_), None) => {}
            (Via::Relay(_), Some(_)) => {
                return Err(AppError::Forbidden(
                    "A group can lock or pin only its own threads.",
                ));
            }
            // A moderator of another server, to a group here (which
            // checks they moderate it, then tells its member servers).
            (Via::Signed(_), Some(_)) => {}
            (Via::Signed(_), None) => {
                return Ok(Outcome::Ignored(
                    "a thread elsewhere is locked or pinned by its group, not by one person".into(),
                ));
            }
        }
        Ok(Outcome::of(self.set_thread(origin, post, mark).await?))
    }

    /// The pinned threads of a group (here or elsewhere) that `reader` may
    /// read, most recently pinned first.
    pub async fn pinned(
        &self,
        reader: &crate::Reader,
        group: &PostGroup,
    ) -> Result<Vec<Post>, AppError> {
        let visible = crate::access::readable_in(&self.db, reader, group, self.vouched()).await?;
        Ok(posts::pinned_in(&self.db, &group.ap_id(self))
            .await?
            .into_iter()
            .filter(|p| visible.allows(p))
            .collect())
    }

    // ---- bans -----------------------------------------------------------

    /// The ban that holds on whoever asks in `group` (or on the whole
    /// instance), if any.
    pub(crate) async fn ban_on(
        &self,
        db: &impl hearth_db::ConnectionTrait,
        origin: &Origin,
        group_ap_id: Option<&str>,
    ) -> Result<Option<Ban>, AppError> {
        let actor = origin.actor_id(self.urls());
        Ok(store::holding(db, group_ap_id, &actor, Utc::now()).await?)
    }

    /// Refuse whoever is banned from `group` (or from this instance).
    pub(crate) async fn check_not_banned(
        &self,
        origin: &Origin,
        group_ap_id: &str,
    ) -> Result<(), AppError> {
        match self.ban_on(&self.db, origin, Some(group_ap_id)).await? {
            None => Ok(()),
            Some(ban) if ban.group_ap_id.is_none() => Err(AppError::Forbidden(
                "You cannot take part on this server: an admin banned your account.",
            )),
            Some(_) => Err(AppError::Forbidden(
                "You cannot take part in this group: its moderators banned you.",
            )),
        }
    }

    /// The person `who` names: a member here by name, or someone elsewhere
    /// by handle or actor URL (looked up when not known yet).
    async fn person(&self, who: &str) -> Result<Person, AppError> {
        let who = who.trim().trim_start_matches('@');
        if who.is_empty() {
            return Err(AppError::invalid(ValidationError::new(
                "person",
                "required",
                "Name the person: their name here, name@server, or their address",
            )));
        }
        let local_name = match self.urls().parse_local_id(who) {
            Some(LocalRef::User(name)) => Some(name),
            Some(_) => None,
            None if !who.contains('@') && !who.contains('/') => Some(who.to_owned()),
            None => match who.split_once('@') {
                Some((name, host)) if host.eq_ignore_ascii_case(&self.config.domain) => {
                    Some(name.to_owned())
                }
                _ => None,
            },
        };
        if let Some(name) = local_name {
            let account = accounts::find_by_username(&self.db, &name)
                .await?
                .ok_or(AppError::NotFound { what: "person" })?;
            return Ok(Person {
                ap_id: self.urls().user(&account.username).to_string(),
                member: Member::Local(account.id),
                inbox: None,
            });
        }
        let actor = match remote::find_actor(&self.db, who).await? {
            Some(actor) => actor,
            None => self.resolve(who).await?,
        };
        Ok(Person {
            inbox: Some(actor.shared_inbox.clone().unwrap_or(actor.inbox.clone())),
            ap_id: actor.ap_id.clone(),
            member: Member::Remote(actor.id),
        })
    }

    /// Moderators: ban someone from a group here. They leave the group at
    /// once, cannot join again or take part until the ban is lifted or
    /// runs out; with `remove_data`, everything they wrote in the group is
    /// removed. The group's member servers and the person's server are
    /// told (`Block` with `target`, `endTime`, `removeData`).
    pub async fn ban(
        &self,
        origin: &Origin,
        group: &str,
        request: BanRequest,
    ) -> Result<Ban, AppError> {
        let group = self.group_named(group).await?;
        let here = PostGroup::Local(group.clone());
        self.moderated(origin, &here).await?;
        let terms = ban_terms(&request)?;
        let person = self.person(&request.person).await?;
        let actor = origin.actor_id(self.urls());
        if person.ap_id == actor {
            return Err(AppError::invalid(ValidationError::new(
                "person",
                "yourself",
                "You cannot ban yourself",
            )));
        }
        let group_id = self.urls().group(&group.name).to_string();
        let block_id = self.urls().new_activity().to_string();
        let txn = self
            .begin(origin)
            .await?
            .ok_or_else(|| AppError::Internal("a local ban seen twice".into()))?;
        store::ban(
            &txn,
            NewBan {
                group_ap_id: Some(&group_id),
                person_ap_id: &person.ap_id,
                terms: &terms,
                activity_ap_id: Some(&block_id),
                by_ap_id: &actor,
            },
        )
        .await?;
        // Every member server hears of it, the person's own included (it
        // is taken off the list below).
        let inboxes = self.member_servers(&txn, group.id, false).await?;
        self.end_membership(&txn, origin, &group, person.member, &person.ap_id)
            .await?;
        if terms.remove_data {
            self.remove_content(&txn, &person.ap_id, &group_id).await?;
        }
        self.log(
            &txn,
            origin,
            Some(&group_id),
            Logged {
                action: ModAction::Ban,
                target: &person.ap_id,
                reason: &terms.reason,
                expires_at: terms.expires_at,
            },
        )
        .await?;
        if let Member::Local(user) = person.member {
            hearth_db::notifications::record(
                &txn,
                user,
                NotificationKind::Banned,
                Some(&actor),
                None,
                Some(&group_id),
                &terms.reason,
            )
            .await?;
        }
        let person_inbox = person
            .inbox
            .filter(|inbox| !inboxes.iter().any(|s| &s.inbox == inbox));
        self.emit(
            &txn,
            Event::Moderation(Box::new(ModerationEvent {
                group: group.clone(),
                inboxes,
                person_inbox,
                id: block_id.clone(),
                actor: actor.clone(),
                person: person.ap_id.clone(),
                act: ModAct::Banned(terms.clone()),
            })),
        )
        .await?;
        self.commit(txn).await?;
        store::holding(&self.db, Some(&group_id), &person.ap_id, Utc::now())
            .await?
            .ok_or_else(|| AppError::Internal("a ban just made is not there".into()))
    }

    /// Moderators: lift a ban from a group here before it runs out.
    pub async fn lift_ban(
        &self,
        origin: &Origin,
        group: &str,
        person: &str,
    ) -> Result<(), AppError> {
        let group = self.group_named(group).await?;
        let here = PostGroup::Local(group.clone());
        self.moderated(origin, &here).await?;
        let person = self.person(person).await?;
        let group_id = self.urls().group(&group.name).to_string();
        let txn = self
            .begin(origin)
            .await?
            .ok_or_else(|| AppError::Internal("a local unban seen twice".into()))?;
        let Some(ban) = store::lift(&txn, Some(&group_id), &person.ap_id).await? else {
            return Err(AppError::NotFound { what: "ban" });
        };
        self.log(
            &txn,
            origin,
            Some(&group_id),
            Logged {
                action: ModAction::Unban,
                target: &person.ap_id,
                reason: "",
                expires_at: None,
            },
        )
        .await?;
        let inboxes = self.member_servers(&txn, group.id, false).await?;
        let person_inbox = person
            .inbox
            .filter(|inbox| !inboxes.iter().any(|s| &s.inbox == inbox));
        if let Some(block_id) = ban.activity_ap_id.clone() {
            self.emit(
                &txn,
                Event::Moderation(Box::new(ModerationEvent {
                    group: group.clone(),
                    inboxes,
                    person_inbox,
                    id: self.urls().new_activity().to_string(),
                    actor: origin.actor_id(self.urls()),
                    person: person.ap_id.clone(),
                    act: ModAct::Unbanned {
                        block_id,
                        terms: ban.terms.clone(),
                    },
                })),
            )
            .await?;
        }
        self.commit(txn).await?;
        Ok(())
    }

    /// Admins: ban someone from this whole instance. Someone elsewhere
    /// leaves every group here, and nothing they send is taken; a member
    /// here can no longer write, react or join. With `remove_data`,
    /// everything they wrote in groups here is removed. Not federated:
    /// other servers decide for themselves.
    pub async fn ban_from_instance(
        &self,
        origin: &Origin,
        request: BanRequest,
    ) -> Result<Ban, AppError> {
        admin(origin)?;
        let terms = ban_terms(&request)?;
        let person = self.person(&request.person).await?;
        let actor = origin.actor_id(self.urls());
        if person.ap_id == actor {
            return Err(AppError::invalid(ValidationError::new(
                "person",
                "yourself",
                "You cannot ban yourself",
            )));
        }
        let txn = self
            .begin(origin)
            .await?
            .ok_or_else(|| AppError::Internal("a local ban seen twice".into()))?;
        store::ban(
            &txn,
            NewBan {
                group_ap_id: None,
                person_ap_id: &person.ap_id,
                terms: &terms,
                activity_ap_id: None,
                by_ap_id: &actor,
            },
        )
        .await?;
        if let Member::Remote(actor_id) = person.member {
            for (group, _) in groups::memberships_of_remote(&txn, actor_id).await? {
                self.end_membership(&txn, origin, &group, person.member, &person.ap_id)
                    .await?;
            }
        }
        if terms.remove_data {
            for group in groups::all_ids_and_names(&txn).await? {
                let group_id = self.urls().group(&group.1).to_string();
                self.remove_content(&txn, &person.ap_id, &group_id).await?;
            }
        }
        self.log(
            &txn,
            origin,
            None,
            Logged {
                action: ModAction::Ban,
                target: &person.ap_id,
                reason: &terms.reason,
                expires_at: terms.expires_at,
            },
        )
        .await?;
        self.commit(txn).await?;
        store::holding(&self.db, None, &person.ap_id, Utc::now())
            .await?
            .ok_or_else(|| AppError::Internal("a ban just made is not there".into()))
    }

    /// Admins: lift an instance ban.
    pub async fn lift_instance_ban(&self, origin: &Origin, person: &str) -> Result<(), AppError> {
        admin(origin)?;
        let person = self.person(person).await?;
        let txn = self
            .begin(origin)
            .await?
            .ok_or_else(|| AppError::Internal("a local unban seen twice".into()))?;
        if store::lift(&txn, None, &person.ap_id).await?.is_none() {
            return Err(AppError::NotFound { what: "ban" });
        }
        self.log(
            &txn,
            origin,
            None,
            Logged {
                action: ModAction::Unban,
                target: &person.ap_id,
                reason: "",
                expires_at: None,
            },
        )
        .await?;
        self.commit(txn).await?;
        Ok(())
    }

    /// The bans that hold in a group here (moderators), or on the instance
    /// (`None`, admins).
    pub async fn bans(&self, session: &Session, group: Option<&str>) -> Result<Vec<Ban>, AppError> {
        let origin = Origin::local(session);
        let group_id = match group {
            Some(name) => {
                let group = self.group_named(name).await?;
                self.moderated(&origin, &PostGroup::Local(group.clone()))
                    .await?;
                Some(self.urls().group(&group.name).to_string())
            }
            None => {
                admin(&origin)?;
                None
            }
        };
        Ok(store::holding_in(&self.db, group_id.as_deref(), Utc::now()).await?)
    }

    /// Remove, here, what `person` wrote in `group` (a ban with
    /// `removeData`). Other servers are told by the ban itself.
    async fn remove_content(
        &self,
        txn: &DatabaseTransaction,
        person: &str,
        group: &str,
    ) -> Result<(), AppError> {
        for id in store::live_posts_by_in(txn, person, group).await? {
            posts::mark_deleted(txn, id).await?;
        }
        Ok(())
    }

    /// A group elsewhere relays its moderator's `Block` of `person` (or,
    /// with `lifted`, its `Undo`). Kept so that the person's activities in
    /// that group are refused here too, and, with `remove_data`, what they
    /// wrote there is removed here.
    pub async fn receive_block(
        &self,
        origin: &Origin,
        person: &str,
        target: &str,
        terms: BanTerms,
        lifted: bool,
    ) -> Result<Outcome, AppError> {
        let Some(r) = origin.remote() else {
            return Err(AppError::Internal("a local Block through the inbox".into()));
        };
        let Via::Relay(relay) = &r.via else {
            // A person's own block of another, or a server-wide ban sent
            // to us: not something Hearth keeps.
            return Ok(Outcome::Ignored("a Block not relayed by a group".into()));
        };
        if target != relay.ap_id {
            return Ok(Outcome::Ignored(
                "a Block of someone outside the group relaying it".into(),
            ));
        }
        let group = PostGroup::Remote(relay.clone());
        self.moderated(origin, &group).await?;
        let Some(txn) = self.begin(origin).await? else {
            return Ok(Outcome::Duplicate);
        };
        if lifted {
            store::lift(&txn, Some(&relay.ap_id), person).await?;
            self.log(
                &txn,
                origin,
                Some(&relay.ap_id),
                Logged {
                    action: ModAction::Unban,
                    target: person,
                    reason: "",
                    expires_at: None,
                },
            )
            .await?;
        } else {
            let terms = BanTerms {
                reason: crate::posts::remote_reason(&terms.reason),
                ..terms
            };
            store::ban(
                &txn,
                NewBan {
                    group_ap_id: Some(&relay.ap_id),
                    person_ap_id: person,
                    terms: &terms,
                    activity_ap_id: Some(&r.activity),
                    by_ap_id: &r.actor,
                },
            )
            .await?;
            if terms.remove_data {
                self.remove_content(&txn, person, &relay.ap_id).await?;
            }
            self.log(
                &txn,
                origin,
                Some(&relay.ap_id),
                Logged {
                    action: ModAction::Ban,
                    target: person,
                    reason: &terms.reason,
                    expires_at: terms.expires_at,
                },
            )
            .await?;
            if let Some(LocalRef::User(name)) = self.urls().parse_local_id(person)
                && let Some(account) = accounts::find_by_username(&txn, &name).await?
            {
                // The group removed them: they are no longer a member here
                // either (and may ask again once the ban is over).
                if let Some(membership) =
                    remote::find_membership(&txn, account.id, relay.id).await?
                {
                    remote::remove_membership(&txn, membership.id).await?;
                }
                store::forget_roles(&txn, &relay.ap_id, person).await?;
                hearth_db::notifications::record(
                    &txn,
                    account.id,
                    NotificationKind::Banned,
                    Some(&r.actor),
                    None,
                    Some(&relay.ap_id),
                    &terms.reason,
                )
                .await?;
            }
        }
        self.commit(txn).await?;
        Ok(Outcome::Applied)
    }

    // ---- the moderator role ---------------------------------------------

    /// Moderators (or admins): make a joined member here a moderator of a
    /// group here (`true`), or end their role. Member servers are told
    /// (`Add`/`Remove` on the group's moderators collection).
    pub async fn set_moderator(
        &self,
        origin: &Origin,
        group: &str,
        username: &str,
        moderates: bool,
    ) -> Result<(), AppError> {
        let (group, group_id, person, member) = self
            .role_holder(
                origin,
                group,
                username,
                moderates,
                "Only a member of the group can moderate it",
            )
            .await?;
        let txn = self
            .begin(origin)
            .await?
            .ok_or_else(|| AppError::Internal("a local change seen twice".into()))?;
        let changed = match member {
            Member::Local(account) => {
                groups::set_moderator(&txn, group.id, account, moderates).await?
            }
            // Someone of another server: their server hears it from the
            // group (`Add`), and this group takes their actions from then.
            Member::Remote(_) => {
                let was = store::is_remote_moderator(&txn, &group_id, &person).await?;
                if was != moderates {
                    store::set_remote_moderator(&txn, &group_id, &person, moderates).await?;
                }
                was != moderates
            }
        };
        if !changed {
            txn.rollback().await?;
            return Ok(());
        }
        let change = if moderates {
            (ModAction::AddModerator, ModAct::ModeratorAdded)
        } else {
            (ModAction::RemoveModerator, ModAct::ModeratorRemoved)
        };
        self.role_changed(txn, origin, &group, &group_id, person, change)
            .await
    }

    /// The one door a membership of a group here ends by, in `txn`
    /// (leaving, a ban, an instance ban, the person's erasure): the
    /// membership goes, and every role `person` held in the group goes
    /// with it (moderator, peer mentor). Each role that ended is told with
    /// `Remove` to the member servers as they were (the person's own among
    /// them) and, when someone else ended it, logged. Whether there was a
    /// membership.
    pub(crate) async fn end_membership(
        &self,
        txn: &DatabaseTransaction,
        origin: &Origin,
        group: &Group,
        member: Member,
        person: &str,
    ) -> Result<bool, AppError> {
        let group_id = self.urls().group(&group.name).to_string();
        let moderated_here = match member {
            Member::Local(account) => groups::is_moderator(txn, group.id, account).await?,
            Member::Remote(_) => false,
        };
        let inboxes = self.member_servers(txn, group.id, false).await?;
        let mut ended = store::forget_roles(txn, &group_id, person).await?;
        ended.moderator |= moderated_here;
        let removed = groups::remove_membership(txn, group.id, member).await?;
        // Nobody here can sign for someone of another server: the group
        // itself says that their role ended.
        let actor = match origin {
            Origin::Local(_) => origin.actor_id(self.urls()),
            Origin::Remote(_) => group_id.clone(),
        };
        let by_someone_else = origin.actor_id(self.urls()) != person;
        for (held, action, act) in [
            (
                ended.moderator,
                ModAction::RemoveModerator,
                ModAct::ModeratorRemoved,
            ),
            (ended.mentor, ModAction::RemoveMentor, ModAct::MentorRemoved),
        ] {
            if !held {
                continue;
            }
            if by_someone_else {
                self.log(
                    txn,
                    origin,
                    Some(&group_id),
                    Logged {
                        action,
                        target: person,
                        reason: "",
                        expires_at: None,
                    },
                )
                .await?;
            }
            self.emit(
                txn,
                Event::Moderation(Box::new(ModerationEvent {
                    group: group.clone(),
                    inboxes: inboxes.clone(),
                    person_inbox: None,
                    id: self.urls().new_activity().to_string(),
                    actor: actor.clone(),
                    person: person.to_owned(),
                    act,
                })),
            )
            .await?;
        }
        Ok(removed)
    }

    /// Who is given or loses a role in the group `group` here (moderator,
    /// mentor): the group, its id, the person's actor id and membership.
    /// Only the group's moderators may ask; only a joined member is given
    /// one (`refusal` otherwise, naming `person`).
    pub(crate) async fn role_holder(
        &self,
        origin: &Origin,
        group: &str,
        username: &str,
        giving: bool,
        refusal: &'static str,
    ) -> Result<(Group, String, String, Member), AppError> {
        let group = self.group_named(group).await?;
        self.moderated(origin, &PostGroup::Local(group.clone()))
            .await?;
        let (person, member) = self.person_named(username).await?;
        let joined = groups::find_membership(&self.db, group.id, member)
            .await?
            .is_some_and(|m| m.state == MembershipState::Joined);
        if giving && !joined {
            return Err(AppError::invalid(ValidationError::new(
                "person",
                "not_member",
                refusal,
            )));
        }
        let group_id = self.urls().group(&group.name).to_string();
        Ok((group, group_id, person, member))
    }

    /// A role given or taken in `group`, in `txn`: the log line, the
    /// `Add`/`Remove` its member servers hear, and the commit.
    pub(crate) async fn role_changed(
        &self,
        txn: WriteTxn,
        origin: &Origin,
        group: &Group,
        group_id: &str,
        person: String,
        (action, act): (ModAction, ModAct),
    ) -> Result<(), AppError> {
        self.log(
            &txn,
            origin,
            Some(group_id),
            Logged {
                action,
                target: &person,
                reason: "",
                expires_at: None,
            },
        )
        .await?;
        let inboxes = self.member_servers(&txn, group.id, false).await?;
        self.emit(
            &txn,
            Event::Moderation(Box::new(ModerationEvent {
                group: group.clone(),
                inboxes,
                person_inbox: None,
                id: self.urls().new_activity().to_string(),
                actor: origin.actor_id(self.urls()),
                person,
                act,
            })),
        )
        .await?;
        self.commit(txn).await?;
        Ok(())
    }

    /// A person by username here, or by handle (`name@server`) for
    /// someone of another server this one knows: their actor id, and how
    /// their membership is looked up.
    pub(crate) async fn person_named(&self, name: &str) -> Result<(String, Member), AppError> {
        let name = name.trim().trim_start_matches('@');
        let handle = crate::ids::Handle::parse(name);
        match handle.filter(|h| !h.authority.eq_ignore_ascii_case(&self.config.domain)) {
            Some(h) => {
                let actor = remote::find_actor_by_handle(&self.db, &h.name, &h.authority)
                    .await?
                    .ok_or(AppError::NotFound { what: "person" })?;
                Ok((actor.ap_id, Member::Remote(actor.id)))
            }
            None => {
                let local = crate::ids::Handle::parse(name).map_or(name.to_owned(), |h| h.name);
                let account = accounts::find_by_username(&self.db, &local)
                    .await?
                    .ok_or(AppError::NotFound { what: "person" })?;
                Ok((
                    self.urls().user(&account.username).to_string(),
                    Member::Local(account.id),
                ))
            }
        }
    }

    /// The actor ids of a group's moderators here: its members here who
    /// moderate it, and the people of other servers it made moderators.
    pub async fn moderator_ids(&self, group: &Group) -> Result<Vec<String>, AppError> {
        let mut ids: Vec<String> = groups::moderator_usernames(&self.db, group.id)
            .await?
            .iter()
            .map(|name| self.urls().user(name).to_string())
            .collect();
        let group_id = self.urls().group(&group.name).to_string();
        ids.extend(store::remote_moderators_of(&self.db, &group_id).await?);
        Ok(ids)
    }

    /// A group elsewhere relays its moderator's `Add` (or `Remove`) of
    /// `person` to its moderators collection `target`.
    pub async fn receive_moderator(
        &self,
        origin: &Origin,
        person: &str,
        target: &str,
        moderates: bool,
    ) -> Result<Outcome, AppError> {
        let Some(r) = origin.remote() else {
            return Err(AppError::Internal("a local Add through the inbox".into()));
        };
        let target = target.trim_end_matches('/');
        let Via::Relay(relay) = &r.via else {
            // A moderator of another server pins (or unpins) a thread of a
            // group here, in that group's featured collection.
            if let Some(post) = posts::find_by_ap_id(&self.db, person).await?
                && post.group_id.is_some()
                && target == format!("{}/featured", post.group_ap_id)
            {
                return self
                    .receive_mark(origin, person, ThreadMark::Pinned(moderates))
                    .await;
            }
            return Ok(Outcome::Ignored("an Add not relayed by a group".into()));
        };
        // Peer mentors and helpful replies (Hearth's own collections).
        if let Some(outcome) = self
            .receive_care(origin, relay, person, target, moderates)
            .await?
        {
            return Ok(outcome);
        }
        if target == format!("{}/featured", relay.ap_id) {
            // Lemmy's and Hearth's pinned threads.
            return self
                .receive_mark(origin, person, ThreadMark::Pinned(moderates))
                .await;
        }
        if target != format!("{}/moderators", relay.ap_id) {
            return Ok(Outcome::Ignored(
                "an Add or Remove of something other than the group's moderators or pinned threads"
                    .into(),
            ));
        }
        self.moderated(origin, &PostGroup::Remote(relay.clone()))
            .await?;
        let Some(txn) = self.begin(origin).await? else {
            return Ok(Outcome::Duplicate);
        };
        store::set_remote_moderator(&txn, &relay.ap_id, person, moderates).await?;
        let action = if moderates {
            ModAction::AddModerator
        } else {
            ModAction::RemoveModerator
        };
        self.log(
            &txn,
            origin,
            Some(&relay.ap_id),
            Logged {
                action,
                target: person,
                reason: "",
                expires_at: None,
            },
        )
        .await?;
        self.commit(txn).await?;
        Ok(Outcome::Applied)
    }

    /// The moderators a group elsewhere announced (beyond the people on
    /// its own server).
    pub async fn announced_moderators(&self, group: &RemoteActor) -> Result<Vec<String>, AppError> {
        Ok(store::remote_moderators_of(&self.db, &group.ap_id).await?)
    }

    // ---- reports --------------------------------------------------------

    /// A member reports a post or an account, with a category and a
    /// comment. The moderators of a group here (or the admins, for what is
    /// not in a group here) find it in their queue; what was written on
    /// other servers is also reported to them (`Flag`, sent by this
    /// server's own actor: the reporter stays anonymous elsewhere).
    pub async fn report(
        &self,
        session: &Session,
        request: ReportRequest,
    ) -> Result<Report, AppError> {
        let origin = Origin::local(session);
        self.within_limits(&origin, crate::limits::Act::Report)?;
        let category: ReportCategory = request.category.trim().parse().map_err(
            |e: hearth_domain::account::UnknownValue| {
                AppError::invalid(ValidationError::new("category", "invalid", e.to_string()))
            },
        )?;
        if category == ReportCategory::PossibleCrisis {
            return Err(AppError::invalid(ValidationError::new(
                "category",
                "invalid",
                "Choose one of the reasons listed; for someone who may hurt themselves, \
                 choose self_harm",
            )));
        }
        let comment = optional_text("comment", &request.comment).map_err(AppError::invalid)?;
        if category == ReportCategory::Other && comment.is_empty() {
            return Err(AppError::invalid(ValidationError::new(
                "comment",
                "required",
                "Say in a few words what is wrong",
            )));
        }
        let (post, account, group) = match (request.post_id, request.account.as_deref()) {
            (Some(id), _) => {
                let (post, group) = self.readable_post(Some(session), id).await?;
                if post.is_deleted() {
                    return Err(AppError::NotFound { what: "post" });
                }
                (Some(post.clone()), post.author_ap_id.clone(), Some(group))
            }
            (None, Some(who)) => (None, self.person(who).await?.ap_id, None),
            (None, None) => {
                return Err(AppError::invalid(ValidationError::new(
                    "post",
                    "required",
                    "Say which post or which person you report",
                )));
            }
        };
        if account == origin.actor_id(self.urls()) {
            return Err(AppError::invalid(ValidationError::new(
                "post",
                "yourself",
                "You cannot report yourself",
            )));
        }
        // Who else hears of it: the group's server, and the author's. Not
        // Lemmy: it takes a report only from a person, and the reporter
        // stays anonymous outside this server, so the report stays here.
        let mut inboxes: Vec<String> = Vec::new();
        if let Some(PostGroup::Remote(g)) = &group
            && self.takes_anonymous_reports(&g.authority).await?
        {
            inboxes.push(g.inbox.clone());
        }
        if !self.urls().is_local_id(&account)
            && let Some(author) = remote::find_actor(&self.db, &account).await?
            && self.takes_anonymous_reports(&author.authority).await?
        {
            let inbox = author.shared_inbox.clone().unwrap_or(author.inbox.clone());
            let same_server = match &group {
                Some(PostGroup::Remote(g)) => g.authority.eq_ignore_ascii_case(&author.authority),
                _ => false,
            };
            if !same_server && !inboxes.contains(&inbox) {
                inboxes.push(inbox);
            }
        }
        let flag_id = (!inboxes.is_empty()).then(|| self.urls().new_activity().to_string());
        let group_ap_id = group.as_ref().map(|g| g.ap_id(self));
        let txn = self
            .begin(&origin)
            .await?
            .ok_or_else(|| AppError::Internal("a local report seen twice".into()))?;
        let report = store::insert_report(
            &txn,
            NewReport {
                reporter_user_id: Some(session.account.id),
                flagged_by: None,
                flag_ap_id: flag_id.as_deref(),
                post_ap_id: post.as_ref().map(|p| p.ap_id.as_str()),
                account_ap_id: &account,
                group_ap_id: group_ap_id.as_deref(),
                category,
                comment: &comment,
            },
        )
        .await?
        .ok_or_else(|| AppError::Internal("a new report's flag id is taken".into()))?;
        self.tell_moderators(&txn, &report).await?;
        if let Some(id) = flag_id {
            self.emit(
                &txn,
                Event::Reported(Box::new(FlagEvent {
                    id,
                    account: account.clone(),
                    post: post.as_ref().map(|p| p.ap_id.clone()),
                    group: group_ap_id.clone(),
                    category,
                    comment,
                    inboxes,
                })),
            )
            .await?;
        }
        self.commit(txn).await?;
        tracing::info!(
            report = report.id,
            category = category.as_str(),
            "report made"
        );
        Ok(report)
    }

    /// Whether the server at `authority` takes a report sent by this
    /// server's own actor (Lemmy 0.19 takes them only from a person).
    async fn takes_anonymous_reports(&self, authority: &str) -> Result<bool, AppError> {
        Ok(self.peer_server(&self.db, authority).await?.software != Software::Lemmy)
    }

    /// Tell who handles a report: the moderators of its group here, else
    /// the admins.
    pub(crate) async fn tell_moderators(
        &self,
        txn: &DatabaseTransaction,
        report: &Report,
    ) -> Result<(), AppError> {
        let group = match report
            .group_ap_id
            .as_deref()
            .and_then(|g| self.urls().parse_local_id(g))
        {
            Some(LocalRef::Group(name)) => groups::find_by_name(txn, &name).await?,
            _ => None,
        };
        let people: Vec<i64> = match &group {
            Some(g) => groups::moderator_ids(txn, g.id).await?,
            None => accounts::admin_ids(txn).await?,
        };
        let post_id = match &report.post_ap_id {
            Some(id) => posts::find_by_ap_id(txn, id).await?.map(|p| p.id),
            None => None,
        };
        for user in people {
            if Some(user) == report.reporter_user_id {
                continue;
            }
            hearth_db::notifications::record(
                txn,
                user,
                if report.category == ReportCategory::PossibleCrisis {
                    NotificationKind::PossibleCrisis
                } else {
                    NotificationKind::Report
                },
                None,
                post_id,
                report.group_ap_id.as_deref(),
                report.category.as_str(),
            )
            .await?;
        }
        Ok(())
    }

    /// Another server's `Flag` (Lemmy's, Mastodon's, Hearth's): a report
    /// about a post in a group here, or about something a member here
    /// wrote, or about a member here. Anything else is not ours to judge.
    pub async fn receive_flag(
        &self,
        origin: &Origin,
        flag: IncomingFlag,
    ) -> Result<Outcome, AppError> {
        let Some(r) = origin.remote() else {
            return Err(AppError::Internal("a local Flag through the inbox".into()));
        };
        self.within_limits(origin, crate::limits::Act::Report)?;
        let mut post: Option<(Post, PostGroup)> = None;
        let mut account: Option<String> = None;
        for object in &flag.objects {
            match self.urls().parse_local_id(object) {
                Some(LocalRef::User(name)) => {
                    if account.is_none()
                        && accounts::find_by_username(&self.db, &name).await?.is_some()
                    {
                        account = Some(self.urls().user(&name).to_string());
                    }
                    continue;
                }
                Some(LocalRef::Group(_) | LocalRef::Site | LocalRef::Activity(_)) => continue,
                _ => {}
            }
            if post.is_some() {
                continue;
            }
            let Some(found) = self.named_post_for_flag(object).await? else {
                continue;
            };
            if found.group_id.is_none() && !found.local {
                continue;
            }
            let Some(group) = group_of(&self.db, &found).await? else {
                continue;
            };
            // About a group here: only what the reporting server could
            // read may be reported. About a member's post in a group
            // elsewhere: that group decides who reads it, and a report
            // tells the reporter nothing back, so the post is taken.
            if matches!(group, PostGroup::Local(_))
                && !access_allows(self, origin, &found, &group).await?
            {
                continue;
            }
            post = Some((found, group));
        }
        let account = match (&post, account) {
            (Some((p, _)), _) => p.author_ap_id.clone(),
            (None, Some(a)) => a,
            (None, None) => {
                return Ok(Outcome::Ignored(
                    "a report about nothing this server holds".into(),
                ));
            }
        };
        let comment = flag
            .comment
            .as_deref()
            .map(crate::posts::remote_reason)
            .unwrap_or_default();
        let comment = optional_text("comment", &comment).unwrap_or_else(|_| {
            comment
                .chars()
                .take(hearth_domain::moderation::MAX_REASON)
                .collect()
        });
        let category = ReportCategory::from_remote(flag.category.as_deref());
        let group_ap_id = post.as_ref().map(|(_, g)| g.ap_id(self));
        let Some(txn) = self.begin(origin).await? else {
            return Ok(Outcome::Duplicate);
        };
        let Some(report) = store::insert_report(
            &txn,
            NewReport {
                reporter_user_id: None,
                flagged_by: Some(&r.actor),
                flag_ap_id: Some(&r.activity),
                post_ap_id: post.as_ref().map(|(p, _)| p.ap_id.as_str()),
                account_ap_id: &account,
                group_ap_id: group_ap_id.as_deref(),
                category,
                comment: &comment,
            },
        )
        .await?
        else {
            txn.rollback().await?;
            return Ok(Outcome::Duplicate);
        };
        self.tell_moderators(&txn, &report).await?;
        self.commit(txn).await?;
        tracing::info!(report = report.id, from = %r.actor, "report received");
        Ok(Outcome::Applied)
    }

    /// The post a `Flag` names (a thread's note stands for the thread).
    async fn named_post_for_flag(&self, id: &str) -> Result<Option<Post>, AppError> {
        let id = self
            .urls()
            .thread_of_note(id)
            .unwrap_or_else(|| id.to_owned());
        Ok(posts::find_by_ap_id(&self.db, &id).await?)
    }

    /// Reports a moderator or admin handles, newest first: admins every
    /// report, moderators those about their groups here.
    pub async fn reports(
        &self,
        session: &Session,
        state: Option<ReportState>,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Report>, AppError> {
        let scope = if session.account.role == Role::Admin {
            ReportScope::All
        } else {
            let groups = groups::moderated_by(&self.db, session.account.id).await?;
            if groups.is_empty() {
                return Err(AppError::Forbidden(
                    "Only moderators and admins handle reports.",
                ));
            }
            ReportScope::Groups(
                groups
                    .iter()
                    .map(|g| self.urls().group(&g.name).to_string())
                    .collect(),
            )
        };
        Ok(store::reports_page(&self.db, &scope, state, before, limit).await?)
    }

    /// The reports a member made, newest first (to see what became of
    /// them).
    pub async fn my_reports(
        &self,
        session: &Session,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Report>, AppError> {
        Ok(store::reports_page(
            &self.db,
            &ReportScope::By(session.account.id),
            None,
            before,
            limit,
        )
        .await?)
    }

    /// Whether the account handles `report`.
    pub(crate) async fn handles(
        &self,
        session: &Session,
        report: &Report,
    ) -> Result<bool, AppError> {
        if session.account.role == Role::Admin {
            return Ok(true);
        }
        Ok(
            match report
                .group_ap_id
                .as_deref()
                .and_then(|g| self.urls().parse_local_id(g))
            {
                Some(LocalRef::Group(name)) => match groups::find_by_name(&self.db, &name).await? {
                    Some(g) => groups::is_moderator(&self.db, g.id, session.account.id).await?,
                    None => false,
                },
                _ => false,
            },
        )
    }

    /// Moderators and admins: deal with a report, saying what was done.
    /// The reporter is told: here with a notification; on another Hearth
    /// server with `Resolve` (other software has no way to hear it).
    pub async fn resolve_report(
        &self,
        session: &Session,
        id: i64,
        resolution: &str,
    ) -> Result<Report, AppError> {
        let origin = Origin::local(session);
        let resolution = required_reason("resolution", resolution).map_err(AppError::invalid)?;
        let report = store::find_report(&self.db, id)
            .await?
            .ok_or(AppError::NotFound { what: "report" })?;
        if !self.handles(session, &report).await? {
            return Err(AppError::NotFound { what: "report" });
        }
        // Only a report that came by a Flag of a Hearth server is answered.
        let answer = match (&report.flagged_by, &report.flag_ap_id) {
            (Some(by), Some(flag)) => match remote::find_actor(&self.db, by).await? {
                Some(actor)
                    if self.peer_server(&self.db, &actor.authority).await?.software
                        == Software::Hearth =>
                {
                    Some((actor, flag.clone()))
                }
                _ => None,
            },
            _ => None,
        };
        let actor = origin.actor_id(self.urls());
        let txn = self
            .begin(&origin)
            .await?
            .ok_or_else(|| AppError::Internal("a local change seen twice".into()))?;
        let Some(resolved) = store::resolve_report(&txn, id, &resolution, &actor).await? else {
            txn.rollback().await?;
            return Err(AppError::invalid(ValidationError::new(
                "report",
                "resolved",
                "This report was already dealt with",
            )));
        };
        self.log(
            &txn,
            &origin,
            report.group_ap_id.as_deref(),
            Logged {
                action: ModAction::ResolveReport,
                target: report
                    .post_ap_id
                    .as_deref()
                    .unwrap_or(&report.account_ap_id),
                reason: &resolution,
                expires_at: None,
            },
        )
        .await?;
        if let Some(user) = report.reporter_user_id {
            hearth_db::notifications::record(
                &txn,
                user,
                NotificationKind::ReportResolved,
                None,
                None,
                report.group_ap_id.as_deref(),
                &resolution,
            )
            .await?;
        }
        if let Some((flagged_by, flag_id)) = answer {
            self.emit(
                &txn,
                Event::ReportResolved(Box::new(ResolvedEvent {
                    id: self.urls().new_activity().to_string(),
                    flag_id,
                    flagged_by: flagged_by.ap_id.clone(),
                    inbox: flagged_by.inbox.clone(),
                    resolution: resolution.clone(),
                })),
            )
            .await?;
        }
        self.commit(txn).await?;
        Ok(resolved)
    }

    /// Another Hearth server dealt with a report sent from here (`Resolve`
    /// of our `Flag`): the member who made it is told. Only a server the
    /// report went to may say so.
    pub async fn receive_resolve(
        &self,
        origin: &Origin,
        flag_id: &str,
        resolution: Option<&str>,
    ) -> Result<Outcome, AppError> {
        let Some(r) = origin.remote() else {
            return Err(AppError::Internal(
                "a local Resolve through the inbox".into(),
            ));
        };
        let Some(report) = store::find_report_by_flag(&self.db, flag_id).await? else {
            return Ok(Outcome::Ignored("not a report sent from here".into()));
        };
        let Some(reporter) = report.reporter_user_id else {
            return Ok(Outcome::Ignored("not a report sent from here".into()));
        };
        let told = [
            report.group_ap_id.as_deref(),
            Some(report.account_ap_id.as_str()),
        ]
        .into_iter()
        .flatten()
        .filter_map(crate::ids::authority_of)
        .any(|a| a.eq_ignore_ascii_case(&r.server));
        if !told {
            return Err(AppError::Refused(format!(
                "{} was not sent report {flag_id}",
                r.server
            )));
        }
        let resolution = crate::posts::remote_reason(resolution.unwrap_or_default());
        let resolution: String = resolution
            .chars()
            .take(hearth_domain::moderation::MAX_REASON)
            .collect();
        let Some(txn) = self.begin(origin).await? else {
            return Ok(Outcome::Duplicate);
        };
        if store::resolve_report(&txn, report.id, &resolution, &r.actor)
            .await?
            .is_none()
        {
            txn.rollback().await?;
            return Ok(Outcome::Ignored("already resolved".into()));
        }
        hearth_db::notifications::record(
            &txn,
            reporter,
            NotificationKind::ReportResolved,
            Some(&r.actor),
            None,
            report.group_ap_id.as_deref(),
            &resolution,
        )
        .await?;
        self.commit(txn).await?;
        Ok(Outcome::Applied)
    }

    // ---- the log ----------------------------------------------------------

    /// One page of a group's moderation log (a group here, by name), newest
    /// first. Its members read it, and everyone when the group is listed;
    /// the instance may hide moderators' names from all but admins.
    pub async fn group_log(
        &self,
        reader: LogReader<'_>,
        group: &str,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<LogLine>, AppError> {
        let group = self.group_named(group).await?;
        let (member, is_admin) = match reader {
            LogReader::Anonymous => (false, false),
            LogReader::Account(s) => (
                groups::find_membership(&self.db, group.id, Member::Local(s.account.id))
                    .await?
                    .is_some_and(|m| m.state == MembershipState::Joined),
                s.account.role == Role::Admin,
            ),
        };
        if !(group.listed || member || is_admin) {
            return Err(AppError::NotFound { what: "group" });
        }
        let id = self.urls().group(&group.name).to_string();
        let lines = store::log_page(&self.db, LogScope::Group(&id), before, limit).await?;
        Ok(self.log_lines(lines, is_admin))
    }

    /// Admins: one page of the whole moderation log.
    pub async fn instance_log(
        &self,
        session: &Session,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<LogLine>, AppError> {
        admin(&Origin::local(session))?;
        let lines = store::log_page(&self.db, LogScope::All, before, limit).await?;
        Ok(self.log_lines(lines, true))
    }

    fn log_lines(&self, lines: Vec<LogEntry>, admin: bool) -> Vec<LogLine> {
        let names = admin || self.config.moderation.log_shows_moderators;
        lines
            .into_iter()
            .map(|entry| LogLine {
                actor: names.then(|| entry.actor_ap_id.clone()),
                entry,
            })
            .collect()
    }
}

/// A moderator's mark on a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ThreadMark {
    /// Closed to new replies (`true`), or open again.
    Locked(bool),
    /// Pinned to the top of its group (`true`), or not.
    Pinned(bool),
}

/// What a line of the log says (besides who and where).
pub(crate) struct Logged<'a> {
    pub(crate) action: ModAction,
    pub(crate) target: &'a str,
    pub(crate) reason: &'a str,
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

/// The terms of a ban as asked for, or why not (each error names its
/// field).
fn ban_terms(request: &BanRequest) -> Result<BanTerms, AppError> {
    let reason = required_reason("reason", &request.reason).map_err(AppError::invalid)?;
    if request.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(AppError::invalid(ValidationError::new(
            "expires_at",
            "in_the_past",
            "A ban must end in the future",
        )));
    }
    Ok(BanTerms {
        reason,
        expires_at: request.expires_at,
        remove_data: request.remove_data,
    })
}

fn admin(origin: &Origin) -> Result<(), AppError> {
    match origin {
        Origin::Local(account) if account.role == Role::Admin => Ok(()),
        _ => Err(AppError::Forbidden("Only admins can do this.")),
    }
}

/// The one read rule, for whoever asks.
pub(crate) async fn access_allows(
    app: &App,
    origin: &Origin,
    post: &Post,
    group: &PostGroup,
) -> Result<bool, AppError> {
    crate::access::can_read(&app.db, &origin.reader(), post, Some(group), app.vouched()).await
}

/// What a group holds for its moderators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Premoderation {
    /// Posts from members who joined less than this many days ago.
    pub new_member_days: u32,
    /// Posts from people on these servers (`host[:port]`).
    pub servers: Vec<String>,
}

/// The longest pre-moderation period, in days.
const MAX_HOLD_DAYS: u32 = 365;

impl App {
    // ---- pre-moderation ---------------------------------------------------

    /// Whether a post by whoever asks, in the group here `group`, waits for
    /// a moderator: by someone who joined less than the group's number of
    /// days ago (or is not a member at all), or from a server the group
    /// names. Moderators' and admins' posts never wait; neither does what
    /// a group elsewhere relays (it is not in a group here).
    pub(crate) async fn holds(&self, origin: &Origin, group: &Group) -> Result<bool, AppError> {
        if let Some(r) = origin.remote()
            && matches!(r.via, Via::Relay(_))
        {
            return Ok(false);
        }
        let here = PostGroup::Local(group.clone());
        if self.may_moderate(&self.db, origin, &here).await? {
            return Ok(false);
        }
        if let Some(r) = origin.remote()
            && groups::held_servers(&self.db, group.id)
                .await?
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&r.server))
        {
            return Ok(true);
        }
        if group.hold_new_members_days == 0 {
            return Ok(false);
        }
        let member = match origin {
            Origin::Local(account) => Member::Local(account.id),
            Origin::Remote(r) => match &r.via {
                Via::Signed(actor) => Member::Remote(actor.id),
                Via::Relay(_) => return Ok(false),
            },
        };
        let since = chrono::Duration::days(i64::from(group.hold_new_members_days));
        Ok(
            match groups::find_membership(&self.db, group.id, member).await? {
                Some(m) if m.state == MembershipState::Joined => m.updated_at + since > Utc::now(),
                // Someone who is not a member (a group that takes outside
                // posts) is as new as can be.
                _ => true,
            },
        )
    }

    /// Tell the group's moderators a post waits for them.
    pub(crate) async fn tell_about_held(
        &self,
        txn: &DatabaseTransaction,
        post: &Post,
    ) -> Result<(), AppError> {
        let Some(group_id) = post.group_id else {
            return Ok(());
        };
        for user in groups::moderator_ids(txn, group_id).await? {
            hearth_db::notifications::record(
                txn,
                user,
                NotificationKind::Held,
                Some(&post.author_ap_id),
                Some(post.id),
                Some(&post.group_ap_id),
                "",
            )
            .await?;
        }
        Ok(())
    }

    /// Moderators: what the group here `name` holds for them.
    pub async fn premoderation(
        &self,
        session: &Session,
        name: &str,
    ) -> Result<Premoderation, AppError> {
        let group = self.group_named(name).await?;
        self.moderated(&Origin::local(session), &PostGroup::Local(group.clone()))
            .await?;
        Ok(Premoderation {
            new_member_days: group.hold_new_members_days,
            servers: groups::held_servers(&self.db, group.id).await?,
        })
    }

    /// Moderators: set what the group holds for them (0 days and no
    /// servers: nothing). Each server is `host` or `host:port`.
    pub async fn set_premoderation(
        &self,
        origin: &Origin,
        name: &str,
        wanted: Premoderation,
    ) -> Result<Premoderation, AppError> {
        let group = self.group_named(name).await?;
        self.moderated(origin, &PostGroup::Local(group.clone()))
            .await?;
        if wanted.new_member_days > MAX_HOLD_DAYS {
            return Err(AppError::invalid(ValidationError::new(
                "new_member_days",
                "too_long",
                format!("At most {MAX_HOLD_DAYS} days"),
            )));
        }
        let mut servers = Vec::with_capacity(wanted.servers.len());
        for raw in &wanted.servers {
            let server = hearth_domain::federation_policy::normalise_domain(raw).map_err(|_| {
                AppError::invalid(ValidationError::new(
                    "servers",
                    "invalid",
                    format!(
                        "'{}' is not a server's name, such as example.org",
                        raw.trim()
                    ),
                ))
            })?;
            if !servers.contains(&server) {
                servers.push(server);
            }
        }
        let group_id = self.urls().group(&group.name).to_string();
        let reason = format!(
            "new members: {} days; servers: {}",
            wanted.new_member_days,
            if servers.is_empty() {
                "none".to_owned()
            } else {
                servers.join(", ")
            }
        );
        let txn = self
            .begin(origin)
            .await?
            .ok_or_else(|| AppError::Internal("a local change seen twice".into()))?;
        groups::set_premoderation(&txn, group.id, wanted.new_member_days, &servers).await?;
        self.log(
            &txn,
            origin,
            Some(&group_id),
            Logged {
                action: ModAction::SetPremoderation,
                target: &group_id,
                reason: &reason,
                expires_at: None,
            },
        )
        .await?;
        self.commit(txn).await?;
        Ok(Premoderation {
            new_member_days: wanted.new_member_days,
            servers,
        })
    }

    /// Moderators: the posts of a group here waiting for them, oldest
    /// first.
    pub async fn held_posts(&self, session: &Session, name: &str) -> Result<Vec<Post>, AppError> {
        let group = self.group_named(name).await?;
        self.moderated(&Origin::local(session), &PostGroup::Local(group.clone()))
            .await?;
        let id = self.urls().group(&group.name).to_string();
        Ok(posts::held_in(&self.db, &id).await?)
    }

    /// Moderators: the posts of a group here they removed whose words are
    /// still kept (so the removal can be undone), most recently removed
    /// first.
    pub async fn removed_posts(
        &self,
        session: &Session,
        name: &str,
    ) -> Result<Vec<(Post, hearth_db::removed::Removed)>, AppError> {
        let group = self.group_named(name).await?;
        self.moderated(&Origin::local(session), &PostGroup::Local(group.clone()))
            .await?;
        let id = self.urls().group(&group.name).to_string();
        let kept = hearth_db::removed::in_group(&self.db, &id, 200).await?;
        // Reading them is reading members' words they may not know are
        // still kept: written in the audit log, for each member here.
        let mut subjects: Vec<(i64, String)> = Vec::new();
        for (post, _) in &kept {
            if let Some(author) = post.author_user_id
                && author != session.account.id
                && !subjects.iter().any(|(id, _)| *id == author)
                && let Some(account) = hearth_db::accounts::find_by_id(&self.db, author).await?
            {
                subjects.push((author, account.username));
            }
        }
        self.record_reads(
            session,
            hearth_domain::audit::AuditAction::RemovedPosts,
            &subjects,
        )
        .await?;
        Ok(kept)
    }

    /// A held post and its group here, for a moderator of that group.
    async fn held_post(&self, origin: &Origin, id: i64) -> Result<(Post, Group), AppError> {
        let post = posts::find_by_id(&self.db, id)
            .await?
            .filter(|p| p.is_held() && !p.is_deleted())
            .ok_or(AppError::NotFound { what: "post" })?;
        let Some(PostGroup::Local(group)) = group_of(&self.db, &post).await? else {
            return Err(AppError::NotFound { what: "post" });
        };
        if !self
            .may_moderate(&self.db, origin, &PostGroup::Local(group.clone()))
            .await?
        {
            return Err(AppError::NotFound { what: "post" });
        }
        Ok((post, group))
    }

    /// Moderators: let a held post through. It is published as if it had
    /// just been accepted: shown, relayed to the member servers with its
    /// author's own activity, and the people it answers or names are told.
    pub async fn approve_post(&self, origin: &Origin, id: i64) -> Result<Post, AppError> {
        let (held, group) = self.held_post(origin, id).await?;
        let txn = self
            .begin(origin)
            .await?
            .ok_or_else(|| AppError::Internal("a local change seen twice".into()))?;
        let (post, activity) = posts::release(&txn, held.id).await?;
        let mut mentioned = Vec::new();
        if post.local {
            for name in
                hearth_domain::notification::local_mentions(&post.source, &self.config.domain)
            {
                if let Some(account) = accounts::find_by_username(&txn, &name).await? {
                    mentioned.push(account.id);
                }
            }
        }
        crate::notifications::post_stored(&txn, &post, &mentioned).await?;
        let group_id = self.urls().group(&group.name).to_string();
        self.log(
            &txn,
            origin,
            Some(&group_id),
            Logged {
                action: ModAction::ApprovePost,
                target: &post.ap_id,
                reason: "",
                expires_at: None,
            },
        )
        .await?;
        if post.visibility.federates() {
            let members_only =
                post.effective_visibility() != hearth_domain::post::Visibility::Public;
            let act = PostAct {
                id: activity,
                actor: post.author_ap_id.clone(),
                by_member_here: post.local,
                post: post.clone(),
                change: Change::Created,
            };
            let to = PostAudience::GroupHere {
                group: group.clone(),
                inboxes: self.member_servers(&txn, group.id, members_only).await?,
            };
            self.emit(&txn, Event::Post(Box::new(PostEvent { to, act })))
                .await?;
        }
        self.commit(txn).await?;
        tracing::info!(post = %post.ap_id, "held post approved");
        Ok(post)
    }

    /// Moderators: turn a held post down, with a reason for its author.
    /// It was never shown nor relayed anywhere; an author here is
    /// notified, and an author elsewhere hears it through their own server
    /// only (the moderator's `Delete`, with the reason, announced by the
    /// group to that one server), which removes its copy and tells them.
    pub async fn reject_post(
        &self,
        origin: &Origin,
        id: i64,
        reason: &str,
    ) -> Result<(), AppError> {
        let reason = required_reason("reason", reason).map_err(AppError::invalid)?;
        let (held, group) = self.held_post(origin, id).await?;
        let txn = self
            .begin(origin)
            .await?
            .ok_or_else(|| AppError::Internal("a local change seen twice".into()))?;
        let actor = origin.actor_id(self.urls());
        crate::notifications::post_removed(&txn, &held, &actor, &reason).await?;
        let turned_down = posts::mark_deleted(&txn, held.id).await?;
        if !held.local && held.visibility.federates() {
            let author_server = crate::ids::authority_of(&held.author_ap_id);
            let members_only =
                held.effective_visibility() != hearth_domain::post::Visibility::Public;
            let inboxes: Vec<_> = self
                .member_servers(&txn, group.id, members_only)
                .await?
                .into_iter()
                .filter(|s| author_server.as_deref() == Some(s.authority.as_str()))
                .collect();
            if !inboxes.is_empty() {
                let act = PostAct {
                    id: self.urls().new_activity().to_string(),
                    actor: actor.clone(),
                    by_member_here: true,
                    post: turned_down,
                    change: Change::Deleted {
                        reason: Some(reason.clone()),
                    },
                };
                let to = PostAudience::GroupHere {
                    group: group.clone(),
                    inboxes,
                };
                self.emit(&txn, Event::Post(Box::new(PostEvent { to, act })))
                    .await?;
            }
        }
        let group_id = self.urls().group(&group.name).to_string();
        self.log(
            &txn,
            origin,
            Some(&group_id),
            Logged {
                action: ModAction::RejectPost,
                target: &held.ap_id,
                reason: &reason,
                expires_at: None,
            },
        )
        .await?;
        self.commit(txn).await?;
        Ok(())
    }
}
