// SPDX-License-Identifier: GPL-2.0

//! Elliptic-curve Diffie-Hellman over NIST P-256 and P-384, through the kernel's kpp API
//! (`ecdh-nist-p256`, `ecdh-nist-p384`).
//!
//! Public keys are the raw affine coordinates `X || Y`, big endian, without the SEC 1 `0x04`
//! prefix; the shared secret is the X coordinate of the shared point (SEC 1 section 3.3.1, the
//! "ECC CDH primitive").
//!
//! C headers: [`include/crypto/kpp.h`](srctree/include/crypto/kpp.h),
//! [`include/crypto/ecdh.h`](srctree/include/crypto/ecdh.h)
//!
//! # Examples
//!
//! ```
//! use kernel::crypto::{ecdh::EcdhKey, Curve};
//!
//! let alice = EcdhKey::generate(Curve::P384)?;
//! let bob = EcdhKey::generate(Curve::P384)?;
//! let mut alice_pub = [0u8; 96];
//! let mut bob_pub = [0u8; 96];
//! alice.public_key(&mut alice_pub)?;
//! bob.public_key(&mut bob_pub)?;
//!
//! let mut s1 = [0u8; 48];
//! let mut s2 = [0u8; 48];
//! alice.shared_secret(&bob_pub, &mut s1)?;
//! bob.shared_secret(&alice_pub, &mut s2)?;
//! assert_eq!(s1, s2);
//!
//! // A point that is not on the curve is refused.
//! let mut bad = bob_pub;
//! bad[95] ^= 1;
//! assert!(alice.shared_secret(&bad, &mut s1).is_err());
//! # Ok::<(), Error>(())
//! ```

use super::{zeroize, Curve};
use crate::{
    bindings,
    error::{from_err_ptr, to_result},
    prelude::*,
};
use core::ptr::NonNull;

/// An ECDH private key in its own kpp transform (C `struct crypto_kpp`).
///
/// The crypto API frees the transform with `kfree_sensitive()`, which zeroizes the private key.
///
/// # Invariants
///
/// `tfm` is a synchronous kpp transform for `curve`, with a private key set, owned by this
/// object.
pub struct EcdhKey {
    tfm: NonNull<bindings::crypto_kpp>,
    curve: Curve,
}

// SAFETY: The transform is owned by this object and its private key is only read by operations;
// the crypto API may be called from any thread.
unsafe impl Send for EcdhKey {}
// SAFETY: Operations through `&EcdhKey` each use their own request and only read the key.
unsafe impl Sync for EcdhKey {}

/// A kpp request, freed (and zeroized) when dropped.
struct Request(NonNull<bindings::kpp_request>);

impl Drop for Request {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `kpp_request_alloc()` and is not used after this.
        unsafe { bindings::kpp_request_free(self.0.as_ptr()) }
    }
}

fn kpp_name(curve: Curve) -> &'static core::ffi::CStr {
    match curve {
        Curve::P256 => c"ecdh-nist-p256",
        Curve::P384 => c"ecdh-nist-p384",
    }
}

impl EcdhKey {
    fn alloc(curve: Curve) -> Result<NonNull<bindings::crypto_kpp>> {
        // SAFETY: the name is a NUL-terminated string. Masking `CRYPTO_ALG_ASYNC` with type 0
        // asks for a synchronous implementation.
        let tfm = from_err_ptr(unsafe {
            bindings::crypto_alloc_kpp(kpp_name(curve).as_char_ptr(), 0, bindings::CRYPTO_ALG_ASYNC)
        })?;
        NonNull::new(tfm).ok_or(ENOMEM)
    }

    fn with_secret(curve: Curve, private: &[u8]) -> Result<Self> {
        let tfm = Self::alloc(curve)?;
        // INVARIANT: the private key is set below before `Self` is returned; on failure `drop`
        // only frees the transform.
        let key = Self { tfm, curve };
        let params = bindings::ecdh {
            key: private.as_ptr().cast_mut().cast(),
            // CAST: at most the coordinate length, checked by the callers.
            key_size: private.len() as u16,
        };
        // SAFETY: `params` is a valid `struct ecdh`.
        let len = unsafe { bindings::crypto_ecdh_key_len(&params) };
        let mut buf = KVec::from_elem(0u8, len as usize, GFP_KERNEL)?;
        let out = buf.as_mut_ptr().cast();
        // SAFETY: `out` is valid for writes of `len` bytes; `params.key` points to `key_size`
        // readable bytes (or none).
        let ret = unsafe { bindings::crypto_ecdh_encode_key(out, len, &params) };
        let ret = to_result(ret).and_then(|()| {
            // SAFETY: `key.tfm` is a live kpp transform; `buf` holds `len` bytes.
            to_result(unsafe {
                bindings::crypto_kpp_set_secret(key.tfm.as_ptr(), buf.as_ptr().cast(), len)
            })
        });
        zeroize(&mut buf);
        ret.map(|()| key)
    }

