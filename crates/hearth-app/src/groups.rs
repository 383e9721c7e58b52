//! Group use-cases: create, list, join and leave (here or on another
//! server), and the moderators' decisions on requests to join.
//!
//! Joining a group here is one command for everyone ([`App::join_here`]):
//! a member of this server asking through the API or the web, or someone
//! on another server whose `Follow` arrived. Leaving likewise
//! ([`App::leave_here`]). Joining a group elsewhere tells it with an event
//! the federation port turns into a `Follow` (leaving: `Undo{Follow}`); its
//! answer arrives as [`App::receive_follow_answer`]. Every answer to
//! another server is queued in the same transaction as the change.
//!
//! Moderators are members: leaving a group ends its moderation, and only a
//! joined moderator decides requests.

use hearth_db::groups::{self, Group, Member, Membership, MembershipEntry, NewGroup};
use hearth_db::remote::{self, RemoteActor, RemoteMembership};
use hearth_db::tokens::Session;
use hearth_domain::group::{parse_description, parse_rules, parse_title};
use hearth_domain::notification::NotificationKind;
use hearth_domain::peer::Software;
use hearth_domain::{GroupName, GroupVisibility, JoinPolicy, MembershipState, ValidationError};

use crate::events::Event;
use crate::ids::{Handle, LocalRef};
use crate::inbound::Outcome;
use crate::origin::{Origin, Via};
use crate::posts::PostGroup;
use crate::{App, AppError, blocking, notifications};

/// What a member fills in to create a group.
#[derive(Debug, Default, Clone)]
pub struct NewGroupInput {
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub rules: Option<String>,
    /// `open` or `approval` (the default: someone decides who joins).
    pub join_policy: Option<String>,
    /// Shown in the directory (default true).
    pub listed: Option<bool>,
    /// Accept public posts from non-members (default false).
    pub allow_outside_posts: Option<bool>,
    /// `members` (the default: no post in it is ever public) or `public`.
    pub visibility: Option<String>,
}

/// What a group's moderators change in its settings; `None` keeps a value.
#[derive(Debug, Default, Clone)]
pub struct GroupSettingsInput {
    /// `members` or `public`.
    pub visibility: Option<String>,
    /// Days a thread with no new reply is kept before it is deleted
    /// everywhere; 0: until its authors delete it.
    pub retention_days: Option<i64>,
    /// The group's rules (Markdown, at most 4000 characters; empty clears).
    pub rules: Option<String>,
    /// How to give support here (Markdown, at most 4000 characters).
    pub support_guide: Option<String>,
}

/// A request to join a group here, as its moderators see it.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub entry: MembershipEntry,
    /// The requester's server has no joined member in the group yet: its
    /// people will read what the group writes once they are let in (never
    /// true for someone on this server).
    pub first_from_server: bool,
}

impl JoinRequest {
    /// The plain warning for moderators, when the request is the first from
    /// its server.
    pub fn warning(&self) -> Option<String> {
        match (&self.entry.authority, self.first_from_server) {
            (Some(authority), true) => {
                Some(hearth_domain::notification::first_from_server(authority))
            }
            _ => None,
        }
    }
}

/// A group with the numbers a directory shows.
#[derive(Debug, Clone)]
pub struct GroupSummary {
    pub group: Group,
    pub members: u64,
}

/// Where someone stands with a group, wherever it is hosted.
#[derive(Debug, Clone)]
pub enum MyMembership {
    Local {
        group: Group,
        membership: Membership,
    },
    Remote {
        group: RemoteActor,
        membership: RemoteMembership,
    },
}

/// The result of asking to join.
#[derive(Debug, Clone)]
pub enum Joined {
    Local(Group, Membership),
    Remote(RemoteActor, RemoteMembership),
}

