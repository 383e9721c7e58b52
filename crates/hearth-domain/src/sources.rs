//! Sources and moderators' labels: what backs a post about the illness in
//! general or a resource (a web address, a title and what kind of source it
//! is), how many independent sources that makes, and the label a group's
//! moderators can put on a post ("needs sources", "disputed") with a note
//! and a link to better information.
//!
//! Only `general-knowledge` and `resource` threads list sources; the same
//! rules hold for what a member types here and for what another server
//! sends (see [`from_remote`]: what is wrong there is dropped, since the
//! other server cannot be asked).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::account::UnknownValue;
use crate::post::SupportKind;

/// The most sources one post may list.
pub const MAX_SOURCES: usize = 10;
/// The longest title of a source, in characters.
pub const SOURCE_TITLE_MAX: usize = 200;
/// The longest note on a label, in characters.
pub const LABEL_NOTE_MAX: usize = 500;
/// The longest web address kept.
const URL_MAX: usize = 2048;

/// Declares a kind spelled with hyphens in the API, on the wire and in the
/// database, with a plain-language description.
macro_rules! spelled {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal : $describe:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// What it means, in plain words.
            pub fn describe(self) -> &'static str {
                match self {
                    $($name::$variant => $describe),+
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

spelled! {
    /// What kind of source a post cites.
    SourceKind {
        PeerReviewed => "peer-reviewed": "Peer-reviewed research",
        Guideline => "guideline": "Clinical guideline",
        PatientOrganisation => "patient-organisation": "Patient organisation",
        News => "news": "News",
        PersonalExperience => "personal-experience": "Personal experience",
    }
}

spelled! {
    /// A label a group's moderators put on a post.
    LabelKind {
        NeedsSources => "needs-sources": "Needs sources",
        Disputed => "disputed": "Disputed",
    }
}

/// One source a post lists: a checked web address, a plain title, a kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub url: String,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: SourceKind,
}

/// A source as typed (empty strings for empty fields), or as another
/// server sent it: nothing checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSource {
    pub url: String,
    pub title: String,
    pub kind: String,
}

/// What a label says: its kind, a note, an optional link to better
/// information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub kind: LabelKind,
    pub note: String,
    pub link: Option<String>,
}

/// Whether threads of this kind may list sources.
pub fn kind_lists_sources(kind: Option<SupportKind>) -> bool {
    matches!(
        kind,
        Some(SupportKind::GeneralKnowledge | SupportKind::Resource)
    )
}

/// The field names of the sources' fields, so that each error names the
/// row and field it is about (`sources[2].url`).
const FIELDS: [[&str; 3]; MAX_SOURCES] = [
    ["sources[0].url", "sources[0].title", "sources[0].type"],
    ["sources[1].url", "sources[1].title", "sources[1].type"],
    ["sources[2].url", "sources[2].title", "sources[2].type"],
    ["sources[3].url", "sources[3].title", "sources[3].type"],
    ["sources[4].url", "sources[4].title", "sources[4].type"],
    ["sources[5].url", "sources[5].title", "sources[5].type"],
    ["sources[6].url", "sources[6].title", "sources[6].type"],
    ["sources[7].url", "sources[7].title", "sources[7].type"],
    ["sources[8].url", "sources[8].title", "sources[8].type"],
    ["sources[9].url", "sources[9].title", "sources[9].type"],
];

/// An http or https address with a host, or `None`.
fn web_url(raw: &str) -> Option<String> {
    let text = raw.trim();
    if text.is_empty() || text.len() > URL_MAX {
        return None;
    }
    let url = url::Url::parse(text).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host_str().is_some()).then(|| url.to_string())
}

/// `raw` on one line: trimmed, whitespace made spaces, control
/// characters dropped.
fn one_line(raw: &str) -> String {
    raw.trim()
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect()
}

/// A plain one-line title, or what is wrong with it.
fn plain_title(raw: &str) -> Result<String, (&'static str, String)> {
    let text = one_line(raw);
    if text.is_empty() {
        return Err(("required", "Give the source a title".into()));
    }
    if text.chars().count() > SOURCE_TITLE_MAX {
        return Err((
            "too_long",
            format!("Keep the title under {SOURCE_TITLE_MAX} characters"),
        ));
    }
    Ok(text)
}

