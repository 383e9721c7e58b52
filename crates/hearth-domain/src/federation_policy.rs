//! Which servers this instance talks to: the admin's federation mode and
//! domain rules, and the standing of a server they give.
//!
//! - **Mode.** `open`: every server, and no rule is applied (a list can be
//!   prepared, or set aside, without taking effect). `blocklist` (the
//!   default): every server but those a rule blocks. `allowlist`: only the
//!   servers a rule allows, still minus those a rule blocks.
//! - **Rules.** A rule names a domain and covers it and every subdomain
//!   (`example.org` covers `social.example.org`), as Mastodon's do. A rule
//!   that names a port (`example.org:8443`) covers that one server only.
//!   For a server, the most specific rule decides (a port, then the
//!   longest domain); at the same domain, the admin's own rule wins over
//!   one from a subscribed list, and between lists the stricter one
//!   (suspend, then limit, then allow). A rule past its expiry no longer
//!   applies.
//! - **Lists.** A subscribed list ([`ListKind`]) is a blocklist, whose
//!   entries suspend, or an allowlist, whose entries allow.
//! - **Severity.** `suspend`: no traffic either way. `limit`: the server's
//!   content is kept from discovery and shown only to those who joined
//!   with it.

use chrono::{DateTime, Utc};

use crate::ValidationError;

/// How the instance chooses the servers it federates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FederationMode {
    /// Every server; rules are kept but not applied.
    Open,
    /// Every server but those a rule blocks.
    #[default]
    Blocklist,
    /// Only the servers a rule allows (and no blocked one).
    Allowlist,
}

impl FederationMode {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(Self::Open),
            "blocklist" => Ok(Self::Blocklist),
            "allowlist" => Ok(Self::Allowlist),
            _ => Err(ValidationError::new(
                "federation.mode",
                "unknown_mode",
                "must be open, blocklist or allowlist",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Blocklist => "blocklist",
            Self::Allowlist => "allowlist",
        }
    }
}

/// What a rule does to the servers it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// No traffic either way.
    Suspend,
    /// No discovery; content only for those who joined with the server.
    Limit,
    /// May federate (what `allowlist` mode asks for).
    Allow,
}

impl RuleAction {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "suspend" => Ok(Self::Suspend),
            "limit" | "silence" => Ok(Self::Limit),
            "allow" => Ok(Self::Allow),
            _ => Err(ValidationError::new(
                "action",
                "unknown_action",
                "must be suspend, limit or allow",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Limit => "limit",
            Self::Allow => "allow",
        }
    }
}

/// What a subscribed list's entries do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Each entry suspends its domain.
    Block,
    /// Each entry allows its domain (what `allowlist` mode asks for).
    Allow,
}

impl ListKind {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "block" => Ok(Self::Block),
            "allow" => Ok(Self::Allow),
            _ => Err(ValidationError::new(
                "kind",
                "unknown_kind",
                "must be block or allow",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Allow => "allow",
        }
    }

    /// What each entry of such a list does.
    pub fn action(self) -> RuleAction {
        match self {
            Self::Block => RuleAction::Suspend,
            Self::Allow => RuleAction::Allow,
        }
    }
}

/// One domain rule as the admin (or a subscribed list) set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRule {
    /// Lower case, no trailing dot; `host:port` for one server only.
    pub domain: String,
    pub action: RuleAction,
    /// Shown to members and other servers' admins.
    pub public_reason: String,
    /// For this instance's admins only.
    pub private_reason: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// The list this rule came from; `None`: the admin's own.
    pub subscription: Option<String>,
}

