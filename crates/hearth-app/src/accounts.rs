//! Account use-cases: register, log in and out, resolve a token, change a
//! profile or password, the admin's approve, reject and list, and the
//! first-run setup link that creates the first admin.
//!
//! A person's name is shared with groups: nobody may take a name a person
//! or a group here already has, in any letter case (`hearth_db::names`),
//! so WebFinger has one answer per name ([`App::actor_named`]).

use chrono::{DateTime, Duration, Utc};
use hearth_db::accounts::{self, Account, NewAccount, ProfileChange};
use hearth_db::groups::{self as db_groups, Group};
use hearth_db::names;
use hearth_db::setup;
pub use hearth_db::setup::LinkState as SetupLink;
use hearth_db::tokens::{self, Session};
use hearth_domain::password::{self, NewPassword};
use hearth_domain::token::{self, IssuedToken};
use hearth_domain::{
    AccountStatus, Bio, DisplayName, Email, RegistrationMode, Role, Username, ValidationError,
};

use crate::{App, AppError, blocking};

/// The longest reason a person may give when asking to join.
pub const REASON_MAX: usize = 1000;

/// How long a first-run setup link works. Each start of `hearth serve`
/// while there is no admin issues a new one.
pub const SETUP_LINK_LIFETIME: Duration = Duration::hours(24);

/// Who answers to a name on this server (WebFinger).
#[derive(Debug, Clone)]
pub enum NamedActor {
    Person(Account),
    Group(Group),
}

/// What someone types to sign up. Only username and password are required.
#[derive(Debug, Default, Clone)]
pub struct Registration {
    pub username: String,
    pub password: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub email: Option<String>,
    /// Why they want to join; shown to admins when approval is required.
    pub reason: Option<String>,
}

/// A successful log-in: the account and the token to present from now on.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub account: Account,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Profile fields to change; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    /// `Some("")` removes the address.
    pub email: Option<String>,
}

/// Validated sign-up fields, before the expensive work.
struct Checked {
    username: Username,
    password: NewPassword,
    display_name: DisplayName,
    bio: Bio,
    email: Option<Email>,
    reason: String,
}

/// Check every field and report all problems at once, so a form can show
/// each message next to its field.
fn check(input: Registration) -> Result<Checked, AppError> {
    let mut errors = Vec::new();
    let username = Username::parse(&input.username)
        .map_err(|e| errors.push(e))
        .ok();
    let password = NewPassword::parse(&input.password)
        .map_err(|e| errors.push(e))
        .ok();
    let display_name = DisplayName::parse(input.display_name.as_deref().unwrap_or(""))
        .map_err(|e| errors.push(e))
        .ok();
    let bio = Bio::parse(input.bio.as_deref().unwrap_or(""))
        .map_err(|e| errors.push(e))
        .ok();
    let email = match input.email.as_deref().map(str::trim) {
        None | Some("") => Some(None),
        Some(raw) => Email::parse(raw).map(Some).map_err(|e| errors.push(e)).ok(),
    };
    let reason = input.reason.unwrap_or_default().trim().to_owned();
    if reason.chars().count() > REASON_MAX {
        errors.push(ValidationError::new(
            "reason",
            "too_long",
            format!("Your reason can be at most {REASON_MAX} characters"),
        ));
    }
    match (username, password, display_name, bio, email) {
        (Some(username), Some(password), Some(display_name), Some(bio), Some(email))
            if errors.is_empty() =>
        {
            Ok(Checked {
                username,
                password,
                display_name,
                bio,
                email,
                reason,
            })
        }
        _ => Err(AppError::Invalid(errors)),
    }
}

/// Check a sign-up without creating anything (for forms that must show
/// every problem at once).
pub fn check_only(input: Registration) -> Result<(), AppError> {
    check(input).map(|_| ())
}

