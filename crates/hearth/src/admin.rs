//! `hearth admin …`: account management, the federation status and the
//! federation policy's domain rules and list subscriptions, from the
//! server's shell.

use std::io::BufRead;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use hearth_app::accounts::Registration;
use hearth_app::federation_status::{QueueStatus, ServerStatus};
use hearth_app::policy::{CutOff, RuleRequest};
use hearth_app::subscriptions::{ListUpdate, Refreshed};
use hearth_app::{App, AppError, Config};
use hearth_domain::{AccountStatus, Role};

use crate::cli::{AdminCommand, DomainsCommand, ImportArgs, RuleArgs, SubscribeArgs};

pub async fn run(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    let (app, _, _) = crate::serve::open(config).await?;
    let result = dispatch(&app, command).await;
    app.close().await.context("closing the database")?;
    result
}

async fn dispatch(app: &App, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateUser {
            name,
            admin,
            role,
            password_stdin,
            display_name,
        } => {
            let password = read_password(password_stdin)?;
            let role = if admin { Role::Admin } else { role };
            let account = app
                .create_account(
                    Registration {
                        username: name,
                        password,
                        display_name,
                        ..Default::default()
                    },
                    role,
                    AccountStatus::Active,
                )
                .await
                .map_err(explain)?;
            println!(
                "created {} account '{}' (id {})",
                account.role, account.username, account.id
            );
        }
        AdminCommand::ListUsers { status } => {
            let mut after = None;
            println!(
                "{:>6}  {:<30}  {:<9}  {:<8}  created",
                "id", "username", "role", "status"
            );
            loop {
                let page = app
                    .list_accounts(status, after, 200)
                    .await
                    .map_err(explain)?;
                for a in &page {
                    println!(
                        "{:>6}  {:<30}  {:<9}  {:<8}  {}",
                        a.id,
                        a.username,
                        a.role,
                        a.status,
                        a.created_at.format("%Y-%m-%d %H:%M")
                    );
                }
                match page.last() {
                    Some(last) if page.len() == 200 => after = Some(last.id),
                    _ => break,
                }
            }
        }
        AdminCommand::SetPassword {
            name,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            app.set_password(&name, &password).await.map_err(explain)?;
            println!("password changed for '{name}'; their sessions have ended");
        }
        AdminCommand::ApproveUser { name } => decide(app, &name, true).await?,
        AdminCommand::RejectUser { name } => decide(app, &name, false).await?,
        AdminCommand::SetRole { name, role } => {
            let account = app.set_role(&name, role).await.map_err(explain)?;
            println!("'{}' is now {}", account.username, account.role);
        }
        AdminCommand::FederationStatus { json } => {
            let status = app.federation_status().await.map_err(explain)?;
            let now = Utc::now();
            if json {
                let view = hearth_http::FederationStatusView::new(&status, now);
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print!("{}", federation_table(&status, now));
            }
        }
        AdminCommand::Domains { command } => domains(app, command).await?,
        // The names the issue asked for, for the commands admins of other
        // servers know: each is one of `domains …`.
        AdminCommand::BlockDomain { domain, reasons } => {
            set_rule(app, domain, "suspend".into(), reasons).await?;
        }
        AdminCommand::UnblockDomain { domain } => remove_rule(app, &domain).await?,
        AdminCommand::ImportBlocklist(args) => import(app, args).await?,
        AdminCommand::ExportBlocklist => {
            print!("{}", app.export_domain_blocks().await.map_err(explain)?);
        }
        AdminCommand::SubscribeBlocklist(args) => subscribe(app, args).await?,
        AdminCommand::ExportUser { name, out, reason } => {
            export_user(app, &name, &out, &reason).await?;
        }
        AdminCommand::KeepHouse => {
            let done = app.keep_house_once().await.map_err(explain)?;
            println!(
                "housekeeping done: {} removed posts' words and {} sign-in addresses erased, {} threads deleted (older than their groups keep them)",
                done.words, done.addresses, done.threads
            );
        }
        AdminCommand::DeleteUser { name, yes } => {
            if !yes {
                bail!("yes: deleting '{name}' cannot be undone; run again with --yes to confirm");
            }
            let erased = app
                .delete_member_account(
                    hearth_app::export::Requester::Operator,
                    hearth_app::export::Subject::Username(&name),
                )
                .await
                .map_err(explain)?;
            println!(
                "deleted the account '{name}'; every server that held any of it is being told"
            );
            println!(
                "receipt (give it to the member; shown once): {}",
                app.urls().receipt(&erased.receipt_secret)
            );
        }
    }
    Ok(())
}