impl App {
    pub async fn create_group(
        &self,
        origin: &Origin,
        input: NewGroupInput,
    ) -> Result<Group, AppError> {
        let Origin::Local(creator) = origin else {
            return Err(AppError::Forbidden(
                "Groups are started by members of this server.",
            ));
        };
        let mut errors = Vec::new();
        let name = GroupName::parse(&input.name)
            .map_err(|e| errors.push(e))
            .ok();
        let title = parse_title(&input.title).map_err(|e| errors.push(e)).ok();
        let description = parse_description(input.description.as_deref().unwrap_or(""))
            .map_err(|e| errors.push(e))
            .ok();
        let rules = parse_rules(input.rules.as_deref().unwrap_or(""))
            .map_err(|e| errors.push(e))
            .ok();
        let join_policy = match input.join_policy.as_deref() {
            None | Some("") => Some(JoinPolicy::Approval),
            Some(raw) => raw
                .parse::<JoinPolicy>()
                .map_err(|e| {
                    errors.push(ValidationError::new(
                        "join_policy",
                        "invalid",
                        e.to_string(),
                    ))
                })
                .ok(),
        };
        let visibility = GroupVisibility::parse(input.visibility.as_deref())
            .map_err(|e| errors.push(e))
            .ok();
        let (
            Some(name),
            Some(title),
            Some(description),
            Some(rules),
            Some(join_policy),
            Some(visibility),
        ) = (name, title, description, rules, join_policy, visibility)
        else {
            return Err(AppError::Invalid(errors));
        };
        // A name any person or group here has (in any case) is taken: one
        // answer per name for WebFinger. The insert claims it again in its
        // transaction, which decides races.
        if hearth_db::names::is_taken(&self.db, name.as_str()).await? {
            return Err(AppError::Conflict { field: "name" });
        }
        let keys =
            blocking(|| crate::keys::generate().map_err(|e| AppError::Internal(e.to_string())))
                .await?;
        let txn = hearth_db::begin_write(&self.db).await?;
        let group = groups::insert(
            &txn,
            NewGroup {
                name,
                display_name: title,
                description,
                rules,
                join_policy,
                listed: input.listed.unwrap_or(true),
                allow_outside_posts: input.allow_outside_posts.unwrap_or(false),
                visibility,
                public_key_pem: keys.public_pem,
                private_key_pem: keys.private_pem,
                created_by: creator.id,
            },
        )
        .await?;
        txn.commit().await?;
        tracing::info!(group_id = group.id, name = %group.name, created_by = creator.id, visibility = %group.visibility, "group created");
        Ok(group)
    }

    /// The moderators change a group's settings: its visibility, how long
    /// it keeps threads, and its guidance (rules and support guide, told
    /// to the Hearth member servers: see `care.rs`).
    /// Posts keep their own visibility: a group made public does not make
    /// its members-only posts public, and a group made members-only keeps
    /// its earlier public posts public (it refuses new ones). The Hearth
    /// member servers are told a change of visibility as a change of
    /// guidance is told (`Update{Group}`, after which they fetch the
    /// group's document again); other servers read it when they next
    /// fetch the group. Until a server knows, a public post it sends to a
    /// members-only group is refused (see [`App::write`]).
    pub async fn update_group(
        &self,
        origin: &Origin,
        name: &str,
        input: GroupSettingsInput,
    ) -> Result<Group, AppError> {
        let group = self.moderated_group(origin, name).await?;
        let visibility = match input.visibility.as_deref() {
            None => group.visibility,
            Some(raw) => GroupVisibility::parse(Some(raw)).map_err(AppError::invalid)?,
        };
        let retention = match input.retention_days {
            None => group.retention_days,
            Some(raw) => {
                hearth_domain::group::parse_retention_days(raw).map_err(AppError::invalid)?
            }
        };
        let Some(txn) = self.begin(origin).await? else {
            return Err(AppError::Internal("a local command was seen before".into()));
        };
        groups::set_visibility(&txn, group.id, visibility).await?;
        let updated = groups::find_by_id(&txn, group.id)
            .await?
            .ok_or(AppError::NotFound { what: "group" })?;
        let told = self
            .change_guidance(
                &txn,
                origin,
                &updated,
                input.rules.as_deref(),
                input.support_guide.as_deref(),
            )
            .await?;
        if !told && visibility != group.visibility {
            let guidance = self.guidance(&PostGroup::Local(updated.clone())).await?;
            self.tell_group_changed(&txn, &updated, guidance.rules_html, guidance.guide_html)
                .await?;
        }
        if retention != group.retention_days {
            groups::set_retention(&txn, group.id, retention).await?;
            tracing::info!(group = %group.name, from = group.retention_days, to = retention, "group retention changed");
        }
        self.commit(txn).await?;
        tracing::info!(group = %group.name, from = %group.visibility, to = %visibility, by = %origin.actor_id(self.urls()), "group settings changed");
        self.group_named(name).await
    }

