//! Care in a group: peer mentors, the replies its moderators mark
//! helpful, its guidance (rules and a "how to give support here" guide),
//! and the new members view.
//!
//! | action            | core                    | who may                                                   |
//! |-------------------|-------------------------|-----------------------------------------------------------|
//! | name a mentor     | [`App::set_mentor`]     | a moderator of the group here (or an admin); from elsewhere: the group relaying its moderator ([`App::receive_care`]) |
//! | mark helpful      | [`App::mark_helpful`]   | the same                                                  |
//! | set guidance      | [`App::update_group`]   | a moderator of the group here; from elsewhere: the group itself (`Update{Group}`, [`App::receive_guidance`]) |
//! | new members view  | [`App::newcomers`]      | the group's mentors and moderators (read through the one read rule) |
//!
//! Mentors and helpful marks are kept by the group's id, for groups here
//! and elsewhere alike; a mentor's badge belongs to one group only. Every
//! change is logged in the moderation log, and a group here tells the
//! Hearth servers of its members (other software has no place for them).

use std::collections::HashSet;

use chrono::Utc;
use hearth_db::care::{self as store, Guidance};
use hearth_db::groups::{Group, Member};
use hearth_db::posts::{self, Post, PostKind};
use hearth_db::remote::{self, RemoteActor};
use hearth_db::tokens::Session;
use hearth_db::{DatabaseTransaction, accounts};
use hearth_domain::ValidationError;
use hearth_domain::care::{NEWCOMER_DAYS, NEWCOMER_FIRST_POSTS, parse_guidance, remote_guidance};
use hearth_domain::moderation::ModAction;

use crate::events::{Event, ModAct, ModerationEvent};
use crate::ids::LocalRef;
use crate::inbound::Outcome;
use crate::moderation::{Logged, access_allows};
use crate::origin::{Origin, Via};
use crate::posts::{Author, PostGroup, group_of};
use crate::records::FetchedActor;
use crate::{App, AppError};

/// What a list of posts shows about care: whose author is a mentor of the
/// post's group, and which replies are marked helpful.
#[derive(Debug, Clone, Default)]
pub struct CareMarks {
    mentors: HashSet<(String, String)>,
    helpful: HashSet<String>,
}

impl CareMarks {
    /// The post's author is a peer mentor of the post's group.
    pub fn mentor(&self, post: &Post) -> bool {
        self.mentors
            .contains(&(post.group_ap_id.clone(), post.author_ap_id.clone()))
    }

    /// The group's moderators marked the reply helpful.
    pub fn helpful(&self, post: &Post) -> bool {
        self.helpful.contains(&post.ap_id)
    }
}

/// A group's guidance, as shown: sanitised HTML (empty when none), and for
/// a group here the Markdown as written (for its settings form).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupGuidance {
    pub rules_html: String,
    pub guide_html: String,
    pub rules_source: String,
    pub guide_source: String,
}

impl GroupGuidance {
    pub fn is_empty(&self) -> bool {
        self.rules_html.is_empty() && self.guide_html.is_empty()
    }
}

/// One newcomer's post in the new members view.
#[derive(Debug, Clone)]
pub struct NewcomerPost {
    pub post: Post,
    /// Nobody has replied to it yet.
    pub unanswered: bool,
    /// When its author joined.
    pub joined_at: chrono::DateTime<Utc>,
}

impl App {
    // ---- peer mentors ------------------------------------------------------

    /// Moderators (or admins): name a joined member (here or from another
    /// server) a peer mentor of a group here (`true`), or un-name them.
    /// Logged; the Hearth servers of the group's members are told (`Add` /
    /// `Remove` on the group's mentors collection).
    pub async fn set_mentor(
        &self,
        origin: &Origin,
        group: &str,
        person: &str,
        mentor: bool,
    ) -> Result<(), AppError> {
        let (group, group_id, person, _) = self
            .role_holder(
                origin,
                group,
                person,
                mentor,
                "Only a member of the group can be one of its mentors",
            )
            .await?;
        let txn = self
            .begin(origin)
            .await?
            .ok_or_else(|| AppError::Internal("a local change seen twice".into()))?;
        if !store::set_mentor(&txn, &group_id, &person, mentor).await? {
            txn.rollback().await?;
            return Ok(());
        }
        let change = if mentor {
            (ModAction::AddMentor, ModAct::MentorAdded)
        } else {
            (ModAction::RemoveMentor, ModAct::MentorRemoved)
        };
        self.role_changed(txn, origin, &group, &group_id, person, change)
            .await
    }