/// The sources a member typed for a thread of `kind`: rows left wholly
/// empty are skipped (a form's spare rows); every problem is reported at
/// once, each naming its row and field; sources on a kind that does not
/// list them are refused, naming `sources`.
pub fn parse_sources(
    kind: Option<SupportKind>,
    raw: &[RawSource],
) -> Result<Vec<Source>, Vec<ValidationError>> {
    let rows: Vec<&RawSource> = raw
        .iter()
        .filter(|r| !(r.url.trim().is_empty() && r.title.trim().is_empty()))
        .collect();
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    if !kind_lists_sources(kind) {
        return Err(vec![ValidationError::new(
            "sources",
            "not_allowed",
            "Only posts about the illness in general and resources can list sources",
        )]);
    }
    if rows.len() > MAX_SOURCES {
        return Err(vec![ValidationError::new(
            "sources",
            "too_many",
            format!("A post can list at most {MAX_SOURCES} sources"),
        )]);
    }
    let mut errors = Vec::new();
    let mut sources = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        let [url_field, title_field, type_field] = FIELDS[i];
        let url = web_url(&row.url);
        if url.is_none() {
            errors.push(ValidationError::new(
                url_field,
                "invalid",
                "Enter a web address that starts with https:// or http://",
            ));
        }
        let title = plain_title(&row.title)
            .map_err(|(code, message)| {
                errors.push(ValidationError::new(title_field, code, message))
            })
            .ok();
        let source_kind = match row.kind.trim() {
            "" => {
                errors.push(ValidationError::new(
                    type_field,
                    "required",
                    "Choose what kind of source this is",
                ));
                None
            }
            other => other
                .parse::<SourceKind>()
                .map_err(|e| {
                    errors.push(ValidationError::new(type_field, "invalid", e.to_string()))
                })
                .ok(),
        };
        if let (Some(url), Some(title), Some(kind)) = (url, title, source_kind) {
            sources.push(Source { url, title, kind });
        }
    }
    if errors.is_empty() {
        Ok(sources)
    } else {
        Err(errors)
    }
}

/// The sources another server sent with a thread of `kind`: nothing for a
/// kind that does not list sources; entries that are not valid are
/// dropped (a title too long is shortened); at most [`MAX_SOURCES`].
pub fn from_remote(kind: Option<SupportKind>, raw: &[RawSource]) -> Vec<Source> {
    if !kind_lists_sources(kind) {
        return Vec::new();
    }
    raw.iter()
        .filter_map(|r| {
            let url = web_url(&r.url)?;
            let kind = r.kind.trim().parse::<SourceKind>().ok()?;
            let title = match plain_title(&r.title) {
                Ok(title) => title,
                // Shortened from the title on one line: control
                // characters (a NUL, which PostgreSQL refuses to store,
                // say) go as they do from a title that fits.
                Err(("too_long", _)) => crate::text::excerpt(&one_line(&r.title), SOURCE_TITLE_MAX),
                Err(_) => return None,
            };
            Some(Source { url, title, kind })
        })
        .take(MAX_SOURCES)
        .collect()
}

/// The host a source's address stands for when counting independent
/// sources: lower-cased, a leading `www.` dropped.
pub fn source_host(url: &str) -> Option<String> {
    let host = url::Url::parse(url).ok()?.host_str()?.to_ascii_lowercase();
    Some(host.strip_prefix("www.").unwrap_or(&host).to_owned())
}

/// How many independent sources back a post: the number of distinct hosts
/// among its sources. Every source has an address (personal experience
/// too: a blog, a forum post), so two personal accounts on one site count
/// once, as two articles of one newspaper do.
pub fn independent_sources(sources: &[Source]) -> usize {
    sources
        .iter()
        .filter_map(|s| source_host(&s.url))
        .collect::<BTreeSet<_>>()
        .len()
}

/// A label as a moderator gives it: a kind, a note (plain text, required,
/// at most [`LABEL_NOTE_MAX`] characters), an optional http or https link.
/// Every problem is reported at once, naming `kind`, `note` or `link`.
pub fn parse_label(kind: &str, note: &str, link: &str) -> Result<Label, Vec<ValidationError>> {
    let mut errors = Vec::new();
    let kind = match kind.trim() {
        "" => {
            errors.push(ValidationError::new(
                "kind",
                "required",
                "Choose a label: needs sources, or disputed",
            ));
            None
        }
        other => other
            .parse::<LabelKind>()
            .map_err(|e| errors.push(ValidationError::new("kind", "invalid", e.to_string())))
            .ok(),
    };
    let note = plain_note(note);
    if note.is_empty() {
        errors.push(ValidationError::new(
            "note",
            "required",
            "Say in a few calm words why: members read this note",
        ));
    } else if note.chars().count() > LABEL_NOTE_MAX {
        errors.push(ValidationError::new(
            "note",
            "too_long",
            format!("Keep the note under {LABEL_NOTE_MAX} characters"),
        ));
    }
    let link = match link.trim() {
        "" => None,
        raw => {
            let url = web_url(raw);
            if url.is_none() {
                errors.push(ValidationError::new(
                    "link",
                    "invalid",
                    "Enter a web address that starts with https:// or http://, or leave it empty",
                ));
            }
            url
        }
    };
    match kind {
        Some(kind) if errors.is_empty() => Ok(Label { kind, note, link }),
        _ => Err(errors),
    }
}

