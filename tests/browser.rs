//! The web interface in a real browser: headless Chromium (Debian's
//! `chromium`, driven by playwright-core) against real Hearth servers.
//!
//! - Two servers: Ann signs up on A, starts a group and posts behind a
//!   content warning; Bea signs up on B, joins the group by its address,
//!   reads the thread there and replies; the reply shows up in Ann's
//!   browser, marked as from another server. Cal, on A, deletes a post,
//!   then the account (a wrong password first): each receipt page says,
//!   once B answers, that B deleted its copies; the words are gone from
//!   B's pages and from both servers' rows, and the account can no longer
//!   log in.
//! - One server, moderation: a member reports a post through the form; the
//!   moderator finds it in the reports page and deals with it, and the
//!   reporter's notification says so; the moderator closes a thread (its
//!   reply form is gone, a reply is refused), bans the author of the post
//!   with "remove what they wrote" (the post disappears, their next one is
//!   refused in plain words); the moderator holds new members' posts, a
//!   new member's thread says it waits and is hidden from the others until
//!   it is let through, and their reply, which waits too, is turned down
//!   with a reason the author's notification gives; a thread pinned is
//!   marked "Pinned"; the group's moderation log lists it all with the
//!   reasons; the reporter follows the report on "Your reports" (waiting,
//!   then dealt with and how) and the moderator finds it among the reports
//!   dealt with; an admin sets and removes a rule for a server, bans the
//!   advertiser from the whole server (their next post is refused) and
//!   lifts it, and reads it all in the server's moderation log; a member
//!   is refused the admins' pages; a member deletes her account (nothing
//!   had left the server) and the admin finds it among the deletions.
//!
//! On the way, forms sent with bad input say what is wrong next to the
//! field and keep what was typed, and every page passes axe-core with no
//! serious or critical violation.
//!
//! The journeys themselves are `tests/browser/journey.mjs`,
//! `tests/browser/crisis.mjs`, `tests/browser/guidance.mjs`,
//! `tests/browser/sources.mjs`, `tests/browser/professionals.mjs` and
//! `tests/browser/moderation.mjs` (see `tests/browser/README.md`). Each
//! prints one JSON event per line, which this test shows as it goes; a
//! failing run leaves screenshots, whose paths are printed with the
//! servers' logs. With `HEARTH_UPDATE_SCREENSHOTS=1` the first journey's
//! pictures of the main pages go to `docs/screenshots/` for the README (the
//! moderation journey's stay in the output folder).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Backend, Instance, Options};

/// The password of every account the journeys make (`harness.mjs`).
const PASSWORD: &str = "a long enough passphrase";
use tokio::sync::mpsc;

const BROWSER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/browser");
const SCREENSHOTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/screenshots");

/// The whole journey may take this long: it waits several times, each
/// wait bounded by [`support::DEADLINE`].
const JOURNEY_DEADLINE: Duration = Duration::from_secs(300);

/// The Chromium binary: `HEARTH_CHROMIUM`, or Debian's.
fn chromium() -> PathBuf {
    std::env::var_os("HEARTH_CHROMIUM")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Fails (never skips) when the browser or the npm packages are missing,
/// naming the command that installs them.
fn require_installed() {
    support::ensure_npm_packages(BROWSER_DIR, "playwright-core");
    let modules = Path::new(BROWSER_DIR).join("node_modules");
    for package in ["playwright-core", "axe-core"] {
        assert!(
            modules.join(package).is_dir(),
            "the browser tests' npm packages are not installed ({} is missing): \
             run `npm ci --prefix tests/browser` in the workspace root first",
            modules.join(package).display()
        );
    }
    let chromium = chromium();
    assert!(
        chromium.is_file(),
        "Chromium is not installed at {}: run `apt-get install chromium` \
         (Debian's package), or set HEARTH_CHROMIUM to a Chromium binary",
        chromium.display()
    );
}

/// Where the journey `name` leaves its failure screenshots (and, unless the
/// README's set is being updated, its screenshots of the main pages). It is
/// under Cargo's target folder, so it outlives the test for a look
/// afterwards.
fn output_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running journey script (`node journey.mjs`): its events arrive on a
/// channel, its stderr goes to a file. Killed when dropped; on a failing test it
/// prints everything it said, the screenshots it left and its stderr.
struct Journey {
    child: Child,
    events: mpsc::UnboundedReceiver<Value>,
    seen: Vec<Value>,
    out: PathBuf,
    stderr_path: PathBuf,
}

impl Journey {
    /// Run `script` (in `tests/browser/`) with `env` besides what every
    /// journey is given.
    fn start(script: &str, env: &[(&str, String)], out: &Path, screenshots: &Path) -> Journey {
        let stderr_path = out.join("journey.stderr");
        let stderr = File::create(&stderr_path).unwrap();
        let mut child = Command::new("node")
            .arg(script)
            .current_dir(BROWSER_DIR)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("HEARTH_BROWSER_OUT", out)
            .env("HEARTH_SCREENSHOT_DIR", screenshots)
            .env(
                "HEARTH_BROWSER_DEADLINE_MS",
                support::DEADLINE.as_millis().to_string(),
            )
            .env("HEARTH_CHROMIUM", chromium())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `node` (Node.js 20 or newer is needed): {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|_| json!({"event": "unparsable", "line": line}));
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        Journey {
            child,
            events,
            seen: Vec::new(),
            out: out.to_owned(),
            stderr_path,
        }
    }

    /// Show each event as it comes, until the script's stdout ends; then
    /// its exit status. Panics past [`JOURNEY_DEADLINE`].
    async fn run_to_end(&mut self) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            let left = JOURNEY_DEADLINE.saturating_sub(started.elapsed());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(event)) => {
                    eprintln!("browser: {}", summary(&event));
                    self.seen.push(event);
                }
                Ok(None) => break,
                Err(_) => panic!("the browser journey did not finish within {JOURNEY_DEADLINE:?}"),
            }
        }
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < JOURNEY_DEADLINE,
                "the browser journey did not exit after closing its output"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn last(&self, name: &str) -> Option<&Value> {
        self.seen.iter().rev().find(|e| e["event"] == name)
    }

    /// The PNG files this run left in its output folder (not the pictures
    /// of the main pages).
    fn failure_screenshots(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&self.out)
            .map(|dir| {
                dir.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "png"))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }
}

