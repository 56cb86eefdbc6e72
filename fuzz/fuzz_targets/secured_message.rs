// SPDX-License-Identifier: GPL-2.0
//! DSP0277 record parsing (`secured::open`) with a stand-in AEAD that
//! accepts every tag, so the fuzzer reaches the length and application
//! data checks behind authentication.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsm_proto::spdm::crypto::{
    AeadAlgo, AsymAlgo, CryptoError, DheGroup, DhePublicKey, Digest, HashAlgo, SharedSecret,
    Signature, SpdmCrypto, Supported,
};
use tsm_proto::spdm::key_schedule::DirectionKeys;
use tsm_proto::spdm::secured;

struct AcceptAll;

impl SpdmCrypto for AcceptAll {
    type Hash = ();
    type DheSecret = ();
    fn supported(&self) -> Supported {
        Supported::ALL
    }
    fn hash_new(&self, _: HashAlgo) {}
    fn hash_update(&self, _: &mut (), _: &[u8]) {}
    fn hash_finish(&self, _: ()) -> Digest {
        Digest::zeroed(48).expect("48 bytes fit a Digest")
    }
    fn hmac(&self, _: HashAlgo, _: &[u8], _: &[u8]) -> Result<Digest, CryptoError> {
        Digest::zeroed(48)
    }
    fn hkdf_extract(&self, _: HashAlgo, _: &[u8], _: &[u8]) -> Result<Digest, CryptoError> {
        Digest::zeroed(48)
    }
    fn hkdf_expand(
        &self,
        _: HashAlgo,
        _: &[u8],
        _: &[u8],
        _: &mut [u8],
    ) -> Result<(), CryptoError> {
        Ok(())
    }
    fn aead_encrypt(
        &self,
        _: AeadAlgo,
        _: &[u8],
        _: &[u8; 12],
        _: &[u8],
        _: &mut [u8],
    ) -> Result<[u8; 16], CryptoError> {
        Ok([0; 16])
    }
    fn aead_decrypt(
        &self,
        _: AeadAlgo,
        _: &[u8],
        _: &[u8; 12],
        _: &[u8],
        _: &mut [u8],
        _: &[u8; 16],
    ) -> Result<(), CryptoError> {
        Ok(())
    }
    fn random(&mut self, _: &mut [u8]) -> Result<(), CryptoError> {
        Ok(())
    }
    fn dhe_generate(&mut self, g: DheGroup) -> Result<((), DhePublicKey), CryptoError> {
        Ok(((), DhePublicKey::zeroed(g.public_len())?))
    }
    fn dhe_shared_secret(&self, g: DheGroup, _: (), _: &[u8]) -> Result<SharedSecret, CryptoError> {
        SharedSecret::zeroed(g.shared_secret_len())
    }
    fn sign(&mut self, a: AsymAlgo, _: HashAlgo, _: &[u8]) -> Result<Signature, CryptoError> {
        Signature::zeroed(a.signature_len())
    }
    fn set_peer_cert_chain(
        &mut self,
        _: AsymAlgo,
        _: HashAlgo,
        _: &[u8],
    ) -> Result<(), CryptoError> {
        Ok(())
    }
    fn verify_peer(&self, _: AsymAlgo, _: HashAlgo, _: &[u8], _: &[u8]) -> Result<(), CryptoError> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    // Both AEADs: the record layout does not depend on the key size.
    let aead = if data.first().is_some_and(|b| b & 1 != 0) {
        AeadAlgo::Aes128Gcm
    } else {
        AeadAlgo::Aes256Gcm
    };
    let mut keys = DirectionKeys {
        aead,
        key: [0; 32],
        iv: [0; 12],
        sequence: 0,
    };
    let mut record = data.to_vec();
    if let Ok((_, app)) = secured::open(&AcceptAll, &mut keys, &mut record) {
        assert!(app.len() + secured::OVERHEAD <= data.len());
        assert_eq!(keys.sequence, 1);
        // Sealing the application data again yields a record of the same size.
        let mut out = vec![0u8; app.len() + secured::OVERHEAD];
        out[secured::APP_DATA_OFFSET..secured::APP_DATA_OFFSET + app.len()].copy_from_slice(app);
        let sealed = secured::seal_in_place(&AcceptAll, &mut keys, 7, &mut out, app.len());
        assert_eq!(sealed.ok(), Some(app.len() + secured::OVERHEAD));
    }
    let _ = secured::session_id(data);
});
