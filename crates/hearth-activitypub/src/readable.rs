//! Sources and labels as readable text, for software that does not read
//! Hearth's `sources` and `label` (Lemmy, Mbin and PieFed read a post's
//! Markdown `source`; Mastodon a thread's note): the label as a quoted
//! line at the top, the sources as a numbered list at the end. Another
//! Hearth server reads the properties and takes these blocks off again
//! (they are rebuilt from the properties and removed only when exactly
//! so), so they are never shown twice.

use hearth_domain::sources::{Label, LabelKind, Source, independent_sources};

/// The label in one line: "Disputed by the moderators: NOTE — better
/// information: LINK".
pub fn label_line(label: &Label) -> String {
    let lead = match label.kind {
        LabelKind::Disputed => "Disputed by the moderators",
        LabelKind::NeedsSources => "The moderators ask for sources",
    };
    let note = one_line(&label.note);
    match &label.link {
        Some(link) => format!("{lead}: {note} — better information: {link}"),
        None => format!("{lead}: {note}"),
    }
}

/// The label as the Markdown block a post's `source` starts with.
pub fn label_block(label: &Label) -> String {
    format!("> {}\n\n", label_line(label))
}

/// The sources as the Markdown block a post's `source` ends with.
pub fn sources_block(sources: &[Source]) -> String {
    if sources.is_empty() {
        return String::new();
    }
    let mut block = format!(
        "\n\n**Sources ({} independent):**\n",
        independent_sources(sources)
    );
    for (i, source) in sources.iter().enumerate() {
        block.push_str(&format!(
            "\n{}. [{}]({}) ({})",
            i + 1,
            one_line(&source.title).replace(['[', ']'], ""),
            source.url.replace(['(', ')', ' '], ""),
            source.kind.describe()
        ));
    }
    block
}

/// `markdown` without the blocks [`label_block`] and [`sources_block`]
/// made for `label` and `sources`, where it starts and ends exactly so.
pub fn without_blocks(markdown: &str, label: Option<&Label>, sources: &[Source]) -> String {
    let mut text = markdown;
    if let Some(label) = label {
        let block = label_block(label);
        text = text.strip_prefix(block.as_str()).unwrap_or(text);
    }
    let block = sources_block(sources);
    if !block.is_empty() {
        text = text.strip_suffix(block.as_str()).unwrap_or(text);
    }
    text.to_owned()
}

/// The label and sources as HTML paragraphs, for a thread's note.
pub fn html(label: Option<&Label>, sources: &[Source]) -> String {
    let mut out = String::new();
    if let Some(label) = label {
        out.push_str(&format!("<p><em>{}</em></p>", escape(&label_line(label))));
    }
    if !sources.is_empty() {
        out.push_str(&format!(
            "<p>Sources ({} independent):",
            independent_sources(sources)
        ));
        for source in sources {
            let href = escape(&source.url);
            out.push_str(&format!(
                "<br><a href=\"{href}\">{}</a> ({})",
                escape(&source.title),
                source.kind.describe()
            ));
        }
        out.push_str("</p>");
    }
    out
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_domain::sources::SourceKind;

    #[test]
    fn the_blocks_come_off_again_exactly() {
        let label = Label {
            kind: LabelKind::Disputed,
            note: "Not what the trials found".into(),
            link: Some("https://nice.org.uk/ng206".into()),
        };
        let sources = vec![Source {
            url: "https://nhs.uk/a".into(),
            title: "NHS page".into(),
            kind: SourceKind::Guideline,
        }];
        let md = format!(
            "{}Rest helps.{}",
            label_block(&label),
            sources_block(&sources)
        );
        assert!(md.starts_with(
            "> Disputed by the moderators: Not what the trials found — better information: https://nice.org.uk/ng206"
        ));
        assert!(md.contains("**Sources (1 independent):**"));
        assert_eq!(without_blocks(&md, Some(&label), &sources), "Rest helps.");
        assert_eq!(
            without_blocks("Rest helps.", Some(&label), &sources),
            "Rest helps."
        );
    }
}
