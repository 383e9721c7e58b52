//! Admin endpoints: review and decide on sign-ups, see how delivery to
//! other servers is going, and set which servers this one talks to (domain
//! rules, and subscriptions to published domain lists).

use axum::extract::{Path, Query, State};
use hearth_domain::AccountStatus;
use serde::Deserialize;

use crate::ApiState;
use crate::auth::Admin;
use crate::json::Json;
use crate::pagination::{Page, PageQuery};
use crate::problem::{ApiError, Problem};
use crate::views::{AdminAccountView, CutOffView, DomainRuleView, FederationStatusView};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(schema_with = crate::routes::openapi::spelling::account_status)]
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/accounts",
    tag = "admin",
    operation_id = "admin_list_accounts",
    params(ListQuery),
    responses((status = 200, body = Page<AdminAccountView>)),
    security(("bearer" = []))
)]
pub async fn list_accounts(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<AdminAccountView>>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(str::parse::<AccountStatus>)
        .transpose()
        .map_err(|e| {
            Problem::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid-query",
                "Invalid status",
            )
            .field("status")
            .detail(e.to_string())
        })?;
    let (after, limit) = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    }
    .position()?;
    // Written in the audit log: the page shows e-mail addresses and what
    // people wrote when signing up.
    let rows = state
        .app
        .accounts_for_admin(&session, status, after, limit)
        .await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |a| a.id,
        |a| (&a).into(),
    )))
}

fn account_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| {
        Problem::new(axum::http::StatusCode::NOT_FOUND, "not-found", "Not found")
            .detail("No such account.")
            .into()
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/accounts/{id}/approve",
    tag = "admin",
    operation_id = "admin_approve",
    params(("id" = String, Path, description = "The account's id")),
    responses((status = 200, body = AdminAccountView)),
    security(("bearer" = []))
)]
pub async fn approve(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminAccountView>, ApiError> {
    let account = state
        .app
        .decide_registration(&admin.account, account_id(&id)?, true)
        .await?;
    Ok(Json((&account).into()))
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/accounts/{id}/reject",
    tag = "admin",
    operation_id = "admin_reject",
    params(("id" = String, Path, description = "The account's id")),
    responses((status = 200, body = AdminAccountView)),
    security(("bearer" = []))
)]
pub async fn reject(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminAccountView>, ApiError> {
    let account = state
        .app
        .decide_registration(&admin.account, account_id(&id)?, false)
        .await?;
    Ok(Json((&account).into()))
}

/// The delivery queue and the servers that need attention most.
#[utoipa::path(
    get,
    path = "/api/v1/admin/federation",
    tag = "admin",
    operation_id = "admin_federation",
    responses((status = 200, body = FederationStatusView)),
    security(("bearer" = []))
)]
pub async fn federation(
    State(state): State<ApiState>,
    Admin(_): Admin,
) -> Result<Json<FederationStatusView>, ApiError> {
    let status = state.app.federation_status().await?;
    Ok(Json(FederationStatusView::new(&status, chrono::Utc::now())))
}

/// The federation mode and every domain rule.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct DomainRulesView {
    mode: &'static str,
    rules: Vec<DomainRuleView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/domain_rules",
    tag = "admin",
    operation_id = "admin_domain_rules",
    responses((status = 200, body = DomainRulesView)),
    security(("bearer" = []))
)]
pub async fn domain_rules(
    State(state): State<ApiState>,
    Admin(_): Admin,
) -> Result<Json<DomainRulesView>, ApiError> {
    let rules = state.app.domain_rules().await?;
    Ok(Json(DomainRulesView {
        mode: state.app.federation_mode().as_str(),
        rules: rules
            .iter()
            .map(|stored| DomainRuleView::new(&stored.rule, stored.created_at))
            .collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    domain: String,
    action: String,
    #[serde(default)]
    public_reason: String,
    #[serde(default)]
    private_reason: String,
    #[serde(default)]
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RuleSetView {
    rule: DomainRuleView,
    cut_off: CutOffView,
}

/// Set the admin's own rule for a domain (replacing one there was).
#[utoipa::path(
    post,
    path = "/api/v1/admin/domain_rules",
    tag = "admin",
    operation_id = "admin_set_domain_rule",
    request_body = RuleBody,
    responses((status = 200, body = RuleSetView)),
    security(("bearer" = []))
)]
pub async fn set_domain_rule(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Json(body): Json<RuleBody>,
) -> Result<Json<RuleSetView>, ApiError> {
    let set = state
        .app
        .set_domain_rule(
            Some(&admin.account),
            hearth_app::policy::RuleRequest {
                domain: body.domain,
                action: body.action,
                public_reason: body.public_reason,
                private_reason: body.private_reason,
                expires_at: body.expires_at,
            },
        )
        .await?;
    Ok(Json(RuleSetView {
        rule: DomainRuleView::new(&set.rule, chrono::Utc::now()),
        cut_off: set.cut_off.into(),
    }))
}

/// Remove the admin's own rule for a domain.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/domain_rules/{domain}",
    tag = "admin",
    operation_id = "admin_remove_domain_rule",
    params(("domain" = String, Path, description = "A server's domain (`host` or `host:port`)")),
    responses((status = 200, body = CutOffView)),
    security(("bearer" = []))
)]
pub async fn remove_domain_rule(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(domain): Path<String>,
) -> Result<Json<CutOffView>, ApiError> {
    let cut_off = state
        .app
        .remove_domain_rule(Some(&admin.account), &domain)
        .await?;
    Ok(Json(cut_off.into()))
}

