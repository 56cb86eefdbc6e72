// SPDX-License-Identifier: GPL-2.0

//! [`SpdmCrypto`] over the kernel's crypto ([`kernel::crypto`]), for SPDM requesters.
//!
//! Hashes, HMAC and HKDF come from `lib/crypto` (SHA-256, SHA-384), AEAD from its AES-GCM,
//! ephemeral DHE from the kpp API (`ecdh-nist-p256`/`-p384`), signature checks from `crypto_sig`
//! (`p1363(ecdsa-nist-*)`), and certificate chains from the kernel's X.509 parser. The kernel
//! cannot sign with ECDSA, so this provider serves requesters only: [`SpdmCrypto::sign`] fails.

use kernel::{
    crypto::{
        aes_gcm::AesGcmKey,
        ecdh::EcdhKey,
        ecdsa::EcdsaVerifier,
        hkdf, hmac,
        sha2::{Sha256, Sha384},
        x509::{der_len, Certificate},
        Curve,
    },
    prelude::*,
};
use tsm_proto::spdm::crypto::{
    ct_eq, AeadAlgo, AsymAlgo, CryptoError, DheGroup, DhePublicKey, Digest, HashAlgo, SharedSecret,
    Signature, SpdmCrypto, Supported, AEAD_IV_LEN, AEAD_TAG_LEN,
};

/// A running SHA-2 computation of the algorithm it was started with.
#[derive(Clone)]
pub enum KernelHash {
    /// SHA-256.
    Sha256(Sha256),
    /// SHA-384.
    Sha384(Sha384),
}

/// Why a certificate chain was refused, for the log and the caller's errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainError {
    /// The SPDM chain header, a DER length or a certificate does not parse.
    Malformed,
    /// The root is not self-signed, a link's signature does not verify, or RootHash does not
    /// match the root certificate.
    Broken,
    /// The leaf's key is not a key of the negotiated signature algorithm.
    WrongKey,
    /// Memory ran out while checking: nothing is known about the chain.
    NoMemory,
}

/// `e`, the kernel's error from checking a chain, as `rejected`, unless it is `ENOMEM`: an
/// allocation that failed says nothing about the device.
fn chain_failure(e: Error, rejected: ChainError) -> ChainError {
    if e == ENOMEM {
        ChainError::NoMemory
    } else {
        rejected
    }
}

/// `e`, the kernel's error from a check of the peer's key or signature, as `rejected`, unless it
/// is `ENOMEM`, which is a local failure ([`CryptoError::Failed`]).
fn check_error(e: Error, rejected: CryptoError) -> CryptoError {
    if e == ENOMEM {
        CryptoError::Failed
    } else {
        rejected
    }
}

/// The requester's crypto provider on the kernel's crypto API.
///
/// Holds the leaf key of the peer's certificate chain once [`SpdmCrypto::set_peer_cert_chain`]
/// accepted it, and why the last chain was refused.
#[derive(Default)]
pub struct KernelCrypto {
    peer: Option<EcdsaVerifier>,
    chain_error: Option<ChainError>,
}

impl KernelCrypto {
    /// A provider with no peer key yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Why the last certificate chain was refused, if it was.
    pub fn chain_error(&self) -> Option<ChainError> {
        self.chain_error
    }

    /// Checks an SPDM certificate chain (DSP0274 "Certificate chain format": Length,
    /// Reserved, RootHash, then DER certificates from the root down to the leaf) and returns the
    /// leaf's key.
    fn check_chain(
        asym: AsymAlgo,
        hash: HashAlgo,
        chain: &[u8],
    ) -> Result<EcdsaVerifier, ChainError> {
        let header = 4 + hash.digest_len();
        let declared = chain
            .get(..2)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
            .ok_or(ChainError::Malformed)?;
        if declared != chain.len() || chain.len() <= header {
            return Err(ChainError::Malformed);
        }
        let root_hash = &chain[4..header];
        let mut rest = &chain[header..];
        let mut issuer: Option<Certificate> = None;
        while !rest.is_empty() {
            let len = der_len(rest).ok_or(ChainError::Malformed)?;
            let (der, tail) = rest.split_at(len);
            let cert =
                Certificate::parse(der).map_err(|e| chain_failure(e, ChainError::Malformed))?;
            match &issuer {
                None => {
                    if !cert.is_self_signed() || !ct_eq(digest(hash, der).as_slice(), root_hash) {
                        return Err(ChainError::Broken);
                    }
                    cert.verify_issued_by(&cert)
                        .map_err(|e| chain_failure(e, ChainError::Broken))?;
                }
                Some(parent) => cert
                    .verify_issued_by(parent)
                    .map_err(|e| chain_failure(e, ChainError::Broken))?,
            }
            issuer = Some(cert);
            rest = tail;
        }
        let leaf = issuer.ok_or(ChainError::Malformed)?;
        let (curve, point) = leaf
            .ec_public_key()
            .map_err(|e| chain_failure(e, ChainError::WrongKey))?;
        if curve != asym_curve(asym) {
            return Err(ChainError::WrongKey);
        }
        EcdsaVerifier::new(curve, point).map_err(|e| chain_failure(e, ChainError::WrongKey))
    }
}

fn asym_curve(asym: AsymAlgo) -> Curve {
    match asym {
        AsymAlgo::EcdsaP256 => Curve::P256,
        AsymAlgo::EcdsaP384 => Curve::P384,
    }
}

fn dhe_curve(group: DheGroup) -> Curve {
    match group {
        DheGroup::Secp256r1 => Curve::P256,
        DheGroup::Secp384r1 => Curve::P384,
    }
}