async fn domains(app: &App, command: DomainsCommand) -> anyhow::Result<()> {
    match command {
        DomainsCommand::List => {
            println!("mode: {}", app.federation_mode().as_str());
            println!(
                "{:<30}  {:<8}  {:<16}  {:<5}  public reason / private reason",
                "domain", "action", "expires", "from"
            );
            for stored in app.domain_rules().await.map_err(explain)? {
                let r = &stored.rule;
                // The source last: a list's URL is long.
                println!(
                    "{:<30}  {:<8}  {:<16}  {:<5}  {} / {}{}",
                    r.domain,
                    r.action.as_str(),
                    r.expires_at
                        .map(|at| at.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "never".into()),
                    if r.subscription.is_some() {
                        "list"
                    } else {
                        "admin"
                    },
                    r.public_reason,
                    r.private_reason,
                    r.subscription
                        .as_deref()
                        .map(|url| format!("  (from {url})"))
                        .unwrap_or_default(),
                );
            }
        }
        DomainsCommand::Set {
            domain,
            action,
            reasons,
        } => set_rule(app, domain, action, reasons).await?,
        DomainsCommand::Import(args) => import(app, args).await?,
        DomainsCommand::Export => {
            print!("{}", app.export_domain_blocks().await.map_err(explain)?);
        }
        DomainsCommand::Remove { domain } => remove_rule(app, &domain).await?,
        DomainsCommand::Subscribe(args) => subscribe(app, args).await?,
        DomainsCommand::Unsubscribe { url } => {
            let cut_off = app
                .unsubscribe_domain_list(None, &url)
                .await
                .map_err(explain)?;
            println!("unsubscribed from {url}; its rules are lifted");
            print_cut_off(&cut_off);
        }
        DomainsCommand::Subscriptions => {
            let subscriptions = app.domain_subscriptions().await.map_err(explain)?;
            if subscriptions.is_empty() {
                println!("no subscribed lists");
            }
            for s in &subscriptions {
                println!(
                    "{}  {}list  {} entries  fetched {}{}",
                    s.url,
                    s.kind.as_str(),
                    s.entries,
                    s.last_fetched_at
                        .map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_else(|| "never".into()),
                    if s.last_error.is_empty() {
                        String::new()
                    } else {
                        format!("  last error: {}", one_line(&s.last_error))
                    }
                );
            }
        }
        DomainsCommand::Refresh => {
            let refreshed = app.refresh_domain_subscriptions().await.map_err(explain)?;
            if refreshed.is_empty() {
                println!("no subscribed lists");
            }
            let failed = refreshed.iter().filter(|r| r.outcome.is_err()).count();
            for r in &refreshed {
                print_refreshed(r);
            }
            if failed > 0 {
                bail!(
                    "{failed} of {} lists could not be fetched; their rules stay as they were",
                    refreshed.len()
                );
            }
        }
    }
    Ok(())
}

async fn set_rule(
    app: &App,
    domain: String,
    action: String,
    reasons: RuleArgs,
) -> anyhow::Result<()> {
    let set = app
        .set_domain_rule(
            None,
            RuleRequest {
                domain,
                action,
                public_reason: reasons.public_reason,
                private_reason: reasons.private_reason,
                expires_at: reasons
                    .days
                    .map(|d| hearth_domain::moderation::ends_after(Utc::now(), d, "--days"))
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?,
            },
        )
        .await
        .map_err(explain)?;
    println!(
        "{} is now {}; cut off at once: {} waiting deliveries, {} of their members' memberships here, {} memberships of people here in their groups",
        set.rule.domain,
        set.rule.action.as_str(),
        set.cut_off.deliveries,
        set.cut_off.members,
        set.cut_off.memberships
    );
    Ok(())
}

async fn remove_rule(app: &App, domain: &str) -> anyhow::Result<()> {
    match app.remove_domain_rule(None, domain).await {
        Ok(_) => {
            println!("the rule for {domain} is removed");
            Ok(())
        }
        Err(AppError::NotFound { .. }) => {
            // Say so when the rule comes from a list: removing it here
            // would last only until the next fetch.
            let wanted = hearth_domain::federation_policy::normalise_domain(domain)
                .unwrap_or_else(|_| domain.to_owned());
            let lists: Vec<String> = app
                .domain_rules()
                .await
                .map_err(explain)?
                .into_iter()
                .filter(|s| s.rule.domain == wanted)
                .filter_map(|s| s.rule.subscription)
                .collect();
            if lists.is_empty() {
                bail!("no rule of yours for {domain}");
            }
            bail!(
                "no rule of yours for {domain}; the rule comes from the subscribed list {}. Set your own to override it: hearth admin domains set {wanted} allow",
                lists.join(", ")
            )
        }
        Err(err) => Err(explain(err)),
    }
}

