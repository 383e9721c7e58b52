//! What Hearth sends, read the way the software on the other side reads it,
//! for the peers that cannot run here: Mastodon, Mbin and PieFed. A test
//! server plays the peer's part of the protocol (its NodeInfo names the
//! software, one of its people joins a Hearth group); what Hearth delivers
//! to it and serves it is then read by a reader written from that
//! software's source, each rule naming the file it comes from:
//!
//! - Mastodon: upstream main of 2026-08-07 (commit `df1439c18`, 4.7.0-alpha.2);
//! - Mbin: 1.10.1 (`MbinOrg/mbin` `1439efd`);
//! - PieFed: 1.6.18 (upstream side of `theatl-social/pyfedi` `7c270694`).
//!
//! The readers are paraphrases of those rules, not copies of the code.
//! Lemmy 0.19 is checked by the real thing (`tests/lemmy_peer.rs`).
//! Every test runs on SQLite and, when `HEARTH_TEST_DATABASE_URL` is set,
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::hostile::Hostile;
use support::rig::{Rig, Scene, to_loopback};
use support::{Backend, wait_until};

const AS_PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// `person` of `peer` joins `group` on `a` and waits for the answer
/// (`Accept` or `Reject`), which it returns.
async fn joins(rig: &Rig, peer: &Hostile, person: &str, group: &str) -> Value {
    asks_to_join(rig, peer, person, group).await;
    wait_until(&format!("an answer to {person}'s Follow"), || async {
        delivered(peer)
            .into_iter()
            .find(|a| matches!(a["type"].as_str(), Some("Accept" | "Reject")))
    })
    .await
}

/// `person` of `peer` sends a signed `Follow` of `group` on `a`.
async fn asks_to_join(rig: &Rig, peer: &Hostile, person: &str, group: &str) {
    let actor = peer.person(person);
    let target = rig.at("a").group_url(group);
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.new_id("follow"),
        "type": "Follow",
        "actor": actor,
        "object": target,
    });
    let (status, body) = peer.send(&actor, &format!("{target}/inbox"), &follow).await;
    assert!(status.is_success(), "{status} {body}");
}

/// Every activity POSTed to `peer`, in order.
fn delivered(peer: &Hostile) -> Vec<Value> {
    peer.received()
        .iter()
        .filter(|r| r.method == "POST")
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect()
}

/// GET `url` as `user_agent`, unsigned: (status, JSON body).
async fn fetch(url: &str, user_agent: &str) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .get(to_loopback(url))
        .header("accept", "application/activity+json")
        .header("user-agent", user_agent)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Mastodon's reading of what a group sends, paraphrased.
mod mastodon {
    use super::*;

    pub const USER_AGENT: &str = "http.rb/5.2.0 (Mastodon/4.7.0-alpha.2; +https://masto.example/)";

    /// A status as Mastodon would store it.
    #[derive(Debug)]
    pub struct Status {
        pub uri: String,
        pub author: String,
        pub text: String,
        pub spoiler_text: String,
        pub visibility: &'static str,
    }

    /// `app/lib/activitypub/activity.rb` (`SUPPORTED_TYPES`,
    /// `CONVERTED_TYPES`) and `parser/status_parser.rb`: a `Note` keeps
    /// `content` and `summary` (the spoiler, collapsed); a `Page` becomes
    /// `<h2>name</h2>` + `summary` + link with no spoiler. Visibility
    /// (`status_parser.rb` 101-111): as:Public in `to` public, in `cc`
    /// unlisted, the author's followers private, anything else direct.
    pub fn status(object: &Value) -> Status {
        let to = strings(&object["to"]);
        let cc = strings(&object["cc"]);
        let visibility = if to.iter().any(|t| t == AS_PUBLIC) {
            "public"
        } else if cc.iter().any(|c| c == AS_PUBLIC) {
            "unlisted"
        } else {
            "direct"
        };
        let kind = object["type"].as_str().unwrap_or_default();
        let (text, spoiler_text) = match kind {
            "Note" | "Question" => (
                object["content"].as_str().unwrap_or_default().to_owned(),
                object["summary"].as_str().unwrap_or_default().to_owned(),
            ),
            "Page" | "Article" | "Image" | "Audio" | "Video" | "Event" => (
                format!(
                    "<h2>{}</h2>\n\n{}\n\n{}",
                    object["name"].as_str().unwrap_or_default(),
                    object["summary"].as_str().unwrap_or_default(),
                    object["url"].as_str().unwrap_or_default()
                ),
                String::new(),
            ),
            other => panic!("Mastodon does not take a {other}"),
        };
        Status {
            uri: object["id"].as_str().unwrap().to_owned(),
            author: object["attributedTo"].as_str().unwrap().to_owned(),
            text,
            spoiler_text,
            visibility,
        }
    }

