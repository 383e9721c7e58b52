//! A member's export as one `.zip` archive: the ActivityStreams documents
//! (`hearth_activitypub::export`) and `index.html`, a page to read them
//! without tools. Stored without compression (the `zip` crate with its
//! default features off): exports are small text, and no compression
//! library joins the build for them.

use std::io::{Cursor, Write};

use hearth_app::export::{Export, PostState};
use hearth_app::records::PostKind;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use zip::write::SimpleFileOptions;

/// The archive's media type.
pub const CONTENT_TYPE: &str = "application/zip";

/// The file name a browser saves it under.
pub fn file_name(export: &Export) -> String {
    format!(
        "hearth-{}-{}.zip",
        export.account.username,
        export.made_at.format("%Y-%m-%d")
    )
}

/// The archive's bytes.
pub fn archive(export: &Export) -> Result<Vec<u8>, String> {
    let documents = hearth_activitypub::export::documents(export)
        .map_err(|e| format!("export documents: {e}"))?;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o644);
    let index = index(export).into_string();
    for (name, bytes) in documents
        .iter()
        .map(|(n, b)| (*n, b.as_slice()))
        .chain([("index.html", index.as_bytes())])
    {
        zip.start_file(name, options)
            .map_err(|e| format!("export archive: {name}: {e}"))?;
        zip.write_all(bytes)
            .map_err(|e| format!("export archive: {name}: {e}"))?;
    }
    Ok(zip
        .finish()
        .map_err(|e| format!("export archive: {e}"))?
        .into_inner())
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%e %B %Y, %H:%M UTC").to_string()
}

/// A page to read the export in a browser, with no script and no style
/// from anywhere else.
fn index(export: &Export) -> Markup {
    let a = &export.account;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Your data from Hearth: " (a.username) }
            }
            body {
                main {
                    h1 { "Your data: " (a.display_name) " (" (a.username) ")" }
                    p { "Made on " (when(export.made_at)) ". It holds what you wrote and did, and nothing that other people wrote: where you replied to someone, or they to you, it gives the address of their post, not its words." }
                    p { "The same data, for other apps, is in the .json files beside this page." }
                    h2 { "Your profile" }
                    dl {
                        dt { "Name" } dd { (a.display_name) }
                        dt { "About you" } dd { (a.bio) }
                        @if let Some(email) = &a.email { dt { "Email" } dd { (email) } }
                        dt { "What you wrote when you signed up" } dd { (a.registration_reason) }
                        dt { "Joined" } dd { (when(a.created_at)) }
                    }
                    h2 { "Your posts and replies (" (export.posts.len()) ")" }
                    @for p in &export.posts {
                        article {
                            h3 {
                                @if p.post.kind == PostKind::Thread { (p.post.title) } @else { "A reply" }
                            }
                            p {
                                "In " @match &p.group { Some((handle, title)) => { (title) " (" (handle) ")" }, None => { (p.group_ap_id) } }
                                " · " (when(p.post.published_at))
                                @match p.state {
                                    PostState::Published => {},
                                    PostState::Waiting => { " · waiting for a moderator" },
                                    PostState::Removed(at) => { " · removed by a moderator on " (when(at)) },
                                }
                            }
                            @if let Some(parent) = &p.post.in_reply_to_ap_id {
                                p { "Replying to " a href=(parent) { (parent) } }
                            }
                            @if let Some(cw) = &p.post.content_warning { p { "Content warning: " (cw) } }
                            (PreEscaped(&p.post.content_html))
                            @if let Some(link) = &p.post.link { p { a href=(link) { (link) } } }
                        }
                    }
                    h2 { "Your reactions (" (export.reactions.len()) ")" }
                    ul {
                        @for r in &export.reactions {
                            li { (r.reaction.as_str()) " on " a href=(r.post_ap_id) { (r.post_ap_id) } ", " (when(r.created_at)) }
                        }
                    }
                    h2 { "Your groups (" (export.memberships.len()) ")" }
                    ul {
                        @for m in &export.memberships {
                            li { (m.title) " (" (m.handle) "): " (m.state.as_str()) " since " (when(m.since)) }
                        }
                    }
                    h2 { "Your notifications (" (export.notifications.len()) ")" }
                    ul {
                        @for n in &export.notifications {
                            li {
                                (n.kind.as_str()) ", " (when(n.created_at))
                                @if let Some(actor) = &n.actor_ap_id { " · from " (actor) }
                                @if let Some(post) = &n.post_ap_id { " · about " a href=(post) { (post) } }
                                @if let Some(r) = &n.reaction { " · " (r) }
                            }
                        }
                    }
                }
            }
        }
    }
}
