//! What this server knows about actors on other servers, and its members'
//! memberships in groups hosted elsewhere.

use chrono::{DateTime, Utc};
use hearth_domain::professional::{Professional, ProfessionalRole};
use hearth_domain::{GroupVisibility, MembershipState};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::DbError;
use crate::entity::{remote_actors, remote_memberships};

/// A cached remote actor (person, group, application, service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteActor {
    pub id: i64,
    pub ap_id: String,
    pub kind: String,
    /// `host` or `host:port`: how Hearth identifies the other server.
    pub authority: String,
    pub preferred_username: String,
    pub name: String,
    pub summary: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub outbox: Option<String>,
    pub followers: Option<String>,
    pub url: Option<String>,
    pub public_key_id: String,
    pub public_key_pem: String,
    pub manually_approves_followers: bool,
    /// For a group: whether it said it is members-only (a Hearth group, in
    /// Hearth's namespace). `None`: it did not say, and counts as public.
    pub group_visibility: Option<GroupVisibility>,
    pub fetched_at: DateTime<Utc>,
    /// A person's professional claim, as last checked against the server
    /// it names; `None` when they claim none (boxed: few actors have one).
    pub claim: Option<Box<CheckedClaim>>,
}

/// A person's professional claim, as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedClaim {
    /// The role, once the verifying server confirmed it
    /// (`hearth_domain::professional`); `None` when it did not.
    pub professional: Option<Professional>,
    /// The verification confirmed, on the verifying server.
    pub verification: Option<String>,
    /// When it was checked.
    pub checked_at: DateTime<Utc>,
}

impl RemoteActor {
    /// Their professional role, as its verifying server confirmed it.
    pub fn professional(&self) -> Option<&Professional> {
        self.claim.as_ref()?.professional.as_ref()
    }

    /// Whether its posts may be public, as the group said; a group that
    /// said nothing (a Lemmy community) is public.
    pub fn visibility(&self) -> GroupVisibility {
        self.group_visibility.unwrap_or(GroupVisibility::Public)
    }
}

impl From<remote_actors::Model> for RemoteActor {
    fn from(r: remote_actors::Model) -> Self {
        RemoteActor {
            id: r.id,
            ap_id: r.ap_id,
            kind: r.kind,
            authority: r.authority,
            preferred_username: r.preferred_username,
            name: r.name,
            summary: r.summary,
            inbox: r.inbox,
            shared_inbox: r.shared_inbox,
            outbox: r.outbox,
            followers: r.followers,
            url: r.url,
            public_key_id: r.public_key_id,
            public_key_pem: r.public_key_pem,
            manually_approves_followers: r.manually_approves_followers,
            // A value this version does not know reads as members-only:
            // the careful side.
            group_visibility: r
                .group_visibility
                .map(|v| v.parse().unwrap_or(GroupVisibility::Members)),
            fetched_at: r.fetched_at,
            claim: r.professional_checked_at.map(|checked_at| {
                Box::new(CheckedClaim {
                    professional: professional_of(
                        r.professional_role.as_deref(),
                        r.professional_verified_by.as_deref(),
                    ),
                    verification: r.professional_verification,
                    checked_at,
                })
            }),
        }
    }
}

/// A stored role and verifying server, as a badge; nothing unless both
/// are there and the role is one.
pub(crate) fn professional_of(role: Option<&str>, by: Option<&str>) -> Option<Professional> {
    Some(Professional {
        role: ProfessionalRole::from_remote(role?)?,
        verified_by: by.filter(|b| !b.is_empty())?.to_owned(),
    })
}

/// What checking a person's professional claim against the verifying
/// server found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClaimCheck {
    /// They claim no role.
    #[default]
    NoClaim,
    /// They claim one the verifying server did not confirm.
    Refused,
    /// Confirmed by the server named; `verification` is its id there.
    Confirmed {
        professional: Professional,
        verification: String,
    },
}

/// Fields of a freshly fetched actor.
#[derive(Debug, Clone)]
pub struct FetchedActor {
    pub ap_id: String,
    pub kind: String,
    pub authority: String,
    pub preferred_username: String,
    pub name: String,
    pub summary: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub outbox: Option<String>,
    pub followers: Option<String>,
    pub url: Option<String>,
    pub public_key_id: String,
    pub public_key_pem: String,
    pub manually_approves_followers: bool,
    pub group_visibility: Option<GroupVisibility>,
    /// A person's professional claim, as checked.
    pub professional: ClaimCheck,
}

