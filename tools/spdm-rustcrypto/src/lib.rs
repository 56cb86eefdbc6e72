// SPDX-License-Identifier: GPL-2.0
//! The RustCrypto implementation of [`SpdmCrypto`] for host-side code: the
//! `tsm-proto` integration tests, the fuzz harness and the device model.
//!
//! [`RustCrypto`] does the cryptography; a [`Hooks`] value lets each user
//! decide how a peer chain is checked and observe or damage what is
//! signed and sealed, without re-implementing the provider.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

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

pub use p384;
pub use rand_chacha::ChaCha20Rng as Rng;

/// A random generator: seeded for reproducible runs, else from the OS.
pub fn rng(seed: Option<u64>) -> ChaCha20Rng {
    match seed {
        Some(seed) => ChaCha20Rng::seed_from_u64(seed),
        None => ChaCha20Rng::from_entropy(),
    }
}

/// What a user of [`RustCrypto`] adds to the plain provider.
pub trait Hooks {
    /// The leaf public key of a peer's SPDM certificate chain
    /// (Length(2), Reserved(2), RootHash(48), certificates), or an error
    /// if the chain is not acceptable. The default reads a
    /// [`raw_key_chain`].
    fn peer_leaf_key(&self, chain: &[u8]) -> Result<VerifyingKey, CryptoError> {
        raw_key_chain_leaf(chain)
    }

    /// Sees (and may change) every signature before `sign` returns it.
    fn signed(&mut self, _signature: &mut [u8; SIGNATURE_LEN]) {}

    /// Sees every AEAD encryption before it happens: the key, the record
    /// nonce and the plaintext.
    fn sealing(&self, _key: &[u8; AEAD_KEY_LEN], _nonce: &[u8; AEAD_IV_LEN], _plain: &[u8]) {}
}

/// The plain provider: raw-key peer chains, nothing observed.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}

/// SHA-384, HMAC/HKDF-SHA-384, AES-256-GCM, ECDHE and ECDSA P-384.
pub struct RustCrypto<H = NoHooks> {
    rng: ChaCha20Rng,
    signing_key: Option<SigningKey>,
    peer: Option<VerifyingKey>,
    /// The user's additions.
    pub hooks: H,
}

impl<H: Hooks + Default> RustCrypto<H> {
    /// A provider drawing randomness from `rng`; `signing_key` is this
    /// side's leaf key (a requester has none).
    pub fn new(rng: ChaCha20Rng, signing_key: Option<SigningKey>) -> Self {
        Self::with_hooks(rng, signing_key, H::default())
    }

    /// A provider whose generator is seeded with `seed`.
    pub fn seeded(seed: u64, signing_key: Option<SigningKey>) -> Self {
        Self::new(ChaCha20Rng::seed_from_u64(seed), signing_key)
    }
}

impl<H: Hooks> RustCrypto<H> {
    /// A provider with the given hooks.
    pub fn with_hooks(rng: ChaCha20Rng, signing_key: Option<SigningKey>, hooks: H) -> Self {
        Self {
            rng,
            signing_key,
            peer: None,
            hooks,
        }
    }
}

/// A deterministic P-384 signing key for tests.
pub fn signing_key(seed: u8) -> SigningKey {
    let mut scalar = [seed; 48];
    scalar[0] = 0x01; // keep it below the group order
    SigningKey::from_slice(&scalar).expect("valid scalar")
}

/// An SPDM-format chain whose only "certificate" is the SEC1 public key
/// of `key`: Length(2), Reserved(2), RootHash(48), certificate. X.509
/// parsing belongs to a provider's [`Hooks`]; tests only need the leaf key.
pub fn raw_key_chain(key: &SigningKey) -> Vec<u8> {
    let cert = VerifyingKey::from(key)
        .to_encoded_point(false)
        .as_bytes()
        .to_vec();
    let total = 4 + HASH_LEN + cert.len();
    let mut chain = Vec::with_capacity(total);
    chain.extend_from_slice(&(total as u16).to_le_bytes());
    chain.extend_from_slice(&[0, 0]);
    chain.extend_from_slice(&Sha384::digest(&cert));
    chain.extend_from_slice(&cert);
    chain
}

/// The leaf key of a [`raw_key_chain`], checking its root hash.
pub fn raw_key_chain_leaf(chain: &[u8]) -> Result<VerifyingKey, CryptoError> {
    let cert = chain.get(4 + HASH_LEN..).ok_or(CryptoError::BadKey)?;
    if chain.get(4..4 + HASH_LEN) != Some(&Sha384::digest(cert)[..]) {
        return Err(CryptoError::BadKey);
    }
    VerifyingKey::from_sec1_bytes(cert).map_err(|_| CryptoError::BadKey)
}

impl<H: Hooks> SpdmCrypto for RustCrypto<H> {
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
        self.hooks.sealing(key, iv, buf);
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
        self.hooks.signed(&mut out);
        Ok(out)
    }

    fn set_peer_cert_chain(&mut self, chain: &[u8]) -> Result<(), CryptoError> {
        self.peer = Some(self.hooks.peer_leaf_key(chain)?);
        Ok(())
    }

    fn verify_peer(&self, data: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        let key = self.peer.as_ref().ok_or(CryptoError::BadKey)?;
        let signature = Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
        key.verify(data, &signature)
            .map_err(|_| CryptoError::BadSignature)
    }
}