    /// One page of the directory of listed local groups.
    pub async fn list_groups(
        &self,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Vec<GroupSummary>, AppError> {
        let mut out = Vec::new();
        for group in groups::list_listed(&self.db, after, limit).await? {
            let members = groups::joined_count(&self.db, group.id).await?;
            out.push(GroupSummary { group, members });
        }
        Ok(out)
    }

    pub async fn group(&self, name: &str) -> Result<GroupSummary, AppError> {
        let group = self.group_named(name).await?;
        let members = groups::joined_count(&self.db, group.id).await?;
        Ok(GroupSummary { group, members })
    }

    /// A group here by name, without counting its members (the inbox and
    /// the actor document need only the group).
    pub async fn group_named(&self, name: &str) -> Result<Group, AppError> {
        groups::find_by_name(&self.db, name)
            .await?
            .ok_or(AppError::NotFound { what: "group" })
    }

    /// The name of the group here whose inbox is `name`, for the inbox
    /// route. A group found less than a minute ago is not read again (see
    /// `recent.rs`): this answers only whether the inbox exists, and what
    /// an activity may do in the group is decided by the commands.
    pub async fn group_inbox(&self, name: &str) -> Result<String, AppError> {
        if let Some(found) = self.inbox_groups.get(name) {
            return Ok(found);
        }
        let group = self.group_named(name).await?;
        self.inbox_groups.put(name, group.name.clone());
        Ok(group.name)
    }

    /// The caller's membership of a local group, if any.
    pub async fn membership_in(
        &self,
        session: &Session,
        group: &Group,
    ) -> Result<Option<Membership>, AppError> {
        Ok(groups::find_membership(&self.db, group.id, Member::Local(session.account.id)).await?)
    }

    pub async fn group_moderators(&self, group: &Group) -> Result<Vec<String>, AppError> {
        Ok(groups::moderator_usernames(&self.db, group.id).await?)
    }

    /// Join by name (a group here), handle (`@name@server`) or link.
    pub async fn join(&self, origin: &Origin, target: &str) -> Result<Joined, AppError> {
        let target = target.trim();
        let local_name = if let Some(handle) = Handle::parse(target) {
            handle
                .authority
                .eq_ignore_ascii_case(&self.config.domain)
                .then_some(handle.name)
        } else if let Ok(url) = url::Url::parse(target) {
            match self.urls().parse_local(&url) {
                Some(LocalRef::Group(name)) => Some(name),
                Some(_) => return Err(AppError::NotFound { what: "group" }),
                None => None,
            }
        } else {
            Some(target.to_owned())
        };
        match local_name {
            Some(name) => {
                let (group, membership) = self.join_local(origin, &name).await?;
                Ok(Joined::Local(group, membership))
            }
            None => {
                let (group, membership) = self.join_remote(origin, target).await?;
                Ok(Joined::Remote(group, membership))
            }
        }
    }

    /// Join a group on this server by name: at once when it is open,
    /// otherwise a request for its moderators.
    pub async fn join_local(
        &self,
        origin: &Origin,
        name: &str,
    ) -> Result<(Group, Membership), AppError> {
        let group = groups::find_by_name(&self.db, name)
            .await?
            .ok_or(AppError::NotFound { what: "group" })?;
        let membership = self
            .join_here(origin, &group)
            .await?
            .ok_or_else(|| AppError::Internal("a request to join was applied twice".into()))?;
        Ok((group, membership))
    }

    /// Who joins: a member here, or the actor of another server's `Follow`.
    fn member_of(origin: &Origin) -> Result<Member, AppError> {
        match origin {
            Origin::Local(account) => Ok(Member::Local(account.id)),
            Origin::Remote(r) => match &r.via {
                Via::Signed(actor) => Ok(Member::Remote(actor.id)),
                Via::Relay(group) => Err(AppError::Refused(format!(
                    "{} may not ask to join for {}",
                    group.ap_id, r.actor
                ))),
            },
        }
    }

    /// The one door for joining a group here. A member asking again keeps
    /// their place (a request that was declined may be made again); a
    /// server repeating a `Follow` of a member is confirmed again. Someone
    /// on another server who is let in is told with `Accept`. `None` for a
    /// second delivery of the same `Follow`, and for a server whose people may
    /// not join (see [`hearth_domain::peer`]): told so with `Reject`.
    pub(crate) async fn join_here(
        &self,
        origin: &Origin,
        group: &Group,
    ) -> Result<Option<Membership>, AppError> {
        let member = Self::member_of(origin)?;
        self.within_limits(origin, crate::limits::Act::Join)?;
        // A members-only group holds nothing public: people from servers
        // whose software cannot keep posts private (or that nobody knows)
        // are told no, in plain words (the NodeInfo lookup happens before
        // the transaction: it is network I/O).
        let peer = match origin {
            Origin::Remote(r) => {
                self.learn_software(&r.server).await?;
                Some(self.peer_server(&self.db, &r.server).await?)
            }
            Origin::Local(_) => None,
        };
        let group_id = self.urls().group(&group.name).to_string();
        let banned = self.ban_on(&self.db, origin, Some(&group_id)).await?;
        if banned.is_some() && origin.is_local() {
            return Err(AppError::Forbidden(
                "You cannot join this group: its moderators banned you.",
            ));
        }
        let refusal: Option<String> = match banned {
            Some(_) => Some("Its moderators banned this account from the group.".to_owned()),
            None => peer
                .as_ref()
                .and_then(|p| p.may_join(group.visibility).err())
                .map(|why| why.explain().to_owned()),
        };
        let software = peer.map(|p| p.software).unwrap_or(Software::Unknown);
        let Some(txn) = self.begin(origin).await? else {
            return Ok(None);
        };
        if let (Some(refusal), Origin::Remote(r)) = (refusal, origin) {
            if let Via::Signed(follower) = &r.via {
                tracing::info!(group = %group.name, follower = %follower.ap_id, server = %r.server, reason = %refusal, "join refused");
                self.emit(
                    &txn,
                    Event::FollowRefused {
                        target: self.urls().group(&group.name).to_string(),
                        follower: follower.clone(),
                        software: software.clone(),
                        follow_id: r.activity.clone(),
                        reason: Some(refusal),
                    },
                )
                .await?;
            }
            self.commit(txn).await?;
            // Answered (with the Reject and its reason): nothing to refuse
            // at the HTTP level.
            return Ok(None);
        }
        let existing = groups::find_membership(&txn, group.id, member).await?;
        let membership = match (origin, existing) {
            (Origin::Local(_), Some(m)) if m.state != MembershipState::Declined => m,
            (Origin::Local(_), _) => {
                groups::request_membership(
                    &txn,
                    group.id,
                    member,
                    group.join_policy.initial_state(),
                    None,
                )
                .await?
            }
            (Origin::Remote(r), existing) => {
                // Someone on a server the admin limits is never let in
                // without a moderator, whatever the group's policy.
                let limited = matches!(
                    self.standing_in(&txn, &r.server).await?,
                    hearth_domain::federation_policy::Standing::Limited { .. }
                );
                let was_joined =
                    existing.as_ref().map(|m| m.state) == Some(MembershipState::Joined);
                let state = match existing.map(|m| m.state) {
                    Some(MembershipState::Joined) => MembershipState::Joined,
                    _ if limited => MembershipState::Pending,
                    _ => group.join_policy.initial_state(),
                };
                // Let in at once (no moderator saw a request): the
                // moderators hear when it is the first from its server.
                let first_from_server = state == MembershipState::Joined
                    && !was_joined
                    && !groups::has_member_on(&txn, group.id, &r.server).await?;
                let membership = groups::request_membership(
                    &txn,
                    group.id,
                    member,
                    state,
                    Some(r.activity.clone()),
                )
                .await?;
                if first_from_server {
                    for moderator in groups::moderator_ids(&txn, group.id).await? {
                        hearth_db::notifications::record(
                            &txn,
                            moderator,
                            NotificationKind::NewServer,
                            Some(&r.actor),
                            None,
                            Some(&group_id),
                            &r.server.to_ascii_lowercase(),
                        )
                        .await?;
                    }
                }
                if state == MembershipState::Joined
                    && let Via::Signed(follower) = &r.via
                {
                    self.emit(
                        &txn,
                        Event::JoinAnswered {
                            group: group.clone(),
                            follower: follower.clone(),
                            software: software.clone(),
                            follow_id: r.activity.clone(),
                            accepted: true,
                        },
                    )
                    .await?;
                }
                membership
            }
        };
        self.commit(txn).await?;
        Ok(Some(membership))
    }

    /// The one door for leaving a group here. Whoever leaves gives up their
    /// roles in it, moderator and peer mentor ([`App::end_membership`]).
    /// `None` when there was no membership (or for a second
    /// delivery).
    pub(crate) async fn leave_here(
        &self,
        origin: &Origin,
        group: &Group,
    ) -> Result<Option<()>, AppError> {
        let member = Self::member_of(origin)?;
        let Some(txn) = self.begin(origin).await? else {
            return Ok(None);
        };
        let person = origin.actor_id(self.urls());
        let removed = self
            .end_membership(&txn, origin, group, member, &person)
            .await?;
        self.commit(txn).await?;
        Ok(removed.then_some(()))
    }

    /// Ask to join a group on another server: resolve it, then send
    /// `Follow`. The membership stays `pending` until its `Accept` arrives.
    pub async fn join_remote(
        &self,
        origin: &Origin,
        target: &str,
    ) -> Result<(RemoteActor, RemoteMembership), AppError> {
        let Origin::Local(account) = origin else {
            return Err(AppError::Refused(
                "only members of this server join groups elsewhere from here".into(),
            ));
        };
        self.within_limits(origin, crate::limits::Act::Join)?;
        let group = self.port()?.resolve(target).await?;
        // A copy stored before a suspension is not fetched again: ask the
        // policy here too.
        self.check_server(&group.authority).await?;
        if group.kind != "Group" {
            return Err(AppError::invalid(ValidationError::new(
                "handle",
                "not_a_group",
                format!(
                    "{} is a {}, not a group",
                    target.trim(),
                    group.kind.to_lowercase()
                ),
            )));
        }
        if self
            .ban_on(&self.db, origin, Some(&group.ap_id))
            .await?
            .is_some()
        {
            return Err(AppError::Forbidden(
                "You cannot join this group: its moderators banned you.",
            ));
        }
        if let Some(existing) = remote::find_membership(&self.db, account.id, group.id).await?
            && existing.state != MembershipState::Declined
        {
            return Ok((group, existing));
        }
        let follow_id = self.urls().new_activity().to_string();
        let Some(txn) = self.begin(origin).await? else {
            return Err(AppError::Internal("a local command was seen before".into()));
        };
        let membership =
            remote::request_membership(&txn, account.id, group.id, follow_id.clone()).await?;
        self.emit(
            &txn,
            Event::JoinAsked {
                member: origin.actor_id(self.urls()),
                group: group.clone(),
                follow_id,
            },
        )
        .await?;
        self.commit(txn).await?;
        tracing::info!(account_id = account.id, group = %group.ap_id, "asked to join remote group");
        Ok((group, membership))
    }

    /// Leave a group on this server.
    pub async fn leave_local(&self, origin: &Origin, name: &str) -> Result<(), AppError> {
        let group = groups::find_by_name(&self.db, name)
            .await?
            .ok_or(AppError::NotFound { what: "group" })?;
        self.leave_here(origin, &group)
            .await?
            .ok_or(AppError::NotFound { what: "membership" })
    }

    /// Leave (or stop asking to join) a group on another server: `Undo` the
    /// Follow.
    pub async fn leave_remote(&self, origin: &Origin, group_ap_id: &str) -> Result<(), AppError> {
        let Origin::Local(account) = origin else {
            return Err(AppError::NotFound { what: "membership" });
        };
        let group = remote::find_actor(&self.db, group_ap_id)
            .await?
            .ok_or(AppError::NotFound { what: "group" })?;
        let membership = remote::find_membership(&self.db, account.id, group.id)
            .await?
            .ok_or(AppError::NotFound { what: "membership" })?;
        let Some(txn) = self.begin(origin).await? else {
            return Ok(());
        };
        remote::remove_membership(&txn, membership.id).await?;
        // Roles in the group end with the membership, here at once.
        hearth_db::moderation::forget_roles(&txn, &group.ap_id, &origin.actor_id(self.urls()))
            .await?;
        self.emit(
            &txn,
            Event::JoinWithdrawn {
                member: origin.actor_id(self.urls()),
                group,
                follow_id: membership.follow_ap_id,
            },
        )
        .await?;
        self.commit(txn).await
    }

    /// Every group the caller belongs to or asked to join, here and elsewhere.
    pub async fn my_memberships(&self, session: &Session) -> Result<Vec<MyMembership>, AppError> {
        let mut out: Vec<MyMembership> = groups::memberships_of_user(&self.db, session.account.id)
            .await?
            .into_iter()
            .map(|(group, membership)| MyMembership::Local { group, membership })
            .collect();
        out.extend(
            remote::memberships_of_user(&self.db, session.account.id)
                .await?
                .into_iter()
                .map(|(group, membership)| MyMembership::Remote { group, membership }),
        );
        Ok(out)
    }

    /// A group here that `origin` moderates.
    async fn moderated_group(&self, origin: &Origin, name: &str) -> Result<Group, AppError> {
        let group = groups::find_by_name(&self.db, name)
            .await?
            .ok_or(AppError::NotFound { what: "group" })?;
        let moderator = match origin {
            Origin::Local(account) => groups::is_moderator(&self.db, group.id, account.id).await?,
            Origin::Remote(_) => false,
        };
        if !moderator {
            return Err(AppError::Forbidden(
                "Only the group's moderators can do this.",
            ));
        }
        Ok(group)
    }

    /// Moderators: one page of requests waiting for a decision, each
    /// saying whether it is the first from its server.
    pub async fn pending_requests(
        &self,
        origin: &Origin,
        name: &str,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Vec<JoinRequest>, AppError> {
        let group = self.moderated_group(origin, name).await?;
        let entries =
            groups::list_memberships(&self.db, group.id, MembershipState::Pending, after, limit)
                .await?;
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let first_from_server = match &entry.authority {
                Some(authority) => !groups::has_member_on(&self.db, group.id, authority).await?,
                None => false,
            };
            out.push(JoinRequest {
                entry,
                first_from_server,
            });
        }
        Ok(out)
    }

    /// Moderators: approve or decline a request. A remote member's server
    /// is told with `Accept` or `Reject`.
    pub async fn decide_request(
        &self,
        origin: &Origin,
        name: &str,
        membership_id: i64,
        approve: bool,
    ) -> Result<Membership, AppError> {
        let group = self.moderated_group(origin, name).await?;
        let Origin::Local(moderator) = origin else {
            return Err(AppError::Forbidden(
                "Only the group's moderators can do this.",
            ));
        };
        let membership = groups::find_membership_by_id(&self.db, membership_id)
            .await?
            .filter(|m| m.group_id == group.id)
            .ok_or(AppError::NotFound { what: "request" })?;
        if membership.state != MembershipState::Pending {
            return Err(AppError::invalid(ValidationError::new(
                "state",
                "not_pending",
                format!("This request is already {}", membership.state),
            )));
        }
        let state = if approve {
            MembershipState::Joined
        } else {
            MembershipState::Declined
        };
        let Some(txn) = self.begin(origin).await? else {
            return Err(AppError::Internal("a local command was seen before".into()));
        };
        let decided = groups::decide_membership(&txn, membership.id, state, moderator.id).await?;
        match membership.member {
            Member::Local(user_id) => {
                let group_ap_id = self.urls().group(&group.name).to_string();
                notifications::join_decided(&txn, user_id, &group_ap_id, approve).await?;
            }
            Member::Remote(actor_id) => {
                let follower = remote::find_actor_by_id(&txn, actor_id)
                    .await?
                    .ok_or(AppError::NotFound { what: "member" })?;
                let software = self.peer_server(&txn, &follower.authority).await?.software;
                self.emit(
                    &txn,
                    Event::JoinAnswered {
                        group: group.clone(),
                        follower,
                        software,
                        follow_id: membership.follow_ap_id.clone().unwrap_or_default(),
                        accepted: approve,
                    },
                )
                .await?;
            }
        }
        self.commit(txn).await?;
        tracing::info!(group = %group.name, membership_id, state = %decided.state, decided_by = moderator.id, "join request decided");
        Ok(decided)
    }

    // ---- as other servers' activities arrive --------------------------

    /// A `Follow` of `target`: of a group here, a request to join; of a
    /// person here or the instance actor, answered with `Reject` (Hearth
    /// is about groups).
    pub async fn receive_follow(&self, origin: &Origin, target: &str) -> Result<Outcome, AppError> {
        match self.urls().parse_local_id(target) {
            Some(LocalRef::Group(name)) => {
                let group = groups::find_by_name(&self.db, &name)
                    .await?
                    .ok_or(AppError::NotFound { what: "group" })?;
                Ok(Outcome::of(self.join_here(origin, &group).await?))
            }
            Some(LocalRef::User(_) | LocalRef::Site) => {
                let Some(r) = origin.remote() else {
                    return Err(AppError::Internal("a local Follow".into()));
                };
                let Via::Signed(follower) = &r.via else {
                    return Ok(Outcome::Ignored("a relayed Follow".into()));
                };
                let Some(txn) = self.begin(origin).await? else {
                    return Ok(Outcome::Duplicate);
                };
                self.emit(
                    &txn,
                    Event::FollowRefused {
                        target: target.to_owned(),
                        follower: follower.clone(),
                        software: self.peer_server(&txn, &r.server).await?.software,
                        follow_id: r.activity.clone(),
                        reason: None,
                    },
                )
                .await?;
                self.commit(txn).await?;
                Ok(Outcome::Applied)
            }
            _ => Err(AppError::NotFound { what: "group" }),
        }
    }

    /// `Undo{Follow}`: the actor leaves the group here they followed.
    /// `target` is the group the embedded Follow names, when it was
    /// embedded; otherwise the Follow is found by its id.
    pub async fn receive_unfollow(
        &self,
        origin: &Origin,
        follow_id: &str,
        target: Option<&str>,
    ) -> Result<Outcome, AppError> {
        let Member::Remote(actor_id) = Self::member_of(origin)? else {
            return Err(AppError::Internal("a local Undo".into()));
        };
        let named = match target.and_then(|t| self.urls().parse_local_id(t)) {
            Some(LocalRef::Group(name)) => groups::find_by_name(&self.db, &name).await?,
            _ => None,
        };
        let group = match named {
            Some(group) => Some(group),
            None => groups::memberships_of_remote(&self.db, actor_id)
                .await?
                .into_iter()
                .find(|(_, m)| m.follow_ap_id.as_deref() == Some(follow_id))
                .map(|(group, _)| group),
        };
        let Some(group) = group else {
            return Ok(Outcome::Ignored("nothing to undo".into()));
        };
        Ok(match self.leave_here(origin, &group).await? {
            Some(()) => Outcome::Applied,
            None => Outcome::Ignored("not a member".into()),
        })
    }

    /// A group elsewhere answered a member's `Follow` (`follow_id`, one of
    /// ours) with `Accept` or `Reject`. Only that group may answer it.
    pub async fn receive_follow_answer(
        &self,
        origin: &Origin,
        follow_id: &str,
        accepted: bool,
    ) -> Result<Outcome, AppError> {
        let Some(Via::Signed(group)) = origin.remote().map(|r| &r.via) else {
            return Ok(Outcome::Ignored("a relayed answer".into()));
        };
        if !self.urls().is_local_id(follow_id) {
            return Ok(Outcome::Ignored(
                "an answer to an activity that is not ours".into(),
            ));
        }
        let Some(membership) = remote::find_membership_by_follow(&self.db, follow_id).await? else {
            return Ok(Outcome::Ignored("an answer to an unknown Follow".into()));
        };
        if membership.group_actor_id != group.id {
            return Err(AppError::Refused(format!(
                "{} answers a Follow of another group",
                group.ap_id
            )));
        }
        let state = if accepted {
            MembershipState::Joined
        } else {
            MembershipState::Declined
        };
        let Some(txn) = self.begin(origin).await? else {
            return Ok(Outcome::Duplicate);
        };
        remote::set_membership_state(&txn, membership.id, state).await?;
        if membership.state != state {
            notifications::join_decided(&txn, membership.user_id, &group.ap_id, accepted).await?;
        }
        self.commit(txn).await?;
        if accepted {
            // A member here was let in: fill in its recent threads.
            self.port()?.joined_elsewhere(group);
        }
        Ok(Outcome::Applied)
    }

    /// Look up a handle or link on another server (without joining).
    pub async fn resolve(&self, target: &str) -> Result<RemoteActor, AppError> {
        Ok(self.port()?.resolve(target).await?)
    }
}

/// Which membership: of a group here, or of a group elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipId {
    Local(i64),
    Remote(i64),
}

