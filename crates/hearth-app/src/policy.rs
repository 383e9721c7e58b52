//! The instance's federation policy: which servers this one talks to.
//!
//! The mode comes from the configuration (`federation.mode`), the domain
//! rules from the database, and what they mean from
//! [`hearth_domain::federation_policy`]. Every door asks
//! [`App::server_standing`]: the inbox before it fetches or verifies
//! anything, signed fetches before they read, the delivery workers before
//! they send, and every fetch from another server. One answer, one place.
//!
//! The rules are read at most every [`RULES_FRESH_FOR`] per process (a
//! change made here applies at once; one made by another process sharing
//! the database within that time). They are the admin's own and those of
//! the published lists the admin subscribes to (`crate::subscriptions`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hearth_db::domain_rules;
pub use hearth_db::domain_rules::{CutOff, StoredRule};
use hearth_domain::federation_policy::{
    self, DomainRule, FederationMode, RuleAction, Standing, normalise_domain,
};
use hearth_domain::moderation::ModAction;
use hearth_domain::{Role, ValidationError};

use crate::subscriptions::{MASTODON_COLUMNS, read_domain_list};
use crate::{Account, App, AppError};

/// How long one process keeps the rules it read.
pub const RULES_FRESH_FOR: Duration = Duration::from_secs(5);

/// Longest reason kept, in characters.
pub(crate) const MAX_REASON: usize = 1000;

/// The federation policy is the admins' to change: `by` is the account
/// asking (`None`: the server's shell, where whoever runs the command
/// already holds the database).
pub(crate) fn admin_only(by: Option<&Account>) -> Result<(), AppError> {
    match by {
        Some(account) if account.role != Role::Admin => Err(AppError::Forbidden(
            "only admins change the federation policy",
        )),
        _ => Ok(()),
    }
}

/// The rules as last read, shared by the clones of one [`App`].
#[derive(Debug, Default)]
pub(crate) struct RulesCache {
    rules: Mutex<Option<(Arc<Vec<DomainRule>>, Instant)>>,
}

impl RulesCache {
    fn fresh(&self) -> Option<Arc<Vec<DomainRule>>> {
        self.lock()
            .as_ref()
            .filter(|(_, read)| read.elapsed() < RULES_FRESH_FOR)
            .map(|(rules, _)| rules.clone())
    }

    fn put(&self, rules: Vec<DomainRule>) -> Arc<Vec<DomainRule>> {
        let rules = Arc::new(rules);
        *self.lock() = Some((rules.clone(), Instant::now()));
        rules
    }

    pub(crate) fn forget(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Arc<Vec<DomainRule>>, Instant)>> {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A rule as an admin asks for it (CLI, API).
#[derive(Debug, Clone, Default)]
pub struct RuleRequest {
    pub domain: String,
    /// `suspend`, `limit` or `allow`.
    pub action: String,
    pub public_reason: String,
    pub private_reason: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What setting a rule did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    pub rule: DomainRule,
    /// What was cut off at once (suspensions; and servers no longer
    /// allowed in `allowlist` mode).
    pub cut_off: CutOff,
}

impl RuleRequest {
    /// The rule this request asks for, or why it cannot be set (each
    /// error names its field).
    fn into_rule(self) -> Result<DomainRule, AppError> {
        let domain = normalise_domain(&self.domain).map_err(AppError::invalid)?;
        let action = RuleAction::parse(&self.action).map_err(AppError::invalid)?;
        let reason = |field: &'static str, text: &str| {
            let text = text.trim();
            if text.chars().count() > MAX_REASON {
                Err(AppError::invalid(ValidationError::new(
                    field,
                    "too_long",
                    format!("at most {MAX_REASON} characters"),
                )))
            } else {
                Ok(text.to_owned())
            }
        };
        let public_reason = reason("public_reason", &self.public_reason)?;
        let private_reason = reason("private_reason", &self.private_reason)?;
        if self.expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(AppError::invalid(ValidationError::new(
                "expires_at",
                "in_the_past",
                "must be in the future",
            )));
        }
        Ok(DomainRule {
            domain,
            action,
            public_reason,
            private_reason,
            expires_at: self.expires_at,
            subscription: None,
        })
    }
}

