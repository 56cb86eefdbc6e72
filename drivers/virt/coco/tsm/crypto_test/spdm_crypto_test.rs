// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `spdm_crypto`: known-answer tests of `kernel::crypto`, the primitives an SPDM
//! requester needs, with published test vectors. Each group names its source.

use kernel::prelude::*;

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

/// A byte string of `n` times `b`.
fn repeat(b: u8, n: usize) -> Result<KVec<u8>> {
    Ok(KVec::from_elem(b, n, GFP_KERNEL)?)
}

/// A copy of `b` in the heap.
fn copy(b: &[u8]) -> Result<KVec<u8>> {
    let mut v = KVec::with_capacity(b.len(), GFP_KERNEL)?;
    v.extend_from_slice(b, GFP_KERNEL)?;
    Ok(v)
}

/// The bytes `start..=end_incl`.
fn range(start: u8, end_incl: u8) -> Result<KVec<u8>> {
    let mut v = KVec::new();
    for b in start..=end_incl {
        v.push(b, GFP_KERNEL)?;
    }
    Ok(v)
}

#[kunit_tests(spdm_crypto)]
mod tests {
    use super::{copy, range, repeat, unhex};
    use kernel::{
        crypto::{
            aes_gcm::AesGcmKey,
            ecdh::EcdhKey,
            ecdsa::EcdsaVerifier,
            hkdf,
            hmac::{hmac_sha256, hmac_sha384, HmacSha256, HmacSha384, HmacSha384Key},
            sha2::{Sha256, Sha384},
            Curve,
        },
        prelude::*,
    };

    // FIPS 180-2 appendices B.1, B.2 (SHA-256) and D.1, D.2 (SHA-384).
    const SHA_ABC_256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const SHA_2BLK_256: &str = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
    const MSG_2BLK_256: &[u8] = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    const SHA_ABC_384: &str = "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163\
                               1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7";
    const SHA_2BLK_384: &str = "09330c33f71147e83d192fc782cd1b4753111b173b3b05d2\
                                2fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039";
    const MSG_2BLK_384: &[u8] = b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn\
                                  hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

    #[test]
    fn sha256_fips180() -> Result {
        assert_eq!(Sha256::digest(b"abc")[..], unhex(SHA_ABC_256)?[..]);
        assert_eq!(Sha256::digest(MSG_2BLK_256)[..], unhex(SHA_2BLK_256)?[..]);
        // Byte by byte through a context, and a forked context.
        let mut h = Sha256::new();
        for b in MSG_2BLK_256 {
            h.update(core::slice::from_ref(b));
        }
        let fork = h.clone();
        assert_eq!(h.finish()[..], unhex(SHA_2BLK_256)?[..]);
        assert_eq!(fork.finish()[..], unhex(SHA_2BLK_256)?[..]);
        Ok(())
    }

    #[test]
    fn sha384_fips180() -> Result {
        assert_eq!(Sha384::digest(b"abc")[..], unhex(SHA_ABC_384)?[..]);
        assert_eq!(Sha384::digest(MSG_2BLK_384)[..], unhex(SHA_2BLK_384)?[..]);
        let mut h = Sha384::new();
        h.update(&MSG_2BLK_384[..100]);
        let mut fork = h.clone();
        h.update(&MSG_2BLK_384[100..]);
        fork.update(&MSG_2BLK_384[100..]);
        assert_eq!(h.finish()[..], unhex(SHA_2BLK_384)?[..]);
        assert_eq!(fork.finish()[..], unhex(SHA_2BLK_384)?[..]);
        Ok(())
    }

