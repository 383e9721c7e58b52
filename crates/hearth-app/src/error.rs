//! The error every use-case returns.

use hearth_domain::{AccountStatus, ValidationError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// Input broke one or more rules; each names its field.
    #[error("invalid input: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<ValidationError>),
    /// A unique value (such as a username) is already taken.
    #[error("{field} is already taken")]
    Conflict { field: &'static str },
    /// No valid credentials were presented.
    #[error("not logged in")]
    Unauthenticated,
    /// Username or password did not match. Deliberately does not say which.
    #[error("wrong username or password")]
    BadCredentials,
    /// The account exists but cannot log in in this status.
    #[error("account is {0}")]
    AccountNotActive(AccountStatus),
    /// Registration is closed on this instance.
    #[error("registration is closed")]
    RegistrationClosed,
    /// Logged in, but not allowed to do this.
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    /// Posting, replying or reacting in a group one has not joined.
    #[error("not a member of the group")]
    NotMember,
    /// Another server asked for something its actor may not do (speak for
    /// someone else, change another group's post …).
    #[error("refused: {0}")]
    Refused(String),
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// Over a rate limit; try again after so many seconds.
    #[error("too many requests; retry after {retry_after} s")]
    TooMany { retry_after: u64 },
    /// Another server could not be reached, or refused.
    #[error("other server: {0}")]
    Remote(String),
    /// Something on our side failed; details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(err: ValidationError) -> Self {
        AppError::Invalid(vec![err])
    }
}

impl From<hearth_db::DbError> for AppError {
    fn from(err: hearth_db::DbError) -> Self {
        match err {
            hearth_db::DbError::Conflict { field } => AppError::Conflict { field },
            hearth_db::DbError::NotFound { what } => AppError::NotFound { what },
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<crate::port::PortError> for AppError {
    fn from(err: crate::port::PortError) -> Self {
        use crate::port::PortError as P;
        match err {
            P::NotFound(what) => AppError::NotFound { what },
            P::Refused(why) => AppError::invalid(ValidationError::new("handle", "refused", why)),
            P::Unreachable(why) => AppError::Remote(why),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<hearth_db::DbErr> for AppError {
    fn from(err: hearth_db::DbErr) -> Self {
        AppError::Internal(err.to_string())
    }
}
