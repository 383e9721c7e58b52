//! The authorisation matrix: every route of the route table, asked by every
//! role, allows or denies exactly as its row says.
//!
//! The table is [`rows`]: one row per route (method and path, as
//! `hearth_http::routes()` lists them), with one cell per role. A route
//! without a row, or a row without a route, fails
//! `every_route_has_a_row` before any server starts.
//!
//! Roles, on server A, about its group `circle` (approval to join, posts
//! may be public):
//!
//! | role | who |
//! | --- | --- |
//! | `anon` | nobody: no token, no cookie, no signature |
//! | `memb` | `mia`, a member of the group (not a moderator); the author of the scene's posts |
//! | `non` | `olga`, logged in here, not in the group |
//! | `ban` | `bob`, a member once, banned from the group |
//! | `mod` | `ann`, the group's moderator (an ordinary account otherwise) |
//! | `adm` | `ada`, an admin of the server, not in the group |
//! | `rem` | `bea`, an actor on server B (a real Hearth server with a member in the group), signing with her real key |
//! | `str` | `carl`, an actor on server C, which has no member in the group, signing |
//! | `sus` | `dan`, an actor on server D, whose domain the admin suspended (through the admin API) after he had joined |
//! | `rep` | a replay: signatures server B made for its own requests to another server (the hostile server), replayed to A; and one B made for another path of A |
//!
//! A cell is one of:
//!
//! - `A`: allowed. The request passes authorisation: a 2xx answer (web
//!   forms: 2xx or a redirect) and, where the row has a probe, the change
//!   is seen afterwards; where it has a proof word, that word is in the
//!   answer.
//! - `D`: denied. 401, 403, 404 or 410 (web pages: also a redirect to the
//!   log-in page; web forms: any answer, as long as nothing changed), the
//!   probe sees no change and no protected word is in the answer.
//! - for routes that serve stored posts, which of the three threads of the
//!   scene (`m`: members-only, `l`: `local`, `p`: public) the role reads:
//!   `mlp`, `mp`, `p`, or `-` (allowed, but shows none of them). Where the
//!   path names one post, each thread is asked for in turn: those listed
//!   answer 2xx with their words, the others are denied as `D` is. Where
//!   the route lists posts, the answer shows exactly the words listed.
//!
//! Every answer, whatever the row, is checked for the words of the
//! members-only and `local` threads: they may appear only where the cell
//! says the role reads them.
//!
//! For the JSON API and the web pages a signature is worth nothing: the
//! four remote columns equal the anonymous one on every such row (the
//! table test checks it), and the walk proves it by sending those
//! requests signed. On the ActivityPub routes the remote roles sign as
//! servers do; the local roles send their token and cookie, which those
//! routes do not read (they answer as to anyone).
//!
//! Mutating rows get a fresh target for each request (a new post, a new
//! person to ban, a new pending request…) made by the scene's own members
//! through the API, and valid bodies, so an allowed request succeeds. The
//! rows that end a session or an account use a throw-away account (or
//! session) of the same role. Every web form row is also sent once without
//! its CSRF token, by a role it allows, and must change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::{Method, StatusCode};
use rsa::RsaPrivateKey;
use serde_json::{Value, json};
use support::hostile::Recorded;
use support::rig::{PASSWORD, Rig, Scene, Server};
use support::{Backend, signed_get, signed_post, wait_until};

// ---- the table ----------------------------------------------------------

/// Words only the group's members (here and on member servers) may read.
const MEMBERS: &str = "MEMBERSONLY";
/// Words only the group's members here may read.
const LOCAL: &str = "LOCALONLY";
/// Words anyone may read.
const PUBLIC: &str = "PUBLICWORDS";
/// A post waiting for the moderators.
const HELD: &str = "HELDWORDS";
/// A removed post's words, kept for the moderators.
const REMOVED: &str = "REMOVEDWORDS";
/// What a report said.
const REPORTED: &str = "REPORTWORDS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Role {
    Anonymous,
    Member,
    NonMember,
    Banned,
    Moderator,
    Admin,
    Remote,
    Stranger,
    Suspended,
    Replay,
}

const ROLES: [Role; 10] = [
    Role::Anonymous,
    Role::Member,
    Role::NonMember,
    Role::Banned,
    Role::Moderator,
    Role::Admin,
    Role::Remote,
    Role::Stranger,
    Role::Suspended,
    Role::Replay,
];

impl Role {
    fn local(self) -> bool {
        matches!(
            self,
            Role::Member | Role::NonMember | Role::Banned | Role::Moderator | Role::Admin
        )
    }

    fn remote(self) -> bool {
        matches!(
            self,
            Role::Remote | Role::Stranger | Role::Suspended | Role::Replay
        )
    }
}

/// Which of the scene's three threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Thread {
    Members,
    Local,
    Public,
}

const THREADS: [Thread; 3] = [Thread::Members, Thread::Local, Thread::Public];

impl Thread {
    fn words(self) -> &'static str {
        match self {
            Thread::Members => MEMBERS,
            Thread::Local => LOCAL,
            Thread::Public => PUBLIC,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Thread::Members => "members",
            Thread::Local => "local",
            Thread::Public => "public",
        }
    }
}

/// One role's expectation on one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Allow,
    Deny,
    /// Reads these threads: members-only, local, public.
    Reads {
        m: bool,
        l: bool,
        p: bool,
    },
}

impl Cell {
    fn parse(token: &str) -> Cell {
        match token {
            "A" => Cell::Allow,
            "D" => Cell::Deny,
            "-" => Cell::Reads {
                m: false,
                l: false,
                p: false,
            },
            letters => {
                assert!(
                    letters.chars().all(|c| "mlp".contains(c)),
                    "unknown cell {letters}"
                );
                Cell::Reads {
                    m: letters.contains('m'),
                    l: letters.contains('l'),
                    p: letters.contains('p'),
                }
            }
        }
    }

    fn reads(self, thread: Thread) -> bool {
        match (self, thread) {
            (Cell::Reads { m, .. }, Thread::Members) => m,
            (Cell::Reads { l, .. }, Thread::Local) => l,
            (Cell::Reads { p, .. }, Thread::Public) => p,
            _ => false,
        }
    }

    fn allowed(self) -> bool {
        self != Cell::Deny
    }
}

/// What each request of a row needs made first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// Nothing: the scene's fixed names and ids.
    Scene,
    /// Each of the scene's three threads in turn (`{id}`).
    Thread,
    /// A new members-only thread by the member (`{id}`).
    Post,
    /// A new members-only thread by `max`, a member who plays no role.
    OthersPost,
    /// A new thread by the member with a reply by her (`{id}`: the reply,
    /// `{thread}`).
    Reply,
    /// A new account that joined the group (`{victim}`, `{victim_id}`,
    /// `{membership}`); the member role acts as this account.
    Member,
    /// A new account, in no group (`{victim}`, `{victim_id}`).
    Account,
    /// A new sign-up waiting for an admin (`{id}`, `{victim}`).
    PendingAccount,
    /// A new account's request to join the group (`{id}`, `{victim}`).
    PendingJoin,
    /// A post from server B held for the moderators (`{id}`).
    Held,
    /// A new post by the member, reported by the moderator (`{id}`: the
    /// report, `{post}`, `{comment}`).
    Report,
    /// A new open group by the moderator (`{name}`, `{group_url}`); the
    /// activity for inboxes follows it.
    Group,
    /// The acting role is a new account of the same role.
    Throwaway,
    /// The acting role uses a new session of its account (a new browser,
    /// for the roles without one).
    Session,
}

/// Who does a step before the request, or reads a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Nobody,
    Member,
    Moderator,
    Admin,
    /// The role (or throw-away account) that sends the request.
    Actor,
    /// The account the fill made (`{victim}`).
    Victim,
    /// The moderator, or the member when the moderator acts.
    Other,
}

#[derive(Debug, Clone)]
struct Step {
    by: By,
    method: Method,
    path: &'static str,
    body: &'static str,
}

/// What shows whether an allowed request did its work.
#[derive(Debug, Clone)]
enum Probe {
    /// GET `path` as `by` before and after the request: whether `needle`
    /// is in the answer changed exactly when allowed (or, with `after`,
    /// it is there afterwards exactly when allowed: for asking to join,
    /// where a member already is one).
    Get {
        by: By,
        path: &'static str,
        needle: &'static str,
        after: bool,
    },
    /// The answer redirects to `location` exactly when allowed.
    Redirect(&'static str),
}

#[derive(Debug, Clone)]
struct Row {
    method: Method,
    path: &'static str,
    cells: [Cell; 10],
    fill: Fill,
    with: Vec<(&'static str, &'static str)>,
    before: Vec<Step>,
    query: &'static str,
    /// JSON for the API, `k=v&k=v` for web forms; templates.
    body: &'static str,
    probe: Option<Probe>,
    /// A word an allowed answer shows and a denied one never does.
    proof: Option<&'static str>,
}

fn row(method: &str, path: &'static str, cells: &str) -> Row {
    let parsed: Vec<Cell> = cells.split_whitespace().map(Cell::parse).collect();
    assert_eq!(parsed.len(), 10, "{method} {path}: ten cells, one per role");
    Row {
        method: Method::from_bytes(method.as_bytes()).unwrap(),
        path,
        cells: parsed.try_into().unwrap(),
        fill: Fill::Scene,
        with: Vec::new(),
        before: Vec::new(),
        query: "",
        body: "",
        probe: None,
        proof: None,
    }
}

impl Row {
    fn fill(mut self, fill: Fill) -> Row {
        self.fill = fill;
        self
    }

    fn with(mut self, key: &'static str, value: &'static str) -> Row {
        self.with.push((key, value));
        self
    }

    fn before(mut self, by: By, method: &str, path: &'static str, body: &'static str) -> Row {
        self.before.push(Step {
            by,
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            path,
            body,
        });
        self
    }

    fn query(mut self, query: &'static str) -> Row {
        self.query = query;
        self
    }

    fn body(mut self, body: &'static str) -> Row {
        self.body = body;
        self
    }

    fn probe(mut self, by: By, path: &'static str, needle: &'static str) -> Row {
        self.probe = Some(Probe::Get {
            by,
            path,
            needle,
            after: false,
        });
        self
    }

    fn probe_after(mut self, by: By, path: &'static str, needle: &'static str) -> Row {
        self.probe = Some(Probe::Get {
            by,
            path,
            needle,
            after: true,
        });
        self
    }

    fn redirects(mut self, location: &'static str) -> Row {
        self.probe = Some(Probe::Redirect(location));
        self
    }

    fn proof(mut self, word: &'static str) -> Row {
        self.proof = Some(word);
        self
    }

    fn surface(&self) -> Surface {
        surface(self.path)
    }

    /// Whether a target made for a denied request serves the next role.
    fn reuses(&self) -> bool {
        !matches!(
            self.fill,
            Fill::Scene | Fill::Thread | Fill::Throwaway | Fill::Session
        )
    }

