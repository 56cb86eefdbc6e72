// SPDX-License-Identifier: GPL-2.0
//! DSP0277 record parsing (`secured::open`) with a stand-in AEAD that
//! accepts every tag, so the fuzzer reaches the length and application
//! data checks behind authentication.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsm_proto::spdm::crypto::{CryptoError, Digest, SpdmCrypto};
use tsm_proto::spdm::key_schedule::DirectionKeys;
use tsm_proto::spdm::secured;

struct AcceptAll;

impl SpdmCrypto for AcceptAll {
    type Hash = ();
    type DheSecret = ();
    fn hash_new(&self) {}
    fn hash_update(&self, _: &mut (), _: &[u8]) {}
    fn hash_finish(&self, _: ()) -> Digest {
        [0; 48]
    }
    fn hmac(&self, _: &[u8], _: &[u8]) -> Digest {
        [0; 48]
    }
    fn hkdf_extract(&self, _: &[u8], _: &[u8]) -> Digest {
        [0; 48]
    }
    fn hkdf_expand(&self, _: &Digest, _: &[u8], _: &mut [u8]) -> Result<(), CryptoError> {
        Ok(())
    }
    fn aead_encrypt(
        &self,
        _: &[u8; 32],
        _: &[u8; 12],
        _: &[u8],
        _: &mut [u8],
    ) -> Result<[u8; 16], CryptoError> {
        Ok([0; 16])
    }
    fn aead_decrypt(
        &self,
        _: &[u8; 32],
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
    fn dhe_generate(&mut self) -> Result<((), [u8; 96]), CryptoError> {
        Ok(((), [0; 96]))
    }
    fn dhe_shared_secret(&self, _: (), _: &[u8]) -> Result<[u8; 48], CryptoError> {
        Ok([0; 48])
    }
    fn sign(&mut self, _: &[u8]) -> Result<[u8; 96], CryptoError> {
        Ok([0; 96])
    }
    fn set_peer_cert_chain(&mut self, _: &[u8]) -> Result<(), CryptoError> {
        Ok(())
    }
    fn verify_peer(&self, _: &[u8], _: &[u8]) -> Result<(), CryptoError> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut keys = DirectionKeys {
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