    /// `activity/announce.rb` + `activity.rb#status_from_object` +
    /// `fetch_remote_status_service.rb`: the object's id is fetched (an
    /// embedded `Create` by its own id), the answer must be 200 with the
    /// same `id`, and only an object, `Create` or `Announce` is kept:
    /// `Announce{Update}`, `{Delete}`, `{Like}`, `{Undo}` come to nothing.
    /// The boost needs a public or unlisted status (`announceable?`).
    pub async fn announce(announce: &Value) -> Option<Status> {
        let object_id = match &announce["object"] {
            Value::String(id) => id.clone(),
            Value::Object(o) => o["id"].as_str()?.to_owned(),
            _ => return None,
        };
        let (code, fetched) = fetch(&object_id, USER_AGENT).await;
        if code != StatusCode::OK || fetched["id"] != object_id.as_str() {
            return None;
        }
        let object = match fetched["type"].as_str()? {
            "Create" | "Announce" => fetched["object"].clone(),
            "Note" | "Question" | "Page" | "Article" => fetched,
            _ => return None,
        };
        let status = status(&object);
        matches!(status.visibility, "public" | "unlisted").then_some(status)
    }

    /// `activity/update.rb` (7-19, 29-44) and
    /// `process_status_update_service.rb`: applied only when the actor is
    /// the status's author and `updated` is present.
    pub fn applies_update(update: &Value, known: &Status) -> bool {
        update["type"] == "Update"
            && update["actor"] == known.author.as_str()
            && update["object"]["id"] == known.uri.as_str()
            && update["object"]["updated"].is_string()
    }

    /// `activity/delete.rb` (45-55): removes the status found by uri *and*
    /// the actor as its account.
    pub fn applies_delete(delete: &Value, known: &Status) -> bool {
        let object = match &delete["object"] {
            Value::String(id) => id.as_str(),
            Value::Object(o) => o["id"].as_str().unwrap_or_default(),
            _ => "",
        };
        delete["type"] == "Delete"
            && delete["actor"] == known.author.as_str()
            && object == known.uri
    }

    /// `activity/undo.rb` (72-83): an `Undo{Announce}` removes the boost
    /// with that Announce id, by the same actor.
    pub fn undoes_boost(undo: &Value, boost: &Value) -> bool {
        let object = match &undo["object"] {
            Value::String(id) => id.as_str(),
            Value::Object(o) => o["id"].as_str().unwrap_or_default(),
            _ => "",
        };
        undo["type"] == "Undo" && undo["actor"] == boost["actor"] && object == boost["id"]
    }

    /// `fetch_remote_status_service.rb#fetch_status` (86-99): a refetch
    /// deletes the local copy on 404 only (410 leaves it).
    pub fn refetch_forgets(status: StatusCode) -> bool {
        status == StatusCode::NOT_FOUND
    }
}

/// Mbin's reading, paraphrased.
mod mbin {
    use super::*;

