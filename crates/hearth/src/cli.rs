//! The command line, defined once: clap builds `--help` from these doc
//! comments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use hearth_domain::{AccountStatus, Role};

/// Hearth: a federated community server for patient peer support.
///
/// Configuration comes from config/default.toml (built in), then the file
/// given with --config, then HEARTH_* environment variables (for example
/// HEARTH_DOMAIN, HEARTH_BIND, HEARTH_DATABASE_URL). See
/// docs/CONFIGURATION.md.
#[derive(Debug, Parser)]
#[command(name = "hearth", version, propagate_version = true)]
pub struct Cli {
    /// A TOML file whose keys override the built-in defaults.
    #[arg(long, global = true, env = "HEARTH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply database migrations, then serve HTTP until SIGTERM or Ctrl-C.
    ///
    /// While no account is an admin, it prints a one-time setup link with
    /// which the first visitor creates the admin account in the browser.
    Serve,
    /// Apply database migrations, then deliver activities to other servers
    /// (no web server) until SIGTERM or Ctrl-C. Run several on one
    /// PostgreSQL database to share the work.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage accounts and watch federation from the server's shell.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load the configuration as `serve` would; report the first bad key or
    /// print the effective settings (database password hidden).
    Check,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an active account, whatever the registration mode.
    ///
    /// Example: echo 'long passphrase' | hearth admin create-user alice --admin --password-stdin
    CreateUser {
        /// Username: letters, numbers and underscores, up to 30.
        name: String,
        /// Make the account an admin (same as --role admin).
        #[arg(long, conflicts_with = "role")]
        admin: bool,
        /// The account's role.
        #[arg(long, value_parser = parse_role, default_value = "member")]
        role: Role,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Name shown beside posts (optional).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List accounts, oldest first.
    ListUsers {
        /// Only accounts in this status: active, pending or rejected.
        #[arg(long, value_parser = parse_status)]
        status: Option<AccountStatus>,
    },
    /// Set an account's password; all its sessions end.
    SetPassword {
        /// Username.
        name: String,
        /// Read the new password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Approve a sign-up that is waiting (registration mode "approval").
    ApproveUser {
        /// Username.
        name: String,
    },
    /// Decline a sign-up that is waiting.
    RejectUser {
        /// Username.
        name: String,
    },
    /// Change an account's role: member, moderator or admin.
    SetRole {
        /// Username.
        name: String,
        /// The new role.
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Show how delivery to other servers is going: the queue (waiting,
    /// being sent, delivered, given up; age of the oldest waiting), then
    /// the servers that need attention most, unreachable ones first.
    FederationStatus {
        /// Print the JSON of GET /api/v1/admin/federation instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Which servers this one federates with: list, set or remove domain
    /// rules, and subscribe to published lists (see federation.mode in the
    /// configuration).
    Domains {
        #[command(subcommand)]
        command: DomainsCommand,
    },
    /// Suspend a domain (and its subdomains): the same as `domains set
    /// DOMAIN suspend`.
    ///
    /// Example: hearth admin block-domain spam.example --public-reason "spam"
    BlockDomain {
        /// The domain, such as example.org.
        domain: String,
        #[command(flatten)]
        reasons: RuleArgs,
    },
    /// Remove your own rule for a domain: the same as `domains remove`.
    UnblockDomain {
        /// The domain, as the rule names it.
        domain: String,
    },
    /// Download a member's data (as they would from "Download your
    /// data"), for a data-subject request. It is written in the audit log,
    /// which the member can read.
    ///
    /// Example: hearth admin export-user alice --out alice.zip --reason "request by email, 30 Nov"
    ExportUser {
        /// Username.
        name: String,
        /// The file to write the .zip archive to (it must not exist yet).
        #[arg(long)]
        out: std::path::PathBuf,
        /// Why, for the audit log (shown to the member).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Delete a member's account, with everything in it, here and on
    /// every server that received any of it (a data-subject request).
    /// Prints the link to its receipt, which shows what each server said.
    ///
    /// Example: hearth admin delete-user alice --yes
    DeleteUser {
        /// Username.
        name: String,
        /// Confirm: this cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// Do the housekeeping now instead of waiting for its next round (the
    /// server does it every quarter of an hour): erase removed posts'
    /// words and sign-in addresses kept long enough, and delete the
    /// threads of groups that keep them for a limited time.
    KeepHouse,
    /// Import domain blocks: the same as `domains import`.
    ImportBlocklist(ImportArgs),
    /// Print the domain blocks as a CSV: the same as `domains export`.
    ExportBlocklist,
    /// Subscribe to a published blocklist: the same as `domains subscribe`.
    SubscribeBlocklist(SubscribeArgs),
}

/// The reasons and lifetime of a domain rule.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Shown to members and other servers' admins.
    #[arg(long, default_value = "")]
    pub public_reason: String,
    /// For this server's admins only.
    #[arg(long, default_value = "")]
    pub private_reason: String,
    /// The rule ends by itself after this many days.
    #[arg(long)]
    pub days: Option<u32>,
}

/// A file of domain blocks to import.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to read; - for standard input.
    pub file: String,
    /// Say what would be set, and set nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// A published list to subscribe to.
#[derive(Debug, Args)]
pub struct SubscribeArgs {
    /// Where the list is published (http or https): Mastodon's domain
    /// block CSV, a plain list of domains one per line, or the JSON of a
    /// server's /api/v1/instance/domain_blocks.
    pub url: String,
    /// The list is an allowlist: each entry allows its domain (for
    /// federation.mode = "allowlist"). Without it, a blocklist: each entry
    /// suspends its domain.
    #[arg(long)]
    pub allow: bool,
}

#[derive(Debug, Subcommand)]
pub enum DomainsCommand {
    /// List every domain rule, the admin's own and those from lists
    /// (with the list each came from).
    List,
    /// Set the rule for a domain (and its subdomains; name a port for one
    /// server only). A suspension ends at once the deliveries waiting for
    /// it and the memberships between it and this server.
    ///
    /// Example: hearth admin domains set spam.example suspend --public-reason "spam"
    Set {
        /// The domain, such as example.org.
        domain: String,
        /// suspend (no traffic either way), limit (its people wait for a
        /// moderator to join, and what they write is for the group's members
        /// only) or allow (for federation.mode = "allowlist").
        action: String,
        #[command(flatten)]
        reasons: RuleArgs,
    },
    /// Remove the admin's own rule for a domain.
    Remove {
        /// The domain, as the rule names it.
        domain: String,
    },
    /// Import domain blocks from a CSV in Mastodon's export format (or a
    /// file of bare domains, one per line, or Mastodon's JSON): each
    /// suspension becomes your own suspension, each silence your own
    /// limit; noops are left out and reported.
    Import(ImportArgs),
    /// Print the domain blocks (suspensions, and limits as silences) as a
    /// CSV in Mastodon's export format.
    Export,
    /// Subscribe to a published blocklist (or, with --allow, allowlist)
    /// and fetch it at once. Its entries become rules marked with its URL,
    /// replaced at each fetch (every federation.subscription_refresh_secs):
    /// an entry gone from the list is lifted. Your own rule for a domain
    /// always wins over a list's.
    ///
    /// Example: hearth admin domains subscribe https://lists.example/blocklist.csv
    Subscribe(SubscribeArgs),
    /// Unsubscribe from a list and lift every rule it gave.
    Unsubscribe {
        /// The list's URL, as subscribed.
        url: String,
    },
    /// List the subscribed lists and how their last fetch went.
    Subscriptions,
    /// Fetch every subscribed list now. Fails if one could not be fetched
    /// (its rules then stay as they were).
    Refresh,
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse()
        .map_err(|e: hearth_domain::account::UnknownValue| e.to_string())
}

fn parse_status(raw: &str) -> Result<AccountStatus, String> {
    raw.parse()
        .map_err(|e: hearth_domain::account::UnknownValue| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
