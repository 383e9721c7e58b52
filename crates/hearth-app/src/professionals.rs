//! Verified professionals and speaking as one.
//!
//! ```text
//! admin / trusted moderator ─▶ verify_professional ─┐  verifications (history kept)
//!                            ─▶ revoke_professional ─┴▶ users.professional_role
//!                                                        │ same transaction
//!                                                        ▼
//!                              Update{Person} to every server holding the actor
//!                              (copies ∪ the member's groups' servers)
//!
//! another server ─▶ GET /verifications/{id} ─▶ verification_document (410 once revoked)
//! ```
//!
//! Who may verify: an admin, or a moderator the admin trusts for it
//! (`set_verifier`). Another server's claim is checked by the network
//! side against the server it names before it is stored
//! (`hearth_domain::professional`); a post is shown as a professional's
//! only while its author's verification holds, here or there.

use hearth_db::accounts::{self, Account};
use hearth_db::verifications::{self, Verification};
use hearth_domain::post::SpeakingAs;
use hearth_domain::professional::ProfessionalRole;
use hearth_domain::{AccountStatus, Role, ValidationError};

use crate::events::Event;
use crate::inbound::Outcome;
use crate::origin::{Origin, Via};
use crate::records::{FetchedActor, Post, Session};
use crate::{App, AppError};

/// What a verification's id answers to another server.
#[derive(Debug, Clone)]
pub enum VerificationDocument {
    /// In force: the member it is about, and the verification.
    Live {
        account: Box<Account>,
        verification: Verification,
    },
    /// Revoked (HTTP 410): nothing more is said.
    Revoked,
}

impl App {
    /// Whether `session` may verify professionals: an admin, or a
    /// moderator the admin trusts for it.
    pub fn may_verify(&self, session: &Session) -> bool {
        let account = &session.account;
        account.role == Role::Admin || (account.role == Role::Moderator && account.may_verify)
    }