    /// `Service/ActivityPub/Page.php` + `ApObjectExtractor.php` (19-43) +
    /// `ActivityPubContent.php` (21-33): an entry's title is `name`; its
    /// body `source.content` when Markdown; `sensitive` makes it adult
    /// (18+); `summary` is never read; `published` is required; `to`+`cc`
    /// must hold the public (or the author's followers), else
    /// `LogicException('PM: not implemented')`.
    pub fn entry(page: &Value) -> Result<(String, String, bool), String> {
        let mut audience = strings(&page["to"]);
        audience.extend(strings(&page["cc"]));
        if !audience.iter().any(|a| a == AS_PUBLIC) {
            return Err("PM: not implemented".into());
        }
        if !page["published"].is_string() {
            return Err("TypeError: handleDate(null)".into());
        }
        let body = if page["source"]["mediaType"] == "text/markdown" {
            page["source"]["content"].as_str().unwrap_or_default()
        } else {
            page["content"].as_str().unwrap_or_default()
        };
        Ok((
            page["name"].as_str().unwrap_or_default().to_owned(),
            body.to_owned(),
            page["sensitive"] == true,
        ))
    }

    /// `Markdown/CommonMark/DetailsBlockStartParser.php` (15-35): a
    /// `::: title` line opens a collapsed `<details>`; a title starting
    /// with `spoiler` marks it a spoiler. The block ends at `:::`.
    pub fn collapsed_under(body: &str) -> Option<String> {
        let mut lines = body.lines();
        let title = lines.next()?.strip_prefix("::: ")?;
        let closed = lines.any(|line| line.trim_end() == ":::");
        (!title.contains(":::") && closed)
            .then(|| title.strip_prefix("spoiler ").unwrap_or(title).to_owned())
    }

    /// `Inbox/FollowHandler.php` (87-91, 140): a `Reject` with the Follow
    /// embedded reaches `handleReject(User $actor, …)` with the group as
    /// actor: a TypeError. With the Follow's id alone
    /// (`ActivityHandler.php` 278-286) it is left alone.
    pub fn reject_crashes(reject: &Value) -> bool {
        reject["type"] == "Reject" && reject["object"].is_object()
    }
}

/// PieFed's reading, paraphrased.
mod piefed {
    use super::*;

    /// `activitypub/routes.py` (1045-1063): a `Reject` needs the Follow
    /// embedded as a dict with `type: Follow` and `actor` (a string object
    /// is a TypeError); a valid one ends the join request.
    pub fn reject_ends_join(reject: &Value) -> bool {
        reject["type"] == "Reject"
            && reject["object"]["type"] == "Follow"
            && reject["object"]["actor"].is_string()
    }

    /// `community/util.py` `retrieve_mods_and_backfill` (154-247): outbox
    /// items must be `Announce{Create{Page}}` embedded at both levels
    /// (anything else ends the backfill), `attributedTo` a string, the post
    /// needs `published`; `replies` must be a URL whose collection is an
    /// `OrderedCollection` with `orderedItems` of whole objects with `id`,
    /// `attributedTo` (a string) and `content` (an id alone is a TypeError
    /// that ends the backfill). Returns (threads, replies) read.
    pub async fn backfill(outbox: &Value) -> Result<(usize, usize), String> {
        if outbox["type"] != "OrderedCollection" {
            return Err("outbox is not an OrderedCollection".into());
        }
        let (mut threads, mut replies) = (0, 0);
        for item in outbox["orderedItems"].as_array().ok_or("no orderedItems")? {
            let page = &item["object"]["object"];
            if item["type"] != "Announce" || item["object"]["type"] != "Create" || !page.is_object()
            {
                return Err(format!("backfill stops at {item}"));
            }
            if !page["attributedTo"].is_string() || !page["published"].is_string() {
                return Err(format!("no author or date: {page}"));
            }
            threads += 1;
            let Some(url) = page["replies"].as_str() else {
                continue;
            };
            let (status, collection) = fetch(url, "PieFed/1.6.18").await;
            if status != StatusCode::OK {
                return Err(format!("replies answered {status}"));
            }
            if collection["type"] != "OrderedCollection" {
                return Err(format!("replies is not an OrderedCollection: {collection}"));
            }
            for reply in collection["orderedItems"]
                .as_array()
                .ok_or("no orderedItems")?
            {
                if !reply.is_object() {
                    return Err(format!("TypeError: a reply as an id ({reply})"));
                }
                if !reply["id"].is_string()
                    || !reply["attributedTo"].is_string()
                    || !reply["content"].is_string()
                {
                    return Err(format!("reply lacks id, author or content: {reply}"));
                }
                replies += 1;
            }
        }
        Ok((threads, replies))
    }
}