impl App {
    /// Leave by membership id (as the API lists them).
    pub async fn leave_membership(
        &self,
        origin: &Origin,
        id: MembershipId,
    ) -> Result<(), AppError> {
        let Origin::Local(account) = origin else {
            return Err(AppError::NotFound { what: "membership" });
        };
        match id {
            MembershipId::Local(id) => {
                let membership = groups::find_membership_by_id(&self.db, id)
                    .await?
                    .filter(|m| m.member == Member::Local(account.id))
                    .ok_or(AppError::NotFound { what: "membership" })?;
                let group = groups::find_by_id(&self.db, membership.group_id)
                    .await?
                    .ok_or(AppError::NotFound { what: "group" })?;
                self.leave_local(origin, &group.name).await
            }
            MembershipId::Remote(id) => {
                let membership = remote::find_membership_by_id(&self.db, id)
                    .await?
                    .filter(|m| m.user_id == account.id)
                    .ok_or(AppError::NotFound { what: "membership" })?;
                let group = remote::find_actor_by_id(&self.db, membership.group_actor_id)
                    .await?
                    .ok_or(AppError::NotFound { what: "group" })?;
                self.leave_remote(origin, &group.ap_id).await
            }
        }
    }
}

/// A group as a page shows it, wherever it is hosted, with where the
/// viewer stands.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group: PostGroup,
    pub title: String,
    /// `name@server`.
    pub handle: String,
    /// The path segment of the group's page here: its name, or its handle
    /// when it is elsewhere.
    pub slug: String,
    /// Plain text.
    pub description: String,
    /// Plain text; empty for groups elsewhere (their rules are on their
    /// own server).
    pub rules: String,
    /// Known only for groups here.
    pub members: Option<u64>,
    pub needs_approval: bool,
    /// Whether its posts may be public (as the group said, for a group
    /// elsewhere; one that says nothing is public).
    pub visibility: GroupVisibility,
    /// Days a thread with no new reply is kept (0: until its authors
    /// delete it); 0 for groups elsewhere (their own server decides).
    pub retention_days: u32,
    /// `None` for a group here; the other server's host otherwise.
    pub elsewhere: Option<String>,
    pub membership: Option<MembershipState>,
    pub moderator: bool,
}