impl DomainRule {
    fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }

    /// Whether this rule covers the server `host` (with `port`, if its
    /// authority names one).
    fn covers(&self, host: &str, port: Option<&str>) -> bool {
        match self.domain.rsplit_once(':') {
            Some((rule_host, rule_port)) => rule_host == host && Some(rule_port) == port,
            None => {
                host == self.domain
                    || host
                        .strip_suffix(self.domain.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
        }
    }

    /// How specific the rule is, for choosing among those that cover a
    /// server: a port first, then the longer domain, then the admin's own
    /// (the admin decides over any list), then the stricter (two lists
    /// naming one domain: the one that blocks wins, whatever their order).
    fn specificity(&self) -> (bool, usize, bool, u8) {
        (
            self.domain.contains(':'),
            self.domain.len(),
            self.subscription.is_none(),
            match self.action {
                RuleAction::Suspend => 2,
                RuleAction::Limit => 1,
                RuleAction::Allow => 0,
            },
        )
    }
}

/// A domain as rules name it: lower case, without scheme, path or a
/// trailing dot, with its port if one is given. Refuses what cannot be a
/// host name.
pub fn normalise_domain(input: &str) -> Result<String, ValidationError> {
    let invalid = || {
        ValidationError::new(
            "domain",
            "invalid_domain",
            "must be a host name such as example.org",
        )
    };
    let mut domain = input.trim().to_ascii_lowercase();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = domain.strip_prefix(scheme) {
            domain = rest.to_owned();
        }
    }
    let domain = domain
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .trim_start_matches("*.")
        .trim_end_matches('.');
    let (host, port) = match domain.split_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(port) if port > 0 => (host, Some(port)),
            _ => return Err(invalid()),
        },
        None => (domain, None),
    };
    let labels_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if labels_ok {
        Ok(match port {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        })
    } else {
        Err(invalid())
    }
}

/// Where a server stands with this instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Federates normally.
    Allowed,
    /// Federates, kept from discovery (see [`RuleAction::Limit`]).
    Limited { domain: String },
    /// No traffic either way: a rule suspends it.
    Suspended { domain: String },
    /// No traffic either way: `allowlist` mode and no rule allows it.
    NotAllowed,
}

impl Standing {
    /// Whether anything may be sent to or taken from the server.
    pub fn may_federate(&self) -> bool {
        matches!(self, Standing::Allowed | Standing::Limited { .. })
    }
}

/// The standing of the server at `authority` (`host` or `host:port`) under
/// `mode` and `rules`, at `now`.
pub fn standing(
    mode: FederationMode,
    rules: &[DomainRule],
    authority: &str,
    now: DateTime<Utc>,
) -> Standing {
    if mode == FederationMode::Open {
        return Standing::Allowed;
    }
    let (host, port) = split_authority(authority);
    let deciding = rules
        .iter()
        .filter(|rule| rule.in_force(now) && rule.covers(&host, port.as_deref()))
        .max_by_key(|rule| rule.specificity());
    match deciding.map(|rule| (rule.action, rule.domain.clone())) {
        Some((RuleAction::Suspend, domain)) => Standing::Suspended { domain },
        Some((RuleAction::Limit, domain)) => Standing::Limited { domain },
        Some((RuleAction::Allow, _)) => Standing::Allowed,
        None if mode == FederationMode::Allowlist => Standing::NotAllowed,
        None => Standing::Allowed,
    }
}

