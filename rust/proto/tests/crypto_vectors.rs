// SPDX-License-Identifier: GPL-2.0
//! The published known-answer vectors of the kernel's KUnit suite `spdm_crypto`, run against the
//! host's RustCrypto provider: the same file, so the kernel's `kernel::crypto` and RustCrypto are
//! held to the same bytes.

#[allow(dead_code)]
#[path = "../../../drivers/virt/coco/tsm/crypto_test/vectors.rs"]
mod vectors;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce, Tag};

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha384};

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn sha2_fips180() {
    for case in vectors::SHA256 {
        assert_eq!(Sha256::digest(case.msg).to_vec(), unhex(case.digest));
    }
    for case in vectors::SHA384 {
        assert_eq!(Sha384::digest(case.msg).to_vec(), unhex(case.digest));
    }
}

#[test]
fn hmac_rfc4231() {
    for case in vectors::RFC4231 {
        let (key, data) = (unhex(case.key), unhex(case.data));
        let want = unhex(case.sha256);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        mac.update(&data);
        assert_eq!(mac.finalize().into_bytes()[..want.len()], want[..]);
        let want = unhex(case.sha384);
        let mut mac = <Hmac<Sha384> as Mac>::new_from_slice(&key).unwrap();
        mac.update(&data);
        assert_eq!(mac.finalize().into_bytes()[..want.len()], want[..]);
    }
}

#[test]
fn hkdf_sha256_rfc5869() {
    for case in vectors::RFC5869_SHA256 {
        let salt = unhex(case.salt);
        let (prk, hk) = Hkdf::<Sha256>::extract(Some(&salt), &unhex(case.ikm));
        assert_eq!(prk.to_vec(), unhex(case.prk));
        let mut okm = vec![0u8; case.okm.len() / 2];
        hk.expand(&unhex(case.info), &mut okm).unwrap();
        assert_eq!(okm, unhex(case.okm));
    }
}

fn nonce(iv: &[u8]) -> Nonce<aes_gcm::aead::consts::U12> {
    Nonce::from(<[u8; 12]>::try_from(iv).expect("96-bit IV"))
}

fn gcm_encrypt(key: &[u8], iv: &[u8], aad: &[u8], buf: &mut [u8]) -> Vec<u8> {
    let nonce = &nonce(iv);
    let tag = match key.len() {
        16 => Aes128Gcm::new_from_slice(key)
            .unwrap()
            .encrypt_in_place_detached(nonce, aad, buf),
        32 => Aes256Gcm::new_from_slice(key)
            .unwrap()
            .encrypt_in_place_detached(nonce, aad, buf),
        n => panic!("key length {n}"),
    };
    tag.unwrap().to_vec()
}

#[test]
fn aes_gcm_spec() {
    for case in vectors::GCM_SPEC {
        let (key, iv, aad) = (unhex(case.key), unhex(case.iv), unhex(case.aad));
        let mut buf = unhex(case.pt);
        let tag = gcm_encrypt(&key, &iv, &aad, &mut buf);
        assert_eq!(buf, unhex(case.ct));
        assert_eq!(tag, unhex(case.tag));
        if key.len() == 32 {
            let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
            let tag = Tag::from(<[u8; 16]>::try_from(&tag[..]).unwrap());
            cipher
                .decrypt_in_place_detached(&nonce(&iv), &aad, &mut buf, &tag)
                .unwrap();
            assert_eq!(buf, unhex(case.pt));
        }
    }
}

#[test]
fn ecdh_cavp_cdh() {
    for case in vectors::CAVP_CDH {
        let d = unhex(case.d);
        let mut peer = vec![0x04];
        peer.extend(unhex(case.q_cavs));
        let mut q_iut = vec![0x04];
        q_iut.extend(unhex(case.q_iut));
        let z = match case.bits {
            256 => {
                use p256::elliptic_curve::sec1::ToEncodedPoint;
                let sk = p256::SecretKey::from_slice(&d).unwrap();
                assert_eq!(
                    sk.public_key().to_encoded_point(false).as_bytes(),
                    &q_iut[..]
                );
                let pk = p256::PublicKey::from_sec1_bytes(&peer).unwrap();
                p256::ecdh::diffie_hellman(sk.to_nonzero_scalar(), pk.as_affine())
                    .raw_secret_bytes()
                    .to_vec()
            }
            _ => {
                use p384::elliptic_curve::sec1::ToEncodedPoint;
                let sk = p384::SecretKey::from_slice(&d).unwrap();
                assert_eq!(
                    sk.public_key().to_encoded_point(false).as_bytes(),
                    &q_iut[..]
                );
                let pk = p384::PublicKey::from_sec1_bytes(&peer).unwrap();
                p384::ecdh::diffie_hellman(sk.to_nonzero_scalar(), pk.as_affine())
                    .raw_secret_bytes()
                    .to_vec()
            }
        };
        assert_eq!(z, unhex(case.z));
    }
}

#[test]
fn ecdsa_cavp_sigver() {
    use p256::ecdsa::signature::Verifier as _;
    for case in vectors::CAVP_SIGVER {
        let msg = unhex(case.msg);
        let mut q = vec![0x04];
        q.extend(unhex(case.q));
        let sig = unhex(case.sig);
        let ok = match case.bits {
            256 => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&q).unwrap();
                let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
                key.verify(&msg, &sig).is_ok()
            }
            _ => {
                let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(&q).unwrap();
                let sig = p384::ecdsa::Signature::from_slice(&sig).unwrap();
                key.verify(&msg, &sig).is_ok()
            }
        };
        assert_eq!(ok, case.valid, "SigVer case {}", &case.msg[..16]);
    }
}
