// SPDX-License-Identifier: GPL-2.0
//! The RustCrypto implementation of [`SpdmCrypto`] for host-side code: the
//! `tsm-proto` integration tests, the fuzz harness and the device model.
//!
//! Every algorithm the SPDM state machines negotiate: SHA-256 and SHA-384
//! (with HMAC and HKDF), ECDSA P-256 and P-384, ECDHE secp256r1 and
//! secp384r1, AES-128-GCM and AES-256-GCM.
//!
//! [`RustCrypto`] does the cryptography; a [`Hooks`] value lets each user
//! decide how a peer chain is checked and observe or damage what is
//! signed and sealed, without re-implementing the provider.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit, Nonce, Tag};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use p384::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p384::elliptic_curve::sec1::ToEncodedPoint;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest as _, Sha256, Sha384};
use tsm_proto::spdm::crypto::{
    AeadAlgo, AsymAlgo, CryptoError, DheGroup, DhePublicKey, Digest, HashAlgo, SharedSecret,
    Signature, SpdmCrypto, Supported,
};
use tsm_proto::spdm::{AEAD_IV_LEN, AEAD_TAG_LEN};

pub use p256;
pub use p384;
pub use rand_chacha::ChaCha20Rng as Rng;

/// A random generator: seeded for reproducible runs, else from the OS.
pub fn rng(seed: Option<u64>) -> ChaCha20Rng {
    match seed {
        Some(seed) => ChaCha20Rng::seed_from_u64(seed),
        None => ChaCha20Rng::from_entropy(),
    }
}

/// An ECDSA private key of one of the supported curves.
#[derive(Clone, Debug)]
pub enum SigningKey {
    /// NIST P-256.
    P256(p256::ecdsa::SigningKey),
    /// NIST P-384.
    P384(p384::ecdsa::SigningKey),
}

/// An ECDSA public key of one of the supported curves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyingKey {
    /// NIST P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// NIST P-384.
    P384(p384::ecdsa::VerifyingKey),
}

impl From<p256::ecdsa::SigningKey> for SigningKey {
    fn from(key: p256::ecdsa::SigningKey) -> Self {
        SigningKey::P256(key)
    }
}

impl From<p384::ecdsa::SigningKey> for SigningKey {
    fn from(key: p384::ecdsa::SigningKey) -> Self {
        SigningKey::P384(key)
    }
}

impl From<p256::ecdsa::VerifyingKey> for VerifyingKey {
    fn from(key: p256::ecdsa::VerifyingKey) -> Self {
        VerifyingKey::P256(key)
    }
}

impl From<p384::ecdsa::VerifyingKey> for VerifyingKey {
    fn from(key: p384::ecdsa::VerifyingKey) -> Self {
        VerifyingKey::P384(key)
    }
}

impl SigningKey {
    /// A fresh key on the curve of `asym`.
    pub fn random(asym: AsymAlgo, rng: &mut impl rand_core::CryptoRngCore) -> Self {
        match asym {
            AsymAlgo::EcdsaP256 => SigningKey::P256(p256::ecdsa::SigningKey::random(rng)),
            AsymAlgo::EcdsaP384 => SigningKey::P384(p384::ecdsa::SigningKey::random(rng)),
        }
    }

    /// The SPDM signature algorithm of this key.
    pub fn asym(&self) -> AsymAlgo {
        match self {
            SigningKey::P256(_) => AsymAlgo::EcdsaP256,
            SigningKey::P384(_) => AsymAlgo::EcdsaP384,
        }
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::P256(k) => VerifyingKey::P256(*k.verifying_key()),
            SigningKey::P384(k) => VerifyingKey::P384(*k.verifying_key()),
        }
    }

    /// Raw `r || s` signature over the prehashed `digest`.
    pub fn sign_prehash(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let fail = |_| CryptoError::Failed;
        Ok(match self {
            SigningKey::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign_prehash(digest).map_err(fail)?;
                sig.to_bytes().to_vec()
            }
            SigningKey::P384(k) => {
                let sig: p384::ecdsa::Signature = k.sign_prehash(digest).map_err(fail)?;
                sig.to_bytes().to_vec()
            }
        })
    }
}

