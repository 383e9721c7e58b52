//! The promise [`crate::text`] makes, checked the way a browser reads it:
//! HTML that carries nothing but the allow-list. Its tests, the property
//! tests of the sanitiser and the fuzz targets (`tests/fuzz`) all judge
//! output with [`check`], so a weaker judge cannot hide a hole in one place.
//!
//! The HTML is tokenised by html5ever (the parser ammonia is built on, and
//! the HTML standard's tokenizer), so attribute values are read after
//! character references are decoded, as a browser reads them: `&#106;avascript:`
//! is `javascript:`. Tokenising is enough, without building a tree: every
//! element that would switch the tokenizer into another state (`script`,
//! `style`, `textarea`, `title`, `plaintext`, `svg`, `math`, …) is outside
//! the allow-list and refused as soon as it starts.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use crate::text::{ALLOWED_CLASSES, ALLOWED_TAGS, ALLOWED_URL_SCHEMES, LINK_REL};

/// Markup outside the allow-list, with what it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("markup outside the allow-list: {0}")]
pub struct UnsafeMarkup(pub String);

/// Whether `html` holds only what [`crate::text::sanitize_html`] may let
/// through: elements of [`ALLOWED_TAGS`] (so no `h1`/`h2`, which it
/// renames); on them only `a[href|class|rel]`, `span[class]` and
/// `ol[start]`; no event handler or other attribute; `href` an absolute
/// http, https or mailto address once decoded and stripped as a browser
/// strips it; classes from [`ALLOWED_CLASSES`]; `rel` exactly
/// [`LINK_REL`]; `start` a number; and no comment, doctype or CDATA. Text
/// is inert wherever it stands, so it is not judged. The first problem is
/// returned.
pub fn check(html: &str) -> Result<(), UnsafeMarkup> {
    let sink = Judge::default();
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    match tokenizer.sink.found.into_inner() {
        Some(problem) => Err(UnsafeMarkup(problem)),
        None => Ok(()),
    }
}

/// Collects the first problem met.
#[derive(Default)]
struct Judge {
    found: RefCell<Option<String>>,
}

impl TokenSink for Judge {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let problem = match token {
            Token::TagToken(tag) => judge_tag(&tag),
            Token::CommentToken(text) => Some(format!("a comment <!--{text}-->")),
            Token::DoctypeToken(_) => Some("a doctype".to_owned()),
            Token::CharacterTokens(_)
            | Token::NullCharacterToken
            | Token::EOFToken
            | Token::ParseError(_) => None,
        };
        if let Some(problem) = problem {
            self.found.borrow_mut().get_or_insert(problem);
        }
        TokenSinkResult::Continue
    }
}

fn judge_tag(tag: &Tag) -> Option<String> {
    let name: &str = &tag.name;
    if !ALLOWED_TAGS.contains(&name) {
        return Some(format!("the element <{name}>"));
    }
    if tag.kind == TagKind::EndTag {
        return None;
    }
    for attribute in &tag.attrs {
        let attr: &str = &attribute.name.local;
        let value: &str = &attribute.value;
        if attribute.name.prefix.is_some() || attr.starts_with("on") {
            return Some(format!("the attribute {name}[{attr}]"));
        }
        let fine = match (name, attr) {
            ("a", "href") => url_scheme(value)
                .is_some_and(|scheme| ALLOWED_URL_SCHEMES.contains(&scheme.as_str())),
            ("a" | "span", "class") => value
                .split_ascii_whitespace()
                .all(|class| ALLOWED_CLASSES.contains(&class)),
            ("a", "rel") => value == LINK_REL,
            ("ol", "start") => !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
            _ => return Some(format!("the attribute {name}[{attr}]")),
        };
        if !fine {
            return Some(format!("{name}[{attr}={value:?}]"));
        }
    }
    None
}

/// The scheme a browser's URL parser reads in `value`, lower-cased, or
/// `None` for a relative URL. Per the URL standard: leading and trailing C0
/// controls and spaces are stripped, tabs and newlines removed anywhere,
/// then a scheme is an ASCII letter followed by letters, digits, `+`, `-`
/// or `.`, ended by `:`.
fn url_scheme(value: &str) -> Option<String> {
    let stripped: String = value
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let (scheme, _) = stripped.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then(|| scheme.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn allow_list_html_passes() {
        for fine in [
            "",
            "plain text with javascript: and &lt;script&gt; as words, and a lone < or >",
            "<p>Hi <a href=\"https://ok.example/?a=1&amp;b=2\" class=\"mention u-url\" rel=\"nofollow noopener noreferrer ugc\">@a</a></p>",
            "<ol start=\"3\"><li>x</li></ol><h3>t</h3><pre><code>x &lt; y</code></pre>",
            "<a href=\"mailto:ann@example.org\" rel=\"nofollow noopener noreferrer ugc\">m</a>",
            "<a href=\"  HTTPS://ok.example\" rel=\"nofollow noopener noreferrer ugc\">x</a>",
            "<span class=\"h-card\"><br><hr></span>",
        ] {
            assert_eq!(check(fine), Ok(()), "{fine}");
        }
    }

    #[test]
    fn script_capable_markup_is_caught_however_it_is_spelled() {
        for bad in [
            "<script>x</script>",
            "<ScRiPt>x</sCrIpT>",
            "<svg><a href=\"https://ok.example\">x</a></svg>",
            "<math>x</math>",
            "<img src=x>",
            "<iframe srcdoc=x>",
            "<h1>x</h1>",
            "<div>x</div>",
            "<p onclick=\"x\">x</p>",
            "<p ONCLICK=x>x</p>",
            "<p style=\"x\">x</p>",
            "<a href=\"javascript:x\">x</a>",
            "<a href=\"JaVaScRiPt:x\">x</a>",
            "<a href=\" java\tscript:x\">x</a>",
            "<a href=\"jav&#x09;ascript:x\">x</a>",
            "<a href=\"&#106;avascript:x\">x</a>",
            "<a href=\"&#x6A;avascript&colon;x\">x</a>",
            "<a href=\"\u{1}javascript:x\">x</a>",
            "<a href=\"vbscript:x\">x</a>",
            "<a href=\"data:text/html,x\">x</a>",
            "<a href=\"/relative\">x</a>",
            "<a href=\"//evil.example/\">x</a>",
            "<a>x</a><a xlink:href=\"javascript:x\">x</a>",
            "<a href=\"https://ok.example/\" rel=\"opener\">x</a>",
            "<span class=\"evil\">x</span>",
            "<ol start=\"1;x\"><li>x</li></ol>",
            "<!-- x -->",
            "<![CDATA[x]]>",
            "<!doctype html>",
        ] {
            assert!(check(bad).is_err(), "missed {bad}");
        }
    }

    #[test]
    fn a_problem_names_what_it_found() {
        let err = check("<p>ok</p><a href=\"javascript:alert(1)\">x</a>").unwrap_err();
        assert!(err.to_string().contains("javascript:alert(1)"), "{err}");
    }
}
