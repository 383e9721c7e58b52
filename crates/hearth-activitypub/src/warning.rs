//! A content warning in Markdown: the spoiler block Lemmy, Mbin and
//! PieFed render collapsed (`::: spoiler title` … `:::`). They read a
//! post's Markdown `source` and ignore `summary`, so that block is how a
//! warning reaches them as a warning (and not as NSFW, which `sensitive`
//! would mean to them). Hearth reading such a `source` back takes the block
//! off again when its title is the warning it read from `contentWarning`
//! or `summary`.

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

#[cfg(test)]
mod tests {
    use super::*;

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