impl VerifyingKey {
    /// The SPDM signature algorithm of this key.
    pub fn asym(&self) -> AsymAlgo {
        match self {
            VerifyingKey::P256(_) => AsymAlgo::EcdsaP256,
            VerifyingKey::P384(_) => AsymAlgo::EcdsaP384,
        }
    }

    /// Reads a SEC1 point of the curve of `asym`.
    pub fn from_sec1(asym: AsymAlgo, bytes: &[u8]) -> Result<Self, CryptoError> {
        let bad = |_| CryptoError::BadKey;
        Ok(match asym {
            AsymAlgo::EcdsaP256 => {
                VerifyingKey::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(bad)?)
            }
            AsymAlgo::EcdsaP384 => {
                VerifyingKey::P384(p384::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(bad)?)
            }
        })
    }

    /// The uncompressed SEC1 encoding.
    pub fn to_sec1(&self) -> Vec<u8> {
        match self {
            VerifyingKey::P256(k) => k.to_encoded_point(false).as_bytes().to_vec(),
            VerifyingKey::P384(k) => k.to_encoded_point(false).as_bytes().to_vec(),
        }
    }

    /// Verifies a raw `r || s` signature over the prehashed `digest`.
    pub fn verify_prehash(&self, digest: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        let bad = |_| CryptoError::BadSignature;
        match self {
            VerifyingKey::P256(k) => {
                let sig = p256::ecdsa::Signature::from_slice(signature).map_err(bad)?;
                k.verify_prehash(digest, &sig).map_err(bad)
            }
            VerifyingKey::P384(k) => {
                let sig = p384::ecdsa::Signature::from_slice(signature).map_err(bad)?;
                k.verify_prehash(digest, &sig).map_err(bad)
            }
        }
    }
}

/// A running SHA-256 or SHA-384.
#[derive(Clone, Debug)]
pub enum Hash {
    /// SHA-256.
    Sha256(Sha256),
    /// SHA-384.
    Sha384(Sha384),
}

/// An ephemeral ECDHE private key.
pub enum DheSecret {
    /// secp256r1.
    P256(p256::ecdh::EphemeralSecret),
    /// secp384r1.
    P384(p384::ecdh::EphemeralSecret),
}

/// `alg` of `data` in one go.
pub fn digest(alg: HashAlgo, data: &[u8]) -> Vec<u8> {
    match alg {
        HashAlgo::Sha256 => Sha256::digest(data).to_vec(),
        HashAlgo::Sha384 => Sha384::digest(data).to_vec(),
    }
}

/// What a user of [`RustCrypto`] adds to the plain provider.
pub trait Hooks {
    /// The leaf public key of a peer's SPDM certificate chain
    /// (Length(2), Reserved(2), RootHash(H of `hash`), certificates),
    /// which must be an `asym` key, or an error if the chain is not
    /// acceptable. The default reads a [`raw_key_chain`].
    fn peer_leaf_key(
        &self,
        asym: AsymAlgo,
        hash: HashAlgo,
        chain: &[u8],
    ) -> Result<VerifyingKey, CryptoError> {
        raw_key_chain_leaf(asym, hash, chain)
    }

    /// Sees (and may change) every signature (`r || s`) before `sign`
    /// returns it.
    fn signed(&mut self, _signature: &mut [u8]) {}

    /// Sees every AEAD encryption before it happens: the key, the record
    /// nonce and the plaintext.
    fn sealing(&self, _key: &[u8], _nonce: &[u8; AEAD_IV_LEN], _plain: &[u8]) {}
}

/// The plain provider: raw-key peer chains, nothing observed.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}

