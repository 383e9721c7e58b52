//! Actor key pairs.
//!
//! Every local actor (member, group and instance actor) gets an RSA-2048
//! key pair when it is created, in PEM form (public key as SPKI, private key
//! as PKCS#8), which is what Mastodon and Lemmy expect in
//! `publicKey.publicKeyPem`. The private key is stored in the database and
//! never leaves it except to sign.

use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};

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
#[error("actor key: {0}")]
pub struct KeyError(String);

/// Generate an RSA-2048 key pair. CPU-heavy (tens to hundreds of
/// milliseconds): call it on a blocking thread from async code.
pub fn generate() -> Result<ActorKeys, KeyError> {
    let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
        .map_err(|e| KeyError(format!("generation failed: {e}")))?;
    let public = RsaPublicKey::from(&private);
    Ok(ActorKeys {
        public_pem: public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError(e.to_string()))?,
        private_pem: private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError(e.to_string()))?
            .to_string(),
    })
}

/// Check that a stored private key PEM can be used to sign.
pub fn check_private_pem(pem: &str) -> Result<(), KeyError> {
    RsaPrivateKey::from_pkcs8_pem(pem)
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
