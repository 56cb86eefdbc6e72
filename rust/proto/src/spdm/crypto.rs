// SPDX-License-Identifier: GPL-2.0
//! The crypto provider the SPDM state machines call.
//!
//! Implemented today only outside the kernel, with RustCrypto crates: by
//! the host tests (`tests/common`), the fuzz harness (which wraps that
//! one) and the device model (`tools/tsm-devmodel`). A kernel provider is
//! planned, not written: no kernel crate implements this trait yet. It
//! would sit on `kernel::crypto` (`rust/kernel/crypto`: SHA-384/HMAC
//! library, `aes_gcm_*`, the `ecdh-nist-p384` kpp, `p1363(ecdsa-nist-p384)`
//! verify; HKDF built from HMAC, as 7.3 has no generic HKDF), and could
//! serve the requester only:
//! 7.3 has no ECDSA signing, which [`SpdmCrypto::sign`] (the responder's)
//! needs. The algorithm suite is
//! fixed to SHA-384, ECDSA P-384 (raw `r || s` signatures), ECDHE
//! secp384r1 (raw `X || Y` public keys) and AES-256-GCM.

use super::{AEAD_IV_LEN, AEAD_KEY_LEN, AEAD_TAG_LEN, DHE_LEN, HASH_LEN, SIGNATURE_LEN};

/// Why a crypto operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// A signature did not verify.
    BadSignature,
    /// An HMAC (verify data) did not match.
    BadMac,
    /// AEAD authentication failed.
    DecryptFailed,
    /// A public key or certificate chain is malformed or untrusted.
    BadKey,
    /// The provider could not complete the operation (no entropy, no memory,
    /// unsupported length).
    Failed,
}

/// SHA-384 digest.
pub type Digest = [u8; HASH_LEN];

/// Hash, HMAC, HKDF, AEAD, ECDHE and signature operations.
pub trait SpdmCrypto {
    /// A running SHA-384 computation; cloned to fork a transcript.
    type Hash: Clone;
    /// An ephemeral ECDHE private key, consumed by [`Self::dhe_shared_secret`].
    type DheSecret;

    /// Starts a SHA-384 computation.
    fn hash_new(&self) -> Self::Hash;
    /// Feeds `data` into `hash`.
    fn hash_update(&self, hash: &mut Self::Hash, data: &[u8]);
    /// Finishes the computation.
    fn hash_finish(&self, hash: Self::Hash) -> Digest;

    /// HMAC-SHA-384 of `data` under `key`.
    fn hmac(&self, key: &[u8], data: &[u8]) -> Digest;
    /// HKDF-Extract with SHA-384.
    fn hkdf_extract(&self, salt: &[u8], ikm: &[u8]) -> Digest;
    /// HKDF-Expand with SHA-384 into `out` (at most 255 * 48 bytes).
    fn hkdf_expand(&self, prk: &Digest, info: &[u8], out: &mut [u8]) -> Result<(), CryptoError>;

    /// AES-256-GCM encryption of `buf` in place; returns the tag.
    fn aead_encrypt(
        &self,
        key: &[u8; AEAD_KEY_LEN],
        iv: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], CryptoError>;
    /// AES-256-GCM decryption of `buf` in place; fails unless `tag` verifies.
    fn aead_decrypt(
        &self,
        key: &[u8; AEAD_KEY_LEN],
        iv: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), CryptoError>;

    /// Fills `out` with random bytes (nonces, RandomData).
    fn random(&mut self, out: &mut [u8]) -> Result<(), CryptoError>;

    /// Generates an ephemeral secp384r1 key pair; returns it with the public key `X || Y`.
    fn dhe_generate(&mut self) -> Result<(Self::DheSecret, [u8; DHE_LEN]), CryptoError>;
    /// Computes the shared secret (the X coordinate) with the peer's public key.
    fn dhe_shared_secret(
        &self,
        secret: Self::DheSecret,
        peer: &[u8],
    ) -> Result<[u8; HASH_LEN], CryptoError>;

    /// Signs `data` with this side's private key (ECDSA P-384 over SHA-384(data)).
    fn sign(&mut self, data: &[u8]) -> Result<[u8; SIGNATURE_LEN], CryptoError>;
    /// Accepts the peer's certificate chain (SPDM format: Length, reserved,
    /// RootHash, DER certificates) after validating it, and keeps its leaf
    /// key for [`Self::verify_peer`].
    fn set_peer_cert_chain(&mut self, chain: &[u8]) -> Result<(), CryptoError>;
    /// Verifies the peer's signature over `data` with the leaf key of the
    /// accepted chain.
    fn verify_peer(&self, data: &[u8], signature: &[u8]) -> Result<(), CryptoError>;
}

/// Hashes `data` in one go.
pub fn hash_all<C: SpdmCrypto + ?Sized>(crypto: &C, data: &[u8]) -> Digest {
    let mut h = crypto.hash_new();
    crypto.hash_update(&mut h, data);
    crypto.hash_finish(h)
}

/// Compares two byte strings without an early exit on the first difference.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