fn scene() -> Scene {
    Scene::new()
        .server("a")
        .member("ann")
        // Public posts allowed: Mastodon, Mbin and PieFed servers may join
        // only such groups.
        .public_group("circle", "ann")
        .group_with(
            "quiet",
            "ann",
            json!({"join_policy": "approval", "visibility": "public"}),
        )
        // Members only, as new groups are.
        .group("private", "ann")
}

#[tokio::test]
async fn mastodon_shows_a_warned_thread_collapsed_and_forgets_it_when_deleted() {
    each_backend!(|backend| mastodon_reads(&backend));
}

async fn mastodon_reads(backend: &Backend) {
    let rig = scene().start(backend).await;
    let a = rig.at("a");
    let masto = Hostile::start_as("mastodon").await;
    let answer = joins(&rig, &masto, "mia", "circle").await;
    assert_eq!(
        answer["type"], "Accept",
        "Mastodon's people may join: {answer}"
    );

    let private = a
        .write(
            "ann",
            "circle",
            json!({"title": "Just us", "visibility": "members"}),
        )
        .await;
    let thread = a
        .write(
            "ann",
            "circle",
            json!({
                "title": "Flare-ups after the new dose",
                "body": "It was a *hard* week, the pain kept me up.",
                "content_warning": "pain, low mood",
                "visibility": "public",
            }),
        )
        .await;
    let page_url = thread["url"].as_str().unwrap().to_owned();
    let boost = wait_until("the group's boost of the thread", || async {
        delivered(&masto)
            .into_iter()
            .find(|a| a["type"] == "Announce")
    })
    .await;
    // Only what Mastodon reads: the thread as a note, announced bare, and
    // nothing about the members-only thread.
    let everything = delivered(&masto);
    assert!(
        !everything
            .iter()
            .any(|a| a.to_string().contains(private["url"].as_str().unwrap())),
        "members-only posts never go to Mastodon"
    );
    assert_eq!(
        everything
            .iter()
            .filter(|a| a["type"] == "Announce")
            .count(),
        1,
        "one boost, no Announce{{Create}} Mastodon would refetch in vain: {everything:?}"
    );
    assert!(boost["cc"].is_array());
    let status = mastodon::announce(&boost)
        .await
        .expect("Mastodon keeps the boost");
    assert_eq!(status.uri, format!("{page_url}/note"));
    assert_eq!(status.author, a.actor("ann"));
    assert_eq!(
        status.spoiler_text, "pain, low mood",
        "collapsed behind the warning"
    );
    assert!(
        status.text.contains("Flare-ups after the new dose") && status.text.contains("hard week"),
        "the body is the title and an excerpt: {}",
        status.text
    );
    assert!(!status.text.contains("pain, low mood"), "not the warning");
    assert!(
        status.text.contains(&page_url),
        "with the link to the thread"
    );

    // A Mastodon favourite of the note (`Like` of its id, to its author)
    // is a "helpful" reaction on the thread.
    let mia = masto.person("mia");
    let like = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": masto.new_id("like"),
        "type": "Like",
        "actor": mia,
        "object": status.uri,
    });
    let (code, body) = masto.send(&mia, &a.id("/u/ann/inbox"), &like).await;
    assert!(code.is_success(), "{code} {body}");
    wait_until("the favourite as a reaction", || async {
        a.thread(Some("ann"), "circle", &page_url)
            .await
            .filter(|t| {
                t["reactions"].as_array().is_some_and(|r| {
                    r.iter()
                        .any(|c| c["reaction"] == "helpful" && c["count"] == 1)
                })
            })
    })
    .await;

    // An edit reaches it as the author's own Update of the note.
    let id = thread["id"].as_str().unwrap();
    let edited = a
        .api(
            Method::PATCH,
            &format!("/api/v1/posts/{id}"),
            Some("ann"),
            Some(json!({"body": "Update: it is settling down."})),
        )
        .await;
    assert!(edited.status.is_success(), "{}", edited.text);
    let update = wait_until("the author's Update", || async {
        delivered(&masto)
            .into_iter()
            .find(|a| mastodon::applies_update(a, &status))
    })
    .await;
    assert!(
        mastodon::status(&update["object"])
            .text
            .contains("settling down"),
        "{update}"
    );

    // A moderator's removal: the boost is undone and the author's Delete
    // comes unwrapped; a refetch answers what Mastodon reads as gone.
    let removed = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id}/remove"),
            Some("ann"),
            Some(json!({"reason": "Moved to the pinned thread."})),
        )
        .await;
    assert!(removed.status.is_success(), "{}", removed.text);
    wait_until("the boost to be undone and the note deleted", || async {
        let all = delivered(&masto);
        let undone = all.iter().any(|a| mastodon::undoes_boost(a, &boost));
        let deleted = all.iter().any(|a| mastodon::applies_delete(a, &status));
        (undone && deleted).then_some(())
    })
    .await;
    for url in [format!("{page_url}/note"), page_url.clone()] {
        let (code, body) = fetch(&url, mastodon::USER_AGENT).await;
        assert!(mastodon::refetch_forgets(code), "{url}: {code} {body}");
    }
    let (code, _) = fetch(&page_url, "Lemmy/0.19.20").await;
    assert_eq!(code, StatusCode::GONE, "others read 410 as gone");
}