    /// The actor ids of a group's peer mentors (here, or as a group
    /// elsewhere announced them).
    pub async fn mentor_ids(&self, group: &PostGroup) -> Result<Vec<String>, AppError> {
        Ok(store::mentors_of(&self.db, &group.ap_id(self)).await?)
    }

    /// A group's peer mentors, as people: their handle and name.
    pub async fn mentors(&self, group: &PostGroup) -> Result<Vec<Author>, AppError> {
        let mut out = Vec::new();
        for id in self.mentor_ids(group).await? {
            out.push(self.person_by_id(&id).await?);
        }
        Ok(out)
    }

    /// Someone by actor id, as an author is shown.
    async fn person_by_id(&self, id: &str) -> Result<Author, AppError> {
        if let Ok(url) = url::Url::parse(id)
            && let Some(LocalRef::User(name)) = self.urls().parse_local(&url)
            && let Some(a) = accounts::find_by_username(&self.db, &name).await?
        {
            return Ok(Author {
                handle: format!("{}@{}", a.username, self.config.domain),
                display_name: if a.display_name.is_empty() {
                    a.username.clone()
                } else {
                    a.display_name.clone()
                },
                url: id.to_owned(),
                local: true,
                professional: None,
            });
        }
        Ok(match remote::find_actor(&self.db, id).await? {
            Some(a) => Author {
                handle: format!("{}@{}", a.preferred_username, a.authority),
                display_name: if a.name.trim().is_empty() {
                    a.preferred_username.clone()
                } else {
                    a.name.clone()
                },
                url: id.to_owned(),
                local: false,
                professional: None,
            },
            None => Author {
                handle: id.to_owned(),
                display_name: id.to_owned(),
                url: id.to_owned(),
                local: false,
                professional: None,
            },
        })
    }

    /// Whether the account is a peer mentor of the group.
    pub async fn is_mentor(&self, account: &Session, group: &PostGroup) -> Result<bool, AppError> {
        let me = self.urls().user(&account.account.username).to_string();
        Ok(store::is_mentor(&self.db, &group.ap_id(self), &me).await?)
    }

    /// Mentor badges and helpful marks for a list of posts: two queries.
    pub async fn care_marks(&self, posts: &[Post]) -> Result<CareMarks, AppError> {
        let pairs: Vec<(&str, &str)> = posts
            .iter()
            .map(|p| (p.group_ap_id.as_str(), p.author_ap_id.as_str()))
            .collect();
        let ids: Vec<&str> = posts
            .iter()
            .filter(|p| p.kind == PostKind::Reply)
            .map(|p| p.ap_id.as_str())
            .collect();
        Ok(CareMarks {
            mentors: store::mentors_among(&self.db, &pairs).await?,
            helpful: store::helpful_among(&self.db, &ids).await?,
        })
    }

    // ---- helpful replies -----------------------------------------------------

    /// Moderators: mark a reply in a group here helpful (`true`), or take
    /// the mark back. Logged; the Hearth servers of the group's members
    /// that may read the reply are told (`Add`/`Remove` on the group's
    /// helpful collection). A group elsewhere is marked on its own server.
    pub async fn mark_helpful(
        &self,
        origin: &Origin,
        id: i64,
        helpful: bool,
    ) -> Result<(), AppError> {
        let post = posts::find_by_id(&self.db, id)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        let group = group_of(&self.db, &post)
            .await?
            .ok_or(AppError::NotFound { what: "post" })?;
        if !access_allows(self, origin, &post, &group).await? || post.is_deleted() || post.is_held()
        {
            return Err(AppError::NotFound { what: "post" });
        }
        let PostGroup::Local(g) = &group else {
            return Err(AppError::Forbidden(
                "Replies are marked helpful on the group's own server.",
            ));
        };
        self.moderated(origin, &group).await?;
        if post.kind != PostKind::Reply {
            return Err(AppError::invalid(ValidationError::new(
                "post",
                "not_a_reply",
                "Only a reply can be marked helpful",
            )));
        }
        let group_id = group.ap_id(self);
        let by = origin.actor_id(self.urls());
        let txn = self
            .begin(origin)
            .await?
            .ok_or_else(|| AppError::Internal("a local change seen twice".into()))?;
        if !store::set_helpful(&txn, &post.ap_id, &group_id, &by, helpful).await? {
            txn.rollback().await?;
            return Ok(());
        }
        let (action, act) = if helpful {
            (ModAction::MarkHelpful, ModAct::HelpfulMarked)
        } else {
            (ModAction::UnmarkHelpful, ModAct::HelpfulUnmarked)
        };
        self.log(
            &txn,
            origin,
            Some(&group_id),
            Logged {
                action,
                target: &post.ap_id,
                reason: "",
                expires_at: None,
            },
        )
        .await?;
        if post.visibility.federates() {
            let members_only =
                post.effective_visibility() != hearth_domain::post::Visibility::Public;
            let inboxes = self.member_servers(&txn, g.id, members_only).await?;
            self.emit(
                &txn,
                Event::Moderation(Box::new(ModerationEvent {
                    group: g.clone(),
                    inboxes,
                    person_inbox: None,
                    id: self.urls().new_activity().to_string(),
                    actor: by,
                    person: post.ap_id.clone(),
                    act,
                })),
            )
            .await?;
        }
        self.commit(txn).await?;
        Ok(())
    }