    /// RFC 4231 section 4: key, data, HMAC-SHA-256, HMAC-SHA-384 (test case 5 is truncated to
    /// 128 bits).
    fn rfc4231() -> Result<KVec<(KVec<u8>, KVec<u8>, &'static str, &'static str)>> {
        let mut v = KVec::new();
        // Test case 1.
        v.push(
            (
                repeat(0x0b, 20)?,
                unhex("4869205468657265")?, // "Hi There"
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
                "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec6\
                 82aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
            ),
            GFP_KERNEL,
        )?;
        // Test case 2.
        v.push(
            (
                unhex("4a656665")?, // "Jefe"
                unhex("7768617420646f2079612077616e7420666f72206e6f7468696e673f")?,
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47\
                 e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            ),
            GFP_KERNEL,
        )?;
        // Test case 3.
        v.push(
            (
                repeat(0xaa, 20)?,
                repeat(0xdd, 50)?,
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
                "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9feb\
                 e83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
            ),
            GFP_KERNEL,
        )?;
        // Test case 4.
        v.push(
            (
                range(0x01, 0x19)?,
                repeat(0xcd, 50)?,
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
                "3e8a69b7783c25851933ab6290af6ca77a9981480850009c\
                 c5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
            ),
            GFP_KERNEL,
        )?;
        // Test case 5 (truncated output).
        v.push(
            (
                repeat(0x0c, 20)?,
                unhex("546573742057697468205472756e636174696f6e")?,
                "a3b6167473100ee06e0c796c2955552b",
                "3abf34c3503b2a23a46efc619baef897",
            ),
            GFP_KERNEL,
        )?;
        // Test case 6: a key longer than the block.
        v.push(
            (
                repeat(0xaa, 131)?,
                unhex(
                    "54657374205573696e67204c61726765722054\
                     68616e20426c6f636b2d53697a65204b6579202d2048\
                     617368204b6579204669727374",
                )?,
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
                "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f\
                 3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
            ),
            GFP_KERNEL,
        )?;
        // Test case 7: key and data longer than the block.
        v.push(
            (
                repeat(0xaa, 131)?,
                unhex(
                    "5468697320697320612074657374207573696e67\
                     2061206c6172676572207468616e20626c6f636b\
                     2d73697a65206b657920616e642061206c617267\
                     6572207468616e20626c6f636b2d73697a652064\
                     6174612e20546865206b6579206e656564732074\
                     6f20626520686173686564206265666f72652062\
                     65696e6720757365642062792074686520484d41\
                     4320616c676f726974686d2e",
                )?,
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
                "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9a\
                 dccebb82461e99c5a678cc31e799176d3860e6110c46523e",
            ),
            GFP_KERNEL,
        )?;
        Ok(v)
    }

    #[test]
    fn hmac_sha256_rfc4231() -> Result {
        for (key, data, want, _) in rfc4231()?.iter() {
            let want = unhex(want)?;
            let n = want.len();
            assert_eq!(hmac_sha256(key, data)[..n], want[..]);
            let mut ctx = HmacSha256::new(key)?;
            let (a, b) = data.split_at(data.len() / 3);
            ctx.update(a);
            ctx.update(b);
            assert_eq!(ctx.finish()[..n], want[..]);
        }
        Ok(())
    }

    #[test]
    fn hmac_sha384_rfc4231() -> Result {
        for (key, data, _, want) in rfc4231()?.iter() {
            let want = unhex(want)?;
            let n = want.len();
            assert_eq!(hmac_sha384(key, data)[..n], want[..]);
            let prepared = HmacSha384Key::new(key)?;
            assert_eq!(prepared.mac(data)[..n], want[..]);
            let mut ctx = prepared.start()?;
            for chunk in data.chunks(7) {
                ctx.update(chunk);
            }
            assert_eq!(ctx.finish()[..n], want[..]);
            let mut ctx = HmacSha384::new(key)?;
            ctx.update(data);
            assert_eq!(ctx.finish()[..n], want[..]);
        }
        Ok(())
    }

