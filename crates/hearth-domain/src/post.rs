//! Posts: the support kinds a member chooses, who can read a post, the
//! reactions a reader can give, and the limits on what is written.

use std::fmt;
use std::str::FromStr;

use crate::ValidationError;
use crate::account::{UnknownValue, trimmed_text};

pub const TITLE_MAX: usize = 200;
pub const BODY_MAX: usize = 20_000;
pub const CONTENT_WARNING_MAX: usize = 500;

/// Simple enums spelled with hyphens on the wire and in the API.
macro_rules! spelled_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownValue {
                        got: other.to_owned(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}

spelled_enum! {
    /// What a post asks for or offers, chosen by its author.
    SupportKind {
        /// I need support or encouragement.
        Emotional => "emotional",
        /// A question about my own condition or treatment.
        MySituation => "my-situation",
        /// About the illness in general.
        GeneralKnowledge => "general-knowledge",
        /// What worked for me.
        Experience => "experience",
        /// An article, service or event.
        Resource => "resource",
    }
}

impl SupportKind {
    /// The hashtag that carries the kind to software that does not know
    /// Hearth's own property (letters and underscores only, as Mastodon
    /// hashtags must be).
    pub fn hashtag(self) -> &'static str {
        match self {
            SupportKind::Emotional => "emotional_support",
            SupportKind::MySituation => "my_situation",
            SupportKind::GeneralKnowledge => "general_knowledge",
            SupportKind::Experience => "experience",
            SupportKind::Resource => "resource",
        }
    }

    /// The kind a hashtag stands for (case-insensitive, `#` optional).
    pub fn from_hashtag(tag: &str) -> Option<Self> {
        let tag = tag.trim_start_matches('#').to_ascii_lowercase();
        SupportKind::ALL
            .iter()
            .copied()
            .find(|k| k.hashtag() == tag)
    }

    /// One plain-language line explaining the kind, for compose forms.
    pub fn explain(self) -> &'static str {
        match self {
            SupportKind::Emotional => "I need support or encouragement",
            SupportKind::MySituation => "A question about my own condition or treatment",
            SupportKind::GeneralKnowledge => "About the illness in general",
            SupportKind::Experience => "Sharing what worked for me",
            SupportKind::Resource => "An article, service or event",
        }
    }
}

spelled_enum! {
    /// Whose voice a post is in, chosen by its author. Only a verified
    /// professional may speak as one; everyone else, and anyone who does
    /// not choose, speaks as a peer.
    #[derive(Default)]
    SpeakingAs {
        /// As someone living with it (the default).
        #[default]
        Peer => "peer",
        /// As a verified professional: the post carries the disclaimer.
        Professional => "professional",
    }
}

impl SpeakingAs {
    /// What a member chose (empty: a peer), naming the field
    /// `speaking_as` when it is not a choice.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "" => Ok(SpeakingAs::Peer),
            other => other.parse().map_err(|_| {
                ValidationError::new(
                    "speaking_as",
                    "invalid",
                    "Choose to speak as a peer or as a professional",
                )
            }),
        }
    }
}

spelled_enum! {
    /// Who may read a post. Every post has one from the moment it exists.
    Visibility {
        /// People with an account on this server who are in the group;
        /// never sent to other servers.
        Local => "local",
        /// Members of the group, wherever their server is.
        Members => "members",
        /// Anyone, including people without an account.
        Public => "public",
    }
}

impl Visibility {
    /// Whether the post may leave this server.
    pub fn federates(self) -> bool {
        !matches!(self, Visibility::Local)
    }
}

spelled_enum! {
    /// The support reactions a reader can give. No scores, no dislikes.
    Reaction {
        Hug => "hug",
        MeToo => "me-too",
        Helpful => "helpful",
    }
}

impl Reaction {
    /// The emoji carried as the `content` of a `Like` (and understood in
    /// an `EmojiReact`).
    pub fn emoji(self) -> &'static str {
        match self {
            Reaction::Hug => "🤗",
            Reaction::MeToo => "🙋",
            Reaction::Helpful => "💡",
        }
    }

    /// The reaction an incoming emoji stands for. A plain `Like` (no
    /// emoji), as Mastodon favourites and Lemmy upvotes arrive, counts as
    /// "helpful".
    pub fn from_emoji(content: Option<&str>) -> Option<Self> {
        match content.map(str::trim) {
            None | Some("") | Some("❤") | Some("❤️") | Some("👍") => {
                Some(Reaction::Helpful)
            }
            Some(e) => Reaction::ALL
                .iter()
                .copied()
                .find(|r| r.emoji() == e || r.as_str() == e),
        }
    }
}

