//! Passwords: the length rule and argon2id hashing.
//!
//! Hashing is deliberately slow (argon2id with the crate's recommended
//! parameters, about 19 MiB and two passes); callers on an async runtime run
//! it on a blocking thread.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::ValidationError;

/// NIST SP 800-63B: at least 8 characters; long passphrases welcome.
pub const PASSWORD_MIN: usize = 8;
/// Bounded so a huge body cannot make hashing expensive.
pub const PASSWORD_MAX: usize = 1024;

/// A password someone chose, checked against the length rule.
///
/// It has no `Debug` output of its own content, so it never lands in a log.
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let count = raw.chars().count();
        if count < PASSWORD_MIN {
            return Err(ValidationError::new(
                "password",
                "too_short",
                format!("Your password needs at least {PASSWORD_MIN} characters"),
            ));
        }
        if count > PASSWORD_MAX {
            return Err(ValidationError::new(
                "password",
                "too_long",
                format!("A password can be at most {PASSWORD_MAX} characters"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Hash with argon2id and a fresh random salt, in PHC string format.
    pub fn hash(&self) -> Result<String, PasswordError> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| PasswordError(e.to_string()))
    }
}

/// Hashing failed; only possible through a broken parameter set or RNG.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(String);

/// Whether `candidate` matches a stored PHC hash. A malformed stored hash
/// never matches. The comparison inside argon2 is constant-time.
pub fn verify(stored_hash: &str, candidate: &str) -> bool {
    if candidate.len() > PASSWORD_MAX * 4 {
        return false;
    }
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spend the same time as a real verification, for log-ins naming an
/// account that does not exist, so response time does not reveal which
/// usernames are taken.
pub fn verify_against_nothing(candidate: &str) {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$mWz1ikzFBAvtnIuo34vOxfRB7AM96kSn9wkanNOoBjw";
    let _ = verify(DUMMY, candidate);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rule_counts_characters_not_bytes() {
        assert_eq!(NewPassword::parse("short").unwrap_err().code, "too_short");
        assert!(NewPassword::parse("ééééééééé").is_ok());
        assert_eq!(
            NewPassword::parse(&"x".repeat(PASSWORD_MAX + 1))
                .unwrap_err()
                .code,
            "too_long"
        );
    }

    #[test]
    fn hash_verifies_only_the_same_password() {
        let hash = NewPassword::parse("correct horse").unwrap().hash().unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify(&hash, "correct horse"));
        assert!(!verify(&hash, "correct horse "));
        assert!(!verify("not a hash", "correct horse"));
    }

    #[test]
    fn debug_output_hides_the_password() {
        let pw = NewPassword::parse("secret-secret").unwrap();
        assert!(!format!("{pw:?}").contains("secret"));
    }
}
