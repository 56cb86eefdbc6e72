// SPDX-License-Identifier: GPL-2.0

//! Cryptography for protocol code: hashes, MACs, key derivation, AEAD, key agreement, signature
//! verification and random bytes, on the kernel's crypto library and crypto API.
//!
//! Each submodule is built when the C code it calls is built in:
//!
//! - [`sha2`], [`hmac`], [`hkdf`]: SHA-256 and SHA-384 of `lib/crypto`
//!   (`CONFIG_CRYPTO_LIB_SHA256`, `CONFIG_CRYPTO_LIB_SHA512`);
//! - [`aes_gcm`]: AES-GCM of `lib/crypto` (`CONFIG_CRYPTO_LIB_AES_GCM`);
//! - [`ecdh`]: ECDH over NIST P-256 and P-384 through the kpp API (`CONFIG_CRYPTO_ECDH`);
//! - [`ecdsa`]: ECDSA P-256 and P-384 signature verification through the `crypto_sig` API
//!   (`CONFIG_CRYPTO_ECDSA`, with `CONFIG_CRYPTO_MANAGER` for the `p1363` template);
//! - [`x509`]: X.509 certificates through the kernel's parser, and checks of the signature that
//!   links a certificate to its issuer (`CONFIG_X509_CERTIFICATE_PARSER`; the signature's hash
//!   comes from the crypto API, e.g. `CONFIG_CRYPTO_SHA512` for ECDSA with SHA-384).
//!
//! Secrets that these types hold (prepared keys, HMAC states, ECDH private keys) are zeroized
//! when they are dropped.
//!
//! Context: functions that return [`Result`](crate::error::Result) allocate with `GFP_KERNEL`
//! (and the ECDH and ECDSA constructors may load an algorithm), so they may sleep; the hash,
//! one-shot HMAC and AES-GCM operations on prepared keys do not allocate and run in any context.
//!
//! C headers: [`include/crypto/sha2.h`](srctree/include/crypto/sha2.h),
//! [`include/crypto/aes-gcm.h`](srctree/include/crypto/aes-gcm.h),
//! [`include/crypto/kpp.h`](srctree/include/crypto/kpp.h),
//! [`include/crypto/sig.h`](srctree/include/crypto/sig.h),
//! [`include/keys/x509-parser.h`](srctree/include/keys/x509-parser.h),
//! [`include/linux/random.h`](srctree/include/linux/random.h)

use crate::bindings;

#[cfg(CONFIG_CRYPTO_LIB_AES_GCM = "y")]
pub mod aes_gcm;
#[cfg(all(CONFIG_CRYPTO_ECDH = "y", CONFIG_CRYPTO_KPP2 = "y"))]
pub mod ecdh;
#[cfg(all(CONFIG_CRYPTO_ECDSA = "y", CONFIG_CRYPTO_SIG2 = "y"))]
pub mod ecdsa;
#[cfg(all(CONFIG_CRYPTO_LIB_SHA256 = "y", CONFIG_CRYPTO_LIB_SHA512 = "y"))]
pub mod hkdf;
#[cfg(all(CONFIG_CRYPTO_LIB_SHA256 = "y", CONFIG_CRYPTO_LIB_SHA512 = "y"))]
pub mod hmac;
#[cfg(all(CONFIG_CRYPTO_LIB_SHA256 = "y", CONFIG_CRYPTO_LIB_SHA512 = "y"))]
pub mod sha2;
#[cfg(all(
    CONFIG_X509_CERTIFICATE_PARSER = "y",
    CONFIG_ASYMMETRIC_PUBLIC_KEY_SUBTYPE = "y"
))]
pub mod x509;

/// A NIST prime curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// P-256 (secp256r1).
    P256,
    /// P-384 (secp384r1).
    P384,
}

impl Curve {
    /// Length of a coordinate, a private key or a shared secret in bytes.
    pub const fn coordinate_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
        }
    }

    /// Length of a raw public key `X || Y` in bytes.
    pub const fn point_len(self) -> usize {
        2 * self.coordinate_len()
    }
}

/// Fills `buf` with random bytes from the kernel's CRNG (C `get_random_bytes()`).
///
/// Early in boot the CRNG may not be seeded yet; key generation for protocols runs long after.
///
/// # Examples
///
/// ```
/// let mut nonce = [0u8; 32];
/// kernel::crypto::random_bytes(&mut nonce);
/// ```
#[inline]
pub fn random_bytes(buf: &mut [u8]) {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    unsafe { bindings::get_random_bytes(buf.as_mut_ptr().cast(), buf.len()) }
}

/// Overwrites `buf` with zeroes in a way the compiler does not optimize away (C
/// `memzero_explicit()`).
///
/// # Examples
///
/// ```
/// let mut secret = [0x5au8; 16];
/// kernel::crypto::zeroize(&mut secret);
/// assert_eq!(secret, [0u8; 16]);
/// ```
#[inline]
pub fn zeroize(buf: &mut [u8]) {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    unsafe { bindings::memzero_explicit(buf.as_mut_ptr().cast(), buf.len()) }
}

/// Compares two byte strings in time that depends only on their lengths.
///
/// Use it to check MACs and authentication tags.
///
/// # Examples
///
/// ```
/// use kernel::crypto::ct_eq;
///
/// assert!(ct_eq(b"tag0", b"tag0"));
/// assert!(!ct_eq(b"tag0", b"tag1"));
/// assert!(!ct_eq(b"tag0", b"tag"));
/// ```
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    // Keep the compiler from turning the loop into an early exit.
    core::hint::black_box(diff) == 0
}

/// Zeroizes `v` in place (C `memzero_explicit()` over its bytes).
///
/// # Safety
///
/// All-zero bytes must be a valid value of `T`, and `T` must not own resources whose release
/// depends on its contents (it is a plain C structure).
#[allow(dead_code)]
pub(crate) unsafe fn zeroize_struct<T>(v: &mut T) {
    // SAFETY: `v` is valid for writes of `size_of::<T>()` bytes; the caller guarantees that
    // all-zero bytes are a valid `T`.
    unsafe { bindings::memzero_explicit(core::ptr::from_mut(v).cast(), core::mem::size_of::<T>()) }
}