    fn cell(&self, role: Role) -> Cell {
        self.cells[ROLES.iter().position(|r| *r == role).unwrap()]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Api,
    Federation,
    Web,
}

fn surface(path: &str) -> Surface {
    const FEDERATION: [&str; 9] = [
        "/.well-known/",
        "/nodeinfo/",
        "/actor",
        "/u/",
        "/g/",
        "/p/",
        "/activities/",
        "/verifications/",
        "/inbox",
    ];
    if path.starts_with("/api/") {
        Surface::Api
    } else if FEDERATION.iter().any(|p| path.starts_with(p)) {
        Surface::Federation
    } else {
        Surface::Web
    }
}

/// A public thread naming the role, so it is told.
const MENTION: &str = r#"{"group":"circle","title":"Hello","body":"Hello @{actor}.","support_kind":"experience","visibility":"public"}"#;

/// The posts waiting for the moderators, for probes.
const HELD_LIST: &str = "/api/v1/groups/circle/held?limit=200";

/// The post the moderator reads, for probes (`{id}`).
const POST: &str = "/api/v1/posts/{id}";

/// Every route, every role.
///
/// Columns: anon memb non ban mod adm rem str sus rep (see the module
/// docs). Placeholders in paths, bodies and probes are filled per request.
#[rustfmt::skip] // a table: its columns line up
fn rows() -> Vec<Row> {
    use By::*;
    vec![
        // ---- the JSON API: the server, accounts ----------------------
        //                                                 anon memb non  ban  mod  adm  rem  str  sus  rep
        row("GET", "/api/v1/health",                      "A    A    A    A    A    A    A    A    A    A"),
        row("GET", "/api/v1/instance",                    "A    A    A    A    A    A    A    A    A    A"),
        row("GET", "/api/v1/openapi.json",                "A    A    A    A    A    A    A    A    A    A"),
        row("GET", "/api/docs",                           "A    A    A    A    A    A    A    A    A    A"),
        row("POST", "/api/v1/auth/register",              "A    A    A    A    A    A    A    A    A    A")
            .body(r#"{"username":"reg{n}","password":"{password}"}"#),
        row("POST", "/api/v1/auth/login",                 "A    A    A    A    A    A    A    A    A    A")
            .body(r#"{"username":"olga","password":"{password}"}"#),
        // A new session of the role's account, so the role keeps its own.
        row("POST", "/api/v1/auth/logout",                "D    A    A    A    A    A    D    D    D    D")
            .fill(Fill::Session)
            .probe(Actor, "/api/v1/me", "\"username\""),
        row("GET", "/api/v1/me",                          "D    A    A    A    A    A    D    D    D    D"),
        row("PATCH", "/api/v1/me",                        "D    A    A    A    A    A    D    D    D    D")
            .body(r#"{"bio":"bio {n}"}"#)
            .probe(Actor, "/api/v1/me", "bio {n}"),
        row("POST", "/api/v1/me/password",                "D    A    A    A    A    A    D    D    D    D")
            .fill(Fill::Throwaway)
            .body(r#"{"current_password":"{password}","new_password":"another long passphrase"}"#)
            .probe(Actor, "/api/v1/me", "\"username\""),
        row("GET", "/api/v1/me/posts",                    "D    mlp  -    -    -    -    D    D    D    D"),
        row("GET", "/api/v1/me/sign_ins",                 "D    A    A    A    A    A    D    D    D    D"),
        row("GET", "/api/v1/me/export",                   "D    mlp  -    -    -    -    D    D    D    D"),
        row("GET", "/api/v1/me/audit_log",                "D    A    A    A    A    A    D    D    D    D"),
        // A data-subject request: the member's whole data, to admins.
        row("GET", "/api/v1/admin/accounts/{id}/export",  "D    D    D    D    D    mlp  D    D    D    D")
            .with("id", "{mia_id}")
            .query("reason=a%20data%20request"),
        row("GET", "/api/v1/admin/audit_log",             "D    D    D    D    D    A    D    D    D    D"),
        row("DELETE", "/api/v1/me",                       "D    A    A    A    A    A    D    D    D    D")
            .fill(Fill::Throwaway)
            .body(r#"{"password":"{password}"}"#)
            .probe(Actor, "/api/v1/me", "\"username\""),
        row("DELETE", "/api/v1/admin/accounts/{id}",      "D    D    D    D    D    A    D    D    D    D")
            .fill(Fill::Account)
            .with("id", "{victim_id}")
            .probe(Victim, "/api/v1/me", "\"username\""),
        // Whoever holds the secret link reads the receipt.
        row("GET", "/api/v1/erasures/{secret}",           "A    A    A    A    A    A    A    A    A    A"),
        // The author (and admins) read the receipt of a post she deleted.
        row("GET", "/api/v1/posts/{id}/erasure",          "D    A    D    D    D    A    D    D    D    D")
            .with("id", "{deleted_post}"),
        row("GET", "/api/v1/admin/erasures",              "D    D    D    D    D    A    D    D    D    D"),
        row("GET", "/api/v1/admin/erasures/{id}",         "D    D    D    D    D    A    D    D    D    D")
            .with("id", "{erasure_id}"),
        row("GET", "/api/v1/admin/accounts",              "D    D    D    D    D    A    D    D    D    D"),
        row("POST", "/api/v1/admin/accounts/{id}/approve", "D    D    D    D    D    A    D    D    D    D")
            .fill(Fill::PendingAccount)
            .probe(Admin, "/api/v1/admin/accounts?status=active&limit=200", "\"{victim}\""),
        row("POST", "/api/v1/admin/accounts/{id}/reject", "D    D    D    D    D    A    D    D    D    D")
            .fill(Fill::PendingAccount)
            .probe(Admin, "/api/v1/admin/accounts?status=rejected&limit=200", "\"{victim}\""),
        // ---- verified professionals: admins (the moderator is not
        // trusted to verify) ----
        row("GET", "/api/v1/admin/professionals",         "D    D    D    D    D    A    D    D    D    D"),
        row("GET", "/api/v1/admin/accounts/{id}/verification", "D    D    D    D    D    A    D    D    D    D")
            .with("id", "{mia_id}"),
        row("PUT", "/api/v1/admin/accounts/{id}/verification", "D    D    D    D    D    A    D    D    D    D")
            .fill(Fill::Account)
            .with("id", "{victim_id}")
            .body(r#"{"role":"Registered nurse"}"#)
            .probe(Admin, "/api/v1/admin/professionals", "\"{victim}\""),
        row("DELETE", "/api/v1/admin/accounts/{id}/verification", "D    D    D    D    D    A    D    D    D    D")
            .fill(Fill::Account)
            .with("id", "{victim_id}")
            .before(Admin, "PUT", "/api/v1/admin/accounts/{victim_id}/verification", r#"{"role":"Registered nurse"}"#)
            .probe(Admin, "/api/v1/admin/professionals", "\"{victim}\""),
        row("PUT", "/api/v1/admin/accounts/{id}/verifier", "D    D    D    D    D    A    D    D    D    D")
            .with("id", "{mona_id}")
            .before(Admin, "DELETE", "/api/v1/admin/accounts/{mona_id}/verifier", "")
            .probe(Admin, "/api/v1/admin/professionals", "\"mona\""),
        row("DELETE", "/api/v1/admin/accounts/{id}/verifier", "D    D    D    D    D    A    D    D    D    D")
            .with("id", "{mona_id}")
            .before(Admin, "PUT", "/api/v1/admin/accounts/{mona_id}/verifier", "")
            .probe(Admin, "/api/v1/admin/professionals", "\"mona\""),
        // ---- federation policy: admins ----
        row("GET", "/api/v1/admin/federation",            "D    D    D    D    D    A    D    D    D    D"),
        row("GET", "/api/v1/admin/domain_rules",          "D    D    D    D    D    A    D    D    D    D"),
        row("POST", "/api/v1/admin/domain_rules",         "D    D    D    D    D    A    D    D    D    D")
            .body(r#"{"domain":"rule{n}.example","action":"limit"}"#)
            .probe(Admin, "/api/v1/admin/domain_rules", "rule{n}.example"),
        row("DELETE", "/api/v1/admin/domain_rules/{domain}", "D    D    D    D    D    A    D    D    D    D")
            .with("domain", "gone{n}.example")
            .before(Admin, "POST", "/api/v1/admin/domain_rules", r#"{"domain":"gone{n}.example","action":"limit"}"#)
            .probe(Admin, "/api/v1/admin/domain_rules", "gone{n}.example"),
        row("GET", "/api/v1/admin/domain_subscriptions",  "D    D    D    D    D    A    D    D    D    D"),
        row("POST", "/api/v1/admin/domain_subscriptions", "D    D    D    D    D    A    D    D    D    D")
            .body(r#"{"url":"http://{hostile}/list{n}.csv","kind":"block"}"#)
            .probe(Admin, "/api/v1/admin/domain_subscriptions", "list{n}.csv"),
        row("DELETE", "/api/v1/admin/domain_subscriptions", "D    D    D    D    D    A    D    D    D    D")
            .query("url=http%3A%2F%2F{hostile}%2Fold{n}.csv")
            .before(Admin, "POST", "/api/v1/admin/domain_subscriptions", r#"{"url":"http://{hostile}/old{n}.csv"}"#)
            .probe(Admin, "/api/v1/admin/domain_subscriptions", "old{n}.csv"),
        // ---- groups ----
        row("GET", "/api/v1/groups",                      "A    A    A    A    A    A    A    A    A    A"),
        row("POST", "/api/v1/groups",                     "D    A    A    A    A    A    D    D    D    D")
            .body(r#"{"name":"made{n}","title":"Made {n}"}"#)
            .probe(Nobody, "/api/v1/groups/made{n}", "\"made{n}\""),
        row("GET", "/api/v1/groups/{name}",               "A    A    A    A    A    A    A    A    A    A"),
        row("PATCH", "/api/v1/groups/{name}",             "D    D    D    D    A    D    D    D    D    D")
            .body(r#"{"support_guide":"Guide {n}."}"#)
            .probe(Nobody, "/api/v1/groups/circle/guidance", "Guide {n}."),
        // Joining and leaving: a new account of each role.
        row("POST", "/api/v1/groups/{name}/join",         "D    A    A    D    A    A    D    D    D    D")
            .fill(Fill::Throwaway)
            .probe_after(Actor, "/api/v1/memberships", "/g/circle\""),
        row("POST", "/api/v1/groups/{name}/leave",        "D    A    D    D    A    D    D    D    D    D")
            .fill(Fill::Throwaway)
            .probe(Actor, "/api/v1/memberships", "/g/circle\""),
        // Join requests and the group's settings are its moderators'
        // alone, admins included.
        row("GET", "/api/v1/groups/{name}/requests",      "D    D    D    D    A    D    D    D    D    D"),
        row("POST", "/api/v1/groups/{name}/requests/{id}/approve", "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::PendingJoin)
            .probe(Moderator, "/api/v1/groups/circle/requests?limit=200", "{victim}"),
        row("POST", "/api/v1/groups/{name}/requests/{id}/decline", "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::PendingJoin)
            .probe(Moderator, "/api/v1/groups/circle/requests?limit=200", "{victim}"),
        row("GET", "/api/v1/memberships",                 "D    A    A    A    A    A    D    D    D    D"),
        row("POST", "/api/v1/memberships",                "D    A    A    D    A    A    D    D    D    D")
            .fill(Fill::Throwaway)
            .body(r#"{"target":"circle"}"#)
            .probe_after(Actor, "/api/v1/memberships", "/g/circle\""),
        // The member ends her own membership; nobody else may end it.
        row("DELETE", "/api/v1/memberships/{id}",         "D    A    D    D    D    D    D    D    D    D")
            .fill(Fill::Member)
            .with("id", "{membership}")
            .probe(Victim, "/api/v1/memberships", "/g/circle\""),
        row("GET", "/api/v1/resolve",                     "D    A    A    A    A    A    D    D    D    D")
            .query("handle=%40elsewhere%40{hostile}"),
        // ---- posts ----
        row("GET", "/api/v1/posts",                       "p    mlp  p    p    mlp  p    p    p    p    p")
            .query("group=circle"),
        row("POST", "/api/v1/posts",                      "D    A    D    D    A    D    D    D    D    D")
            .body(r#"{"group":"circle","title":"Thread {n}","body":"Words {n}.","support_kind":"experience"}"#)
            .probe(Moderator, "/api/v1/posts?group=circle", "Thread {n}"),
        row("GET", "/api/v1/posts/{id}",                  "p    mlp  p    p    mlp  p    p    p    p    p")
            .fill(Fill::Thread),
        row("PATCH", "/api/v1/posts/{id}",                "D    A    D    D    D    D    D    D    D    D")
            .fill(Fill::Post)
            .body(r#"{"body":"Edited {n}."}"#)
            .probe(Moderator, POST, "Edited {n}."),
        row("DELETE", "/api/v1/posts/{id}",               "D    A    D    D    D    D    D    D    D    D")
            .fill(Fill::Post)
            .probe(Moderator, POST, "Some words."),
        row("POST", "/api/v1/posts/{id}/replies",         "D    A    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .body(r#"{"body":"Reply {n}."}"#)
            .probe(Moderator, POST, "Reply {n}."),
        row("POST", "/api/v1/posts/{id}/reactions/{reaction}", "D    A    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .probe(Moderator, POST, "{\"reaction\":\"hug\",\"count\":1}"),
        // The role takes back its own reaction (given first, where it can).
        row("DELETE", "/api/v1/posts/{id}/reactions/{reaction}", "D    A    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .before(Actor, "POST", "/api/v1/posts/{id}/reactions/hug", "")
            .probe(Actor, POST, "\"my_reactions\":[\"hug\"]"),
        // ---- moderation ----
        // The admin is not in the group: a members-only post is not theirs
        // to read, so they cannot pin, lock, label, mark, remove or
        // restore one (404, as for anyone who may not read it). They do
        // ban, name moderators and mentors, hold and free posts and
        // handle reports, as `App::may_moderate` allows.
        row("POST", "/api/v1/posts/{id}/pin",             "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .probe(Moderator, POST, "\"pinned\":true"),
        row("DELETE", "/api/v1/posts/{id}/pin",           "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .before(Moderator, "POST", "/api/v1/posts/{id}/pin", "")
            .probe(Moderator, POST, "\"pinned\":false"),
        row("POST", "/api/v1/posts/{id}/lock",            "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .probe(Moderator, POST, "\"locked\":true"),
        row("PUT", "/api/v1/posts/{id}/label",            "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .body(r#"{"kind":"disputed","note":"Note {n}."}"#)
            .probe(Moderator, POST, "Note {n}."),
        row("DELETE", "/api/v1/posts/{id}/label",         "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .before(Moderator, "PUT", "/api/v1/posts/{id}/label", r#"{"kind":"disputed","note":"Note {n}."}"#)
            .probe(Moderator, POST, "Note {n}."),
        row("DELETE", "/api/v1/posts/{id}/lock",          "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .before(Moderator, "POST", "/api/v1/posts/{id}/lock", "")
            .probe(Moderator, POST, "\"locked\":false"),
        row("POST", "/api/v1/groups/{name}/bans",         "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Member)
            .body(r#"{"person":"{victim}","reason":"Reason {n}."}"#)
            .probe(Moderator, "/api/v1/groups/circle/bans", "Reason {n}."),
        row("GET", "/api/v1/groups/{name}/bans",          "D    D    D    D    A    A    D    D    D    D"),
        row("DELETE", "/api/v1/groups/{name}/bans",       "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Member)
            .query("person={victim}")
            .before(Moderator, "POST", "/api/v1/groups/circle/bans", r#"{"person":"{victim}","reason":"Reason {n}."}"#)
            .probe(Moderator, "/api/v1/groups/circle/bans", "Reason {n}."),
        row("PUT", "/api/v1/groups/{name}/moderators/{username}", "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Member)
            .probe(Nobody, "/g/circle/moderators", "/u/{victim}\""),
        row("DELETE", "/api/v1/groups/{name}/moderators/{username}", "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Member)
            .before(Moderator, "PUT", "/api/v1/groups/circle/moderators/{victim}", "")
            .probe(Nobody, "/g/circle/moderators", "/u/{victim}\""),
        row("GET", "/api/v1/groups/{name}/mentors",       "A    A    A    A    A    A    A    A    A    A"),
        row("PUT", "/api/v1/groups/{name}/mentors/{username}", "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Member)
            .probe(Nobody, "/api/v1/groups/circle/mentors", "/u/{victim}\""),
        row("DELETE", "/api/v1/groups/{name}/mentors/{username}", "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Member)
            .before(Moderator, "PUT", "/api/v1/groups/circle/mentors/{victim}", "")
            .probe(Nobody, "/api/v1/groups/circle/mentors", "/u/{victim}\""),
        // New members' first posts, through the read rule as each reads.
        row("GET", "/api/v1/groups/{name}/newcomers",     "D    D    D    D    mlp  p    D    D    D    D"),
        row("GET", "/api/v1/groups/{name}/guidance",      "A    A    A    A    A    A    A    A    A    A"),
        row("PUT", "/api/v1/posts/{id}/helpful",          "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Reply)
            .probe(Moderator, POST, "\"helpful\":true"),
        row("DELETE", "/api/v1/posts/{id}/helpful",       "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Reply)
            .before(Moderator, "PUT", "/api/v1/posts/{id}/helpful", "")
            .probe(Moderator, POST, "\"helpful\":true"),
        // Listed group: everyone reads its log.
        row("GET", "/api/v1/groups/{name}/moderation_log", "A    A    A    A    A    A    A    A    A    A"),
        row("GET", "/api/v1/groups/{name}/premoderation", "D    D    D    D    A    A    D    D    D    D"),
        // Server B stays held (the held posts come from there).
        row("PUT", "/api/v1/groups/{name}/premoderation", "D    D    D    D    A    A    D    D    D    D")
            .body(r#"{"new_member_days":0,"servers":["{b}","x{n}.example"]}"#)
            .probe(Moderator, "/api/v1/groups/circle/premoderation", "x{n}.example"),
        row("GET", "/api/v1/groups/{name}/held",          "D    D    D    D    A    A    D    D    D    D")
            .proof(HELD),
        row("POST", "/api/v1/posts/{id}/approve",         "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Held)
            .probe(Moderator, HELD_LIST, "\"id\":\"{id}\""),
        row("POST", "/api/v1/posts/{id}/reject",          "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Held)
            .body(r#"{"reason":"Reason {n}."}"#)
            .probe(Moderator, HELD_LIST, "\"id\":\"{id}\""),
        row("POST", "/api/v1/posts/{id}/restore",         "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .before(Moderator, "POST", "/api/v1/posts/{id}/remove", r#"{"reason":"Reason {n}."}"#)
            .probe(Moderator, POST, "Some words."),
        row("GET", "/api/v1/groups/{name}/removed",       "D    D    D    D    A    A    D    D    D    D")
            .proof(REMOVED),
        // Only those who may read the (members-only) post report it.
        row("POST", "/api/v1/reports",                    "D    A    D    D    A    D    D    D    D    D")
            .fill(Fill::OthersPost)
            .body(r#"{"post_id":"{id}","category":"other","comment":"Comment {n}."}"#)
            .probe(Moderator, "/api/v1/reports?state=all&limit=200", "Comment {n}."),
        row("GET", "/api/v1/reports",                     "D    D    D    D    A    A    D    D    D    D")
            .proof(REPORTED),
        row("POST", "/api/v1/reports/{id}/resolve",       "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Report)
            .body(r#"{"resolution":"Done {n}."}"#)
            .probe(Moderator, "/api/v1/reports?state=all&limit=200", "Done {n}."),
        row("POST", "/api/v1/reports/{id}/support",       "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Report)
            .probe(Member, "/api/v1/notifications?limit=200", "\"post_id\":\"{post}\""),
        row("GET", "/api/v1/crisis-resources",            "A    A    A    A    A    A    A    A    A    A"),
        row("GET", "/api/v1/me/reports",                  "D    A    A    A    A    A    D    D    D    D"),
        row("GET", "/api/v1/admin/bans",                  "D    D    D    D    D    A    D    D    D    D"),
        row("POST", "/api/v1/admin/bans",                 "D    D    D    D    D    A    D    D    D    D")
            .fill(Fill::Account)
            .body(r#"{"person":"{victim}","reason":"Reason {n}."}"#)
            .probe(Admin, "/api/v1/admin/bans", "Reason {n}."),
        row("DELETE", "/api/v1/admin/bans",               "D    D    D    D    D    A    D    D    D    D")
            .fill(Fill::Account)
            .query("person={victim}")
            .before(Admin, "POST", "/api/v1/admin/bans", r#"{"person":"{victim}","reason":"Reason {n}."}"#)
            .probe(Admin, "/api/v1/admin/bans", "Reason {n}."),
        row("GET", "/api/v1/admin/moderation_log",        "D    D    D    D    D    A    D    D    D    D"),
        row("POST", "/api/v1/posts/{id}/remove",          "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .body(r#"{"reason":"Reason {n}."}"#)
            .probe(Moderator, POST, "Some words."),
        row("GET", "/api/v1/notifications",               "D    A    A    A    A    A    D    D    D    D"),
        row("GET", "/api/v1/notifications/unread",        "D    A    A    A    A    A    D    D    D    D"),
        // Somebody mentions the role first, so it has news to mark.
        row("POST", "/api/v1/notifications/read",         "D    A    A    A    A    A    D    D    D    D")
            .before(Other, "POST", "/api/v1/posts", MENTION)
            .body("{}")
            .probe(Actor, "/api/v1/notifications/unread", "\"unread\":0"),
        // ---- ActivityPub and discovery ---------------------------------
        // Discovery and the instance actor answer everyone, signature or
        // not: WebFinger and NodeInfo are fetched unsigned by every
        // implementation, and the instance actor must be (FEP-d556).
        //                                                 anon memb non  ban  mod  adm  rem  str  sus  rep
        row("GET", "/.well-known/webfinger",              "A    A    A    A    A    A    A    A    A    A")
            .query("resource=acct:mia@{a}"),
        row("GET", "/.well-known/nodeinfo",               "A    A    A    A    A    A    A    A    A    A"),
        row("GET", "/nodeinfo/{version}",                 "A    A    A    A    A    A    A    A    A    A"),
        row("GET", "/actor",                              "A    A    A    A    A    A    A    A    A    A"),
        // Every other document: a signature, when there is one, must be
        // good and from a server the admin has not cut off.
        row("GET", "/actor/outbox",                       "A    A    A    A    A    A    A    A    D    D"),
        row("GET", "/u/{name}",                           "A    A    A    A    A    A    A    A    D    D"),
        row("GET", "/u/{name}/outbox",                    "A    A    A    A    A    A    A    A    D    D"),
        row("GET", "/u/{name}/followers",                 "A    A    A    A    A    A    A    A    D    D"),
        row("GET", "/g/{name}",                           "A    A    A    A    A    A    A    A    D    D"),
        row("GET", "/g/{name}/outbox",                    "p    p    p    p    p    p    mp   p    D    D"),
        row("GET", "/g/{name}/followers",                 "A    A    A    A    A    A    A    A    D    D"),
        row("GET", "/g/{name}/moderators",                "A    A    A    A    A    A    A    A    D    D"),
        row("GET", "/g/{name}/mentors",                   "A    A    A    A    A    A    A    A    D    D"),
        row("GET", "/g/{name}/featured",                  "p    p    p    p    p    p    mp   p    D    D"),
        row("GET", "/verifications/{id}",                 "A    A    A    A    A    A    A    A    D    D")
            .with("id", "{verification}"),
        row("GET", "/p/{id}",                             "p    p    p    p    p    p    mp   p    D    D")
            .fill(Fill::Thread),
        row("GET", "/p/{id}/replies",                     "p    p    p    p    p    p    mp   p    D    D")
            .fill(Fill::Thread),
        row("GET", "/p/{id}/note",                        "p    p    p    p    p    p    mp   p    D    D")
            .fill(Fill::Thread),
        row("GET", "/activities/{id}",                    "p    p    p    p    p    p    mp   p    D    D")
            .fill(Fill::Thread),
        // A Follow of a new open group, from the role's server.
        row("POST", "/inbox",                             "D    D    D    D    D    D    A    A    D    D")
            .fill(Fill::Group)
            .probe(Nobody, "/g/{group}/followers", "\"totalItems\":2"),
        row("POST", "/u/{name}/inbox",                    "D    D    D    D    D    D    A    A    D    D")
            .fill(Fill::Group)
            .with("name", "mia")
            .probe(Nobody, "/g/{group}/followers", "\"totalItems\":2"),
        row("POST", "/g/{name}/inbox",                    "D    D    D    D    D    D    A    A    D    D")
            .fill(Fill::Group)
            .probe(Nobody, "/g/{group}/followers", "\"totalItems\":2"),
        row("POST", "/actor/inbox",                       "D    D    D    D    D    D    A    A    D    D")
            .fill(Fill::Group)
            .probe(Nobody, "/g/{group}/followers", "\"totalItems\":2"),
        // ---- the web pages ---------------------------------------------
        //                                                 anon memb non  ban  mod  adm  rem  str  sus  rep
        row("GET", "/",                                   "-    mlp  -    -    mlp  -    -    -    -    -"),
        row("GET", "/login",                              "A    A    A    A    A    A    A    A    A    A"),
        // A browser of its own, so no role's own browser changes hands.
        row("POST", "/login",                             "A    A    A    A    A    A    A    A    A    A")
            .fill(Fill::Session)
            .body("username=olga&password={password}")
            .redirects("/"),
        row("GET", "/signup",                             "A    A    A    A    A    A    A    A    A    A"),
        row("POST", "/signup",                            "A    A    A    A    A    A    A    A    A    A")
            .body("username=web{n}&password={password}&consent=yes")
            .probe(Admin, "/api/v1/admin/accounts?status=pending&limit=200", "\"web{n}\""),
        row("POST", "/logout",                            "D    A    A    A    A    A    D    D    D    D")
            .fill(Fill::Session)
            .probe(Actor, "/api/v1/me", "\"username\""),
        // The server has an admin: the first-run link is gone for all.
        row("GET", "/setup/{token}",                      "D    D    D    D    D    D    D    D    D    D")
            .with("token", "not-a-setup-link"),
        row("POST", "/setup/{token}",                     "D    D    D    D    D    D    D    D    D    D")
            .with("token", "not-a-setup-link")
            .body("username=setup{n}&password={password}&confirm={password}")
            .probe(Admin, "/api/v1/admin/accounts?limit=200", "\"setup{n}\""),
        row("GET", "/groups",                             "A    A    A    A    A    A    A    A    A    A"),
        row("GET", "/groups/new",                         "D    A    A    A    A    A    D    D    D    D"),
        row("POST", "/groups/new",                        "D    A    A    A    A    A    D    D    D    D")
            .body("name=page{n}&title=Page%20{n}&join_policy=open&visibility=members")
            .probe(Nobody, "/api/v1/groups/page{n}", "\"page{n}\""),
        row("GET", "/groups/join",                        "D    A    A    A    A    A    D    D    D    D"),
        row("POST", "/groups/join",                       "D    A    A    D    A    A    D    D    D    D")
            .fill(Fill::Throwaway)
            .body("target=circle")
            .probe_after(Actor, "/api/v1/memberships", "/g/circle\""),
        row("GET", "/groups/{name}",                      "p    mlp  p    p    mlp  p    p    p    p    p"),
        row("GET", "/groups/{name}/requests",             "D    D    D    D    A    D    D    D    D    D"),
        row("GET", "/groups/{name}/settings",             "D    D    D    D    A    D    D    D    D    D"),
        row("POST", "/groups/{name}/settings",            "D    D    D    D    A    D    D    D    D    D")
            .body("visibility=public&retention_days=0&rules=Be%20kind.&support_guide=Page%20guide%20{n}.")
            .probe(Nobody, "/api/v1/groups/circle/guidance", "Page guide {n}."),
        row("POST", "/groups/{name}/requests/{id}/approve", "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::PendingJoin)
            .probe(Moderator, "/api/v1/groups/circle/requests?limit=200", "{victim}"),
        row("POST", "/groups/{name}/requests/{id}/decline", "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::PendingJoin)
            .probe(Moderator, "/api/v1/groups/circle/requests?limit=200", "{victim}"),
        row("GET", "/settings",                           "D    A    A    A    A    A    D    D    D    D"),
        row("POST", "/settings/profile",                  "D    A    A    A    A    A    D    D    D    D")
            .body("display_name=Name%20{n}&bio=")
            .probe(Actor, "/api/v1/me", "Name {n}"),
        row("POST", "/settings/password",                 "D    A    A    A    A    A    D    D    D    D")
            .fill(Fill::Throwaway)
            .body("current_password={password}&new_password=another%20long%20passphrase")
            .probe(Actor, "/api/v1/me", "\"username\""),
        row("POST", "/groups/{name}/join",                "D    A    A    D    A    A    D    D    D    D")
            .fill(Fill::Throwaway)
            .probe_after(Actor, "/api/v1/memberships", "/g/circle\""),
        row("POST", "/groups/{name}/leave",               "D    A    D    D    A    D    D    D    D    D")
            .fill(Fill::Throwaway)
            .probe(Actor, "/api/v1/memberships", "/g/circle\""),
        // The form is anyone's; sending it is for members.
        row("GET", "/groups/{name}/new",                  "D    A    A    A    A    A    D    D    D    D"),
        row("POST", "/groups/{name}/new",                 "D    A    D    D    A    D    D    D    D    D")
            .body("title=Page%20thread%20{n}&body=Words.&support_kind=experience&visibility=members")
            .probe(Moderator, "/api/v1/posts?group=circle", "Page thread {n}"),
        row("GET", "/posts/{id}",                         "p    mlp  p    p    mlp  p    p    p    p    p")
            .fill(Fill::Thread),
        row("POST", "/posts/{id}/reply",                  "D    A    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .body("body=Page%20reply%20{n}.")
            .probe(Moderator, POST, "Page reply {n}."),
        row("POST", "/posts/{id}/react",                  "D    A    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .body("reaction=hug")
            .probe(Moderator, POST, "{\"reaction\":\"hug\",\"count\":1}"),
        row("POST", "/posts/{id}/delete",                 "D    A    D    D    D    D    D    D    D    D")
            .fill(Fill::Post)
            .probe(Moderator, POST, "Some words."),
        row("POST", "/posts/{id}/remove",                 "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .body("reason=Reason%20{n}.")
            .probe(Moderator, POST, "Some words."),
        // The edit form is the author's.
        row("GET", "/posts/{id}/edit",                    "D    mlp  D    D    D    D    D    D    D    D")
            .fill(Fill::Thread),
        row("GET", "/posts/{id}/report",                  "D    mlp  p    p    mlp  p    D    D    D    D")
            .fill(Fill::Thread),
        row("POST", "/posts/{id}/report",                 "D    A    D    D    A    D    D    D    D    D")
            .fill(Fill::OthersPost)
            .body("category=other&comment=Page%20comment%20{n}.")
            .probe(Moderator, "/api/v1/reports?state=all&limit=200", "Page comment {n}."),
        row("POST", "/posts/{id}/lock",                   "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .probe(Moderator, POST, "\"locked\":true"),
        row("GET", "/posts/{id}/label",                   "D    D    D    D    mlp  p    D    D    D    D")
            .fill(Fill::Thread),
        row("POST", "/posts/{id}/label",                  "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .body("kind=disputed&note=Page%20note%20{n}.")
            .probe(Moderator, POST, "Page note {n}."),
        row("POST", "/posts/{id}/unlabel",                "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .before(Moderator, "PUT", "/api/v1/posts/{id}/label", r#"{"kind":"disputed","note":"Note {n}."}"#)
            .probe(Moderator, POST, "Note {n}."),
        row("POST", "/posts/{id}/unlock",                 "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .before(Moderator, "POST", "/api/v1/posts/{id}/lock", "")
            .probe(Moderator, POST, "\"locked\":false"),
        row("POST", "/posts/{id}/pin",                    "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .probe(Moderator, POST, "\"pinned\":true"),
        row("POST", "/posts/{id}/unpin",                  "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .before(Moderator, "POST", "/api/v1/posts/{id}/pin", "")
            .probe(Moderator, POST, "\"pinned\":false"),
        row("GET", "/moderation/reports",                 "D    D    D    D    A    A    D    D    D    D")
            .proof(REPORTED),
        row("POST", "/moderation/reports/{id}/support",   "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Report)
            .probe(Member, "/api/v1/notifications?limit=200", "\"post_id\":\"{post}\""),
        row("POST", "/moderation/reports/{id}/resolve",   "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Report)
            .body("resolution=Page%20done%20{n}.")
            .probe(Moderator, "/api/v1/reports?state=all&limit=200", "Page done {n}."),
        row("GET", "/me/reports",                         "D    A    A    A    A    A    D    D    D    D"),
        row("GET", "/groups/{name}/log",                  "A    A    A    A    A    A    A    A    A    A"),
        row("GET", "/groups/{name}/bans",                 "D    D    D    D    A    A    D    D    D    D"),
        row("POST", "/groups/{name}/bans",                "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Member)
            .body("person={victim}&reason=Page%20reason%20{n}.&duration=lifted")
            .probe(Moderator, "/api/v1/groups/circle/bans", "Page reason {n}."),
        row("POST", "/groups/{name}/bans/lift",           "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Member)
            .body("person={victim}")
            .before(Moderator, "POST", "/api/v1/groups/circle/bans", r#"{"person":"{victim}","reason":"Reason {n}."}"#)
            .probe(Moderator, "/api/v1/groups/circle/bans", "Reason {n}."),
        row("GET", "/groups/{name}/mentors",              "D    D    D    D    A    A    D    D    D    D"),
        row("POST", "/groups/{name}/mentors",             "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Member)
            .body("person={victim}")
            .probe(Nobody, "/api/v1/groups/circle/mentors", "/u/{victim}\""),
        row("POST", "/groups/{name}/mentors/remove",      "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Member)
            .body("person={victim}")
            .before(Moderator, "PUT", "/api/v1/groups/circle/mentors/{victim}", "")
            .probe(Nobody, "/api/v1/groups/circle/mentors", "/u/{victim}\""),
        row("GET", "/groups/{name}/newcomers",            "D    D    D    D    mlp  p    D    D    D    D"),
        row("POST", "/posts/{id}/helpful",                "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Reply)
            .probe(Moderator, POST, "\"helpful\":true"),
        row("POST", "/posts/{id}/unhelpful",              "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Reply)
            .before(Moderator, "PUT", "/api/v1/posts/{id}/helpful", "")
            .probe(Moderator, POST, "\"helpful\":true"),
        row("GET", "/groups/{name}/moderators",           "D    D    D    D    A    A    D    D    D    D"),
        row("POST", "/groups/{name}/moderators",          "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Member)
            .body("username={victim}")
            .probe(Nobody, "/g/circle/moderators", "/u/{victim}\""),
        row("POST", "/groups/{name}/moderators/remove",   "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Member)
            .body("username={victim}")
            .before(Moderator, "PUT", "/api/v1/groups/circle/moderators/{victim}", "")
            .probe(Nobody, "/g/circle/moderators", "/u/{victim}\""),
        row("GET", "/groups/{name}/held",                 "D    D    D    D    A    A    D    D    D    D")
            .proof(HELD),
        row("POST", "/groups/{name}/held/{id}/approve",   "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Held)
            .probe(Moderator, HELD_LIST, "\"id\":\"{id}\""),
        row("POST", "/groups/{name}/held/{id}/reject",    "D    D    D    D    A    A    D    D    D    D")
            .fill(Fill::Held)
            .body("reason=Page%20reason%20{n}.")
            .probe(Moderator, HELD_LIST, "\"id\":\"{id}\""),
        row("POST", "/groups/{name}/premoderation",       "D    D    D    D    A    A    D    D    D    D")
            .body("new_member_days=0&servers={b}%0Ay{n}.example")
            .probe(Moderator, "/api/v1/groups/circle/premoderation", "y{n}.example"),
        row("GET", "/groups/{name}/removed",              "D    D    D    D    A    A    D    D    D    D")
            .proof(REMOVED),
        row("POST", "/groups/{name}/removed/{id}/restore", "D    D    D    D    A    D    D    D    D    D")
            .fill(Fill::Post)
            .before(Moderator, "POST", "/api/v1/posts/{id}/remove", r#"{"reason":"Reason {n}."}"#)
            .body("reason=")
            .probe(Moderator, POST, "Some words."),
        // ---- admins' pages ----
        row("GET", "/admin/federation",                   "D    D    D    D    D    A    D    D    D    D"),
        row("POST", "/admin/federation/rules",            "D    D    D    D    D    A    D    D    D    D")
            .body("domain=page{n}.example&action=limit&duration=")
            .probe(Admin, "/api/v1/admin/domain_rules", "page{n}.example"),
        row("POST", "/admin/federation/rules/remove",     "D    D    D    D    D    A    D    D    D    D")
            .body("domain=pagegone{n}.example")
            .before(Admin, "POST", "/api/v1/admin/domain_rules", r#"{"domain":"pagegone{n}.example","action":"limit"}"#)
            .probe(Admin, "/api/v1/admin/domain_rules", "pagegone{n}.example"),
        row("POST", "/admin/federation/lists",            "D    D    D    D    D    A    D    D    D    D")
            .body("url=http%3A%2F%2F{hostile}%2Fpage{n}.csv&kind=block")
            .probe(Admin, "/api/v1/admin/domain_subscriptions", "page{n}.csv"),
        row("POST", "/admin/federation/lists/remove",     "D    D    D    D    D    A    D    D    D    D")
            .body("url=http%3A%2F%2F{hostile}%2Fpageold{n}.csv")
            .before(Admin, "POST", "/api/v1/admin/domain_subscriptions", r#"{"url":"http://{hostile}/pageold{n}.csv"}"#)
            .probe(Admin, "/api/v1/admin/domain_subscriptions", "pageold{n}.csv"),
        row("GET", "/admin/professionals",                "D    D    D    D    D    A    D    D    D    D"),
        row("POST", "/admin/professionals",               "D    D    D    D    D    A    D    D    D    D")
            .fill(Fill::Account)
            .body("username={victim}&role=Registered%20nurse")
            .probe(Admin, "/api/v1/admin/professionals", "\"{victim}\""),
        row("POST", "/admin/professionals/revoke",        "D    D    D    D    D    A    D    D    D    D")
            .fill(Fill::Account)
            .body("username={victim}")
            .before(Admin, "PUT", "/api/v1/admin/accounts/{victim_id}/verification", r#"{"role":"Registered nurse"}"#)
            .probe(Admin, "/api/v1/admin/professionals", "\"{victim}\""),
        row("POST", "/admin/professionals/verifiers",     "D    D    D    D    D    A    D    D    D    D")
            .body("moderator=mona")
            .before(Admin, "DELETE", "/api/v1/admin/accounts/{mona_id}/verifier", "")
            .probe(Admin, "/api/v1/admin/professionals", "\"mona\""),
        row("POST", "/admin/professionals/verifiers/remove", "D    D    D    D    D    A    D    D    D    D")
            .body("username=mona")
            .before(Admin, "PUT", "/api/v1/admin/accounts/{mona_id}/verifier", "")
            .probe(Admin, "/api/v1/admin/professionals", "\"mona\""),
        row("GET", "/admin/bans",                         "D    D    D    D    D    A    D    D    D    D"),
        row("POST", "/admin/bans",                        "D    D    D    D    D    A    D    D    D    D")
            .fill(Fill::Account)
            .body("person={victim}&reason=Page%20reason%20{n}.&duration=lifted")
            .probe(Admin, "/api/v1/admin/bans", "Page reason {n}."),
        row("POST", "/admin/bans/lift",                   "D    D    D    D    D    A    D    D    D    D")
            .fill(Fill::Account)
            .body("person={victim}")
            .before(Admin, "POST", "/api/v1/admin/bans", r#"{"person":"{victim}","reason":"Reason {n}."}"#)
            .probe(Admin, "/api/v1/admin/bans", "Reason {n}."),
        row("GET", "/admin/log",                          "D    D    D    D    D    A    D    D    D    D"),
        row("GET", "/admin/audit",                        "D    D    D    D    D    A    D    D    D    D"),
        // ---- a member's own data ----
        row("GET", "/me/export",                          "D    A    A    A    A    A    D    D    D    D"),
        row("GET", "/me/delete",                          "D    A    A    A    A    A    D    D    D    D"),
        row("POST", "/me/delete",                         "D    A    A    A    A    A    D    D    D    D")
            .fill(Fill::Throwaway)
            .body("password={password}")
            .probe(Actor, "/api/v1/me", "\"username\""),
        row("GET", "/erasures/{secret}",                  "A    A    A    A    A    A    A    A    A    A"),
        row("GET", "/posts/{id}/erasure",                 "D    A    D    D    D    A    D    D    D    D")
            .with("id", "{deleted_post}"),
        row("GET", "/admin/erasures",                     "D    D    D    D    D    A    D    D    D    D"),
        row("GET", "/me/export/download",                 "D    mlp  -    -    -    -    D    D    D    D"),
        row("POST", "/posts/{id}/edit",                   "D    A    D    D    D    D    D    D    D    D")
            .fill(Fill::Post)
            .body("title=Thread&body=Page%20edit%20{n}.&support_kind=experience")
            .probe(Moderator, POST, "Page edit {n}."),
        row("GET", "/help",                               "A    A    A    A    A    A    A    A    A    A"),
        row("GET", "/people/{username}",                  "p    mlp  p    p    mlp  p    p    p    p    p"),
        row("GET", "/notifications",                      "D    A    A    A    A    A    D    D    D    D"),
        row("POST", "/notifications/read",                "D    A    A    A    A    A    D    D    D    D")
            .before(Other, "POST", "/api/v1/posts", MENTION)
            .probe(Actor, "/api/v1/notifications/unread", "\"unread\":0"),
        row("GET", "/static/{file}",                      "A    A    A    A    A    A    A    A    A    A"),
    ]
}

// ---- the table against the route list -----------------------------------

#[test]
fn every_route_has_a_row() {
    let routes: BTreeSet<(String, String)> = hearth_http::routes()
        .into_iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    let table = rows();
    let mut listed = BTreeSet::new();
    for r in &table {
        assert!(
            listed.insert((r.method.to_string(), r.path.to_owned())),
            "two rows for {} {}",
            r.method,
            r.path
        );
    }
    let missing: Vec<_> = routes.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&routes).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "the authorisation matrix (tests/authz.rs, fn rows) is out of date:\n\
         routes without a row: {missing:?}\nrows without a route: {stale:?}"
    );
    for r in &table {
        // A signature gives nothing on the API and the pages.
        if r.surface() != Surface::Federation {
            for role in ROLES.into_iter().filter(|r| r.remote()) {
                assert_eq!(
                    r.cell(role),
                    r.cell(Role::Anonymous),
                    "{} {}: {role:?} must be treated as anonymous",
                    r.method,
                    r.path
                );
            }
        }
        // A web form cannot be judged by its status alone.
        if r.surface() == Surface::Web && r.method != Method::GET {
            assert!(
                r.probe.is_some(),
                "{} {}: a web form needs a probe",
                r.method,
                r.path
            );
        }
        assert!(
            r.fill != Fill::Thread || r.path.contains("{id}"),
            "{} {}: per-thread rows name a post",
            r.method,
            r.path
        );
    }
}

/// The API's own description lists nothing the matrix leaves out: every
/// operation of the OpenAPI document (`/api/v1/openapi.json`) has a row.
#[test]
fn every_operation_of_the_openapi_document_has_a_row() {
    let doc =
        serde_json::to_value(hearth_http::routes::openapi::document("https://a.example")).unwrap();
    let listed: BTreeSet<(String, String)> = rows()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let key = (method.to_uppercase(), path.clone());
            assert!(
                listed.contains(&key),
                "{} {}: in the OpenAPI document, but the authorisation matrix has no row",
                key.0,
                key.1
            );
        }
    }
    assert!(operations > 90, "only {operations} operations documented");
}

// ---- the walk -----------------------------------------------------------

/// SQLite only: who may do what is decided above the database, and the
/// walk takes about two minutes on SQLite and twice that on PostgreSQL
/// (see docs/PERFORMANCE.md, "Authorisation matrix").
#[tokio::test]
async fn every_role_on_every_route() {
    walk(&Backend::Sqlite).await;
}

/// A local account, with its API token and a logged-in browser (or,
/// without `account`, only a browser of nobody in particular).
#[derive(Clone)]
struct Person {
    account: bool,
    name: String,
    id: String,
    token: String,
    web: reqwest::Client,
    jar: Arc<Jar>,
}

/// An actor on another server, with its real key.
struct Signer {
    actor: String,
    key: RsaPrivateKey,
}

impl Signer {
    fn key_id(&self) -> String {
        format!("{}#main-key", self.actor)
    }
}

/// What one request got.
#[derive(Debug)]
struct Got {
    status: StatusCode,
    location: String,
    body: String,
}

impl Got {
    fn shows(&self, words: &str) -> bool {
        self.body.contains(words)
    }
}

type Vars = HashMap<String, String>;

fn subst(template: &str, vars: &Vars) -> String {
    let mut out = template.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A browser: keeps cookies, follows no redirects; logged in as `login`.
async fn browser(base: &str, login: Option<&str>) -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    if let Some(name) = login {
        let csrf = cookie(&jar, base, "hearth_csrf").unwrap();
        let r = client
            .post(format!("{base}/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", name),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "log {name} in");
    }
    (client, jar)
}

fn cookie(jar: &Jar, base: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(base).unwrap();
    let header = jar.cookies(&url)?;
    header
        .to_str()
        .ok()?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

struct Ctx<'r> {
    rig: &'r Rig,
    base: String,
    authority: String,
    people: HashMap<Role, Person>,
    /// Anonymous browsers (with a CSRF cookie) for the roles without an
    /// account here.
    strangers: HashMap<Role, (reqwest::Client, Arc<Jar>)>,
    signers: HashMap<Role, Signer>,
    recorded_get: Recorded,
    recorded_post: Recorded,
    vars: Vars,
    threads: HashMap<(&'static str, &'static str), String>,
    held: std::sync::Mutex<Vec<String>>,
    /// A member who plays no role, for posts nobody acting wrote.
    max: Person,
    n: AtomicU32,
    plain: reqwest::Client,
}

impl Ctx<'_> {
    fn a(&self) -> &Server {
        self.rig.at("a")
    }

    fn next(&self) -> u32 {
        self.n.fetch_add(1, Ordering::Relaxed)
    }

    fn person(&self, role: Role) -> &Person {
        &self.people[&role]
    }

    /// A request through the API with `token`; (status, text, JSON).
    async fn api(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, String, Value) {
        let mut req = self
            .plain
            .request(method, format!("{}{path}", self.base))
            .header("accept", "application/json, application/activity+json");
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body.filter(|b| !b.is_null()) {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, text, json)
    }

    async fn as_moderator(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, text, json) = self
            .api(
                Some(&self.person(Role::Moderator).token),
                method.clone(),
                path,
                Some(body),
            )
            .await;
        assert!(
            status.is_success(),
            "{method} {path} as the moderator: {status} {text}"
        );
        json
    }

    async fn as_admin(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, text, json) = self
            .api(
                Some(&self.person(Role::Admin).token),
                method.clone(),
                path,
                Some(body),
            )
            .await;
        assert!(
            status.is_success(),
            "{method} {path} as the admin: {status} {text}"
        );
        json
    }

    /// Log `name` in: an API token, and a browser when `web`.
    async fn log_in(&self, name: &str, id: String, web: bool) -> Person {
        let (status, text, json) = self
            .api(
                None,
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "log {name} in: {text}");
        let (web, jar) = if web {
            browser(&self.base, Some(name)).await
        } else {
            browser(&self.base, None).await
        };
        Person {
            account: true,
            name: name.to_owned(),
            id,
            token: json["token"].as_str().unwrap().to_owned(),
            web,
            jar,
        }
    }

    /// A new active account, in no group.
    async fn account(&self, prefix: &str, web: bool) -> Person {
        let name = format!("{prefix}{}", self.next());
        let (status, text, json) = self
            .api(
                None,
                Method::POST,
                "/api/v1/auth/register",
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "register {name}: {text}");
        let id = json["account"]["id"].as_str().unwrap().to_owned();
        self.as_admin(
            Method::POST,
            &format!("/api/v1/admin/accounts/{id}/approve"),
            json!({}),
        )
        .await;
        self.log_in(&name, id, web).await
    }

    /// The id of `name`'s pending request to join the group.
    async fn request_of(&self, name: &str) -> String {
        let list = self
            .as_moderator(
                Method::GET,
                "/api/v1/groups/circle/requests?limit=200",
                json!(null),
            )
            .await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["handle"]
                    .as_str()
                    .unwrap_or("")
                    .trim_start_matches('@')
                    .split('@')
                    .next()
                    == Some(name)
            })
            .unwrap_or_else(|| panic!("no request from {name} in {list}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A new account that joined the group.
    async fn member(&self, prefix: &str, web: bool) -> Person {
        let person = self.account(prefix, web).await;
        let (status, text, _) = self
            .api(
                Some(&person.token),
                Method::POST,
                "/api/v1/groups/circle/join",
                Some(json!({})),
            )
            .await;
        assert!(status.is_success(), "{} asks to join: {text}", person.name);
        let id = self.request_of(&person.name).await;
        self.as_moderator(
            Method::POST,
            &format!("/api/v1/groups/circle/requests/{id}/approve"),
            json!({}),
        )
        .await;
        person
    }

    /// A new account playing `role`.
    async fn throwaway(&self, role: Role, web: bool) -> Person {
        match role {
            Role::NonMember => self.account("outsider", web).await,
            Role::Member => self.member("joiner", web).await,
            Role::Banned => {
                let p = self.member("banned", web).await;
                self.as_moderator(
                    Method::POST,
                    "/api/v1/groups/circle/bans",
                    json!({"person": p.name, "reason": "Rude."}),
                )
                .await;
                p
            }
            Role::Moderator => {
                let p = self.member("helper", web).await;
                self.as_moderator(
                    Method::PUT,
                    &format!("/api/v1/groups/circle/moderators/{}", p.name),
                    json!({}),
                )
                .await;
                p
            }
            Role::Admin => {
                let name = format!("boss{}", self.next());
                self.a().instance.create_user(&name, PASSWORD, &["--admin"]);
                let mut p = self.log_in(&name, String::new(), web).await;
                let (_, _, me) = self
                    .api(Some(&p.token), Method::GET, "/api/v1/me", None)
                    .await;
                p.id = me["id"].as_str().unwrap().to_owned();
                p
            }
            other => panic!("no account plays {other:?}"),
        }
    }

    /// A thread by the member in the group (members-only).
    async fn post(&self, n: u32) -> Value {
        self.a_write(
            "mia",
            json!({"title": format!("Thread {n}"), "body": "Some words."}),
        )
        .await
    }

    async fn a_write(&self, author: &str, fields: Value) -> Value {
        let author = self.people.values().find(|p| p.name == author).unwrap();
        self.write_as(author, fields).await
    }

    async fn write_as(&self, author: &Person, fields: Value) -> Value {
        let (token, author) = (&author.token, &author.name);
        let mut body = json!({"group": "circle", "support_kind": "experience"});
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, text, json) = self
            .api(Some(token), Method::POST, "/api/v1/posts", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{author} writes: {text}");
        json
    }

    /// What `row` needs for one request by `role`: the variables, the
    /// account that acts (if not the role's own), and the account made.
    /// `kept` is what the last request of the row was made with, when it
    /// was denied: it changed nothing (its probe says so, or the cell
    /// fails), so its target serves again, made once for several roles.
    async fn prepare(
        &self,
        row: &Row,
        role: Role,
        kept: Option<&(Vars, Option<Person>)>,
    ) -> (Vars, Option<Person>, Option<Person>) {
        match kept {
            Some((vars, victim)) if row.reuses() => {
                let mut vars = vars.clone();
                let mut actor = self.people.get(&role).cloned();
                if row.path == "/api/v1/memberships/{id}" && role == Role::Member {
                    actor = victim.clone();
                }
                vars.remove("actor");
                if let Some(p) = actor.as_ref().filter(|p| p.account) {
                    vars.insert("actor".into(), p.name.clone());
                }
                (vars, actor, victim.clone())
            }
            _ => self.make(row, role).await,
        }
    }

    async fn make(&self, row: &Row, role: Role) -> (Vars, Option<Person>, Option<Person>) {
        let n = self.next();
        let mut vars = self.vars.clone();
        vars.insert("n".into(), n.to_string());
        if row.path.starts_with("/u/") {
            vars.insert("name".into(), "mia".into());
        }
        let web = row.surface() == Surface::Web;
        let mut actor = self.people.get(&role).cloned();
        let mut victim = None;
        match row.fill {
            Fill::Scene | Fill::Thread => {}
            Fill::Post => {
                let post = self.post(n).await;
                vars.insert("id".into(), post["id"].as_str().unwrap().into());
            }
            Fill::OthersPost => {
                let post = self
                    .write_as(
                        &self.max,
                        json!({"title": format!("Thread {n}"), "body": "Some words."}),
                    )
                    .await;
                vars.insert("id".into(), post["id"].as_str().unwrap().into());
            }
            Fill::Reply => {
                let post = self.post(n).await;
                let thread = post["id"].as_str().unwrap();
                let (status, text, reply) = self
                    .api(
                        Some(&self.person(Role::Member).token),
                        Method::POST,
                        &format!("/api/v1/posts/{thread}/replies"),
                        Some(json!({"body": "A reply."})),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{text}");
                vars.insert("thread".into(), thread.into());
                vars.insert("id".into(), reply["id"].as_str().unwrap().into());
            }
            Fill::Member | Fill::Account => {
                let p = if row.fill == Fill::Member {
                    self.member("victim", false).await
                } else {
                    self.account("victim", false).await
                };
                vars.insert("victim".into(), p.name.clone());
                vars.insert("username".into(), p.name.clone());
                vars.insert("victim_id".into(), p.id.clone());
                if row.fill == Fill::Member {
                    let (_, _, list) = self
                        .api(Some(&p.token), Method::GET, "/api/v1/memberships", None)
                        .await;
                    let membership = list["items"][0]["id"].as_str().unwrap().to_owned();
                    vars.insert("membership".into(), membership);
                    // Her own membership: the member role is she.
                    if row.path == "/api/v1/memberships/{id}" && role == Role::Member {
                        actor = Some(p.clone());
                    }
                }
                victim = Some(p);
            }
            Fill::PendingAccount => {
                let name = format!("waiting{n}");
                let (status, text, json) = self
                    .api(
                        None,
                        Method::POST,
                        "/api/v1/auth/register",
                        Some(json!({"username": name, "password": PASSWORD})),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{text}");
                vars.insert("id".into(), json["account"]["id"].as_str().unwrap().into());
                vars.insert("victim".into(), name);
            }
            Fill::PendingJoin => {
                let p = self.account("asking", false).await;
                let (status, text, _) = self
                    .api(
                        Some(&p.token),
                        Method::POST,
                        "/api/v1/groups/circle/join",
                        Some(json!({})),
                    )
                    .await;
                assert!(status.is_success(), "{text}");
                vars.insert("id".into(), self.request_of(&p.name).await);
                vars.insert("victim".into(), p.name.clone());
                victim = Some(p);
            }
            Fill::Held => {
                let id = self.held.lock().unwrap().pop().expect("enough held posts");
                vars.insert("id".into(), id);
            }
            Fill::Report => {
                let post = self.post(n).await;
                let post_id = post["id"].as_str().unwrap().to_owned();
                let report = self
                    .as_moderator(
                        Method::POST,
                        "/api/v1/reports",
                        json!({"post_id": post_id, "category": "other", "comment": format!("Report {n}.")}),
                    )
                    .await;
                vars.insert("id".into(), report["id"].as_str().unwrap().into());
                vars.insert("post".into(), post_id);
            }
            Fill::Group => {
                let name = format!("door{n}");
                self.as_moderator(
                    Method::POST,
                    "/api/v1/groups",
                    json!({"name": name, "title": "A door", "join_policy": "open", "visibility": "public"}),
                )
                .await;
                let follower = match self.signers.get(&role) {
                    Some(s) => s.actor.clone(),
                    None => self.signers[&Role::Remote].actor.clone(),
                };
                let origin = follower.split("/u/").next().unwrap().to_owned();
                let group_url = format!("http://{}/g/{name}", self.authority);
                let follow = json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": format!("{origin}/activities/authz-follow-{n}"),
                    "type": "Follow",
                    "actor": follower,
                    "object": group_url,
                    "to": [group_url],
                });
                vars.insert("name".into(), name.clone());
                vars.insert("group".into(), name);
                vars.insert("activity".into(), follow.to_string());
            }
            Fill::Throwaway => {
                actor = match role.local() {
                    true => Some(self.throwaway(role, web).await),
                    false => None,
                };
            }
            Fill::Session => {
                actor = Some(match self.people.get(&role) {
                    Some(p) => {
                        let mut session = self.log_in(&p.name, p.id.clone(), web).await;
                        if web {
                            // The browser's own session is what it ends.
                            session.token =
                                cookie(&session.jar, &self.base, "hearth_session").unwrap();
                        }
                        session
                    }
                    None => {
                        let (web, jar) = browser(&self.base, None).await;
                        Person {
                            account: false,
                            name: String::new(),
                            id: String::new(),
                            token: String::new(),
                            web,
                            jar,
                        }
                    }
                });
            }
        }
        if let Some(p) = actor.as_ref().filter(|p| p.account) {
            vars.insert("actor".into(), p.name.clone());
        }
        for (k, v) in &row.with {
            let value = subst(v, &vars);
            vars.insert((*k).into(), value);
        }
        (vars, actor, victim)
    }

    /// Send one request of `row` as `role` (`actor` acting for it), with
    /// the CSRF token of its browser when `csrf`.
    async fn send(
        &self,
        row: &Row,
        role: Role,
        actor: Option<&Person>,
        vars: &Vars,
        csrf: bool,
    ) -> Vec<Got> {
        let mut path = subst(row.path, vars);
        if !row.query.is_empty() {
            path = format!("{path}?{}", subst(row.query, vars));
        }
        assert!(
            !path.contains('{'),
            "{path}: a placeholder this test does not fill"
        );
        let surface = row.surface();
        let method = row.method.clone();
        let (client, jar) = match actor {
            Some(p) => (p.web.clone(), p.jar.clone()),
            None => self.strangers[&role].clone(),
        };
        let body: Vec<u8> = match (method == Method::GET, surface) {
            (true, _) => Vec::new(),
            (false, Surface::Api) => match row.body {
                "" => b"{}".to_vec(),
                body => subst(body, vars).into_bytes(),
            },
            (false, Surface::Federation) => vars["activity"].clone().into_bytes(),
            (false, Surface::Web) => {
                let mut pairs: Vec<String> = subst(row.body, vars)
                    .split('&')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect();
                if csrf && let Some(token) = cookie(&jar, &self.base, "hearth_csrf") {
                    pairs.push(format!("csrf={}", urlencode(&token)));
                }
                pairs.join("&").into_bytes()
            }
        };
        if role == Role::Replay && surface == Surface::Federation {
            return self.replays(&method, &path, &body).await;
        }
        let signed_url = format!("http://{}{path}", self.authority);
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(s) = self.signers.get(&role) {
            headers = if method == Method::GET {
                signed_get(&signed_url, &s.key_id(), &s.key)
            } else {
                signed_post(
                    &signed_url,
                    &body,
                    &s.key_id(),
                    &s.key,
                    std::time::SystemTime::now(),
                )
            };
        }
        if role == Role::Replay {
            let recorded = match method == Method::GET {
                true => &self.recorded_get,
                false => &self.recorded_post,
            };
            for name in ["signature", "date", "digest"] {
                if let Some(v) = recorded.header(name) {
                    headers.insert(name, v.parse().unwrap());
                }
            }
        }
        let accept = match surface {
            Surface::Api => "application/json",
            Surface::Federation => "application/activity+json",
            Surface::Web => "text/html",
        };
        headers.insert("accept", accept.parse().unwrap());
        if method != Method::GET {
            let content_type = match surface {
                Surface::Api => "application/json",
                Surface::Federation => "application/activity+json",
                Surface::Web => "application/x-www-form-urlencoded",
            };
            headers.insert("content-type", content_type.parse().unwrap());
        }
        if let (Some(p), false) = (actor.filter(|p| p.account), surface == Surface::Web) {
            headers.insert(
                "authorization",
                format!("Bearer {}", p.token).parse().unwrap(),
            );
        }
        let resp = client
            .request(method, format!("{}{path}", self.base))
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        vec![got(resp).await]
    }

    /// The replays: server B's signature for its request to the hostile
    /// server, sent here; and B's signature for another path here.
    async fn replays(&self, method: &Method, path: &str, body: &[u8]) -> Vec<Got> {
        let recorded = match *method == Method::GET {
            true => &self.recorded_get,
            false => &self.recorded_post,
        };
        let (status, text) = self
            .rig
            .hostile()
            .replay_to(recorded, &self.base, path)
            .await;
        let elsewhere = Got {
            status,
            location: String::new(),
            body: text,
        };
        let bea = &self.signers[&Role::Remote];
        let other = match (*method == Method::GET, path.starts_with("/u/")) {
            (true, false) => "/u/mia",
            (true, true) => "/actor/outbox",
            (false, _) if path == "/inbox" => "/actor/inbox",
            (false, _) => "/inbox",
        };
        let signed_for = format!("http://{}{other}", self.authority);
        let mut headers = match *method == Method::GET {
            true => signed_get(&signed_for, &bea.key_id(), &bea.key),
            false => signed_post(
                &signed_for,
                body,
                &bea.key_id(),
                &bea.key,
                std::time::SystemTime::now(),
            ),
        };
        headers.insert("accept", "application/activity+json".parse().unwrap());
        let resp = self
            .plain
            .request(method.clone(), format!("{}{path}", self.base))
            .headers(headers)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        vec![elsewhere, got(resp).await]
    }

    /// Whether the probe of `row` finds its needle now; `None` when it
    /// reads no state, or the state of nobody.
    async fn look(
        &self,
        row: &Row,
        vars: &Vars,
        actor: Option<&Person>,
        victim: Option<&Person>,
    ) -> Option<bool> {
        let Some(Probe::Get {
            by, path, needle, ..
        }) = row.probe.as_ref()
        else {
            return None;
        };
        let token = match by {
            By::Nobody => None,
            By::Member => Some(self.person(Role::Member).token.clone()),
            By::Moderator => Some(self.person(Role::Moderator).token.clone()),
            By::Admin => Some(self.person(Role::Admin).token.clone()),
            By::Actor => Some(actor.filter(|p| p.account)?.token.clone()),
            By::Victim => Some(victim?.token.clone()),
            By::Other => unreachable!("probes read as someone named"),
        };
        let (_, text, _) = self
            .api(token.as_deref(), Method::GET, &subst(path, vars), None)
            .await;
        Some(text.contains(&subst(needle, vars)))
    }

    /// Whether the request did its work, by the probe of `row`: `before`
    /// is what [`Ctx::look`] found before it.
    async fn effect(
        &self,
        row: &Row,
        got: &Got,
        vars: &Vars,
        actor: Option<&Person>,
        victim: Option<&Person>,
        before: Option<bool>,
    ) -> Option<bool> {
        match row.probe.as_ref()? {
            Probe::Redirect(location) => Some(got.location == *location),
            Probe::Get { after, .. } => {
                let now = self.look(row, vars, actor, victim).await?;
                match after {
                    true => Some(now),
                    false => Some(now != before?),
                }
            }
        }
    }

    /// The steps of `row` before its request; with `kept`, only those of
    /// the acting role (the others set up the kept target already).
    async fn steps(&self, row: &Row, vars: &Vars, actor: Option<&Person>, kept: bool) {
        for step in &row.before {
            if kept && !matches!(step.by, By::Actor | By::Other) {
                continue;
            }
            let token = match step.by {
                By::Nobody => None,
                By::Member => Some(self.person(Role::Member).token.clone()),
                By::Moderator => Some(self.person(Role::Moderator).token.clone()),
                By::Admin => Some(self.person(Role::Admin).token.clone()),
                By::Actor => match actor.filter(|p| p.account) {
                    Some(p) => Some(p.token.clone()),
                    None => continue,
                },
                By::Victim => unreachable!("no step by the victim"),
                By::Other => {
                    if !actor.is_some_and(|p| p.account) {
                        continue;
                    }
                    let moderator = self.person(Role::Moderator);
                    match actor.is_some_and(|p| p.name == moderator.name) {
                        true => Some(self.person(Role::Member).token.clone()),
                        false => Some(moderator.token.clone()),
                    }
                }
            };
            let body = match step.body {
                "" => json!({}),
                body => serde_json::from_str(&subst(body, vars)).unwrap(),
            };
            let (status, text, _) = self
                .api(
                    token.as_deref(),
                    step.method.clone(),
                    &subst(step.path, vars),
                    Some(body),
                )
                .await;
            // The role's own step may be refused (a reaction by someone
            // who may not react); the others set the scene.
            assert!(
                step.by == By::Actor || status.is_success(),
                "{} {}: step {} {}: {status} {text}",
                row.method,
                row.path,
                step.method,
                step.path
            );
        }
    }
}

/// A placeholder until the scene logs `name` in.
fn browser_less(name: &str) -> Person {
    Person {
        account: false,
        name: name.to_owned(),
        id: String::new(),
        token: String::new(),
        web: reqwest::Client::new(),
        jar: Arc::new(Jar::default()),
    }
}

async fn got(resp: reqwest::Response) -> Got {
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = resp.bytes().await.unwrap();
    Got {
        status,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn denied_status(surface: Surface, got: &Got) -> bool {
    matches!(got.status.as_u16(), 401 | 403 | 404 | 410)
        || (surface == Surface::Web
            && got.status == StatusCode::SEE_OTHER
            && got.location.starts_with("/login"))
}

/// What is wrong with `got` for `role` on `row` (asking for `thread`),
/// given whether the probe saw the change.
fn judge(
    row: &Row,
    role: Role,
    thread: Option<Thread>,
    got: &Got,
    effect: Option<bool>,
) -> Vec<String> {
    let cell = row.cell(role);
    let surface = row.surface();
    let form = surface == Surface::Web && row.method != Method::GET;
    let mut wrong = Vec::new();
    let mut fail = |what: String| wrong.push(what);
    if got.status.is_server_error() {
        fail(format!("server error {}", got.status));
    }
    if got.status == StatusCode::METHOD_NOT_ALLOWED {
        fail("405: the route is not served with this method".into());
    }
    // The members-only and local words only where the cell reads them.
    if got.shows(MEMBERS) && !cell.reads(Thread::Members) {
        fail("shows the members-only words".into());
    }
    if got.shows(LOCAL) && !cell.reads(Thread::Local) {
        fail("shows the local words".into());
    }
    let allowed = match (cell, thread) {
        (Cell::Reads { .. }, Some(t)) => cell.reads(t),
        (cell, _) => cell.allowed(),
    };
    if let Some(effect) = effect
        && effect != allowed
    {
        fail(match allowed {
            true => "the change did not happen".into(),
            false => "the change happened".into(),
        });
    }
    if allowed {
        let ok = if form {
            got.status.is_success() || got.status.is_redirection()
        } else if surface == Surface::Federation && row.method == Method::POST {
            got.status == StatusCode::ACCEPTED
        } else {
            got.status.is_success()
        };
        if !ok {
            fail(format!("allowed, but answered {}", got.status));
        }
        if let (Some(word), Cell::Allow) = (row.proof, cell)
            && !got.shows(word)
        {
            fail(format!("allowed, but does not show {word}"));
        }
        match (cell, thread) {
            (Cell::Reads { .. }, Some(t)) if !got.shows(t.words()) => {
                fail(format!("does not show the {} thread", t.key()))
            }
            (Cell::Reads { .. }, None) => {
                for t in THREADS {
                    if got.shows(t.words()) != cell.reads(t) {
                        fail(format!(
                            "the {} thread's words are {} but the cell says otherwise",
                            t.key(),
                            if got.shows(t.words()) {
                                "shown"
                            } else {
                                "missing"
                            }
                        ));
                    }
                }
            }
            _ => {}
        }
    } else {
        if !form && !denied_status(surface, got) {
            fail(format!("denied, but answered {}", got.status));
        }
        if let Some(t) = thread
            && got.shows(t.words())
        {
            fail(format!("shows the {} thread", t.key()));
        }
        if let Some(word) = row.proof
            && got.shows(word)
        {
            fail(format!("denied, but shows {word}"));
        }
    }
    wrong
}

async fn walk(backend: &Backend) {
    let started = std::time::Instant::now();
    let limits = [
        ("HEARTH_MODERATION_POSTS_PER_HOUR", "0"),
        ("HEARTH_MODERATION_JOINS_PER_HOUR", "0"),
        ("HEARTH_MODERATION_REPORTS_PER_HOUR", "0"),
        ("HEARTH_FEDERATION_INBOX_RATE_LIMIT_PER_MINUTE", "100000"),
    ];
    let mut scene = Scene::new().server("a");
    for (k, v) in limits {
        scene = scene.set(k, v);
    }
    scene = scene
        .member("ann")
        .member("mia")
        .member("olga")
        .member("bob")
        .member("max")
        .group_with(
            "circle",
            "ann",
            json!({"join_policy": "approval", "visibility": "public"}),
        )
        .joins("mia", "circle@a")
        .joins("bob", "circle@a")
        .joins("max", "circle@a")
        .server("b");
    for (k, v) in limits {
        scene = scene.set(k, v);
    }
    let mut rig = scene
        .member("bea")
        .joins("bea", "circle@a")
        .joins("bea", "elsewhere@hostile")
        .server("c")
        .member("carl")
        .server("d")
        .member("dan")
        .joins("dan", "circle@a")
        .hostile()
        .start(backend)
        .await;
    {
        let a = &mut rig
            .servers
            .iter_mut()
            .find(|s| s.name == "a")
            .unwrap()
            .instance;
        a.create_user("ada", PASSWORD, &["--admin"]);
        a.create_user("mona", PASSWORD, &["--role", "moderator"]);
        // From now on sign-ups wait for an admin, so there are some to
        // approve and reject.
        a.set_option("HEARTH_REGISTRATION_MODE", "approval");
        a.restart().await;
    }
    let rig = rig;
    let (a, b) = (rig.at("a"), rig.at("b"));
    let base = a.instance.base.clone();

    let mut ctx = Ctx {
        rig: &rig,
        base: base.clone(),
        authority: a.authority(),
        people: HashMap::new(),
        strangers: HashMap::new(),
        signers: HashMap::new(),
        recorded_get: signed_by(&rig, b, "GET"),
        recorded_post: signed_by(&rig, b, "POST"),
        vars: HashMap::new(),
        threads: HashMap::new(),
        held: std::sync::Mutex::new(Vec::new()),
        max: browser_less("max"),
        n: AtomicU32::new(0),
        plain: reqwest::Client::new(),
    };
    for (role, name) in [
        (Role::Member, "mia"),
        (Role::NonMember, "olga"),
        (Role::Banned, "bob"),
        (Role::Moderator, "ann"),
        (Role::Admin, "ada"),
    ] {
        let mut p = ctx.log_in(name, String::new(), true).await;
        let (_, _, me) = ctx
            .api(Some(&p.token), Method::GET, "/api/v1/me", None)
            .await;
        p.id = me["id"].as_str().unwrap().to_owned();
        ctx.people.insert(role, p);
    }
    ctx.max = ctx.log_in("max", String::new(), false).await;
    for role in [
        Role::Anonymous,
        Role::Remote,
        Role::Stranger,
        Role::Suspended,
        Role::Replay,
    ] {
        ctx.strangers.insert(role, browser(&base, None).await);
    }
    for (role, server, name) in [
        (Role::Remote, "b", "bea"),
        (Role::Stranger, "c", "carl"),
        (Role::Suspended, "d", "dan"),
    ] {
        let s = rig.at(server);
        ctx.signers.insert(
            role,
            Signer {
                actor: s.actor(name),
                key: s.key(name).await,
            },
        );
    }

    // Bob is banned from the group.
    ctx.as_moderator(
        Method::POST,
        "/api/v1/groups/circle/bans",
        json!({"person": "bob", "reason": "Rude."}),
    )
    .await;

    // The three threads, first posts of the member (so the new members
    // view shows them), each pinned (so `featured` serves them), each with
    // a reply.
    for (key, visibility, words) in [
        ("members", "members", MEMBERS),
        ("local", "local", LOCAL),
        ("public", "public", PUBLIC),
    ] {
        let thread = ctx
            .a_write(
                "mia",
                json!({"title": format!("{words} title"), "body": format!("{words} body"), "visibility": visibility}),
            )
            .await;
        let id = thread["id"].as_str().unwrap().to_owned();
        let url = thread["url"].as_str().unwrap().to_owned();
        ctx.threads.insert((key, "id"), id.clone());
        ctx.threads
            .insert((key, "uuid"), url.rsplit('/').next().unwrap().to_owned());
    }
    for key in ["members", "local", "public"] {
        let id = ctx.threads[&(key, "id")].clone();
        ctx.as_moderator(Method::POST, &format!("/api/v1/posts/{id}/pin"), json!({}))
            .await;
        let words = match key {
            "members" => MEMBERS,
            "local" => LOCAL,
            _ => PUBLIC,
        };
        let (status, text, reply) = ctx
            .api(
                Some(&ctx.person(Role::Member).token),
                Method::POST,
                &format!("/api/v1/posts/{id}/replies"),
                Some(json!({"body": format!("{words} reply")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{text}");
        let activity = a
            .instance
            .text(&format!(
                "SELECT ap_id FROM outbound_activities WHERE about_ap_id = '{}' AND kind = 'Create'",
                reply["url"].as_str().unwrap()
            ))
            .await
            .unwrap_or_else(|| a.id("/activities/none"));
        ctx.threads.insert(
            (key, "activity"),
            activity.rsplit('/').next().unwrap().to_owned(),
        );
    }

    // A removed post, a report, a post its author deleted, a deleted
    // account's receipt, a verification.
    let removed = ctx
        .a_write("mia", json!({"title": "Removed", "body": REMOVED}))
        .await;
    ctx.as_moderator(
        Method::POST,
        &format!("/api/v1/posts/{}/remove", removed["id"].as_str().unwrap()),
        json!({"reason": "Off topic."}),
    )
    .await;
    let reported = ctx.a_write("ann", json!({"title": "Reported"})).await;
    let (status, text, _) = ctx
        .api(
            Some(&ctx.person(Role::Member).token),
            Method::POST,
            "/api/v1/reports",
            Some(json!({"post_id": reported["id"], "category": "other", "comment": REPORTED})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let deleted = ctx.a_write("mia", json!({"title": "Deleted"})).await;
    let deleted_post = deleted["id"].as_str().unwrap().to_owned();
    let (status, text, _) = ctx
        .api(
            Some(&ctx.person(Role::Member).token),
            Method::DELETE,
            &format!("/api/v1/posts/{deleted_post}"),
            None,
        )
        .await;
    assert!(status.is_success(), "{text}");
    let gone = ctx.account("gone", false).await;
    let (status, text, erased) = ctx
        .api(
            Some(&gone.token),
            Method::DELETE,
            "/api/v1/me",
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let secret = erased["receipt_api_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let vera = ctx.account("vera", false).await;
    let verified = ctx
        .as_admin(
            Method::PUT,
            &format!("/api/v1/admin/accounts/{}/verification", vera.id),
            json!({"role": "Pharmacist"}),
        )
        .await;
    let mona = ctx.log_in("mona", String::new(), false).await;
    let (_, _, mona_me) = ctx
        .api(Some(&mona.token), Method::GET, "/api/v1/me", None)
        .await;

    // Posts from server B wait for the moderators: one to read, the rest
    // to approve and reject.
    ctx.as_moderator(
        Method::PUT,
        "/api/v1/groups/circle/premoderation",
        json!({"new_member_days": 0, "servers": [b.authority()]}),
    )
    .await;
    let circle = a.handle("circle");
    let wanted = 2 * 2 * ROLES.len() + 4;
    b.write("bea", &circle, json!({"title": "Held", "body": HELD}))
        .await;
    for i in 1..wanted {
        b.write("bea", &circle, json!({"title": format!("Waiting {i}")}))
            .await;
    }
    let held = wait_until("the posts from B to be held", || async {
        let list = ctx
            .as_moderator(
                Method::GET,
                "/api/v1/groups/circle/held?limit=200",
                json!(null),
            )
            .await;
        let items = list["items"].as_array().or(list.as_array()).cloned()?;
        (items.len() >= wanted).then_some(items)
    })
    .await;
    *ctx.held.lock().unwrap() = held
        .iter()
        .filter(|p| !p.to_string().contains(HELD))
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();

    // The admin suspends server D, after Dan joined the group.
    let cut = ctx
        .as_admin(
            Method::POST,
            "/api/v1/admin/domain_rules",
            json!({"domain": rig.at("d").authority(), "action": "suspend"}),
        )
        .await;
    assert_eq!(cut["cut_off"]["their_memberships_ended"], 1, "{cut}");

    let login_page = ctx.plain.get(format!("{base}/login")).send().await.unwrap();
    let login_page = login_page.text().await.unwrap();
    let file = login_page
        .split("/static/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the stylesheet's link")
        .to_owned();

    let mia_id = ctx.person(Role::Member).id.clone();
    for (k, v) in [
        ("password", PASSWORD.to_owned()),
        ("a", a.authority()),
        ("b", b.authority()),
        ("hostile", rig.hostile().authority().to_owned()),
        ("mia_id", mia_id),
        ("mona_id", mona_me["id"].as_str().unwrap().to_owned()),
        ("secret", secret),
        (
            "erasure_id",
            erased["erasure_id"].as_str().unwrap().to_owned(),
        ),
        ("deleted_post", deleted_post),
        (
            "verification",
            verified["verification"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned(),
        ),
        ("name", "circle".into()),
        ("group", "circle".into()),
        ("username", "mia".into()),
        ("reaction", "hug".into()),
        ("version", "2.1".into()),
        ("file", file),
    ] {
        ctx.vars.insert(k.into(), v);
    }

    eprintln!("the scene is set after {:?}", started.elapsed());
    // Reads first, then changes.
    let mut table = rows();
    table.sort_by_key(|r| r.method != Method::GET);
    let mut failures = Vec::new();
    let mut requests = 0;
    for row in &table {
        let row_started = std::time::Instant::now();
        let mut kept: Option<(Vars, Option<Person>)> = None;
        for role in ROLES {
            let reused = kept.is_some() && row.reuses();
            let (mut vars, actor, victim) = ctx.prepare(row, role, kept.as_ref()).await;
            if row.fill == Fill::Thread {
                for thread in THREADS {
                    let kind = if row.path.starts_with("/p/") {
                        "uuid"
                    } else if row.path.starts_with("/activities/") {
                        "activity"
                    } else {
                        "id"
                    };
                    vars.insert("id".into(), ctx.threads[&(thread.key(), kind)].clone());
                    for got in ctx.send(row, role, actor.as_ref(), &vars, true).await {
                        requests += 1;
                        for what in judge(row, role, Some(thread), &got, None) {
                            failures.push(report(row, role, Some(thread), &got, &what));
                        }
                    }
                }
                continue;
            }
            ctx.steps(row, &vars, actor.as_ref(), reused).await;
            let before = ctx.look(row, &vars, actor.as_ref(), victim.as_ref()).await;
            for got in ctx.send(row, role, actor.as_ref(), &vars, true).await {
                requests += 1;
                let effect = ctx
                    .effect(row, &got, &vars, actor.as_ref(), victim.as_ref(), before)
                    .await;
                for what in judge(row, role, None, &got, effect) {
                    failures.push(report(row, role, None, &got, &what));
                }
            }
            kept = (!row.cell(role).allowed()).then_some((vars, victim));
        }
        // A web form without its CSRF token changes nothing, whoever
        // sends it.
        if row.surface() == Surface::Web && row.method != Method::GET {
            // Someone for whom the form would change something.
            let Some(role) = [
                Role::NonMember,
                Role::Member,
                Role::Moderator,
                Role::Admin,
                Role::Banned,
            ]
            .into_iter()
            .find(|r| row.cell(*r).allowed())
            .or_else(|| {
                row.cell(Role::Anonymous)
                    .allowed()
                    .then_some(Role::Anonymous)
            }) else {
                continue;
            };
            let (vars, actor, victim) = ctx.prepare(row, role, None).await;
            ctx.steps(row, &vars, actor.as_ref(), false).await;
            let before = ctx.look(row, &vars, actor.as_ref(), victim.as_ref()).await;
            for got in ctx.send(row, role, actor.as_ref(), &vars, false).await {
                requests += 1;
                let effect = ctx
                    .effect(row, &got, &vars, actor.as_ref(), victim.as_ref(), before)
                    .await;
                if effect != Some(false) {
                    failures.push(report(
                        row,
                        role,
                        None,
                        &got,
                        "without its CSRF token, the form still did its work",
                    ));
                }
            }
        }
        if std::env::var_os("HEARTH_AUTHZ_TIMES").is_some() {
            eprintln!(
                "{:>6} ms  {} {}",
                row_started.elapsed().as_millis(),
                row.method,
                row.path
            );
        }
    }
    eprintln!(
        "authorisation matrix: {} routes x {} roles, {requests} requests, {:?} in all",
        table.len(),
        ROLES.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} cells of the authorisation matrix do not hold:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn report(row: &Row, role: Role, thread: Option<Thread>, got: &Got, what: &str) -> String {
    format!(
        "{} {} as {role:?}{}: {what} ({} {}{})",
        row.method,
        row.path,
        thread
            .map(|t| format!(" ({} thread)", t.key()))
            .unwrap_or_default(),
        got.status,
        if got.location.is_empty() {
            String::new()
        } else {
            format!("-> {} ", got.location)
        },
        got.body
            .chars()
            .take(160)
            .collect::<String>()
            .replace('\n', " ")
    )
}

/// A signed request server `b` made to the hostile server.
fn signed_by(rig: &Rig, b: &Server, method: &str) -> Recorded {
    let authority = b.authority();
    rig.hostile()
        .received()
        .into_iter()
        .find(|r| {
            r.method == method
                && r.header("signature")
                    .is_some_and(|s| s.contains(&format!("//{authority}/")))
        })
        .unwrap_or_else(|| panic!("server B sent no signed {method} to the hostile server"))
}
