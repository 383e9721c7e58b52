//! Who may read a post: the rule itself, free of I/O.
//!
//! Every read path in Hearth (pages, the API, ActivityPub fetches, outboxes,
//! `replies` collections, timelines, notifications, profiles) ends here,
//! through `hearth-app`'s `access` module, which only gathers the facts
//! (is this reader a member? does this server host a member?) and asks
//! [`may_read`]. A list of posts asks [`readable`] for the visibilities it
//! may show, which is the same rule applied to every visibility.

use crate::post::Visibility;

/// How a reader stands towards the group a post is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Not a member: an anonymous reader, an account outside the group, or
    /// a server none of whose people belong to it.
    Outsider,
    /// A joined member, or a server that hosts one (or hosts the group).
    /// `on_group_server` is true only for members reading on the group's
    /// own server: the only readers of `local` posts.
    Member { on_group_server: bool },
}

/// Whether a reader with `relation` may read a post of `visibility`.
/// `own` says the reader wrote it: people can always read their own words.
pub fn may_read(visibility: Visibility, relation: Relation, own: bool) -> bool {
    if own {
        return true;
    }
    match visibility {
        Visibility::Public => true,
        Visibility::Members => matches!(relation, Relation::Member { .. }),
        Visibility::Local => matches!(
            relation,
            Relation::Member {
                on_group_server: true
            }
        ),
    }
}

/// The visibilities a reader with `relation` may read (for lists, which
/// filter in the database): [`may_read`] asked of each one.
pub fn readable(relation: Relation) -> Vec<Visibility> {
    Visibility::ALL
        .iter()
        .copied()
        .filter(|v| may_read(*v, relation, false))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outsiders_read_only_public_posts() {
        assert_eq!(readable(Relation::Outsider), vec![Visibility::Public]);
    }

    #[test]
    fn members_elsewhere_never_read_local_posts() {
        let elsewhere = Relation::Member {
            on_group_server: false,
        };
        assert_eq!(
            readable(elsewhere),
            vec![Visibility::Members, Visibility::Public]
        );
        let here = Relation::Member {
            on_group_server: true,
        };
        assert_eq!(readable(here), Visibility::ALL.to_vec());
    }

    #[test]
    fn authors_read_their_own_posts_whatever_their_relation() {
        for v in Visibility::ALL {
            assert!(may_read(*v, Relation::Outsider, true));
        }
    }
}
