//! Actor key pairs.
//!
//! Every local actor (member, group and instance actor) gets an RSA-2048
//! key pair when it is created, in PEM form (public key as SPKI, private key
//! as PKCS#8), which is what Mastodon and Lemmy expect in
//! `publicKey.publicKeyPem`. The private key is stored in the database and
//! never leaves it except to sign.
//!
//! Keys are made and checked with aws-lc-rs, the library Hearth signs with
//! (`hearth-activitypub`'s `sign`): it is constant-time and several times
//! faster than the `rsa` crate, whose private-key operation has a timing
//! side channel (RUSTSEC-2023-0071). aws-lc-rs speaks DER only; the PEM
//! armour around it (RFC 7468: base64 between `-----BEGIN …-----` and
//! `-----END …-----` lines) is written and read here, in the same shape the
//! `rsa` crate wrote it, so keys stored by earlier versions keep working.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The PEM label of a PKCS#8 private key.
pub const PRIVATE_KEY_LABEL: &str = "PRIVATE KEY";
/// The PEM label of an SPKI (X.509 SubjectPublicKeyInfo) public key.
pub const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";
/// The PEM label of a PKCS#1 RSA public key, which some servers publish.
pub const RSA_PUBLIC_KEY_LABEL: &str = "RSA PUBLIC KEY";

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
    let pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|e| KeyError(format!("generation failed: {e}")))?;
    let private = pair
        .as_der()
        .map_err(|e| KeyError(format!("cannot encode the private key: {e}")))?;
    let public = pair
        .public_key()
        .as_der()
        .map_err(|e| KeyError(format!("cannot encode the public key: {e}")))?;
    Ok(ActorKeys {
        public_pem: encode_pem(PUBLIC_KEY_LABEL, public.as_ref()),
        private_pem: encode_pem(PRIVATE_KEY_LABEL, private.as_ref()),
    })
}

/// Parse a stored PKCS#8 PEM private key into the form aws-lc-rs signs
/// with. Parsing checks the key (RSA, 2048 to 8192 bits, consistent), which
/// costs about as much as a few signatures: signers keep the result.
pub fn parse_private_pem(pem: &str) -> Result<KeyPair, KeyError> {
    let der = decode_pem(pem, &[PRIVATE_KEY_LABEL])
        .map_err(|e| KeyError(format!("private key is not PKCS#8 PEM: {e}")))?;
    KeyPair::from_pkcs8(&der)
        .map_err(|e| KeyError(format!("private key is not a usable RSA key: {e}")))
}

/// Check that a stored private key PEM can be used to sign.
pub fn check_private_pem(pem: &str) -> Result<(), KeyError> {
    parse_private_pem(pem).map(|_| ())
}

/// Armour DER bytes as PEM with `label`: 64 base64 characters a line, LF
/// line endings and a final newline, as the `rsa` crate wrote them.
pub fn encode_pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    pem.push_str("-----BEGIN ");
    pem.push_str(label);
    pem.push_str("-----\n");
    // Base64 output is ASCII, so any byte offset is a character boundary.
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END ");
    pem.push_str(label);
    pem.push_str("-----\n");
    pem
}

/// Base64 as found in PEM files in the wild: padded or not.
const PEM_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The DER bytes of the first PEM block in `pem`, which must carry one of
/// `labels`. Liberal in what it reads, since public keys come from other
/// servers: text before the block, any line length, CRLF or LF, and
/// whitespace around lines are accepted. Encrypted PEM (with `Proc-Type`
/// headers) is not base64 and is refused.
pub fn decode_pem(pem: &str, labels: &[&str]) -> Result<Vec<u8>, KeyError> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    let start = pem
        .find(BEGIN)
        .ok_or_else(|| KeyError("no PEM BEGIN line".into()))?;
    let after_begin = &pem[start + BEGIN.len()..];
    let label_end = after_begin
        .find(DASHES)
        .ok_or_else(|| KeyError("unterminated PEM BEGIN line".into()))?;
    let label = &after_begin[..label_end];
    if !labels.contains(&label) {
        return Err(KeyError(format!("PEM label {label:?} is not {labels:?}")));
    }
    let rest = &after_begin[label_end + DASHES.len()..];
    let end_line = format!("-----END {label}-----");
    let body_end = rest
        .find(&end_line)
        .ok_or_else(|| KeyError(format!("no PEM END line for {label}")))?;
    let body: Vec<u8> = rest[..body_end]
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if body.is_empty() {
        return Err(KeyError("empty PEM block".into()));
    }
    PEM_BASE64
        .decode(&body)
        .map_err(|e| KeyError(format!("PEM body is not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
    use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};

    #[test]
    fn generates_pem_pairs_in_the_formats_peers_expect() {
        let keys = generate().unwrap();
        assert!(keys.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(keys.public_pem.ends_with("\n-----END PUBLIC KEY-----\n"));
        assert!(
            keys.private_pem
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        assert!(keys.private_pem.ends_with("\n-----END PRIVATE KEY-----\n"));
        assert!(!format!("{keys:?}").contains("PRIVATE KEY"));
        check_private_pem(&keys.private_pem).unwrap();
        assert!(
            check_private_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
        assert!(check_private_pem(&keys.public_pem).is_err());
        assert!(check_private_pem("").is_err());
        // Another implementation reads both halves, and writes them
        // byte for byte as we do.
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(&keys.private_pem).unwrap();
        let public = rsa::RsaPublicKey::from_public_key_pem(&keys.public_pem).unwrap();
        assert_eq!(rsa::RsaPublicKey::from(&private), public);
        assert_eq!(
            public.to_public_key_pem(LineEnding::LF).unwrap(),
            keys.public_pem
        );
        assert_eq!(
            private.to_pkcs8_pem(LineEnding::LF).unwrap().as_str(),
            keys.private_pem
        );
    }

    /// Keys stored by earlier versions were made by the `rsa` crate (LF),
    /// or by activitypub_federation (its default line ending): both sign.
    #[test]
    fn accepts_the_private_keys_earlier_versions_stored() {
        let old = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        for ending in [LineEnding::LF, LineEnding::CRLF, LineEnding::default()] {
            let pem = old.to_pkcs8_pem(ending).unwrap();
            check_private_pem(&pem).unwrap_or_else(|e| panic!("{ending:?}: {e}"));
            // The database may hand it back with a trailing blank or without
            // the final newline.
            check_private_pem(pem.trim()).unwrap();
            check_private_pem(&format!("{}\n\n", pem.as_str())).unwrap();
        }
    }

    #[test]
    fn pem_round_trips_and_refuses_what_is_not_pem() {
        let der: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let pem = encode_pem(PUBLIC_KEY_LABEL, &der);
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(decode_pem(&pem, &[PUBLIC_KEY_LABEL]).unwrap(), der);
        assert_eq!(
            decode_pem(&pem.replace('\n', "\r\n"), &[PUBLIC_KEY_LABEL]).unwrap(),
            der
        );
        assert!(decode_pem(&pem, &[PRIVATE_KEY_LABEL]).is_err());
        for bad in [
            "",
            "AAAA",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n",
            "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nA*AA\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END PUBLIC KEY-----\n",
        ] {
            assert!(decode_pem(bad, &[PUBLIC_KEY_LABEL]).is_err(), "{bad:?}");
        }
    }
}