/// SHA-256/384, HMAC/HKDF, AES-128/256-GCM, ECDHE and ECDSA P-256/P-384.
pub struct RustCrypto<H = NoHooks> {
    rng: ChaCha20Rng,
    signing_key: Option<SigningKey>,
    peer: Option<VerifyingKey>,
    /// What [`SpdmCrypto::supported`] reports: every algorithm, with the
    /// signature algorithm narrowed to the signing key's when there is
    /// one. Tests narrow it further to model a smaller provider.
    pub supported: Supported,
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
        let mut supported = Supported::ALL;
        if let Some(key) = &signing_key {
            supported.asym = key.asym().bit();
        }
        Self {
            rng,
            signing_key,
            peer: None,
            supported,
            hooks,
        }
    }
}

/// A deterministic P-384 signing key for tests.
pub fn signing_key(seed: u8) -> SigningKey {
    signing_key_for(AsymAlgo::EcdsaP384, seed)
}

/// A deterministic signing key of `asym` for tests.
pub fn signing_key_for(asym: AsymAlgo, seed: u8) -> SigningKey {
    let mut scalar = [seed; 48];
    scalar[0] = 0x01; // keep it below the group order
    match asym {
        AsymAlgo::EcdsaP256 => {
            SigningKey::P256(p256::ecdsa::SigningKey::from_slice(&scalar[..32]).expect("scalar"))
        }
        AsymAlgo::EcdsaP384 => {
            SigningKey::P384(p384::ecdsa::SigningKey::from_slice(&scalar).expect("scalar"))
        }
    }
}

/// The "certificates" of a raw-key chain: one DER OCTET STRING holding the
/// uncompressed SEC1 public key of `key` (what a responder serves after
/// the chain header). X.509 parsing belongs to a provider's [`Hooks`];
/// tests only need the leaf key.
pub fn raw_key_certificates(key: &SigningKey) -> Vec<u8> {
    let point = key.verifying_key().to_sec1();
    // 65 or 97 bytes: the short length form.
    let mut der = vec![0x04, point.len() as u8];
    der.extend_from_slice(&point);
    der
}

/// The SPDM-format chain for hash `hash` around
/// [`raw_key_certificates`]: Length(2), Reserved(2), RootHash(H), the
/// single "certificate".
pub fn raw_key_chain(key: &SigningKey, hash: HashAlgo) -> Vec<u8> {
    let cert = raw_key_certificates(key);
    let root_hash = digest(hash, &cert);
    let total = 4 + root_hash.len() + cert.len();
    let mut chain = Vec::with_capacity(total);
    chain.extend_from_slice(&(total as u16).to_le_bytes());
    chain.extend_from_slice(&[0, 0]);
    chain.extend_from_slice(&root_hash);
    chain.extend_from_slice(&cert);
    chain
}

/// The `asym` leaf key of a [`raw_key_chain`] for `hash`, checking its
/// root hash.
pub fn raw_key_chain_leaf(
    asym: AsymAlgo,
    hash: HashAlgo,
    chain: &[u8],
) -> Result<VerifyingKey, CryptoError> {
    let h = hash.digest_len();
    let cert = chain.get(4 + h..).ok_or(CryptoError::BadKey)?;
    if chain.get(4..4 + h) != Some(&digest(hash, cert)[..]) {
        return Err(CryptoError::BadKey);
    }
    match cert {
        [0x04, len, point @ ..] if usize::from(*len) == point.len() => {
            VerifyingKey::from_sec1(asym, point)
        }
        _ => Err(CryptoError::BadKey),
    }
}

fn hmac_of<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Result<Digest, CryptoError> {
    let mut mac = <M as Mac>::new_from_slice(key).map_err(|_| CryptoError::Failed)?;
    mac.update(data);
    Digest::from_slice(&mac.finalize().into_bytes())
}

impl<H: Hooks> SpdmCrypto for RustCrypto<H> {
    type Hash = Hash;
    type DheSecret = DheSecret;

    fn supported(&self) -> Supported {
        self.supported
    }

