//! Help for a person in crisis.
//!
//! Every post and reply that lands in a group here goes through the write
//! core ([`App::write`]), whoever wrote it and by whichever door: a member
//! here, another server's `Create`, a group elsewhere relaying it. There,
//! [`App::notice_crisis`] looks for the instance's crisis phrases
//! (`hearth_domain::crisis`). A match never stops the post. It becomes a
//! report of the category "possible crisis", made by Hearth itself (no
//! reporter, never sent to another server), which the moderators' queue
//! shows first; the group's moderators get a notification of its own kind,
//! and the admin's webhook, if any, is told after the transaction commits.
//!
//! The author sees the helplines at once: [`App::crisis_support`] answers
//! for the author of a post whose words match, with the resources for the
//! words' language. A moderator may also send them privately
//! ([`App::send_crisis_support`]), as a notification to a member here.

use chrono::{DateTime, Utc};
use hearth_db::DatabaseTransaction;
use hearth_db::moderation::{self as store, NewReport, Report};
use hearth_db::posts::Post;
use hearth_db::tokens::Session;
use hearth_domain::crisis::{CrisisMatch, CrisisResource, resources_for};
use hearth_domain::moderation::ReportCategory;
use hearth_domain::notification::NotificationKind;
use hearth_domain::text::html_to_plain;
use serde::Serialize;

use crate::ids::LocalRef;
use crate::origin::Origin;
use crate::{App, AppError};

/// Attempts at telling the webhook, the waits between them doubling from
/// one second.
const WEBHOOK_ATTEMPTS: u32 = 5;

/// What the author of a post whose words may mean a crisis is shown.
#[derive(Debug, Clone, Serialize)]
pub struct CrisisSupport {
    /// The language of the words that matched (a phrase list's code).
    pub language: String,
    pub resources: Vec<CrisisResource>,
}

/// What the webhook is told: where to look, never what was written.
#[derive(Debug, Clone, Serialize)]
struct WebhookEvent<'a> {
    event: &'static str,
    report: i64,
    /// The group's id (its ActivityPub address).
    group: &'a str,
    /// The page of the post on this server, for someone who may read it.
    post: String,
    at: DateTime<Utc>,
}

impl App {
    /// The crisis phrase in `post`'s title, content warning or words, if
    /// any (and if checking is on).
    pub fn crisis_words(&self, post: &Post) -> Option<CrisisMatch> {
        if self.crisis.languages().is_empty() {
            return None;
        }
        let body = html_to_plain(&post.content_html);
        self.crisis.find(
            [
                post.title.as_str(),
                post.content_warning.as_deref().unwrap_or(""),
                body.as_str(),
            ]
            .into_iter()
            .filter(|t| !t.is_empty()),
        )
    }

    /// In the transaction that stores `post`, a post in a group here: when
    /// its words may mean a crisis, a "possible crisis" report and a
    /// notification to each of the group's moderators. The report, for
    /// [`App::tell_crisis_webhook`] once the transaction is committed.
    pub(crate) async fn notice_crisis(
        &self,
        txn: &DatabaseTransaction,
        post: &Post,
    ) -> Result<Option<Report>, AppError> {
        let Some(found) = self.crisis_words(post) else {
            return Ok(None);
        };
        let comment = format!(
            "Hearth noticed the words \u{201c}{}\u{201d} (phrase list: {}). This may not be a \
             crisis; please check on them.",
            found.phrase, found.language
        );
        let Some(report) = store::insert_report(
            txn,
            NewReport {
                reporter_user_id: None,
                flagged_by: None,
                flag_ap_id: None,
                post_ap_id: Some(&post.ap_id),
                account_ap_id: &post.author_ap_id,
                group_ap_id: Some(&post.group_ap_id),
                category: ReportCategory::PossibleCrisis,
                comment: &comment,
            },
        )
        .await?
        else {
            return Ok(None);
        };
        self.tell_moderators(txn, &report).await?;
        tracing::warn!(
            post = %post.ap_id,
            report = report.id,
            language = %found.language,
            "possible crisis: the moderators are told"
        );
        Ok(Some(report))
    }

