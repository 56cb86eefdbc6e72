// SPDX-License-Identifier: GPL-2.0
//! The crypto provider the SPDM state machines call.
//!
//! Every operation whose result depends on an algorithm takes the
//! negotiated one as a parameter ([`HashAlgo`], [`AsymAlgo`], [`DheGroup`],
//! [`AeadAlgo`]), and variable-size results come back in fixed-capacity
//! values sized for the largest supported suite ([`Digest`],
//! [`DhePublicKey`], [`SharedSecret`], [`Signature`]). A provider says
//! what it can do with [`SpdmCrypto::supported`]; the requester and the
//! responder offer or select only algorithms in that set (and in their
//! configuration), so a provider is never asked for anything else.
//!
//! Supported algorithms: SHA-256 and SHA-384 (with HMAC and HKDF), ECDSA
//! P-256 and P-384 (raw `r || s` signatures over the negotiated hash of
//! the signed data), ECDHE secp256r1 and secp384r1 (raw `X || Y` public
//! keys, the X coordinate as shared secret), AES-128-GCM and AES-256-GCM
//! (12-byte IV, 16-byte tag).
//!
//! Two providers implement it. Outside the kernel, RustCrypto crates
//! (`tools/spdm-rustcrypto`), for the host tests (`tests/common`), the
//! fuzz harness and the device model (`tools/tsm-devmodel`). In the
//! kernel, `KernelCrypto` of the `tsm_spdm` crate (`rust/tsm_spdm`) on
//! `kernel::crypto`: the SHA-2/HMAC library, `aes_gcm_*`, the
//! `ecdh-nist-p256/p384` kpp, `p1363(ecdsa-nist-p256/p384)` verification,
//! HKDF built from HMAC (7.3 has no generic HKDF), and the kernel's X.509
//! parser for the peer's chain. It serves requesters only: 7.3 has no ECDSA
//! signing, which [`SpdmCrypto::sign`] (the responder's) needs.

pub use super::algo::{
    AeadAlgo, Algorithms, AsymAlgo, DheGroup, HashAlgo, Supported, AEAD_IV_LEN, AEAD_TAG_LEN,
    MAX_AEAD_KEY_LEN, MAX_DHE_LEN, MAX_HASH_LEN, MAX_SHARED_SECRET_LEN, MAX_SIGNATURE_LEN,
};

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
    /// unsupported algorithm or length).
    Failed,
}

/// Defines a fixed-capacity byte string type: `len` valid bytes at the
/// start of `bytes`, the rest zero.
macro_rules! fixed_bytes {
    ($(#[$doc:meta])* $name:ident, $cap:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name {
            len: usize,
            bytes: [u8; $cap],
        }

        impl $name {
            /// Capacity in bytes.
            pub const CAPACITY: usize = $cap;

            /// A copy of `bytes`; fails if they exceed the capacity.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
                let mut out = Self::zeroed(bytes.len())?;
                out.as_mut_slice().copy_from_slice(bytes);
                Ok(out)
            }

            /// `len` zero bytes, for a provider to fill through
            /// [`Self::as_mut_slice`]; fails if `len` exceeds the capacity.
            pub fn zeroed(len: usize) -> Result<Self, CryptoError> {
                if len > $cap {
                    return Err(CryptoError::Failed);
                }
                Ok(Self {
                    len,
                    bytes: [0; $cap],
                })
            }

            /// The valid bytes.
            pub fn as_slice(&self) -> &[u8] {
                self.bytes.get(..self.len).unwrap_or(&[])
            }

            /// The valid bytes, writable.
            pub fn as_mut_slice(&mut self) -> &mut [u8] {
                self.bytes.get_mut(..self.len).unwrap_or(&mut [])
            }

            /// Number of valid bytes.
            pub fn len(&self) -> usize {
                self.len
            }

            /// Whether there are no valid bytes.
            pub fn is_empty(&self) -> bool {
                self.len == 0
            }
        }

        impl Default for $name {
            /// No valid bytes.
            fn default() -> Self {
                Self {
                    len: 0,
                    bytes: [0; $cap],
                }
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                self.as_slice()
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.as_slice() == other.as_slice()
            }
        }

        impl Eq for $name {}

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                for b in self.as_slice() {
                    write!(f, "{b:02x}")?;
                }
                write!(f, ")")
            }
        }
    };
}

fixed_bytes!(
    /// A hash, HMAC or HKDF-Extract output: H bytes of the negotiated hash
    /// (32 for SHA-256, 48 for SHA-384).
    Digest,
    MAX_HASH_LEN
);
fixed_bytes!(
    /// An ephemeral DHE public key as SPDM carries it, `X || Y` (64 bytes
    /// for secp256r1, 96 for secp384r1).
    DhePublicKey,
    MAX_DHE_LEN
);
fixed_bytes!(
    /// A DHE shared secret, the X coordinate of the shared point (32 or 48
    /// bytes).
    SharedSecret,
    MAX_SHARED_SECRET_LEN
);
fixed_bytes!(
    /// A raw ECDSA signature `r || s` (64 bytes for P-256, 96 for P-384).
    Signature,
    MAX_SIGNATURE_LEN
);

