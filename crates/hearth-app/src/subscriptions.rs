//! Subscriptions to published domain lists: an admin names the URL of a
//! blocklist (each entry suspends its domain) or an allowlist (each entry
//! allows it), and this server keeps the list's entries as domain rules,
//! fetching it again every `federation.subscription_refresh_secs`.
//!
//! ```text
//!  subscribe / refresh / timer
//!        │
//!        ▼
//!  port::Federation::fetch_list ── network only, no transaction held
//!        │ text (≤ 1 MiB)            │ unreachable, non-2xx, too large
//!        ▼                           ▼
//!  parse_list (CSV, plain, JSON)   record last_error; the list's rules stay
//!        │ rules                     as they were
//!        ▼
//!  one write transaction: replace the rules whose source is the URL,
//!  record the fetch, cut off what is now refused ── then forget the
//!  rules cache
//! ```
//!
//! A list's rules carry its URL as their `source`, so a fetch replaces
//! them and nothing else: the admin's own rules are never touched, and at
//! the same domain they win (`hearth_domain::federation_policy`). An entry
//! gone from the list is lifted by the next fetch.
//!
//! Formats read, the same as `hearth admin domains import`: Mastodon's
//! domain block CSV (`#domain,#severity,…,#public_comment,…`), a plain list
//! of domains one per line, and the JSON array Mastodon publishes at
//! `/api/v1/instance/domain_blocks` (`[{"domain", "severity", "comment"}]`).
//! In a blocklist `suspend` suspends and `silence` limits (what Mastodon's
//! silence asks for: no discovery, shown only to those who joined);
//! `noop` entries are left out.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use hearth_db::domain_rules;
pub use hearth_db::domain_rules::{Replaced, Subscription};
use hearth_domain::ValidationError;
use hearth_domain::federation_policy::{DomainRule, ListKind, RuleAction, normalise_domain};
use serde_json::Value;
use tokio::sync::watch;

use crate::policy::{CutOff, MAX_REASON, admin_only};
use crate::port::PortError;
use crate::{Account, App, AppError};

/// Longest URL kept (the width of `domain_rules.source`).
const MAX_URL: usize = 2048;

/// One entry of a domain list as read, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Its line in a CSV or plain list; its position (from 1) in a JSON
    /// array.
    pub line: u64,
    /// As written.
    pub domain: String,
    /// Lower case; empty when the list gives none.
    pub severity: String,
    pub public_comment: String,
}

/// A domain list as read: its entries, and `(line, why)` for each line
/// that did not read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadList {
    pub entries: Vec<ListEntry>,
    pub unreadable: Vec<(u64, String)>,
}

/// The columns of Mastodon's domain block export, in its order.
pub(crate) const MASTODON_COLUMNS: [&str; 6] = [
    "#domain",
    "#severity",
    "#reject_media",
    "#reject_reports",
    "#public_comment",
    "#obfuscate",
];

/// Read a domain list in any of the three formats (see the module
/// documentation). `Err` when the text is no list at all: a JSON document
/// that does not parse or is not an array, or an HTML page.
pub fn read_domain_list(text: &str) -> Result<ReadList, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let start = text.trim_start();
    if start.starts_with('[') || start.starts_with('{') {
        read_json(start)
    } else if start.starts_with('<') {
        Err("an HTML or XML page, not a list of domains".into())
    } else {
        Ok(read_csv(text))
    }
}

/// Mastodon's `/api/v1/instance/domain_blocks`: `comment` there,
/// `public_comment` in its admin API; both are read.
fn read_json(text: &str) -> Result<ReadList, String> {
    let items: Vec<Value> = match serde_json::from_str(text) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return Err("a JSON document that is not an array of domains".into()),
        Err(e) => return Err(format!("JSON that does not parse: {e}")),
    };
    let mut list = ReadList::default();
    for (i, item) in items.iter().enumerate() {
        let line = i as u64 + 1;
        let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::trim);
        match text("domain") {
            Some(domain) if !domain.is_empty() => list.entries.push(ListEntry {
                line,
                domain: domain.to_owned(),
                severity: text("severity").unwrap_or_default().to_ascii_lowercase(),
                public_comment: text("public_comment")
                    .or_else(|| text("comment"))
                    .unwrap_or_default()
                    .to_owned(),
            }),
            _ => list
                .unreadable
                .push((line, "an entry without a domain".into())),
        }
    }
    Ok(list)
}