/// A thread's title: required, one line.
pub fn parse_title(raw: &str) -> Result<String, ValidationError> {
    let text = trimmed_text(raw, "title", TITLE_MAX, "A title")?;
    if text.is_empty() {
        return Err(ValidationError::new(
            "title",
            "required",
            "Your post needs a title",
        ));
    }
    if text.contains('\n') {
        return Err(ValidationError::new(
            "title",
            "invalid_characters",
            "A title must fit on one line",
        ));
    }
    Ok(text)
}

/// A post's or reply's body (Markdown): required for replies, optional for
/// threads with a title.
pub fn parse_body(raw: &str, required: bool) -> Result<String, ValidationError> {
    let text = trimmed_text(raw, "body", BODY_MAX, "A post")?;
    if required && text.is_empty() {
        return Err(ValidationError::new(
            "body",
            "required",
            "Write something before sending",
        ));
    }
    Ok(text)
}

/// An optional content warning, shown instead of the body until opened.
pub fn parse_content_warning(raw: &str) -> Result<Option<String>, ValidationError> {
    let text = trimmed_text(
        raw,
        "content_warning",
        CONTENT_WARNING_MAX,
        "A content warning",
    )?;
    Ok((!text.is_empty()).then_some(text))
}

/// An optional link (an article, a service, an event): a web address.
pub fn parse_link(raw: &str) -> Result<Option<String>, ValidationError> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        ValidationError::new(
            "link",
            "invalid",
            "Enter a web address that starts with https:// or http://, or leave it empty",
        )
    };
    if text.len() > 2048 {
        return Err(invalid());
    }
    let url = url::Url::parse(text).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid());
    }
    Ok(Some(url.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_kinds_round_trip_through_spelling_and_hashtag() {
        for kind in SupportKind::ALL {
            assert_eq!(kind.as_str().parse::<SupportKind>().unwrap(), *kind);
            assert_eq!(
                SupportKind::from_hashtag(&format!("#{}", kind.hashtag().to_uppercase())),
                Some(*kind)
            );
            assert!(
                kind.hashtag()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
        }
        assert!("diagnosis".parse::<SupportKind>().is_err());
    }

    #[test]
    fn speaking_as_defaults_to_a_peer() {
        assert_eq!(SpeakingAs::parse(" ").unwrap(), SpeakingAs::Peer);
        assert_eq!(SpeakingAs::default(), SpeakingAs::Peer);
        assert_eq!(
            SpeakingAs::parse("professional").unwrap(),
            SpeakingAs::Professional
        );
        assert_eq!(
            SpeakingAs::parse("doctor").unwrap_err().field,
            "speaking_as"
        );
        for s in SpeakingAs::ALL {
            assert_eq!(s.as_str().parse::<SpeakingAs>().unwrap(), *s);
        }
    }

    #[test]
    fn reactions_map_emoji_and_plain_likes() {
        assert_eq!(Reaction::from_emoji(None), Some(Reaction::Helpful));
        assert_eq!(Reaction::from_emoji(Some("🤗")), Some(Reaction::Hug));
        assert_eq!(Reaction::from_emoji(Some("me-too")), Some(Reaction::MeToo));
        assert_eq!(Reaction::from_emoji(Some("🔥")), None);
    }

    #[test]
    fn post_fields_are_checked() {
        assert_eq!(parse_title(" ").unwrap_err().code, "required");
        assert_eq!(parse_title(&"x".repeat(201)).unwrap_err().code, "too_long");
        assert_eq!(parse_body("", true).unwrap_err().code, "required");
        assert_eq!(
            parse_body(&"x".repeat(20_001), false).unwrap_err().code,
            "too_long"
        );
        assert_eq!(parse_content_warning("  ").unwrap(), None);
        assert_eq!(
            parse_content_warning(" self-harm ").unwrap().as_deref(),
            Some("self-harm")
        );
        assert!(!Visibility::Local.federates() && Visibility::Members.federates());
        assert_eq!(parse_link(" ").unwrap(), None);
        assert_eq!(
            parse_link("https://nhs.uk/ms").unwrap().as_deref(),
            Some("https://nhs.uk/ms")
        );
        for bad in ["javascript:alert(1)", "nhs.uk", "ftp://x.org/f", "https://"] {
            assert_eq!(parse_link(bad).unwrap_err().field, "link", "{bad}");
        }
    }
}
