//! The OpenAPI 3.1 document of the JSON API under `/api/v1`, generated
//! from the handlers themselves: each carries a `#[utoipa::path]` naming
//! its method, path, parameters, body and answers, and the types it reads
//! and writes derive their schemas. A unit test below holds the document
//! and the route table to the same set of routes, so neither can drift.
//!
//! Conventions the document states once, for every operation:
//! - errors are problem documents (`application/problem+json`, RFC 9457),
//!   listed as each operation's `default` answer, with `401` where a token
//!   is needed and `422` where a body is read;
//! - logging in gives a bearer token (`POST /api/v1/auth/login`), sent as
//!   `Authorization: Bearer …`.
//!
//! Served at `GET /api/v1/openapi.json`, and readable by people at
//! `GET /api/docs` (`crate::web::api_docs`).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::ApiState;
use crate::problem::{CONTENT_TYPE as PROBLEM, FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hearth API",
        description = "The JSON API of a Hearth server: accounts, groups, posts and replies, moderation and care. Snake_case keys, ids as strings, RFC 3339 timestamps in UTC. Lists page with `cursor` and `limit`. Every error is a problem document (RFC 9457) with a stable `type`.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    paths(
        super::system::health,
        super::system::instance,
        super::auth::register,
        super::auth::login,
        super::auth::logout,
        super::me::show,
        super::me::update,
        super::me::change_password,
        super::posts::mine,
        super::me::sign_ins,
        super::export::mine,
        super::export::my_audit_log,
        super::export::member,
        super::export::audit_log,
        super::erasure::delete_mine,
        super::erasure::delete_member,
        super::erasure::by_secret,
        super::erasure::of_post,
        super::erasure::list,
        super::erasure::show,
        super::admin::list_accounts,
        super::admin::approve,
        super::admin::reject,
        super::professionals::list,
        super::professionals::history,
        super::professionals::verify,
        super::professionals::revoke,
        super::professionals::trust,
        super::professionals::distrust,
        super::admin::federation,
        super::admin::domain_rules,
        super::admin::set_domain_rule,
        super::admin::remove_domain_rule,
        super::admin::domain_subscriptions,
        super::admin::subscribe_domain_list,
        super::admin::unsubscribe_domain_list,
        super::groups::list,
        super::groups::create,
        super::groups::show,
        super::groups::update,
        super::groups::join,
        super::groups::leave,
        super::groups::requests,
        super::groups::approve,
        super::groups::decline,
        super::groups::my_memberships,
        super::groups::join_anywhere,
        super::groups::leave_membership,
        super::groups::resolve,
        super::posts::timeline,
        super::posts::create,
        super::posts::show,
        super::posts::edit,
        super::posts::delete,
        super::posts::reply,
        super::posts::react,
        super::posts::unreact,
        super::moderation::pin,
        super::moderation::unpin,
        super::moderation::lock,
        super::posts::label,
        super::posts::unlabel,
        super::moderation::unlock,
        super::moderation::ban_in_group,
        super::moderation::group_bans,
        super::moderation::unban_in_group,
        super::moderation::add_moderator,
        super::moderation::remove_moderator,
        super::care::mentors,
        super::care::add_mentor,
        super::care::remove_mentor,
        super::care::newcomers,
        super::care::guidance,
        super::care::mark_helpful,
        super::care::unmark_helpful,
        super::moderation::group_log,
        super::moderation::premoderation,
        super::moderation::set_premoderation,
        super::posts::held,
        super::posts::approve,
        super::posts::reject,
        super::posts::restore,
        super::posts::removed,
        super::moderation::report,
        super::moderation::reports,
        super::moderation::resolve,
        super::moderation::send_support,
        super::moderation::crisis_resources,
        super::moderation::my_reports,
        super::moderation::instance_bans,
        super::moderation::ban_from_instance,
        super::moderation::unban_from_instance,
        super::moderation::instance_log,
        super::posts::remove,
        super::notifications::list,
        super::notifications::unread,
        super::notifications::mark_read
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&Conventions),
    tags(
        (name = "system", description = "Whether the server is up, and what it is."),
        (name = "accounts", description = "Signing up, logging in, and one's own account."),
        (name = "groups", description = "The group directory, joining and leaving, here and on other servers."),
        (name = "posts", description = "Threads and replies: writing, editing, reacting, reading."),
        (name = "moderation", description = "Keeping groups safe: bans, reports, held and removed posts, logs."),
        (name = "care", description = "Peer mentors, newcomers, group guidance and helpful replies."),
        (name = "professionals", description = "Verifying health professionals."),
        (name = "notifications", description = "What happened that concerns the member."),
        (name = "erasure", description = "Deleting accounts here and everywhere they went, with receipts."),
        (name = "export", description = "Members' data, and who read it."),
        (name = "admin", description = "Running the server: sign-ups, federation, domain rules."),
    )
)]
struct ApiDoc;

/// What every operation shares: the bearer scheme and the problem answers.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token `POST /api/v1/auth/login` answers with, as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for (name, description) in PROBLEMS {
            components
                .responses
                .insert((*name).to_owned(), RefOr::T(problem(description)));
        }
        for item in doc.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_problems(operation);
            }
        }
    }
}

