//! Local groups, their moderators and their members (local and remote).

use chrono::{DateTime, Utc};
use hearth_domain::{GroupName, GroupVisibility, JoinPolicy, MembershipState};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, Value,
};

use crate::entity::{
    group_held_servers, group_members, group_moderators, groups, remote_actors, users,
};
use crate::{DbError, placeholder};

/// A group hosted on this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub rules: String,
    pub join_policy: JoinPolicy,
    pub listed: bool,
    /// Public posts from people who are not members are accepted.
    pub allow_outside_posts: bool,
    /// Posts from members who joined less than this many days ago wait for
    /// a moderator (0: none do).
    pub hold_new_members_days: u32,
    /// Whether its posts may be public.
    pub visibility: GroupVisibility,
    /// Threads with no new reply for this many days are deleted
    /// everywhere (0: kept until their authors delete them).
    pub retention_days: u32,
    pub public_key_pem: String,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Group {
    /// The name used in URLs and handles (lower case).
    pub fn canonical_name(&self) -> String {
        self.name.to_ascii_lowercase()
    }
}

impl TryFrom<groups::Model> for Group {
    type Error = DbError;

    fn try_from(row: groups::Model) -> Result<Self, DbError> {
        Ok(Group {
            join_policy: row.join_policy.parse().map_err(|e| DbError::Corrupt {
                table: "groups",
                detail: format!("group {}: join_policy: {e}", row.id),
            })?,
            visibility: row.visibility.parse().map_err(|e| DbError::Corrupt {
                table: "groups",
                detail: format!("group {}: visibility: {e}", row.id),
            })?,
            id: row.id,
            name: row.name,
            display_name: row.display_name,
            description: row.description,
            rules: row.rules,
            listed: row.listed,
            allow_outside_posts: row.allow_outside_posts,
            hold_new_members_days: u32::try_from(row.hold_new_members_days).unwrap_or(0),
            retention_days: u32::try_from(row.retention_days).unwrap_or(0),
            public_key_pem: row.public_key_pem,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Debug)]
pub struct NewGroup {
    pub name: GroupName,
    pub display_name: String,
    pub description: String,
    pub rules: String,
    pub join_policy: JoinPolicy,
    pub listed: bool,
    pub allow_outside_posts: bool,
    pub visibility: GroupVisibility,
    pub public_key_pem: String,
    pub private_key_pem: String,
    pub created_by: i64,
}

/// Create a group; its creator becomes its first moderator and member. One
/// transaction: a group never exists without a moderator. The name is
/// shared with people ([`crate::names`]): one a person or a group already
/// has, in any case, is `Conflict { field: "name" }`.
pub async fn insert(db: &impl ConnectionTrait, new: NewGroup) -> Result<Group, DbError> {
    crate::names::claim(
        db,
        &new.name.canonical(),
        crate::names::NameKind::Group,
        "name",
    )
    .await?;
    let now = Utc::now();
    let creator = new.created_by;
    let row = groups::ActiveModel {
        name_canonical: Set(new.name.canonical()),
        name: Set(new.name.as_str().to_owned()),
        display_name: Set(new.display_name),
        description: Set(new.description),
        rules: Set(new.rules),
        join_policy: Set(new.join_policy.as_str().to_owned()),
        listed: Set(new.listed),
        allow_outside_posts: Set(new.allow_outside_posts),
        visibility: Set(new.visibility.as_str().to_owned()),
        public_key_pem: Set(new.public_key_pem),
        private_key_pem: Set(new.private_key_pem),
        created_by: Set(creator),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| DbError::unique_as(e, "name"))?;
    group_moderators::ActiveModel {
        group_id: Set(row.id),
        user_id: Set(creator),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    group_members::ActiveModel {
        group_id: Set(row.id),
        user_id: Set(Some(creator)),
        remote_actor_id: Set(None),
        state: Set(MembershipState::Joined.as_str().to_owned()),
        follow_ap_id: Set(None),
        decided_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Group::try_from(row)
}

pub async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> Result<Option<Group>, DbError> {
    groups::Entity::find()
        .filter(groups::Column::NameCanonical.eq(name.to_ascii_lowercase()))
        .one(db)
        .await?
        .map(Group::try_from)
        .transpose()
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Group>, DbError> {
    groups::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(Group::try_from)
        .transpose()
}

/// One page of the directory: listed groups in creation order.
pub async fn list_listed(
    db: &impl ConnectionTrait,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<Group>, DbError> {
    let mut query = groups::Entity::find()
        .filter(groups::Column::Listed.eq(true))
        .order_by_asc(groups::Column::Id);
    if let Some(after) = after {
        query = query.filter(groups::Column::Id.gt(after));
    }
    query
        .limit(limit.min(crate::MAX_PAGE))
        .all(db)
        .await?
        .into_iter()
        .map(Group::try_from)
        .collect()
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbError> {
    Ok(groups::Entity::find().count(db).await?)
}

pub async fn private_key_pem(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<String>, DbError> {
    Ok(groups::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|g| g.private_key_pem))
}

/// Whether the account moderates the group. Moderators are members: one
/// who is not (or no longer) a joined member moderates nothing.
pub async fn is_moderator(
    db: &impl ConnectionTrait,
    group_id: i64,
    user_id: i64,
) -> Result<bool, DbError> {
    let listed = group_moderators::Entity::find()
        .filter(group_moderators::Column::GroupId.eq(group_id))
        .filter(group_moderators::Column::UserId.eq(user_id))
        .count(db)
        .await?
        > 0;
    Ok(listed
        && find_membership(db, group_id, Member::Local(user_id))
            .await?
            .is_some_and(|m| m.state == MembershipState::Joined))
}

/// Make the account a moderator of the group (`true`), or end its role.
/// `false` when nothing changed.
pub async fn set_moderator(
    db: &impl ConnectionTrait,
    group_id: i64,
    user_id: i64,
    moderates: bool,
) -> Result<bool, DbError> {
    let listed = group_moderators::Entity::find()
        .filter(group_moderators::Column::GroupId.eq(group_id))
        .filter(group_moderators::Column::UserId.eq(user_id))
        .count(db)
        .await?
        > 0;
    if listed == moderates {
        return Ok(false);
    }
    if moderates {
        group_moderators::ActiveModel {
            group_id: Set(group_id),
            user_id: Set(user_id),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(db)
        .await?;
    } else {
        group_moderators::Entity::delete_many()
            .filter(group_moderators::Column::GroupId.eq(group_id))
            .filter(group_moderators::Column::UserId.eq(user_id))
            .exec(db)
            .await?;
    }
    Ok(true)
}

/// The groups here the account moderates (joined moderators only).
pub async fn moderated_by(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<Group>, DbError> {
    let ids: Vec<i64> = group_moderators::Entity::find()
        .filter(group_moderators::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.group_id)
        .collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if is_moderator(db, id, user_id).await?
            && let Some(group) = find_by_id(db, id).await?
        {
            out.push(group);
        }
    }
    Ok(out)
}

/// The servers (`host[:port]`) whose people's posts the group holds for
/// its moderators.
pub async fn held_servers(
    db: &impl ConnectionTrait,
    group_id: i64,
) -> Result<Vec<String>, DbError> {
    Ok(group_held_servers::Entity::find()
        .filter(group_held_servers::Column::GroupId.eq(group_id))
        .order_by_asc(group_held_servers::Column::Authority)
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.authority)
        .collect())
}

/// Set whether the group's posts may be public. Posts already written keep
/// their own visibility.
/// Keep the threads of group `group_id` for `days` days without a new
/// reply (0: until their authors delete them).
pub async fn set_retention(
    db: &impl ConnectionTrait,
    group_id: i64,
    days: u32,
) -> Result<(), DbError> {
    groups::Entity::update_many()
        .col_expr(
            groups::Column::RetentionDays,
            sea_orm::sea_query::Expr::value(i32::try_from(days).unwrap_or(i32::MAX)),
        )
        .col_expr(
            groups::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(groups::Column::Id.eq(group_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The groups here that keep their threads for a limited time.
pub async fn with_retention(db: &impl ConnectionTrait) -> Result<Vec<Group>, DbError> {
    groups::Entity::find()
        .filter(groups::Column::RetentionDays.gt(0))
        .order_by_asc(groups::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Group::try_from)
        .collect()
}

pub async fn set_visibility(
    db: &impl ConnectionTrait,
    group_id: i64,
    visibility: GroupVisibility,
) -> Result<(), DbError> {
    groups::Entity::update_many()
        .col_expr(
            groups::Column::Visibility,
            sea_orm::sea_query::Expr::value(visibility.as_str()),
        )
        .col_expr(
            groups::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(groups::Column::Id.eq(group_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Set what the group holds for its moderators: posts from members who
/// joined less than `days` days ago, and from people on `servers`.
pub async fn set_premoderation(
    db: &impl ConnectionTrait,
    group_id: i64,
    days: u32,
    servers: &[String],
) -> Result<(), DbError> {
    groups::Entity::update_many()
        .col_expr(
            groups::Column::HoldNewMembersDays,
            sea_orm::sea_query::Expr::value(i32::try_from(days).unwrap_or(i32::MAX)),
        )
        .filter(groups::Column::Id.eq(group_id))
        .exec(db)
        .await?;
    group_held_servers::Entity::delete_many()
        .filter(group_held_servers::Column::GroupId.eq(group_id))
        .exec(db)
        .await?;
    for authority in servers {
        group_held_servers::ActiveModel {
            group_id: Set(group_id),
            authority: Set(authority.clone()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// The account ids of the group's moderators (joined members only).
pub async fn moderator_ids(db: &impl ConnectionTrait, group_id: i64) -> Result<Vec<i64>, DbError> {
    let mods = group_moderators::Entity::find()
        .filter(group_moderators::Column::GroupId.eq(group_id))
        .order_by_asc(group_moderators::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(mods.len());
    for m in mods {
        if is_moderator(db, group_id, m.user_id).await? {
            out.push(m.user_id);
        }
    }
    Ok(out)
}

/// Every group here, as (id, name).
pub async fn all_ids_and_names(db: &impl ConnectionTrait) -> Result<Vec<(i64, String)>, DbError> {
    Ok(groups::Entity::find()
        .select_only()
        .column(groups::Column::Id)
        .column(groups::Column::Name)
        .order_by_asc(groups::Column::Id)
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?)
}

/// Usernames of the group's moderators (joined members only, as
/// [`is_moderator`] counts them), oldest first.
pub async fn moderator_usernames(
    db: &impl ConnectionTrait,
    group_id: i64,
) -> Result<Vec<String>, DbError> {
    let mods = group_moderators::Entity::find()
        .filter(group_moderators::Column::GroupId.eq(group_id))
        .order_by_asc(group_moderators::Column::Id)
        .all(db)
        .await?;
    let mut names = Vec::with_capacity(mods.len());
    for m in mods {
        if !is_moderator(db, group_id, m.user_id).await? {
            continue;
        }
        if let Some(user) = users::Entity::find_by_id(m.user_id).one(db).await? {
            names.push(user.username);
        }
    }
    Ok(names)
}

/// Who a membership belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    Local(i64),
    Remote(i64),
}

/// A membership of a local group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub id: i64,
    pub group_id: i64,
    pub member: Member,
    pub state: MembershipState,
    /// The id of the remote `Follow` that asked to join (remote members).
    pub follow_ap_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<group_members::Model> for Membership {
    type Error = DbError;

    fn try_from(row: group_members::Model) -> Result<Self, DbError> {
        let corrupt = |detail: String| DbError::Corrupt {
            table: "group_members",
            detail,
        };
        let member = match (row.user_id, row.remote_actor_id) {
            (Some(id), None) => Member::Local(id),
            (None, Some(id)) => Member::Remote(id),
            _ => {
                return Err(corrupt(format!(
                    "membership {}: needs exactly one member",
                    row.id
                )));
            }
        };
        Ok(Membership {
            state: row
                .state
                .parse()
                .map_err(|e| corrupt(format!("membership {}: state: {e}", row.id)))?,
            id: row.id,
            group_id: row.group_id,
            member,
            follow_ap_id: row.follow_ap_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn member_filter(
    query: sea_orm::Select<group_members::Entity>,
    member: Member,
) -> sea_orm::Select<group_members::Entity> {
    match member {
        Member::Local(id) => query.filter(group_members::Column::UserId.eq(id)),
        Member::Remote(id) => query.filter(group_members::Column::RemoteActorId.eq(id)),
    }
}

pub async fn find_membership(
    db: &impl ConnectionTrait,
    group_id: i64,
    member: Member,
) -> Result<Option<Membership>, DbError> {
    member_filter(
        group_members::Entity::find().filter(group_members::Column::GroupId.eq(group_id)),
        member,
    )
    .one(db)
    .await?
    .map(Membership::try_from)
    .transpose()
}

pub async fn find_membership_by_id(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<Membership>, DbError> {
    group_members::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(Membership::try_from)
        .transpose()
}

/// Record a request to join: a new membership in `state`, or an existing one
/// moved to `state` with the newest Follow id.
pub async fn request_membership(
    db: &impl ConnectionTrait,
    group_id: i64,
    member: Member,
    state: MembershipState,
    follow_ap_id: Option<String>,
) -> Result<Membership, DbError> {
    let now = Utc::now();
    if let Some(existing) = find_membership(db, group_id, member).await? {
        let mut row: group_members::ActiveModel = group_members::Entity::find_by_id(existing.id)
            .one(db)
            .await?
            .ok_or(DbError::NotFound { what: "membership" })?
            .into();
        row.state = Set(state.as_str().to_owned());
        row.follow_ap_id = Set(follow_ap_id);
        row.updated_at = Set(now);
        return Membership::try_from(row.update(db).await?);
    }
    let (user_id, remote_actor_id) = match member {
        Member::Local(id) => (Some(id), None),
        Member::Remote(id) => (None, Some(id)),
    };
    let row = group_members::ActiveModel {
        group_id: Set(group_id),
        user_id: Set(user_id),
        remote_actor_id: Set(remote_actor_id),
        state: Set(state.as_str().to_owned()),
        follow_ap_id: Set(follow_ap_id),
        decided_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| DbError::unique_as(e, "membership"))?;
    Membership::try_from(row)
}

/// A moderator's decision on a pending request.
pub async fn decide_membership(
    db: &impl ConnectionTrait,
    id: i64,
    state: MembershipState,
    decided_by: i64,
) -> Result<Membership, DbError> {
    let mut row: group_members::ActiveModel = group_members::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DbError::NotFound { what: "membership" })?
        .into();
    row.state = Set(state.as_str().to_owned());
    row.decided_by = Set(Some(decided_by));
    row.updated_at = Set(Utc::now());
    Membership::try_from(row.update(db).await?)
}

/// Remove a membership (leaving). A moderator who leaves stops being one.
/// Returns whether a membership existed.
pub async fn remove_membership(
    db: &impl ConnectionTrait,
    group_id: i64,
    member: Member,
) -> Result<bool, DbError> {
    let deleted = match member {
        Member::Local(id) => {
            group_moderators::Entity::delete_many()
                .filter(group_moderators::Column::GroupId.eq(group_id))
                .filter(group_moderators::Column::UserId.eq(id))
                .exec(db)
                .await?;
            group_members::Entity::delete_many()
                .filter(group_members::Column::GroupId.eq(group_id))
                .filter(group_members::Column::UserId.eq(id))
                .exec(db)
                .await?
        }
        Member::Remote(id) => {
            let deleted = group_members::Entity::delete_many()
                .filter(group_members::Column::GroupId.eq(group_id))
                .filter(group_members::Column::RemoteActorId.eq(id))
                .exec(db)
                .await?;
            // The last member of that server gone: what only members may
            // read, still waiting to go there, goes nowhere.
            if deleted.rows_affected > 0
                && let Some(actor) = remote_actors::Entity::find_by_id(id).one(db).await?
                && !has_member_on(db, group_id, &actor.authority).await?
            {
                crate::queue::drop_private_to(
                    db,
                    group_id,
                    &actor.authority,
                    "no member of the group on that server any more",
                )
                .await?;
            }
            deleted
        }
    };
    Ok(deleted.rows_affected > 0)
}

/// How many members a group has (joined only).
pub async fn joined_count(db: &impl ConnectionTrait, group_id: i64) -> Result<u64, DbError> {
    Ok(group_members::Entity::find()
        .filter(group_members::Column::GroupId.eq(group_id))
        .filter(group_members::Column::State.eq(MembershipState::Joined.as_str()))
        .count(db)
        .await?)
}

/// A membership with who it is, for moderators' lists.
#[derive(Debug, Clone)]
pub struct MembershipEntry {
    pub membership: Membership,
    /// `ann` for a local member, `ann@other.example` for a remote one.
    pub handle: String,
    /// The member's ActivityPub id when remote.
    pub actor_id: Option<String>,
    /// The member's server (`host[:port]`) when remote.
    pub authority: Option<String>,
    pub display_name: String,
}

/// One page of a group's memberships in `state`, oldest first.
pub async fn list_memberships(
    db: &impl ConnectionTrait,
    group_id: i64,
    state: MembershipState,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<MembershipEntry>, DbError> {
    let mut query = group_members::Entity::find()
        .filter(group_members::Column::GroupId.eq(group_id))
        .filter(group_members::Column::State.eq(state.as_str()))
        .order_by_asc(group_members::Column::Id);
    if let Some(after) = after {
        query = query.filter(group_members::Column::Id.gt(after));
    }
    let rows = query.limit(limit.min(crate::MAX_PAGE)).all(db).await?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let membership = Membership::try_from(row)?;
        let entry = match membership.member {
            Member::Local(id) => {
                let user = users::Entity::find_by_id(id).one(db).await?;
                let (handle, display_name) = user
                    .map(|u| (u.username, u.display_name))
                    .unwrap_or_default();
                MembershipEntry {
                    membership,
                    handle,
                    actor_id: None,
                    authority: None,
                    display_name,
                }
            }
            Member::Remote(id) => {
                let actor = remote_actors::Entity::find_by_id(id).one(db).await?;
                let (handle, actor_id, authority, display_name) = actor
                    .map(|a| {
                        (
                            format!("{}@{}", a.preferred_username, a.authority),
                            Some(a.ap_id),
                            Some(a.authority),
                            a.name,
                        )
                    })
                    .unwrap_or_default();
                MembershipEntry {
                    membership,
                    handle,
                    actor_id,
                    authority,
                    display_name,
                }
            }
        };
        entries.push(entry);
    }
    Ok(entries)
}

/// The local groups a user belongs to or asked to join.
pub async fn memberships_of_user(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<(Group, Membership)>, DbError> {
    let rows = group_members::Entity::find()
        .filter(group_members::Column::UserId.eq(user_id))
        .order_by_asc(group_members::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let membership = Membership::try_from(row)?;
        if let Some(group) = find_by_id(db, membership.group_id).await? {
            out.push((group, membership));
        }
    }
    Ok(out)
}

/// The local groups a remote actor belongs to or asked to join.
pub async fn memberships_of_remote(
    db: &impl ConnectionTrait,
    remote_actor_id: i64,
) -> Result<Vec<(Group, Membership)>, DbError> {
    let rows = group_members::Entity::find()
        .filter(group_members::Column::RemoteActorId.eq(remote_actor_id))
        .order_by_asc(group_members::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let membership = Membership::try_from(row)?;
        if let Some(group) = find_by_id(db, membership.group_id).await? {
            out.push((group, membership));
        }
    }
    Ok(out)
}

/// Where activities for a group's members on other servers go: the shared
/// inbox (or inbox) of each joined remote member, each inbox once, in the
/// order the servers' first members joined, with the server's authority
/// and the software it is known to run. One query, whatever the number of
/// members: it runs inside the transaction of every post the group relays.
pub async fn remote_member_inboxes(
    db: &impl ConnectionTrait,
    group_id: i64,
) -> Result<Vec<MemberInbox>, DbError> {
    let backend = db.get_database_backend();
    let p = |n: usize| placeholder(backend, n);
    let sql = format!(
        "SELECT COALESCE(a.shared_inbox, a.inbox) AS inbox, \
                MIN(LOWER(a.authority)) AS authority, MIN(s.software) AS software \
         FROM group_members m \
         JOIN remote_actors a ON a.id = m.remote_actor_id \
         LEFT JOIN server_software s ON s.authority = LOWER(a.authority) \
         WHERE m.group_id = {group} AND m.state = {state} \
         GROUP BY COALESCE(a.shared_inbox, a.inbox) \
         ORDER BY MIN(m.id)",
        group = p(1),
        state = p(2),
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                Value::from(group_id),
                Value::from(MembershipState::Joined.as_str()),
            ],
        ))
        .await?;
    let mut inboxes = Vec::with_capacity(rows.len());
    for row in rows {
        inboxes.push(MemberInbox {
            inbox: row.try_get("", "inbox")?,
            authority: row.try_get("", "authority")?,
            software: row.try_get("", "software")?,
        });
    }
    Ok(inboxes)
}

/// An inbox of a group's member server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInbox {
    pub inbox: String,
    /// `host[:port]`, lower case.
    pub authority: String,
    /// What the server runs, as last read from its NodeInfo (`None`: not
    /// known).
    pub software: Option<String>,
}

/// Whether any joined member of the group lives on the server `authority`
/// (for members-only fetches signed by that server).
pub async fn has_member_on(
    db: &impl ConnectionTrait,
    group_id: i64,
    authority: &str,
) -> Result<bool, DbError> {
    let backend = db.get_database_backend();
    let p = |n: usize| placeholder(backend, n);
    let sql = format!(
        "SELECT 1 AS one FROM group_members m \
         JOIN remote_actors a ON a.id = m.remote_actor_id \
         WHERE m.group_id = {group} AND m.state = {state} AND LOWER(a.authority) = {authority} \
         LIMIT 1",
        group = p(1),
        state = p(2),
        authority = p(3),
    );
    Ok(db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                Value::from(group_id),
                Value::from(MembershipState::Joined.as_str()),
                Value::from(authority.to_ascii_lowercase()),
            ],
        ))
        .await?
        .is_some())
}

#[cfg(test)]
mod tests {
    use hearth_domain::{AccountStatus, Bio, DisplayName, Role, Username};

    use super::*;
    use crate::accounts::{self, NewAccount};
    use crate::remote::{self, FetchedActor};

    async fn actor(db: &impl ConnectionTrait, id: &str, authority: &str, shared: &str) -> i64 {
        remote::upsert_actor(
            db,
            FetchedActor {
                ap_id: id.into(),
                kind: "Person".into(),
                authority: authority.into(),
                preferred_username: "someone".into(),
                name: String::new(),
                summary: String::new(),
                inbox: format!("{id}/inbox"),
                shared_inbox: Some(shared.into()),
                outbox: None,
                followers: None,
                url: None,
                public_key_id: format!("{id}#key"),
                public_key_pem: String::new(),
                manually_approves_followers: false,
                group_visibility: None,
                professional: Default::default(),
            },
        )
        .await
        .unwrap()
        .id
    }

    /// An account and its open group `circle`.
    async fn circle(db: &sea_orm::DatabaseConnection) -> Group {
        let owner = accounts::insert(
            db,
            NewAccount {
                username: Username::parse("owner").unwrap(),
                display_name: DisplayName::parse("Owner").unwrap(),
                bio: Bio::parse("").unwrap(),
                email: None,
                password_hash: String::new(),
                role: Role::Member,
                status: AccountStatus::Active,
                registration_reason: String::new(),
                public_key_pem: String::new(),
                private_key_pem: String::new(),
            },
        )
        .await
        .unwrap();
        insert(
            db,
            NewGroup {
                name: GroupName::parse("circle").unwrap(),
                display_name: "Circle".into(),
                description: String::new(),
                rules: String::new(),
                join_policy: JoinPolicy::Open,
                listed: true,
                allow_outside_posts: false,
                visibility: hearth_domain::GroupVisibility::Public,
                public_key_pem: String::new(),
                private_key_pem: String::new(),
                created_by: owner.id,
            },
        )
        .await
        .unwrap()
    }

    /// When a server's last member leaves, what only members may read that
    /// still waits to go there is dropped; nothing else is.
    #[tokio::test]
    async fn the_last_member_of_a_server_leaving_drops_what_was_private_to_the_group() {
        use crate::entity::deliveries;
        use crate::queue::{self, Target};
        let (_dir, db) = crate::test_database().await;
        let group = circle(&db).await;
        let a1 = actor(
            &db,
            "https://a.example/u/1",
            "A.example",
            "https://a.example/inbox",
        )
        .await;
        let a2 = actor(
            &db,
            "https://a.example/u/2",
            "a.example",
            "https://a.example/inbox",
        )
        .await;
        let b1 = actor(
            &db,
            "https://b.example/u/1",
            "b.example",
            "https://b.example/inbox",
        )
        .await;
        for id in [a1, a2, b1] {
            request_membership(
                &db,
                group.id,
                Member::Remote(id),
                MembershipState::Joined,
                None,
            )
            .await
            .unwrap();
        }
        let to = |host: &str| Target {
            inbox: format!("https://{host}/inbox"),
            authority: host.to_owned(),
        };
        let everywhere = [to("a.example"), to("b.example")];
        let activity = |ap_id, private_to_group| queue::NewActivity {
            ap_id,
            kind: "Announce",
            actor_ap_id: "https://h/g/circle",
            body: "{}",
            about: None,
            private_to_group,
            owner: None,
            erasure: None,
        };
        let private = queue::enqueue(&db, activity("https://h/a/1", Some(group.id)), &everywhere)
            .await
            .unwrap();
        let public = queue::enqueue(&db, activity("https://h/a/2", None), &everywhere)
            .await
            .unwrap();
        let state = |activity: i64, host: &'static str| {
            let db = &db;
            async move {
                deliveries::Entity::find()
                    .filter(deliveries::Column::ActivityId.eq(activity))
                    .filter(deliveries::Column::Authority.eq(host))
                    .one(db)
                    .await
                    .unwrap()
                    .unwrap()
                    .state
            }
        };

        // One of a.example's two members leaves: it still has one.
        assert!(
            remove_membership(&db, group.id, Member::Remote(a1))
                .await
                .unwrap()
        );
        assert_eq!(state(private, "a.example").await, "pending");
        // The last one: the private activity no longer goes there.
        assert!(
            remove_membership(&db, group.id, Member::Remote(a2))
                .await
                .unwrap()
        );
        assert_eq!(state(private, "a.example").await, "failed");
        assert_eq!(state(public, "a.example").await, "pending");
        assert_eq!(state(private, "b.example").await, "pending");
    }

    /// Each member server once, in the order its first member joined, with
    /// its software; members still asking are not there yet.
    #[tokio::test]
    async fn member_servers_come_from_one_query_each_once() {
        let (_dir, db) = crate::test_database().await;
        let group = circle(&db).await;
        let b1 = actor(
            &db,
            "https://b.example/u/1",
            "B.example",
            "https://b.example/inbox",
        )
        .await;
        let a1 = actor(
            &db,
            "https://a.example/u/1",
            "a.example",
            "https://a.example/inbox",
        )
        .await;
        let a2 = actor(
            &db,
            "https://a.example/u/2",
            "a.example",
            "https://a.example/inbox",
        )
        .await;
        let c1 = actor(
            &db,
            "https://c.example/u/1",
            "c.example",
            "https://c.example/inbox",
        )
        .await;
        for (id, state) in [
            (b1, MembershipState::Joined),
            (a1, MembershipState::Joined),
            (a2, MembershipState::Joined),
            (c1, MembershipState::Pending),
        ] {
            request_membership(&db, group.id, Member::Remote(id), state, None)
                .await
                .unwrap();
        }
        crate::servers::record_software(&db, "a.example", Some("lemmy"), Some("0.19.20"))
            .await
            .unwrap();

        let inboxes = remote_member_inboxes(&db, group.id).await.unwrap();
        assert_eq!(
            inboxes,
            vec![
                MemberInbox {
                    inbox: "https://b.example/inbox".into(),
                    authority: "b.example".into(),
                    software: None,
                },
                MemberInbox {
                    inbox: "https://a.example/inbox".into(),
                    authority: "a.example".into(),
                    software: Some("lemmy".into()),
                },
            ]
        );
        assert!(has_member_on(&db, group.id, "A.EXAMPLE").await.unwrap());
        assert!(has_member_on(&db, group.id, "b.example").await.unwrap());
        assert!(!has_member_on(&db, group.id, "c.example").await.unwrap());
        assert!(!has_member_on(&db, group.id, "d.example").await.unwrap());
    }
}
