// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `spdm_crypto`: known-answer tests of `kernel::crypto`, the primitives an SPDM
//! requester needs, with published test vectors (each group names its source), and of the
//! kernel's SPDM crypto provider (`tsm_spdm::KernelCrypto`) under `tsm_proto`'s key schedule and
//! secured messages, against the independently computed vectors the host tests hold RustCrypto
//! to (`spdm_kat.rs`).
//!
//! The suite `spdm_wycheproof` (`wycheproof.rs`) of the same module runs every case of the shared
//! Wycheproof files through `kernel::crypto`, loaded at run time as a firmware file.

use kernel::prelude::*;

mod certs;
mod spdm_kat;
mod vectors;
mod wycheproof;

module! {
    type: SpdmCryptoTest,
    name: "spdm_crypto_test",
    authors: ["tsm-rs developers"],
    description: "KUnit known-answer tests of kernel::crypto",
    license: "GPL",
}

struct SpdmCryptoTest;

impl kernel::Module for SpdmCryptoTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

/// Decodes a hex string (test vectors are kept in the notation of their sources).
fn unhex(s: &str) -> Result<KVec<u8>> {
    fn nibble(c: u8) -> Result<u8> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(EINVAL),
        }
    }
    let s = s.as_bytes();
    if s.len() % 2 != 0 {
        return Err(EINVAL);
    }
    let mut v = KVec::with_capacity(s.len() / 2, GFP_KERNEL)?;
    for pair in s.chunks(2) {
        v.push((nibble(pair[0])? << 4) | nibble(pair[1])?, GFP_KERNEL)?;
    }
    Ok(v)
}

/// Joins the hex pieces of a certificate and decodes them.
fn unhex_pieces(pieces: &[&str]) -> Result<KVec<u8>> {
    let mut der = KVec::new();
    for piece in pieces {
        der.extend_from_slice(&unhex(piece)?, GFP_KERNEL)?;
    }
    Ok(der)
}

/// A copy of `b` in the heap.
fn copy(b: &[u8]) -> Result<KVec<u8>> {
    let mut v = KVec::with_capacity(b.len(), GFP_KERNEL)?;
    v.extend_from_slice(b, GFP_KERNEL)?;
    Ok(v)
}

#[kunit_tests(spdm_crypto)]
mod tests {
    use super::spdm_kat::{
        Kat, APP_DATA, SESSION_ID, SHA256_AES128_SPDM12, SHA256_AES128_SPDM13,
        SHA384_AES256_SPDM12, SHA384_AES256_SPDM13,
    };
    use super::{certs, copy, unhex, unhex_pieces, vectors};
    use kernel::{
        crypto::{
            aes_gcm::AesGcmKey,
            ecdh::EcdhKey,
            ecdsa::EcdsaVerifier,
            hkdf,
            hmac::{hmac_sha256, hmac_sha384, HmacSha256, HmacSha384, HmacSha384Key},
            sha2::{Sha256, Sha384},
            x509::{der_len, Certificate},
            Curve,
        },
        prelude::*,
    };
    use tsm_proto::spdm::{
        crypto::{AeadAlgo, Digest, HashAlgo},
        key_schedule::{Direction, HandshakeSecrets},
        secured,
    };
    use tsm_spdm::KernelCrypto;

    fn curve(bits: usize) -> Curve {
        if bits == 256 {
            Curve::P256
        } else {
            Curve::P384
        }
    }

    #[test]
    fn sha256_fips180() -> Result {
        for case in vectors::SHA256 {
            let want = unhex(case.digest)?;
            assert_eq!(Sha256::digest(case.msg)[..], want[..]);
            // Byte by byte through a context, and a forked context.
            let mut h = Sha256::new();
            for b in case.msg {
                h.update(core::slice::from_ref(b));
            }
            let fork = h.clone();
            assert_eq!(h.finish()[..], want[..]);
            assert_eq!(fork.finish()[..], want[..]);
        }
        Ok(())
    }