/// The problem answers, by the name each is listed under.
const PROBLEMS: &[(&str, &str)] = &[
    (
        "Problem",
        "Any other error, as a problem document: its `type` says which.",
    ),
    (
        "Unauthenticated",
        "No valid bearer token (`unauthenticated`).",
    ),
    (
        "Invalid",
        "The body is not what the operation takes: `invalid-json` when it cannot be read, `validation-failed` with every field's problem in `errors`.",
    ),
];

fn add_problems(operation: &mut Operation) {
    let answers = &mut operation.responses.responses;
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let anonymous_allowed = operation.security.as_ref().is_some_and(|requirements| {
        requirements.iter().any(|r| {
            serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
        })
    });
    if secured && !anonymous_allowed {
        answers
            .entry("401".to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name("Unauthenticated")));
    }
    if operation.request_body.is_some() {
        answers
            .entry("422".to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name("Invalid")));
    }
    answers
        .entry("default".to_owned())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name("Problem")));
}

/// The words a string field takes, from the domain's own spellings, so the
/// document lists exactly what the server accepts.
fn one_of(values: impl IntoIterator<Item = &'static str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .build()
}

/// Schemas for string fields that take one of the domain's words
/// (`#[schema(schema_with = …)]` on the field).
pub(crate) mod spelling {
    use hearth_domain::account::AccountStatus;
    use hearth_domain::group::{GroupVisibility, JoinPolicy};
    use hearth_domain::moderation::{ReportCategory, ReportState};
    use hearth_domain::post::{SpeakingAs, SupportKind, Visibility};
    use hearth_domain::sources::{LabelKind, SourceKind};
    use utoipa::openapi::Object;

    use super::one_of;

    macro_rules! spellings {
        ($($(#[$doc:meta])* $name:ident => $ty:ty),+ $(,)?) => {
            $(
                $(#[$doc])*
                pub fn $name() -> Object {
                    one_of(<$ty>::ALL.iter().map(|v| v.as_str()))
                }
            )+
        };
    }

    spellings! {
        visibility => Visibility,
        support_kind => SupportKind,
        speaking_as => SpeakingAs,
        join_policy => JoinPolicy,
        group_visibility => GroupVisibility,
        report_state => ReportState,
        account_status => AccountStatus,
        label_kind => LabelKind,
        source_kind => SourceKind,
    }

    /// The categories a person may choose (not those Hearth files itself).
    pub fn report_category() -> Object {
        one_of(ReportCategory::chosen_by_people().map(ReportCategory::as_str))
    }
}

/// The document, naming `base` (this server's address) as its server.
pub fn document(base: &str) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.servers = Some(vec![Server::new(base.trim_end_matches('/'))]);
    doc
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi_json(State(state): State<ApiState>) -> Response {
    let base = state.app.urls().page("/").to_string();
    match document(&base).to_json() {
        Ok(json) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "the OpenAPI document did not serialise");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;

    use super::*;

    /// Every `/api/v1` route of the table is in the document with its
    /// method, and the document has nothing the router does not serve.
    #[test]
    fn the_document_and_the_route_table_list_the_same_operations() {
        let doc = serde_json::to_value(document("https://hearth.example")).unwrap();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        let served: BTreeSet<(String, String)> = crate::routes()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/v1/") && r.path != "/api/v1/openapi.json")
            .map(|r| (r.method.to_string(), r.path.to_owned()))
            .collect();
        let missing: Vec<_> = served.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&served).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "routes without a #[utoipa::path] (add one and list it in ApiDoc): {missing:?}; documented but not served: {stale:?}"
        );
    }

    /// Types of the same name in different modules keep apart: each
    /// body's schema is the one its handler reads.
    #[test]
    fn bodies_of_the_same_rust_name_have_schemas_of_their_own() {
        let doc = serde_json::to_value(document("https://hearth.example")).unwrap();
        let body = |method: &str, path: &str| {
            let reference =
                doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
                    ["$ref"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned();
            doc["components"]["schemas"][&reference]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<BTreeSet<_>>()
        };
        assert!(body("post", "/api/v1/groups").contains("join_policy"));
        assert!(body("post", "/api/v1/posts").contains("support_kind"));
        assert!(body("patch", "/api/v1/groups/{name}").contains("retention_days"));
        assert!(body("patch", "/api/v1/me").contains("display_name"));
    }

    /// Every operation documents its errors as problem documents, and
    /// every schema it names exists.
    #[test]
    fn every_operation_answers_errors_with_problems_and_names_known_schemas() {
        let doc = serde_json::to_value(document("https://hearth.example")).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                assert_eq!(
                    op["responses"]["default"]["$ref"], "#/components/responses/Problem",
                    "{method} {path}"
                );
                assert!(op["operationId"].is_string(), "{method} {path}");
            }
        }
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for reference in text.split("\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(
                schemas.contains_key(name),
                "{name} is named but not defined"
            );
        }
    }
}