impl App {
    /// Self-registration through the API, following the registration mode.
    /// Returns the new account; in approval mode its status is `pending`.
    pub async fn register(&self, input: Registration) -> Result<Account, AppError> {
        let status = self
            .config
            .registration
            .mode
            .initial_status()
            .ok_or(AppError::RegistrationClosed)?;
        // The admin's question, when sign-ups wait for approval: the answer
        // is what the admin decides on, so it is required.
        let question = self.registration_question();
        if question.is_some() && input.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(AppError::invalid(ValidationError::new(
                "reason",
                "required",
                "Please answer the question: it helps us keep this space safe",
            )));
        }
        self.create_account(input, Role::Member, status).await
    }

    /// The question people answer when they ask for an account, if the
    /// admin set one and sign-ups wait for approval.
    pub fn registration_question(&self) -> Option<&str> {
        let question = self.config.registration.question.trim();
        (self.config.registration.mode == RegistrationMode::Approval && !question.is_empty())
            .then_some(question)
    }

    /// Create an account regardless of the registration mode (admin CLI).
    pub async fn create_account(
        &self,
        input: Registration,
        role: Role,
        status: AccountStatus,
    ) -> Result<Account, AppError> {
        let checked = check(input)?;
        let new = self.prepare_account(checked, role, status).await?;
        let account = accounts::insert(&self.db, new).await?;
        tracing::info!(account_id = account.id, username = %account.username, status = %account.status, "account created");
        Ok(account)
    }

    /// Hash the password and make the keys of a checked sign-up. A name a
    /// person or a group already has is refused first, before that work;
    /// the insert claims the name again in its own transaction, which
    /// decides races.
    async fn prepare_account(
        &self,
        checked: Checked,
        role: Role,
        status: AccountStatus,
    ) -> Result<NewAccount, AppError> {
        if names::is_taken(&self.db, checked.username.as_str()).await? {
            return Err(AppError::Conflict { field: "username" });
        }
        let password = checked.password;
        let (password_hash, keys) = blocking(move || {
            let hash = password
                .hash()
                .map_err(|e| AppError::Internal(e.to_string()))?;
            let keys = crate::keys::generate().map_err(|e| AppError::Internal(e.to_string()))?;
            Ok((hash, keys))
        })
        .await?;
        Ok(NewAccount {
            username: checked.username,
            display_name: checked.display_name,
            bio: checked.bio,
            email: checked.email,
            password_hash,
            role,
            status,
            registration_reason: checked.reason,
            public_key_pem: keys.public_pem,
            private_key_pem: keys.private_pem,
        })
    }

    /// At start-up: while no account is an admin, issue a new first-run
    /// setup link (replacing any earlier one) and return it; `None` once
    /// the server has an admin.
    pub async fn issue_setup_link(&self) -> Result<Option<url::Url>, AppError> {
        let issued = IssuedToken::generate();
        let link = self
            .urls
            .site()
            .join(&format!("/setup/{}", issued.secret))
            .map_err(|e| AppError::Internal(format!("setup link: {e}")))?;
        if setup::issue(&self.db, &issued.digest).await? {
            Ok(Some(link))
        } else {
            Ok(None)
        }
    }

    /// Whether a setup link may be used now.
    pub async fn setup_link(&self, secret: &str) -> Result<SetupLink, AppError> {
        let cutoff = Utc::now() - SETUP_LINK_LIFETIME;
        Ok(setup::check(&self.db, &token::digest(secret), cutoff).await?)
    }

    /// The first admin, created by whoever holds the setup link: an
    /// active admin account, logged in. The link is used up in the same
    /// transaction, so of two submissions exactly one succeeds. A link
    /// that is wrong, used, replaced or expired, or a server that already
    /// has an admin, is `NotFound { what: "setup link" }`; bad fields and a
    /// taken name leave the link usable.
    pub async fn first_admin(
        &self,
        secret: &str,
        username: &str,
        password: &str,
    ) -> Result<LoggedIn, AppError> {
        let digest = token::digest(secret);
        let cutoff = Utc::now() - SETUP_LINK_LIFETIME;
        // Refuse a dead link before the expensive work.
        if setup::check(&self.db, &digest, cutoff).await? != SetupLink::Valid {
            return Err(AppError::NotFound { what: "setup link" });
        }
        let checked = check(Registration {
            username: username.to_owned(),
            password: password.to_owned(),
            ..Default::default()
        })?;
        let new = self
            .prepare_account(checked, Role::Admin, AccountStatus::Active)
            .await?;
        let account = setup::create_first_admin(&self.db, &digest, cutoff, new)
            .await?
            .map_err(|_| AppError::NotFound { what: "setup link" })?;
        tracing::info!(account_id = account.id, username = %account.username, "first admin created with the setup link");
        self.start_session(account).await
    }

    /// Issue a bearer token for an account that just proved who it is.
    async fn start_session(&self, account: Account) -> Result<LoggedIn, AppError> {
        let issued = IssuedToken::generate();
        let expires_at =
            Utc::now() + Duration::days(i64::from(self.config.auth.token_lifetime_days));
        tokens::insert(&self.db, account.id, &issued.digest, expires_at).await?;
        tracing::info!(account_id = account.id, "logged in");
        Ok(LoggedIn {
            account,
            token: issued.secret,
            expires_at,
        })
    }

    /// Who answers to `name` (any case): an active person or a group here.
    ///
    /// Names are unique across people and groups, but a database from
    /// before that rule may hold both with one name: then only the one
    /// created first answers (the person on a tie, as the migration that
    /// added the rule decided), and a warning is logged.
    pub async fn actor_named(&self, name: &str) -> Result<NamedActor, AppError> {
        let person = accounts::find_by_username(&self.db, name)
            .await?
            .filter(|a| a.status == AccountStatus::Active);
        let group = db_groups::find_by_name(&self.db, name).await?;
        match (person, group) {
            (Some(person), None) => Ok(NamedActor::Person(person)),
            (None, Some(group)) => Ok(NamedActor::Group(group)),
            (None, None) => Err(AppError::NotFound {
                what: "account or group",
            }),
            (Some(person), Some(group)) => {
                let person_first = person.created_at <= group.created_at;
                tracing::warn!(
                    name = %person.username,
                    account_id = person.id,
                    group_id = group.id,
                    answers = if person_first { "person" } else { "group" },
                    "a person and a group share this name (stored before names were unique); WebFinger answers only the one created first"
                );
                Ok(if person_first {
                    NamedActor::Person(person)
                } else {
                    NamedActor::Group(group)
                })
            }
        }
    }

    /// Check a username and password and issue a bearer token.
    ///
    /// A wrong password and an unknown username give the same error and
    /// take the same time.
    pub async fn login(&self, username: &str, password: &str) -> Result<LoggedIn, AppError> {
        self.login_from(username, password, None).await
    }

    /// [`App::login`], from the address `ip`: kept (for the member to see,
    /// `App::my_sign_ins`) for `privacy.ip_retention_days`, then erased.
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<LoggedIn, AppError> {
        let found = accounts::find_credentials(&self.db, username).await?;
        let candidate = password.to_owned();
        let (found, matches) = blocking(move || {
            Ok(match found {
                Some(creds) => {
                    let ok = password::verify(&creds.password_hash, &candidate);
                    (Some(creds.account), ok)
                }
                None => {
                    password::verify_against_nothing(&candidate);
                    (None, false)
                }
            })
        })
        .await?;
        let account = match found {
            Some(account) if matches => account,
            _ => return Err(AppError::BadCredentials),
        };
        if account.status != AccountStatus::Active {
            return Err(AppError::AccountNotActive(account.status));
        }
        if let Some(ip) = ip
            && self.config.privacy.ip_retention_days > 0
        {
            hearth_db::sign_ins::record(&self.db, account.id, &ip.to_string()).await?;
        }
        self.start_session(account).await
    }

    /// The caller's recent sign-ins (where from, when), newest first: as
    /// many as are kept (`privacy.ip_retention_days`).
    pub async fn my_sign_ins(
        &self,
        session: &Session,
    ) -> Result<Vec<hearth_db::sign_ins::SignIn>, AppError> {
        Ok(hearth_db::sign_ins::of_user(&self.db, session.account.id, 50).await?)
    }

    /// The session a bearer token belongs to.
    pub async fn authenticate(&self, token: &str) -> Result<Session, AppError> {
        tokens::resolve(&self.db, token)
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    /// End the session (revoke the token used).
    pub async fn logout(&self, session: &Session) -> Result<(), AppError> {
        tokens::revoke(&self.db, session.token_id).await?;
        tracing::info!(account_id = session.account.id, "logged out");
        Ok(())
    }

    /// Change one's own profile.
    pub async fn update_profile(
        &self,
        session: &Session,
        update: ProfileUpdate,
    ) -> Result<Account, AppError> {
        let mut errors = Vec::new();
        let change = ProfileChange {
            display_name: update
                .display_name
                .map(|raw| DisplayName::parse(&raw))
                .transpose()
                .map_err(|e| errors.push(e))
                .ok()
                .flatten(),
            bio: update
                .bio
                .map(|raw| Bio::parse(&raw))
                .transpose()
                .map_err(|e| errors.push(e))
                .ok()
                .flatten(),
            email: match update.email.as_deref().map(str::trim) {
                None => None,
                Some("") => Some(None),
                Some(raw) => Email::parse(raw)
                    .map(|e| Some(Some(e)))
                    .map_err(|e| errors.push(e))
                    .ok()
                    .flatten(),
            },
        };
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        Ok(accounts::update_profile(&self.db, session.account.id, change).await?)
    }

    /// Change one's own password after proving the current one. Every
    /// session of the account ends, including this one.
    pub async fn change_password(
        &self,
        session: &Session,
        current: &str,
        new: &str,
    ) -> Result<(), AppError> {
        self.check_password(
            session,
            current,
            "current_password",
            "That is not your current password",
        )
        .await?;
        self.set_password(&session.account.username, new).await
    }

    /// Prove the logged-in member is at the keyboard: `candidate` must be
    /// their password, or the error names `field` with `message`.
    pub(crate) async fn check_password(
        &self,
        session: &Session,
        candidate: &str,
        field: &'static str,
        message: &'static str,
    ) -> Result<(), AppError> {
        let creds = accounts::find_credentials(&self.db, &session.account.username)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let candidate = candidate.to_owned();
        let ok = blocking(move || Ok(password::verify(&creds.password_hash, &candidate))).await?;
        if !ok {
            return Err(AppError::invalid(ValidationError::new(
                field, "wrong", message,
            )));
        }
        Ok(())
    }

    /// Set an account's password (admin CLI, or after the check above).
    pub async fn set_password(&self, username: &str, new: &str) -> Result<(), AppError> {
        let password = NewPassword::parse(new).map_err(AppError::invalid)?;
        let account = accounts::find_by_username(&self.db, username)
            .await?
            .ok_or(AppError::NotFound { what: "account" })?;
        let hash = blocking(move || {
            password
                .hash()
                .map_err(|e| AppError::Internal(e.to_string()))
        })
        .await?;
        accounts::set_password(&self.db, account.id, hash).await?;
        tracing::info!(account_id = account.id, "password changed; sessions ended");
        Ok(())
    }

    /// Admin: one page of accounts, optionally by status.
    pub async fn list_accounts(
        &self,
        status: Option<AccountStatus>,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Account>, AppError> {
        Ok(accounts::list(&self.db, status, after, limit).await?)
    }

    /// Admin: decide on a pending sign-up. `by` is the admin deciding,
    /// recorded in the log.
    pub async fn decide_registration(
        &self,
        by: &Account,
        account_id: i64,
        approve: bool,
    ) -> Result<Account, AppError> {
        let account = accounts::find_by_id(&self.db, account_id)
            .await?
            .ok_or(AppError::NotFound { what: "account" })?;
        if account.status != AccountStatus::Pending {
            return Err(AppError::invalid(ValidationError::new(
                "status",
                "not_pending",
                format!(
                    "This account is {}, not waiting for approval",
                    account.status
                ),
            )));
        }
        let status = if approve {
            AccountStatus::Active
        } else {
            AccountStatus::Rejected
        };
        let account = accounts::set_status(&self.db, account_id, status).await?;
        tracing::info!(account_id, status = %account.status, decided_by = by.id, "registration decided");
        Ok(account)
    }

    /// Find an account by username (ignoring case).
    pub async fn account_by_username(&self, username: &str) -> Result<Account, AppError> {
        accounts::find_by_username(&self.db, username)
            .await?
            .ok_or(AppError::NotFound { what: "account" })
    }

    /// Admin CLI: change an account's role.
    pub async fn set_role(&self, username: &str, role: Role) -> Result<Account, AppError> {
        let account = self.account_by_username(username).await?;
        Ok(accounts::set_role(&self.db, account.id, role).await?)
    }

    /// Counts for the instance page.
    pub async fn active_account_count(&self) -> Result<u64, AppError> {
        Ok(accounts::count(&self.db, Some(AccountStatus::Active)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_reports_every_bad_field_at_once() {
        let Err(AppError::Invalid(errors)) = check(Registration {
            username: "bad name".into(),
            password: "short".into(),
            email: Some("nope".into()),
            ..Default::default()
        }) else {
            panic!("expected invalid");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["username", "password", "email"]);
    }

    #[test]
    fn check_treats_empty_email_as_none() {
        let checked = check(Registration {
            username: "ann".into(),
            password: "long enough".into(),
            email: Some("  ".into()),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(checked.email.is_none());
    }
}
