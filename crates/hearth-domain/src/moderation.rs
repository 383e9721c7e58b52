//! Moderation's vocabulary: what a report is about and why, what a
//! moderator or admin did (the moderation log), and when a ban holds.
//! Who may do which is decided by the use-cases; what the words mean is
//! decided here.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::account::UnknownValue;

/// The longest reason or comment kept, in characters.
pub const MAX_REASON: usize = 1000;

/// The most days a ban or a domain rule can be set to last (a hundred
/// years); anything longer is "until lifted", which needs no number.
pub const MAX_DAYS: u32 = 36_500;

/// When something that lasts `days` days from `now` ends. `days` must be
/// 1 to [`MAX_DAYS`]; the error names `field`.
pub fn ends_after(
    now: DateTime<Utc>,
    days: u32,
    field: &'static str,
) -> Result<DateTime<Utc>, ValidationError> {
    let out_of_range = || {
        ValidationError::new(
            field,
            "out_of_range",
            format!("Give between 1 and {MAX_DAYS} days, or leave it out for no end date"),
        )
    };
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(out_of_range());
    }
    chrono::TimeDelta::try_days(i64::from(days))
        .and_then(|length| now.checked_add_signed(length))
        .ok_or_else(out_of_range)
}

crate::string_enum! {
    /// Why someone reports a post or an account.
    ReportCategory {
        /// False or dangerous health information.
        Misinformation => "misinformation",
        /// Bullying, insults, threats.
        Harassment => "harassment",
        /// Advertising, scams, repeated posts.
        Spam => "spam",
        /// Someone may be at risk of hurting themselves.
        SelfHarm => "self_harm",
        /// Someone's private details shared without their consent.
        Privacy => "privacy",
        /// Anything else; the comment says what.
        Other => "other",
        /// Hearth itself noticed words that may mean someone is in crisis
        /// (`crate::crisis`). Never chosen by a person, never sent to
        /// another server.
        PossibleCrisis => "possible_crisis",
    }
}

impl ReportCategory {
    /// The category a free-text reason from another server stands for:
    /// Hearth's own word when it is one (a `Flag` from Hearth carries it),
    /// Mastodon's `spam`, otherwise `other` (the text is kept as the
    /// comment).
    pub fn from_remote(word: Option<&str>) -> Self {
        word.map(str::trim)
            .and_then(|w| w.to_ascii_lowercase().parse().ok())
            .map(|c| match c {
                ReportCategory::PossibleCrisis => ReportCategory::SelfHarm,
                c => c,
            })
            .unwrap_or(ReportCategory::Other)
    }

    /// The categories a person may choose when they report something.
    pub fn chosen_by_people() -> impl Iterator<Item = ReportCategory> {
        ReportCategory::ALL
            .iter()
            .copied()
            .filter(|c| *c != ReportCategory::PossibleCrisis)
    }

    /// What the category means, in plain words.
    pub fn describe(self) -> &'static str {
        match self {
            ReportCategory::Misinformation => "False or dangerous health information",
            ReportCategory::Harassment => "Harassment or bullying",
            ReportCategory::Spam => "Spam or advertising",
            ReportCategory::SelfHarm => "Someone may be at risk of harming themselves",
            ReportCategory::Privacy => "Private details shared without consent",
            ReportCategory::Other => "Something else",
            ReportCategory::PossibleCrisis => {
                "Possible crisis: the words may mean someone is in danger"
            }
        }
    }
}

crate::string_enum! {
    /// Where a report stands.
    ReportState {
        /// Waiting for a moderator.
        Open => "open",
        /// A moderator dealt with it (the resolution says how).
        Resolved => "resolved",
    }
}

crate::string_enum! {
    /// One kind of moderator or admin action, as the log records it.
    ModAction {
        /// A post removed, with a reason.
        RemovePost => "remove_post",
        /// A removed post brought back.
        RestorePost => "restore_post",
        /// A thread closed to new replies.
        LockThread => "lock_thread",
        /// A thread opened again.
        UnlockThread => "unlock_thread",
        /// A thread pinned to the top of its group.
        PinThread => "pin_thread",
        /// A thread no longer pinned.
        UnpinThread => "unpin_thread",
        /// A person banned from a group, or from the instance.
        Ban => "ban",
        /// A ban lifted before it ran out.
        Unban => "unban",
        /// A member made a moderator.
        AddModerator => "add_moderator",
        /// A moderator no longer one.
        RemoveModerator => "remove_moderator",
        /// A report dealt with.
        ResolveReport => "resolve_report",
        /// A domain rule set (suspend, limit, allow).
        SetDomainRule => "set_domain_rule",
        /// A domain rule removed.
        RemoveDomainRule => "remove_domain_rule",
        /// A held post let through.
        ApprovePost => "approve_post",
        /// A held post turned down.
        RejectPost => "reject_post",
        /// What the group holds for its moderators changed.
        SetPremoderation => "set_premoderation",
        /// A member named a peer mentor of the group.
        AddMentor => "add_mentor",
        /// A mentor no longer one.
        RemoveMentor => "remove_mentor",
        /// A reply marked helpful.
        MarkHelpful => "mark_helpful",
        /// A reply's helpful mark taken back.
        UnmarkHelpful => "unmark_helpful",
        /// The group's rules or support guide changed.
        SetGuidance => "set_guidance",
        /// A post labelled "needs sources" or "disputed".
        LabelPost => "label_post",
        /// A post's label taken off.
        UnlabelPost => "unlabel_post",
    }
}