    fn check_verifier(&self, session: &Session) -> Result<(), AppError> {
        if self.may_verify(session) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "Only admins, and moderators an admin trusts for it, can verify professionals.",
            ))
        }
    }

    async fn verifiable(&self, account_id: i64) -> Result<Account, AppError> {
        accounts::find_by_id(&self.db, account_id)
            .await?
            .filter(|a| a.status == AccountStatus::Active)
            .ok_or(AppError::NotFound { what: "account" })
    }

    /// Verify a member's professional role, after checking credentials
    /// outside Hearth. A role verified before is replaced (and kept in the
    /// history as revoked). Every server that holds the member's actor is
    /// sent it again.
    pub async fn verify_professional(
        &self,
        session: &Session,
        account_id: i64,
        role: &str,
    ) -> Result<Account, AppError> {
        self.check_verifier(session)?;
        let role = ProfessionalRole::parse(role).map_err(AppError::invalid)?;
        let account = self.verifiable(account_id).await?;
        let txn = hearth_db::begin_write(&self.db).await?;
        let verification =
            verifications::verify(&txn, account.id, role.as_str(), session.account.id).await?;
        let account = accounts::find_by_id(&txn, account.id)
            .await?
            .ok_or(AppError::NotFound { what: "account" })?;
        self.tell_holders(&txn, &account).await?;
        self.commit(txn).await?;
        tracing::info!(
            account_id = account.id,
            verification = verification.id,
            by = session.account.id,
            "professional role verified"
        );
        Ok(account)
    }

    /// Revoke a member's verification: the role is gone here at once, its
    /// id answers 410, and every server that holds the actor is sent it
    /// without the role.
    pub async fn revoke_professional(
        &self,
        session: &Session,
        account_id: i64,
    ) -> Result<Account, AppError> {
        self.check_verifier(session)?;
        let account = self.verifiable(account_id).await?;
        if account.verification_id().is_none() {
            return Err(AppError::NotFound {
                what: "verification",
            });
        }
        let txn = hearth_db::begin_write(&self.db).await?;
        verifications::revoke(&txn, account.id, session.account.id).await?;
        let account = accounts::find_by_id(&txn, account.id)
            .await?
            .ok_or(AppError::NotFound { what: "account" })?;
        self.tell_holders(&txn, &account).await?;
        self.commit(txn).await?;
        tracing::info!(
            account_id = account.id,
            by = session.account.id,
            "professional role revoked"
        );
        Ok(account)
    }

    /// Admin: trust (or stop trusting) a moderator to verify
    /// professionals. Only a moderator can be trusted; admins always may.
    pub async fn set_verifier(
        &self,
        session: &Session,
        account_id: i64,
        trusted: bool,
    ) -> Result<Account, AppError> {
        if session.account.role != Role::Admin {
            return Err(AppError::Forbidden(
                "Only admins can choose who verifies professionals.",
            ));
        }
        let account = self.verifiable(account_id).await?;
        if trusted && account.role != Role::Moderator {
            return Err(AppError::invalid(ValidationError::new(
                "role",
                "not_moderator",
                "Only a moderator can be trusted to verify professionals (admins always can)",
            )));
        }
        let account = verifications::set_may_verify(&self.db, account.id, trusted).await?;
        tracing::info!(
            account_id = account.id,
            trusted,
            by = session.account.id,
            "verifier trust changed"
        );
        Ok(account)
    }

    /// The professionals verified here now, and the moderators trusted to
    /// verify (for those who may verify).
    pub async fn professionals(
        &self,
        session: &Session,
    ) -> Result<(Vec<Account>, Vec<Account>), AppError> {
        self.check_verifier(session)?;
        Ok((
            verifications::professionals(&self.db).await?,
            verifications::verifiers(&self.db).await?,
        ))
    }

    /// A member's verifications, newest first (for those who may verify).
    pub async fn verification_history(
        &self,
        session: &Session,
        account_id: i64,
    ) -> Result<Vec<Verification>, AppError> {
        self.check_verifier(session)?;
        Ok(verifications::history(&self.db, account_id).await?)
    }

    /// What the verification `id` answers to anyone who checks it: the
    /// role and the member while it holds, gone once revoked. Public by
    /// design: the role is shown beside the member's name everywhere.
    pub async fn verification_document(&self, id: i64) -> Result<VerificationDocument, AppError> {
        let not_found = AppError::NotFound {
            what: "verification",
        };
        let verification = verifications::find(&self.db, id).await?.ok_or(not_found)?;
        if !verification.is_live() {
            return Ok(VerificationDocument::Revoked);
        }
        let account = accounts::find_by_id(&self.db, verification.user_id)
            .await?
            .filter(|a| a.status == AccountStatus::Active && a.verification_id() == Some(id));
        Ok(match account {
            Some(account) => VerificationDocument::Live {
                account: Box::new(account),
                verification,
            },
            None => VerificationDocument::Revoked,
        })
    }

    /// `Update{Person}` to every server that holds the member's actor:
    /// those recorded as holding anything of theirs, and the servers of
    /// their groups (the groups elsewhere they joined, and the member
    /// servers of their groups here).
    async fn tell_holders(
        &self,
        txn: &hearth_db::DatabaseTransaction,
        account: &Account,
    ) -> Result<(), AppError> {
        let actor = self.urls().user(&account.username).to_string();
        let mut inboxes: std::collections::BTreeMap<String, String> = Default::default();
        for holder in hearth_db::erasures::holders(txn, &actor, None).await? {
            inboxes.entry(holder.authority).or_insert(holder.inbox);
        }
        for (group, _) in hearth_db::remote::memberships_of_user(txn, account.id).await? {
            let inbox = group.shared_inbox.clone().unwrap_or(group.inbox.clone());
            inboxes
                .entry(group.authority.to_ascii_lowercase())
                .or_insert(inbox);
        }
        for (group, _) in hearth_db::groups::memberships_of_user(txn, account.id).await? {
            for server in self.member_servers(txn, group.id, false).await? {
                inboxes.entry(server.authority).or_insert(server.inbox);
            }
        }
        if inboxes.is_empty() {
            return Ok(());
        }
        self.emit(
            txn,
            Event::ActorUpdated {
                id: self.urls().new_activity().to_string(),
                account: account.clone(),
                inboxes: inboxes.into_values().collect(),
            },
        )
        .await
    }

    /// Another server's person changed their actor document (`Update`
    /// of it, signed by them; fetched again from their server, and their
    /// professional claim checked, before this is called): it replaces
    /// what is stored, so a revoked role is gone here too.
    pub async fn receive_person_update(
        &self,
        origin: &Origin,
        fetched: FetchedActor,
    ) -> Result<Outcome, AppError> {
        let Some(remote) = origin.remote() else {
            return Err(AppError::Refused(
                "a person here is not updated from outside".into(),
            ));
        };
        if !matches!(remote.via, Via::Signed(_)) || remote.actor != fetched.ap_id {
            return Err(AppError::Refused(format!(
                "{} may not update {}: a person's document is theirs alone",
                remote.actor, fetched.ap_id
            )));
        }
        if self.urls().is_local_id(&fetched.ap_id) {
            return Err(AppError::Refused(format!(
                "{} is an actor of this server",
                fetched.ap_id
            )));
        }
        let Some(txn) = self.begin(origin).await? else {
            return Ok(Outcome::Duplicate);
        };
        let actor = hearth_db::remote::upsert_actor(&txn, fetched).await?;
        self.commit(txn).await?;
        self.actors.put(&actor.ap_id, actor.clone());
        tracing::info!(actor = %actor.ap_id, professional = ?actor.professional(), "person updated");
        Ok(Outcome::Applied)
    }

    /// The voice `chosen` for a post (`None`: keep `current`'s, or a
    /// peer's for a new post), with the disclaimer it carries. Only a
    /// member here whose verification holds may choose a professional's.
    pub(crate) fn speaking(
        &self,
        origin: &Origin,
        chosen: Option<&str>,
        current: Option<&Post>,
    ) -> Result<(SpeakingAs, Option<String>), ValidationError> {
        let speaking_as = match (chosen, current) {
            (None, Some(post)) => return Ok((post.speaking_as, post.disclaimer.clone())),
            (None, None) => SpeakingAs::Peer,
            (Some(raw), _) => SpeakingAs::parse(raw)?,
        };
        match speaking_as {
            SpeakingAs::Peer => Ok((SpeakingAs::Peer, None)),
            SpeakingAs::Professional => match origin {
                Origin::Local(account) if account.professional_role().is_some() => Ok((
                    SpeakingAs::Professional,
                    Some(self.config.trust.professional_disclaimer.trim().to_owned()),
                )),
                _ => Err(ValidationError::new(
                    "speaking_as",
                    "not_verified",
                    "Only a verified professional can post as a professional. Post as a peer, \
                     or ask an admin to verify your role.",
                )),
            },
        }
    }

    /// [`App::speaking`], applied to `content`.
    pub(crate) fn speak(
        &self,
        origin: &Origin,
        chosen: Option<&str>,
        current: Option<&Post>,
        content: &mut hearth_domain::content::Content,
    ) -> Result<(), AppError> {
        let (speaking_as, disclaimer) = self
            .speaking(origin, chosen, current)
            .map_err(AppError::invalid)?;
        content.speaking_as = speaking_as;
        content.disclaimer = disclaimer;
        Ok(())
    }
}