    /// RFC 5869 appendix A, test cases 1-3 (SHA-256).
    #[test]
    fn hkdf_sha256_rfc5869() -> Result {
        let cases = [
            (
                repeat(0x0b, 22)?,
                range(0x00, 0x0c)?,
                range(0xf0, 0xf9)?,
                "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf\
                 34007208d5b887185865",
            ),
            (
                range(0x00, 0x4f)?,
                range(0x60, 0xaf)?,
                range(0xb0, 0xff)?,
                "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
                "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
                 59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
                 cc30c58179ec3e87c14c01d5c1f3434f1d87",
            ),
            (
                repeat(0x0b, 22)?,
                KVec::new(),
                KVec::new(),
                "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
                "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
                 9d201395faa4b61a96c8",
            ),
        ];
        for (ikm, salt, info, prk_hex, okm_hex) in cases.iter() {
            let prk = hkdf::sha256_extract(salt, ikm);
            assert_eq!(prk[..], unhex(prk_hex)?[..]);
            let want = unhex(okm_hex)?;
            let mut okm = KVec::from_elem(0u8, want.len(), GFP_KERNEL)?;
            hkdf::sha256_expand(&prk, info, &mut okm)?;
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
        let mut m2 = KVec::new();
        m2.extend_from_slice(&t1, GFP_KERNEL)?;
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

    /// "The Galois/Counter Mode of Operation (GCM)", McGrew and Viega, appendix B: test cases
    /// 1-4 (AES-128) and 13-16 (AES-256): key, IV, plaintext, AAD, ciphertext, tag.
    #[test]
    fn aes_gcm_spec_vectors() -> Result {
        const P: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
        const A: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
        const K128: &str = "feffe9928665731c6d6a8f9467308308";
        const K256: &str = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
        const C3: &str = "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
                          21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985";
        const C15: &str = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                           8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";
        let z128 = "00000000000000000000000000000000";
        let z256 = "0000000000000000000000000000000000000000000000000000000000000000";
        let cases: [(&str, &str, &str, &str, &str, &str); 8] = [
            (
                z128,
                "000000000000000000000000",
                "",
                "",
                "",
                "58e2fccefa7e3061367f1d57a4e7455a",
            ),
            (
                z128,
                "000000000000000000000000",
                z128,
                "",
                "0388dace60b6a392f328c2b971b2fe78",
                "ab6e47d42cec13bdf53a67b21257bddf",
            ),
            (
                K128,
                "cafebabefacedbaddecaf888",
                P,
                "",
                C3,
                "4d5c2af327cd64a62cf35abd2ba6fab4",
            ),
            (
                K128,
                "cafebabefacedbaddecaf888",
                &P[..120],
                A,
                &C3[..120],
                "5bc94fbc3221a5db94fae95ae7121a47",
            ),
            (
                z256,
                "000000000000000000000000",
                "",
                "",
                "",
                "530f8afbc74536b9a963b4f1c4cb738b",
            ),
            (
                z256,
                "000000000000000000000000",
                z128,
                "",
                "cea7403d4d606b6e074ec5d3baf39d18",
                "d0d1c8a799996bf0265b98b5d48ab919",
            ),
            (
                K256,
                "cafebabefacedbaddecaf888",
                P,
                "",
                C15,
                "b094dac5d93471bdec1a502270e3cc6c",
            ),
            (
                K256,
                "cafebabefacedbaddecaf888",
                &P[..120],
                A,
                &C15[..120],
                "76fc6ece0f4e1768cddf8853bb2d551b",
            ),
        ];
        for (k, iv, p, a, c, t) in cases.iter() {
            let key = AesGcmKey::new(&unhex(k)?)?;
            let mut nonce = [0u8; 12];
            nonce.copy_from_slice(&unhex(iv)?);
            let aad = unhex(a)?;
            let mut buf = unhex(p)?;
            let tag = key.encrypt(&nonce, &aad, &mut buf);
            assert_eq!(buf[..], unhex(c)?[..]);
            assert_eq!(tag[..], unhex(t)?[..]);
            key.decrypt(&nonce, &aad, &mut buf, &tag)?;
            assert_eq!(buf[..], unhex(p)?[..]);
            // Any change to ciphertext, AAD or tag is refused.
            let mut bad_tag = tag;
            bad_tag[15] ^= 0x80;
            assert_eq!(
                key.decrypt(&nonce, &aad, &mut copy(&buf)?, &bad_tag),
                Err(EBADMSG)
            );
            if !buf.is_empty() {
                let enc = key.encrypt(&nonce, &aad, &mut buf);
                buf[0] ^= 1;
                assert_eq!(key.decrypt(&nonce, &aad, &mut buf, &enc), Err(EBADMSG));
                assert!(buf.iter().all(|&b| b == 0));
            }
        }
        Ok(())
    }

    /// NIST CAVP "KAS ECC CDH primitive" vectors (ecccdhtestvectors, KAS_ECC_CDH_PrimitiveTest),
    /// COUNT = 0 of [P-256] and [P-384]: dIUT, QIUT, QCAVS, ZIUT.
    #[test]
    fn ecdh_cavp_cdh() -> Result {
        let cases = [
            (
                Curve::P256,
                "7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534",
                "ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230\
                 28af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141",
                "700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287\
                 db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac",
                "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b",
            ),
            (
                Curve::P384,
                "3cc3122a68f0d95027ad38c067916ba0eb8c38894d22e1b15618b6818a661774\
                 ad463b205da88cf699ab4d43c9cf98a1",
                "9803807f2f6d2fd966cdd0290bd410c0190352fbec7ff6247de1302df86f25d3\
                 4fe4a97bef60cff548355c015dbb3e5fba26ca69ec2f5b5d9dad20cc9da71138\
                 3a9dbe34ea3fa5a2af75b46502629ad54dd8b7d73a8abb06a3a3be47d650cc99",
                "a7c76b970c3b5fe8b05d2838ae04ab47697b9eaf52e764592efda27fe7513272\
                 734466b400091adbf2d68c58e0c50066ac68f19f2e1cb879aed43a9969b91a08\
                 39c4c38a49749b661efedf243451915ed0905a32b060992b468c64766fc8437a",
                "5f9d29dc5e31a163060356213669c8ce132e22f57c9a04f40ba7fcead493b457\
                 e5621e766c40a2e3d4d6a04b25e533f1",
            ),
        ];
        for (curve, d, qiut, qcavs, z) in cases.iter() {
            let key = EcdhKey::from_private(*curve, &unhex(d)?)?;
            let mut public = KVec::from_elem(0u8, curve.point_len(), GFP_KERNEL)?;
            key.public_key(&mut public)?;
            assert_eq!(public[..], unhex(qiut)?[..]);
            let mut secret = KVec::from_elem(0u8, curve.coordinate_len(), GFP_KERNEL)?;
            key.shared_secret(&unhex(qcavs)?, &mut secret)?;
            assert_eq!(secret[..], unhex(z)?[..]);
            // A peer point off the curve is refused.
            let mut bad = unhex(qcavs)?;
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(key.shared_secret(&bad, &mut secret).is_err());
            // Wrong lengths.
            assert_eq!(key.shared_secret(&bad[1..], &mut secret), Err(EINVAL));
            assert_eq!(
                EcdhKey::from_private(*curve, &unhex(d)?[1..]).err(),
                Some(EINVAL)
            );
        }
        // The private key must be in [1, n - 1].
        assert!(EcdhKey::from_private(Curve::P256, &[0u8; 32]).is_err());
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

    /// NIST CAVP FIPS 186-4 ECDSA "SigVer" vectors (186-3ecdsatestvectors, SigVer.rsp),
    /// [P-256,SHA-256] and [P-384,SHA-384]: Msg, Qx, Qy, R, S, Result.
    #[test]
    fn ecdsa_cavp_sigver() -> Result {
        let cases = [
            (
                Curve::P256,
                "60cd64b2cd2be6c33859b94875120361a24085f3765cb8b2bf11e026fa9d8855\
                 dbe435acf7882e84f3c7857f96e2baab4d9afe4588e4a82e17a78827bfdb5ddb\
                 d1c211fbc2e6d884cddd7cb9d90d5bf4a7311b83f352508033812c776a0e00c0\
                 03c7e0d628e50736c7512df0acfa9f2320bd102229f46495ae6d0857cc452a84",
                "2d98ea01f754d34bbc3003df5050200abf445ec728556d7ed7d5c54c55552b6d\
                 9b52672742d637a32add056dfd6d8792f2a33c2e69dafabea09b960bc61e230a",
                "06108e525f845d0155bf60193222b3219c98e3d49424c2fb2a0987f825c17959\
                 62b5cdd591e5b507e560167ba8f6f7cda74673eb315680cb89ccbc4eec477dce",
                true,
            ),
            (
                // Message changed.
                Curve::P256,
                "76f987ec5448dd72219bd30bf6b66b0775c80b394851a43ff1f537f140a6e722\
                 9ef8cd72ad58b1d2d20298539d6347dd5598812bc65323aceaf05228f738b5ad\
                 3e8d9fe4100fd767c2f098c77cb99c2992843ba3eed91d32444f3b6db6cd212d\
                 d4e5609548f4bb62812a920f6e2bf1581be1ebeebdd06ec4e971862cc42055ca",
                "09308ea5bfad6e5adf408634b3d5ce9240d35442f7fe116452aaec0d25be8c24\
                 f40c93e023ef494b1c3079b2d10ef67f3170740495ce2cc57f8ee4b0618b8ee5",
                "5cc8aa7c35743ec0c23dde88dabd5e4fcd0192d2116f6926fef788cddb754e73\
                 9c9c045ebaa1b828c32f82ace0d18daebf5e156eb7cbfdc1eff4399a8a900ae7",
                false,
            ),
            (
                Curve::P384,
                "93e7e75cfaf3fa4e71df80f7f8c0ef6672a630d2dbeba1d61349acbaaa476f5f\
                 0e34dccbd85b9a815d908203313a22fe3e919504cb222d623ad95662ea4a9009\
                 9742c048341fe3a7a51110d30ad3a48a777c6347ea8b71749316e0dd1902facb\
                 304a76324b71f3882e6e70319e13fc2bb9f3f5dbb9bd2cc7265f52dfc0a3bb91",
                "a370cdbef95d1df5bf68ec487122514a107db87df3f8852068fd4694abcadb9b\
                 14302c72491a76a64442fc07bd99f02cd397c25dc1a5781573d039f2520cf329\
                 bf65120fdbe964b6b80101160e533d5570e62125b9f3276c49244b8d0f3e44ec",
                "c6c7bb516cc3f37a304328d136b2f44bb89d3dac78f1f5bcd36b412a8b4d879f\
                 6cdb75175292c696b58bfa9c91fe63916b711425e1b14f7224cd4b96717a84d6\
                 5a60ec9951a30152ea1dd3b6ea66a0088d1fd3e9a1ef069804b7d969148c37a0",
                true,
            ),
            (
                Curve::P384,
                "bc5582967888a425fb757bd4965900f01e6695d1547ed967c1d4f67b1b1de365\
                 d203f407698761699fec5f5a614c21e36a9f57a8aaf852e95538f56157855345\
                 68811a9a9ccc349843f6c16dc90a4ac96a8f72c33d9589a860f4981d7b4ee717\
                 3d1db5d49c4361368504c9a6cbbaedc2c9bff2b12884379ba90433698ceb881d",
                "d15ca4b2d944d5539658a19be8ef85874f0c363b870f1cd1f2dc9cb68b2a43a1\
                 0d37064697c84543e60982ab62bb32c8062fb7dfc379fc6465302ac5d8d11d3b\
                 957b594c9ef445cfe856765dd59e6f10f11809e115ac64969baa23543f2e5661",
                "e2cf123ce15ca4edad5f087778d483d9536e4a37d2d55599541c06f878e60354\
                 aa31df250b2fc4ed252b80219552c958696707a7e3f9a4b918e7c994e7332103\
                 d8e816bbe6d0d1cf72877318e087ed0e230b0d1269902f369acb432b9e97a389",
                true,
            ),
            (
                // R changed.
                Curve::P384,
                "137b215c0150ee95e8494b79173d7ae3c3e71efcc7c75ad92f75659ce1b2d7eb\
                 555aad8026277ae3709f46e896963964486946b9fe269df444a6ea289ec2285e\
                 7946db57ff18f722a583194a9644e863ae452d1457dc5db72ee20c486475f358\
                 dc575c621b5ab865c662e483258c7191b4cc218e1f9afeeb3e1cb978ce9657dc",
                "cd887c65c01a1f0880bf58611bf360a8435573bc6704bfb249f1192793f6d328\
                 3637cd50f3911e5134b0d6130a1db60ef2b3cbf4fe475fd15a7897561e5c898f\
                 10caa6d9d73fef10d4345917b527ce30caeaef138e21ac6d0a49ef2fef14bee6",
                "addfa475b998f391144156c418561d323bdfd0c4f416a2f71a946712c349bb79\
                 ba1334c3de5b86c2567b8657fe4ca1f11c314b1339f73545ff457323470695e0\
                 474c4b6860b35d703784fbf66e9c665de6ca3acb60283df61413e0740906f19e",
                false,
            ),
        ];
        for (curve, msg, q, sig, valid) in cases.iter() {
            let msg = unhex(msg)?;
            let key = EcdsaVerifier::new(*curve, &unhex(q)?)?;
            let verify = |sig: &[u8]| match curve {
                Curve::P256 => key.verify_digest(&Sha256::digest(&msg), sig),
                Curve::P384 => key.verify_digest(&Sha384::digest(&msg), sig),
            };
            let mut sig = unhex(sig)?;
            assert_eq!(verify(&sig).is_ok(), *valid);
            if *valid {
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
}