impl ModAction {
    /// The action in plain words, for the log's readers.
    pub fn describe(self) -> &'static str {
        match self {
            ModAction::RemovePost => "removed a post",
            ModAction::RestorePost => "brought back a removed post",
            ModAction::LockThread => "closed a thread to replies",
            ModAction::UnlockThread => "opened a thread to replies again",
            ModAction::PinThread => "pinned a thread",
            ModAction::UnpinThread => "unpinned a thread",
            ModAction::Ban => "banned someone",
            ModAction::Unban => "lifted a ban",
            ModAction::AddModerator => "made someone a moderator",
            ModAction::RemoveModerator => "ended someone's moderator role",
            ModAction::ResolveReport => "dealt with a report",
            ModAction::SetDomainRule => "set a rule for a server",
            ModAction::RemoveDomainRule => "removed a rule for a server",
            ModAction::ApprovePost => "let a waiting post through",
            ModAction::RejectPost => "turned down a waiting post",
            ModAction::SetPremoderation => "changed which posts wait for a moderator",
            ModAction::AddMentor => "named someone a peer mentor",
            ModAction::RemoveMentor => "ended someone's peer mentor role",
            ModAction::MarkHelpful => "marked a reply helpful",
            ModAction::UnmarkHelpful => "took back a reply's helpful mark",
            ModAction::SetGuidance => "changed the group's rules or support guide",
            ModAction::LabelPost => "labelled a post",
            ModAction::UnlabelPost => "took a post's label off",
        }
    }
}

/// A ban, as stored: `expires_at` none means until lifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanTerms {
    pub reason: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub remove_data: bool,
}

impl BanTerms {
    /// Whether the ban still holds at `now`: a ban lifts itself when it
    /// runs out, without anyone having to act.
    pub fn holds_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|end| end > now)
    }
}

/// A reason a moderator must give (removal, ban): required, trimmed, at
/// most [`MAX_REASON`] characters. `field` names it in the error.
pub fn required_reason(field: &'static str, text: &str) -> Result<String, ValidationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ValidationError::new(
            field,
            "required",
            "Say why, in a few words: the person is told",
        ));
    }
    optional_text(field, text)
}

/// A comment or reason that may be empty: trimmed, at most
/// [`MAX_REASON`] characters.
pub fn optional_text(field: &'static str, text: &str) -> Result<String, ValidationError> {
    let text = text.trim();
    if text.chars().count() > MAX_REASON {
        return Err(ValidationError::new(
            field,
            "too_long",
            format!("Keep it under {MAX_REASON} characters"),
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_length_in_days_is_bounded_and_never_overflows() {
        let now = Utc::now();
        assert_eq!(
            ends_after(now, 7, "days").unwrap(),
            now + chrono::Duration::days(7)
        );
        assert!(ends_after(now, MAX_DAYS, "days").is_ok());
        for days in [0, MAX_DAYS + 1, u32::MAX] {
            let err = ends_after(now, days, "days").unwrap_err();
            assert_eq!((err.field, err.code), ("days", "out_of_range"));
        }
        assert!(ends_after(DateTime::<Utc>::MAX_UTC, 1, "days").is_err());
    }
    use chrono::Duration;

    #[test]
    fn a_ban_lifts_itself_when_it_runs_out() {
        let now = Utc::now();
        let mut ban = BanTerms {
            reason: "spam".into(),
            expires_at: Some(now + Duration::seconds(5)),
            remove_data: false,
        };
        assert!(ban.holds_at(now));
        assert!(!ban.holds_at(now + Duration::seconds(5)));
        ban.expires_at = None;
        assert!(ban.holds_at(now + Duration::days(10_000)));
    }

    #[test]
    fn a_remote_reason_is_a_category_only_when_it_names_one() {
        assert_eq!(
            ReportCategory::from_remote(Some("Spam")),
            ReportCategory::Spam
        );
        assert_eq!(
            ReportCategory::from_remote(Some("self_harm")),
            ReportCategory::SelfHarm
        );
        assert_eq!(
            ReportCategory::from_remote(Some("this is rude")),
            ReportCategory::Other
        );
        assert_eq!(ReportCategory::from_remote(None), ReportCategory::Other);
    }

    #[test]
    fn a_reason_is_required_and_bounded() {
        assert_eq!(required_reason("reason", "  ").unwrap_err().field, "reason");
        assert_eq!(required_reason("reason", " spam ").unwrap(), "spam");
        let long = "x".repeat(MAX_REASON + 1);
        assert_eq!(
            optional_text("comment", &long).unwrap_err().code,
            "too_long"
        );
    }
}