impl Drop for Journey {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("=== browser journey events ===");
            for event in &self.seen {
                eprintln!("{event}");
            }
            eprintln!(
                "=== browser journey stderr ===\n{}",
                std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
            );
            eprintln!("=== screenshots left by the browser journey ===");
            for path in self.failure_screenshots() {
                eprintln!("{}", path.display());
            }
        }
    }
}

/// One line per event for the progress log: the step's name, or the
/// event as JSON.
fn summary(event: &Value) -> String {
    match event["event"].as_str() {
        Some("step") => format!(
            "ok   {} ({} ms)",
            event["step"].as_str().unwrap_or(""),
            event["ms"]
        ),
        Some("axe") => format!(
            "axe  {} {}: {} serious{}",
            event["who"].as_str().unwrap_or(""),
            event["page"].as_str().unwrap_or(""),
            event["serious"],
            match event["minor"].as_array() {
                Some(minor) if !minor.is_empty() =>
                    format!(", minor: {}", Value::from(minor.clone())),
                _ => String::new(),
            }
        ),
        _ => event.to_string(),
    }
}

/// Prints the whole log of the Hearth instance named `.0` when the test
/// fails (the instance itself only prints its last lines).
struct HearthLogOnFailure<'a>(&'a str, &'a Instance);

impl Drop for HearthLogOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "=== Hearth {} log (port {}) ===\n{}",
                self.0,
                self.1.port,
                self.1.logs()
            );
        }
    }
}

#[tokio::test]
async fn a_reply_from_another_server_reaches_the_first_browser_and_every_page_passes_axe() {
    require_installed();
    let a = Instance::start(&Backend::Sqlite, Options::default().registration("open")).await;
    let _log_a = HearthLogOnFailure("A", &a);
    let b = Instance::start(&Backend::Sqlite, Options::default().registration("open")).await;
    let _log_b = HearthLogOnFailure("B", &b);

    let env = [
        ("HEARTH_A_URL", a.base.clone()),
        ("HEARTH_B_URL", b.base.clone()),
        ("HEARTH_A_DOMAIN", format!("localhost:{}", a.port)),
        ("HEARTH_B_DOMAIN", format!("localhost:{}", b.port)),
    ];
    let (journey, status) = run_journey("journey", &env, true).await;
    let done = journey
        .last("done")
        .expect("the browser journey ends with `done`");
    assert!(
        done["pages_checked"].as_u64().is_some_and(|n| n >= 20),
        "{done}"
    );
    let shots = journey
        .seen
        .iter()
        .filter(|e| e["event"] == "screenshot")
        .count();
    assert!(shots >= 6, "screenshots of the main pages: {shots}");
    assert!(status.success());

    // What the browsers did is what the servers hold: the thread and
    // bea's reply on A, the group's server; cal's thread and reply deleted
    // there, and their words gone from both servers' rows.
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM posts WHERE deleted_at IS NULL")
            .await,
        2,
        "the thread and bea's reply on A"
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM posts WHERE deleted_at IS NOT NULL")
            .await,
        2,
        "cal's thread and reply, deleted on A"
    );
    for (name, server) in [("A", &a), ("B", &b)] {
        assert_eq!(
            server
                .scalar(
                    "SELECT COUNT(*) FROM posts WHERE title LIKE '%marmalade%' \
                     OR source LIKE '%marmalade%' OR content_html LIKE '%marmalade%'"
                )
                .await,
            0,
            "cal's words are gone from {name}"
        );
    }
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM erasures").await,
        2,
        "cal's post and cal's account, each an erasure on A"
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM users WHERE status = 'deleted'")
            .await,
        1,
        "cal's account"
    );
}

