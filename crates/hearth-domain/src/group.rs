//! Groups: names, join policies and membership states.
//!
//! A group is where members support each other. Its name is a handle like a
//! username (`type1_peers`), so it can be addressed as
//! `type1_peers@example.org` from other servers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::account::{UnknownValue, parse_handle, trimmed_text};

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
