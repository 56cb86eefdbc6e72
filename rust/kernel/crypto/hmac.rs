// SPDX-License-Identifier: GPL-2.0

//! HMAC-SHA256 and HMAC-SHA384 (RFC 2104), on the `lib/crypto` library.
//!
//! [`hmac_sha256`] and [`hmac_sha384`] compute a MAC in one go. A key used several times can be
//! prepared once ([`HmacSha256Key`], [`HmacSha384Key`]); a message that arrives in pieces goes
//! through an incremental context ([`HmacSha256`], [`HmacSha384`]). Prepared keys and contexts
//! live in the heap, so moving them leaves no copy of key material behind, and are zeroized when
//! dropped.
//!
//! C header: [`include/crypto/sha2.h`](srctree/include/crypto/sha2.h)
//!
//! # Examples
//!
//! ```
//! use kernel::crypto::hmac::{hmac_sha256, HmacSha256, HmacSha384Key, hmac_sha384};
//!
//! // RFC 4231 test case 2.
//! let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
//! assert_eq!(mac[..4], [0x5b, 0xdc, 0xc1, 0x46]);
//!
//! let mut ctx = HmacSha256::new(b"Jefe")?;
//! ctx.update(b"what do ya want ");
//! ctx.update(b"for nothing?");
//! assert_eq!(ctx.finish(), mac);
//!
//! let key = HmacSha384Key::new(b"Jefe")?;
//! assert_eq!(key.mac(b"what do ya want for nothing?")[..4], [0xaf, 0x45, 0xd2, 0xe3]);
//! assert_eq!(key.mac(b"x"), hmac_sha384(b"Jefe", b"x"));
//! # Ok::<(), Error>(())
//! ```

use super::{
    sha2::{SHA256_DIGEST_LEN, SHA384_DIGEST_LEN},
    zeroize_struct,
};
use crate::{bindings, prelude::*};

macro_rules! hmac_impl {
    ($key:ident, $ctxty:ident, $ckey:ident, $cctx:ident, $len:ident, $prepare:ident, $init:ident,
     $init_raw:ident, $update:ident, $final:ident, $oneshot:ident, $oneshot_raw:ident, $fn:ident,
     $doc:literal) => {
        #[doc = concat!("Computes ", $doc, " of `data` under the raw key `key` in one go.")]
        ///
        /// Keys of any length are accepted.
        #[inline]
        pub fn $fn(key: &[u8], data: &[u8]) -> [u8; $len] {
            let mut out = [0u8; $len];
            // SAFETY: `key` and `data` are valid for reads of their lengths; `out` has room for
            // the MAC.
            unsafe {
                bindings::$oneshot_raw(
                    key.as_ptr(),
                    key.len(),
                    data.as_ptr(),
                    data.len(),
                    out.as_mut_ptr(),
                )
            };
            out
        }

        #[doc = concat!("A key prepared for ", $doc, " (C `struct ", stringify!($ckey), "`).")]
        ///
        /// Zeroized when dropped.
        pub struct $key {
            key: KBox<bindings::$ckey>,
        }

        impl $key {
            /// Prepares the raw key `raw` (any length).
            pub fn new(raw: &[u8]) -> Result<Self> {
                let mut key = KBox::<bindings::$ckey>::zeroed(GFP_KERNEL)?;
                // SAFETY: `key` is valid for writes; `raw` is valid for reads of its length.
                unsafe { bindings::$prepare(&mut *key, raw.as_ptr(), raw.len()) };
                Ok(Self { key })
            }

            #[doc = concat!("Computes ", $doc, " of `data` under this key.")]
            #[inline]
            pub fn mac(&self, data: &[u8]) -> [u8; $len] {
                let mut out = [0u8; $len];
                // SAFETY: `self.key` was prepared by `new`; `data` is valid for reads of its
                // length; `out` has room for the MAC.
                unsafe {
                    bindings::$oneshot(&*self.key, data.as_ptr(), data.len(), out.as_mut_ptr())
                };
                out
            }

            /// Starts an incremental computation under this key.
            pub fn start(&self) -> Result<$ctxty> {
                let mut ctx = KBox::<bindings::$cctx>::zeroed(GFP_KERNEL)?;
                // SAFETY: `ctx` is valid for writes; `self.key` was prepared by `new`.
                unsafe { bindings::$init(&mut *ctx, &*self.key) };
                Ok($ctxty { ctx })
            }
        }

        impl Drop for $key {
            fn drop(&mut self) {
                // SAFETY: the key is a plain C structure of integers.
                unsafe { zeroize_struct(&mut *self.key) };
            }
        }

        #[doc = concat!("An incremental ", $doc, " computation.")]
        ///
        #[doc = concat!("C `struct ", stringify!($cctx), "`; zeroized when dropped or finished.")]
        pub struct $ctxty {
            ctx: KBox<bindings::$cctx>,
        }

        impl $ctxty {
            /// Starts a computation under the raw key `raw` (any length).
            pub fn new(raw: &[u8]) -> Result<Self> {
                let mut ctx = KBox::<bindings::$cctx>::zeroed(GFP_KERNEL)?;
                // SAFETY: `ctx` is valid for writes; `raw` is valid for reads of its length.
                unsafe { bindings::$init_raw(&mut *ctx, raw.as_ptr(), raw.len()) };
                Ok(Self { ctx })
            }

            /// Feeds `data` into the computation.
            #[inline]
            pub fn update(&mut self, data: &[u8]) {
                // SAFETY: `self.ctx` was initialized when `self` was made; `data` is valid for
                // reads of its length.
                unsafe { bindings::$update(&mut *self.ctx, data.as_ptr(), data.len()) }
            }

            /// Finishes the computation and returns the MAC.
            #[inline]
            pub fn finish(mut self) -> [u8; $len] {
                let mut out = [0u8; $len];
                // SAFETY: `self.ctx` was initialized when `self` was made; `out` has room for
                // the MAC. The C function zeroizes the context.
                unsafe { bindings::$final(&mut *self.ctx, out.as_mut_ptr()) };
                out
            }
        }

        impl Drop for $ctxty {
            fn drop(&mut self) {
                // SAFETY: the context is a plain C structure of integers and bytes.
                unsafe { zeroize_struct(&mut *self.ctx) };
            }
        }
    };
}

hmac_impl!(
    HmacSha256Key,
    HmacSha256,
    hmac_sha256_key,
    hmac_sha256_ctx,
    SHA256_DIGEST_LEN,
    hmac_sha256_preparekey,
    hmac_sha256_init,
    hmac_sha256_init_usingrawkey,
    hmac_sha256_update,
    hmac_sha256_final,
    hmac_sha256,
    hmac_sha256_usingrawkey,
    hmac_sha256,
    "HMAC-SHA256"
);
hmac_impl!(
    HmacSha384Key,
    HmacSha384,
    hmac_sha384_key,
    hmac_sha384_ctx,
    SHA384_DIGEST_LEN,
    hmac_sha384_preparekey,
    hmac_sha384_init,
    hmac_sha384_init_usingrawkey,
    hmac_sha384_update,
    hmac_sha384_final,
    hmac_sha384,
    hmac_sha384_usingrawkey,
    hmac_sha384,
    "HMAC-SHA384"
);
