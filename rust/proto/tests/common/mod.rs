// SPDX-License-Identifier: GPL-2.0
//! Host-side helpers shared by the integration tests: a RustCrypto
//! [`SpdmCrypto`] provider, a test certificate chain and a xorshift PRNG.
#![allow(dead_code)]

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

/// RustCrypto provider: SHA-384, HMAC/HKDF-SHA-384, AES-256-GCM, P-384.
pub struct HostCrypto {
    rng: ChaCha20Rng,
    signing_key: Option<SigningKey>,
    peer: Option<VerifyingKey>,
}

impl HostCrypto {
    /// A provider with a seeded RNG and optionally a signing key.
    pub fn new(seed: u64, signing_key: Option<SigningKey>) -> Self {
        Self {
            rng: ChaCha20Rng::seed_from_u64(seed),
            signing_key,
            peer: None,
        }
    }
}

/// A deterministic P-384 signing key.
pub fn signing_key(seed: u8) -> SigningKey {
    let mut scalar = [seed; 48];
    scalar[0] = 0x01; // keep it below the group order
    SigningKey::from_slice(&scalar).expect("valid scalar")
}

/// An SPDM-format chain whose only "certificate" is the SEC1 public key:
/// Length(2), Reserved(2), RootHash(48), certificate. X.509 parsing belongs
/// to the provider (a kernel provider, planned but not written, would use
/// the kernel's x509 parser); the test provider only needs the leaf key.
pub fn cert_chain(key: &SigningKey) -> Vec<u8> {
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

impl SpdmCrypto for HostCrypto {
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
        let mut mac = <Hmac<Sha384> as Mac>::new_from_slice(key).expect("HMAC takes any key");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    fn hkdf_extract(&self, salt: &[u8], ikm: &[u8]) -> Digest {
        Hkdf::<Sha384>::extract(Some(salt), ikm).0.into()
    }

    fn hkdf_expand(&self, prk: &Digest, info: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
        Hkdf::<Sha384>::from_prk(prk)
            .map_err(|_| CryptoError::Failed)?
            .expand(info, out)
            .map_err(|_| CryptoError::Failed)
    }

    fn aead_encrypt(
        &self,
        key: &[u8; AEAD_KEY_LEN],
        iv: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], CryptoError> {
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::Failed)?;
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
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::Failed)?;
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
        let xy = point.as_bytes().get(1..).ok_or(CryptoError::Failed)?;
        Ok((secret, xy.try_into().map_err(|_| CryptoError::Failed)?))
    }

    fn dhe_shared_secret(
        &self,
        secret: Self::DheSecret,
        peer: &[u8],
    ) -> Result<[u8; HASH_LEN], CryptoError> {
        let mut sec1 = vec![0x04];
        sec1.extend_from_slice(peer);
        let point = EncodedPoint::from_bytes(&sec1).map_err(|_| CryptoError::BadKey)?;
        let public = Option::<PublicKey>::from(PublicKey::from_encoded_point(&point))
            .ok_or(CryptoError::BadKey)?;
        let shared = secret.diffie_hellman(&public);
        Ok((*shared.raw_secret_bytes()).into())
    }

    fn sign(&mut self, data: &[u8]) -> Result<[u8; SIGNATURE_LEN], CryptoError> {
        let key = self.signing_key.as_ref().ok_or(CryptoError::BadKey)?;
        let signature: Signature = key.sign(data);
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(&signature.to_bytes());
        Ok(out)
    }

    fn set_peer_cert_chain(&mut self, chain: &[u8]) -> Result<(), CryptoError> {
        let cert = chain.get(4 + HASH_LEN..).ok_or(CryptoError::BadKey)?;
        if chain.get(4..4 + HASH_LEN) != Some(&Sha384::digest(cert)[..]) {
            return Err(CryptoError::BadKey);
        }
        self.peer = Some(VerifyingKey::from_sec1_bytes(cert).map_err(|_| CryptoError::BadKey)?);
        Ok(())
    }

    fn verify_peer(&self, data: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        let key = self.peer.as_ref().ok_or(CryptoError::BadKey)?;
        let signature = Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
        key.verify(data, &signature)
            .map_err(|_| CryptoError::BadSignature)
    }
}

/// xorshift64* PRNG for property tests.
pub struct Prng(u64);

impl Prng {
    /// Seeded generator (seed 0 is remapped).
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    /// A random value below `bound` (bound > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// Up to `max - 1` random bytes.
    pub fn bytes_below(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max);
        self.bytes(len)
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }
}