/// A subscribed domain list, as admins see it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SubscriptionView {
    url: String,
    /// `block` or `allow`.
    kind: &'static str,
    created_at: String,
    /// The last attempt to fetch it, whether it worked or not.
    last_fetched_at: Option<String>,
    /// Why the last attempt failed; `null` when it worked (or none was
    /// made yet).
    last_error: Option<String>,
    /// Rules taken from it at its last successful fetch.
    entries: u64,
}

impl From<&hearth_app::subscriptions::Subscription> for SubscriptionView {
    fn from(s: &hearth_app::subscriptions::Subscription) -> Self {
        let time = |at: chrono::DateTime<chrono::Utc>| {
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        SubscriptionView {
            url: s.url.clone(),
            kind: s.kind.as_str(),
            created_at: time(s.created_at),
            last_fetched_at: s.last_fetched_at.map(time),
            last_error: (!s.last_error.is_empty()).then(|| s.last_error.clone()),
            entries: s.entries,
        }
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SubscriptionsView {
    subscriptions: Vec<SubscriptionView>,
}

/// Every subscribed domain list.
#[utoipa::path(
    get,
    path = "/api/v1/admin/domain_subscriptions",
    tag = "admin",
    operation_id = "admin_domain_subscriptions",
    responses((status = 200, body = SubscriptionsView)),
    security(("bearer" = []))
)]
pub async fn domain_subscriptions(
    State(state): State<ApiState>,
    Admin(_): Admin,
) -> Result<Json<SubscriptionsView>, ApiError> {
    let subscriptions = state.app.domain_subscriptions().await?;
    Ok(Json(SubscriptionsView {
        subscriptions: subscriptions.iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeBody {
    url: String,
    /// `block` (the default) or `allow`.
    #[serde(default = "block")]
    kind: String,
}

fn block() -> String {
    "block".into()
}

/// An entry of a list left out, and why.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SkippedView {
    line: u64,
    domain: String,
    reason: String,
}

/// What the first fetch of a new subscription did.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct FetchView {
    /// Why the fetch failed (the subscription is kept and fetched again
    /// later); `null` when it worked.
    error: Option<String>,
    added: u64,
    changed: u64,
    lifted: u64,
    skipped: Vec<SkippedView>,
    cut_off: CutOffView,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SubscribedView {
    subscription: SubscriptionView,
    fetch: FetchView,
}

/// Subscribe to a published blocklist or allowlist, and fetch it at once.
#[utoipa::path(
    post,
    path = "/api/v1/admin/domain_subscriptions",
    tag = "admin",
    operation_id = "admin_subscribe_domain_list",
    request_body = SubscribeBody,
    responses((status = 201, body = SubscribedView)),
    security(("bearer" = []))
)]
pub async fn subscribe_domain_list(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Json(body): Json<SubscribeBody>,
) -> Result<(axum::http::StatusCode, Json<SubscribedView>), ApiError> {
    let done = state
        .app
        .subscribe_domain_list(Some(&admin.account), &body.url, &body.kind)
        .await?;
    let fetch = match done.fetched.outcome {
        Ok(update) => FetchView {
            error: None,
            added: update.replaced.added,
            changed: update.replaced.changed,
            lifted: update.replaced.lifted,
            skipped: update
                .skipped
                .into_iter()
                .map(|(line, domain, reason)| SkippedView {
                    line,
                    domain,
                    reason,
                })
                .collect(),
            cut_off: update.cut_off.into(),
        },
        Err(why) => FetchView {
            error: Some(why),
            added: 0,
            changed: 0,
            lifted: 0,
            skipped: Vec::new(),
            cut_off: hearth_app::policy::CutOff::default().into(),
        },
    };
    Ok((
        axum::http::StatusCode::CREATED,
        Json(SubscribedView {
            subscription: (&done.subscription).into(),
            fetch,
        }),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeQuery {
    url: Option<String>,
}

/// Unsubscribe from a list (`?url=`), lifting the rules it gave.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/domain_subscriptions",
    tag = "admin",
    operation_id = "admin_unsubscribe_domain_list",
    params(UnsubscribeQuery),
    responses((status = 200, body = CutOffView)),
    security(("bearer" = []))
)]
pub async fn unsubscribe_domain_list(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Query(query): Query<UnsubscribeQuery>,
) -> Result<Json<CutOffView>, ApiError> {
    let cut_off = state
        .app
        .unsubscribe_domain_list(
            Some(&admin.account),
            query.url.as_deref().unwrap_or_default(),
        )
        .await?;
    Ok(Json(cut_off.into()))
}