    // ---- from other servers -----------------------------------------------

    /// A group elsewhere (`relay`) relays its moderator's `Add` or `Remove`
    /// of `object` to `target`: its mentors collection (a person) or its
    /// helpful collection (a reply in that group). `None` when `target` is
    /// neither. Taken only from the group itself relaying someone on its
    /// own server or one of its announced moderators, and a mark only on a
    /// reply of that same group.
    pub(crate) async fn receive_care(
        &self,
        origin: &Origin,
        relay: &RemoteActor,
        object: &str,
        target: &str,
        add: bool,
    ) -> Result<Option<Outcome>, AppError> {
        let mentors = target == format!("{}/mentors", relay.ap_id);
        let helpful = target == format!("{}/helpful", relay.ap_id);
        if !mentors && !helpful {
            return Ok(None);
        }
        self.moderated(origin, &PostGroup::Remote(relay.clone()))
            .await?;
        if helpful {
            let Some(post) = posts::find_by_ap_id(&self.db, object).await? else {
                return Ok(Some(Outcome::Ignored("a reply not known here".into())));
            };
            if post.group_ap_id != relay.ap_id {
                return Err(AppError::Forbidden(
                    "a group may mark only its own replies helpful",
                ));
            }
            if post.kind != PostKind::Reply {
                return Ok(Some(Outcome::Ignored(
                    "only replies are marked helpful".into(),
                )));
            }
        }
        let Some(txn) = self.begin(origin).await? else {
            return Ok(Some(Outcome::Duplicate));
        };
        let action = if mentors {
            store::set_mentor(&txn, &relay.ap_id, object, add).await?;
            if add {
                ModAction::AddMentor
            } else {
                ModAction::RemoveMentor
            }
        } else {
            let by = origin.actor_id(self.urls());
            store::set_helpful(&txn, object, &relay.ap_id, &by, add).await?;
            if add {
                ModAction::MarkHelpful
            } else {
                ModAction::UnmarkHelpful
            }
        };
        self.log(
            &txn,
            origin,
            Some(&relay.ap_id),
            Logged {
                action,
                target: object,
                reason: "",
                expires_at: None,
            },
        )
        .await?;
        self.commit(txn).await?;
        Ok(Some(Outcome::Applied))
    }

    // ---- guidance --------------------------------------------------------------

    /// A group's rules and support guide, as shown. A group here that never
    /// set guidance shows the rules it was created with.
    pub async fn guidance(&self, group: &PostGroup) -> Result<GroupGuidance, AppError> {
        let stored = store::guidance(&self.db, &group.ap_id(self)).await?;
        Ok(match (stored, group) {
            (Some(g), _) => GroupGuidance {
                rules_html: g.rules_html,
                guide_html: g.guide_html,
                rules_source: g.rules_source,
                guide_source: g.guide_source,
            },
            (None, PostGroup::Local(g)) => {
                let rules = parse_guidance("rules", &g.rules).unwrap_or_default();
                GroupGuidance {
                    rules_html: if rules.html.is_empty() && !g.rules.trim().is_empty() {
                        hearth_domain::text::markdown_to_html(&g.rules)
                    } else {
                        rules.html
                    },
                    rules_source: g.rules.clone(),
                    ..Default::default()
                }
            }
            (None, PostGroup::Remote(_)) => GroupGuidance::default(),
        })
    }

