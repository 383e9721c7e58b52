//! The one read rule. Whoever reads (a visitor, a member of this server, or
//! another server that proved itself with a signature over a request made
//! to this server), and wherever they read (API, pages, redirects,
//! ActivityPub fetches, outboxes, `replies`, timelines, notifications,
//! profiles, backfill answers), the question goes through [`can_read`] or,
//! for lists filtered in the database, [`readable_in`]. Both gather the
//! facts here and leave the decision to [`hearth_domain::access`].
//!
//! Callers answer "not found" for what the rule refuses, exactly as for what
//! does not exist, so nobody learns that a post exists by asking.
//!
//! In test mode every consultation is counted per request ([`audited`]),
//! so a test can prove that a route serving stored content asked.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hearth_db::ConnectionTrait;
use hearth_db::groups::{self, Member};
use hearth_db::posts::Post;
use hearth_db::remote;
use hearth_domain::MembershipState;
use hearth_domain::access::{Relation, may_read, readable};
use hearth_domain::post::Visibility;

use crate::AppError;
use crate::posts::PostGroup;

/// Who is reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    /// Nobody logged in, and no signature.
    Anonymous,
    /// An account of this server, by id.
    Account(i64),
    /// Another server (`host[:port]`, lower case), proven by a valid
    /// signature on a request addressed to this server.
    Server(String),
}

impl Reader {
    /// A page's or the API's reader: the logged-in account, or nobody.
    pub fn viewer(session: Option<&hearth_db::tokens::Session>) -> Reader {
        match session {
            Some(s) => Reader::Account(s.account.id),
            None => Reader::Anonymous,
        }
    }
}

tokio::task_local! {
    static CONSULTED: Arc<AtomicUsize>;
}

/// Run `work`, counting how often it consulted the read rule.
pub async fn audited<F: Future>(work: F) -> (F::Output, usize) {
    let count = Arc::new(AtomicUsize::new(0));
    let out = CONSULTED.scope(count.clone(), work).await;
    (out, count.load(Ordering::Relaxed))
}

fn consulted() {
    let _ = CONSULTED.try_with(|c| c.fetch_add(1, Ordering::Relaxed));
}

/// How `reader` stands towards `group`.
///
/// A server reads a group here as a member only when one of its people is
/// a member *and* its software keeps members-only posts to the group (or
/// the admin vouches for it, `vouched`): see [`hearth_domain::peer`].
pub(crate) async fn relation(
    db: &impl ConnectionTrait,
    reader: &Reader,
    group: &PostGroup,
    vouched: &[String],
) -> Result<Relation, AppError> {
    let member = Relation::Member {
        on_group_server: false,
    };
    Ok(match (reader, group) {
        (Reader::Anonymous, _) => Relation::Outsider,
        (Reader::Account(id), PostGroup::Local(g)) => {
            if joined(
                groups::find_membership(db, g.id, Member::Local(*id))
                    .await?
                    .map(|m| m.state),
            ) {
                Relation::Member {
                    on_group_server: true,
                }
            } else {
                Relation::Outsider
            }
        }
        (Reader::Account(id), PostGroup::Remote(a)) => {
            if joined(
                remote::find_membership(db, *id, a.id)
                    .await?
                    .map(|m| m.state),
            ) {
                member
            } else {
                Relation::Outsider
            }
        }
        (Reader::Server(server), PostGroup::Local(g)) => {
            let peer = crate::servers::peer_at(db, server, vouched).await?;
            if peer.may_hold_members_only() && groups::has_member_on(db, g.id, server).await? {
                member
            } else {
                Relation::Outsider
            }
        }
        (Reader::Server(server), PostGroup::Remote(a)) => {
            // The group's own server may read what members here wrote in it.
            if a.authority.eq_ignore_ascii_case(server) {
                member
            } else {
                Relation::Outsider
            }
        }
    })
}

fn joined(state: Option<MembershipState>) -> bool {
    state == Some(MembershipState::Joined)
}

/// Whether `reader` may read `post`, which is in `group` (as stored).
pub(crate) async fn can_read(
    db: &impl ConnectionTrait,
    reader: &Reader,
    post: &Post,
    group: Option<&PostGroup>,
    vouched: &[String],
) -> Result<bool, AppError> {
    consulted();
    // Written on a suspended server: hidden from everyone while it holds.
    if post.hidden_at.is_some() {
        return Ok(false);
    }
    let own = matches!(reader, Reader::Account(id) if post.author_user_id == Some(*id));
    if post.is_held() && !own {
        // Waiting for a moderator: its author and the group's moderators
        // (and admins) read it; nobody else, and no other server.
        return Ok(match (reader, group) {
            (Reader::Account(id), Some(PostGroup::Local(g))) => {
                groups::is_moderator(db, g.id, *id).await?
                    || hearth_db::accounts::find_by_id(db, *id)
                        .await?
                        .is_some_and(|a| a.role == hearth_domain::Role::Admin)
            }
            // The author's own server, about its member's post (to edit or
            // delete it while it waits).
            (Reader::Server(server), _) => crate::ids::authority_of(&post.author_ap_id)
                .is_some_and(|a| a.eq_ignore_ascii_case(server)),
            _ => false,
        });
    }
    if own {
        return Ok(may_read(
            post.effective_visibility(),
            Relation::Outsider,
            true,
        ));
    }
    let relation = match group {
        Some(group) => relation(db, reader, group, vouched).await?,
        // A post whose group is not known here: only what is public.
        None => Relation::Outsider,
    };
    Ok(may_read(post.effective_visibility(), relation, own))
}

/// What `reader` may read in `group`, for lists: ask it of each post
/// ([`Readable::allows`]) or filter by its visibilities in the database
/// ([`Readable::visibilities`]); both are [`may_read`].
pub(crate) async fn readable_in(
    db: &impl ConnectionTrait,
    reader: &Reader,
    group: &PostGroup,
    vouched: &[String],
) -> Result<Readable, AppError> {
    consulted();
    Ok(Readable {
        relation: relation(db, reader, group, vouched).await?,
        account: match reader {
            Reader::Account(id) => Some(*id),
            _ => None,
        },
    })
}

/// The read rule for one reader in one group: the per-page reader context.
/// It holds the facts the rule needs that cost a query (how the reader
/// stands towards the group, looked up once by [`readable_in`]), so a page
/// of any length asks [`may_read`] of each of its posts without asking the
/// database again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Readable {
    relation: Relation,
    account: Option<i64>,
}

impl Readable {
    /// Whether the reader may read `post` (of this group).
    pub(crate) fn allows(&self, post: &Post) -> bool {
        if post.hidden_at.is_some() {
            return false;
        }
        let own = self.account.is_some() && post.author_user_id == self.account;
        // Lists never show held posts (see `hearth_db::posts`); a held one
        // that reaches here anyway is read one by one, with `can_read`.
        if post.is_held() && !own {
            return false;
        }
        may_read(post.effective_visibility(), self.relation, own)
    }

    /// The visibilities the reader may read (their own posts aside).
    pub(crate) fn visibilities(&self) -> Vec<Visibility> {
        readable(self.relation)
    }

    /// Whether the reader is a joined member of the group (for an account:
    /// may write, reply and react there), as the same look-up found it.
    pub(crate) fn is_member(&self) -> bool {
        matches!(self.relation, Relation::Member { .. })
    }
}