/// The host (lower case, without a trailing dot) and port of `host` or
/// `host:port` (or `[v6]:port`).
fn split_authority(authority: &str) -> (String, Option<String>) {
    let authority = authority.trim().to_ascii_lowercase();
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((host, tail)) => (host.to_owned(), tail.strip_prefix(':').map(str::to_owned)),
            None => (rest.to_owned(), None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
                (host.to_owned(), Some(port.to_owned()))
            }
            _ => (authority, None),
        }
    };
    (host.trim_end_matches('.').to_owned(), port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn rule(domain: &str, action: RuleAction) -> DomainRule {
        DomainRule {
            domain: domain.into(),
            action,
            public_reason: String::new(),
            private_reason: String::new(),
            expires_at: None,
            subscription: None,
        }
    }

    #[test]
    fn a_rule_covers_its_domain_and_subdomains_only() {
        let rules = [rule("bad.example", RuleAction::Suspend)];
        let now = Utc::now();
        let mode = FederationMode::Blocklist;
        for host in [
            "bad.example",
            "BAD.example",
            "social.bad.example",
            "bad.example:8443",
            "bad.example.",
        ] {
            assert_eq!(
                standing(mode, &rules, host, now),
                Standing::Suspended {
                    domain: "bad.example".into()
                },
                "{host}"
            );
        }
        for host in [
            "notbad.example",
            "bad.example.org",
            "example",
            "good.example",
        ] {
            assert_eq!(
                standing(mode, &rules, host, now),
                Standing::Allowed,
                "{host}"
            );
        }
    }

    #[test]
    fn the_most_specific_rule_decides_and_the_admin_wins_a_tie() {
        let now = Utc::now();
        let mut from_list = rule("fine.bad.example", RuleAction::Suspend);
        from_list.subscription = Some("https://lists.example/block.csv".into());
        let rules = [
            rule("bad.example", RuleAction::Suspend),
            rule("fine.bad.example", RuleAction::Limit),
            from_list,
        ];
        let mode = FederationMode::Blocklist;
        assert_eq!(
            standing(mode, &rules, "fine.bad.example", now),
            Standing::Limited {
                domain: "fine.bad.example".into()
            }
        );
        assert_eq!(
            standing(mode, &rules, "other.bad.example", now),
            Standing::Suspended {
                domain: "bad.example".into()
            }
        );
    }

    #[test]
    fn the_admins_own_rule_wins_over_any_list_for_the_same_domain() {
        let now = Utc::now();
        let listed = |action, list: &str| {
            let mut r = rule("b.example", action);
            r.subscription = Some(format!("https://lists.example/{list}"));
            r
        };
        let own_allow = rule("b.example", RuleAction::Allow);
        let own_suspend = rule("b.example", RuleAction::Suspend);
        let blocked = listed(RuleAction::Suspend, "block.csv");
        let allowed = listed(RuleAction::Allow, "allow.csv");
        for mode in [FederationMode::Blocklist, FederationMode::Allowlist] {
            // Whatever order the rules come in.
            for rules in [
                vec![own_allow.clone(), blocked.clone()],
                vec![blocked.clone(), own_allow.clone()],
            ] {
                assert_eq!(
                    standing(mode, &rules, "b.example", now),
                    Standing::Allowed,
                    "{mode:?}"
                );
            }
            for rules in [
                vec![own_suspend.clone(), allowed.clone()],
                vec![allowed.clone(), own_suspend.clone()],
            ] {
                assert!(
                    !standing(mode, &rules, "b.example", now).may_federate(),
                    "{mode:?}"
                );
            }
            // Two lists: the one that blocks wins.
            for rules in [
                vec![allowed.clone(), blocked.clone()],
                vec![blocked.clone(), allowed.clone()],
            ] {
                assert!(
                    !standing(mode, &rules, "b.example", now).may_federate(),
                    "{mode:?}"
                );
            }
        }
        // An own rule that has expired gives the list its say again.
        let mut expired = own_allow.clone();
        expired.expires_at = Some(now - Duration::seconds(1));
        assert!(
            !standing(
                FederationMode::Blocklist,
                &[expired, blocked],
                "b.example",
                now
            )
            .may_federate()
        );
    }

    #[test]
    fn list_kinds_parse_their_names_and_say_what_entries_do() {
        assert_eq!(ListKind::parse(" Block "), Ok(ListKind::Block));
        assert_eq!(ListKind::parse("allow"), Ok(ListKind::Allow));
        assert_eq!(ListKind::parse("suspend").unwrap_err().field, "kind");
        assert_eq!(ListKind::Block.action(), RuleAction::Suspend);
        assert_eq!(ListKind::Allow.action(), RuleAction::Allow);
    }

    #[test]
    fn a_rule_with_a_port_covers_that_server_only() {
        let now = Utc::now();
        let rules = [
            rule("localhost:4001", RuleAction::Suspend),
            rule("friend.example", RuleAction::Suspend),
            rule("friend.example:8443", RuleAction::Allow),
        ];
        let mode = FederationMode::Blocklist;
        assert!(!standing(mode, &rules, "localhost:4001", now).may_federate());
        assert_eq!(
            standing(mode, &rules, "localhost:4002", now),
            Standing::Allowed
        );
        assert_eq!(standing(mode, &rules, "localhost", now), Standing::Allowed);
        assert_eq!(
            standing(mode, &rules, "friend.example:8443", now),
            Standing::Allowed
        );
        assert!(!standing(mode, &rules, "friend.example", now).may_federate());
        assert!(!standing(mode, &rules, "friend.example:9000", now).may_federate());
    }

    #[test]
    fn an_expired_rule_no_longer_applies() {
        let now = Utc::now();
        let mut expired = rule("bad.example", RuleAction::Suspend);
        expired.expires_at = Some(now - Duration::seconds(1));
        let mut current = rule("worse.example", RuleAction::Suspend);
        current.expires_at = Some(now + Duration::hours(1));
        let rules = [expired, current];
        let mode = FederationMode::Blocklist;
        assert_eq!(
            standing(mode, &rules, "bad.example", now),
            Standing::Allowed
        );
        assert!(!standing(mode, &rules, "worse.example", now).may_federate());
    }

    #[test]
    fn modes_decide_what_happens_without_a_rule() {
        let now = Utc::now();
        let rules = [
            rule("friend.example", RuleAction::Allow),
            rule("bad.friend.example", RuleAction::Suspend),
            rule("bad.example", RuleAction::Suspend),
        ];
        use FederationMode::*;
        assert_eq!(
            standing(Open, &rules, "bad.example", now),
            Standing::Allowed
        );
        assert_eq!(
            standing(Blocklist, &rules, "stranger.example", now),
            Standing::Allowed
        );
        assert_eq!(
            standing(Allowlist, &rules, "stranger.example", now),
            Standing::NotAllowed
        );
        assert_eq!(
            standing(Allowlist, &rules, "friend.example", now),
            Standing::Allowed
        );
        assert_eq!(
            standing(Allowlist, &rules, "a.friend.example", now),
            Standing::Allowed
        );
        assert!(!standing(Allowlist, &rules, "bad.friend.example", now).may_federate());
    }

    #[test]
    fn domains_are_normalised_or_refused_with_the_field_named() {
        for (input, expected) in [
            ("Example.ORG", "example.org"),
            ("https://example.org/about", "example.org"),
            ("*.example.org", "example.org"),
            ("example.org:8443", "example.org:8443"),
            ("http://localhost:8080/inbox", "localhost:8080"),
            ("example.org.", "example.org"),
            (" localhost ", "localhost"),
        ] {
            assert_eq!(normalise_domain(input).as_deref(), Ok(expected), "{input}");
        }
        for input in [
            "",
            "exa mple.org",
            "-bad.org",
            "a..b",
            "example.org:port",
            "example.org:0",
            "example.org:70000",
            "ex<ample>.org",
        ] {
            let err = normalise_domain(input).unwrap_err();
            assert_eq!(err.field, "domain", "{input}");
        }
    }

    #[test]
    fn modes_and_actions_parse_their_names() {
        assert_eq!(
            FederationMode::parse("Allowlist"),
            Ok(FederationMode::Allowlist)
        );
        assert!(FederationMode::parse("closed").is_err());
        assert_eq!(RuleAction::parse("silence"), Ok(RuleAction::Limit));
        assert_eq!(RuleAction::parse(" suspend "), Ok(RuleAction::Suspend));
        assert!(RuleAction::parse("ban").is_err());
    }
}