    /// The settings door's part for guidance: validate the rules and guide
    /// (`None` keeps one), store them and tell the Hearth member servers
    /// (`Update{Group}`), in the settings change's transaction. Whether
    /// anything changed.
    pub(crate) async fn change_guidance(
        &self,
        txn: &DatabaseTransaction,
        origin: &Origin,
        group: &Group,
        rules: Option<&str>,
        guide: Option<&str>,
    ) -> Result<bool, AppError> {
        if rules.is_none() && guide.is_none() {
            return Ok(false);
        }
        let here = PostGroup::Local(group.clone());
        let before = self.guidance(&here).await?;
        let mut errors = Vec::new();
        let rules = match rules {
            Some(raw) => parse_guidance("rules", raw)
                .map_err(|e| errors.push(e))
                .ok(),
            None => Some(hearth_domain::care::GuidanceText {
                source: before.rules_source.clone(),
                html: before.rules_html.clone(),
            }),
        };
        let guide = match guide {
            Some(raw) => parse_guidance("support_guide", raw)
                .map_err(|e| errors.push(e))
                .ok(),
            None => Some(hearth_domain::care::GuidanceText {
                source: before.guide_source.clone(),
                html: before.guide_html.clone(),
            }),
        };
        let (Some(rules), Some(guide)) = (rules, guide) else {
            return Err(AppError::Invalid(errors));
        };
        if rules.source == before.rules_source && guide.source == before.guide_source {
            return Ok(false);
        }
        let group_id = here.ap_id(self);
        store::set_guidance(
            txn,
            &group_id,
            &Guidance {
                rules_source: rules.source.clone(),
                rules_html: rules.html.clone(),
                guide_source: guide.source.clone(),
                guide_html: guide.html.clone(),
                updated_at: None,
            },
        )
        .await?;
        store::set_local_rules(txn, group.id, &rules.source).await?;
        self.log(
            txn,
            origin,
            Some(&group_id),
            Logged {
                action: ModAction::SetGuidance,
                target: &group_id,
                reason: "",
                expires_at: None,
            },
        )
        .await?;
        self.tell_group_changed(txn, group, rules.html, guide.html)
            .await?;
        Ok(true)
    }

    /// A group here changed what its Hearth member servers read from its
    /// document (its guidance, now `rules_html` and `guide_html`, or its
    /// visibility): they are sent it again (`Update{Group}`), in `txn`.
    pub(crate) async fn tell_group_changed(
        &self,
        txn: &DatabaseTransaction,
        group: &Group,
        rules_html: String,
        guide_html: String,
    ) -> Result<(), AppError> {
        let inboxes = self.member_servers(txn, group.id, false).await?;
        if inboxes.is_empty() {
            return Ok(());
        }
        self.emit(
            txn,
            Event::GuidanceChanged {
                group: group.clone(),
                rules_html,
                guide_html,
                inboxes,
            },
        )
        .await
    }

    /// A group elsewhere sent its actor document again (`Update{Group}`,
    /// signed by the group itself): keep its rules and support guide,
    /// sanitised, and the document as `fetched` again from the group's
    /// server (its name, summary, key and visibility), when it could be.
    /// Nobody but the group speaks for its guidance or its document.
    pub async fn receive_guidance(
        &self,
        origin: &Origin,
        group_ap_id: &str,
        rules_html: Option<&str>,
        guide_html: Option<&str>,
        fetched: Option<FetchedActor>,
    ) -> Result<Outcome, AppError> {
        let Some(r) = origin.remote() else {
            return Err(AppError::Internal(
                "a local Update through the inbox".into(),
            ));
        };
        let Via::Signed(actor) = &r.via else {
            return Ok(Outcome::Ignored(
                "a group's own document is taken from the group only".into(),
            ));
        };
        if actor.ap_id != group_ap_id
            || actor.kind != "Group"
            || fetched
                .as_ref()
                .is_some_and(|f| f.ap_id != group_ap_id || f.kind != "Group")
        {
            return Err(AppError::Forbidden(
                "only a group may change its own rules and guide",
            ));
        }
        let Some(txn) = self.begin(origin).await? else {
            return Ok(Outcome::Duplicate);
        };
        let refreshed = match fetched {
            Some(fetched) => Some(hearth_db::remote::upsert_actor(&txn, fetched).await?),
            None => None,
        };
        store::set_guidance(
            &txn,
            group_ap_id,
            &Guidance {
                rules_html: remote_guidance(rules_html),
                guide_html: remote_guidance(guide_html),
                ..Default::default()
            },
        )
        .await?;
        self.commit(txn).await?;
        if let Some(group) = refreshed {
            tracing::info!(group = %group.ap_id, visibility = group.visibility().as_str(), "group document updated");
            self.actors.put(&group.ap_id.clone(), group);
        }
        Ok(Outcome::Applied)
    }

