//! Every route Hearth serves, in one table: method, path, what it may
//! serve ([`Access`]) and its handler. The router is built from this table
//! and nothing else, so no route exists without saying how it guards what
//! it serves; `tests/routes.rs` walks the whole table against a real server
//! and fails when a route serves stored posts without asking the read rule.
//!
//! Handlers are thin: parse, call one use-case on `hearth_app::App`, shape
//! the answer. The JSON API is under `/api/v1`; the ActivityPub endpoints
//! are in [`federation`]; the web pages in `crate::web`.

mod admin;
mod auth;
mod care;
pub(crate) mod erasure;
pub(crate) mod export;
pub(crate) mod federation;
pub(crate) mod groups;
mod me;
mod moderation;
mod notifications;
pub mod openapi;
mod posts;
mod professionals;
mod system;

use axum::Router;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use crate::ApiState;
use crate::rate_limit::{limit_auth, limit_inbox};
use crate::web;

/// What a route may serve, and what guards it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Serves nothing stored, or only what is public by design; says why.
    Public(&'static str),
    /// Serves stored posts or what they say: every answer passes the one
    /// read rule (`hearth_app::access`), and refusals look like "not
    /// found".
    ReadRule,
    /// The logged-in person's own things (account, memberships, forms,
    /// notifications, whose posts still pass the read rule).
    Own,
    /// A group's moderators only.
    Moderators,
    /// The server's admins only.
    Admin,
    /// Changes something through a use-case command, which decides who may.
    Command,
    /// Another server's activities, through the verified inbox.
    Inbox,
}

/// One route of the table.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

type Build = fn(&ApiState) -> MethodRouter<ApiState>;

struct Entry {
    route: Route,
    build: Build,
}

fn at(method: Method, path: &'static str, access: Access, build: Build) -> Entry {
    Entry {
        route: Route {
            method,
            path,
            access,
        },
        build,
    }
}

/// A door where passwords are tried or accounts made: rate-limited per
/// client address (and, in the handler, per account).
fn auth_door(state: &ApiState, router: MethodRouter<ApiState>) -> MethodRouter<ApiState> {
    router.route_layer(from_fn_with_state(state.clone(), limit_auth))
}

fn inbox(state: &ApiState, router: MethodRouter<ApiState>) -> MethodRouter<ApiState> {
    router.route_layer(from_fn_with_state(state.clone(), limit_inbox))
}

