//! What a member is told about: replies, mentions, reactions, answers to
//! their requests to join, and moderators' actions on their posts. And how
//! `@name` mentions are found in what someone writes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::account::UnknownValue;

crate::string_enum! {
    /// Why a notification was made.
    NotificationKind {
        /// Someone replied to one of your posts.
        Reply => "reply",
        /// Someone named you (`@you`) in a post you can read.
        Mention => "mention",
        /// Someone gave one of your posts a support reaction.
        Reaction => "reaction",
        /// A group let you in.
        JoinApproved => "join_approved",
        /// A group did not let you in.
        JoinDeclined => "join_declined",
        /// A moderator removed one of your posts.
        PostRemoved => "post_removed",
        /// A moderator brought back one of your posts they had removed.
        PostRestored => "post_restored",
        /// A moderator labelled one of your posts ("needs sources",
        /// "disputed"; the detail is the label's kind).
        PostLabelled => "post_labelled",
        /// Moderators banned you from a group (or an admin from this
        /// server).
        Banned => "banned",
        /// Someone reported a post or a person (for moderators and admins).
        Report => "report",
        /// A report you made was dealt with.
        ReportResolved => "report_resolved",
        /// A post waits for a moderator's approval (for moderators).
        Held => "held_post",
        /// Someone from a server that had no member in the group joined it
        /// (for moderators of open groups; the detail is that server).
        NewServer => "member_from_new_server",
        /// A post in a group you moderate may mean someone is in crisis
        /// (for moderators; first in their reports).
        PossibleCrisis => "possible_crisis",
        /// A moderator sent you where to find support now (the detail is
        /// the language of the resources).
        CrisisSupport => "crisis_support",
    }
}

/// What moderators are told before the first member from another server is
/// in: that server's people will hold what the group writes.
pub fn first_from_server(authority: &str) -> String {
    format!(
        "This is the first member from {authority}. The people who run {authority} \
         will be able to read everything posted in this group."
    )
}

/// The usernames named with `@name` or `@name@domain` in Markdown source,
/// lower-cased, once each, in order. `domain` is this server's: mentions of
/// people on other servers are not returned. Text inside code (between
/// backticks) and e-mail addresses (`ann@example.org`, no leading `@`) do
/// not count.
pub fn local_mentions(source: &str, domain: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_code = false;
    let chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            in_code = !in_code;
            i += 1;
            continue;
        }
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c != '@' || in_code || !starts_word {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
            j += 1;
        }
        let name: String = chars[i + 1..j].iter().collect();
        let mut end = j;
        let mut here = true;
        if j < chars.len() && chars[j] == '@' {
            let mut k = j + 1;
            while k < chars.len()
                && (chars[k].is_ascii_alphanumeric() || matches!(chars[k], '.' | '-' | ':'))
            {
                k += 1;
            }
            let host: String = chars[j + 1..k].iter().collect();
            let host = host.trim_end_matches(['.', ':']);
            here = host.eq_ignore_ascii_case(domain);
            end = k;
        }
        if here && !name.is_empty() {
            let name = name.to_lowercase();
            if !out.contains(&name) {
                out.push(name);
            }
        }
        i = end.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_local_mentions_once_and_skips_others() {
        assert_eq!(
            local_mentions(
                "Thanks @Ann and @bob@here.example, also @ann again; @carol@elsewhere.org too",
                "here.example"
            ),
            vec!["ann", "bob"]
        );
    }

    #[test]
    fn email_addresses_and_code_are_not_mentions() {
        assert!(local_mentions("write to ann@here.example", "here.example").is_empty());
        assert!(local_mentions("type `@ann` to mention", "here.example").is_empty());
        assert_eq!(local_mentions("@dan: hi", "here.example"), vec!["dan"]);
        assert_eq!(
            local_mentions("(@eve@localhost:8080)", "localhost:8080"),
            vec!["eve"]
        );
    }

    #[test]
    fn kinds_round_trip() {
        for k in NotificationKind::ALL {
            assert_eq!(k.as_str().parse::<NotificationKind>().ok(), Some(*k));
        }
    }
}
