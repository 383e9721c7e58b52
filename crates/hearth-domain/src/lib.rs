//! Hearth's rules and types, free of I/O: what a valid username, password or
//! profile is, which roles and registration modes exist, and how secrets
//! (password hashes, access tokens) are made and checked, what a post may
//! say ([`content`]) and who may read it ([`access`]).
//!
//! Architecture invariant: this crate knows nothing about HTTP, JSON-LD,
//! ActivityPub or the database driver. Everything here is plain Rust that can
//! be tested without a server.

pub mod access;
pub mod account;
pub mod audit;
pub mod care;
pub mod content;
pub mod crisis;
pub mod erasure;
pub mod error;
pub mod federation_policy;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod group;
pub mod moderation;
pub mod notification;
pub mod password;
pub mod peer;
pub mod post;
pub mod professional;
pub mod safe_html;
pub mod sources;
pub mod text;
pub mod token;

pub use account::{AccountStatus, Bio, DisplayName, Email, RegistrationMode, Role, Username};
pub use error::ValidationError;
pub use group::{GroupName, GroupVisibility, JoinPolicy, MembershipState};
