//! Configuration: one struct, filled from `config/default.toml` (compiled
//! in), an optional file of overrides, and `HEARTH_*` environment variables,
//! in that order.
//!
//! Each key is defined once, here, with its doc comment; `config/default.toml`
//! carries the same keys with their defaults and explanations, and a test
//! keeps the two in step. Environment variable names are derived from the key
//! path (`database.url` → `HEARTH_DATABASE_URL`), so there is no second table
//! of names to keep in sync.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hearth_domain::RegistrationMode;
use serde::{Deserialize, Serialize};

/// The defaults, compiled into the binary so that a bare `hearth serve`
/// works from any folder.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// Prefix of every environment variable that overrides a key.
pub const ENV_PREFIX: &str = "HEARTH_";

/// Environment variables with the prefix that are not configuration keys.
const NON_KEY_ENV: &[&str] = &["HEARTH_CONFIG", "HEARTH_TEST_DATABASE_URL"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Public host name (and port when not 443) of this server.
    pub domain: String,
    /// Address and port the HTTP server listens on.
    pub bind: SocketAddr,
    /// Folder for the embedded database and other files.
    pub data_dir: PathBuf,
    /// Development and test switch: plain http and local addresses allowed.
    pub test_mode: bool,
    pub instance: InstanceConfig,
    pub database: DatabaseConfig,
    pub registration: RegistrationConfig,
    pub auth: AuthConfig,
    pub http: HttpConfig,
    pub federation: FederationConfig,
    pub metrics: MetricsConfig,
    pub moderation: ModerationConfig,
    pub privacy: PrivacyConfig,
    pub crisis: CrisisConfig,
    pub trust: TrustConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationConfig {
    /// Seconds an outbound request to another server may take.
    pub request_timeout_secs: u64,
    /// Activities accepted per client address per minute at the inboxes.
    pub inbox_rate_limit_per_minute: u32,
    /// Whether `hearth serve` also delivers activities (`hearth worker`
    /// always does).
    pub serve_runs_workers: bool,
    /// Deliveries one process sends at once.
    pub delivery_concurrency: u32,
    /// Deliveries one process sends at once to any one server (no more
    /// than `delivery_concurrency` in effect).
    pub delivery_per_server: u32,
    /// Longest wait between two attempts at one delivery, in seconds.
    pub retry_max_secs: u64,
    /// Hours after which a delivery that never succeeded is given up.
    pub give_up_after_hours: u64,
    /// Failed attempts in a row after which a server counts as unreachable.
    pub unreachable_after_failures: u32,
    /// Seconds before an unreachable server is tried again (doubling up to
    /// `retry_max_secs`).
    pub probe_interval_secs: u64,
    /// Servers (`host` or `host:port`) whose software Hearth does not know
    /// to keep members-only posts private, but whose admins this server's
    /// admin trusts to: they may join members-only groups and receive
    /// members-only posts.
    pub members_only_servers: Vec<String>,
    /// `open`, `blocklist` or `allowlist`: which servers this one talks
    /// to, with the admin's domain rules (`hearth_domain::federation_policy`).
    pub mode: String,
    /// Seconds between two fetches of each subscribed domain list
    /// (`crate::subscriptions`); at least [`MIN_SUBSCRIPTION_REFRESH_SECS`].
    pub subscription_refresh_secs: u64,
    /// `host:port` names on the operator's own network that outbound
    /// requests may reach although they resolve to private addresses (a
    /// domain list or the crisis webhook served inside); every other
    /// private, loopback or link-local address stays refused.
    pub allow_private_hosts: Vec<String>,
}

/// The shortest wait allowed between two fetches of a subscribed list: a
/// list's publisher should not be polled harder than this.
pub const MIN_SUBSCRIPTION_REFRESH_SECS: u64 = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModerationConfig {
    /// Whether members reading a group's moderation log see who acted
    /// (admins always do).
    pub log_shows_moderators: bool,
    /// Posts and replies one account here may write per hour; 0: no limit.
    pub posts_per_hour: u32,
    /// Groups one account here may join (or ask to join) per hour.
    pub joins_per_hour: u32,
    /// Reports one account here may make per hour.
    pub reports_per_hour: u32,
    /// Posts, replies and reactions taken from one other server per minute.
    pub remote_posts_per_minute: u32,
    /// Requests to join taken from one other server per hour.
    pub remote_joins_per_hour: u32,
    /// Reports taken from one other server per hour.
    pub remote_reports_per_hour: u32,
    /// Days the words of a post a moderator removed are kept (read only by
    /// the group's moderators) so the removal can be undone; 0: erased at
    /// once, and a removal cannot be undone.
    pub removed_kept_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// The short disclaimer under every post a verified professional
    /// writes "as a professional" (plain text, one paragraph).
    pub professional_disclaimer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Days the address a member signed in from is kept (shown to them, for
    /// their account's safety), then erased; 0: never kept.
    pub ip_retention_days: u32,
}

/// Help for a person in crisis (`crate::crisis`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrisisConfig {
    /// Whether posts and replies are checked for crisis phrases.
    pub enabled: bool,
    /// The built-in phrase lists used (`en`, `da`, `nl`, `fr`).
    pub languages: Vec<String>,
    /// A folder of phrase lists, one `LANG.txt` per language, adding
    /// languages or replacing built-in ones; empty: none.
    pub phrases_dir: String,
    /// The country this server mostly serves (ISO 3166, such as `DK`),
    /// whose resources are shown first after those in the words'
    /// language; empty: none.
    pub country: String,
    /// An address told (an HTTP POST of JSON, without the post's words)
    /// whenever a post may mean a crisis; empty: none.
    pub webhook_url: String,
    /// The helplines shown to a person whose words may mean a crisis, on
    /// the "Need help now?" page and in the message moderators send.
    pub resources: Vec<hearth_domain::crisis::CrisisResource>,
}

impl CrisisConfig {
    /// The phrase lists this configuration names: the built-in languages,
    /// then every `LANG.txt` in `phrases_dir` (replacing a built-in list
    /// of the same language). `Err` names the key and says why.
    pub fn phrases(&self) -> Result<hearth_domain::crisis::CrisisPhrases, (&'static str, String)> {
        use hearth_domain::crisis::{CrisisPhrases, PhraseList, built_in};
        for language in &self.languages {
            if built_in(language).is_none() {
                return Err((
                    "crisis.languages",
                    format!(
                        "Hearth has no built-in list for \"{language}\" (it has en, da, nl and \
                         fr); add one in crisis.phrases_dir instead"
                    ),
                ));
            }
        }
        let mut phrases = CrisisPhrases::built_in(&self.languages)
            .map_err(|e| ("crisis.languages", e.to_string()))?;
        if self.phrases_dir.is_empty() {
            return Ok(phrases);
        }
        let dir = Path::new(&self.phrases_dir);
        let entries = std::fs::read_dir(dir).map_err(|e| {
            (
                "crisis.phrases_dir",
                format!("cannot read {}: {e}", dir.display()),
            )
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        files.sort();
        for file in files {
            let Some(language) = file.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let text = std::fs::read_to_string(&file).map_err(|e| {
                (
                    "crisis.phrases_dir",
                    format!("cannot read {}: {e}", file.display()),
                )
            })?;
            let list = PhraseList::parse(language, &text)
                .map_err(|e| ("crisis.phrases_dir", format!("{}: {e}", file.display())))?;
            phrases.put(list);
        }
        Ok(phrases)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address for Prometheus metrics at `/metrics`; empty: off.
    pub bind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    /// The server's name.
    pub name: String,
    /// Who the server is for.
    pub description: String,
    /// The server's rules, shown before anyone signs up.
    pub rules: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`; empty for DATA_DIR/hearth.sqlite3.
    pub url: String,
    /// Largest number of open connections per process.
    pub max_connections: u32,
    /// Milliseconds to wait for a connection or SQLite's write lock.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationConfig {
    /// Who may create an account through the API.
    pub mode: RegistrationMode,
    /// With `approval`: a question everyone asking for an account must
    /// answer; empty: none.
    pub question: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Days a log-in lasts.
    pub token_lifetime_days: u32,
    /// Log-in, sign-up, password-change and first-run setup attempts per
    /// client address per minute (web pages and API together).
    pub rate_limit_per_minute: u32,
    /// Log-in and password-change attempts per account per minute, from
    /// any address.
    pub account_rate_limit_per_minute: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest time a request may take, in seconds, reading its body
    /// included.
    pub request_timeout_secs: u64,
    /// Longest time, in seconds, a connection may take to send a request's
    /// headers, or may stay idle between two requests.
    pub header_read_timeout_secs: u64,
    /// Seconds to let requests finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Take the client address from X-Forwarded-For (behind your own proxy).
    pub trust_forwarded_for: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// tracing filter directives.
    pub filter: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// A configuration value that cannot be used. `key` is the dotted key path;
/// `origin` says where the bad value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config key `{key}` ({origin}): {message}")]
pub struct ConfigError {
    pub key: String,
    pub origin: String,
    pub message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, origin: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            origin: origin.into(),
            message: message.into(),
        }
    }
}

/// A loaded configuration, plus what the loader noticed but did not reject.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// For example an unknown `HEARTH_*` variable, which is probably a typo.
    pub warnings: Vec<String>,
}

/// Which source set each key's value: "default", a file path, or an env var.
type Origins = BTreeMap<String, String>;

impl Config {
    /// Load defaults, then `file` (if any), then the `HEARTH_*` variables
    /// among `env`, and validate the result.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Loaded, ConfigError> {
        let mut origins = Origins::new();
        let mut table = parse_toml(DEFAULT_TOML, "built-in defaults")?;
        record_origins(&table, "", "default", &mut origins);

        if let Some(path) = file {
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new("-", &origin, format!("cannot read configuration file: {e}"))
            })?;
            let overrides = parse_toml(&text, &origin)?;
            merge(&mut table, overrides, "", &origin, &mut origins)?;
        }

        let env: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        let mut used = Vec::new();
        apply_env(&mut table, "", &env, &mut used, &mut origins)?;
        let warnings = env
            .keys()
            .filter(|k| !used.contains(k) && !NON_KEY_ENV.contains(&k.as_str()))
            .map(|k| format!("environment variable {k} is not a configuration key; ignored"))
            .collect();

        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|err| {
                let key = err.path().to_string();
                let origin = origins.get(&key).cloned().unwrap_or_else(|| "file".into());
                let message = err.into_inner().to_string();
                let first_line = message.lines().next().unwrap_or_default().to_owned();
                ConfigError::new(key, origin, first_line)
            })?;
        config.validate(&origins)?;
        Ok(Loaded { config, warnings })
    }

    /// Checks that types alone cannot express.
    fn validate(&self, origins: &Origins) -> Result<(), ConfigError> {
        let fail = |key: &str, message: String| {
            let origin = origins.get(key).cloned().unwrap_or_default();
            Err(ConfigError::new(key, origin, message))
        };
        if let Err(message) = validate_domain(&self.domain) {
            return fail("domain", message);
        }
        if !self.database.url.is_empty()
            && hearth_db::Backend::from_url(&self.database.url).is_none()
        {
            return fail(
                "database.url",
                "must start with sqlite:// or postgres:// (or be empty for the embedded database)"
                    .into(),
            );
        }
        if self.database.max_connections == 0 {
            return fail("database.max_connections", "must be at least 1".into());
        }
        if self.database.timeout_ms == 0 {
            return fail("database.timeout_ms", "must be at least 1".into());
        }
        if self.auth.token_lifetime_days == 0 {
            return fail("auth.token_lifetime_days", "must be at least 1".into());
        }
        if self.auth.rate_limit_per_minute == 0 {
            return fail("auth.rate_limit_per_minute", "must be at least 1".into());
        }
        if self.auth.account_rate_limit_per_minute == 0 {
            return fail(
                "auth.account_rate_limit_per_minute",
                "must be at least 1".into(),
            );
        }
        if self.http.max_body_bytes < 1024 {
            return fail("http.max_body_bytes", "must be at least 1024".into());
        }
        if self.federation.request_timeout_secs == 0 {
            return fail(
                "federation.request_timeout_secs",
                "must be at least 1".into(),
            );
        }
        if self.federation.inbox_rate_limit_per_minute == 0 {
            return fail(
                "federation.inbox_rate_limit_per_minute",
                "must be at least 1".into(),
            );
        }
        for (key, value) in [
            (
                "federation.delivery_concurrency",
                u64::from(self.federation.delivery_concurrency),
            ),
            (
                "federation.delivery_per_server",
                u64::from(self.federation.delivery_per_server),
            ),
            ("federation.retry_max_secs", self.federation.retry_max_secs),
            (
                "federation.give_up_after_hours",
                self.federation.give_up_after_hours,
            ),
            (
                "federation.unreachable_after_failures",
                u64::from(self.federation.unreachable_after_failures),
            ),
            (
                "federation.probe_interval_secs",
                self.federation.probe_interval_secs,
            ),
        ] {
            if value == 0 {
                return fail(key, "must be at least 1".into());
            }
        }
        if self.federation.subscription_refresh_secs < MIN_SUBSCRIPTION_REFRESH_SECS {
            return fail(
                "federation.subscription_refresh_secs",
                format!("must be at least {MIN_SUBSCRIPTION_REFRESH_SECS}"),
            );
        }
        if let Err(e) =
            hearth_domain::federation_policy::FederationMode::parse(&self.federation.mode)
        {
            return fail("federation.mode", e.message);
        }
        for server in &self.federation.members_only_servers {
            if let Err(message) = validate_domain(server) {
                return fail("federation.members_only_servers", message);
            }
        }
        if !self.metrics.bind.is_empty() && self.metrics.bind.parse::<SocketAddr>().is_err() {
            return fail(
                "metrics.bind",
                "must be an address and port such as 127.0.0.1:9477, or empty for no metrics"
                    .into(),
            );
        }
        if self.http.request_timeout_secs == 0 {
            return fail("http.request_timeout_secs", "must be at least 1".into());
        }
        if self.http.header_read_timeout_secs == 0 {
            return fail("http.header_read_timeout_secs", "must be at least 1".into());
        }
        for entry in &self.federation.allow_private_hosts {
            if let Err(message) = check_allowed_host(entry) {
                return fail("federation.allow_private_hosts", message);
            }
        }
        if let Err(message) = validate_log_filter(&self.log.filter) {
            return fail("log.filter", message);
        }
        if let Err((key, message)) = self.crisis.phrases() {
            return fail(key, message);
        }
        if !self.crisis.webhook_url.is_empty() {
            match url::Url::parse(&self.crisis.webhook_url) {
                Ok(u) if u.scheme() == "https" || (self.test_mode && u.scheme() == "http") => {}
                _ => {
                    return fail(
                        "crisis.webhook_url",
                        "must be an https:// address, or empty for no webhook".into(),
                    );
                }
            }
        }
        for (i, r) in self.crisis.resources.iter().enumerate() {
            let key = format!("crisis.resources[{i}]");
            if r.name.trim().is_empty() {
                return fail(&key, "every resource needs a name".into());
            }
            if r.phone.trim().is_empty() && r.url.trim().is_empty() {
                return fail(
                    &key,
                    format!("\"{}\" needs a phone number or a web address", r.name),
                );
            }
            if !r.url.is_empty()
                && !url::Url::parse(&r.url)
                    .is_ok_and(|u| u.scheme() == "https" || u.scheme() == "http")
            {
                return fail(&key, format!("\"{}\": url must be a web address", r.name));
            }
        }
        if let Err(message) =
            hearth_domain::professional::check_disclaimer(&self.trust.professional_disclaimer)
        {
            return fail("trust.professional_disclaimer", message);
        }
        Ok(())
    }

    /// The database URL to connect to: the configured one, or the embedded
    /// SQLite file under `data_dir`.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}",
                self.data_dir.join("hearth.sqlite3").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    /// The configuration as TOML, with any password in the database URL
    /// hidden, for `hearth config check`.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = redact_url_password(&self.database.url);
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot render configuration: {e}\n"))
    }
}

fn parse_toml(text: &str, origin: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| {
        let message = e.message().to_owned();
        let span = e
            .span()
            .map(|s| {
                let line = text[..s.start.min(text.len())].lines().count().max(1);
                format!(" (line {line})")
            })
            .unwrap_or_default();
        ConfigError::new("-", origin, format!("not valid TOML{span}: {message}"))
    })
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn record_origins(table: &toml::Table, prefix: &str, origin: &str, origins: &mut Origins) {
    for (key, value) in table {
        let path = join(prefix, key);
        match value {
            toml::Value::Table(inner) => record_origins(inner, &path, origin, origins),
            _ => {
                origins.insert(path, origin.to_owned());
            }
        }
    }
}

/// Lay `overrides` over `base`. A key the defaults do not have is an error
/// naming it: a typo in a file must not be silently ignored.
fn merge(
    base: &mut toml::Table,
    overrides: toml::Table,
    prefix: &str,
    origin: &str,
    origins: &mut Origins,
) -> Result<(), ConfigError> {
    for (key, value) in overrides {
        let path = join(prefix, &key);
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(over)) => {
                merge(inner, over, &path, origin, origins)?;
            }
            (Some(toml::Value::Table(_)), _) => {
                return Err(ConfigError::new(path, origin, "must be a section ([...])"));
            }
            (Some(slot), value) => {
                *slot = value;
                origins.insert(path, origin.to_owned());
            }
            (None, _) => {
                return Err(ConfigError::new(path, origin, "unknown configuration key"));
            }
        }
    }
    Ok(())
}

/// The environment variable for a dotted key path.
pub fn env_name(path: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        path.replace('.', "_").to_ascii_uppercase()
    )
}

fn apply_env(
    table: &mut toml::Table,
    prefix: &str,
    env: &BTreeMap<String, String>,
    used: &mut Vec<String>,
    origins: &mut Origins,
) -> Result<(), ConfigError> {
    for (key, slot) in table.iter_mut() {
        let path = join(prefix, key);
        if let toml::Value::Table(inner) = slot {
            apply_env(inner, &path, env, used, origins)?;
            continue;
        }
        let name = env_name(&path);
        let Some(raw) = env.get(&name) else { continue };
        used.push(name.clone());
        let bad =
            |what: &str| ConfigError::new(&path, &name, format!("expected {what}, got '{raw}'"));
        *slot = match slot {
            toml::Value::String(_) => toml::Value::String(raw.clone()),
            toml::Value::Integer(_) => {
                toml::Value::Integer(raw.trim().parse().map_err(|_| bad("a whole number"))?)
            }
            toml::Value::Float(_) => {
                toml::Value::Float(raw.trim().parse().map_err(|_| bad("a number"))?)
            }
            toml::Value::Boolean(_) => {
                toml::Value::Boolean(match raw.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => true,
                    "false" | "0" | "no" | "off" | "" => false,
                    _ => return Err(bad("true or false")),
                })
            }
            // A list written as TOML (`[{name = "…", phone = "…"}]`), for
            // lists of tables such as `crisis.resources`.
            toml::Value::Array(_) if raw.trim_start().starts_with('[') => {
                let parsed = format!("value = {raw}")
                    .parse::<toml::Table>()
                    .map_err(|_| bad("a TOML list"))?;
                parsed
                    .get("value")
                    .cloned()
                    .ok_or_else(|| bad("a TOML list"))?
            }
            // A list from the environment: comma-separated strings.
            toml::Value::Array(_) => toml::Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| toml::Value::String(item.to_owned()))
                    .collect(),
            ),
            _ => return Err(bad("a value this key cannot take from the environment")),
        };
        origins.insert(path, name);
    }
    Ok(())
}

/// A domain is an authority: a host name (or IP literal), optionally
/// `:port`. No scheme, no path, no user info.
fn validate_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("must not be empty".into());
    }
    if domain.contains("://") || domain.contains('/') || domain.contains('@') {
        return Err(format!(
            "'{domain}' must be a host name with an optional port, like example.org or localhost:8080, without https:// or a path"
        ));
    }
    let parsed = url::Url::parse(&format!("https://{domain}/"))
        .map_err(|e| format!("'{domain}' is not a valid host name: {e}"))?;
    let rebuilt = match parsed.port() {
        Some(port) => format!("{}:{port}", parsed.host_str().unwrap_or_default()),
        None => parsed.host_str().unwrap_or_default().to_owned(),
    };
    if rebuilt != domain.to_ascii_lowercase() && !domain.ends_with(":443") {
        return Err(format!(
            "'{domain}' is not in canonical form; write it as '{rebuilt}'"
        ));
    }
    Ok(())
}

/// `host:port`: a name (not an address: an address is what the guard
/// judges) and the one port it may be reached on. The guard
/// (`hearth_activitypub::guard::parse_allowed`) reads the same shape.
fn check_allowed_host(entry: &str) -> Result<(), String> {
    let Some((host, port)) = entry.trim().rsplit_once(':') else {
        return Err(format!("{entry:?} must be host:port"));
    };
    if !port.parse::<u16>().is_ok_and(|p| p != 0) {
        return Err(format!("{entry:?}: {port:?} is not a port"));
    }
    let host = host.trim_end_matches('.');
    if host.is_empty()
        || host.parse::<std::net::IpAddr>().is_ok()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return Err(format!(
            "{entry:?}: name a host by its name (letters, digits, dots, dashes), not an address"
        ));
    }
    Ok(())
}

fn validate_log_filter(filter: &str) -> Result<(), String> {
    // A light syntax check (the subscriber parses it for real at start-up):
    // comma-separated directives of `target=level` or `level`.
    const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = directive.rsplit_once('=').map_or(directive, |(_, l)| l);
        let is_level = LEVELS.contains(&level.to_ascii_lowercase().as_str());
        let is_target = !directive.contains('=') && !directive.contains(' ');
        if !is_level && !is_target {
            return Err(format!(
                "'{directive}' is not a log directive; use a level such as info or target=level"
            ));
        }
    }
    Ok(())
}

fn redact_url_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_file_covers_every_key() {
        // deny_unknown_fields + no serde defaults: a key missing from or
        // extra in config/default.toml fails here.
        let loaded = Config::load(None, env(&[])).unwrap();
        assert_eq!(loaded.config.domain, "localhost:8080");
        assert_eq!(loaded.config.registration.mode, RegistrationMode::Approval);
        assert!(!loaded.config.test_mode);
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn every_key_is_documented_with_its_env_name() {
        let table = parse_toml(DEFAULT_TOML, "defaults").unwrap();
        let mut origins = Origins::new();
        record_origins(&table, "", "default", &mut origins);
        for key in origins.keys() {
            let name = env_name(key);
            assert!(
                DEFAULT_TOML.contains(&format!("Env: {name}")),
                "config/default.toml does not name {name} for `{key}`"
            );
        }
    }

    #[test]
    fn environment_overrides_by_derived_name() {
        let loaded = Config::load(
            None,
            env(&[
                ("HEARTH_DOMAIN", "b.example"),
                ("HEARTH_BIND", "127.0.0.1:0"),
                ("HEARTH_DATABASE_URL", "postgres://u@h/db"),
                ("HEARTH_DATA_DIR", "/tmp/x"),
                ("HEARTH_TEST_MODE", "1"),
                ("HEARTH_REGISTRATION_MODE", "open"),
                ("HEARTH_AUTH_RATE_LIMIT_PER_MINUTE", "5"),
                ("HEARTH_DOMIAN", "typo.example"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        let c = loaded.config;
        assert_eq!(c.domain, "b.example");
        assert_eq!(c.bind.port(), 0);
        assert_eq!(c.database_url(), "postgres://u@h/db");
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert!(c.test_mode);
        assert_eq!(c.registration.mode, RegistrationMode::Open);
        assert_eq!(c.auth.rate_limit_per_minute, 5);
        assert_eq!(
            loaded.warnings,
            vec!["environment variable HEARTH_DOMIAN is not a configuration key; ignored"]
        );
    }

    #[test]
    fn bad_values_name_the_key_and_where_it_came_from() {
        let err = Config::load(None, env(&[("HEARTH_BIND", "localhost")])).unwrap_err();
        assert_eq!(
            (err.key.as_str(), err.origin.as_str()),
            ("bind", "HEARTH_BIND")
        );

        let err =
            Config::load(None, env(&[("HEARTH_DATABASE_MAX_CONNECTIONS", "many")])).unwrap_err();
        assert_eq!(err.key, "database.max_connections");
        assert!(
            err.to_string()
                .contains("expected a whole number, got 'many'")
        );

        let err = Config::load(None, env(&[("HEARTH_REGISTRATION_MODE", "maybe")])).unwrap_err();
        assert_eq!(err.key, "registration.mode");
        assert!(err.message.contains("open"), "{}", err.message);

        let err = Config::load(None, env(&[("HEARTH_DOMAIN", "https://a.example/")])).unwrap_err();
        assert_eq!(err.key, "domain");

        let err = Config::load(None, env(&[("HEARTH_DATABASE_URL", "mysql://x")])).unwrap_err();
        assert_eq!(err.key, "database.url");

        let err = Config::load(None, env(&[("HEARTH_TEST_MODE", "perhaps")])).unwrap_err();
        assert_eq!(err.key, "test_mode");

        let err = Config::load(
            None,
            env(&[(
                "HEARTH_FEDERATION_MEMBERS_ONLY_SERVERS",
                "https://b.example/",
            )]),
        )
        .unwrap_err();
        assert_eq!(err.key, "federation.members_only_servers");

        for bad in [
            "lists.internal",
            "127.0.0.1:80",
            "lists.internal:0",
            "a b:80",
        ] {
            let err = Config::load(None, env(&[("HEARTH_FEDERATION_ALLOW_PRIVATE_HOSTS", bad)]))
                .unwrap_err();
            assert_eq!(err.key, "federation.allow_private_hosts", "{bad}");
        }
        let allowed = Config::load(
            None,
            env(&[(
                "HEARTH_FEDERATION_ALLOW_PRIVATE_HOSTS",
                "lists.internal:8443,hooks.internal:443",
            )]),
        )
        .unwrap();
        assert_eq!(
            allowed.config.federation.allow_private_hosts,
            ["lists.internal:8443", "hooks.internal:443"]
        );

        let err =
            Config::load(None, env(&[("HEARTH_HTTP_HEADER_READ_TIMEOUT_SECS", "0")])).unwrap_err();
        assert_eq!(err.key, "http.header_read_timeout_secs");

        let err = Config::load(
            None,
            env(&[("HEARTH_FEDERATION_SUBSCRIPTION_REFRESH_SECS", "9")]),
        )
        .unwrap_err();
        assert_eq!(err.key, "federation.subscription_refresh_secs");
        assert_eq!(err.origin, "HEARTH_FEDERATION_SUBSCRIPTION_REFRESH_SECS");
        let c = Config::load(
            None,
            env(&[("HEARTH_FEDERATION_SUBSCRIPTION_REFRESH_SECS", "10")]),
        )
        .unwrap()
        .config;
        assert_eq!(c.federation.subscription_refresh_secs, 10);
        assert_eq!(
            Config::load(None, env(&[]))
                .unwrap()
                .config
                .federation
                .subscription_refresh_secs,
            3600
        );

        let err = Config::load(None, env(&[("HEARTH_FEDERATION_MODE", "closed")])).unwrap_err();
        assert_eq!(err.key, "federation.mode");
        let c = Config::load(None, env(&[("HEARTH_FEDERATION_MODE", "allowlist")]))
            .unwrap()
            .config;
        assert_eq!(c.federation.mode, "allowlist");
    }

    #[test]
    fn crisis_resources_come_from_the_environment_as_a_toml_list_and_are_checked() {
        let c = Config::load(
            None,
            env(&[(
                "HEARTH_CRISIS_RESOURCES",
                r#"[{name = "Clinic line", phone = "+45 1234", language = "da"}]"#,
            )]),
        )
        .unwrap()
        .config;
        assert_eq!(c.crisis.resources.len(), 1);
        assert_eq!(c.crisis.resources[0].name, "Clinic line");
        assert_eq!(c.crisis.resources[0].country, "");

        let err = Config::load(
            None,
            env(&[("HEARTH_CRISIS_RESOURCES", r#"[{name = "Nothing to call"}]"#)]),
        )
        .unwrap_err();
        assert_eq!(err.key, "crisis.resources[0]");
        let err = Config::load(None, env(&[("HEARTH_CRISIS_RESOURCES", "[{name = ")])).unwrap_err();
        assert_eq!(err.key, "crisis.resources");
        let err =
            Config::load(None, env(&[("HEARTH_CRISIS_LANGUAGES", "en,klingon")])).unwrap_err();
        assert_eq!(err.key, "crisis.languages");
        let err = Config::load(
            None,
            env(&[("HEARTH_CRISIS_WEBHOOK_URL", "ftp://example.org/hook")]),
        )
        .unwrap_err();
        assert_eq!(err.key, "crisis.webhook_url");
    }

    #[test]
    fn a_list_comes_from_the_environment_comma_separated() {
        let c = Config::load(
            None,
            env(&[(
                "HEARTH_FEDERATION_MEMBERS_ONLY_SERVERS",
                "peers.example, localhost:8443,",
            )]),
        )
        .unwrap()
        .config;
        assert_eq!(
            c.federation.members_only_servers,
            ["peers.example", "localhost:8443"]
        );
    }

    #[test]
    fn file_overrides_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hearth.toml");
        std::fs::write(
            &path,
            "domain = \"a.example\"\n[registration]\nmode = \"closed\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), env(&[])).unwrap().config;
        assert_eq!(c.domain, "a.example");
        assert_eq!(c.registration.mode, RegistrationMode::Closed);

        std::fs::write(&path, "[registration]\nmdoe = \"closed\"\n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err();
        assert_eq!(err.key, "registration.mdoe");
        assert_eq!(err.message, "unknown configuration key");

        std::fs::write(&path, "bind = 8080\n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err();
        assert_eq!(err.key, "bind");
        assert_eq!(err.origin, path.display().to_string());

        std::fs::write(&path, "domain = \n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err();
        assert!(err.message.contains("line 1"), "{}", err.message);
    }

    #[test]
    fn embedded_database_lives_in_data_dir() {
        let c = Config::load(None, env(&[("HEARTH_DATA_DIR", "/srv/hearth")]))
            .unwrap()
            .config;
        assert_eq!(c.database_url(), "sqlite:///srv/hearth/hearth.sqlite3");
    }

    #[test]
    fn shown_configuration_hides_database_password() {
        let c = Config::load(
            None,
            env(&[("HEARTH_DATABASE_URL", "postgres://hearth:s3cret@db/hearth")]),
        )
        .unwrap()
        .config;
        let shown = c.to_redacted_toml();
        assert!(!shown.contains("s3cret"));
        assert!(shown.contains("postgres://hearth:****@db/hearth"));
    }

    #[test]
    fn domains_must_be_plain_authorities() {
        for ok in [
            "example.org",
            "localhost:8080",
            "a.b.example",
            "127.0.0.1:3000",
        ] {
            assert!(validate_domain(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "https://x.org",
            "x.org/path",
            "user@x.org",
            "bad host",
            "x.org:99999",
        ] {
            assert!(validate_domain(bad).is_err(), "{bad}");
        }
    }
}
