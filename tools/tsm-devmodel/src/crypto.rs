// SPDX-License-Identifier: GPL-2.0
//! The RustCrypto implementation of [`SpdmCrypto`].
//!
//! One provider serves both ends: the device model signs with its leaf key,
//! and a requester (the host tests, or a tool) verifies the device's X.509
//! chain, optionally pinned to a root it trusts, and its signatures.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use p384::ecdsa::signature::{Signer, Verifier};
use p384::ecdsa::{Signature, SigningKey, VerifyingKey};
use p384::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p384::{EncodedPoint, PublicKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest as _, Sha384};
use tsm_proto::spdm::crypto::{CryptoError, Digest, SpdmCrypto};
use tsm_proto::spdm::{AEAD_IV_LEN, AEAD_KEY_LEN, AEAD_TAG_LEN, DHE_LEN, HASH_LEN, SIGNATURE_LEN};

use crate::certs;

/// A random generator: seeded for reproducible runs, else from the OS.
pub fn rng(seed: Option<u64>) -> ChaCha20Rng {
    match seed {
        Some(seed) => ChaCha20Rng::seed_from_u64(seed),
        None => ChaCha20Rng::from_entropy(),
    }
}

/// SHA-384, HMAC/HKDF-SHA-384, AES-256-GCM, ECDHE and ECDSA P-384.
pub struct ModelCrypto {
    rng: ChaCha20Rng,
    signing_key: Option<SigningKey>,
    corrupt_signatures: bool,
    trusted_root: Option<Vec<u8>>,
    peer: Option<VerifyingKey>,
}

impl ModelCrypto {
    /// A provider drawing randomness from `rng`; `signing_key` is the
    /// device's leaf key (a requester has none).
    pub fn new(rng: ChaCha20Rng, signing_key: Option<SigningKey>) -> Self {
        Self {
            rng,
            signing_key,
            corrupt_signatures: false,
            trusted_root: None,
            peer: None,
        }
    }

    /// Accept only peer chains whose root certificate is `root_der`.
    pub fn with_trusted_root(mut self, root_der: Vec<u8>) -> Self {
        self.trusted_root = Some(root_der);
        self
    }

    /// While set, every signature is made and then damaged (fault injection).
    pub fn set_corrupt_signatures(&mut self, on: bool) {
        self.corrupt_signatures = on;
    }
}

impl SpdmCrypto for ModelCrypto {
    type Hash = Sha384;
    type DheSecret = p384::ecdh::EphemeralSecret;

    fn hash_new(&self) -> Sha384 {
        Sha384::new()
    }

    fn hash_update(&self, hash: &mut Sha384, data: &[u8]) {
        hash.update(data);
    }

    fn hash_finish(&self, hash: Sha384) -> Digest {
        hash.finalize().into()
    }

    fn hmac(&self, key: &[u8], data: &[u8]) -> Digest {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match <Hmac<Sha384> as Mac>::new_from_slice(key) {
            Ok(mac) => mac,
            Err(_) => return [0; HASH_LEN],
        };
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    fn hkdf_extract(&self, salt: &[u8], ikm: &[u8]) -> Digest {
        let (prk, _) = Hkdf::<Sha384>::extract(Some(salt), ikm);
        prk.into()
    }

    fn hkdf_expand(&self, prk: &Digest, info: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
        let hkdf = Hkdf::<Sha384>::from_prk(prk).map_err(|_| CryptoError::Failed)?;
        hkdf.expand(info, out).map_err(|_| CryptoError::Failed)
    }

    fn aead_encrypt(
        &self,
        key: &[u8; AEAD_KEY_LEN],
        iv: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], CryptoError> {
        let cipher = Aes256Gcm::new(key.into());
        let tag = cipher
            .encrypt_in_place_detached(&Nonce::from(*iv), aad, buf)
            .map_err(|_| CryptoError::Failed)?;
        Ok(tag.into())
    }

    fn aead_decrypt(
        &self,
        key: &[u8; AEAD_KEY_LEN],
        iv: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), CryptoError> {
        let cipher = Aes256Gcm::new(key.into());
        cipher
            .decrypt_in_place_detached(&Nonce::from(*iv), aad, buf, &Tag::from(*tag))
            .map_err(|_| CryptoError::DecryptFailed)
    }

    fn random(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        self.rng.fill_bytes(out);
        Ok(())
    }

    fn dhe_generate(&mut self) -> Result<(Self::DheSecret, [u8; DHE_LEN]), CryptoError> {
        let secret = p384::ecdh::EphemeralSecret::random(&mut self.rng);
        let point = secret.public_key().to_encoded_point(false);
        // Uncompressed SEC1: 0x04 || X || Y; SPDM carries X || Y.
        let xy = point.as_bytes().get(1..).ok_or(CryptoError::Failed)?;
        let xy: [u8; DHE_LEN] = xy.try_into().map_err(|_| CryptoError::Failed)?;
        Ok((secret, xy))
    }

    fn dhe_shared_secret(
        &self,
        secret: Self::DheSecret,
        peer: &[u8],
    ) -> Result<[u8; HASH_LEN], CryptoError> {
        if peer.len() != DHE_LEN {
            return Err(CryptoError::BadKey);
        }
        let mut sec1 = [0u8; DHE_LEN + 1];
        sec1[0] = 0x04;
        sec1[1..].copy_from_slice(peer);
        let point = EncodedPoint::from_bytes(sec1).map_err(|_| CryptoError::BadKey)?;
        let public = Option::<PublicKey>::from(PublicKey::from_encoded_point(&point))
            .ok_or(CryptoError::BadKey)?;
        let shared = secret.diffie_hellman(&public);
        Ok((*shared.raw_secret_bytes()).into())
    }

    fn sign(&mut self, data: &[u8]) -> Result<[u8; SIGNATURE_LEN], CryptoError> {
        let key = self.signing_key.as_ref().ok_or(CryptoError::BadKey)?;
        let signature: Signature = key.try_sign(data).map_err(|_| CryptoError::Failed)?;
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(&signature.to_bytes());
        if self.corrupt_signatures {
            // Flip the low bit of s: still a well-formed scalar, wrong signature.
            out[SIGNATURE_LEN - 1] ^= 0x01;
        }
        Ok(out)
    }

    fn set_peer_cert_chain(&mut self, chain: &[u8]) -> Result<(), CryptoError> {
        let leaf = certs::verify_spdm_chain(chain, self.trusted_root.as_deref())
            .map_err(|_| CryptoError::BadKey)?;
        self.peer = Some(leaf);
        Ok(())
    }

    fn verify_peer(&self, data: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        let key = self.peer.as_ref().ok_or(CryptoError::BadKey)?;
        let signature = Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
        key.verify(data, &signature)
            .map_err(|_| CryptoError::BadSignature)
    }
}
