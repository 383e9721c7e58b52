//! Care in a group: its guidance (rules and a short "how to give support
//! here" guide) and who counts as a newcomer. Peer mentors and helpful
//! marks are facts, not rules: who may set them is decided by the
//! use-cases (`hearth-app`).

use crate::ValidationError;
use crate::text;

/// The longest rules or guide, in characters of Markdown (or of HTML, for
/// what another server sent).
pub const GUIDANCE_MAX: usize = 4000;

/// How long, in days, someone who joined counts as a newcomer.
pub const NEWCOMER_DAYS: i64 = 30;

/// How many of a newcomer's first posts the new members view shows.
pub const NEWCOMER_FIRST_POSTS: u64 = 3;

/// Guidance as written here: the Markdown kept, and its sanitised HTML.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuidanceText {
    pub source: String,
    pub html: String,
}

/// Rules or a guide typed here (`field` names it in errors): trimmed,
/// at most [`GUIDANCE_MAX`] characters, rendered through the one Markdown
/// renderer and allow-list. Empty clears it.
pub fn parse_guidance(field: &'static str, raw: &str) -> Result<GuidanceText, ValidationError> {
    let source = raw.trim().replace("\r\n", "\n");
    let length = source.chars().count();
    if length > GUIDANCE_MAX {
        let what = if field == "rules" {
            "The rules"
        } else {
            "The guide"
        };
        return Err(ValidationError::new(
            field,
            "too_long",
            format!("{what} can be at most {GUIDANCE_MAX} characters (now {length})"),
        ));
    }
    let html = if source.is_empty() {
        String::new()
    } else {
        text::markdown_to_html(&source)
    };
    Ok(GuidanceText { source, html })
}

/// Rules or a guide another server sent, as HTML: sanitised through the
/// one allow-list, and dropped (empty) when longer than a guide written
/// here could make it (four times [`GUIDANCE_MAX`], room for markup).
pub fn remote_guidance(html: Option<&str>) -> String {
    let Some(html) = html.map(str::trim).filter(|h| !h.is_empty()) else {
        return String::new();
    };
    if html.chars().count() > GUIDANCE_MAX * 4 {
        return String::new();
    }
    text::sanitize_html(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guidance_is_markdown_rendered_safely_and_bounded() {
        let g = parse_guidance("rules", "  Be kind.\n\n<script>x</script>  ").unwrap();
        assert_eq!(g.source, "Be kind.\n\n<script>x</script>");
        assert!(g.html.contains("<p>Be kind.</p>"));
        assert!(!g.html.contains("<script"));
        assert_eq!(parse_guidance("support_guide", "  ").unwrap().html, "");
        let long = "a".repeat(GUIDANCE_MAX + 1);
        let err = parse_guidance("support_guide", &long).unwrap_err();
        assert_eq!((err.field, err.code), ("support_guide", "too_long"));
        assert!(parse_guidance("rules", &"a".repeat(GUIDANCE_MAX)).is_ok());
    }

    #[test]
    fn remote_guidance_is_sanitised() {
        let html = remote_guidance(Some("<p onclick=\"x\">Hi</p><script>bad()</script>"));
        assert_eq!(html, "<p>Hi</p>");
        assert_eq!(remote_guidance(None), "");
        assert_eq!(remote_guidance(Some(&"a".repeat(GUIDANCE_MAX * 4 + 1))), "");
    }
}