#[tokio::test]
async fn mbin_reads_threads_with_warnings_as_collapsed_never_adult_and_survives_a_refusal() {
    each_backend!(|backend| mbin_reads(&backend));
}

async fn mbin_reads(backend: &Backend) {
    let rig = scene().start(backend).await;
    let a = rig.at("a");
    let mbin = Hostile::start_as("mbin").await;
    let answer = joins(&rig, &mbin, "max", "circle").await;
    assert_eq!(answer["type"], "Accept", "{answer}");
    let private = a
        .write(
            "ann",
            "circle",
            json!({"title": "Just us", "visibility": "members"}),
        )
        .await;
    let thread = a
        .write(
            "ann",
            "circle",
            json!({
                "title": "Sleep and pain",
                "body": "What helps you *sleep*?",
                "content_warning": "pain",
                "visibility": "public",
            }),
        )
        .await;
    let announce = wait_until("the group's Announce", || async {
        delivered(&mbin)
            .into_iter()
            .find(|a| a["type"] == "Announce")
    })
    .await;
    // `ActivityHandler.php` 164-188: the embedded activity is unwrapped and
    // handled as if it came alone.
    assert_eq!(announce["object"]["type"], "Create");
    let page = &announce["object"]["object"];
    assert_eq!(page["id"], thread["url"]);
    let (title, body, adult) = mbin::entry(page).unwrap();
    assert_eq!(title, "Sleep and pain");
    assert!(!adult, "a content warning is not adult content");
    assert_eq!(
        mbin::collapsed_under(&body).as_deref(),
        Some("Content warning: pain"),
        "{body}"
    );
    assert!(
        !delivered(&mbin)
            .iter()
            .any(|a| a.to_string().contains(private["url"].as_str().unwrap())),
        "members-only posts never go to Mbin (it fails on them)"
    );

    // A declined join: Reject without the embedded Follow, which Mbin's
    // handler cannot take from a group.
    let declined = Hostile::start_as("mbin").await;
    asks_to_join(&rig, &declined, "max", "quiet").await;
    let requests = wait_until("the request to reach the moderators", || async {
        let r = a
            .api(
                Method::GET,
                "/api/v1/groups/quiet/requests",
                Some("ann"),
                None,
            )
            .await;
        r.body["items"]
            .as_array()
            .filter(|items| !items.is_empty())
            .cloned()
    })
    .await;
    let request = requests[0]["id"].as_str().unwrap();
    let decided = a
        .api(
            Method::POST,
            &format!("/api/v1/groups/quiet/requests/{request}/decline"),
            Some("ann"),
            Some(json!({})),
        )
        .await;
    assert!(decided.status.is_success(), "{}", decided.text);
    let reject = wait_until("the Reject", || async {
        delivered(&declined)
            .into_iter()
            .find(|a| a["type"] == "Reject")
    })
    .await;
    assert!(!mbin::reject_crashes(&reject), "{reject}");
}