/// Mastodon's CSV (its header names the columns, in any order; without
/// one, Mastodon's order is assumed) or bare domains, one per line. Lines
/// starting with `#` other than the header are comments.
fn read_csv(text: &str) -> ReadList {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut columns: Option<Vec<String>> = None;
    let mut list = ReadList::default();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                list.unreadable.push((line, err.to_string()));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let first = record.get(0).unwrap_or_default();
        let is_header = columns.is_none()
            && record
                .iter()
                .any(|c| c.eq_ignore_ascii_case("#domain") || c.eq_ignore_ascii_case("domain"))
            && (first.starts_with('#') || first.eq_ignore_ascii_case("domain"));
        if is_header {
            columns = Some(
                record
                    .iter()
                    .map(|c| {
                        let c = c.to_ascii_lowercase();
                        if c.starts_with('#') {
                            c
                        } else {
                            format!("#{c}")
                        }
                    })
                    .collect(),
            );
            continue;
        }
        if first.is_empty() || first.starts_with('#') {
            continue;
        }
        let field = |name: &str| -> String {
            let index = match &columns {
                Some(columns) => columns.iter().position(|c| c == name),
                None => MASTODON_COLUMNS.iter().position(|c| *c == name),
            };
            index
                .and_then(|i| record.get(i))
                .unwrap_or_default()
                .to_owned()
        };
        list.entries.push(ListEntry {
            line,
            domain: field("#domain"),
            severity: field("#severity").to_ascii_lowercase(),
            public_comment: field("#public_comment"),
        });
    }
    list
}

/// A list's entries as rules for a subscription to it, and `(line,
/// domain, why)` for each entry left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedList {
    pub rules: Vec<DomainRule>,
    pub skipped: Vec<(u64, String, String)>,
}

/// The rules a `kind` list at `url` gives from `text`. In a blocklist an
/// entry without a severity, or `suspend`, suspends; `silence` (or `limit`)
/// limits; `noop` and anything else is left out. In an allowlist every
/// entry allows, whatever its severity. A domain named twice counts once.
///
/// `Err` (and the list's rules stay as they were) when the text is no
/// list: empty, an HTML page, JSON that is not an array, or lines of which
/// none reads as a domain. A server that answers with an error page must
/// not lift every block.
pub fn parse_list(text: &str, kind: ListKind, url: &str) -> Result<ParsedList, String> {
    if text.trim().is_empty() {
        return Err("the list is empty".into());
    }
    let read = read_domain_list(text)?;
    let mut parsed = ParsedList::default();
    let mut unreadable = read.unreadable.len();
    let mut seen = HashSet::new();
    for entry in read.entries {
        let left_out = |why: &str| (entry.line, entry.domain.clone(), why.to_owned());
        let mut action = kind.action();
        if kind == ListKind::Block {
            match entry.severity.as_str() {
                "" | "suspend" => {}
                // Mastodon's `silence` is Hearth's limit.
                "silence" | "limit" => action = RuleAction::Limit,
                "noop" => {
                    parsed.skipped.push(left_out("noop asks for nothing"));
                    continue;
                }
                other => {
                    parsed
                        .skipped
                        .push(left_out(&format!("unknown severity {other}")));
                    continue;
                }
            }
        }
        let domain = match normalise_domain(&entry.domain) {
            Ok(domain) => domain,
            Err(err) => {
                unreadable += 1;
                parsed.skipped.push(left_out(&err.message));
                continue;
            }
        };
        if !seen.insert(domain.clone()) {
            parsed.skipped.push(left_out("named before"));
            continue;
        }
        parsed.rules.push(DomainRule {
            domain,
            action,
            // A long comment is cut, not a reason to drop the entry.
            public_reason: entry
                .public_comment
                .trim()
                .chars()
                .take(MAX_REASON)
                .collect(),
            private_reason: String::new(),
            expires_at: None,
            subscription: Some(url.to_owned()),
        });
    }
    for (line, why) in read.unreadable {
        parsed.skipped.push((line, String::new(), why));
    }
    if parsed.rules.is_empty() && unreadable > 0 {
        return Err(format!(
            "no line reads as a domain ({unreadable} unreadable)"
        ));
    }
    Ok(parsed)
}