fn table() -> Vec<Entry> {
    use Access::*;
    use Method as M;
    vec![
        // ---- the JSON API --------------------------------------------
        at(
            M::GET,
            "/api/v1/health",
            Public("whether the server is up"),
            |_| get(system::health),
        ),
        at(
            M::GET,
            "/api/v1/openapi.json",
            Public("the API's description, generated from its handlers"),
            |_| get(openapi::openapi_json),
        ),
        at(
            M::GET,
            "/api/docs",
            Public("the API's description, as a page people read"),
            |_| get(web::api_docs::show),
        ),
        at(
            M::GET,
            "/api/v1/instance",
            Public("the server's name, rules and counts"),
            |_| get(system::instance),
        ),
        at(M::POST, "/api/v1/auth/register", Command, |s| {
            auth_door(s, post(auth::register))
        }),
        at(M::POST, "/api/v1/auth/login", Command, |s| {
            auth_door(s, post(auth::login))
        }),
        at(M::POST, "/api/v1/auth/logout", Command, |_| {
            post(auth::logout)
        }),
        at(M::GET, "/api/v1/me", Own, |_| get(me::show)),
        at(M::PATCH, "/api/v1/me", Command, |_| patch(me::update)),
        at(M::POST, "/api/v1/me/password", Command, |s| {
            auth_door(s, post(me::change_password))
        }),
        at(M::GET, "/api/v1/me/posts", Own, |_| get(posts::mine)),
        at(M::GET, "/api/v1/me/sign_ins", Own, |_| get(me::sign_ins)),
        // The member's own data (their posts through the read rule, as
        // they read them), and who else downloaded it.
        at(M::GET, "/api/v1/me/export", Own, |_| get(export::mine)),
        at(M::GET, "/api/v1/me/audit_log", Own, |_| {
            get(export::my_audit_log)
        }),
        at(M::GET, "/api/v1/admin/accounts/{id}/export", Admin, |_| {
            get(export::member)
        }),
        at(M::GET, "/api/v1/admin/audit_log", Admin, |_| {
            get(export::audit_log)
        }),
        // Erasure with receipts: deleting an account here and everywhere
        // it went, and how each server answered.
        at(M::DELETE, "/api/v1/me", Command, |s| {
            auth_door(s, delete(erasure::delete_mine))
        }),
        at(M::DELETE, "/api/v1/admin/accounts/{id}", Admin, |_| {
            delete(erasure::delete_member)
        }),
        at(
            M::GET,
            "/api/v1/erasures/{secret}",
            Public("a deleted account's erasure receipt, to whoever holds its secret link"),
            |_| get(erasure::by_secret),
        ),
        at(M::GET, "/api/v1/posts/{id}/erasure", Own, |_| {
            get(erasure::of_post)
        }),
        at(M::GET, "/api/v1/admin/erasures", Admin, |_| {
            get(erasure::list)
        }),
        at(M::GET, "/api/v1/admin/erasures/{id}", Admin, |_| {
            get(erasure::show)
        }),
        at(M::GET, "/api/v1/admin/accounts", Admin, |_| {
            get(admin::list_accounts)
        }),
        at(
            M::POST,
            "/api/v1/admin/accounts/{id}/approve",
            Admin,
            |_| post(admin::approve),
        ),
        at(M::POST, "/api/v1/admin/accounts/{id}/reject", Admin, |_| {
            post(admin::reject)
        }),
        // Verified professionals: admins, and moderators an admin trusts
        // for it (the use-case says who; others get 403).
        at(M::GET, "/api/v1/admin/professionals", Command, |_| {
            get(professionals::list)
        }),
        at(
            M::GET,
            "/api/v1/admin/accounts/{id}/verification",
            Command,
            |_| get(professionals::history),
        ),
        at(
            M::PUT,
            "/api/v1/admin/accounts/{id}/verification",
            Command,
            |_| put(professionals::verify),
        ),
        at(
            M::DELETE,
            "/api/v1/admin/accounts/{id}/verification",
            Command,
            |_| delete(professionals::revoke),
        ),
        at(
            M::PUT,
            "/api/v1/admin/accounts/{id}/verifier",
            Admin,
            |_| put(professionals::trust),
        ),
        at(
            M::DELETE,
            "/api/v1/admin/accounts/{id}/verifier",
            Admin,
            |_| delete(professionals::distrust),
        ),
        at(M::GET, "/api/v1/admin/federation", Admin, |_| {
            get(admin::federation)
        }),
        at(M::GET, "/api/v1/admin/domain_rules", Admin, |_| {
            get(admin::domain_rules)
        }),
        at(M::POST, "/api/v1/admin/domain_rules", Admin, |_| {
            post(admin::set_domain_rule)
        }),
        at(
            M::DELETE,
            "/api/v1/admin/domain_rules/{domain}",
            Admin,
            |_| delete(admin::remove_domain_rule),
        ),
        at(M::GET, "/api/v1/admin/domain_subscriptions", Admin, |_| {
            get(admin::domain_subscriptions)
        }),
        at(M::POST, "/api/v1/admin/domain_subscriptions", Admin, |_| {
            post(admin::subscribe_domain_list)
        }),
        at(
            M::DELETE,
            "/api/v1/admin/domain_subscriptions",
            Admin,
            |_| delete(admin::unsubscribe_domain_list),
        ),
        at(
            M::GET,
            "/api/v1/groups",
            Public("the directory of listed groups, as their actor documents show them"),
            |_| get(groups::list),
        ),
        at(M::POST, "/api/v1/groups", Command, |_| post(groups::create)),
        at(
            M::GET,
            "/api/v1/groups/{name}",
            Public("a group's description, as its actor document shows it"),
            |_| get(groups::show),
        ),
        at(M::PATCH, "/api/v1/groups/{name}", Command, |_| {
            patch(groups::update)
        }),
        at(M::POST, "/api/v1/groups/{name}/join", Command, |_| {
            post(groups::join)
        }),
        at(M::POST, "/api/v1/groups/{name}/leave", Command, |_| {
            post(groups::leave)
        }),
        at(M::GET, "/api/v1/groups/{name}/requests", Moderators, |_| {
            get(groups::requests)
        }),
        at(
            M::POST,
            "/api/v1/groups/{name}/requests/{id}/approve",
            Command,
            |_| post(groups::approve),
        ),
        at(
            M::POST,
            "/api/v1/groups/{name}/requests/{id}/decline",
            Command,
            |_| post(groups::decline),
        ),
        at(M::GET, "/api/v1/memberships", Own, |_| {
            get(groups::my_memberships)
        }),
        at(M::POST, "/api/v1/memberships", Command, |_| {
            post(groups::join_anywhere)
        }),
        at(M::DELETE, "/api/v1/memberships/{id}", Command, |_| {
            delete(groups::leave_membership)
        }),
        at(M::GET, "/api/v1/resolve", Own, |_| get(groups::resolve)),
        at(M::GET, "/api/v1/posts", ReadRule, |_| get(posts::timeline)),
        at(M::POST, "/api/v1/posts", Command, |_| post(posts::create)),
        at(M::GET, "/api/v1/posts/{id}", ReadRule, |_| get(posts::show)),
        at(M::PATCH, "/api/v1/posts/{id}", Command, |_| {
            patch(posts::edit)
        }),
        at(M::DELETE, "/api/v1/posts/{id}", Command, |_| {
            delete(posts::delete)
        }),
        at(M::POST, "/api/v1/posts/{id}/replies", Command, |_| {
            post(posts::reply)
        }),
        at(
            M::POST,
            "/api/v1/posts/{id}/reactions/{reaction}",
            Command,
            |_| post(posts::react),
        ),
        at(
            M::DELETE,
            "/api/v1/posts/{id}/reactions/{reaction}",
            Command,
            |_| delete(posts::unreact),
        ),
        at(M::POST, "/api/v1/posts/{id}/pin", Command, |_| {
            post(moderation::pin)
        }),
        at(M::DELETE, "/api/v1/posts/{id}/pin", Command, |_| {
            delete(moderation::unpin)
        }),
        at(M::POST, "/api/v1/posts/{id}/lock", Command, |_| {
            post(moderation::lock)
        }),
        at(M::PUT, "/api/v1/posts/{id}/label", Command, |_| {
            put(posts::label)
        }),
        at(M::DELETE, "/api/v1/posts/{id}/label", Command, |_| {
            delete(posts::unlabel)
        }),
        at(M::DELETE, "/api/v1/posts/{id}/lock", Command, |_| {
            delete(moderation::unlock)
        }),
        at(M::POST, "/api/v1/groups/{name}/bans", Command, |_| {
            post(moderation::ban_in_group)
        }),
        at(M::GET, "/api/v1/groups/{name}/bans", Moderators, |_| {
            get(moderation::group_bans)
        }),
        at(M::DELETE, "/api/v1/groups/{name}/bans", Command, |_| {
            delete(moderation::unban_in_group)
        }),
        at(
            M::PUT,
            "/api/v1/groups/{name}/moderators/{username}",
            Command,
            |_| put(moderation::add_moderator),
        ),
        at(
            M::DELETE,
            "/api/v1/groups/{name}/moderators/{username}",
            Command,
            |_| delete(moderation::remove_moderator),
        ),
        at(
            M::GET,
            "/api/v1/groups/{name}/mentors",
            Public("who is a group's peer mentor is public, as its moderators"),
            |_| get(care::mentors),
        ),
        at(
            M::PUT,
            "/api/v1/groups/{name}/mentors/{username}",
            Command,
            |_| put(care::add_mentor),
        ),
        at(
            M::DELETE,
            "/api/v1/groups/{name}/mentors/{username}",
            Command,
            |_| delete(care::remove_mentor),
        ),
        at(
            M::GET,
            "/api/v1/groups/{name}/newcomers",
            Moderators,
            |_| get(care::newcomers),
        ),
        at(
            M::GET,
            "/api/v1/groups/{name}/guidance",
            Public("a group's rules and support guide, as its actor document shows them"),
            |_| get(care::guidance),
        ),
        at(M::PUT, "/api/v1/posts/{id}/helpful", Command, |_| {
            put(care::mark_helpful)
        }),
        at(M::DELETE, "/api/v1/posts/{id}/helpful", Command, |_| {
            delete(care::unmark_helpful)
        }),
        at(
            M::GET,
            "/api/v1/groups/{name}/moderation_log",
            Public(
                "a group's moderation log (members only for an unlisted group); no post's words",
            ),
            |_| get(moderation::group_log),
        ),
        at(
            M::GET,
            "/api/v1/groups/{name}/premoderation",
            Moderators,
            |_| get(moderation::premoderation),
        ),
        at(
            M::PUT,
            "/api/v1/groups/{name}/premoderation",
            Command,
            |_| put(moderation::set_premoderation),
        ),
        at(M::GET, "/api/v1/groups/{name}/held", Moderators, |_| {
            get(posts::held)
        }),
        at(M::POST, "/api/v1/posts/{id}/approve", Command, |_| {
            post(posts::approve)
        }),
        at(M::POST, "/api/v1/posts/{id}/reject", Command, |_| {
            post(posts::reject)
        }),
        at(M::POST, "/api/v1/posts/{id}/restore", Command, |_| {
            post(posts::restore)
        }),
        at(M::GET, "/api/v1/groups/{name}/removed", Moderators, |_| {
            get(posts::removed)
        }),
        at(M::POST, "/api/v1/reports", Command, |_| {
            post(moderation::report)
        }),
        at(M::GET, "/api/v1/reports", Moderators, |_| {
            get(moderation::reports)
        }),
        at(M::POST, "/api/v1/reports/{id}/resolve", Command, |_| {
            post(moderation::resolve)
        }),
        at(M::POST, "/api/v1/reports/{id}/support", Command, |_| {
            post(moderation::send_support)
        }),
        at(
            M::GET,
            "/api/v1/crisis-resources",
            Public("the helplines, for anyone in crisis"),
            |_| get(moderation::crisis_resources),
        ),
        at(M::GET, "/api/v1/me/reports", Own, |_| {
            get(moderation::my_reports)
        }),
        at(M::GET, "/api/v1/admin/bans", Admin, |_| {
            get(moderation::instance_bans)
        }),
        at(M::POST, "/api/v1/admin/bans", Admin, |_| {
            post(moderation::ban_from_instance)
        }),
        at(M::DELETE, "/api/v1/admin/bans", Admin, |_| {
            delete(moderation::unban_from_instance)
        }),
        at(M::GET, "/api/v1/admin/moderation_log", Admin, |_| {
            get(moderation::instance_log)
        }),
        at(M::POST, "/api/v1/posts/{id}/remove", Command, |_| {
            post(posts::remove)
        }),
        at(M::GET, "/api/v1/notifications", Own, |_| {
            get(notifications::list)
        }),
        at(M::GET, "/api/v1/notifications/unread", Own, |_| {
            get(notifications::unread)
        }),
        at(M::POST, "/api/v1/notifications/read", Command, |_| {
            post(notifications::mark_read)
        }),
        // ---- ActivityPub and discovery -------------------------------
        at(
            M::GET,
            "/.well-known/webfinger",
            Public("who an account or group is, for other servers"),
            |_| get(federation::webfinger),
        ),
        at(
            M::GET,
            "/.well-known/nodeinfo",
            Public("where the NodeInfo documents are"),
            |_| get(federation::nodeinfo_links),
        ),
        at(
            M::GET,
            "/nodeinfo/{version}",
            Public("the software and its counts"),
            |_| get(federation::nodeinfo),
        ),
        at(
            M::GET,
            "/actor",
            Public("the instance actor, which signs fetches"),
            |_| get(federation::site_actor),
        ),
        at(M::GET, "/actor/outbox", Public("always empty"), |_| {
            get(federation::site_outbox)
        }),
        at(
            M::GET,
            "/u/{name}",
            Public("a member's pseudonymous actor: name, display name, bio, key"),
            |_| get(federation::person),
        ),
        at(
            M::GET,
            "/u/{name}/outbox",
            Public("always empty: members' posts live in their groups"),
            |_| get(federation::person_outbox),
        ),
        at(
            M::GET,
            "/u/{name}/followers",
            Public("a count, always 0: people are not followed"),
            |_| get(federation::person_followers),
        ),
        at(
            M::GET,
            "/g/{name}",
            Public("a group's actor: its name, description and key"),
            |_| get(federation::group),
        ),
        at(M::GET, "/g/{name}/outbox", ReadRule, |_| {
            get(federation::group_outbox)
        }),
        at(
            M::GET,
            "/g/{name}/followers",
            Public("a count only, never who the members are"),
            |_| get(federation::group_followers),
        ),
        at(
            M::GET,
            "/g/{name}/moderators",
            Public("who moderates a group is public, as on Lemmy"),
            |_| get(federation::group_moderators),
        ),
        at(
            M::GET,
            "/g/{name}/mentors",
            Public("who is a group's peer mentor is public, as its moderators"),
            |_| get(federation::group_mentors),
        ),
        at(M::GET, "/g/{name}/featured", ReadRule, |_| {
            get(federation::group_featured)
        }),
        at(
            M::GET,
            "/verifications/{id}",
            Public("a professional's verification: the role is shown beside their name everywhere"),
            |_| get(federation::verification),
        ),
        at(M::GET, "/p/{id}", ReadRule, |_| {
            get(federation::post_object)
        }),
        at(M::GET, "/p/{id}/replies", ReadRule, |_| {
            get(federation::post_replies)
        }),
        at(M::GET, "/p/{id}/note", ReadRule, |_| {
            get(federation::post_note)
        }),
        at(M::GET, "/activities/{id}", ReadRule, |_| {
            get(federation::activity_object)
        }),
        at(M::POST, "/inbox", Inbox, |s| {
            inbox(s, post(federation::shared_inbox))
        }),
        at(M::POST, "/u/{name}/inbox", Inbox, |s| {
            inbox(s, post(federation::user_inbox))
        }),
        at(M::POST, "/g/{name}/inbox", Inbox, |s| {
            inbox(s, post(federation::group_inbox))
        }),
        at(M::POST, "/actor/inbox", Inbox, |s| {
            inbox(s, post(federation::site_inbox))
        }),
        // ---- the web pages -------------------------------------------
        at(M::GET, "/", ReadRule, |_| get(web::pages::home)),
        at(M::GET, "/login", Public("the log-in form"), |_| {
            get(web::pages::login_form)
        }),
        at(M::POST, "/login", Command, |s| {
            auth_door(s, post(web::pages::login))
        }),
        at(
            M::GET,
            "/signup",
            Public("the sign-up form and the server's rules"),
            |_| get(web::pages::signup_form),
        ),
        at(M::POST, "/signup", Command, |s| {
            auth_door(s, post(web::pages::signup))
        }),
        at(M::POST, "/logout", Command, |_| post(web::pages::logout)),
        // The first-run link: an authentication door (its token is the
        // credential), so both methods share the log-in limits.
        at(
            M::GET,
            "/setup/{token}",
            Public("the first-run form, only while the server has no admin"),
            |s| auth_door(s, get(web::setup::setup_form)),
        ),
        at(M::POST, "/setup/{token}", Command, |s| {
            auth_door(s, post(web::setup::setup))
        }),
        at(
            M::GET,
            "/groups",
            Public("the directory of listed groups"),
            |_| get(web::pages::directory),
        ),
        at(M::GET, "/groups/new", Own, |_| {
            get(web::manage::new_group_form)
        }),
        at(M::POST, "/groups/new", Command, |_| {
            post(web::manage::new_group)
        }),
        at(M::GET, "/groups/join", Own, |_| {
            get(web::manage::join_elsewhere_form)
        }),
        at(M::POST, "/groups/join", Command, |_| {
            post(web::manage::join_elsewhere)
        }),
        at(M::GET, "/groups/{name}", ReadRule, |_| {
            get(web::groups::group_page)
        }),
        at(M::GET, "/groups/{name}/requests", Moderators, |_| {
            get(web::manage::requests)
        }),
        at(M::GET, "/groups/{name}/settings", Moderators, |_| {
            get(web::manage::group_settings)
        }),
        at(M::POST, "/groups/{name}/settings", Command, |_| {
            post(web::manage::save_group_settings)
        }),
        at(
            M::POST,
            "/groups/{name}/requests/{id}/approve",
            Command,
            |_| post(web::manage::approve),
        ),
        at(
            M::POST,
            "/groups/{name}/requests/{id}/decline",
            Command,
            |_| post(web::manage::decline),
        ),
        at(M::GET, "/settings", Own, |_| get(web::manage::settings)),
        at(M::POST, "/settings/profile", Command, |_| {
            post(web::manage::save_profile)
        }),
        at(M::POST, "/settings/password", Command, |s| {
            auth_door(s, post(web::manage::change_password))
        }),
        at(M::POST, "/groups/{name}/join", Command, |_| {
            post(web::groups::join)
        }),
        at(M::POST, "/groups/{name}/leave", Command, |_| {
            post(web::groups::leave)
        }),
        at(M::GET, "/groups/{name}/new", Own, |_| {
            get(web::groups::new_post_form)
        }),
        at(M::POST, "/groups/{name}/new", Command, |_| {
            post(web::groups::new_post)
        }),
        at(M::GET, "/posts/{id}", ReadRule, |_| {
            get(web::groups::thread_page)
        }),
        at(M::POST, "/posts/{id}/reply", Command, |_| {
            post(web::groups::reply)
        }),
        at(M::POST, "/posts/{id}/react", Command, |_| {
            post(web::groups::react)
        }),
        at(M::POST, "/posts/{id}/delete", Command, |_| {
            post(web::groups::delete)
        }),
        at(M::POST, "/posts/{id}/remove", Command, |_| {
            post(web::groups::remove)
        }),
        at(M::GET, "/posts/{id}/edit", ReadRule, |_| {
            get(web::groups::edit_post_form)
        }),
        // Reporting: the form shows the post's words, through the read rule.
        at(M::GET, "/posts/{id}/report", ReadRule, |_| {
            get(web::moderation::report_form)
        }),
        at(M::POST, "/posts/{id}/report", Command, |_| {
            post(web::moderation::send_report)
        }),
        at(M::POST, "/posts/{id}/lock", Command, |_| {
            post(web::moderation::lock)
        }),
        at(M::GET, "/posts/{id}/label", ReadRule, |_| {
            get(web::sources::label_page)
        }),
        at(M::POST, "/posts/{id}/label", Command, |_| {
            post(web::sources::label)
        }),
        at(M::POST, "/posts/{id}/unlabel", Command, |_| {
            post(web::sources::unlabel)
        }),
        at(M::POST, "/posts/{id}/unlock", Command, |_| {
            post(web::moderation::unlock)
        }),
        at(M::POST, "/posts/{id}/pin", Command, |_| {
            post(web::moderation::pin)
        }),
        at(M::POST, "/posts/{id}/unpin", Command, |_| {
            post(web::moderation::unpin)
        }),
        // Moderators and admins (the use-case says which reports each
        // handles); the posts reported are shown through the read rule.
        at(M::GET, "/moderation/reports", Moderators, |_| {
            get(web::moderation::reports)
        }),
        at(M::POST, "/moderation/reports/{id}/support", Command, |_| {
            post(web::moderation::send_support)
        }),
        at(M::POST, "/moderation/reports/{id}/resolve", Command, |_| {
            post(web::moderation::resolve)
        }),
        // A member's own reports; the posts they were about are named
        // through the read rule.
        at(M::GET, "/me/reports", Own, |_| {
            get(web::moderation::my_reports)
        }),
        at(
            M::GET,
            "/groups/{name}/log",
            Public(
                "a group's moderation log (members only for an unlisted group); links to posts, never their words",
            ),
            |_| get(web::moderation::group_log),
        ),
        at(M::GET, "/groups/{name}/bans", Moderators, |_| {
            get(web::bans::bans)
        }),
        at(M::POST, "/groups/{name}/bans", Command, |_| {
            post(web::bans::ban)
        }),
        at(M::POST, "/groups/{name}/bans/lift", Command, |_| {
            post(web::bans::lift)
        }),
        at(M::GET, "/groups/{name}/mentors", Moderators, |_| {
            get(web::care::mentors)
        }),
        at(M::POST, "/groups/{name}/mentors", Command, |_| {
            post(web::care::add_mentor)
        }),
        at(M::POST, "/groups/{name}/mentors/remove", Command, |_| {
            post(web::care::remove_mentor)
        }),
        at(M::GET, "/groups/{name}/newcomers", Moderators, |_| {
            get(web::care::newcomers)
        }),
        at(M::POST, "/posts/{id}/helpful", Command, |_| {
            post(web::care::mark_helpful)
        }),
        at(M::POST, "/posts/{id}/unhelpful", Command, |_| {
            post(web::care::unmark_helpful)
        }),
        at(M::GET, "/groups/{name}/moderators", Moderators, |_| {
            get(web::bans::moderators)
        }),
        at(M::POST, "/groups/{name}/moderators", Command, |_| {
            post(web::bans::add_moderator)
        }),
        at(M::POST, "/groups/{name}/moderators/remove", Command, |_| {
            post(web::bans::remove_moderator)
        }),
        // Pre-moderation: the waiting posts' words, each through the read
        // rule as the moderator may read it.
        at(M::GET, "/groups/{name}/held", Moderators, |_| {
            get(web::held::held)
        }),
        at(M::POST, "/groups/{name}/held/{id}/approve", Command, |_| {
            post(web::held::approve)
        }),
        at(M::POST, "/groups/{name}/held/{id}/reject", Command, |_| {
            post(web::held::reject)
        }),
        at(M::POST, "/groups/{name}/premoderation", Command, |_| {
            post(web::held::save_settings)
        }),
        // Removed posts: their kept words, read by the group's moderators
        // only (`App::removed_posts` checks).
        at(M::GET, "/groups/{name}/removed", Moderators, |_| {
            get(web::removed::list)
        }),
        at(
            M::POST,
            "/groups/{name}/removed/{id}/restore",
            Command,
            |_| post(web::removed::restore),
        ),
        at(M::GET, "/admin/federation", Admin, |_| {
            get(web::admin::federation)
        }),
        at(M::POST, "/admin/federation/rules", Admin, |_| {
            post(web::admin::set_rule)
        }),
        at(M::POST, "/admin/federation/rules/remove", Admin, |_| {
            post(web::admin::remove_rule)
        }),
        at(M::POST, "/admin/federation/lists", Admin, |_| {
            post(web::admin::follow_list)
        }),
        at(M::POST, "/admin/federation/lists/remove", Admin, |_| {
            post(web::admin::unfollow_list)
        }),
        // Admins, and moderators an admin trusts to verify (the page and
        // the use-cases ask `App::may_verify`).
        at(M::GET, "/admin/professionals", Admin, |_| {
            get(web::professionals::list)
        }),
        at(M::POST, "/admin/professionals", Command, |_| {
            post(web::professionals::verify)
        }),
        at(M::POST, "/admin/professionals/revoke", Command, |_| {
            post(web::professionals::revoke)
        }),
        at(M::POST, "/admin/professionals/verifiers", Admin, |_| {
            post(web::professionals::trust)
        }),
        at(
            M::POST,
            "/admin/professionals/verifiers/remove",
            Admin,
            |_| post(web::professionals::distrust),
        ),
        at(M::GET, "/admin/bans", Admin, |_| {
            get(web::admin_moderation::bans)
        }),
        at(M::POST, "/admin/bans", Admin, |_| {
            post(web::admin_moderation::ban)
        }),
        at(M::POST, "/admin/bans/lift", Admin, |_| {
            post(web::admin_moderation::lift)
        }),
        at(M::GET, "/admin/log", Admin, |_| {
            get(web::admin_moderation::log)
        }),
        at(M::GET, "/admin/audit", Admin, |_| get(web::export::audit)),
        at(M::GET, "/me/export", Own, |_| get(web::export::mine)),
        at(M::GET, "/me/delete", Own, |_| get(web::erasure::form)),
        at(M::POST, "/me/delete", Command, |s| {
            auth_door(s, post(web::erasure::delete))
        }),
        at(
            M::GET,
            "/erasures/{secret}",
            Public("a deleted account's erasure receipt, to whoever holds its secret link"),
            |_| get(web::erasure::receipt),
        ),
        at(M::GET, "/posts/{id}/erasure", Own, |_| {
            get(web::erasure::post)
        }),
        at(M::GET, "/admin/erasures", Admin, |_| {
            get(web::erasure::list)
        }),
        at(M::GET, "/me/export/download", Own, |_| {
            get(web::export::download)
        }),
        at(M::POST, "/posts/{id}/edit", Command, |_| {
            post(web::groups::edit_post)
        }),
        at(M::GET, "/help", Public("where to find support"), |_| {
            get(web::groups::help)
        }),
        at(M::GET, "/people/{username}", ReadRule, |_| {
            get(web::people::profile)
        }),
        at(M::GET, "/notifications", Own, |_| {
            get(web::notifications::list)
        }),
        at(M::POST, "/notifications/read", Command, |_| {
            post(web::notifications::mark_read)
        }),
        at(
            M::GET,
            web::assets::STYLESHEET_ROUTE,
            Public("the stylesheet"),
            |_| get(web::assets::stylesheet),
        ),
    ]
}

/// Every route, with what guards it (for tests and the docs).
pub fn routes() -> Vec<Route> {
    table().into_iter().map(|e| e.route).collect()
}

/// The router of every route in the table.
pub(crate) fn router(state: &ApiState) -> Router<ApiState> {
    table().into_iter().fold(Router::new(), |router, e| {
        router.route(e.route.path, (e.build)(state))
    })
}