#[tokio::test]
async fn moderating_a_group_in_a_browser_reports_bans_locks_and_logs_and_every_page_passes_axe() {
    require_installed();
    let a = Instance::start(&Backend::Sqlite, Options::default().registration("open")).await;
    let _log_a = HearthLogOnFailure("A", &a);
    a.create_user("ruth", PASSWORD, &["--admin"]);

    let env = [
        ("HEARTH_A_URL", a.base.clone()),
        ("HEARTH_ADMIN", "ruth".to_owned()),
    ];
    let (journey, status) = run_journey("moderation", &env, false).await;
    let done = journey
        .last("done")
        .expect("the moderation journey ends with `done`");
    assert!(
        done["pages_checked"].as_u64().is_some_and(|n| n >= 25),
        "{done}"
    );
    assert!(status.success());

    // What the browsers did is what the server holds: one report, dealt
    // with; the advert removed, the post turned down, and lea's thread,
    // deleted with her account; nothing waiting; no ban left (the group's
    // and the server's, both lifted); the log's lines; lea's account, one
    // erasure.
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM reports WHERE state = 'resolved'")
            .await,
        1
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM posts WHERE deleted_at IS NOT NULL")
            .await,
        3,
        "the advert, removed with the ban, the post turned down, and lea's thread"
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM erasures WHERE kind = 'account'")
            .await,
        1,
        "lea's account"
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM users WHERE status = 'deleted'")
            .await,
        1,
        "lea's account"
    );
    assert_eq!(
        a.scalar(
            "SELECT COUNT(*) FROM posts WHERE held_activity IS NOT NULL AND deleted_at IS NULL"
        )
        .await,
        0,
        "nothing waits for a moderator"
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM posts WHERE pinned_at IS NOT NULL")
            .await,
        1,
        "the welcome thread, pinned"
    );
    assert_eq!(a.count("bans").await, 0, "the ban was lifted");
    for (action, times) in [
        ("resolve_report", 1),
        ("lock_thread", 1),
        ("ban", 2),
        ("unban", 2),
        ("set_premoderation", 1),
        ("approve_post", 1),
        ("reject_post", 1),
        ("pin_thread", 1),
    ] {
        assert_eq!(
            a.scalar(&format!(
                "SELECT COUNT(*) FROM moderation_log WHERE action = '{action}'"
            ))
            .await,
            times,
            "{action} in the log"
        );
    }
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM moderation_log WHERE action = 'ban' AND group_ap_id = ''")
            .await,
        1,
        "the ban from the whole server, in the log"
    );
}

#[tokio::test]
async fn a_post_in_crisis_shows_its_author_help_and_reaches_the_moderators_first_and_every_page_passes_axe()
 {
    require_installed();
    let a = Instance::start(&Backend::Sqlite, Options::default().registration("open")).await;
    let _log_a = HearthLogOnFailure("A", &a);
    let env = [("HEARTH_A_URL", a.base.clone())];
    let (journey, status) = run_journey("crisis", &env, false).await;
    let done = journey
        .last("done")
        .expect("the crisis journey ends with `done`");
    assert!(
        done["pages_checked"].as_u64().is_some_and(|n| n >= 6),
        "{done}"
    );
    assert!(status.success());
    // One possible crisis (the look-alike made none), and sam was sent
    // the helplines.
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM reports WHERE category = 'possible_crisis'")
            .await,
        1
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM notifications WHERE kind = 'crisis_support'")
            .await,
        1
    );
}

