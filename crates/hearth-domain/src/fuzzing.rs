//! What the `markdown` fuzz target (`tests/fuzz`) runs on every input, with
//! the invariants it asserts: shared with this crate's tests, which replay
//! every seed and every input that once failed through the same function,
//! so a fixed crash stays fixed under a plain `cargo test`.
//!
//! Compiled for tests and with the `fuzzing` feature only (the fuzz crate
//! turns it on); nothing in a server calls it.

use crate::{safe_html, text};

/// Render `data` as a member's Markdown and sanitise it as another
/// server's HTML, and panic unless both results hold only the allow-list
/// ([`safe_html::check`]) and sanitise to themselves (so what is stored
/// and sent is already final); then take it as plain text and an excerpt
/// no longer than asked.
pub fn markdown(data: &[u8]) {
    let input = String::from_utf8_lossy(data);
    let rendered = text::markdown_to_html(&input);
    must_be_final("markdown_to_html", &input, &rendered);
    let cleaned = text::sanitize_html(&input);
    must_be_final("sanitize_html", &input, &cleaned);
    let plain = text::html_to_plain(&input);
    let max = data.first().map_or(0, |b| usize::from(*b % 64));
    let cut = text::excerpt(&plain, max);
    assert!(
        cut.chars().count() <= max,
        "excerpt of {max} gave {cut:?} for {input:?}"
    );
    let _ = text::html_to_plain(&rendered);
}

fn must_be_final(function: &str, input: &str, output: &str) {
    if let Err(problem) = safe_html::check(output) {
        panic!("{function} let through {problem}\ninput:  {input:?}\noutput: {output:?}");
    }
    let again = text::sanitize_html(output);
    assert!(
        again == output,
        "{function}'s output changes when sanitised again\ninput:  {input:?}\nonce:   {output:?}\ntwice:  {again:?}"
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::{Path, PathBuf};

    /// The files of `tests/fuzz/<kind>/<target>` under the workspace root.
    fn files(kind: &str, target: &str) -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fuzz")
            .join(kind)
            .join(target);
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        };
        files.retain(|f| f.is_file() && !f.ends_with("README.md"));
        files.sort();
        files
    }

    /// Every seed of the `markdown` target, every input it ever failed on
    /// (`tests/fuzz/regressions/markdown`), and every line of the XSS
    /// payloads the fuzzer is seeded with, through the target's own
    /// function.
    #[test]
    fn markdown_seeds_and_regressions_hold() {
        let seeds = files("seeds", "markdown");
        assert!(seeds.len() >= 5, "seeds missing: {seeds:?}");
        let mut failed = Vec::new();
        for file in seeds.iter().chain(&files("regressions", "markdown")) {
            let data = std::fs::read(file).unwrap();
            if std::panic::catch_unwind(|| super::markdown(&data)).is_err() {
                failed.push(file.display().to_string());
            }
        }
        assert!(failed.is_empty(), "markdown fails on {failed:#?}");
        let payloads = include_str!("../tests/xss_payloads.txt");
        for line in payloads.lines().filter(|l| !l.trim().is_empty()) {
            super::markdown(line.as_bytes());
        }
    }
}
