//! What link aggregators see of Hearth's own post properties, in the
//! Markdown `source` they read (Lemmy, Mbin and PieFed ignore `summary`
//! and Hearth's `supportKind`):
//! - a content warning as the spoiler block they render collapsed
//!   (`::: spoiler title` … `:::`), so it reaches them as a warning and not
//!   as NSFW, which `sensitive` would mean to them;
//! - a thread's support kind as a last line, in words and as its hashtag.
//!
//! Hearth reading such a `source` back takes both off again when they are
//! exactly what it would have written for the warning and support kind it
//! read from `contentWarning`/`summary` and `supportKind`.

/// What the block's title starts with.
pub const LABEL: &str = "Content warning: ";

/// `body` under `warning`, as a spoiler block. The title is one line with
/// no `:::` in it (which would end the block early).
pub fn spoiler(warning: &str, body: &str) -> String {
    let title = warning
        .replace(":::", " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    format!("::: spoiler {LABEL}{title}\n{}\n:::", body.trim_end())
}

/// `markdown` without the spoiler block [`spoiler`] made for `warning`,
/// when it is exactly that; otherwise unchanged.
pub fn without_spoiler(markdown: &str, warning: &str) -> String {
    let opening = spoiler(warning, "");
    let Some(head) = opening.split('\n').next() else {
        return markdown.to_owned();
    };
    let trimmed = markdown.trim();
    match trimmed
        .strip_prefix(head)
        .and_then(|rest| rest.strip_prefix('\n'))
        .and_then(|rest| rest.strip_suffix(":::"))
    {
        Some(body) => body.trim_end_matches('\n').to_owned(),
        None => markdown.to_owned(),
    }
}

/// The last line a thread of support kind `explain` (its plain-language
/// line) and `hashtag` ends with.
pub fn support_line(explain: &str, hashtag: &str) -> String {
    format!("\n\n*Support kind: {explain}* #{hashtag}")
}

/// `markdown` without the `line` [`support_line`] made, when it ends so.
pub fn without_support_line(markdown: &str, line: &str) -> String {
    markdown.strip_suffix(line).unwrap_or(markdown).to_owned()
}

/// The last line of a professional's post in Markdown (Lemmy, Mbin and
/// PieFed read `source` and no Hearth terms): the disclaimer.
pub fn disclaimer_line(disclaimer: &str) -> String {
    let text = disclaimer
        .replace(['*', '_'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    format!("\n\n*Speaking as a professional: {text}*")
}

/// The last paragraph of a professional's post in HTML (Mastodon reads
/// `content` and no Hearth terms): the disclaimer, escaped.
pub fn disclaimer_paragraph(disclaimer: &str) -> String {
    let escaped = disclaimer
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!("<p><em>Speaking as a professional: {escaped}</em></p>")
}

/// `text` without `suffix` (a disclaimer line or paragraph made above),
/// when it ends so.
pub fn without_suffix(text: &str, suffix: &str) -> String {
    text.strip_suffix(suffix).unwrap_or(text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disclaimer_comes_off_again() {
        let d = "Not advice. Ask <your> team.";
        let md = format!("Hello{}", disclaimer_line(d));
        assert_eq!(
            md,
            "Hello\n\n*Speaking as a professional: Not advice. Ask <your> team.*"
        );
        assert_eq!(without_suffix(&md, &disclaimer_line(d)), "Hello");
        let html = format!("<p>Hello</p>{}", disclaimer_paragraph(d));
        assert!(html.ends_with("Ask &lt;your&gt; team.</em></p>"));
        assert_eq!(
            without_suffix(&html, &disclaimer_paragraph(d)),
            "<p>Hello</p>"
        );
    }

    #[test]
    fn the_support_line_comes_off_again() {
        let line = support_line("I need support or encouragement", "emotional_support");
        let source = format!("Hello{line}");
        assert_eq!(
            source,
            "Hello\n\n*Support kind: I need support or encouragement* #emotional_support"
        );
        assert_eq!(without_support_line(&source, &line), "Hello");
        assert_eq!(without_support_line("Hello", &line), "Hello");
    }

    #[test]
    fn a_warning_becomes_a_collapsed_spoiler_block_and_comes_back_off() {
        let block = spoiler("pain, low mood", "It was a *hard* week.\n");
        assert_eq!(
            block,
            "::: spoiler Content warning: pain, low mood\nIt was a *hard* week.\n:::"
        );
        assert_eq!(
            without_spoiler(&block, "pain, low mood"),
            "It was a *hard* week."
        );
    }

    #[test]
    fn the_title_stays_on_one_line_and_cannot_close_the_block() {
        let block = spoiler("a\nb ::: c", "x");
        assert_eq!(
            block.lines().next(),
            Some("::: spoiler Content warning: a b c")
        );
        assert_eq!(without_spoiler(&block, "a\nb ::: c"), "x");
    }

    #[test]
    fn other_spoilers_are_left_alone() {
        let lemmy = "::: spoiler Plot\nsecret\n:::";
        assert_eq!(without_spoiler(lemmy, "pain"), lemmy);
        assert_eq!(without_spoiler("plain text", "pain"), "plain text");
    }
}
