//! What a post says, built in one place whatever its source: Markdown a
//! member typed here, or what another server sent. Both constructors end in
//! the same [`Content`], with the same length limits, the same sanitiser
//! ([`crate::text`]) and the same allowed link schemes (http and https), so
//! nothing written elsewhere skips a rule that holds here.
//!
//! The one difference is what happens to a value over a limit. A member
//! here is told and can fix it; another server cannot be asked, so:
//! - a title or content warning that is too long is shortened (cut at a
//!   word, with "…");
//! - a body that is too long is refused (cutting someone's words would
//!   change what they said);
//! - a link that is not an http or https address is dropped;
//! - a thread with neither a title nor text, or a reply without text, is
//!   refused, as it is here.

use crate::ValidationError;
use crate::post::{
    BODY_MAX, CONTENT_WARNING_MAX, SpeakingAs, SupportKind, TITLE_MAX, parse_body,
    parse_content_warning, parse_link, parse_title,
};
use crate::sources::{self, RawSource, Source};
use crate::text;

/// How many characters of a remote thread's text stand in for a missing
/// title.
const TITLE_FROM_TEXT: usize = 80;

/// A post's words, checked and sanitised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// Empty for replies.
    pub title: String,
    /// The Markdown as written (empty when the other server sent none).
    pub source: String,
    /// Sanitised HTML, the only form ever shown or sent.
    pub html: String,
    pub content_warning: Option<String>,
    /// Threads only.
    pub support_kind: Option<SupportKind>,
    /// Threads only: one http or https address.
    pub link: Option<String>,
    /// General-knowledge and resource threads only: what backs the post,
    /// in its author's order.
    pub sources: Vec<Source>,
    /// As a peer (the default) or as a verified professional; the use-case
    /// decides who may choose a professional's voice.
    pub speaking_as: SpeakingAs,
    /// A professional's post: the disclaimer it carries (plain text).
    pub disclaimer: Option<String>,
}

/// What a member typed into a thread form (empty strings for empty fields).
#[derive(Debug, Clone, Copy, Default)]
pub struct Typed<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub support_kind: &'a str,
    pub content_warning: &'a str,
    pub link: &'a str,
    /// Source rows as typed (wholly empty rows are skipped).
    pub sources: &'a [RawSource],
}

/// What another server sent, already read off the wire: plain strings,
/// nothing trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteContent {
    /// The title (`name`), plain text or HTML.
    pub name: Option<String>,
    /// The body as HTML, not yet sanitised.
    pub html: Option<String>,
    /// The body as Markdown, when the server sent its source.
    pub markdown: Option<String>,
    /// A content warning, when the sender marked one.
    pub warning: Option<String>,
    /// Hearth's own support kind property, unchecked.
    pub support_kind: Option<String>,
    /// Hashtag names without `#`, any case.
    pub hashtags: Vec<String>,
    /// A link attachment, unchecked.
    pub link: Option<String>,
    /// Hearth's own `sources` property, unchecked.
    pub sources: Vec<RawSource>,
    /// Hearth's `speakingAs`, unchecked.
    pub speaking_as: Option<String>,
    /// Hearth's `disclaimer`, unchecked.
    pub disclaimer: Option<String>,
}

impl Content {
    /// A thread written here: title and support kind required; every
    /// problem reported at once, each naming its field.
    pub fn thread(typed: Typed<'_>) -> Result<Self, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let title = parse_title(typed.title).map_err(|e| errors.push(e)).ok();
        let body = parse_body(typed.body, false)
            .map_err(|e| errors.push(e))
            .ok();
        let content_warning = parse_content_warning(typed.content_warning)
            .map_err(|e| errors.push(e))
            .ok();
        let support_kind = match typed.support_kind.trim() {
            "" => {
                errors.push(ValidationError::new(
                    "support_kind",
                    "required",
                    "Choose what kind of post this is",
                ));
                None
            }
            raw => raw
                .parse::<SupportKind>()
                .map_err(|e| {
                    errors.push(ValidationError::new(
                        "support_kind",
                        "invalid",
                        e.to_string(),
                    ))
                })
                .ok(),
        };
        let link = parse_link(typed.link).map_err(|e| errors.push(e)).ok();
        // Sources are judged against the kind chosen; with no valid kind
        // there is nothing to judge them against yet.
        let sources = match support_kind {
            Some(kind) => sources::parse_sources(Some(kind), typed.sources)
                .map_err(|e| errors.extend(e))
                .ok(),
            None => Some(Vec::new()),
        };
        match (title, body, content_warning, support_kind, link, sources) {
            (
                Some(title),
                Some(body),
                Some(content_warning),
                Some(kind),
                Some(link),
                Some(sources),
            ) if errors.is_empty() => Ok(Content {
                title,
                html: text::markdown_to_html(&body),
                source: body,
                content_warning,
                support_kind: Some(kind),
                link,
                sources,
                speaking_as: SpeakingAs::Peer,
                disclaimer: None,
            }),
            _ => Err(errors),
        }
    }