/// Insert or refresh a remote actor by its id.
pub async fn upsert_actor(
    db: &impl ConnectionTrait,
    a: FetchedActor,
) -> Result<RemoteActor, DbError> {
    let now = Utc::now();
    let ap_id = a.ap_id.clone();
    let (role, verified_by, verification, checked_at) = match a.professional {
        ClaimCheck::NoClaim => (None, None, None, None),
        ClaimCheck::Refused => (None, None, None, Some(now)),
        ClaimCheck::Confirmed {
            professional,
            verification,
        } => (
            Some(professional.role.as_str().to_owned()),
            Some(professional.verified_by),
            Some(verification),
            Some(now),
        ),
    };
    let row = remote_actors::ActiveModel {
        ap_id: Set(a.ap_id),
        kind: Set(a.kind),
        authority: Set(a.authority),
        preferred_username: Set(a.preferred_username),
        name: Set(a.name),
        summary: Set(a.summary),
        inbox: Set(a.inbox),
        shared_inbox: Set(a.shared_inbox),
        outbox: Set(a.outbox),
        followers: Set(a.followers),
        url: Set(a.url),
        public_key_id: Set(a.public_key_id),
        public_key_pem: Set(a.public_key_pem),
        manually_approves_followers: Set(a.manually_approves_followers),
        group_visibility: Set(a.group_visibility.map(|v| v.as_str().to_owned())),
        fetched_at: Set(now),
        created_at: Set(now),
        professional_role: Set(role),
        professional_verified_by: Set(verified_by),
        professional_verification: Set(verification),
        professional_checked_at: Set(checked_at),
        ..Default::default()
    };
    remote_actors::Entity::insert(row)
        .on_conflict(
            OnConflict::column(remote_actors::Column::ApId)
                .update_columns([
                    remote_actors::Column::Kind,
                    remote_actors::Column::Authority,
                    remote_actors::Column::PreferredUsername,
                    remote_actors::Column::Name,
                    remote_actors::Column::Summary,
                    remote_actors::Column::Inbox,
                    remote_actors::Column::SharedInbox,
                    remote_actors::Column::Outbox,
                    remote_actors::Column::Followers,
                    remote_actors::Column::Url,
                    remote_actors::Column::PublicKeyId,
                    remote_actors::Column::PublicKeyPem,
                    remote_actors::Column::ManuallyApprovesFollowers,
                    remote_actors::Column::GroupVisibility,
                    remote_actors::Column::FetchedAt,
                    remote_actors::Column::ProfessionalRole,
                    remote_actors::Column::ProfessionalVerifiedBy,
                    remote_actors::Column::ProfessionalVerification,
                    remote_actors::Column::ProfessionalCheckedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    find_actor(db, &ap_id).await?.ok_or(DbError::NotFound {
        what: "remote actor",
    })
}

pub async fn find_actor(
    db: &impl ConnectionTrait,
    ap_id: &str,
) -> Result<Option<RemoteActor>, DbError> {
    Ok(remote_actors::Entity::find()
        .filter(remote_actors::Column::ApId.eq(ap_id))
        .one(db)
        .await?
        .map(RemoteActor::from))
}

pub async fn find_actor_by_id(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<RemoteActor>, DbError> {
    Ok(remote_actors::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(RemoteActor::from))
}

/// A local member's membership of a group on another server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMembership {
    pub id: i64,
    pub user_id: i64,
    pub group_actor_id: i64,
    pub state: MembershipState,
    pub follow_ap_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<remote_memberships::Model> for RemoteMembership {
    type Error = DbError;

    fn try_from(r: remote_memberships::Model) -> Result<Self, DbError> {
        Ok(RemoteMembership {
            state: r.state.parse().map_err(|e| DbError::Corrupt {
                table: "remote_memberships",
                detail: format!("membership {}: state: {e}", r.id),
            })?,
            id: r.id,
            user_id: r.user_id,
            group_actor_id: r.group_actor_id,
            follow_ap_id: r.follow_ap_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub async fn find_membership(
    db: &impl ConnectionTrait,
    user_id: i64,
    group_actor_id: i64,
) -> Result<Option<RemoteMembership>, DbError> {
    remote_memberships::Entity::find()
        .filter(remote_memberships::Column::UserId.eq(user_id))
        .filter(remote_memberships::Column::GroupActorId.eq(group_actor_id))
        .one(db)
        .await?
        .map(RemoteMembership::try_from)
        .transpose()
}

pub async fn find_membership_by_follow(
    db: &impl ConnectionTrait,
    follow_ap_id: &str,
) -> Result<Option<RemoteMembership>, DbError> {
    remote_memberships::Entity::find()
        .filter(remote_memberships::Column::FollowApId.eq(follow_ap_id))
        .one(db)
        .await?
        .map(RemoteMembership::try_from)
        .transpose()
}

/// Start (or restart) a request to join a remote group with a new Follow.
pub async fn request_membership(
    db: &impl ConnectionTrait,
    user_id: i64,
    group_actor_id: i64,
    follow_ap_id: String,
) -> Result<RemoteMembership, DbError> {
    let now = Utc::now();
    remote_memberships::Entity::delete_many()
        .filter(remote_memberships::Column::UserId.eq(user_id))
        .filter(remote_memberships::Column::GroupActorId.eq(group_actor_id))
        .exec(db)
        .await?;
    let row = remote_memberships::ActiveModel {
        user_id: Set(user_id),
        group_actor_id: Set(group_actor_id),
        state: Set(MembershipState::Pending.as_str().to_owned()),
        follow_ap_id: Set(follow_ap_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| DbError::unique_as(e, "membership"))?;
    RemoteMembership::try_from(row)
}

pub async fn set_membership_state(
    db: &impl ConnectionTrait,
    id: i64,
    state: MembershipState,
) -> Result<RemoteMembership, DbError> {
    let mut row: remote_memberships::ActiveModel = remote_memberships::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DbError::NotFound { what: "membership" })?
        .into();
    row.state = Set(state.as_str().to_owned());
    row.updated_at = Set(Utc::now());
    RemoteMembership::try_from(row.update(db).await?)
}

pub async fn remove_membership(db: &impl ConnectionTrait, id: i64) -> Result<(), DbError> {
    remote_memberships::Entity::delete_by_id(id)
        .exec(db)
        .await?;
    Ok(())
}

/// A user's memberships of remote groups, with the groups.
pub async fn memberships_of_user(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<(RemoteActor, RemoteMembership)>, DbError> {
    let rows = remote_memberships::Entity::find()
        .filter(remote_memberships::Column::UserId.eq(user_id))
        .order_by_asc(remote_memberships::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let membership = RemoteMembership::try_from(row)?;
        if let Some(actor) = find_actor_by_id(db, membership.group_actor_id).await? {
            out.push((actor, membership));
        }
    }
    Ok(out)
}

pub async fn find_membership_by_id(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<RemoteMembership>, DbError> {
    remote_memberships::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(RemoteMembership::try_from)
        .transpose()
}

/// Whether any local account is a joined member of the remote group.
pub async fn has_local_members(
    db: &impl ConnectionTrait,
    group_actor_id: i64,
) -> Result<bool, DbError> {
    Ok(remote_memberships::Entity::find()
        .filter(remote_memberships::Column::GroupActorId.eq(group_actor_id))
        .filter(remote_memberships::Column::State.eq(MembershipState::Joined.as_str()))
        .one(db)
        .await?
        .is_some())
}

/// A cached actor by handle (`name`, `authority`), ignoring case.
pub async fn find_actor_by_handle(
    db: &impl ConnectionTrait,
    name: &str,
    authority: &str,
) -> Result<Option<RemoteActor>, DbError> {
    let rows = remote_actors::Entity::find()
        .filter(remote_actors::Column::Authority.eq(authority.to_ascii_lowercase()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .find(|a| a.preferred_username.eq_ignore_ascii_case(name))
        .map(RemoteActor::from))
}

/// Empty what is stored of the person `id` (deleted on their server): their
/// name and bio. The key stays, to check what they sent before.
pub async fn forget_profile(db: &impl ConnectionTrait, id: i64) -> Result<(), DbError> {
    remote_actors::Entity::update_many()
        .col_expr(remote_actors::Column::Name, "".into())
        .col_expr(remote_actors::Column::Summary, "".into())
        .filter(remote_actors::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// An inbox on the server `authority` to tell it something that concerns
/// no one actor there: the shared inbox of an actor stored from it (or an
/// actor's own inbox when none has one). `None` when no actor of that
/// server is known here.
pub async fn inbox_on(
    db: &impl ConnectionTrait,
    authority: &str,
) -> Result<Option<String>, DbError> {
    use sea_orm::QuerySelect as _;
    // Stored as parsed from actor ids: host names are lower case.
    let actors = remote_actors::Entity::find()
        .filter(remote_actors::Column::Authority.eq(authority.to_ascii_lowercase()))
        .order_by_asc(remote_actors::Column::Id)
        .limit(20)
        .all(db)
        .await?;
    Ok(actors
        .iter()
        .find_map(|a| a.shared_inbox.clone())
        .or_else(|| actors.first().map(|a| a.inbox.clone())))
}
