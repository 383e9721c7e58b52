//! Verified professionals: the role an admin (or a moderator the admin
//! trusts for it) checked outside Hearth, and the rule another server's
//! claim must pass before anyone here is shown "verified by <server>".
//!
//! Hearth keeps the role, who verified it and when; never a document. A
//! role travels on the member's actor, naming the verifying server and
//! the verification's id there. A claim is believed only when that
//! server, asked directly, serves the verification at that id, for that
//! actor, with that role ([`check_claim`] then [`check_confirmation`]):
//! so one server cannot vouch in another's name, and whatever server
//! vouches is the one the badge names.

use url::Url;

use crate::ValidationError;

/// Shortest and longest role, in characters.
pub const ROLE_MIN: usize = 3;
pub const ROLE_MAX: usize = 80;
/// Longest disclaimer, in characters (the configured one and one another
/// server sends).
pub const DISCLAIMER_MAX: usize = 500;
/// The disclaimer under a professional's post when the admin set none.
pub const DEFAULT_DISCLAIMER: &str = "General information, not advice for your situation. \
Talk to your own care team about what is right for you.";

/// Characters that would make a role markup somewhere it is shown
/// (HTML, Markdown, a mention or a hashtag).
const MARKUP: &[char] = &[
    '<', '>', '[', ']', '*', '_', '`', '#', '|', '\\', '{', '}', '~', '@',
];

/// A professional role as shown beside a name: plain text, one line, 3 to
/// 80 characters ("Registered nurse, oncology").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProfessionalRole(String);

impl ProfessionalRole {
    /// A role an admin typed: trimmed, and refused (naming the field
    /// `role`) when it does not fit.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let text = raw.trim();
        let count = text.chars().count();
        if count == 0 {
            return Err(ValidationError::new(
                "role",
                "required",
                "Write the professional role, for example \"Registered nurse, oncology\"",
            ));
        }
        if count < ROLE_MIN {
            return Err(ValidationError::new(
                "role",
                "too_short",
                format!("A role needs at least {ROLE_MIN} characters"),
            ));
        }
        if count > ROLE_MAX {
            return Err(ValidationError::new(
                "role",
                "too_long",
                format!("A role can be at most {ROLE_MAX} characters"),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "role",
                "invalid_characters",
                "A role must fit on one line",
            ));
        }
        if text.contains(MARKUP) {
            return Err(ValidationError::new(
                "role",
                "invalid_characters",
                "A role is plain words: leave out < > [ ] * _ ` # | \\ { } ~ and @",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// A role another server sent: the same rule, and nothing at all
    /// when it fails (it cannot be asked to fix it).
    pub fn from_remote(raw: &str) -> Option<Self> {
        Self::parse(raw).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProfessionalRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A role that checked out, and the server that verified it: what a badge
/// shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Professional {
    pub role: ProfessionalRole,
    /// The verifying server, `host` or `host:port`.
    pub verified_by: String,
}

impl Professional {
    /// "Registered nurse, oncology · verified by a.example".
    pub fn label(&self) -> String {
        format!("{} · verified by {}", self.role, self.verified_by)
    }
}

/// The configured disclaimer, checked: one paragraph of plain text, 1 to
/// [`DISCLAIMER_MAX`] characters.
pub fn check_disclaimer(raw: &str) -> Result<(), String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("must not be empty: professionals' posts always carry a disclaimer".into());
    }
    if text.chars().count() > DISCLAIMER_MAX {
        return Err(format!("can be at most {DISCLAIMER_MAX} characters"));
    }
    if text.chars().any(char::is_control) || text.contains(['<', '>']) {
        return Err("must be one paragraph of plain text".into());
    }
    Ok(())
}

/// A disclaimer another server sent with a post: plain text on one line,
/// cut to [`DISCLAIMER_MAX`] characters; `None` when nothing is left.
pub fn remote_disclaimer(raw: &str) -> Option<String> {
    let plain = crate::text::html_to_plain(raw);
    let line: String = plain
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let cut = crate::text::excerpt(&line, DISCLAIMER_MAX);
    (!cut.is_empty()).then_some(cut)
}

/// What an actor document claims (`hearth:professional`), read off the
/// wire, unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The verification's id on the verifying server.
    pub id: Url,
    pub role: String,
    /// The verifying server (its root URL, or any URL on it).
    pub verified_by: Url,
}

/// The verification document the verifying server served at the claim's
/// id, read off the wire, unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub id: Url,
    pub kind: String,
    pub role: String,
    pub verified_by: Url,
    /// The actor verified.
    pub subject: Url,
}

