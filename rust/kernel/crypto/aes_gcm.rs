// SPDX-License-Identifier: GPL-2.0

//! AES-GCM (NIST SP 800-38D) with 128-, 192- and 256-bit keys, 96-bit nonces and 128-bit tags, on
//! the `lib/crypto` library.
//!
//! C header: [`include/crypto/aes-gcm.h`](srctree/include/crypto/aes-gcm.h)
//!
//! # Examples
//!
//! ```
//! use kernel::crypto::aes_gcm::AesGcmKey;
//!
//! let key = AesGcmKey::new(&[0x42; 32])?;
//! let nonce = [7u8; 12];
//! let mut buf = *b"attack at dawn";
//! let tag = key.encrypt(&nonce, b"header", &mut buf);
//! assert_ne!(&buf, b"attack at dawn");
//!
//! // A wrong tag fails and leaves no plaintext behind.
//! let mut copy = buf;
//! let mut bad_tag = tag;
//! bad_tag[0] ^= 1;
//! assert_eq!(key.decrypt(&nonce, b"header", &mut copy, &bad_tag), Err(EBADMSG));
//! assert_eq!(copy, [0u8; 14]);
//!
//! key.decrypt(&nonce, b"header", &mut buf, &tag)?;
//! assert_eq!(&buf, b"attack at dawn");
//!
//! // Only 16-, 24- and 32-byte keys exist.
//! assert!(AesGcmKey::new(&[0; 20]).is_err());
//! # Ok::<(), Error>(())
//! ```

use super::{zeroize, zeroize_struct};
use crate::{bindings, error::to_result, prelude::*};

/// Length of a nonce in bytes.
pub const NONCE_LEN: usize = 12;
/// Length of an authentication tag in bytes.
pub const TAG_LEN: usize = 16;

/// An AES-GCM key expanded for encryption and decryption (C `struct aes_gcm_key`), with 16-byte
/// tags.
///
/// It lives in the heap, so moving it leaves no copy behind, and is zeroized when dropped.
pub struct AesGcmKey {
    key: KBox<bindings::aes_gcm_key>,
}

impl AesGcmKey {
    /// Expands the raw key `raw`: 16, 24 or 32 bytes (AES-128, AES-192, AES-256).
    ///
    /// Returns [`EINVAL`] for other lengths and [`ENOMEM`] if no memory is available.
    pub fn new(raw: &[u8]) -> Result<Self> {
        if !matches!(raw.len(), 16 | 24 | 32) {
            return Err(EINVAL);
        }
        let mut key = KBox::<bindings::aes_gcm_key>::zeroed(GFP_KERNEL)?;
        // SAFETY: `key` is valid for writes; `raw` is valid for reads of its length.
        to_result(unsafe {
            bindings::aes_gcm_preparekey(&mut *key, raw.as_ptr(), raw.len(), TAG_LEN)
        })?;
        Ok(Self { key })
    }

    /// Encrypts `buf` in place with associated data `aad` under `nonce` and returns the tag.
    ///
    /// Every (key, nonce) pair must be used at most once.
    #[inline]
    pub fn encrypt(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        let mut tag = [0u8; TAG_LEN];
        let data = buf.as_mut_ptr();
        // SAFETY: `self.key` was prepared by `new`; `buf` is valid for reads and writes of its
        // length (in-place operation is allowed); `aad` is valid for reads of its length; `tag`
        // has room for `TAG_LEN` bytes, the tag length the key was prepared with; `nonce` has 12
        // bytes.
        unsafe {
            bindings::aes_gcm_encrypt(
                data,
                data,
                buf.len(),
                tag.as_mut_ptr(),
                aad.as_ptr(),
                aad.len(),
                nonce.as_ptr(),
                &*self.key,
            )
        };
        tag
    }

    /// Decrypts `buf` in place with associated data `aad` under `nonce`, checking `tag`.
    ///
    /// Returns [`EBADMSG`] if the message is not authentic; `buf` is then zeroed, so no
    /// unauthenticated plaintext is left in it.
    pub fn decrypt(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result {
        let data = buf.as_mut_ptr();
        // SAFETY: `self.key` was prepared by `new`; `buf` is valid for reads and writes of its
        // length (in-place operation is allowed); `aad` is valid for reads of its length; `tag`
        // has `TAG_LEN` bytes, the tag length the key was prepared with; `nonce` has 12 bytes.
        let ret = unsafe {
            bindings::aes_gcm_decrypt(
                data,
                data,
                buf.len(),
                tag.as_ptr(),
                aad.as_ptr(),
                aad.len(),
                nonce.as_ptr(),
                &*self.key,
            )
        };
        if ret != 0 {
            zeroize(buf);
        }
        to_result(ret)
    }
}

impl Drop for AesGcmKey {
    fn drop(&mut self) {
        // SAFETY: the key is a plain C structure of integers and bytes.
        unsafe { zeroize_struct(&mut *self.key) };
    }
}