impl App {
    /// The federation mode in force.
    pub fn federation_mode(&self) -> FederationMode {
        // Validated when the configuration was loaded.
        FederationMode::parse(&self.config.federation.mode).unwrap_or_default()
    }

    /// Where the server at `authority` (`host` or `host:port`) stands with
    /// this one.
    pub async fn server_standing(&self, authority: &str) -> Result<Standing, AppError> {
        self.standing_in(&self.db, authority).await
    }

    /// [`App::server_standing`], reading the rules (when they are due) on
    /// `db`: a command's transaction, when there is one (a second
    /// connection while holding one can starve the pool).
    pub(crate) async fn standing_in(
        &self,
        db: &impl hearth_db::ConnectionTrait,
        authority: &str,
    ) -> Result<Standing, AppError> {
        let rules = self.current_rules(db).await?;
        Ok(federation_policy::standing(
            self.federation_mode(),
            &rules,
            authority,
            Utc::now(),
        ))
    }

    /// [`App::server_standing`] as an error for a door that must refuse
    /// a server it may not talk to.
    pub async fn check_server(&self, authority: &str) -> Result<(), AppError> {
        match self.server_standing(authority).await? {
            Standing::Allowed | Standing::Limited { .. } => Ok(()),
            Standing::Suspended { domain } => Err(AppError::Refused(format!(
                "{authority} is suspended by this server's policy (rule for {domain})"
            ))),
            Standing::NotAllowed => Err(AppError::Refused(format!(
                "{authority} is not among the servers this server federates with"
            ))),
        }
    }

    async fn current_rules(
        &self,
        db: &impl hearth_db::ConnectionTrait,
    ) -> Result<Arc<Vec<DomainRule>>, AppError> {
        if let Some(rules) = self.rules.fresh() {
            return Ok(rules);
        }
        let rules = domain_rules::all(db)
            .await?
            .into_iter()
            .map(|stored| stored.rule)
            .collect();
        Ok(self.rules.put(rules))
    }

    /// Admin: every domain rule, with who set it and when.
    pub async fn domain_rules(&self) -> Result<Vec<StoredRule>, AppError> {
        Ok(domain_rules::all(&self.db).await?)
    }

    /// Admin: set the admin's own rule for a domain (replacing one there
    /// was). A suspension (or, in `allowlist` mode, any change) cuts off at
    /// once the servers that may no longer federate: their waiting
    /// deliveries are given up and their memberships here ended.
    /// `by`: the admin, `None` from the server's shell.
    pub async fn set_domain_rule(
        &self,
        by: Option<&Account>,
        request: RuleRequest,
    ) -> Result<RuleSet, AppError> {
        admin_only(by)?;
        self.store_rule(by, request.into_rule()?).await
    }

    /// Store a checked rule and cut off what it refuses.
    async fn store_rule(
        &self,
        by: Option<&Account>,
        rule: DomainRule,
    ) -> Result<RuleSet, AppError> {
        let txn = hearth_db::begin_write(&self.db).await?;
        domain_rules::set(&txn, &rule, by.map(|a| a.id)).await?;
        let cut_off = self.cut_off_refused(&txn).await?;
        let reason = format!("{}: {}", rule.action.as_str(), rule.public_reason);
        self.log_policy(
            &txn,
            by,
            ModAction::SetDomainRule,
            &rule.domain,
            &reason,
            rule.expires_at,
        )
        .await?;
        txn.commit().await?;
        self.rules.forget();
        tracing::info!(
            domain = %rule.domain,
            action = rule.action.as_str(),
            by = by.map(|a| a.id),
            ?cut_off,
            "domain rule set"
        );
        Ok(RuleSet { rule, cut_off })
    }

