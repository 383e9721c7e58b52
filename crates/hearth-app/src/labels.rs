//! Moderators' labels on posts ("needs sources", "disputed"), with a note
//! and a link to better information: one core, [`App::set_label`], for
//! every door (a moderator here through the API, the web or the CLI; a
//! group elsewhere relaying its moderator's label; a moderator of another
//! server labelling a post in a group here).
//!
//! | who may label                                                           |
//! |-------------------------------------------------------------------------|
//! | a moderator of the post's group ([`App::may_moderate`]), or an admin here for a group here; the group itself, signing for itself |
//!
//! An author's own edit never touches a label ([`App::change`] leaves it
//! alone, and an incoming edit is only ever applied as its author's). Each
//! label set or taken off is written to the moderation log and told to the
//! group's member servers as an `Update` of the post carrying its label.

use chrono::{DateTime, Utc};
use hearth_db::posts::{self, Post};
use hearth_domain::moderation::ModAction;
use hearth_domain::sources::{self, Label};

use crate::events::{Change, Event, PostAct, PostAudience, PostEvent};
use crate::inbound::Outcome;
use crate::origin::{Origin, Via};
use crate::posts::{PostGroup, group_of};
use crate::{App, AppError};

/// A label as a moderator asks for it (empty strings for empty fields).
#[derive(Debug, Clone, Default)]
pub struct LabelInput {
    pub kind: String,
    pub note: String,
    pub link: String,
}

/// A label read off the wire, unchecked.
#[derive(Debug, Clone, Default)]
pub struct IncomingLabel {
    pub kind: String,
    pub note: String,
    pub link: Option<String>,
    /// When the moderator set it, as the sender says.
    pub at: Option<DateTime<Utc>>,
}

impl App {
    /// Moderators: label a post (`Some`), or take its label off (`None`).
    /// Bad input is refused naming `kind`, `note` or `link`.
    pub async fn label_post(
        &self,
        origin: &Origin,
        id: i64,
        input: Option<LabelInput>,
    ) -> Result<Post, AppError> {
        let post = posts::find_by_id(&self.db, id)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        let label = match input {
            Some(input) => Some(
                sources::parse_label(&input.kind, &input.note, &input.link)
                    .map_err(AppError::Invalid)?,
            ),
            None => None,
        };
        let id = post.id;
        self.set_label(origin, post, label, Utc::now()).await?;
        posts::find_by_id(&self.db, id)
            .await?
            .ok_or(AppError::NotFound { what: "post" })
    }

    /// The one door for labels. `None` for a second delivery.
    pub(crate) async fn set_label(
        &self,
        origin: &Origin,
        post: Post,
        label: Option<Label>,
        at: DateTime<Utc>,
    ) -> Result<Option<()>, AppError> {
        let group = group_of(&self.db, &post)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        let readable = crate::access::can_read(
            &self.db,
            &origin.reader(),
            &post,
            Some(&group),
            self.vouched(),
        )
        .await?;
        if !readable || post.is_deleted() || post.is_held() {
            return Err(AppError::NotFound { what: "post" });
        }
        let by_the_group = matches!(origin, Origin::Remote(r) if r.actor == group.ap_id(self) && matches!(r.via, Via::Signed(_)));
        if !by_the_group {
            self.moderated(origin, &group).await?;
        }
        let Some(txn) = self.begin(origin).await? else {
            return Ok(None);
        };
        let actor = origin.actor_id(self.urls());
        let Some(updated) = posts::set_label(&txn, post.id, label.as_ref(), &actor, at).await?
        else {
            // An older word than the one already here: nothing changes.
            self.commit(txn).await?;
            return Ok(Some(()));
        };
        let (action, note) = match &label {
            Some(label) => (ModAction::LabelPost, label.note.as_str()),
            None => (ModAction::UnlabelPost, ""),
        };
        self.log_post_action(&txn, origin, &group, &post, action, note)
            .await?;
        // Its author here hears of a label (not of one taken off), once
        // per change: an older or repeated word changed nothing above.
        if let Some(label) = &label
            && post.label.as_ref().map(|l| &l.label) != Some(label)
        {
            crate::notifications::post_labelled(&txn, &post, &actor, label.kind.as_str()).await?;
        }
        let to = match &group {
            _ if !updated.visibility.federates() => None,
            PostGroup::Local(g) => {
                let members_only =
                    updated.effective_visibility() != hearth_domain::post::Visibility::Public;
                Some(PostAudience::GroupHere {
                    group: g.clone(),
                    inboxes: self.member_servers(&txn, g.id, members_only).await?,
                })
            }
            // A member here who moderates a group elsewhere: the group is
            // asked, and tells its member servers.
            PostGroup::Remote(g) if origin.is_local() => {
                Some(PostAudience::GroupElsewhere { group: g.clone() })
            }
            PostGroup::Remote(_) => None,
        };
        if let Some(to) = to {
            let act = PostAct {
                id: self.activity_id(origin),
                actor: actor.clone(),
                by_member_here: origin.is_local(),
                post: updated,
                change: Change::Labelled,
            };
            self.emit(&txn, Event::Post(Box::new(PostEvent { to, act })))
                .await?;
        }
        self.commit(txn).await?;
        tracing::info!(post = %post.ap_id, by = %actor, action = action.as_str(), "post label changed");
        Ok(Some(()))
    }

    /// Another server's `Update` of the post `object_id` carrying Hearth's
    /// `label` (`None`: taken off), by someone who is not its author: a
    /// group elsewhere relaying its moderator, or a moderator of another
    /// server to a group here. Anyone else is refused, and nothing changes.
    pub async fn receive_label(
        &self,
        origin: &Origin,
        object_id: &str,
        label: Option<IncomingLabel>,
    ) -> Result<Outcome, AppError> {
        let Origin::Remote(r) = origin else {
            return Err(AppError::Internal("a local label through the inbox".into()));
        };
        let Some(post) = posts::find_by_ap_id(&self.db, object_id).await? else {
            return Ok(Outcome::Ignored("a label on a post not known here".into()));
        };
        // A group relays labels on its own posts only.
        if matches!(r.via, Via::Relay(_)) && post.group_id.is_some() {
            return Err(AppError::Forbidden(
                "A group can label only posts in itself.",
            ));
        }
        let at = label
            .as_ref()
            .and_then(|l| l.at)
            .filter(|at| *at <= Utc::now())
            .unwrap_or_else(Utc::now);
        let label = match label {
            Some(l) => match sources::label_from_remote(&l.kind, &l.note, l.link.as_deref()) {
                Some(label) => Some(label),
                None => return Ok(Outcome::Ignored("a label Hearth does not know".into())),
            },
            None => None,
        };
        Ok(Outcome::of(self.set_label(origin, post, label, at).await?))
    }
}