/// The URL of a list as stored: http or https, a host, no user name or
/// password (they would end up in logs and in every rule's source), no
/// fragment. Errors name the field `url`.
pub fn normalise_list_url(input: &str) -> Result<String, AppError> {
    let invalid = |code: &'static str, message: &str| {
        AppError::invalid(ValidationError::new("url", code, message))
    };
    let mut url = url::Url::parse(input.trim())
        .map_err(|_| invalid("invalid_url", "must be an http or https URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("invalid_url", "must be an http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials",
            "may not carry a user name or password",
        ));
    }
    url.set_fragment(None);
    let url = url.to_string();
    if url.len() > MAX_URL {
        return Err(invalid(
            "too_long",
            &format!("at most {MAX_URL} characters"),
        ));
    }
    Ok(url)
}

/// What a fetch of a list changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListUpdate {
    /// The list's rules now.
    pub entries: u64,
    /// Entries left out: `(line, domain, why)`.
    pub skipped: Vec<(u64, String, String)>,
    pub replaced: Replaced,
    /// What was cut off at once (servers a new entry suspends; in
    /// `allowlist` mode, servers no longer allowed).
    pub cut_off: CutOff,
}

/// What one fetch of a list did: its update, or why it failed (the list's
/// rules then stay as they were).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refreshed {
    pub url: String,
    pub outcome: Result<ListUpdate, String>,
}

/// A new subscription, after its first fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribed {
    pub subscription: Subscription,
    pub fetched: Refreshed,
}

impl App {
    /// Admin: subscribe to the `kind` (`block` or `allow`) list at `url`
    /// and fetch it at once. The subscription is kept even when that first
    /// fetch fails (`fetched` says why; the next refresh tries again).
    /// `by`: the admin, `None` from the server's shell.
    pub async fn subscribe_domain_list(
        &self,
        by: Option<&Account>,
        url: &str,
        kind: &str,
    ) -> Result<Subscribed, AppError> {
        admin_only(by)?;
        let url = normalise_list_url(url)?;
        let kind = ListKind::parse(kind).map_err(AppError::invalid)?;
        let txn = hearth_db::begin_write(&self.db).await?;
        let subscription = domain_rules::subscribe(&txn, &url, kind, by.map(|a| a.id)).await?;
        txn.commit().await?;
        tracing::info!(%url, kind = kind.as_str(), by = by.map(|a| a.id), "subscribed to a domain list");
        let fetched = self.refresh_one(&subscription).await?;
        let subscription = domain_rules::subscription(&self.db, &url)
            .await?
            .unwrap_or(subscription);
        Ok(Subscribed {
            subscription,
            fetched,
        })
    }

    /// Admin: forget the list at `url` and lift every rule it gave (the
    /// admin's own rules stay). In `allowlist` mode, servers only it
    /// allowed are cut off at once.
    pub async fn unsubscribe_domain_list(
        &self,
        by: Option<&Account>,
        url: &str,
    ) -> Result<CutOff, AppError> {
        admin_only(by)?;
        let url = normalise_list_url(url)?;
        let txn = hearth_db::begin_write(&self.db).await?;
        if !domain_rules::unsubscribe(&txn, &url).await? {
            return Err(AppError::NotFound {
                what: "domain subscription",
            });
        }
        let cut_off = self.cut_off_refused(&txn).await?;
        txn.commit().await?;
        self.rules.forget();
        tracing::info!(%url, by = by.map(|a| a.id), ?cut_off, "unsubscribed from a domain list");
        Ok(cut_off)
    }

