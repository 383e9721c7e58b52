//! What the audit log records: the privileged reads of a member's private
//! data by an admin or a moderator.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::account::UnknownValue;

crate::string_enum! {
    /// What a privileged read opened.
    AuditAction {
        /// An admin (or the server's operator, at its shell) produced a
        /// member's data export, as for a data-subject request.
        Export => "export",
        /// An admin read a member's account details: their e-mail address
        /// and the words they gave when signing up.
        AccountDetails => "account_details",
        /// A moderator read the words of a member's posts they removed,
        /// kept aside so the removal can be undone.
        RemovedPosts => "removed_posts",
    }
}

impl AuditAction {
    /// What was read, as the member is told: "NAME downloaded your
    /// data", and so on.
    pub fn about_you(self) -> &'static str {
        match self {
            AuditAction::Export => "downloaded your data",
            AuditAction::AccountDetails => {
                "read your account details (your e-mail address and what you wrote when you signed up)"
            }
            AuditAction::RemovedPosts => "read the words of your posts a moderator removed",
        }
    }

    /// The same, about someone else, for admins.
    pub fn about_member(self) -> &'static str {
        match self {
            AuditAction::Export => "downloaded the data of",
            AuditAction::AccountDetails => "read the account details of",
            AuditAction::RemovedPosts => "read the removed posts of",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_back_as_written() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(*action));
        }
        assert!("read_everything".parse::<AuditAction>().is_err());
    }
}