#[tokio::test]
async fn piefed_joins_only_public_groups_and_its_backfill_reads_public_threads_with_replies() {
    each_backend!(|backend| piefed_reads(&backend));
}

async fn piefed_reads(backend: &Backend) {
    let rig = scene().start(backend).await;
    let a = rig.at("a");
    let piefed = Hostile::start_as("piefed").await;
    let answer = joins(&rig, &piefed, "pat", "private").await;
    assert!(piefed::reject_ends_join(&answer), "{answer}");
    assert!(
        answer["summary"]
            .as_str()
            .is_some_and(|s| s.contains("members only") && s.contains("cannot keep posts private")),
        "the refusal says why: {answer}"
    );
    let members = a
        .instance
        .scalar("SELECT COUNT(*) FROM group_members WHERE remote_actor_id IS NOT NULL")
        .await;
    assert_eq!(members, 0, "no membership for PieFed's person");

    // Software Hearth does not know is refused the same way, in other words.
    let unknown = Hostile::start_as("someserver").await;
    let answer = joins(&rig, &unknown, "sam", "private").await;
    assert_eq!(answer["type"], "Reject");
    assert!(
        answer["summary"]
            .as_str()
            .is_some_and(|s| s.contains("cannot tell")),
        "{answer}"
    );

    // A group that allows public posts takes PieFed's people: nothing but
    // public posts is ever sent there.
    let public_side = Hostile::start_as("piefed").await;
    let answer = joins(&rig, &public_side, "pia", "circle").await;
    assert_eq!(answer["type"], "Accept", "{answer}");

    // What PieFed's backfill of the group reads (public threads only).
    let thread = a
        .write(
            "ann",
            "circle",
            json!({"title": "Open thread", "visibility": "public"}),
        )
        .await;
    let id = thread["id"].as_str().unwrap();
    a.reply("ann", id, "A first answer.").await;
    a.reply("ann", id, "A second answer.").await;
    a.write(
        "ann",
        "circle",
        json!({"title": "Just us", "visibility": "members"}),
    )
    .await;
    let (status, outbox) = fetch(
        &format!("{}/outbox", a.group_url("circle")),
        "PieFed/1.6.18",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(piefed::backfill(&outbox).await, Ok((1, 2)));
}

#[tokio::test]
async fn hearth_reads_back_what_it_added_for_link_aggregators() {
    each_backend!(|backend| hearth_reads_hearth(&backend));
}

/// What Hearth puts in `source` for Lemmy's sake (the warning as a spoiler
/// block, the support kind as a last line) is taken off by the Hearth
/// server that reads it, which has both as properties.
async fn hearth_reads_hearth(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .server("b")
        .member("bea")
        .joins("bea", "circle@a")
        .start(backend)
        .await;
    let thread = rig
        .at("b")
        .write(
            "bea",
            &rig.handle("circle@a"),
            json!({
                "title": "Fatigue",
                "body": "Resting *more* helped.",
                "content_warning": "tiredness",
                "support_kind": "experience",
            }),
        )
        .await;
    let url = thread["url"].as_str().unwrap();
    let on_a = rig.at("a").wait_thread("ann", "circle", url).await;
    assert_eq!(on_a["content_warning"], "tiredness");
    assert_eq!(on_a["support_kind"], "experience");
    let source = rig
        .at("a")
        .instance
        .text(&format!("SELECT source FROM posts WHERE ap_id = '{url}'"))
        .await;
    assert_eq!(source.as_deref(), Some("Resting *more* helped."));
}
