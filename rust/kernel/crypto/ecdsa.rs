// SPDX-License-Identifier: GPL-2.0

//! ECDSA signature verification over NIST P-256 and P-384, through the kernel's `crypto_sig`
//! API (the kernel cannot sign with ECDSA).
//!
//! The bare `ecdsa-nist-p256`/`ecdsa-nist-p384` algorithms take signatures as an internal
//! structure of 64-bit digits; the `x962(...)` template takes X9.62 DER, and the `p1363(...)`
//! template takes the raw big-endian `r || s` that SPDM and IEEE P1363 use. This module uses the
//! `p1363` template. Public keys are the raw affine coordinates `X || Y`.
//!
//! C header: [`include/crypto/sig.h`](srctree/include/crypto/sig.h)
//!
//! # Examples
//!
//! ```
//! use kernel::crypto::{ecdsa::EcdsaVerifier, Curve};
//!
//! // The generator of P-256 as a public key: valid, but nothing below was signed with it.
//! let g = [
//!     0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40,
//!     0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98,
//!     0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c,
//!     0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68,
//!     0x37, 0xbf, 0x51, 0xf5,
//! ];
//! let key = EcdsaVerifier::new(Curve::P256, &g)?;
//! let digest = [0u8; 32];
//! let mut sig = [0u8; 64];
//! sig[31] = 1;
//! sig[63] = 1;
//! assert!(key.verify_digest(&digest, &sig).is_err());
//! // r = 0 is out of range.
//! assert!(key.verify_digest(&digest, &[0u8; 64]).is_err());
//! // Wrong signature length.
//! assert!(key.verify_digest(&digest, &sig[..63]).is_err());
//!
//! // A point off the curve is not a public key.
//! let mut bad = g;
//! bad[63] ^= 1;
//! assert!(EcdsaVerifier::new(Curve::P256, &bad).is_err());
//! # Ok::<(), Error>(())
//! ```

use super::Curve;
use crate::{
    bindings,
    error::{from_err_ptr, to_result},
    prelude::*,
};
use core::ptr::NonNull;

/// Largest raw public key (`0x04 || X || Y` on P-384) in bytes.
const MAX_SEC1_LEN: usize = 1 + 2 * 48;

fn sig_name(curve: Curve) -> &'static core::ffi::CStr {
    match curve {
        Curve::P256 => c"p1363(ecdsa-nist-p256)",
        Curve::P384 => c"p1363(ecdsa-nist-p384)",
    }
}

/// An ECDSA public key in its own signature transform (C `struct crypto_sig`).
///
/// # Invariants
///
/// `tfm` is a `p1363(ecdsa-nist-*)` transform for `curve` with the public key set, owned by this
/// object.
pub struct EcdsaVerifier {
    tfm: NonNull<bindings::crypto_sig>,
    curve: Curve,
}

// SAFETY: The transform is owned by this object; verification only reads it, and the crypto API
// may be called from any thread.
unsafe impl Send for EcdsaVerifier {}
// SAFETY: `crypto_sig_verify()` does not change the transform.
unsafe impl Sync for EcdsaVerifier {}

impl EcdsaVerifier {
    /// Sets up verification with the public key `public` (`X || Y`, big endian,
    /// [`Curve::point_len`] bytes).
    ///
    /// Returns [`EINVAL`] if the length is wrong or the point is not a valid public key of the
    /// curve, or the error of the crypto API if the algorithm is not available.
    pub fn new(curve: Curve, public: &[u8]) -> Result<Self> {
        if public.len() != curve.point_len() {
            return Err(EINVAL);
        }
        // SAFETY: the name is a NUL-terminated string.
        let tfm = from_err_ptr(unsafe {
            bindings::crypto_alloc_sig(sig_name(curve).as_char_ptr(), 0, 0)
        })?;
        // INVARIANT: the key is set below before `Self` is returned; on failure `drop` only
        // frees the transform.
        let this = Self {
            tfm: NonNull::new(tfm).ok_or(ENOMEM)?,
            curve,
        };
        let mut sec1 = [0u8; MAX_SEC1_LEN];
        sec1[0] = 0x04; // Uncompressed point (SEC 1 section 2.3.3).
        sec1[1..=public.len()].copy_from_slice(public);
        // SAFETY: `this.tfm` is a live transform; `sec1` holds `1 + public.len()` bytes.
        to_result(unsafe {
            bindings::crypto_sig_set_pubkey(
                this.tfm.as_ptr(),
                sec1.as_ptr().cast(),
                // CAST: at most `MAX_SEC1_LEN`.
                (1 + public.len()) as u32,
            )
        })?;
        Ok(this)
    }

    /// The curve of this key.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// Verifies the signature `sig` (`r || s`, big endian, each [`Curve::coordinate_len`]
    /// bytes) over the message digest `digest`.
    ///
    /// A digest longer than the curve order is truncated to its leftmost bits (FIPS 186-5
    /// section 6.4.2). Returns [`EKEYREJECTED`] if the signature does not match, [`EBADMSG`] if
    /// `r` or `s` is out of range and [`EINVAL`] if a length is wrong.
    pub fn verify_digest(&self, digest: &[u8], sig: &[u8]) -> Result {
        if sig.len() != 2 * self.curve.coordinate_len() || digest.is_empty() || digest.len() > 64 {
            return Err(EINVAL);
        }
        // SAFETY: `self.tfm` is a live transform with a public key; `sig` and `digest` are valid
        // for reads of their lengths.
        to_result(unsafe {
            bindings::crypto_sig_verify(
                self.tfm.as_ptr(),
                sig.as_ptr().cast(),
                // CAST: both lengths are at most 96, checked above.
                sig.len() as u32,
                digest.as_ptr().cast(),
                digest.len() as u32,
            )
        })
    }
}

impl Drop for EcdsaVerifier {
    fn drop(&mut self) {
        // SAFETY: `self.tfm` came from `crypto_alloc_sig()` and is not used after this.
        unsafe { bindings::crypto_free_sig(self.tfm.as_ptr()) }
    }
}