    fn hash_new(&self, alg: HashAlgo) -> Hash {
        match alg {
            HashAlgo::Sha256 => Hash::Sha256(Sha256::new()),
            HashAlgo::Sha384 => Hash::Sha384(Sha384::new()),
        }
    }

    fn hash_update(&self, hash: &mut Hash, data: &[u8]) {
        match hash {
            Hash::Sha256(h) => h.update(data),
            Hash::Sha384(h) => h.update(data),
        }
    }

    fn hash_finish(&self, hash: Hash) -> Digest {
        let out = match hash {
            Hash::Sha256(h) => Digest::from_slice(&h.finalize()),
            Hash::Sha384(h) => Digest::from_slice(&h.finalize()),
        };
        out.expect("SHA-256 and SHA-384 digests fit a Digest")
    }

    fn hmac(&self, alg: HashAlgo, key: &[u8], data: &[u8]) -> Result<Digest, CryptoError> {
        match alg {
            HashAlgo::Sha256 => hmac_of::<Hmac<Sha256>>(key, data),
            HashAlgo::Sha384 => hmac_of::<Hmac<Sha384>>(key, data),
        }
    }

    fn hkdf_extract(&self, alg: HashAlgo, salt: &[u8], ikm: &[u8]) -> Result<Digest, CryptoError> {
        match alg {
            HashAlgo::Sha256 => Digest::from_slice(&Hkdf::<Sha256>::extract(Some(salt), ikm).0),
            HashAlgo::Sha384 => Digest::from_slice(&Hkdf::<Sha384>::extract(Some(salt), ikm).0),
        }
    }

    fn hkdf_expand(
        &self,
        alg: HashAlgo,
        prk: &[u8],
        info: &[u8],
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        let expanded = match alg {
            HashAlgo::Sha256 => Hkdf::<Sha256>::from_prk(prk).map(|h| h.expand(info, out)),
            HashAlgo::Sha384 => Hkdf::<Sha384>::from_prk(prk).map(|h| h.expand(info, out)),
        };
        match expanded {
            Ok(Ok(())) => Ok(()),
            _ => Err(CryptoError::Failed),
        }
    }

    fn aead_encrypt(
        &self,
        alg: AeadAlgo,
        key: &[u8],
        iv: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], CryptoError> {
        if key.len() != alg.key_len() {
            return Err(CryptoError::Failed);
        }
        self.hooks.sealing(key, iv, buf);
        let nonce = Nonce::from(*iv);
        let fail = |_| CryptoError::Failed;
        let tag = match alg {
            AeadAlgo::Aes128Gcm => Aes128Gcm::new_from_slice(key)
                .map_err(fail)?
                .encrypt_in_place_detached(&nonce, aad, buf),
            AeadAlgo::Aes256Gcm => Aes256Gcm::new_from_slice(key)
                .map_err(fail)?
                .encrypt_in_place_detached(&nonce, aad, buf),
        };
        Ok(tag.map_err(|_| CryptoError::Failed)?.into())
    }

    fn aead_decrypt(
        &self,
        alg: AeadAlgo,
        key: &[u8],
        iv: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), CryptoError> {
        if key.len() != alg.key_len() {
            return Err(CryptoError::Failed);
        }
        let nonce = Nonce::from(*iv);
        let tag = Tag::from(*tag);
        let fail = |_| CryptoError::Failed;
        let opened = match alg {
            AeadAlgo::Aes128Gcm => Aes128Gcm::new_from_slice(key)
                .map_err(fail)?
                .decrypt_in_place_detached(&nonce, aad, buf, &tag),
            AeadAlgo::Aes256Gcm => Aes256Gcm::new_from_slice(key)
                .map_err(fail)?
                .decrypt_in_place_detached(&nonce, aad, buf, &tag),
        };
        opened.map_err(|_| CryptoError::DecryptFailed)
    }

    fn random(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        self.rng.fill_bytes(out);
        Ok(())
    }