    #[test]
    fn sha384_fips180() -> Result {
        for case in vectors::SHA384 {
            let want = unhex(case.digest)?;
            assert_eq!(Sha384::digest(case.msg)[..], want[..]);
            let (a, b) = case.msg.split_at(case.msg.len() / 2);
            let mut h = Sha384::new();
            h.update(a);
            let mut fork = h.clone();
            h.update(b);
            fork.update(b);
            assert_eq!(h.finish()[..], want[..]);
            assert_eq!(fork.finish()[..], want[..]);
        }
        Ok(())
    }

    #[test]
    fn hmac_sha256_rfc4231() -> Result {
        for case in vectors::RFC4231 {
            let (key, data, want) = (unhex(case.key)?, unhex(case.data)?, unhex(case.sha256)?);
            let n = want.len();
            assert_eq!(hmac_sha256(&key, &data)[..n], want[..]);
            let mut ctx = HmacSha256::new(&key)?;
            let (a, b) = data.split_at(data.len() / 3);
            ctx.update(a);
            ctx.update(b);
            assert_eq!(ctx.finish()[..n], want[..]);
        }
        Ok(())
    }

    #[test]
    fn hmac_sha384_rfc4231() -> Result {
        for case in vectors::RFC4231 {
            let (key, data, want) = (unhex(case.key)?, unhex(case.data)?, unhex(case.sha384)?);
            let n = want.len();
            assert_eq!(hmac_sha384(&key, &data)[..n], want[..]);
            let prepared = HmacSha384Key::new(&key)?;
            assert_eq!(prepared.mac(&data)[..n], want[..]);
            let mut ctx = prepared.start()?;
            for chunk in data.chunks(7) {
                ctx.update(chunk);
            }
            assert_eq!(ctx.finish()[..n], want[..]);
            let mut ctx = HmacSha384::new(&key)?;
            ctx.update(&data);
            assert_eq!(ctx.finish()[..n], want[..]);
        }
        Ok(())
    }

    #[test]
    fn hkdf_sha256_rfc5869() -> Result {
        for case in vectors::RFC5869_SHA256 {
            let prk = hkdf::sha256_extract(&unhex(case.salt)?, &unhex(case.ikm)?);
            assert_eq!(prk[..], unhex(case.prk)?[..]);
            let want = unhex(case.okm)?;
            let mut okm = KVec::from_elem(0u8, want.len(), GFP_KERNEL)?;
            hkdf::sha256_expand(&prk, &unhex(case.info)?, &mut okm)?;
            assert_eq!(okm[..], want[..]);
        }
        Ok(())
    }

