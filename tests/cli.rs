//! The `hearth` command line: configuration checks, migrations and the
//! admin commands, run as real processes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use support::{Instance, Options, hearth_bin};

const PW: &str = "a long enough passphrase";

fn hearth(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(hearth_bin());
    for (key, _) in std::env::vars() {
        if key.starts_with("HEARTH_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .args(args)
        .envs(env.iter().copied())
        .env("HEARTH_DATA_DIR", dir.path())
        .current_dir(dir.path())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_check_prints_effective_settings_with_password_hidden() {
    let (code, out, err) = hearth(
        &["config", "check"],
        &[
            (
                "HEARTH_DATABASE_URL",
                "postgres://hearth:s3cret@db.internal/hearth",
            ),
            ("HEARTH_DOMAIN", "peers.example"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("domain = \"peers.example\""), "{out}");
    assert!(
        out.contains("postgres://hearth:****@db.internal/hearth"),
        "{out}"
    );
    assert!(!out.contains("s3cret"));
}

#[test]
fn bad_configuration_stops_start_up_naming_the_key() {
    for (var, value, key) in [
        ("HEARTH_BIND", "localhost", "`bind`"),
        (
            "HEARTH_REGISTRATION_MODE",
            "sometimes",
            "`registration.mode`",
        ),
        ("HEARTH_DATABASE_URL", "mysql://x/y", "`database.url`"),
        ("HEARTH_DOMAIN", "https://peers.example/", "`domain`"),
        (
            "HEARTH_DATABASE_MAX_CONNECTIONS",
            "0",
            "`database.max_connections`",
        ),
    ] {
        for command in [&["config", "check"][..], &["serve"][..]] {
            let (code, _, err) = hearth(command, &[(var, value)]);
            assert_eq!(code, 2, "{command:?} with {var}={value}: {err}");
            assert!(err.contains(key) && err.contains(var), "{command:?}: {err}");
        }
    }
}

#[test]
fn config_file_overrides_defaults_and_unknown_keys_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hearth.toml");
    std::fs::write(&file, "[instance]\nname = \"MS Circle\"\n").unwrap();
    let (code, out, _) = hearth(
        &["--config", file.to_str().unwrap(), "config", "check"],
        &[],
    );
    assert_eq!(code, 0);
    assert!(out.contains("name = \"MS Circle\""));

    std::fs::write(&file, "[instance]\nnmae = \"MS Circle\"\n").unwrap();
    let (code, _, err) = hearth(
        &["--config", file.to_str().unwrap(), "config", "check"],
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("`instance.nmae`") && err.contains("unknown configuration key"),
        "{err}"
    );
}

#[test]
fn unknown_hearth_variables_are_warned_about() {
    let (code, _, err) = hearth(&["config", "check"], &[("HEARTH_DOMIAN", "x.example")]);
    assert_eq!(code, 0);
    assert!(
        err.contains("HEARTH_DOMIAN is not a configuration key"),
        "{err}"
    );
}

#[test]
fn help_explains_every_command() {
    let (code, out, _) = hearth(&["--help"], &[]);
    assert_eq!(code, 0);
    for command in ["serve", "migrate", "config", "admin"] {
        assert!(out.contains(command), "{out}");
    }
    let (_, out, _) = hearth(&["admin", "--help"], &[]);
    for command in [
        "create-user",
        "list-users",
        "set-password",
        "approve-user",
        "reject-user",
        "set-role",
    ] {
        assert!(out.contains(command), "{out}");
    }
}

#[tokio::test]
async fn migrate_applies_once_then_reports_up_to_date() {
    for backend in support::backends() {
        let hearth = Instance::start(&backend, Options::default()).await;
        // `serve` already migrated this database.
        let (status, out, err) = hearth.run(&["migrate"], "");
        assert!(status.success(), "{err}");
        assert_eq!(out.trim(), "database is up to date");
    }
    let (code, out, err) = hearth(&["migrate"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied m20261122_000001_accounts"), "{out}");
}

#[tokio::test]
async fn admin_commands_manage_accounts_and_name_the_bad_field() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default()).await;

        let (status, _, err) = hearth.run(
            &["admin", "create-user", "bad name", "--password-stdin"],
            &format!("{PW}\n"),
        );
        assert!(!status.success());
        assert!(err.contains("username:"), "{err}");

        let (status, _, err) = hearth.run(
            &["admin", "create-user", "ann", "--password-stdin"],
            "short\n",
        );
        assert!(!status.success());
        assert!(err.contains("password:"), "{err}");

        let (status, _, err) = hearth.run(&["admin", "create-user", "ann"], "");
        assert!(!status.success());
        assert!(err.contains("--password-stdin"), "{err}");
        assert_eq!(hearth.count("users").await, 0);

        hearth.create_user("ann", PW, &["--display-name", "Ann"]);
        hearth.create_user("bob", PW, &["--role", "moderator"]);
        let (status, out, _) = hearth.run(&["admin", "list-users"], "");
        assert!(status.success());
        assert!(
            out.contains("ann")
                && out.contains("member")
                && out.contains("bob")
                && out.contains("moderator"),
            "{out}"
        );

        let (status, _, err) = hearth.run(
            &["admin", "set-password", "ann", "--password-stdin"],
            "a new passphrase\r\n",
        );
        assert!(status.success(), "{err}");
        hearth.login("ann", "a new passphrase").await;

        let (status, out, _) = hearth.run(&["admin", "set-role", "ann", "admin"], "");
        assert!(status.success());
        assert!(out.contains("'ann' is now admin"));

        let (status, _, err) = hearth.run(
            &["admin", "set-password", "nobody", "--password-stdin"],
            &format!("{PW}\n"),
        );
        assert!(!status.success());
        assert!(err.contains("no such account"), "{err}");

        let (status, _, err) = hearth.run(&["admin", "set-role", "ann", "owner"], "");
        assert!(!status.success());
        assert!(
            err.contains("expected one of: member, moderator, admin"),
            "{err}"
        );
    });
}

#[test]
fn serve_refuses_an_unreachable_database_with_a_clear_message() {
    let (code, _, err) = hearth(
        &["serve"],
        &[
            (
                "HEARTH_DATABASE_URL",
                "postgres://postgres@127.0.0.1:1/none",
            ),
            ("HEARTH_DATABASE_TIMEOUT_MS", "2000"),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot start on the Postgres database (key `database.url`)"),
        "{err}"
    );
}

#[tokio::test]
async fn an_admin_made_with_the_cli_ends_the_setup_link() {
    each_backend!(|backend| async {
        let mut hearth = Instance::start(&backend, Options::default()).await;
        let printed = |hearth: &Instance| hearth.logs().matches("/setup/").count();
        let before = printed(&hearth);
        assert!(before > 0, "a fresh server shows its setup link");
        let logs = hearth.logs();
        let at = logs.find("/setup/").unwrap() + "/setup/".len();
        let token: String = logs[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();

        hearth.create_user("alice", PW, &["--admin"]);
        hearth.login("alice", PW).await;
        let page = reqwest::get(hearth.url(&format!("/setup/{token}")))
            .await
            .unwrap();
        assert_eq!(page.status(), reqwest::StatusCode::NOT_FOUND);
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("This server is already set up")
        );
        assert_eq!(hearth.count("setup_tokens").await, 0);

        hearth.restart().await;
        assert_eq!(printed(&hearth), before, "no new link once an admin exists");
    });
}