async fn import(app: &App, args: ImportArgs) -> anyhow::Result<()> {
    let ImportArgs { file, dry_run } = args;
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?
    };
    let report = app
        .import_domain_blocks(None, &text, dry_run)
        .await
        .map_err(explain)?;
    for (line, domain, why) in &report.skipped {
        println!("line {line}: left out {domain}: {why}");
    }
    let verb = if dry_run { "would be set" } else { "set" };
    println!(
        "{} domain rules {verb}, {} lines left out",
        report.set.len(),
        report.skipped.len()
    );
    if !dry_run {
        print_cut_off(&report.cut_off);
    }
    Ok(())
}

async fn subscribe(app: &App, args: SubscribeArgs) -> anyhow::Result<()> {
    let kind = if args.allow { "allow" } else { "block" };
    let done = app
        .subscribe_domain_list(None, &args.url, kind)
        .await
        .map_err(explain)?;
    println!("subscribed to the {kind}list {}", done.subscription.url);
    print_refreshed(&done.fetched);
    if done.fetched.outcome.is_err() {
        eprintln!(
            "warning: the list could not be fetched; it is tried again every {} seconds, or now with `hearth admin domains refresh`",
            app.config.federation.subscription_refresh_secs
        );
    }
    Ok(())
}

/// What one fetch of a list did, in a few lines.
fn print_refreshed(r: &Refreshed) {
    match &r.outcome {
        Ok(ListUpdate {
            entries,
            skipped,
            replaced,
            cut_off,
        }) => {
            for (line, domain, why) in skipped {
                println!("  line {line}: left out {domain}: {why}");
            }
            println!(
                "{}: {entries} entries ({} added, {} changed, {} lifted), {} left out",
                r.url,
                replaced.added,
                replaced.changed,
                replaced.lifted,
                skipped.len()
            );
            print_cut_off(cut_off);
        }
        Err(why) => println!(
            "{}: not fetched: {}; its rules stay as they were",
            r.url,
            one_line(why)
        ),
    }
}

fn print_cut_off(c: &CutOff) {
    println!(
        "cut off at once: {} waiting deliveries, {} of their members' memberships here, {} memberships of people here in their groups",
        c.deliveries, c.members, c.memberships
    );
}

/// Errors from the HTTP client can span lines; a line of output cannot.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The queue on one line, then one line per server.
fn federation_table(status: &QueueStatus, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "queue: {} pending, {} sending, {} delivered, {} failed; {}\n",
        status.pending,
        status.sending,
        status.delivered,
        status.failed,
        match status.oldest_pending_at {
            Some(at) => format!("oldest pending for {}", duration(now - at)),
            None => "nothing waiting".to_owned(),
        }
    );
    if status.servers.is_empty() {
        out.push_str("no deliveries to other servers yet\n");
        return out;
    }
    let width = status
        .servers
        .iter()
        .map(|s| s.authority.chars().count())
        .max()
        .unwrap_or(0)
        .clamp("server".len(), AUTHORITY_WIDTH);
    out.push_str(&format!(
        "{:<width$}  {:<11}  {:>7}  {:>9}  {:>6}  {:>8}  {:<LAST_WIDTH$}  blocked until\n",
        "server", "state", "pending", "delivered", "failed", "in a row", "last answer"
    ));
    for server in &status.servers {
        out.push_str(&format!(
            "{:<width$}  {:<11}  {:>7}  {:>9}  {:>6}  {:>8}  {:<LAST_WIDTH$}  {}\n",
            shorten(&server.authority, AUTHORITY_WIDTH),
            server.state.as_str(),
            server.pending,
            server.delivered,
            server.failed,
            server.consecutive_failures,
            shorten(&last_answer(server), LAST_WIDTH),
            match server.blocked_until {
                Some(until) if until > now => until.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                _ => "-".to_owned(),
            }
        ));
    }
    out
}

const AUTHORITY_WIDTH: usize = 40;
const LAST_WIDTH: usize = 40;

/// The last status and error of a server, in a few words.
fn last_answer(server: &ServerStatus) -> String {
    let error = server.last_error.as_deref().map(|e| {
        // Errors from the HTTP client can span lines; a table row cannot.
        e.split_whitespace().collect::<Vec<_>>().join(" ")
    });
    match (server.last_status, error) {
        (Some(status), Some(error)) => format!("{status} {error}"),
        (Some(status), None) => status.to_string(),
        (None, Some(error)) => error,
        (None, None) => "-".to_owned(),
    }
}

/// `text` cut to `max` characters, marked with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A rough duration for people: `45s`, `12m 5s`, `3h 2m`, `2d 4h`.
fn duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins, secs) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins}m")
    } else if mins > 0 {
        format!("{mins}m {secs}s")
    } else {
        format!("{secs}s")
    }
}