    /// The rules and guide read from a group's actor document fetched from
    /// its own server (joining, refreshing the cache), sanitised.
    pub async fn remember_guidance(
        &self,
        group_ap_id: &str,
        rules_html: Option<&str>,
        guide_html: Option<&str>,
    ) -> Result<(), AppError> {
        if self.urls().is_local_id(group_ap_id) {
            return Ok(());
        }
        let new = Guidance {
            rules_html: remote_guidance(rules_html),
            guide_html: remote_guidance(guide_html),
            ..Default::default()
        };
        let before = store::guidance(&self.db, group_ap_id).await?;
        if before.is_none() && new.is_empty() {
            return Ok(());
        }
        if before.is_some_and(|b| b.rules_html == new.rules_html && b.guide_html == new.guide_html)
        {
            return Ok(());
        }
        let txn = hearth_db::begin_write(&self.db).await?;
        store::set_guidance(&txn, group_ap_id, &new).await?;
        txn.commit().await?;
        Ok(())
    }

    // ---- new members ---------------------------------------------------------

    /// The group's mentors and moderators: the first posts (up to three
    /// each) of the members who joined a group here in the last 30 days,
    /// those nobody has answered first, then the newest. Each passes the
    /// one read rule for the reader.
    pub async fn newcomers(
        &self,
        session: &Session,
        name: &str,
    ) -> Result<Vec<NewcomerPost>, AppError> {
        let group = self.group_named(name).await?;
        let here = PostGroup::Local(group.clone());
        let origin = Origin::local(session);
        if !self.may_moderate(&self.db, &origin, &here).await?
            && !self.is_mentor(session, &here).await?
        {
            return Err(AppError::Forbidden(
                "Only the group's mentors and moderators see its new members.",
            ));
        }
        let group_id = here.ap_id(self);
        let since = Utc::now() - chrono::Duration::days(NEWCOMER_DAYS);
        let mut out = Vec::new();
        for membership in store::joined_since(&self.db, group.id, since, 100).await? {
            let author = match membership.member {
                Member::Local(id) => match accounts::find_by_id(&self.db, id).await? {
                    Some(a) => self.urls().user(&a.username).to_string(),
                    None => continue,
                },
                Member::Remote(id) => match remote::find_actor_by_id(&self.db, id).await? {
                    Some(a) => a.ap_id,
                    None => continue,
                },
            };
            for post in
                store::first_posts_by(&self.db, &group_id, &author, NEWCOMER_FIRST_POSTS).await?
            {
                if access_allows(self, &origin, &post, &here).await? {
                    out.push(NewcomerPost {
                        post,
                        unanswered: true,
                        joined_at: membership.updated_at,
                    });
                }
            }
        }
        let ids: Vec<i64> = out.iter().map(|n| n.post.id).collect();
        let answered = store::answered(&self.db, &ids).await?;
        for n in &mut out {
            n.unanswered = !answered.contains(&n.post.id);
        }
        out.sort_by(|a, b| {
            b.unanswered
                .cmp(&a.unanswered)
                .then(b.post.published_at.cmp(&a.post.published_at))
        });
        Ok(out)
    }

    /// Whether the account may open the new members view of a group here:
    /// one of its mentors or moderators (or an admin).
    pub async fn sees_newcomers(&self, session: &Session, group: &Group) -> Result<bool, AppError> {
        let here = PostGroup::Local(group.clone());
        Ok(self
            .may_moderate(&self.db, &Origin::local(session), &here)
            .await?
            || self.is_mentor(session, &here).await?)
    }
}
