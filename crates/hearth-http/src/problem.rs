//! `application/problem+json` (RFC 9457) responses, built in one place.
//!
//! Every error Hearth's API returns has a stable `type` (`urn:hearth:problem:…`)
//! that clients match on, a short `title`, the HTTP `status`, a `detail`
//! sentence, and where one input is at fault, its `field`. Validation
//! failures also list every problem in `errors`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_app::AppError;
use hearth_domain::{AccountStatus, ValidationError};
use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/problem+json";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Serialised as `type`: `urn:hearth:problem:<code>`.
    #[serde(rename = "type", serialize_with = "problem_type")]
    pub code: &'static str,
    pub title: &'static str,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    retry_after: Option<u32>,
    #[serde(skip)]
    www_authenticate: bool,
}

/// One field's problem, as in a form's error summary.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl Problem {
    /// A problem of kind `code` (the part after `urn:hearth:problem:`).
    pub fn new(status: StatusCode, code: &'static str, title: &'static str) -> Self {
        Self {
            code,
            title,
            status: status.as_u16(),
            detail: None,
            field: None,
            errors: Vec::new(),
            retry_after: None,
            www_authenticate: false,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(u32::try_from(seconds).unwrap_or(u32::MAX));
        self
    }

    /// Problems in several fields at once (422).
    pub fn validation(errors: &[ValidationError]) -> Self {
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            "Some of the information needs changing",
        );
        if let Some(first) = errors.first() {
            problem = problem.field(first.field).detail(first.message.clone());
        }
        problem.errors = errors
            .iter()
            .map(|e| FieldError {
                field: e.field.to_owned(),
                code: e.code.to_owned(),
                message: e.message.clone(),
            })
            .collect();
        problem
    }

    /// The generic problem for a status that no handler described, such as
    /// 405 from the router or 408 from the timeout layer.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, title) = match status {
            StatusCode::NOT_FOUND => ("not-found", "There is nothing at this address"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method-not-allowed",
                "This address does not accept that method",
            ),
            StatusCode::REQUEST_TIMEOUT => ("timeout", "The request took too long"),
            StatusCode::PAYLOAD_TOO_LARGE => ("body-too-large", "The request body is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported-media-type", "The request body must be JSON")
            }
            StatusCode::TOO_MANY_REQUESTS => ("rate-limited", "Too many attempts"),
            s if s.is_server_error() => ("internal", "Something went wrong on the server"),
            _ => ("bad-request", "The request could not be understood"),
        };
        Problem::new(status, code, title)
    }
}

fn problem_type<S: serde::Serializer>(code: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("urn:hearth:problem:{code}"))
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"hearth\""),
            );
        }
        response
    }
}

impl From<AppError> for Problem {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Invalid(errors) => Problem::validation(&errors),
            AppError::Conflict { field } => {
                let code = if field == "username" {
                    "username-taken"
                } else {
                    "conflict"
                };
                // People and groups share one set of names (one WebFinger
                // answer per name), so either may hold it.
                let detail = if matches!(field, "username" | "name") {
                    "This name is already used by a person or a group on this server. Please choose another.".to_owned()
                } else {
                    format!("This {} is already in use. Please choose another.", field.replace('_', " "))
                };
                Problem::new(StatusCode::CONFLICT, code, "That is already taken")
                    .field(field)
                    .detail(detail)
            }
            AppError::Unauthenticated => {
                let mut p = Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "not-authenticated",
                    "You need to log in",
                )
                .detail("Send a valid token as `Authorization: Bearer <token>`.");
                p.www_authenticate = true;
                p
            }
            AppError::BadCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "bad-credentials",
                "Wrong username or password",
            )
            .detail("Check your username and password and try again."),
            AppError::AccountNotActive(AccountStatus::Pending) => Problem::new(
                StatusCode::FORBIDDEN,
                "account-pending",
                "Your account is waiting for approval",
            )
            .detail("An admin of this server will look at your request. You can log in once it is approved."),
            AppError::AccountNotActive(status) => Problem::new(
                StatusCode::FORBIDDEN,
                "account-not-active",
                "This account cannot log in",
            )
            .detail(format!("The account is {status}.")),
            AppError::RegistrationClosed => Problem::new(
                StatusCode::FORBIDDEN,
                "registration-closed",
                "This server is not taking new accounts",
            )
            .detail("Ask the people who run this server for an account."),
            AppError::TooMany { retry_after } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Please slow down",
            )
            .detail("You have done this many times in a short while. Take a break and try again a little later.")
            .retry_after(retry_after),
            AppError::Forbidden(what) => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "You are not allowed to do this",
            )
            .detail(what),
            AppError::NotMember => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "You are not allowed to do this",
            )
            .detail("Join the group to post, reply or react in it."),
            AppError::Refused(why) => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "You are not allowed to do this",
            )
            .detail(why),
            AppError::Remote(why) => Problem::new(
                StatusCode::BAD_GATEWAY,
                "remote-unavailable",
                "The other server did not answer as expected",
            )
            .detail(why),
            AppError::NotFound { what } => Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
            )
            .detail(format!("No such {what}.")),
            other => {
                tracing::error!(error = %other, "request failed");
                Problem::for_status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// Lets handlers return `Result<_, AppError>` and use `?`.
pub struct ApiError(pub Problem);

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        ApiError(err.into())
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        ApiError(problem)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}
