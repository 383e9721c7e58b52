//! Accounts: usernames, profile fields, roles, statuses and registration modes.
//!
//! Profiles are pseudonymous by default: a username and optionally a display
//! name and a short bio. An email address is optional and stays on the
//! instance.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Longest username, as on Mastodon, so handles fit on small screens.
pub const USERNAME_MAX: usize = 30;
pub const DISPLAY_NAME_MAX: usize = 100;
pub const BIO_MAX: usize = 1000;
pub const EMAIL_MAX: usize = 254;

/// Names that routes, well-known actors or people would mistake for the
/// server itself. Compared case-insensitively.
const RESERVED_USERNAMES: &[&str] = &[
    "admin_team",
    "api",
    "hearth",
    "inbox",
    "instance",
    "moderators",
    "outbox",
    "postmaster",
    "root",
    "support_team",
    "well_known",
    "webmaster",
];

/// A local account's handle: 1 to 30 ASCII letters, digits or underscores.
///
/// Unique without regard to case (`Ann` and `ann` are the same person); the
/// spelling chosen at sign-up is kept for display.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        parse_handle(raw, "username", "username").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and look-ups.
    pub fn canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shared rule for handles (usernames and group names): 1 to 30 ASCII
/// letters, digits or underscores, and not a reserved word. `what` is the
/// word used in messages ("username", "group name").
pub(crate) fn parse_handle(
    raw: &str,
    field: &'static str,
    what: &str,
) -> Result<String, ValidationError> {
    if raw.is_empty() {
        return Err(ValidationError::new(
            field,
            "required",
            format!("Choose a {what}"),
        ));
    }
    if raw.chars().count() > USERNAME_MAX {
        return Err(ValidationError::new(
            field,
            "too_long",
            format!("A {what} can be at most {USERNAME_MAX} characters"),
        ));
    }
    if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(ValidationError::new(
            field,
            "invalid_characters",
            format!("A {what} can only use letters a to z, numbers and underscores (_)"),
        ));
    }
    if RESERVED_USERNAMES.contains(&raw.to_ascii_lowercase().as_str()) {
        return Err(ValidationError::new(
            field,
            "reserved",
            format!("That {what} is kept for the server. Please choose another"),
        ));
    }
    Ok(raw.to_owned())
}

/// The lower-case form of any string, for looking up a username someone typed
/// without validating it first (a log-in form must not reveal the rules).
pub fn canonical_username(raw: &str) -> String {
    raw.to_ascii_lowercase()
}

pub(crate) fn trimmed_text(
    raw: &str,
    field: &'static str,
    max: usize,
    what: &str,
) -> Result<String, ValidationError> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(ValidationError::new(
            field,
            "too_long",
            format!("{what} can be at most {max} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ValidationError::new(
            field,
            "invalid_characters",
            format!("{what} contains characters that cannot be shown"),
        ));
    }
    Ok(text.to_owned())
}

