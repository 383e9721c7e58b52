//! `hearth admin …`: account management from the server's shell.

use std::io::BufRead;

use anyhow::{Context, bail};
use hearth_app::accounts::Registration;
use hearth_app::{App, AppError, Config};
use hearth_domain::{AccountStatus, Role};

use crate::cli::AdminCommand;

pub async fn run(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    let (app, _) = crate::serve::open(config).await?;
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
    }
    Ok(())
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
        AppError::Conflict { field } => anyhow::anyhow!("{field}: already taken"),
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
