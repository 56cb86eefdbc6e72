// SPDX-License-Identifier: GPL-2.0

//! SHA-256 and SHA-384 (FIPS 180-4), incremental and one-shot, on the `lib/crypto` library.
//!
//! C header: [`include/crypto/sha2.h`](srctree/include/crypto/sha2.h)
//!
//! # Examples
//!
//! ```
//! use kernel::crypto::sha2::{Sha256, Sha384};
//!
//! // FIPS 180-2 appendix B.1 and D.1: the message "abc".
//! let mut h = Sha256::new();
//! h.update(b"a");
//! let fork = h.clone();
//! h.update(b"bc");
//! assert_eq!(h.finish(), Sha256::digest(b"abc"));
//! assert_eq!(Sha256::digest(b"abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
//! assert_eq!(fork.finish(), Sha256::digest(b"a"));
//! assert_eq!(Sha384::digest(b"abc")[..4], [0xcb, 0x00, 0x75, 0x3f]);
//! ```

use crate::bindings;

/// Length of a SHA-256 digest in bytes.
pub const SHA256_DIGEST_LEN: usize = 32;
/// Length of a SHA-384 digest in bytes.
pub const SHA384_DIGEST_LEN: usize = 48;

macro_rules! sha2_impl {
    ($name:ident, $ctx:ident, $len:ident, $init:ident, $update:ident, $final:ident,
     $oneshot:ident, $doc:literal) => {
        #[doc = concat!("A running ", $doc, " computation (C `struct ", stringify!($ctx), "`).")]
        ///
        /// Cloning forks the computation, e.g. to hash a transcript up to several points.
        #[derive(Clone)]
        pub struct $name {
            ctx: bindings::$ctx,
        }

        impl $name {
            #[doc = concat!("Starts a ", $doc, " computation.")]
            #[inline]
            pub fn new() -> Self {
                // SAFETY: `sha*_ctx` is a plain C structure of integers and bytes.
                let mut ctx: bindings::$ctx = unsafe { core::mem::zeroed() };
                // SAFETY: `ctx` is valid for writes.
                unsafe { bindings::$init(&mut ctx) };
                Self { ctx }
            }

            /// Feeds `data` into the computation.
            #[inline]
            pub fn update(&mut self, data: &[u8]) {
                // SAFETY: `self.ctx` was initialized by `new`; `data` is valid for reads of
                // `data.len()` bytes.
                unsafe { bindings::$update(&mut self.ctx, data.as_ptr(), data.len()) }
            }

            /// Finishes the computation and returns the digest.
            #[inline]
            pub fn finish(mut self) -> [u8; $len] {
                let mut out = [0u8; $len];
                // SAFETY: `self.ctx` was initialized by `new`; `out` has room for the digest.
                unsafe { bindings::$final(&mut self.ctx, out.as_mut_ptr()) };
                out
            }

            #[doc = concat!("Computes the ", $doc, " digest of `data` in one go.")]
            #[inline]
            pub fn digest(data: &[u8]) -> [u8; $len] {
                let mut out = [0u8; $len];
                // SAFETY: `data` is valid for reads of `data.len()` bytes; `out` has room for
                // the digest.
                unsafe { bindings::$oneshot(data.as_ptr(), data.len(), out.as_mut_ptr()) };
                out
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}

sha2_impl!(
    Sha256,
    sha256_ctx,
    SHA256_DIGEST_LEN,
    sha256_init,
    sha256_update,
    sha256_final,
    sha256,
    "SHA-256"
);
sha2_impl!(
    Sha384,
    sha384_ctx,
    SHA384_DIGEST_LEN,
    sha384_init,
    sha384_update,
    sha384_final,
    sha384,
    "SHA-384"
);