/// The name shown beside posts. Optional: empty means "show the username".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let text = trimmed_text(raw, "display_name", DISPLAY_NAME_MAX, "A display name")?;
        if text.contains('\n') {
            return Err(ValidationError::new(
                "display_name",
                "invalid_characters",
                "A display name must fit on one line",
            ));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A short, optional, plain-text introduction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Bio(String);

impl Bio {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        trimmed_text(raw, "bio", BIO_MAX, "A bio").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional contact address, used only by this instance's admins. It is
/// never federated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// A deliberately light check: one `@`, something on each side, a dot in
    /// the domain, no spaces. Deliverability is not this crate's business.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let text = raw.trim();
        let invalid = || {
            ValidationError::new(
                "email",
                "invalid",
                "Enter an email address like name@example.org, or leave it empty",
            )
        };
        if text.len() > EMAIL_MAX || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = text.split_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(invalid());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[macro_export]
#[doc(hidden)]
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownValue {
                        got: other.to_owned(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}

/// A string that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value '{got}', expected one of: {}", expected.join(", "))]
pub struct UnknownValue {
    pub got: String,
    pub expected: &'static [&'static str],
}

string_enum! {
    /// What an account may do on this instance.
    Role {
        /// Joins groups, posts, replies.
        Member => "member",
        /// Keeps groups safe: handles reports and removals.
        Moderator => "moderator",
        /// Runs the instance: approves accounts, decides federation.
        Admin => "admin",
    }
}

string_enum! {
    /// Where an account stands.
    AccountStatus {
        /// Can log in.
        Active => "active",
        /// Signed up while registration needs approval; cannot log in yet.
        Pending => "pending",
        /// An admin declined the sign-up; cannot log in.
        Rejected => "rejected",
        /// Deleted, with everything in it: only the name stays, never
        /// given to anyone else.
        Deleted => "deleted",
    }
}

string_enum! {
    /// Who may create an account through the API.
    RegistrationMode {
        /// Anyone; the account is active at once.
        Open => "open",
        /// Anyone may ask; an admin approves before the account can log in.
        Approval => "approval",
        /// Nobody; admins create accounts with the CLI.
        Closed => "closed",
    }
}

impl Role {
    /// Whether this role includes everything `other` may do.
    pub fn at_least(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }

    fn rank(self) -> u8 {
        match self {
            Role::Member => 0,
            Role::Moderator => 1,
            Role::Admin => 2,
        }
    }
}

impl RegistrationMode {
    /// The status a new self-registered account gets, or `None` when
    /// self-registration is closed.
    pub fn initial_status(self) -> Option<AccountStatus> {
        match self {
            RegistrationMode::Open => Some(AccountStatus::Active),
            RegistrationMode::Approval => Some(AccountStatus::Pending),
            RegistrationMode::Closed => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_keep_spelling_but_compare_lowercase() {
        let name = Username::parse("Ann_1").unwrap();
        assert_eq!(name.as_str(), "Ann_1");
        assert_eq!(name.canonical(), "ann_1");
    }

    #[test]
    fn usernames_reject_what_would_break_urls_or_handles() {
        for (raw, code) in [
            ("", "required"),
            ("ann smith", "invalid_characters"),
            ("ann@b", "invalid_characters"),
            ("ann/..", "invalid_characters"),
            ("änn", "invalid_characters"),
            ("a-b", "invalid_characters"),
            ("INSTANCE", "reserved"),
            (&"a".repeat(31), "too_long"),
        ] {
            let err = Username::parse(raw).unwrap_err();
            assert_eq!((err.field, err.code), ("username", code), "for {raw:?}");
        }
        assert!(Username::parse(&"a".repeat(30)).is_ok());
    }

    #[test]
    fn display_name_is_trimmed_and_single_line() {
        assert_eq!(DisplayName::parse("  Ann  ").unwrap().as_str(), "Ann");
        assert_eq!(
            DisplayName::parse("a\nb").unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(
            DisplayName::parse(&"x".repeat(101)).unwrap_err().code,
            "too_long"
        );
    }

    #[test]
    fn bio_allows_lines_but_not_control_characters() {
        assert!(Bio::parse("line one\nline two").is_ok());
        assert_eq!(
            Bio::parse("bell\u{7}").unwrap_err().code,
            "invalid_characters"
        );
    }

    #[test]
    fn email_check_is_light_but_catches_typos() {
        assert!(Email::parse("ann@example.org").is_ok());
        for bad in [
            "ann",
            "ann@",
            "@example.org",
            "ann@example",
            "a b@example.org",
            "a@b@c.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn enums_round_trip_through_their_spelling() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), *role);
        }
        let err = "owner".parse::<Role>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown value 'owner', expected one of: member, moderator, admin"
        );
    }

    #[test]
    fn registration_mode_decides_initial_status() {
        assert_eq!(
            RegistrationMode::Open.initial_status(),
            Some(AccountStatus::Active)
        );
        assert_eq!(
            RegistrationMode::Approval.initial_status(),
            Some(AccountStatus::Pending)
        );
        assert_eq!(RegistrationMode::Closed.initial_status(), None);
        assert!(Role::Admin.at_least(Role::Moderator));
        assert!(!Role::Member.at_least(Role::Moderator));
    }
}