impl App {
    /// The group at `/groups/{slug}`: a local name, or `name@server` of a
    /// group elsewhere that this server already knows.
    pub async fn group_view(
        &self,
        viewer: Option<&Session>,
        slug: &str,
    ) -> Result<GroupView, AppError> {
        let group = self.find_group(slug).await?;
        Ok(match group {
            PostGroup::Local(g) => {
                let members = groups::joined_count(&self.db, g.id).await?;
                let (membership, moderator) = match viewer {
                    Some(s) => (
                        groups::find_membership(&self.db, g.id, Member::Local(s.account.id))
                            .await?
                            .map(|m| m.state),
                        groups::is_moderator(&self.db, g.id, s.account.id).await?,
                    ),
                    None => (None, false),
                };
                GroupView {
                    title: g.display_name.clone(),
                    handle: format!("{}@{}", g.name, self.config.domain),
                    slug: g.name.clone(),
                    description: g.description.clone(),
                    rules: g.rules.clone(),
                    members: Some(members),
                    needs_approval: g.join_policy == JoinPolicy::Approval,
                    visibility: g.visibility,
                    retention_days: g.retention_days,
                    elsewhere: None,
                    membership,
                    moderator,
                    group: PostGroup::Local(g),
                }
            }
            PostGroup::Remote(a) => {
                let membership = match viewer {
                    Some(s) => remote::find_membership(&self.db, s.account.id, a.id)
                        .await?
                        .map(|m| m.state),
                    None => None,
                };
                let handle = format!("{}@{}", a.preferred_username, a.authority);
                GroupView {
                    title: PostGroup::Remote(a.clone()).title(),
                    slug: handle.clone(),
                    handle,
                    description: hearth_domain::text::html_to_plain(&a.summary),
                    rules: String::new(),
                    members: None,
                    needs_approval: a.manually_approves_followers,
                    visibility: a.visibility(),
                    retention_days: 0,
                    elsewhere: Some(a.authority.clone()),
                    membership,
                    moderator: false,
                    group: PostGroup::Remote(a),
                }
            }
        })
    }

    /// Join the group a page shows, here or elsewhere.
    pub async fn join_group(
        &self,
        origin: &Origin,
        group: &PostGroup,
    ) -> Result<MembershipState, AppError> {
        Ok(match group {
            PostGroup::Local(g) => self.join_local(origin, &g.name).await?.1.state,
            PostGroup::Remote(a) => self.join_remote(origin, &a.ap_id).await?.1.state,
        })
    }

    /// Leave the group a page shows, here or elsewhere.
    pub async fn leave_group(&self, origin: &Origin, group: &PostGroup) -> Result<(), AppError> {
        match group {
            PostGroup::Local(g) => self.leave_local(origin, &g.name).await,
            PostGroup::Remote(a) => self.leave_remote(origin, &a.ap_id).await,
        }
    }
}