/// Hash, HMAC, HKDF, AEAD, ECDHE and signature operations.
///
/// The state machines call each method only with algorithms in
/// [`Self::supported`], and pass buffers of the sizes the algorithm
/// implies (a provider still checks them: a mismatch is
/// [`CryptoError::Failed`] or [`CryptoError::BadKey`], never a panic).
pub trait SpdmCrypto {
    /// A running hash computation of the algorithm it was started with;
    /// cloned to fork a transcript.
    type Hash: Clone;
    /// An ephemeral DHE private key, consumed by [`Self::dhe_shared_secret`].
    type DheSecret;

    /// The algorithms this provider implements (for a responder: signs
    /// with), in DSP0274 bit encoding.
    fn supported(&self) -> Supported;

    /// Starts a hash computation with `alg`.
    fn hash_new(&self, alg: HashAlgo) -> Self::Hash;
    /// Feeds `data` into `hash`.
    fn hash_update(&self, hash: &mut Self::Hash, data: &[u8]);
    /// Finishes the computation: a digest of the length of its algorithm.
    fn hash_finish(&self, hash: Self::Hash) -> Digest;

    /// HMAC-`alg` of `data` under `key`.
    fn hmac(&self, alg: HashAlgo, key: &[u8], data: &[u8]) -> Result<Digest, CryptoError>;
    /// HKDF-Extract with `alg`: the pseudorandom key (H bytes).
    fn hkdf_extract(&self, alg: HashAlgo, salt: &[u8], ikm: &[u8]) -> Result<Digest, CryptoError>;
    /// HKDF-Expand with `alg` of `prk` (H bytes) into `out` (at most
    /// 255 * H bytes).
    fn hkdf_expand(
        &self,
        alg: HashAlgo,
        prk: &[u8],
        info: &[u8],
        out: &mut [u8],
    ) -> Result<(), CryptoError>;

    /// `alg` encryption of `buf` in place under `key` (`alg.key_len()`
    /// bytes); returns the tag.
    fn aead_encrypt(
        &self,
        alg: AeadAlgo,
        key: &[u8],
        iv: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], CryptoError>;
    /// `alg` decryption of `buf` in place; fails unless `tag` verifies.
    fn aead_decrypt(
        &self,
        alg: AeadAlgo,
        key: &[u8],
        iv: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), CryptoError>;

    /// Fills `out` with random bytes (nonces, RandomData).
    fn random(&mut self, out: &mut [u8]) -> Result<(), CryptoError>;

    /// Generates an ephemeral key pair in `group`; returns it with the
    /// public key `X || Y` (`group.public_len()` bytes).
    fn dhe_generate(
        &mut self,
        group: DheGroup,
    ) -> Result<(Self::DheSecret, DhePublicKey), CryptoError>;
    /// Computes the shared secret (the X coordinate,
    /// `group.shared_secret_len()` bytes) of `secret` and the peer's public
    /// key `X || Y`; a peer key that is not a point of `group` is
    /// [`CryptoError::BadKey`].
    fn dhe_shared_secret(
        &self,
        group: DheGroup,
        secret: Self::DheSecret,
        peer: &[u8],
    ) -> Result<SharedSecret, CryptoError>;

    /// Signs `data` with this side's private key: `asym` over
    /// `hash(data)`, raw `r || s` (`asym.signature_len()` bytes).
    fn sign(
        &mut self,
        asym: AsymAlgo,
        hash: HashAlgo,
        data: &[u8],
    ) -> Result<Signature, CryptoError>;
    /// Accepts the peer's certificate chain (SPDM format: Length(2),
    /// Reserved(2), RootHash(H of `hash`), DER certificates) after
    /// validating it, and keeps its leaf key, which must be an `asym` key,
    /// for [`Self::verify_peer`].
    fn set_peer_cert_chain(
        &mut self,
        asym: AsymAlgo,
        hash: HashAlgo,
        chain: &[u8],
    ) -> Result<(), CryptoError>;
    /// Verifies the peer's `asym` signature (`r || s`) over `hash(data)`
    /// with the leaf key of the accepted chain.
    fn verify_peer(
        &self,
        asym: AsymAlgo,
        hash: HashAlgo,
        data: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError>;
}

/// Hashes `data` in one go with `alg`.
pub fn hash_all<C: SpdmCrypto + ?Sized>(crypto: &C, alg: HashAlgo, data: &[u8]) -> Digest {
    let mut h = crypto.hash_new(alg);
    crypto.hash_update(&mut h, data);
    crypto.hash_finish(h)
}

/// Compares two byte strings without an early exit on the first difference.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
