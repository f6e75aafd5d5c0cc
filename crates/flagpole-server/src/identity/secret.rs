//! Secrets: API token text and its verifier, session ids, and password hashes. Nothing
//! here is ever stored or logged in clear: tokens and session ids are kept as SHA-256
//! verifiers (compared in constant time), passwords as Argon2id hashes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The prefix every token Flagpole makes starts with, so secret scanners can find one.
pub const TOKEN_PREFIX: &str = "flagpole_";
/// Characters of a generated token's selector (hex) and secret (hex).
const SELECTOR_HEX: usize = 12;
const SECRET_HEX: usize = 40;

/// `n` random bytes from the operating system, as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The OS random source failing is not something a server can carry on without.
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    hex::encode(buf)
}

/// A new token of `kind`: `flagpole_{kind}_{selector}_{secret}`.
pub fn new_token(kind: &str) -> String {
    format!(
        "{TOKEN_PREFIX}{kind}_{}_{}",
        random_hex(SELECTOR_HEX / 2),
        random_hex(SECRET_HEX / 2)
    )
}

/// SHA-256 of `text`, lowercase hex: the verifier of a token or a session id.
pub fn verifier(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The id a token is found by: the selector of a token Flagpole made, or, for a secret
/// given at creation (an existing Unleash token), `h` and the start of its verifier.
pub fn token_id(text: &str) -> String {
    let mut buf = [0u8; 17];
    lookup_id(text, &digest(text), &mut buf).to_string()
}

/// [`token_id`] from the raw digest, without allocating (the per-request check): the
/// selector, or the hashed id written into `buf`.
pub fn lookup_id<'a>(text: &'a str, digest: &[u8; 32], buf: &'a mut [u8; 17]) -> &'a str {
    if let Some(selector) = selector(text) {
        return selector;
    }
    buf[0] = b'h';
    // 8 bytes always fit 16 hex digits; the result is ASCII.
    let _ = hex::encode_to_slice(&digest[..8], &mut buf[1..]);
    std::str::from_utf8(&buf[..]).unwrap_or("")
}

/// The selector of a `flagpole_{kind}_{selector}_{secret}` token.
fn selector(text: &str) -> Option<&str> {
    let rest = text.strip_prefix(TOKEN_PREFIX)?;
    let mut parts = rest.split('_');
    let (_kind, selector, secret) = (parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (parts.next().is_none() && hex(selector, SELECTOR_HEX) && hex(secret, SECRET_HEX))
        .then_some(selector)
}

/// Whether two verifiers are equal, in time that does not depend on where they differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The verifier of `text` as raw bytes, for [`same`].
pub fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// An Argon2id hash (default parameters: 19 MiB, 2 passes) in PHC string format.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16 bytes encode as a salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// Whether `password` matches a stored PHC hash (an unreadable hash matches nothing).
pub fn check_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_carry_their_kind_and_a_selector() {
        let token = new_token("client");
        assert!(token.starts_with("flagpole_client_"), "{token}");
        let id = token_id(&token);
        assert_eq!(id.len(), SELECTOR_HEX);
        assert!(token.contains(&id));
        assert_ne!(new_token("client"), token);
    }

    #[test]
    fn given_secrets_are_found_by_their_verifier() {
        let text = "default:production.abc123";
        let v = verifier(text);
        assert_eq!(token_id(text), format!("h{}", &v[..16]));
        let mut buf = [0u8; 17];
        assert_eq!(lookup_id(text, &digest(text), &mut buf), token_id(text));
        let made = new_token("admin");
        assert_eq!(lookup_id(&made, &digest(&made), &mut buf), token_id(&made));
        assert!(!token_id(text).contains("abc123"));
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(check_password("correct horse", &hash));
        assert!(!check_password("wrong horse", &hash));
        assert!(!check_password("correct horse", "not a hash"));
    }

    #[test]
    fn comparison_needs_equal_bytes() {
        assert!(same(&digest("a"), &digest("a")));
        assert!(!same(&digest("a"), &digest("b")));
        assert!(!same(b"ab", b"abc"));
    }
}
