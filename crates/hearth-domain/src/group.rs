//! Groups: names, join policies, visibility and membership states.
//!
//! A group is where members support each other. Its name is a handle like a
//! username (`type1_peers`), so it can be addressed as
//! `type1_peers@example.org` from other servers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::account::{UnknownValue, parse_handle, trimmed_text};
use crate::post::Visibility;

pub const TITLE_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 5000;
pub const RULES_MAX: usize = 10_000;

/// A group's handle: the same rule as usernames. Unique without regard to
/// case among people and groups together, so `acct:NAME@DOMAIN` names one
/// actor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        parse_handle(raw, "name", "group name").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// What people see as the group's name ("Type 1 Diabetes Peer Support").
/// Required, one line.
pub fn parse_title(raw: &str) -> Result<String, ValidationError> {
    let text = trimmed_text(raw, "title", TITLE_MAX, "A group title")?;
    if text.is_empty() {
        return Err(ValidationError::new(
            "title",
            "required",
            "Give the group a title",
        ));
    }
    if text.contains('\n') {
        return Err(ValidationError::new(
            "title",
            "invalid_characters",
            "A group title must fit on one line",
        ));
    }
    Ok(text)
}

/// Who the group is for; plain text, optional.
pub fn parse_description(raw: &str) -> Result<String, ValidationError> {
    trimmed_text(raw, "description", DESCRIPTION_MAX, "A description")
}

/// The group's rules; plain text, optional.
pub fn parse_rules(raw: &str) -> Result<String, ValidationError> {
    trimmed_text(raw, "rules", RULES_MAX, "The rules")
}

/// The longest a group may keep threads before deleting them: ten years.
pub const RETENTION_MAX_DAYS: u32 = 3650;

/// How many days a group keeps a thread with no new reply before deleting
/// it everywhere: 0 (until its authors delete it) or 1 to
/// [`RETENTION_MAX_DAYS`].
pub fn parse_retention_days(raw: i64) -> Result<u32, ValidationError> {
    u32::try_from(raw)
        .ok()
        .filter(|days| *days <= RETENTION_MAX_DAYS)
        .ok_or_else(|| {
            ValidationError::new(
                "retention_days",
                "out_of_range",
                format!(
                    "Choose 0 (keep threads until their authors delete them) or a number of days from 1 to {RETENTION_MAX_DAYS}"
                ),
            )
        })
}

crate::string_enum! {
    /// How someone becomes a member.
    JoinPolicy {
        /// Anyone may join at once.
        Open => "open",
        /// A moderator approves each request.
        Approval => "approval",
    }
}

crate::string_enum! {
    /// Where a membership stands.
    MembershipState {
        /// Asked to join; waiting for a moderator (or, for a group on
        /// another server, for its answer).
        Pending => "pending",
        /// A member.
        Joined => "joined",
        /// A moderator said no.
        Declined => "declined",
    }
}

crate::string_enum! {
    /// Who a group's posts are for. Each post keeps its own visibility;
    /// the group's says which ones may be written in it from now on.
    GroupVisibility {
        /// Posts may be public or for members (or, here, this server) only.
        Public => "public",
        /// No post is ever public: what is written is for the members.
        Members => "members",
    }
}

impl GroupVisibility {
    /// What a new group is, unless its creator says otherwise: in a health
    /// group, nothing should be public by accident.
    pub const DEFAULT: GroupVisibility = GroupVisibility::Members;

    /// Reads a group's visibility from a form or the API; empty means the
    /// default.
    pub fn parse(raw: Option<&str>) -> Result<Self, ValidationError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(GroupVisibility::DEFAULT),
            Some(raw) => raw.parse().map_err(|e: UnknownValue| {
                ValidationError::new("visibility", "invalid", e.to_string())
            }),
        }
    }

    /// The visibilities a post may be written with in such a group.
    pub fn allows(self, post: Visibility) -> bool {
        !(self == GroupVisibility::Members && post == Visibility::Public)
    }

    /// The visibility offered first when writing in such a group.
    pub fn default_post_visibility(self) -> Visibility {
        Visibility::Members
    }

    /// Refuses a post visibility the group does not allow, naming the
    /// field `visibility`.
    pub fn check(self, post: Visibility) -> Result<(), ValidationError> {
        if self.allows(post) {
            return Ok(());
        }
        Err(ValidationError::new(
            "visibility",
            "members_only_group",
            "This group is for members only, so posts in it cannot be public. \
             Choose \"Members of this group\".",
        ))
    }

    /// One plain sentence for the group's settings, beside each choice.
    pub fn explain(self) -> &'static str {
        match self {
            GroupVisibility::Members => {
                "Posts can be read by members of the group only. Only people on \
                 servers that can keep posts private can join."
            }
            GroupVisibility::Public => {
                "Each post's author can choose to make it public, so that anyone \
                 on the internet can read it."
            }
        }
    }

    /// The sentence other software shows with the group (added to its
    /// description in the actor document), so people elsewhere know why
    /// their server may not be able to join.
    pub fn notice(self) -> Option<&'static str> {
        match self {
            GroupVisibility::Members => Some(
                "This is a members-only group. Only people on servers that can \
                 keep posts private can join it.",
            ),
            GroupVisibility::Public => None,
        }
    }
}

impl JoinPolicy {
    /// The state a new request to join starts in.
    pub fn initial_state(self) -> MembershipState {
        match self {
            JoinPolicy::Open => MembershipState::Joined,
            JoinPolicy::Approval => MembershipState::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_follow_the_handle_rule() {
        assert_eq!(
            GroupName::parse("Type1_Peers").unwrap().canonical(),
            "type1_peers"
        );
        let err = GroupName::parse("type 1").unwrap_err();
        assert_eq!((err.field, err.code), ("name", "invalid_characters"));
        assert!(err.message.contains("group name"));
    }

    #[test]
    fn titles_are_required_and_single_line() {
        assert_eq!(parse_title("  MS Circle ").unwrap(), "MS Circle");
        assert_eq!(parse_title("  ").unwrap_err().code, "required");
        assert_eq!(parse_title("a\nb").unwrap_err().code, "invalid_characters");
    }

    #[test]
    fn a_members_group_never_takes_a_public_post() {
        assert_eq!(GroupVisibility::parse(None), Ok(GroupVisibility::Members));
        assert_eq!(
            GroupVisibility::parse(Some(" public ")),
            Ok(GroupVisibility::Public)
        );
        assert_eq!(
            GroupVisibility::parse(Some("secret")).unwrap_err().field,
            "visibility"
        );
        let err = GroupVisibility::Members
            .check(Visibility::Public)
            .unwrap_err();
        assert_eq!((err.field, err.code), ("visibility", "members_only_group"));
        for v in [Visibility::Members, Visibility::Local] {
            assert!(GroupVisibility::Members.check(v).is_ok());
        }
        for v in Visibility::ALL {
            assert!(GroupVisibility::Public.check(*v).is_ok());
        }
        assert!(
            GroupVisibility::Members.allows(GroupVisibility::Members.default_post_visibility())
        );
    }

    #[test]
    fn join_policy_decides_the_first_state() {
        assert_eq!(JoinPolicy::Open.initial_state(), MembershipState::Joined);
        assert_eq!(
            JoinPolicy::Approval.initial_state(),
            MembershipState::Pending
        );
        assert_eq!(
            "approval".parse::<JoinPolicy>().unwrap(),
            JoinPolicy::Approval
        );
    }
}