    /// A reply written here: text required.
    pub fn reply(body: &str, content_warning: &str) -> Result<Self, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let body = parse_body(body, true).map_err(|e| errors.push(e)).ok();
        let content_warning = parse_content_warning(content_warning)
            .map_err(|e| errors.push(e))
            .ok();
        match (body, content_warning) {
            (Some(body), Some(content_warning)) => Ok(Content {
                title: String::new(),
                html: text::markdown_to_html(&body),
                source: body,
                content_warning,
                support_kind: None,
                link: None,
                sources: Vec::new(),
                speaking_as: SpeakingAs::Peer,
                disclaimer: None,
            }),
            _ => Err(errors),
        }
    }

    /// A thread (`reply` false) or reply from another server, under the
    /// same limits (see the module docs for what is shortened, dropped or
    /// refused).
    pub fn from_remote(remote: &RemoteContent, reply: bool) -> Result<Self, ValidationError> {
        let html = match (&remote.html, &remote.markdown) {
            (Some(html), _) => text::sanitize_html(html),
            (None, Some(markdown)) => text::markdown_to_html(markdown),
            (None, None) => String::new(),
        };
        let source = remote
            .markdown
            .as_deref()
            .map(printable)
            .unwrap_or_default();
        let plain = text::html_to_plain(&html);
        if source.chars().count() > BODY_MAX || plain.chars().count() > BODY_MAX {
            return Err(ValidationError::new(
                "body",
                "too_long",
                format!("A post can be at most {BODY_MAX} characters"),
            ));
        }
        let title = if reply {
            String::new()
        } else {
            let named = remote
                .name
                .as_deref()
                .map(|name| text::excerpt(&printable(&text::html_to_plain(name)), TITLE_MAX))
                .unwrap_or_default();
            if named.is_empty() {
                text::excerpt(&printable(&plain), TITLE_FROM_TEXT)
            } else {
                named
            }
        };
        if !reply && title.is_empty() {
            return Err(ValidationError::new(
                "title",
                "required",
                "A thread needs a title or some text",
            ));
        }
        if reply && plain.trim().is_empty() {
            return Err(ValidationError::new(
                "body",
                "required",
                "A reply needs some text",
            ));
        }
        let content_warning = remote
            .warning
            .as_deref()
            .map(|w| text::excerpt(&printable(&text::html_to_plain(w)), CONTENT_WARNING_MAX))
            .filter(|w| !w.is_empty());
        let support_kind = (!reply)
            .then(|| {
                remote
                    .support_kind
                    .as_deref()
                    .and_then(|k| k.parse::<SupportKind>().ok())
                    .or_else(|| {
                        remote
                            .hashtags
                            .iter()
                            .find_map(|t| SupportKind::from_hashtag(t))
                    })
            })
            .flatten();
        // A professional's voice and its disclaimer, as the author's
        // server said; whether the author is one is checked when shown.
        let speaking_as = remote
            .speaking_as
            .as_deref()
            .and_then(|s| s.trim().parse::<SpeakingAs>().ok())
            .unwrap_or_default();
        let disclaimer = match speaking_as {
            SpeakingAs::Professional => remote
                .disclaimer
                .as_deref()
                .and_then(crate::professional::remote_disclaimer),
            SpeakingAs::Peer => None,
        };
        let link = (!reply)
            .then(|| {
                remote
                    .link
                    .as_deref()
                    .and_then(|raw| parse_link(raw).ok().flatten())
            })
            .flatten();
        let sources = if reply {
            Vec::new()
        } else {
            sources::from_remote(support_kind, &remote.sources)
        };
        Ok(Content {
            title,
            source,
            html,
            content_warning,
            support_kind,
            link,
            sources,
            speaking_as,
            disclaimer,
        })
    }
}