    /// Generates a fresh private key on `curve` from the kernel's CRNG.
    pub fn generate(curve: Curve) -> Result<Self> {
        Self::with_secret(curve, &[])
    }

    /// Takes the private key `private` (big endian, exactly [`Curve::coordinate_len`] bytes),
    /// e.g. for known-answer tests.
    ///
    /// Returns [`EINVAL`] if the length is wrong or the key is not in `[1, n - 1]`.
    pub fn from_private(curve: Curve, private: &[u8]) -> Result<Self> {
        if private.len() != curve.coordinate_len() {
            return Err(EINVAL);
        }
        Self::with_secret(curve, private)
    }

    /// The curve of this key.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// Runs one kpp operation: `input` (or none) in, `out.len()` bytes out.
    fn run(&self, input: Option<&[u8]>, out: &mut [u8], shared: bool) -> Result {
        // SAFETY: `self.tfm` is a live kpp transform.
        let req = unsafe { bindings::kpp_request_alloc(self.tfm.as_ptr(), bindings::GFP_KERNEL) };
        let req = Request(NonNull::new(req).ok_or(ENOMEM)?);

        // The scatterlists must point into the linear map: copy through the heap.
        let mut src = match input {
            Some(input) => {
                let mut v = KVec::with_capacity(input.len(), GFP_KERNEL)?;
                v.extend_from_slice(input, GFP_KERNEL)?;
                v
            }
            None => KVec::new(),
        };
        let mut dst = KVec::from_elem(0u8, out.len(), GFP_KERNEL)?;
        // SAFETY: all-zero bytes are a valid `struct scatterlist`.
        let mut sg_src: bindings::scatterlist = unsafe { core::mem::zeroed() };
        // SAFETY: as above.
        let mut sg_dst: bindings::scatterlist = unsafe { core::mem::zeroed() };

        // SAFETY: `req` is a live request; `dst` is a heap buffer of `dst.len()` bytes that
        // outlives the synchronous operation below, as does `src`.
        let ret = unsafe {
            // CAST: both lengths are at most a point, 96 bytes.
            bindings::sg_init_one(&mut sg_dst, dst.as_ptr().cast(), dst.len() as u32);
            bindings::kpp_request_set_output(req.0.as_ptr(), &mut sg_dst, dst.len() as u32);
            bindings::kpp_request_set_callback(req.0.as_ptr(), 0, None, core::ptr::null_mut());
            if input.is_some() {
                bindings::sg_init_one(&mut sg_src, src.as_ptr().cast(), src.len() as u32);
                bindings::kpp_request_set_input(req.0.as_ptr(), &mut sg_src, src.len() as u32);
            } else {
                bindings::kpp_request_set_input(req.0.as_ptr(), core::ptr::null_mut(), 0);
            }
            if shared {
                bindings::crypto_kpp_compute_shared_secret(req.0.as_ptr())
            } else {
                bindings::crypto_kpp_generate_public_key(req.0.as_ptr())
            }
        };
        let ret = to_result(ret);
        if ret.is_ok() {
            out.copy_from_slice(&dst);
        }
        zeroize(&mut dst);
        zeroize(&mut src);
        ret
    }

    /// Writes the public key `X || Y` into `out`, which must be [`Curve::point_len`] bytes.
    pub fn public_key(&self, out: &mut [u8]) -> Result {
        if out.len() != self.curve.point_len() {
            return Err(EINVAL);
        }
        self.run(None, out, false)
    }

    /// Computes the shared secret (the X coordinate of the shared point) with the peer's public
    /// key `peer` (`X || Y`, [`Curve::point_len`] bytes) into `out` ([`Curve::coordinate_len`]
    /// bytes).
    ///
    /// Returns [`EINVAL`] if a length is wrong or `peer` is not a valid point of the curve.
    pub fn shared_secret(&self, peer: &[u8], out: &mut [u8]) -> Result {
        if peer.len() != self.curve.point_len() || out.len() != self.curve.coordinate_len() {
            return Err(EINVAL);
        }
        self.run(Some(peer), out, true)
    }
}

impl Drop for EcdhKey {
    fn drop(&mut self) {
        // SAFETY: `self.tfm` came from `crypto_alloc_kpp()` and is not used after this.
        unsafe { bindings::crypto_free_kpp(self.tfm.as_ptr()) }
    }
}