    /// Admin: remove the admin's own rule for `domain`.
    pub async fn remove_domain_rule(
        &self,
        by: Option<&Account>,
        domain: &str,
    ) -> Result<CutOff, AppError> {
        admin_only(by)?;
        let domain = normalise_domain(domain).map_err(AppError::invalid)?;
        let txn = hearth_db::begin_write(&self.db).await?;
        if !domain_rules::remove_own(&txn, &domain).await? {
            return Err(AppError::NotFound {
                what: "domain rule",
            });
        }
        // Removing an allow in allowlist mode cuts that server off.
        let cut_off = self.cut_off_refused(&txn).await?;
        self.log_policy(&txn, by, ModAction::RemoveDomainRule, &domain, "", None)
            .await?;
        txn.commit().await?;
        self.rules.forget();
        tracing::info!(%domain, by = by.map(|a| a.id), ?cut_off, "domain rule removed");
        Ok(cut_off)
    }

    /// Record an admin's change of the federation policy in the
    /// moderation log (the server's own actor for the shell).
    async fn log_policy(
        &self,
        txn: &hearth_db::WriteTxn,
        by: Option<&Account>,
        action: ModAction,
        domain: &str,
        reason: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), AppError> {
        let actor = match by {
            Some(account) => self.urls().user(&account.username).to_string(),
            None => self.urls().site().to_string(),
        };
        hearth_db::moderation::log(
            &**txn,
            hearth_db::moderation::NewLogEntry {
                group_ap_id: None,
                actor_ap_id: &actor,
                action,
                target_ap_id: domain,
                reason,
                expires_at,
            },
        )
        .await?;
        Ok(())
    }

    /// Cut off every known server the rules (as they stand in `txn`) no
    /// longer let this one talk to.
    pub(crate) async fn cut_off_refused(
        &self,
        txn: &hearth_db::WriteTxn,
    ) -> Result<CutOff, AppError> {
        let rules: Vec<DomainRule> = domain_rules::all(txn)
            .await?
            .into_iter()
            .map(|stored| stored.rule)
            .collect();
        let now = Utc::now();
        let mode = self.federation_mode();
        let known = domain_rules::known_authorities(txn).await?;
        let refused: Vec<String> = known
            .iter()
            .filter(|a| !federation_policy::standing(mode, &rules, a, now).may_federate())
            .cloned()
            .collect();
        // What people on a suspended server wrote is hidden while the
        // suspension holds (not for a server merely not on an allowlist:
        // that says nothing about what it wrote), and shown again after.
        let suspended: Vec<String> = known
            .iter()
            .filter(|a| {
                matches!(
                    federation_policy::standing(mode, &rules, a, now),
                    Standing::Suspended { .. }
                )
            })
            .cloned()
            .collect();
        let (hidden, shown) =
            domain_rules::mark_content_of(txn, domain_rules::Mark::Hidden, &suspended).await?;
        // What people on a limited server wrote is for the members of its
        // group only, while the limit holds.
        let limited: Vec<String> = known
            .into_iter()
            .filter(|a| {
                matches!(
                    federation_policy::standing(mode, &rules, a, now),
                    Standing::Limited { .. }
                )
            })
            .collect();
        domain_rules::mark_content_of(txn, domain_rules::Mark::Limited, &limited).await?;
        if hidden + shown > 0 {
            tracing::info!(
                hidden,
                shown,
                "posts hidden or shown again by the federation policy"
            );
        }
        let cut_off =
            domain_rules::cut_off(txn, &refused, "cut off by this server's federation policy")
                .await?;
        // Erasures held for a server let in again go to it now.
        let woken = hearth_db::queue::wake_held(txn, &refused).await?;
        if woken > 0 {
            tracing::info!(
                woken,
                "erasures held by the federation policy are sent again"
            );
        }
        Ok(cut_off)
    }
}

/// What importing a list of domain blocks did, line by line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Domains whose rule was set (or would be, in a dry run).
    pub set: Vec<String>,
    /// `(line, domain, why)` for each line left out.
    pub skipped: Vec<(u64, String, String)>,
    /// What was cut off at once, in all.
    pub cut_off: CutOff,
}