/// A web address another server gave (a post's page, say): kept only when
/// it is an http or https address, as links typed here must be.
pub fn web_address(raw: &str) -> Option<String> {
    parse_link(raw).ok().flatten()
}

/// `text` without control characters other than line breaks and tabs.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote_thread(html: &str) -> RemoteContent {
        RemoteContent {
            name: Some("Pacing".into()),
            html: Some(html.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_thread_here_reports_every_bad_field_at_once() {
        let errors = Content::thread(Typed {
            title: " ",
            body: &"x".repeat(BODY_MAX + 1),
            link: "javascript:alert(1)",
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "body", "support_kind", "link"]);
    }

    #[test]
    fn local_and_remote_text_pass_the_same_sanitiser() {
        let here = Content::reply("hi <script>alert(1)</script>", "").unwrap();
        let there = Content::from_remote(
            &RemoteContent {
                html: Some("<p>hi <script>alert(1)</script></p>".into()),
                ..Default::default()
            },
            true,
        )
        .unwrap();
        for c in [&here, &there] {
            assert!(!c.html.contains("<script"), "{}", c.html);
        }
    }

    #[test]
    fn remote_links_must_be_web_addresses_like_local_ones() {
        for bad in ["javascript:alert(1)", "data:text/html,hi", "ftp://x.org/f"] {
            let mut r = remote_thread("<p>text</p>");
            r.link = Some(bad.into());
            assert_eq!(Content::from_remote(&r, false).unwrap().link, None, "{bad}");
            assert!(
                Content::thread(Typed {
                    title: "t",
                    support_kind: "resource",
                    link: bad,
                    ..Default::default()
                })
                .is_err()
            );
        }
        let mut r = remote_thread("<p>text</p>");
        r.link = Some("https://nhs.uk/ms".into());
        assert_eq!(
            Content::from_remote(&r, false).unwrap().link.as_deref(),
            Some("https://nhs.uk/ms")
        );
        assert_eq!(web_address("javascript:alert(1)"), None);
    }

    #[test]
    fn a_remote_body_over_the_limit_is_refused_and_titles_and_warnings_are_shortened() {
        let long = format!("<p>{}</p>", "word ".repeat(BODY_MAX / 4));
        assert_eq!(
            Content::from_remote(&remote_thread(&long), false)
                .unwrap_err()
                .code,
            "too_long"
        );
        let mut r = remote_thread("<p>text</p>");
        r.name = Some("t ".repeat(TITLE_MAX));
        r.warning = Some("w ".repeat(CONTENT_WARNING_MAX));
        let c = Content::from_remote(&r, false).unwrap();
        assert!(c.title.chars().count() <= TITLE_MAX && c.title.ends_with('…'));
        let cw = c.content_warning.unwrap();
        assert!(cw.chars().count() <= CONTENT_WARNING_MAX && cw.ends_with('…'));
    }

    #[test]
    fn remote_threads_need_words_and_replies_need_text() {
        let empty = RemoteContent::default();
        assert_eq!(
            Content::from_remote(&empty, false).unwrap_err().field,
            "title"
        );
        assert_eq!(
            Content::from_remote(&empty, true).unwrap_err().field,
            "body"
        );
        let untitled = RemoteContent {
            html: Some("<p>How do you pace yourselves?</p>".into()),
            ..Default::default()
        };
        assert_eq!(
            Content::from_remote(&untitled, false).unwrap().title,
            "How do you pace yourselves?"
        );
    }

    #[test]
    fn support_kind_comes_from_the_property_or_a_hashtag_on_threads_only() {
        let mut r = remote_thread("<p>t</p>");
        r.hashtags = vec!["Emotional_Support".into()];
        assert_eq!(
            Content::from_remote(&r, false).unwrap().support_kind,
            Some(SupportKind::Emotional)
        );
        r.support_kind = Some("resource".into());
        assert_eq!(
            Content::from_remote(&r, false).unwrap().support_kind,
            Some(SupportKind::Resource)
        );
        assert_eq!(Content::from_remote(&r, true).unwrap().support_kind, None);
    }
}
