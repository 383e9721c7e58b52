//! Actor key pairs.
//!
//! Every local actor (member, later group and instance actor) gets an
//! RSA-2048 key pair when it is created, in PEM form (public key as SPKI,
//! private key as PKCS#8), which is what Mastodon and Lemmy expect in
//! `publicKey.publicKeyPem`. The private key is stored in the database and
//! never leaves it except to sign.

/// A new key pair, both halves in PEM.
pub struct ActorKeys {
    pub public_pem: String,
    pub private_pem: String,
}

impl std::fmt::Debug for ActorKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorKeys")
            .field("public_pem", &self.public_pem)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("actor key generation failed: {0}")]
pub struct KeyError(String);

/// Generate an RSA-2048 key pair. CPU-heavy (tens to hundreds of
/// milliseconds): call it on a blocking thread from async code.
pub fn generate() -> Result<ActorKeys, KeyError> {
    let pair = activitypub_federation::http_signatures::generate_actor_keypair()
        .map_err(|e| KeyError(e.to_string()))?;
    Ok(ActorKeys {
        public_pem: pair.public_key,
        private_pem: pair.private_key,
    })
}

/// Check that a stored private key PEM can be used to sign.
pub fn check_private_pem(pem: &str) -> Result<(), KeyError> {
    use rsa::pkcs8::DecodePrivateKey;
    rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .map(|_| ())
        .map_err(|e| KeyError(format!("private key is not PKCS#8 PEM: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_pem_pairs_in_the_formats_peers_expect() {
        let keys = generate().unwrap();
        assert!(keys.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(keys.private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{keys:?}").contains("PRIVATE KEY"));
        check_private_pem(&keys.private_pem).unwrap();
        assert!(
            check_private_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }
}
