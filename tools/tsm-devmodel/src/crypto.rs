// SPDX-License-Identifier: GPL-2.0
//! The device model's [`SpdmCrypto`](tsm_proto::spdm::crypto::SpdmCrypto)
//! provider: the shared RustCrypto provider (`tsm-spdm-rustcrypto`) with
//! the model's hooks.
//!
//! One provider serves both ends: the device model signs with its leaf key,
//! and a requester (the host tests, or a tool) verifies the device's X.509
//! chain, optionally pinned to a root it trusts, and its signatures.

use tsm_proto::spdm::crypto::{AsymAlgo, CryptoError, HashAlgo};
use tsm_spdm_rustcrypto::{Hooks, RustCrypto, VerifyingKey};

use crate::certs;

pub use tsm_spdm_rustcrypto::rng;

/// SHA-256/384, HMAC/HKDF, AES-128/256-GCM, ECDHE and ECDSA P-256/P-384,
/// with X.509 peer chains and signature fault injection ([`ModelHooks`]).
/// `ModelCrypto::new(rng, signing_key)`; `signing_key` is the device's
/// leaf key (a requester has none).
pub type ModelCrypto = RustCrypto<ModelHooks>;

/// What the device model adds to the shared provider.
#[derive(Clone, Debug, Default)]
pub struct ModelHooks {
    /// While set, every signature is made and then damaged (fault injection).
    pub corrupt_signatures: bool,
    /// Accept only peer chains whose root certificate is this (DER).
    pub trusted_root: Option<Vec<u8>>,
}

impl Hooks for ModelHooks {
    fn peer_leaf_key(
        &self,
        asym: AsymAlgo,
        hash: HashAlgo,
        chain: &[u8],
    ) -> Result<VerifyingKey, CryptoError> {
        let key = certs::verify_spdm_chain(chain, hash, self.trusted_root.as_deref())
            .map_err(|_| CryptoError::BadKey)?;
        if key.asym() != asym {
            return Err(CryptoError::BadKey);
        }
        Ok(key)
    }

    fn signed(&mut self, signature: &mut [u8]) {
        if self.corrupt_signatures {
            // Flip the low bit of s: still a well-formed scalar, wrong signature.
            if let Some(last) = signature.last_mut() {
                *last ^= 0x01;
            }
        }
    }
}
