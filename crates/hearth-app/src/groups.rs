//! Group use-cases: create, list, join and leave (here or on another
//! server), and the moderators' decisions on requests to join.
//!
//! Joining a group on another server is a `Follow` of that group; leaving is
//! `Undo{Follow}`. A moderator's decision on a remote member's request is an
//! `Accept` or `Reject`. Each is queued in the same transaction as the
//! change it announces.

use hearth_activitypub::outbound;
use hearth_activitypub::resolve::{self, Handle};
use hearth_db::begin_write;
use hearth_db::groups::{self, Group, Member, Membership, MembershipEntry, NewGroup};
use hearth_db::remote::{self, RemoteActor, RemoteMembership};
use hearth_db::tokens::Session;
use hearth_domain::group::{parse_description, parse_rules, parse_title};
use hearth_domain::{GroupName, JoinPolicy, MembershipState, ValidationError};
use serde_json::json;

use crate::{App, AppError, blocking};

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
        session: &Session,
        input: NewGroupInput,
    ) -> Result<Group, AppError> {
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
        let (Some(name), Some(title), Some(description), Some(rules), Some(join_policy)) =
            (name, title, description, rules, join_policy)
        else {
            return Err(AppError::Invalid(errors));
        };
        if groups::find_by_name(&self.db, name.as_str())
            .await?
            .is_some()
        {
            return Err(AppError::Conflict { field: "name" });
        }
        let keys = blocking(|| {
            hearth_activitypub::keys::generate().map_err(|e| AppError::Internal(e.to_string()))
        })
        .await?;
        let txn = begin_write(&self.db).await?;
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
                public_key_pem: keys.public_pem,
                private_key_pem: keys.private_pem,
                created_by: session.account.id,
            },
        )
        .await?;
        txn.commit().await?;
        tracing::info!(group_id = group.id, name = %group.name, created_by = session.account.id, "group created");
        Ok(group)
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
        let group = groups::find_by_name(&self.db, name)
            .await?
            .ok_or(AppError::NotFound { what: "group" })?;
        let members = groups::joined_count(&self.db, group.id).await?;
        Ok(GroupSummary { group, members })
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
    pub async fn join(&self, session: &Session, target: &str) -> Result<Joined, AppError> {
        let target = target.trim();
        let local_name = if let Some(handle) = Handle::parse(target) {
            handle
                .authority
                .eq_ignore_ascii_case(&self.config.domain)
                .then_some(handle.name)
        } else if let Ok(url) = url::Url::parse(target) {
            match self.fed().urls.parse_local(&url) {
                Some(hearth_activitypub::context::LocalRef::Group(name)) => Some(name),
                Some(_) => return Err(AppError::NotFound { what: "group" }),
                None => None,
            }
        } else {
            Some(target.to_owned())
        };
        match local_name {
            Some(name) => {
                let (group, membership) = self.join_local(session, &name).await?;
                Ok(Joined::Local(group, membership))
            }
            None => {
                let (group, membership) = self.join_remote(session, target).await?;
                Ok(Joined::Remote(group, membership))
            }
        }
    }

    /// Join a group on this server: at once when it is open, otherwise a
    /// request for its moderators.
    pub async fn join_local(
        &self,
        session: &Session,
        name: &str,
    ) -> Result<(Group, Membership), AppError> {
        let group = groups::find_by_name(&self.db, name)
            .await?
            .ok_or(AppError::NotFound { what: "group" })?;
        let member = Member::Local(session.account.id);
        let txn = begin_write(&self.db).await?;
        let existing = groups::find_membership(&txn, group.id, member).await?;
        let membership = match existing {
            Some(m) if m.state != MembershipState::Declined => m,
            _ => {
                groups::request_membership(
                    &txn,
                    group.id,
                    member,
                    group.join_policy.initial_state(),
                    None,
                )
                .await?
            }
        };
        txn.commit().await?;
        Ok((group, membership))
    }

    /// Ask to join a group on another server: resolve it, then send
    /// `Follow`. The membership stays `pending` until its `Accept` arrives.
    pub async fn join_remote(
        &self,
        session: &Session,
        target: &str,
    ) -> Result<(RemoteActor, RemoteMembership), AppError> {
        let data = self.data();
        let group = resolve::resolve(&data, target).await?.actor;
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
        if let Some(existing) =
            remote::find_membership(&self.db, session.account.id, group.id).await?
            && existing.state != MembershipState::Declined
        {
            return Ok((group, existing));
        }
        let urls = &self.fed().urls;
        let follower = urls.user(&session.account.username);
        let group_url =
            url::Url::parse(&group.ap_id).map_err(|e| AppError::Internal(e.to_string()))?;
        let follow = outbound::follow(urls, &follower, &group_url);
        let follow_id = follow["id"].as_str().unwrap_or_default().to_owned();
        let txn = begin_write(&self.db).await?;
        let membership =
            remote::request_membership(&txn, session.account.id, group.id, follow_id).await?;
        outbound::enqueue(&txn, urls, &follow, std::slice::from_ref(&group.inbox)).await?;
        txn.commit().await?;
        self.fed().outbox_ready.notify_one();
        tracing::info!(account_id = session.account.id, group = %group.ap_id, "asked to join remote group");
        Ok((group, membership))
    }

    /// Leave a group on this server.
    pub async fn leave_local(&self, session: &Session, name: &str) -> Result<(), AppError> {
        let group = groups::find_by_name(&self.db, name)
            .await?
            .ok_or(AppError::NotFound { what: "group" })?;
        let txn = begin_write(&self.db).await?;
        let removed =
            groups::remove_membership(&txn, group.id, Member::Local(session.account.id)).await?;
        txn.commit().await?;
        if !removed {
            return Err(AppError::NotFound { what: "membership" });
        }
        Ok(())
    }

    /// Leave (or stop asking to join) a group on another server: `Undo` the
    /// Follow.
    pub async fn leave_remote(&self, session: &Session, group_ap_id: &str) -> Result<(), AppError> {
        let group = remote::find_actor(&self.db, group_ap_id)
            .await?
            .ok_or(AppError::NotFound { what: "group" })?;
        let membership = remote::find_membership(&self.db, session.account.id, group.id)
            .await?
            .ok_or(AppError::NotFound { what: "membership" })?;
        let urls = &self.fed().urls;
        let follower = urls.user(&session.account.username);
        let group_url =
            url::Url::parse(&group.ap_id).map_err(|e| AppError::Internal(e.to_string()))?;
        let follow = json!({
            "id": membership.follow_ap_id,
            "type": "Follow",
            "actor": follower,
            "object": group_url,
        });
        let undo = outbound::undo(urls, &follower, &follow, &group_url);
        let txn = begin_write(&self.db).await?;
        remote::remove_membership(&txn, membership.id).await?;
        outbound::enqueue(&txn, urls, &undo, std::slice::from_ref(&group.inbox)).await?;
        txn.commit().await?;
        self.fed().outbox_ready.notify_one();
        Ok(())
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

    async fn moderated_group(&self, session: &Session, name: &str) -> Result<Group, AppError> {
        let group = groups::find_by_name(&self.db, name)
            .await?
            .ok_or(AppError::NotFound { what: "group" })?;
        if !groups::is_moderator(&self.db, group.id, session.account.id).await? {
            return Err(AppError::Forbidden(
                "Only the group's moderators can do this.",
            ));
        }
        Ok(group)
    }

    /// Moderators: one page of requests waiting for a decision.
    pub async fn pending_requests(
        &self,
        session: &Session,
        name: &str,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Vec<MembershipEntry>, AppError> {
        let group = self.moderated_group(session, name).await?;
        Ok(
            groups::list_memberships(&self.db, group.id, MembershipState::Pending, after, limit)
                .await?,
        )
    }

    /// Moderators: approve or decline a request. A remote member's server
    /// is told with `Accept` or `Reject`.
    pub async fn decide_request(
        &self,
        session: &Session,
        name: &str,
        membership_id: i64,
        approve: bool,
    ) -> Result<Membership, AppError> {
        let group = self.moderated_group(session, name).await?;
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
        let urls = &self.fed().urls;
        let txn = begin_write(&self.db).await?;
        let decided =
            groups::decide_membership(&txn, membership.id, state, session.account.id).await?;
        if let Member::Local(user_id) = membership.member {
            let group_ap_id = urls.group(&group.name).to_string();
            hearth_db::notifications::join_decided(&txn, user_id, &group_ap_id, approve).await?;
        }
        if let Member::Remote(actor_id) = membership.member {
            let actor = remote::find_actor_by_id(&txn, actor_id)
                .await?
                .ok_or(AppError::NotFound { what: "member" })?;
            let follower =
                url::Url::parse(&actor.ap_id).map_err(|e| AppError::Internal(e.to_string()))?;
            let group_url = urls.group(&group.name);
            let follow = json!({
                "id": membership.follow_ap_id,
                "type": "Follow",
                "actor": follower,
                "object": group_url,
            });
            let kind = if approve { "Accept" } else { "Reject" };
            let answer = outbound::answer_follow(urls, kind, &group_url, &follow, &follower);
            outbound::enqueue(&txn, urls, &answer, std::slice::from_ref(&actor.inbox)).await?;
        }
        txn.commit().await?;
        self.fed().outbox_ready.notify_one();
        tracing::info!(group = %group.name, membership_id, state = %decided.state, decided_by = session.account.id, "join request decided");
        Ok(decided)
    }

    /// Look up a handle or link on another server (without joining).
    pub async fn resolve(&self, target: &str) -> Result<RemoteActor, AppError> {
        Ok(resolve::resolve(&self.data(), target).await?.actor)
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
        session: &Session,
        id: MembershipId,
    ) -> Result<(), AppError> {
        match id {
            MembershipId::Local(id) => {
                let membership = groups::find_membership_by_id(&self.db, id)
                    .await?
                    .filter(|m| m.member == Member::Local(session.account.id))
                    .ok_or(AppError::NotFound { what: "membership" })?;
                let group = groups::find_by_id(&self.db, membership.group_id)
                    .await?
                    .ok_or(AppError::NotFound { what: "group" })?;
                self.leave_local(session, &group.name).await
            }
            MembershipId::Remote(id) => {
                let membership = remote::find_membership_by_id(&self.db, id)
                    .await?
                    .filter(|m| m.user_id == session.account.id)
                    .ok_or(AppError::NotFound { what: "membership" })?;
                let group = remote::find_actor_by_id(&self.db, membership.group_actor_id)
                    .await?
                    .ok_or(AppError::NotFound { what: "group" })?;
                self.leave_remote(session, &group.ap_id).await
            }
        }
    }
}

/// A group as a page shows it, wherever it is hosted, with where the
/// viewer stands.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group: crate::posts::PostGroup,
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
        use crate::posts::PostGroup;
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
                    title: if a.name.trim().is_empty() {
                        a.preferred_username.clone()
                    } else {
                        a.name.clone()
                    },
                    slug: handle.clone(),
                    handle,
                    description: hearth_domain::text::html_to_plain(&a.summary),
                    rules: String::new(),
                    members: None,
                    needs_approval: a.manually_approves_followers,
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
        session: &Session,
        group: &crate::posts::PostGroup,
    ) -> Result<MembershipState, AppError> {
        use crate::posts::PostGroup;
        Ok(match group {
            PostGroup::Local(g) => self.join_local(session, &g.name).await?.1.state,
            PostGroup::Remote(a) => self.join_remote(session, &a.ap_id).await?.1.state,
        })
    }

    /// Leave the group a page shows, here or elsewhere.
    pub async fn leave_group(
        &self,
        session: &Session,
        group: &crate::posts::PostGroup,
    ) -> Result<(), AppError> {
        use crate::posts::PostGroup;
        match group {
            PostGroup::Local(g) => self.leave_local(session, &g.name).await,
            PostGroup::Remote(a) => self.leave_remote(session, &a.ap_id).await,
        }
    }
}
