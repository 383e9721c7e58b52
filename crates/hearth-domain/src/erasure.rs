//! Erasure with receipts: what a member can take back, and how each server
//! that held it answered.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::account::UnknownValue;

crate::string_enum! {
    /// What is being erased.
    ErasureKind {
        /// A member's account, with everything in it.
        Account => "account",
        /// One post.
        Post => "post",
    }
}

crate::string_enum! {
    /// How one server answered an erasure.
    ReceiptState {
        /// Queued or on its way; no answer yet.
        Sent => "sent",
        /// The server accepted every `Delete` (2xx).
        Acknowledged => "acknowledged",
        /// The server did not answer, or answered with an error; it is
        /// tried again, and again, while it exists.
        Failing => "failing",
        /// This server's admins cut the server off (suspended, or not on
        /// the allowlist): nothing is sent to it while that holds, and the
        /// deletion goes as soon as it ends.
        Held => "held",
        /// The server no longer exists (its inbox answers 410 Gone, or its
        /// name has stopped resolving), or can no longer be sent to.
        Gone => "gone",
    }
}

impl ReceiptState {
    /// The state in plain words, for the member's receipt.
    pub fn explain(self) -> &'static str {
        match self {
            ReceiptState::Sent => "Asked to delete it; waiting for an answer.",
            ReceiptState::Acknowledged => "Confirmed: this server deleted it.",
            ReceiptState::Failing => {
                "Not confirmed yet: this server is not answering. We keep trying."
            }
            ReceiptState::Held => {
                "Waiting: our admins have cut this server off for now. We will ask it to delete as soon as that ends."
            }
            ReceiptState::Gone => "This server no longer exists, so it holds nothing.",
        }
    }

    /// Whether nothing more will happen for this server.
    pub fn is_final(self) -> bool {
        matches!(self, ReceiptState::Acknowledged | ReceiptState::Gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_as_written() {
        for state in ReceiptState::ALL {
            assert_eq!(state.as_str().parse::<ReceiptState>(), Ok(*state));
        }
        for kind in ErasureKind::ALL {
            assert_eq!(kind.as_str().parse::<ErasureKind>(), Ok(*kind));
        }
        assert!("forgotten".parse::<ReceiptState>().is_err());
    }
}