/// `hash(data)` in one go.
fn digest(alg: HashAlgo, data: &[u8]) -> Digest {
    match alg {
        HashAlgo::Sha256 => to_digest(&Sha256::digest(data)),
        HashAlgo::Sha384 => to_digest(&Sha384::digest(data)),
    }
}

/// `bytes` as a [`Digest`]; every kernel digest fits one (its capacity is the longest supported
/// hash), so the empty fallback is never taken.
fn to_digest(bytes: &[u8]) -> Digest {
    Digest::from_slice(bytes).unwrap_or_default()
}

fn failed<T>(_: T) -> CryptoError {
    CryptoError::Failed
}

impl SpdmCrypto for KernelCrypto {
    type Hash = KernelHash;
    type DheSecret = EcdhKey;

    fn supported(&self) -> Supported {
        Supported::ALL
    }

    fn hash_new(&self, alg: HashAlgo) -> KernelHash {
        match alg {
            HashAlgo::Sha256 => KernelHash::Sha256(Sha256::new()),
            HashAlgo::Sha384 => KernelHash::Sha384(Sha384::new()),
        }
    }

    fn hash_update(&self, hash: &mut KernelHash, data: &[u8]) {
        match hash {
            KernelHash::Sha256(h) => h.update(data),
            KernelHash::Sha384(h) => h.update(data),
        }
    }

    fn hash_finish(&self, hash: KernelHash) -> Digest {
        match hash {
            KernelHash::Sha256(h) => to_digest(&h.finish()),
            KernelHash::Sha384(h) => to_digest(&h.finish()),
        }
    }

    fn hmac(&self, alg: HashAlgo, key: &[u8], data: &[u8]) -> Result<Digest, CryptoError> {
        match alg {
            HashAlgo::Sha256 => Digest::from_slice(&hmac::hmac_sha256(key, data)),
            HashAlgo::Sha384 => Digest::from_slice(&hmac::hmac_sha384(key, data)),
        }
    }

    fn hkdf_extract(&self, alg: HashAlgo, salt: &[u8], ikm: &[u8]) -> Result<Digest, CryptoError> {
        match alg {
            HashAlgo::Sha256 => Digest::from_slice(&hkdf::sha256_extract(salt, ikm)),
            HashAlgo::Sha384 => Digest::from_slice(&hkdf::sha384_extract(salt, ikm)),
        }
    }

    fn hkdf_expand(
        &self,
        alg: HashAlgo,
        prk: &[u8],
        info: &[u8],
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        if prk.len() != alg.digest_len() {
            return Err(CryptoError::Failed);
        }
        match alg {
            HashAlgo::Sha256 => hkdf::sha256_expand(prk, info, out),
            HashAlgo::Sha384 => hkdf::sha384_expand(prk, info, out),
        }
        .map_err(failed)
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
        let key = AesGcmKey::new(key).map_err(failed)?;
        Ok(key.encrypt(iv, aad, buf))
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
        let key = AesGcmKey::new(key).map_err(failed)?;
        key.decrypt(iv, aad, buf, tag)
            .map_err(|_| CryptoError::DecryptFailed)
    }

    fn random(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        kernel::crypto::random_bytes(out);
        Ok(())
    }

    fn dhe_generate(&mut self, group: DheGroup) -> Result<(EcdhKey, DhePublicKey), CryptoError> {
        let key = EcdhKey::generate(dhe_curve(group)).map_err(failed)?;
        let mut public = DhePublicKey::zeroed(group.public_len())?;
        key.public_key(public.as_mut_slice()).map_err(failed)?;
        Ok((key, public))
    }

    fn dhe_shared_secret(
        &self,
        group: DheGroup,
        secret: EcdhKey,
        peer: &[u8],
    ) -> Result<SharedSecret, CryptoError> {
        if secret.curve() != dhe_curve(group) || peer.len() != group.public_len() {
            return Err(CryptoError::BadKey);
        }
        let mut shared = SharedSecret::zeroed(group.shared_secret_len())?;
        secret
            .shared_secret(peer, shared.as_mut_slice())
            .map_err(|e| check_error(e, CryptoError::BadKey))?;
        Ok(shared)
    }

    fn sign(
        &mut self,
        _asym: AsymAlgo,
        _hash: HashAlgo,
        _data: &[u8],
    ) -> Result<Signature, CryptoError> {
        // The kernel has no ECDSA signing; a requester without mutual authentication never signs.
        Err(CryptoError::Failed)
    }

    fn set_peer_cert_chain(
        &mut self,
        asym: AsymAlgo,
        hash: HashAlgo,
        chain: &[u8],
    ) -> Result<(), CryptoError> {
        self.peer = None;
        match Self::check_chain(asym, hash, chain) {
            Ok(key) => {
                self.chain_error = None;
                self.peer = Some(key);
                Ok(())
            }
            Err(ChainError::NoMemory) => {
                self.chain_error = None;
                Err(CryptoError::Failed)
            }
            Err(e) => {
                self.chain_error = Some(e);
                Err(CryptoError::BadKey)
            }
        }
    }

    fn verify_peer(
        &self,
        asym: AsymAlgo,
        hash: HashAlgo,
        data: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        let key = self.peer.as_ref().ok_or(CryptoError::BadKey)?;
        if key.curve() != asym_curve(asym) {
            return Err(CryptoError::BadKey);
        }
        key.verify_digest(digest(hash, data).as_slice(), signature)
            .map_err(|e| check_error(e, CryptoError::BadSignature))
    }
}