async fn decide(app: &App, name: &str, approve: bool) -> anyhow::Result<()> {
    let account = app.account_by_username(name).await.map_err(explain)?;
    // The shell user stands in for an admin account; record the account
    // itself as the decider so the log line stays uniform.
    let account = app
        .decide_registration(&account, account.id, approve)
        .await
        .map_err(explain)?;
    println!("'{}' is now {}", account.username, account.status);
    Ok(())
}

/// Turn a use-case error into a message naming the field or thing at fault.
async fn export_user(
    app: &App,
    name: &str,
    out: &std::path::Path,
    reason: &str,
) -> anyhow::Result<()> {
    use std::io::Write;

    // Refuse before anything is read (and written in the audit log).
    if out.exists() {
        bail!("out: {} already exists", out.display());
    }
    let export = app
        .export_member(
            hearth_app::export::Requester::Operator,
            hearth_app::export::Subject::Username(name),
            reason,
        )
        .await
        .map_err(explain)?;
    let bytes = hearth_http::export::archive(&export).map_err(|e| anyhow::anyhow!(e))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .with_context(|| format!("out: cannot create {}", out.display()))?;
    file.write_all(&bytes)
        .with_context(|| format!("out: cannot write {}", out.display()))?;
    println!(
        "wrote the data of '{}' to {} ({} posts); this is recorded in the audit log",
        export.account.username,
        out.display(),
        export.posts.len()
    );
    Ok(())
}

fn explain(err: AppError) -> anyhow::Error {
    match err {
        AppError::Invalid(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        AppError::Conflict { field: "url" } => anyhow::anyhow!("url: already subscribed"),
        AppError::Conflict { field } => {
            anyhow::anyhow!("{field}: already taken by a person or a group on this server")
        }
        AppError::NotFound { what } => anyhow::anyhow!("no such {what}"),
        other => anyhow::anyhow!("{other}"),
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if !from_stdin {
        bail!("password: pass --password-stdin and write the password on standard input");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("password: cannot read standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("password: standard input was empty");
    }
    Ok(password.to_owned())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use hearth_app::federation_status::ServerState;

    use super::*;

    fn server(authority: &str, state: ServerState) -> ServerStatus {
        ServerStatus {
            authority: authority.to_owned(),
            state,
            pending: 0,
            delivered: 0,
            failed: 0,
            consecutive_failures: 0,
            last_status: None,
            last_error: None,
            last_success_at: None,
            last_failure_at: None,
            blocked_until: None,
        }
    }

    #[test]
    fn the_table_has_the_queue_then_one_line_per_server() {
        let now = Utc::now();
        let down = ServerStatus {
            pending: 12,
            failed: 3,
            consecutive_failures: 7,
            last_error: Some("connect error:\n  connection refused".into()),
            blocked_until: Some(now + Duration::minutes(5)),
            ..server("down.example:8443", ServerState::Unreachable)
        };
        let fine = ServerStatus {
            delivered: 40,
            last_status: Some(202),
            // Long ago: no longer blocked.
            blocked_until: Some(now - Duration::hours(1)),
            ..server("fine.example", ServerState::Ok)
        };
        let status = QueueStatus {
            pending: 11,
            sending: 1,
            delivered: 40,
            failed: 3,
            oldest_pending_at: Some(now - Duration::seconds(3725)),
            servers: vec![down, fine],
        };
        let table = federation_table(&status, now);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "queue: 11 pending, 1 sending, 40 delivered, 3 failed; oldest pending for 1h 2m"
        );
        assert!(lines[1].starts_with("server             state        pending"));
        assert!(
            lines[2].starts_with(
                "down.example:8443  unreachable       12          0       3         7  connect error: connection refused "
            ),
            "{table}"
        );
        assert!(lines[2].ends_with(" UTC"), "{table}");
        assert!(
            lines[3].starts_with(
                "fine.example       ok                 0         40       0         0  202 "
            ),
            "{table}"
        );
        assert!(lines[3].ends_with("  -"), "{table}");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn an_empty_queue_says_so() {
        let status = QueueStatus {
            pending: 0,
            sending: 0,
            delivered: 0,
            failed: 0,
            oldest_pending_at: None,
            servers: Vec::new(),
        };
        assert_eq!(
            federation_table(&status, Utc::now()),
            "queue: 0 pending, 0 sending, 0 delivered, 0 failed; nothing waiting\nno deliveries to other servers yet\n"
        );
    }

    #[test]
    fn long_values_are_shortened_and_durations_rounded() {
        assert_eq!(shorten("abcdef", 6), "abcdef");
        assert_eq!(shorten("abcdefg", 6), "abcde…");
        assert_eq!(duration(Duration::seconds(45)), "45s");
        assert_eq!(duration(Duration::seconds(725)), "12m 5s");
        assert_eq!(
            duration(Duration::seconds(2 * 86_400 + 4 * 3600 + 9)),
            "2d 4h"
        );
        assert_eq!(duration(Duration::seconds(-3)), "0s");
    }
}