/// Why a claim is not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimRefused {
    #[error("the role {0:?} is not a plain role of 3 to 80 characters")]
    BadRole(String),
    #[error("verification {id} is not on the verifying server {verified_by}")]
    ElsewhereThanVerifier { id: String, verified_by: String },
    #[error("the verifying server does not confirm it: {0}")]
    NotConfirmed(String),
    #[error("verification {0} is about someone else")]
    OtherSubject(String),
    #[error("verification {id} names the role {confirmed:?}, not {claimed:?}")]
    OtherRole {
        id: String,
        claimed: String,
        confirmed: String,
    },
}

/// `host` or `host:port` of a URL, lower case: how Hearth names servers.
pub fn authority(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// The check before asking anyone: the role is a role, and the
/// verification's id is on the server said to have verified it (only that
/// server is asked, and only that server is named).
pub fn check_claim(claim: &Claim) -> Result<ProfessionalRole, ClaimRefused> {
    let role = ProfessionalRole::from_remote(&claim.role)
        .ok_or_else(|| ClaimRefused::BadRole(claim.role.clone()))?;
    let verifier = authority(&claim.verified_by);
    if verifier.is_none() || authority(&claim.id) != verifier {
        return Err(ClaimRefused::ElsewhereThanVerifier {
            id: claim.id.to_string(),
            verified_by: claim.verified_by.to_string(),
        });
    }
    Ok(role)
}

/// The check of what the verifying server served at the claim's id: the
/// same id, a `Verification`, by the same server, of `actor`, with the
/// same role. Only then is the role shown, naming that server.
pub fn check_confirmation(
    actor: &Url,
    claim: &Claim,
    confirmation: &Confirmation,
) -> Result<Professional, ClaimRefused> {
    let role = check_claim(claim)?;
    let verifier = authority(&claim.verified_by).unwrap_or_default();
    if confirmation.id != claim.id
        || confirmation.kind != "Verification"
        || authority(&confirmation.verified_by).as_deref() != Some(verifier.as_str())
    {
        return Err(ClaimRefused::NotConfirmed(format!(
            "{} served another document",
            claim.id
        )));
    }
    if confirmation.subject != *actor {
        return Err(ClaimRefused::OtherSubject(claim.id.to_string()));
    }
    let confirmed = ProfessionalRole::from_remote(&confirmation.role);
    if confirmed.as_ref() != Some(&role) {
        return Err(ClaimRefused::OtherRole {
            id: claim.id.to_string(),
            claimed: claim.role.clone(),
            confirmed: confirmation.role.clone(),
        });
    }
    Ok(Professional {
        role,
        verified_by: verifier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn roles_are_trimmed_plain_single_lines_of_3_to_80_characters() {
        assert_eq!(
            ProfessionalRole::parse("  Registered nurse, oncology ")
                .unwrap()
                .as_str(),
            "Registered nurse, oncology"
        );
        assert!(ProfessionalRole::parse("GP").is_err());
        assert!(ProfessionalRole::parse(&"x".repeat(80)).is_ok());
        for (raw, code) in [
            ("", "required"),
            ("  ", "required"),
            ("ab", "too_short"),
            (&"x".repeat(81), "too_long"),
            ("Nurse\nDoctor", "invalid_characters"),
            ("<b>Nurse</b>", "invalid_characters"),
            ("[Nurse](https://x.example)", "invalid_characters"),
            ("**Nurse**", "invalid_characters"),
            ("Nurse @admin", "invalid_characters"),
        ] {
            let err = ProfessionalRole::parse(raw).unwrap_err();
            assert_eq!((err.field, err.code), ("role", code), "{raw:?}");
        }
        // Letters of every language are words.
        assert!(ProfessionalRole::parse("Sygeplejerske, onkologi").is_ok());
        assert!(ProfessionalRole::parse("Médecin généraliste").is_ok());
    }

    #[test]
    fn a_badge_names_the_role_and_the_verifying_server() {
        let p = Professional {
            role: ProfessionalRole::parse("Registered nurse, oncology").unwrap(),
            verified_by: "a.example".into(),
        };
        assert_eq!(
            p.label(),
            "Registered nurse, oncology · verified by a.example"
        );
    }

    #[test]
    fn disclaimers_are_plain_text() {
        assert!(check_disclaimer(DEFAULT_DISCLAIMER).is_ok());
        assert!(check_disclaimer(" ").is_err());
        assert!(check_disclaimer("<script>x</script>").is_err());
        assert!(check_disclaimer(&"x".repeat(501)).is_err());
        assert_eq!(
            remote_disclaimer("<p>Not <b>advice</b>.\n\nAsk   your team.</p>").as_deref(),
            Some("Not advice. Ask your team.")
        );
        assert_eq!(remote_disclaimer("  "), None);
        assert!(
            remote_disclaimer(&"word ".repeat(400))
                .unwrap()
                .chars()
                .count()
                <= DISCLAIMER_MAX
        );
    }

    fn claim() -> Claim {
        Claim {
            id: url("https://a.example/verifications/7"),
            role: "Registered nurse, oncology".into(),
            verified_by: url("https://a.example/"),
        }
    }

    fn confirmation() -> Confirmation {
        Confirmation {
            id: url("https://a.example/verifications/7"),
            kind: "Verification".into(),
            role: "Registered nurse, oncology".into(),
            verified_by: url("https://a.example/"),
            subject: url("https://a.example/u/nina"),
        }
    }

    #[test]
    fn a_claim_confirmed_by_its_verifier_names_that_server() {
        let actor = url("https://a.example/u/nina");
        let p = check_confirmation(&actor, &claim(), &confirmation()).unwrap();
        assert_eq!(p.verified_by, "a.example");
        assert_eq!(p.role.as_str(), "Registered nurse, oncology");
        // With a port, the port is part of the server's name.
        let mut c = claim();
        c.id = url("http://a.example:8080/verifications/7");
        c.verified_by = url("http://a.example:8080/");
        let mut d = confirmation();
        d.id = c.id.clone();
        d.verified_by = c.verified_by.clone();
        assert_eq!(
            check_confirmation(&actor, &c, &d).unwrap().verified_by,
            "a.example:8080"
        );
    }

    #[test]
    fn claims_that_are_not_confirmed_are_refused() {
        let actor = url("https://a.example/u/nina");
        // The verification is not on the server said to verify.
        let mut elsewhere = claim();
        elsewhere.id = url("https://evil.example/verifications/7");
        assert!(matches!(
            check_claim(&elsewhere),
            Err(ClaimRefused::ElsewhereThanVerifier { .. })
        ));
        let mut other_port = claim();
        other_port.id = url("https://a.example:8443/verifications/7");
        assert!(check_claim(&other_port).is_err());
        // Someone else's verification.
        let evil = url("https://evil.example/u/mallory");
        assert!(matches!(
            check_confirmation(&evil, &claim(), &confirmation()),
            Err(ClaimRefused::OtherSubject(_))
        ));
        // Another role than the one confirmed.
        let mut bigger = claim();
        bigger.role = "Consultant oncologist".into();
        assert!(matches!(
            check_confirmation(&actor, &bigger, &confirmation()),
            Err(ClaimRefused::OtherRole { .. })
        ));
        // Another document at that id.
        let mut note = confirmation();
        note.kind = "Note".into();
        assert!(check_confirmation(&actor, &claim(), &note).is_err());
        let mut moved = confirmation();
        moved.id = url("https://a.example/verifications/8");
        assert!(check_confirmation(&actor, &claim(), &moved).is_err());
        // A role that is markup is never shown.
        let mut markup = claim();
        markup.role = "<img src=x>".into();
        assert!(matches!(
            check_claim(&markup),
            Err(ClaimRefused::BadRole(_))
        ));
    }
}