    fn dhe_generate(&mut self, group: DheGroup) -> Result<(DheSecret, DhePublicKey), CryptoError> {
        let (secret, point) = match group {
            DheGroup::Secp256r1 => {
                let secret = p256::ecdh::EphemeralSecret::random(&mut self.rng);
                let point = secret.public_key().to_encoded_point(false);
                (DheSecret::P256(secret), point.as_bytes().to_vec())
            }
            DheGroup::Secp384r1 => {
                let secret = p384::ecdh::EphemeralSecret::random(&mut self.rng);
                let point = secret.public_key().to_encoded_point(false);
                (DheSecret::P384(secret), point.as_bytes().to_vec())
            }
        };
        // Uncompressed SEC1: 0x04 || X || Y; SPDM carries X || Y.
        let xy = point.get(1..).ok_or(CryptoError::Failed)?;
        if xy.len() != group.public_len() {
            return Err(CryptoError::Failed);
        }
        Ok((secret, DhePublicKey::from_slice(xy)?))
    }

    fn dhe_shared_secret(
        &self,
        group: DheGroup,
        secret: DheSecret,
        peer: &[u8],
    ) -> Result<SharedSecret, CryptoError> {
        if peer.len() != group.public_len() {
            return Err(CryptoError::BadKey);
        }
        let mut sec1 = vec![0x04];
        sec1.extend_from_slice(peer);
        let bad = |_| CryptoError::BadKey;
        match (group, secret) {
            (DheGroup::Secp256r1, DheSecret::P256(secret)) => {
                let public = p256::PublicKey::from_sec1_bytes(&sec1).map_err(bad)?;
                SharedSecret::from_slice(secret.diffie_hellman(&public).raw_secret_bytes())
            }
            (DheGroup::Secp384r1, DheSecret::P384(secret)) => {
                let public = p384::PublicKey::from_sec1_bytes(&sec1).map_err(bad)?;
                SharedSecret::from_slice(secret.diffie_hellman(&public).raw_secret_bytes())
            }
            _ => Err(CryptoError::Failed),
        }
    }

    fn sign(
        &mut self,
        asym: AsymAlgo,
        hash: HashAlgo,
        data: &[u8],
    ) -> Result<Signature, CryptoError> {
        let key = self.signing_key.as_ref().ok_or(CryptoError::BadKey)?;
        if key.asym() != asym {
            return Err(CryptoError::BadKey);
        }
        let mut signature = key.sign_prehash(&digest(hash, data))?;
        self.hooks.signed(&mut signature);
        Signature::from_slice(&signature)
    }

    fn set_peer_cert_chain(
        &mut self,
        asym: AsymAlgo,
        hash: HashAlgo,
        chain: &[u8],
    ) -> Result<(), CryptoError> {
        let key = self.hooks.peer_leaf_key(asym, hash, chain)?;
        if key.asym() != asym {
            return Err(CryptoError::BadKey);
        }
        self.peer = Some(key);
        Ok(())
    }

    fn verify_peer(
        &self,
        asym: AsymAlgo,
        hash: HashAlgo,
        data: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        let key = self.peer.as_ref().ok_or(CryptoError::BadKey)?;
        if key.asym() != asym || signature.len() != asym.signature_len() {
            return Err(CryptoError::BadSignature);
        }
        key.verify_prehash(&digest(hash, data), signature)
    }
}

/// `id-ecPublicKey`'s named curve secp256r1 (RFC 5480).
const OID_CURVE_P256: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1 (RFC 5480).
const OID_CURVE_P384: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// The SPDM signature algorithm of a certificate's EC public key, from its named curve; `None`
/// for any other key.
pub fn asym_of_key(spki: &spki::SubjectPublicKeyInfoOwned) -> Option<AsymAlgo> {
    let curve = spki.algorithm.parameters.as_ref()?;
    match curve.decode_as::<spki::ObjectIdentifier>().ok()? {
        OID_CURVE_P256 => Some(AsymAlgo::EcdsaP256),
        OID_CURVE_P384 => Some(AsymAlgo::EcdsaP384),
        _ => None,
    }
}
