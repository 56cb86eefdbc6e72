// SPDX-License-Identifier: GPL-2.0

//! HKDF (RFC 5869) with SHA-256 and SHA-384, built on the HMAC functions of [`super::hmac`]
//! (Linux has no generic HKDF helper).
//!
//! # Examples
//!
//! ```
//! use kernel::crypto::hkdf::{sha256_expand, sha256_extract};
//!
//! // RFC 5869 test case 3: empty salt and info.
//! let prk = sha256_extract(&[], &[0x0b; 22]);
//! assert_eq!(prk[..4], [0x19, 0xef, 0x24, 0xa3]);
//! let mut okm = [0u8; 42];
//! sha256_expand(&prk, &[], &mut okm)?;
//! assert_eq!(okm[..4], [0x8d, 0xa4, 0xe7, 0x75]);
//!
//! // At most 255 blocks.
//! let mut too_long = KVec::from_elem(0u8, 255 * 32 + 1, GFP_KERNEL)?;
//! assert!(sha256_expand(&prk, &[], &mut too_long).is_err());
//! # Ok::<(), Error>(())
//! ```

use super::{
    hmac::{self, HmacSha256Key, HmacSha384Key},
    sha2::{SHA256_DIGEST_LEN, SHA384_DIGEST_LEN},
    zeroize,
};
use crate::prelude::*;

/// HKDF-Extract with SHA-256: the pseudorandom key `HMAC-SHA256(salt, ikm)`.
///
/// An empty `salt` stands for `HashLen` zero bytes (RFC 5869 section 2.2), which HMAC treats
/// the same way.
#[inline]
pub fn sha256_extract(salt: &[u8], ikm: &[u8]) -> [u8; SHA256_DIGEST_LEN] {
    hmac::hmac_sha256(salt, ikm)
}

/// HKDF-Extract with SHA-384: the pseudorandom key `HMAC-SHA384(salt, ikm)`.
#[inline]
pub fn sha384_extract(salt: &[u8], ikm: &[u8]) -> [u8; SHA384_DIGEST_LEN] {
    hmac::hmac_sha384(salt, ikm)
}

macro_rules! expand_impl {
    ($fn:ident, $key:ident, $len:ident, $doc:literal) => {
        #[doc = concat!("HKDF-Expand with ", $doc, ": fills `okm` from the pseudorandom key `prk`")]
        /// and the context `info`.
        ///
        /// Returns [`EINVAL`] if `okm` is longer than 255 blocks of the hash (RFC 5869
        /// section 2.3), or [`ENOMEM`] if the key cannot be prepared.
        pub fn $fn(prk: &[u8], info: &[u8], okm: &mut [u8]) -> Result {
            if okm.len() > 255 * $len {
                return Err(EINVAL);
            }
            let key = $key::new(prk)?;
            let mut t = [0u8; $len];
            let mut t_len = 0;
            for (i, chunk) in okm.chunks_mut($len).enumerate() {
                let mut ctx = key.start()?;
                ctx.update(&t[..t_len]);
                ctx.update(info);
                // CAST: at most 255 chunks, checked above.
                ctx.update(&[(i + 1) as u8]);
                t = ctx.finish();
                t_len = $len;
                chunk.copy_from_slice(&t[..chunk.len()]);
            }
            zeroize(&mut t);
            Ok(())
        }
    };
}

expand_impl!(sha256_expand, HmacSha256Key, SHA256_DIGEST_LEN, "SHA-256");
expand_impl!(sha384_expand, HmacSha384Key, SHA384_DIGEST_LEN, "SHA-384");