impl App {
    /// Admin: import domain blocks from a CSV in Mastodon's export format
    /// (`#domain,#severity,…,#public_comment,…`; a file of bare domains, one
    /// per line, and the JSON array of Mastodon's
    /// `/api/v1/instance/domain_blocks` work too: see
    /// [`crate::subscriptions::read_domain_list`]). Each entry becomes the
    /// admin's own rule: `suspend` stays `suspend`, `silence` becomes a
    /// limit; `noop` is left out and reported, as are lines that do not
    /// read.
    /// With `dry_run`, nothing is stored and the report says what would be.
    pub async fn import_domain_blocks(
        &self,
        by: Option<&Account>,
        text: &str,
        dry_run: bool,
    ) -> Result<ImportReport, AppError> {
        admin_only(by)?;
        let read = read_domain_list(text)
            .map_err(|why| AppError::invalid(ValidationError::new("file", "not_a_list", why)))?;
        let mut report = ImportReport::default();
        for (line, why) in read.unreadable {
            report.skipped.push((line, String::new(), why));
        }
        for entry in read.entries {
            let line = entry.line;
            let severity = match entry.severity.as_str() {
                "" | "suspend" => "suspend",
                // Mastodon's `silence` is Hearth's limit.
                "silence" | "limit" => "limit",
                "noop" => {
                    report
                        .skipped
                        .push((line, entry.domain, "noop asks for nothing".into()));
                    continue;
                }
                other => {
                    let why = format!("unknown severity {other}");
                    report.skipped.push((line, entry.domain, why));
                    continue;
                }
            };
            let request = RuleRequest {
                domain: entry.domain.clone(),
                action: severity.to_owned(),
                public_reason: entry.public_comment,
                ..RuleRequest::default()
            };
            // A dry run checks each line exactly as the import would.
            let done = match request.into_rule() {
                Ok(rule) if dry_run => Ok(rule.domain),
                Ok(rule) => self.store_rule(by, rule).await.map(|set| {
                    report.cut_off.deliveries += set.cut_off.deliveries;
                    report.cut_off.members += set.cut_off.members;
                    report.cut_off.memberships += set.cut_off.memberships;
                    set.rule.domain
                }),
                Err(err) => Err(err),
            };
            match done {
                Ok(domain) => report.set.push(domain),
                Err(AppError::Invalid(errors)) => report.skipped.push((
                    line,
                    entry.domain,
                    errors
                        .iter()
                        .map(|e| e.message.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                )),
                Err(err) => return Err(err),
            }
        }
        report.skipped.sort_by_key(|(line, _, _)| *line);
        Ok(report)
    }

    /// Admin: the domain blocks as a CSV in Mastodon's export format (which
    /// Mastodon, GoToSocial and Hearth import). Only suspensions and limits
    /// are blocks; allows are not listed. Each domain appears once, with
    /// the rule that decides at it: the admin's own, or else the strictest
    /// from a subscribed list (so a list's block the admin overrode with an
    /// allow is not passed on).
    pub async fn export_domain_blocks(&self) -> Result<String, AppError> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let internal = |e: csv::Error| AppError::Internal(format!("writing the CSV: {e}"));
        writer.write_record(MASTODON_COLUMNS).map_err(internal)?;
        let now = Utc::now();
        let rules: Vec<DomainRule> = domain_rules::all(&self.db)
            .await?
            .into_iter()
            .map(|stored| stored.rule)
            .filter(|r| r.expires_at.is_none_or(|at| at > now))
            .collect();
        // `all` sorts by domain: one group per domain.
        for same_domain in rules.chunk_by(|a, b| a.domain == b.domain) {
            let strictness = |r: &&DomainRule| match r.action {
                RuleAction::Suspend => 2,
                RuleAction::Limit => 1,
                RuleAction::Allow => 0,
            };
            let Some(r) = same_domain
                .iter()
                .find(|r| r.subscription.is_none())
                .or_else(|| same_domain.iter().max_by_key(strictness))
            else {
                continue;
            };
            let severity = match r.action {
                RuleAction::Suspend => "suspend",
                RuleAction::Limit => "silence",
                RuleAction::Allow => continue,
            };
            writer
                .write_record([
                    r.domain.as_str(),
                    severity,
                    "false",
                    "false",
                    r.public_reason.as_str(),
                    "false",
                ])
                .map_err(internal)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| AppError::Internal(format!("writing the CSV: {e}")))?;
        String::from_utf8(bytes).map_err(|e| AppError::Internal(e.to_string()))
    }
}