    /// Tell the admin's webhook about a "possible crisis" report, in the
    /// background, retrying a few times. Never the post's words.
    pub(crate) fn tell_crisis_webhook(&self, post: &Post, report: &Report) {
        let url = self.config.crisis.webhook_url.clone();
        if url.is_empty() {
            return;
        }
        let Some(port) = self.federation.get().cloned() else {
            tracing::warn!("crisis webhook not told: federation is not set up in this process");
            return;
        };
        let event = WebhookEvent {
            event: "possible_crisis",
            report: report.id,
            group: &post.group_ap_id,
            post: self
                .urls()
                .page(&format!("/posts/{}", post.thread_id()))
                .to_string()
                + &format!("#post-{}", post.id),
            at: report.created_at,
        };
        let body = match serde_json::to_string(&event) {
            Ok(body) => body,
            Err(err) => {
                tracing::error!(error = %err, "crisis webhook event not written");
                return;
            }
        };
        let report = report.id;
        tokio::spawn(async move {
            let mut wait = std::time::Duration::from_secs(1);
            for attempt in 1..=WEBHOOK_ATTEMPTS {
                match port.post_webhook(&url, body.clone()).await {
                    Ok(()) => {
                        tracing::info!(report, "crisis webhook told");
                        return;
                    }
                    Err(err) => {
                        tracing::warn!(report, attempt, error = %err, "crisis webhook failed");
                    }
                }
                if attempt < WEBHOOK_ATTEMPTS {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
            tracing::error!(report, "crisis webhook not told: every attempt failed");
        });
    }

    /// The helplines for someone whose words were in `language`.
    pub fn crisis_resources(&self, language: Option<&str>) -> Vec<CrisisResource> {
        resources_for(
            &self.config.crisis.resources,
            language,
            &self.config.crisis.country,
        )
        .into_iter()
        .cloned()
        .collect()
    }

    /// What `viewer` is shown beside `post`: the helplines, when they
    /// wrote it and its words may mean a crisis. Nobody else is told.
    pub fn crisis_support(&self, viewer: Option<&Session>, post: &Post) -> Option<CrisisSupport> {
        let viewer = viewer?;
        if post.author_user_id != Some(viewer.account.id) || post.is_deleted() {
            return None;
        }
        let found = self.crisis_words(post)?;
        Some(CrisisSupport {
            resources: self.crisis_resources(Some(&found.language)),
            language: found.language,
        })
    }

    /// A moderator (or admin) handling a report sends its post's author
    /// the helplines privately: a notification only they see. Only for a
    /// member of this server: Hearth cannot write privately to someone
    /// elsewhere (their own server's moderators can; report the post).
    pub async fn send_crisis_support(
        &self,
        session: &Session,
        report: i64,
    ) -> Result<(), AppError> {
        let report = store::find_report(&self.db, report)
            .await?
            .ok_or(AppError::NotFound { what: "report" })?;
        if !self.handles(session, &report).await? {
            return Err(AppError::NotFound { what: "report" });
        }
        let Some(LocalRef::User(name)) = self.urls().parse_local_id(&report.account_ap_id) else {
            return Err(AppError::Refused(
                "This person has an account on another server, so Hearth cannot send them a \
                 private message. Report the post to their server's moderators instead."
                    .into(),
            ));
        };
        let account = hearth_db::accounts::find_by_username(&self.db, &name)
            .await?
            .ok_or(AppError::NotFound { what: "account" })?;
        let post = match &report.post_ap_id {
            Some(id) => hearth_db::posts::find_by_ap_id(&self.db, id).await?,
            None => None,
        };
        let language = post
            .as_ref()
            .and_then(|p| self.crisis_words(p))
            .map(|m| m.language)
            .unwrap_or_default();
        let txn = self
            .begin(&Origin::local(session))
            .await?
            .ok_or_else(|| AppError::Internal("a local change seen twice".into()))?;
        hearth_db::notifications::record(
            &txn,
            account.id,
            NotificationKind::CrisisSupport,
            None,
            post.as_ref().map(|p| p.id),
            report.group_ap_id.as_deref(),
            &language,
        )
        .await?;
        self.commit(txn).await?;
        tracing::info!(report = report.id, "crisis support sent to the author");
        Ok(())
    }
}
