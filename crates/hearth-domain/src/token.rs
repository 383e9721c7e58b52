//! Opaque bearer tokens.
//!
//! A token is 32 random bytes, shown to the client once as URL-safe base64.
//! Only its SHA-256 digest is stored: the token has full entropy, so a slow
//! hash adds nothing, and a leaked database holds no usable credential.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A freshly issued token: the secret for the client and the digest to store.
pub struct IssuedToken {
    pub secret: String,
    pub digest: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl IssuedToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let secret = URL_SAFE_NO_PAD.encode(bytes);
        let digest = digest(&secret);
        Self { secret, digest }
    }
}

/// The stored form of a token: lower-case hex SHA-256.
pub fn digest(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Compare two digests in constant time.
pub fn digests_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_unique_and_stored_as_digest() {
        let a = IssuedToken::generate();
        let b = IssuedToken::generate();
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), 43);
        assert_eq!(a.digest, digest(&a.secret));
        assert_eq!(a.digest.len(), 64);
        assert!(digests_match(&a.digest, &digest(&a.secret)));
        assert!(!digests_match(&a.digest, &b.digest));
        assert!(!format!("{a:?}").contains(&a.secret));
    }
}