    /// HKDF-SHA-384: no published known answers are embedded here (the Wycheproof vectors run on
    /// the host); check the length limit and that Expand is HMAC-SHA-384 (checked above against
    /// RFC 4231) chained as RFC 5869 section 2.3 defines.
    #[test]
    fn hkdf_sha384_structure() -> Result {
        let prk = hkdf::sha384_extract(b"salt", b"input keying material");
        assert_eq!(prk, hmac_sha384(b"salt", b"input keying material"));
        let mut okm = [0u8; 100];
        hkdf::sha384_expand(&prk, b"info", &mut okm)?;
        let t1 = hmac_sha384(&prk, b"info\x01");
        let mut m2 = copy(&t1)?;
        m2.extend_from_slice(b"info\x02", GFP_KERNEL)?;
        let t2 = hmac_sha384(&prk, &m2);
        assert_eq!(okm[..48], t1[..]);
        assert_eq!(okm[48..96], t2[..]);
        let mut max = KVec::from_elem(0u8, 255 * 48, GFP_KERNEL)?;
        hkdf::sha384_expand(&prk, b"", &mut max)?;
        let mut over = KVec::from_elem(0u8, 255 * 48 + 1, GFP_KERNEL)?;
        assert_eq!(hkdf::sha384_expand(&prk, b"", &mut over), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn aes_gcm_spec() -> Result {
        for case in vectors::GCM_SPEC {
            let key = AesGcmKey::new(&unhex(case.key)?)?;
            let mut nonce = [0u8; 12];
            nonce.copy_from_slice(&unhex(case.iv)?);
            let aad = unhex(case.aad)?;
            let pt = unhex(case.pt)?;
            let mut buf = copy(&pt)?;
            let tag = key.encrypt(&nonce, &aad, &mut buf);
            assert_eq!(buf[..], unhex(case.ct)?[..]);
            assert_eq!(tag[..], unhex(case.tag)?[..]);
            key.decrypt(&nonce, &aad, &mut buf, &tag)?;
            assert_eq!(buf[..], pt[..]);
            // A changed tag or ciphertext is refused, and no plaintext is left behind.
            let mut bad_tag = tag;
            bad_tag[15] ^= 0x80;
            let mut ct = unhex(case.ct)?;
            assert_eq!(key.decrypt(&nonce, &aad, &mut ct, &bad_tag), Err(EBADMSG));
            assert!(ct.iter().all(|&b| b == 0));
            if !pt.is_empty() {
                let mut ct = unhex(case.ct)?;
                ct[0] ^= 1;
                assert_eq!(key.decrypt(&nonce, &aad, &mut ct, &tag), Err(EBADMSG));
                assert!(ct.iter().all(|&b| b == 0));
            }
        }
        Ok(())
    }

    #[test]
    fn ecdh_cavp_cdh() -> Result {
        for case in vectors::CAVP_CDH {
            let curve = curve(case.bits);
            let d = unhex(case.d)?;
            let key = EcdhKey::from_private(curve, &d)?;
            let mut public = KVec::from_elem(0u8, curve.point_len(), GFP_KERNEL)?;
            key.public_key(&mut public)?;
            assert_eq!(public[..], unhex(case.q_iut)?[..]);
            let mut secret = KVec::from_elem(0u8, curve.coordinate_len(), GFP_KERNEL)?;
            let peer = unhex(case.q_cavs)?;
            key.shared_secret(&peer, &mut secret)?;
            assert_eq!(secret[..], unhex(case.z)?[..]);
            // A peer point off the curve is refused.
            let mut bad = copy(&peer)?;
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(key.shared_secret(&bad, &mut secret).is_err());
            // Wrong lengths.
            assert_eq!(key.shared_secret(&peer[1..], &mut secret), Err(EINVAL));
            assert_eq!(key.public_key(&mut secret), Err(EINVAL));
            assert_eq!(EcdhKey::from_private(curve, &d[1..]).err(), Some(EINVAL));
        }
        // The private key must be in [1, n - 1].
        assert!(EcdhKey::from_private(Curve::P256, &[0u8; 32]).is_err());
        assert!(EcdhKey::from_private(Curve::P384, &[0xffu8; 48]).is_err());
        Ok(())
    }

    #[test]
    fn ecdh_generated_keys_agree() -> Result {
        for curve in [Curve::P256, Curve::P384] {
            let a = EcdhKey::generate(curve)?;
            let b = EcdhKey::generate(curve)?;
            let mut pa = KVec::from_elem(0u8, curve.point_len(), GFP_KERNEL)?;
            let mut pb = copy(&pa)?;
            a.public_key(&mut pa)?;
            b.public_key(&mut pb)?;
            assert!(pa != pb);
            let mut sa = KVec::from_elem(0u8, curve.coordinate_len(), GFP_KERNEL)?;
            let mut sb = copy(&sa)?;
            a.shared_secret(&pb, &mut sa)?;
            b.shared_secret(&pa, &mut sb)?;
            assert_eq!(sa, sb);
        }
        Ok(())
    }

    #[test]
    fn ecdsa_cavp_sigver() -> Result {
        for case in vectors::CAVP_SIGVER {
            let curve = curve(case.bits);
            let msg = unhex(case.msg)?;
            let key = EcdsaVerifier::new(curve, &unhex(case.q)?)?;
            let verify = |sig: &[u8]| match curve {
                Curve::P256 => key.verify_digest(&Sha256::digest(&msg), sig),
                Curve::P384 => key.verify_digest(&Sha384::digest(&msg), sig),
            };
            let mut sig = unhex(case.sig)?;
            assert_eq!(verify(&sig).is_ok(), case.valid);
            if case.valid {
                // Flipping a bit of s breaks a valid signature.
                let last = sig.len() - 1;
                sig[last] ^= 1;
                assert_eq!(verify(&sig), Err(EKEYREJECTED));
                // s = 0 is out of range.
                let n = curve.coordinate_len();
                sig[n..].fill(0);
                assert_eq!(verify(&sig), Err(EBADMSG));
                // A truncated signature has the wrong length.
                assert_eq!(verify(&sig[1..]), Err(EINVAL));
            }
        }
        Ok(())
    }

    #[test]
    fn random_bytes_differ() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        kernel::crypto::random_bytes(&mut a);
        kernel::crypto::random_bytes(&mut b);
        assert!(a != b);
    }

    #[test]
    fn x509_chain_links_verify() -> Result {
        let root = Certificate::parse(&unhex_pieces(certs::ROOT)?)?;
        let intermediate = Certificate::parse(&unhex_pieces(certs::INTERMEDIATE)?)?;
        let leaf = Certificate::parse(&unhex_pieces(certs::LEAF)?)?;
        assert!(root.is_self_signed() && root.is_ca());
        assert!(!intermediate.is_self_signed() && intermediate.is_ca());
        assert!(!leaf.is_self_signed() && !leaf.is_ca());
        // The parser names a subject "O: CN" when CN does not start with O.
        assert_eq!(leaf.subject(), c"tsm-rs: tsm-devmodel device");
        root.verify_issued_by(&root)?;
        intermediate.verify_issued_by(&root)?;
        leaf.verify_issued_by(&intermediate)?;
        // A link in the wrong place, and another chain's root.
        assert_eq!(leaf.verify_issued_by(&root), Err(EKEYREJECTED));
        assert_eq!(intermediate.verify_issued_by(&leaf), Err(EKEYREJECTED));
        let foreign = Certificate::parse(&unhex_pieces(certs::FOREIGN_ROOT)?)?;
        assert_eq!(intermediate.verify_issued_by(&foreign), Err(EKEYREJECTED));

        let (curve, point) = leaf.ec_public_key()?;
        assert_eq!(curve, Curve::P384);
        // The certified key is a valid public key for signature checks.
        EcdsaVerifier::new(curve, point)?;
        Ok(())
    }

    #[test]
    fn x509_refuses_damaged_certificates() -> Result {
        let der = unhex_pieces(certs::INTERMEDIATE)?;
        assert_eq!(der_len(&der), Some(der.len()));
        // Cut short, or followed by another byte: not exactly one certificate.
        assert_eq!(
            Certificate::parse(&der[..der.len() - 1]).err(),
            Some(EBADMSG)
        );
        let mut longer = copy(&der)?;
        longer.push(0, GFP_KERNEL)?;
        assert_eq!(Certificate::parse(&longer).err(), Some(EBADMSG));
        // A flipped bit in the signed part parses but no longer verifies.
        let root = Certificate::parse(&unhex_pieces(certs::ROOT)?)?;
        let mut tampered = copy(&der)?;
        tampered[40] ^= 0x01;
        if let Ok(cert) = Certificate::parse(&tampered) {
            assert_eq!(cert.verify_issued_by(&root), Err(EKEYREJECTED));
        }
        Ok(())
    }

    /// Unhexed bytes as a digest of the provider's interface.
    fn digest(hex: &str) -> Result<Digest> {
        Digest::from_slice(&unhex(hex)?).map_err(|_| EINVAL)
    }

    /// The hash and AEAD of a vector set, from its sizes.
    fn algorithms(kat: &Kat) -> Result<(HashAlgo, AeadAlgo)> {
        let hash = match unhex(kat.th1)?.len() {
            32 => HashAlgo::Sha256,
            _ => HashAlgo::Sha384,
        };
        let aead = match unhex(kat.req_app_key)?.len() {
            16 => AeadAlgo::Aes128Gcm,
            _ => AeadAlgo::Aes256Gcm,
        };
        Ok((hash, aead))
    }

    fn check_key_schedule(kat: &Kat) -> Result {
        let c = KernelCrypto::new();
        let (hash, aead) = algorithms(kat)?;
        let th1 = digest(kat.th1)?;
        let dhe = unhex(kat.dhe_secret)?;
        let hs = HandshakeSecrets::derive(&c, kat.version, hash, aead, &dhe, &th1)
            .map_err(|_| EINVAL)?;
        assert_eq!(
            hs.handshake_secret.as_slice(),
            &unhex(kat.handshake_secret)?[..]
        );
        assert_eq!(hs.request.as_slice(), &unhex(kat.req_hs_secret)?[..]);
        assert_eq!(hs.response.as_slice(), &unhex(kat.rsp_hs_secret)?[..]);
        assert_eq!(
            hs.request_finished.as_slice(),
            &unhex(kat.req_finished_key)?[..]
        );
        assert_eq!(
            hs.response_finished.as_slice(),
            &unhex(kat.rsp_finished_key)?[..]
        );
        let keys = hs.keys(&c).map_err(|_| EINVAL)?;
        assert_eq!(keys.request.key(), &unhex(kat.req_hs_key)?[..]);
        assert_eq!(&keys.request.iv[..], &unhex(kat.req_hs_iv)?[..]);
        assert_eq!(keys.response.key(), &unhex(kat.rsp_hs_key)?[..]);
        assert_eq!(&keys.response.iv[..], &unhex(kat.rsp_hs_iv)?[..]);
        let data = hs.data_keys(&c, &digest(kat.th2)?).map_err(|_| EINVAL)?;
        assert_eq!(data.request.key(), &unhex(kat.req_app_key)?[..]);
        assert_eq!(&data.request.iv[..], &unhex(kat.req_app_iv)?[..]);
        assert_eq!(data.response.key(), &unhex(kat.rsp_app_key)?[..]);
        assert_eq!(&data.response.iv[..], &unhex(kat.rsp_app_iv)?[..]);

        // One key update of each direction (KEY_UPDATE).
        let secrets = hs.data_secrets(&c, &digest(kat.th2)?).map_err(|_| EINVAL)?;
        for (direction, secret, key, iv) in [
            (
                Direction::Request,
                kat.req_upd_secret,
                kat.req_upd_key,
                kat.req_upd_iv,
            ),
            (
                Direction::Response,
                kat.rsp_upd_secret,
                kat.rsp_upd_key,
                kat.rsp_upd_iv,
            ),
        ] {
            let (next, keys) = secrets.updated(&c, direction).map_err(|_| EINVAL)?;
            let updated = match direction {
                Direction::Request => &next.request,
                Direction::Response => &next.response,
            };
            assert_eq!(updated.as_slice(), &unhex(secret)?[..]);
            assert_eq!(keys.key(), &unhex(key)?[..]);
            assert_eq!(&keys.iv[..], &unhex(iv)?[..]);
            assert_eq!(keys.sequence, 0);
        }

        // Every record, sealed and opened at its sequence number with the request data keys.
        let app = unhex(APP_DATA)?;
        for r in kat.records {
            let mut tx = data.request.clone();
            tx.sequence = r.sequence;
            let mut buf = KVec::from_elem(0u8, secured::OVERHEAD + app.len(), GFP_KERNEL)?;
            buf[secured::APP_DATA_OFFSET..][..app.len()].copy_from_slice(&app);
            let len = secured::seal_in_place(&c, &mut tx, SESSION_ID, &mut buf, app.len())
                .map_err(|_| EINVAL)?;
            assert_eq!(&buf[..len], &unhex(r.record)?[..]);
            let mut rx = data.request.clone();
            rx.sequence = r.sequence;
            let mut record = unhex(r.record)?;
            let (id, opened) = secured::open(&c, &mut rx, &mut record).map_err(|_| EINVAL)?;
            assert_eq!(id, SESSION_ID);
            assert_eq!(opened, &app[..]);
        }
        Ok(())
    }

    #[test]
    fn spdm_key_schedule_sha384_aes256() -> Result {
        check_key_schedule(&SHA384_AES256_SPDM12)?;
        check_key_schedule(&SHA384_AES256_SPDM13)
    }

    #[test]
    fn spdm_key_schedule_sha256_aes128() -> Result {
        check_key_schedule(&SHA256_AES128_SPDM12)?;
        check_key_schedule(&SHA256_AES128_SPDM13)
    }
}