#[tokio::test]
async fn guidance_mentors_and_helpful_replies_in_a_browser_and_every_page_passes_axe() {
    require_installed();
    let a = Instance::start(&Backend::Sqlite, Options::default().registration("open")).await;
    let _log_a = HearthLogOnFailure("A", &a);
    let env = [("HEARTH_A_URL", a.base.clone())];
    let (journey, status) = run_journey("guidance", &env, false).await;
    let done = journey
        .last("done")
        .expect("the guidance journey ends with `done`");
    assert!(
        done["pages_checked"].as_u64().is_some_and(|n| n >= 8),
        "{done}"
    );
    assert!(status.success());
    assert_eq!(a.count("group_mentors").await, 1, "cat, a peer mentor");
    assert_eq!(a.count("helpful_marks").await, 1, "cat's reply, helpful");
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM moderation_log WHERE action IN ('set_guidance', 'add_mentor', 'mark_helpful')")
            .await,
        3
    );
}

#[tokio::test]
async fn sources_and_a_moderators_label_in_a_browser_and_every_page_passes_axe() {
    require_installed();
    let a = Instance::start(&Backend::Sqlite, Options::default().registration("open")).await;
    let _log_a = HearthLogOnFailure("A", &a);
    let env = [("HEARTH_A_URL", a.base.clone())];
    let (journey, status) = run_journey("sources", &env, false).await;
    let done = journey
        .last("done")
        .expect("the sources journey ends with `done`");
    assert!(
        done["pages_checked"].as_u64().is_some_and(|n| n >= 10),
        "{done}"
    );
    assert!(status.success());
    // What the browsers did is what the server holds: one thread with
    // sources; its label set and taken off, both in the log.
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM posts WHERE sources IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM posts WHERE label_kind IS NOT NULL")
            .await,
        0,
        "the label was taken off"
    );
    for action in ["label_post", "unlabel_post"] {
        assert_eq!(
            a.scalar(&format!(
                "SELECT COUNT(*) FROM moderation_log WHERE action = '{action}'"
            ))
            .await,
            1,
            "{action} in the log"
        );
    }
}

#[tokio::test]
async fn verifying_a_professional_in_a_browser_shows_the_badge_and_disclaimer_and_every_page_passes_axe()
 {
    require_installed();
    let a = Instance::start(&Backend::Sqlite, Options::default().registration("open")).await;
    let _log_a = HearthLogOnFailure("A", &a);
    a.create_user("ruth", PASSWORD, &["--admin"]);
    let env = [
        ("HEARTH_A_URL", a.base.clone()),
        ("HEARTH_ADMIN", "ruth".to_owned()),
    ];
    let (journey, status) = run_journey("professionals", &env, false).await;
    let done = journey
        .last("done")
        .expect("the professionals journey ends with `done`");
    assert!(
        done["pages_checked"].as_u64().is_some_and(|n| n >= 8),
        "{done}"
    );
    assert!(status.success());
    // What the browsers did is what the server holds: one verification,
    // revoked, with who did both; one post written as a professional.
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM verifications WHERE revoked_at IS NOT NULL AND revoked_by IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM posts WHERE speaking_as = 'professional'")
            .await,
        1
    );
}

/// Run the journey `name` (`tests/browser/<name>.mjs`) to its end and fail
/// the test, with everything it left behind, unless it passed. With
/// `for_readme`, its pictures are the README's (see the module's doc).
async fn run_journey(
    name: &str,
    env: &[(&str, String)],
    for_readme: bool,
) -> (Journey, std::process::ExitStatus) {
    let out = output_dir(name);
    let update = for_readme && std::env::var("HEARTH_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1");
    let screenshots = if update {
        PathBuf::from(SCREENSHOTS_DIR)
    } else {
        out.join("screenshots")
    };
    let mut journey = Journey::start(&format!("{name}.mjs"), env, &out, &screenshots);
    let status = journey.run_to_end().await;

    if let Some(failed) = journey.last("failed") {
        let screenshots: Vec<String> = failed["screenshots"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                format!(
                    "  {} (browser of {}, at {}{})",
                    s["path"].as_str().unwrap_or(""),
                    s["who"].as_str().unwrap_or(""),
                    s["url"].as_str().unwrap_or(""),
                    if s["current"] == true {
                        ", the failing step's"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        let axe = match failed["axe"].as_array() {
            Some(v) if !v.is_empty() => serde_json::to_string_pretty(v).unwrap(),
            _ => "none".to_owned(),
        };
        panic!(
            "the browser journey failed at step {:?}: {}\nscreenshots:\n{}\n\
             serious or critical accessibility violations: {axe}",
            failed["step"].as_str().unwrap_or(""),
            failed["message"].as_str().unwrap_or(""),
            screenshots.join("\n"),
        );
    }
    assert!(status.success(), "the browser journey exited with {status}");
    if update {
        let shots = journey
            .seen
            .iter()
            .filter(|e| e["event"] == "screenshot")
            .count();
        eprintln!("browser: {shots} screenshots written to docs/screenshots/");
    }
    (journey, status)
}