/// A label another server sent: `None` when its kind is unknown or its
/// note empty; a note too long is shortened, a link that is not http or
/// https dropped.
pub fn label_from_remote(kind: &str, note: &str, link: Option<&str>) -> Option<Label> {
    let kind = kind.trim().parse::<LabelKind>().ok()?;
    let note = plain_note(note);
    if note.is_empty() {
        return None;
    }
    Some(Label {
        kind,
        note: crate::text::excerpt(&note, LABEL_NOTE_MAX),
        link: link.and_then(web_url),
    })
}

/// A note as plain text: HTML tags read as text, control characters other
/// than line breaks dropped, trimmed.
fn plain_note(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(url: &str, title: &str, kind: &str) -> RawSource {
        RawSource {
            url: url.into(),
            title: title.into(),
            kind: kind.into(),
        }
    }

    #[test]
    fn kinds_round_trip_through_their_spelling() {
        for kind in SourceKind::ALL {
            assert_eq!(kind.as_str().parse::<SourceKind>().unwrap(), *kind);
        }
        for kind in LabelKind::ALL {
            assert_eq!(kind.as_str().parse::<LabelKind>().unwrap(), *kind);
        }
        assert!("blog".parse::<SourceKind>().is_err());
    }

    #[test]
    fn each_bad_field_is_named_with_its_row() {
        let errors = parse_sources(
            Some(SupportKind::GeneralKnowledge),
            &[
                raw("https://nice.org.uk/ng206", "NICE guideline", "guideline"),
                raw("javascript:alert(1)", "", "rumour"),
            ],
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["sources[1].url", "sources[1].title", "sources[1].type"]
        );
    }

    #[test]
    fn only_knowledge_and_resources_list_sources() {
        let one = [raw("https://a.example/x", "A", "news")];
        assert!(parse_sources(Some(SupportKind::Resource), &one).is_ok());
        let errors = parse_sources(Some(SupportKind::Emotional), &one).unwrap_err();
        assert_eq!(errors[0].field, "sources");
        assert!(
            parse_sources(Some(SupportKind::Emotional), &[])
                .unwrap()
                .is_empty()
        );
        assert!(from_remote(Some(SupportKind::Emotional), &one).is_empty());
    }

    #[test]
    fn at_most_ten_sources() {
        let many: Vec<_> = (0..11)
            .map(|i| raw(&format!("https://s{i}.example/"), "T", "news"))
            .collect();
        assert_eq!(
            parse_sources(Some(SupportKind::Resource), &many).unwrap_err()[0].code,
            "too_many"
        );
        assert_eq!(from_remote(Some(SupportKind::Resource), &many).len(), 10);
    }

    /// Found by fuzzing (tests/fuzz/regressions/inbound_activity): a
    /// title too long was shortened with its control characters kept.
    #[test]
    fn a_long_title_from_elsewhere_loses_its_control_characters_too() {
        let long = format!("A\0B\u{7f}C\u{1b}[2J{}", "x ".repeat(SOURCE_TITLE_MAX));
        let got = from_remote(
            Some(SupportKind::Resource),
            &[raw("https://s.example/", &long, "news")],
        );
        let title = &got[0].title;
        assert!(title.starts_with("ABC[2Jx x"), "{title:?}");
        assert!(!title.chars().any(char::is_control), "{title:?}");
        assert!(title.chars().count() <= SOURCE_TITLE_MAX);
    }

    #[test]
    fn independent_sources_count_distinct_hosts() {
        let sources = parse_sources(
            Some(SupportKind::GeneralKnowledge),
            &[
                raw("https://www.NHS.uk/a", "A", "guideline"),
                raw("https://nhs.uk/b", "B", "guideline"),
                raw("http://pubmed.ncbi.nlm.nih.gov/1", "C", "peer-reviewed"),
            ],
        )
        .unwrap();
        assert_eq!(independent_sources(&sources), 2);
        assert_eq!(independent_sources(&[]), 0);
    }

    #[test]
    fn a_label_needs_a_kind_and_a_note_and_a_web_link() {
        let label = parse_label("disputed", " Not what the trials found ", "").unwrap();
        assert_eq!(label.kind, LabelKind::Disputed);
        assert_eq!(label.note, "Not what the trials found");
        let errors = parse_label("wrong", "", "ftp://x").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["kind", "note", "link"]);
        let long = "x".repeat(LABEL_NOTE_MAX + 1);
        assert_eq!(
            parse_label("needs-sources", &long, "").unwrap_err()[0].code,
            "too_long"
        );
        assert!(label_from_remote("disputed", "  ", None).is_none());
        assert_eq!(
            label_from_remote("disputed", "n", Some("javascript:x"))
                .unwrap()
                .link,
            None
        );
    }
}
