//! The error every validation rule returns: which field, a stable code, and a
//! sentence a person can act on.

/// A value a person gave was not acceptable.
///
/// `field` names the input (as the API and forms name it), `code` is stable
/// and machine-readable, `message` is plain language meant to be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            code,
            message: message.into(),
        }
    }
}
