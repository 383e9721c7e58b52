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