    /// Admin: every subscribed list, with how its last fetch went.
    pub async fn domain_subscriptions(&self) -> Result<Vec<Subscription>, AppError> {
        Ok(domain_rules::subscriptions(&self.db).await?)
    }

    /// Admin: fetch every subscribed list now, one after the other.
    pub async fn refresh_domain_subscriptions(&self) -> Result<Vec<Refreshed>, AppError> {
        let mut done = Vec::new();
        for subscription in domain_rules::subscriptions(&self.db).await? {
            match self.refresh_one(&subscription).await {
                Ok(refreshed) => done.push(refreshed),
                // Unsubscribed meanwhile.
                Err(AppError::NotFound { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(done)
    }

    /// Fetch the lists every `federation.subscription_refresh_secs` until
    /// `shutdown` turns true (or its sender is gone). Run by each process
    /// that delivers. Several processes sharing one PostgreSQL database may
    /// fetch a list at about the same time: that is harmless, as applying
    /// a list replaces its rules with the same ones (the second changes
    /// nothing); each process only fetches the lists not fetched (by any
    /// of them) within the interval, which keeps that rare.
    pub async fn keep_domain_lists_fresh(&self, mut shutdown: watch::Receiver<bool>) {
        let every = Duration::from_secs(self.config.federation.subscription_refresh_secs);
        // Wake often enough that a list is at most a tenth late.
        let tick = (every / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let due_after = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX);
        loop {
            if *shutdown.borrow() {
                return;
            }
            match domain_rules::subscriptions(&self.db).await {
                Ok(subscriptions) => {
                    let now = Utc::now();
                    for subscription in subscriptions
                        .iter()
                        .filter(|s| s.last_fetched_at.is_none_or(|at| now - at >= due_after))
                    {
                        // Only the network wait is cut short by a shutdown;
                        // what was fetched is stored whole or not at all.
                        let fetched = tokio::select! {
                            fetched = self.fetch(&subscription.url) => fetched,
                            _ = shutdown.changed() => return,
                        };
                        match self.apply_fetched(subscription, fetched).await {
                            Ok(_) | Err(AppError::NotFound { .. }) => {}
                            Err(err) => tracing::warn!(
                                url = %subscription.url,
                                %err,
                                "cannot store a fetched domain list"
                            ),
                        }
                    }
                }
                Err(err) => tracing::warn!(%err, "cannot read the domain subscriptions"),
            }
            tokio::select! {
                () = tokio::time::sleep(tick) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn fetch(&self, url: &str) -> Result<String, PortError> {
        self.port()
            .map_err(|e| PortError::Internal(e.to_string()))?
            .fetch_list(url)
            .await
    }

    async fn refresh_one(&self, subscription: &Subscription) -> Result<Refreshed, AppError> {
        let fetched = self.fetch(&subscription.url).await;
        self.apply_fetched(subscription, fetched).await
    }

    /// Store what fetching `subscription`'s list gave, in one transaction
    /// (the fetch itself happened before, outside any).
    async fn apply_fetched(
        &self,
        subscription: &Subscription,
        fetched: Result<String, PortError>,
    ) -> Result<Refreshed, AppError> {
        let url = subscription.url.as_str();
        let txn = hearth_db::begin_write(&self.db).await?;
        // Read again: it may have been unsubscribed (or subscribed anew,
        // with another kind) while the list was on its way.
        let Some(current) = domain_rules::subscription(&txn, url).await? else {
            txn.rollback().await?;
            return Err(AppError::NotFound {
                what: "domain subscription",
            });
        };
        let parsed = fetched
            .map_err(|e| e.to_string())
            .and_then(|text| parse_list(&text, current.kind, url));
        let outcome = match parsed {
            Ok(list) => {
                let entries = list.rules.len() as u64;
                let replaced = domain_rules::replace_listed(&txn, url, &list.rules).await?;
                domain_rules::record_fetch(&txn, url, Ok(entries)).await?;
                let cut_off = self.cut_off_refused(&txn).await?;
                Ok(ListUpdate {
                    entries,
                    skipped: list.skipped,
                    replaced,
                    cut_off,
                })
            }
            Err(why) => {
                domain_rules::record_fetch(&txn, url, Err(&why)).await?;
                Err(why)
            }
        };
        txn.commit().await?;
        match &outcome {
            Ok(update) => {
                self.rules.forget();
                tracing::info!(
                    url,
                    kind = current.kind.as_str(),
                    entries = update.entries,
                    skipped = update.skipped.len(),
                    added = update.replaced.added,
                    changed = update.replaced.changed,
                    lifted = update.replaced.lifted,
                    cut_off = ?update.cut_off,
                    "domain list fetched"
                );
            }
            Err(why) => tracing::warn!(
                url,
                error = %why,
                "domain list not fetched; its rules stay as they were"
            ),
        }
        Ok(Refreshed {
            url: url.to_owned(),
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://lists.example/blocks.csv";

    fn domains(list: &ParsedList) -> Vec<&str> {
        list.rules.iter().map(|r| r.domain.as_str()).collect()
    }

    #[test]
    fn mastodons_csv_gives_its_suspensions_with_their_comments() {
        let text = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
                    Spam.Example,suspend,false,false,Spam,false\n\
                    quiet.example,silence,false,false,,false\n\
                    nothing.example,noop,false,false,,false\n\
                    odd.example,ban,false,false,,false\n\
                    \"not a domain, really\",suspend,false,false,,false\n\
                    *.wild.example,suspend,true,true,\"Harassment, repeated\",false\n\
                    spam.example,suspend,false,false,again,false\n";
        let list = parse_list(text, ListKind::Block, URL).unwrap();
        assert_eq!(
            domains(&list),
            ["spam.example", "quiet.example", "wild.example"]
        );
        assert_eq!(list.rules[0].public_reason, "Spam");
        assert_eq!(list.rules[2].public_reason, "Harassment, repeated");
        let actions: Vec<RuleAction> = list.rules.iter().map(|r| r.action).collect();
        assert_eq!(
            actions,
            [RuleAction::Suspend, RuleAction::Limit, RuleAction::Suspend]
        );
        assert!(
            list.rules
                .iter()
                .all(|r| r.subscription.as_deref() == Some(URL)
                    && r.private_reason.is_empty()
                    && r.expires_at.is_none())
        );
        let skipped: Vec<(u64, &str)> = list
            .skipped
            .iter()
            .map(|(line, domain, _)| (*line, domain.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                (4, "nothing.example"),
                (5, "odd.example"),
                (6, "not a domain, really"),
                (8, "spam.example"),
            ]
        );
    }

    #[test]
    fn a_header_in_another_order_or_none_is_read_too() {
        let text = "domain,public_comment,severity\nA.example,Rude,suspend\nb.example,,noop\n";
        let list = parse_list(text, ListKind::Block, URL).unwrap();
        assert_eq!(domains(&list), ["a.example"]);
        assert_eq!(list.rules[0].public_reason, "Rude");
        // No header: Mastodon's order.
        let list = parse_list("c.example,suspend,false,false,Why\n", ListKind::Block, URL).unwrap();
        assert_eq!(domains(&list), ["c.example"]);
        assert_eq!(list.rules[0].public_reason, "Why");
    }

    #[test]
    fn a_plain_list_has_one_domain_a_line_and_comments() {
        let text = "\u{feff}# blocked by the Example collective\n\
                    spam.example\n\
                    \n\
                    https://Worse.Example/about\n\
                    # another comment\n\
                    localhost:8443\n";
        let list = parse_list(text, ListKind::Block, URL).unwrap();
        assert_eq!(
            domains(&list),
            ["spam.example", "worse.example", "localhost:8443"]
        );
        assert!(list.skipped.is_empty(), "{:?}", list.skipped);
    }

    #[test]
    fn mastodons_json_array_is_read_with_either_comment() {
        let text = r#"[
            {"domain": "spam.example", "digest": "ab12", "severity": "suspend", "comment": "Spam"},
            {"domain": "quiet.example", "severity": "silence", "comment": ""},
            {"domain": "b*d.example", "digest": "cd34", "severity": "suspend"},
            {"domain": "worse.example", "severity": "suspend", "public_comment": "Abuse"},
            {"severity": "suspend"},
            "not an object"
        ]"#;
        let list = parse_list(text, ListKind::Block, URL).unwrap();
        assert_eq!(
            domains(&list),
            ["spam.example", "quiet.example", "worse.example"]
        );
        assert_eq!(list.rules[0].public_reason, "Spam");
        assert_eq!(list.rules[1].action, RuleAction::Limit);
        assert_eq!(list.rules[2].public_reason, "Abuse");
        let lines: Vec<u64> = list.skipped.iter().map(|(line, _, _)| *line).collect();
        assert_eq!(lines, [3, 5, 6]);
    }

    #[test]
    fn an_allowlist_allows_every_entry_whatever_its_severity() {
        let text = "#domain,#severity\nfriend.example,silence\npeers.example,suspend\n";
        let list = parse_list(text, ListKind::Allow, URL).unwrap();
        assert_eq!(domains(&list), ["friend.example", "peers.example"]);
        assert!(list.rules.iter().all(|r| r.action == RuleAction::Allow));
        let list = parse_list(r#"[{"domain": "friend.example"}]"#, ListKind::Allow, URL).unwrap();
        assert_eq!(domains(&list), ["friend.example"]);
    }

    #[test]
    fn what_is_no_list_at_all_is_an_error_not_an_empty_list() {
        for text in [
            "",
            "  \n",
            "<!DOCTYPE html><html><body>Not found</body></html>",
            "{\"error\": \"Not found\"}",
            "[{\"domain\": ",
            "this is not a list\nnor is this one\n",
        ] {
            assert!(parse_list(text, ListKind::Block, URL).is_err(), "{text:?}");
        }
        // A list that only names what is left out is a list, and empty.
        let list = parse_list(
            "#domain,#severity\nquiet.example,noop\n",
            ListKind::Block,
            URL,
        )
        .unwrap();
        assert!(list.rules.is_empty());
        assert_eq!(
            parse_list("#domain,#severity\n", ListKind::Block, URL),
            Ok(ParsedList::default())
        );
        assert_eq!(
            parse_list("[]", ListKind::Block, URL),
            Ok(ParsedList::default())
        );
    }

    #[test]
    fn a_long_comment_is_cut_not_dropped() {
        let text = format!(
            "#domain,#severity,#public_comment\nspam.example,suspend,{}\n",
            "x".repeat(MAX_REASON + 50)
        );
        let list = parse_list(&text, ListKind::Block, URL).unwrap();
        assert_eq!(list.rules[0].public_reason.chars().count(), MAX_REASON);
    }

    #[test]
    fn list_urls_are_http_or_https_without_credentials() {
        assert_eq!(
            normalise_list_url(" https://Lists.Example/blocks.csv#top ").unwrap(),
            "https://lists.example/blocks.csv"
        );
        assert_eq!(
            normalise_list_url("http://127.0.0.1:8080/b.csv").unwrap(),
            "http://127.0.0.1:8080/b.csv"
        );
        for bad in [
            "",
            "lists.example/blocks.csv",
            "ftp://lists.example/blocks.csv",
            "file:///etc/passwd",
            "https://user:secret@lists.example/blocks.csv",
            "https://token@lists.example/blocks.csv",
            "javascript:alert(1)",
        ] {
            match normalise_list_url(bad) {
                Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "url", "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let long = format!("https://lists.example/{}", "a".repeat(MAX_URL));
        assert!(normalise_list_url(&long).is_err());
    }
}
