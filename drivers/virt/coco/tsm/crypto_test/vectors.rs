// SPDX-License-Identifier: GPL-2.0

//! Published known-answer vectors for the crypto an SPDM requester needs, as hex strings in
//! the notation of their sources. Shared, unchanged, by the KUnit suite `spdm_crypto` (against
//! `kernel::crypto`) and the host tests in `rust/proto/tests/crypto_vectors.rs` (against
//! RustCrypto), so both providers are held to the same bytes.

/// A message and its digest.
pub(crate) struct HashCase {
    pub(crate) msg: &'static [u8],
    pub(crate) digest: &'static str,
}

/// FIPS 180-2 appendix B.1 and B.2: SHA-256 of "abc" and of a two-block message.
pub(crate) const SHA256: &[HashCase] = &[
    HashCase {
        msg: b"abc",
        digest: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    },
    HashCase {
        msg: b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        digest: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    },
];

/// FIPS 180-2 appendix D.1 and D.2: SHA-384 of "abc" and of a two-block message.
pub(crate) const SHA384: &[HashCase] = &[
    HashCase {
        msg: b"abc",
        digest: "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
                 8086072ba1e7cc2358baeca134c825a7",
    },
    HashCase {
        msg: b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn\
               hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
        digest: "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712\
                 fcc7c71a557e2db966c3e9fa91746039",
    },
];

/// HMAC key, data and MACs; a MAC shorter than the digest is a truncated MAC.
pub(crate) struct HmacCase {
    pub(crate) key: &'static str,
    pub(crate) data: &'static str,
    pub(crate) sha256: &'static str,
    pub(crate) sha384: &'static str,
}

/// RFC 4231 section 4, test cases 1-7 (case 5 truncated to 128 bits).
pub(crate) const RFC4231: &[HmacCase] = &[
    // Test case 1.
    HmacCase {
        key: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        data: "4869205468657265",
        sha256: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        sha384: "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c\
                 faea9ea9076ede7f4af152e8b2fa9cb6",
    },
    // Test case 2.
    HmacCase {
        key: "4a656665",
        data: "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
        sha256: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        sha384: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
                 8e2240ca5e69e2c78b3239ecfab21649",
    },
    // Test case 3.
    HmacCase {
        key: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        data: "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\
               dddddddddddddddddddddddddddddddddddd",
        sha256: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        sha384: "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b\
                 2a5ab39dc13814b94e3ab6e101a34f27",
    },
    // Test case 4.
    HmacCase {
        key: "0102030405060708090a0b0c0d0e0f10111213141516171819",
        data: "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\
               cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
        sha256: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        sha384: "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e\
                 6801dd23c4a7d679ccf8a386c674cffb",
    },
    // Test case 5.
    HmacCase {
        key: "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
        data: "546573742057697468205472756e636174696f6e",
        sha256: "a3b6167473100ee06e0c796c2955552b",
        sha384: "3abf34c3503b2a23a46efc619baef897",
    },
    // Test case 6.
    HmacCase {
        key: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\
              aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\
              aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\
              aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\
              aaaaaa",
        data: "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a\
               65204b6579202d2048617368204b6579204669727374",
        sha256: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        sha384: "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6\
                 0c2ef6ab4030fe8296248df163f44952",
    },
    // Test case 7.
    HmacCase {
        key: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\
              aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\
              aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\
              aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\
              aaaaaa",
        data: "5468697320697320612074657374207573696e672061206c6172676572207468\
               616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074\
               68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565\
               647320746f20626520686173686564206265666f7265206265696e6720757365\
               642062792074686520484d414320616c676f726974686d2e",
        sha256: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        sha384: "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5\
                 a678cc31e799176d3860e6110c46523e",
    },
];

/// HKDF input keying material, salt, info, PRK and OKM.
pub(crate) struct HkdfCase {
    pub(crate) ikm: &'static str,
    pub(crate) salt: &'static str,
    pub(crate) info: &'static str,
    pub(crate) prk: &'static str,
    pub(crate) okm: &'static str,
}

/// RFC 5869 appendix A, test cases 1-3 (HKDF-SHA-256).
pub(crate) const RFC5869_SHA256: &[HkdfCase] = &[
    // Test case 1.
    HkdfCase {
        ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        salt: "000102030405060708090a0b0c",
        info: "f0f1f2f3f4f5f6f7f8f9",
        prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    },
    // Test case 2.
    HkdfCase {
        ikm: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\
              202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\
              404142434445464748494a4b4c4d4e4f",
        salt: "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f\
               808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f\
               a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
        info: "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf\
               d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef\
               f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
        prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
        okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
              59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
              cc30c58179ec3e87c14c01d5c1f3434f1d87",
    },
    // Test case 3.
    HkdfCase {
        ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        salt: "",
        info: "",
        prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    },
];

/// AES-GCM key, 96-bit IV, plaintext, additional data, ciphertext and 128-bit tag.
pub(crate) struct GcmCase {
    pub(crate) key: &'static str,
    pub(crate) iv: &'static str,
    pub(crate) pt: &'static str,
    pub(crate) aad: &'static str,
    pub(crate) ct: &'static str,
    pub(crate) tag: &'static str,
}

/// "The Galois/Counter Mode of Operation (GCM)", D. McGrew and J. Viega, appendix B: test cases
/// 1-4 (AES-128) and 13-16 (AES-256).
pub(crate) const GCM_SPEC: &[GcmCase] = &[
    // Test case 1.
    GcmCase {
        key: "00000000000000000000000000000000",
        iv: "000000000000000000000000",
        pt: "",
        aad: "",
        ct: "",
        tag: "58e2fccefa7e3061367f1d57a4e7455a",
    },
    // Test case 2.
    GcmCase {
        key: "00000000000000000000000000000000",
        iv: "000000000000000000000000",
        pt: "00000000000000000000000000000000",
        aad: "",
        ct: "0388dace60b6a392f328c2b971b2fe78",
        tag: "ab6e47d42cec13bdf53a67b21257bddf",
    },
    // Test case 3.
    GcmCase {
        key: "feffe9928665731c6d6a8f9467308308",
        iv: "cafebabefacedbaddecaf888",
        pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        aad: "",
        ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
             21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
        tag: "4d5c2af327cd64a62cf35abd2ba6fab4",
    },
    // Test case 4.
    GcmCase {
        key: "feffe9928665731c6d6a8f9467308308",
        iv: "cafebabefacedbaddecaf888",
        pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
             21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
        tag: "5bc94fbc3221a5db94fae95ae7121a47",
    },
    // Test case 13.
    GcmCase {
        key: "0000000000000000000000000000000000000000000000000000000000000000",
        iv: "000000000000000000000000",
        pt: "",
        aad: "",
        ct: "",
        tag: "530f8afbc74536b9a963b4f1c4cb738b",
    },
    // Test case 14.
    GcmCase {
        key: "0000000000000000000000000000000000000000000000000000000000000000",
        iv: "000000000000000000000000",
        pt: "00000000000000000000000000000000",
        aad: "",
        ct: "cea7403d4d606b6e074ec5d3baf39d18",
        tag: "d0d1c8a799996bf0265b98b5d48ab919",
    },
    // Test case 15.
    GcmCase {
        key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        iv: "cafebabefacedbaddecaf888",
        pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        aad: "",
        ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
        tag: "b094dac5d93471bdec1a502270e3cc6c",
    },
    // Test case 16.
    GcmCase {
        key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        iv: "cafebabefacedbaddecaf888",
        pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        tag: "76fc6ece0f4e1768cddf8853bb2d551b",
    },
];

/// An ECC CDH primitive test: curve size in bits, the IUT's private key dIUT and public key
/// QIUT (X || Y), the peer's public key QCAVS (X || Y), and the shared secret ZIUT.
pub(crate) struct CdhCase {
    pub(crate) bits: usize,
    pub(crate) d: &'static str,
    pub(crate) q_iut: &'static str,
    pub(crate) q_cavs: &'static str,
    pub(crate) z: &'static str,
}

/// NIST CAVP "KAS ECC CDH primitive" vectors (KAS_ECC_CDH_PrimitiveTest.txt), COUNT = 0 of
/// [P-256] and [P-384].
pub(crate) const CAVP_CDH: &[CdhCase] = &[
    CdhCase {
        bits: 256,
        d: "7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534",
        q_iut: "ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230\
                28af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141",
        q_cavs: "700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287\
                 db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac",
        z: "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b",
    },
    CdhCase {
        bits: 384,
        d: "3cc3122a68f0d95027ad38c067916ba0eb8c38894d22e1b15618b6818a661774\
            ad463b205da88cf699ab4d43c9cf98a1",
        q_iut: "9803807f2f6d2fd966cdd0290bd410c0190352fbec7ff6247de1302df86f25d3\
                4fe4a97bef60cff548355c015dbb3e5fba26ca69ec2f5b5d9dad20cc9da71138\
                3a9dbe34ea3fa5a2af75b46502629ad54dd8b7d73a8abb06a3a3be47d650cc99",
        q_cavs: "a7c76b970c3b5fe8b05d2838ae04ab47697b9eaf52e764592efda27fe7513272\
                 734466b400091adbf2d68c58e0c50066ac68f19f2e1cb879aed43a9969b91a08\
                 39c4c38a49749b661efedf243451915ed0905a32b060992b468c64766fc8437a",
        z: "5f9d29dc5e31a163060356213669c8ce132e22f57c9a04f40ba7fcead493b457\
            e5621e766c40a2e3d4d6a04b25e533f1",
    },
];

/// An ECDSA signature verification test: curve size in bits (the hash is SHA-256 for P-256 and
/// SHA-384 for P-384), message, public key Q (X || Y), signature (R || S) and the expected result.
pub(crate) struct SigVerCase {
    pub(crate) bits: usize,
    pub(crate) msg: &'static str,
    pub(crate) q: &'static str,
    pub(crate) sig: &'static str,
    pub(crate) valid: bool,
}

/// NIST CAVP FIPS 186-4 ECDSA "SigVer" vectors (SigVer.rsp of 186-4ecdsatestvectors),
/// [P-256,SHA-256] and [P-384,SHA-384].
pub(crate) const CAVP_SIGVER: &[SigVerCase] = &[
    SigVerCase {
        bits: 256,
        msg: "60cd64b2cd2be6c33859b94875120361a24085f3765cb8b2bf11e026fa9d8855\
              dbe435acf7882e84f3c7857f96e2baab4d9afe4588e4a82e17a78827bfdb5ddb\
              d1c211fbc2e6d884cddd7cb9d90d5bf4a7311b83f352508033812c776a0e00c0\
              03c7e0d628e50736c7512df0acfa9f2320bd102229f46495ae6d0857cc452a84",
        q: "2d98ea01f754d34bbc3003df5050200abf445ec728556d7ed7d5c54c55552b6d\
            9b52672742d637a32add056dfd6d8792f2a33c2e69dafabea09b960bc61e230a",
        sig: "06108e525f845d0155bf60193222b3219c98e3d49424c2fb2a0987f825c17959\
              62b5cdd591e5b507e560167ba8f6f7cda74673eb315680cb89ccbc4eec477dce",
        valid: true,
    },
    // Message changed.
    SigVerCase {
        bits: 256,
        msg: "76f987ec5448dd72219bd30bf6b66b0775c80b394851a43ff1f537f140a6e722\
              9ef8cd72ad58b1d2d20298539d6347dd5598812bc65323aceaf05228f738b5ad\
              3e8d9fe4100fd767c2f098c77cb99c2992843ba3eed91d32444f3b6db6cd212d\
              d4e5609548f4bb62812a920f6e2bf1581be1ebeebdd06ec4e971862cc42055ca",
        q: "09308ea5bfad6e5adf408634b3d5ce9240d35442f7fe116452aaec0d25be8c24\
            f40c93e023ef494b1c3079b2d10ef67f3170740495ce2cc57f8ee4b0618b8ee5",
        sig: "5cc8aa7c35743ec0c23dde88dabd5e4fcd0192d2116f6926fef788cddb754e73\
              9c9c045ebaa1b828c32f82ace0d18daebf5e156eb7cbfdc1eff4399a8a900ae7",
        valid: false,
    },
    SigVerCase {
        bits: 384,
        msg: "93e7e75cfaf3fa4e71df80f7f8c0ef6672a630d2dbeba1d61349acbaaa476f5f\
              0e34dccbd85b9a815d908203313a22fe3e919504cb222d623ad95662ea4a9009\
              9742c048341fe3a7a51110d30ad3a48a777c6347ea8b71749316e0dd1902facb\
              304a76324b71f3882e6e70319e13fc2bb9f3f5dbb9bd2cc7265f52dfc0a3bb91",
        q: "a370cdbef95d1df5bf68ec487122514a107db87df3f8852068fd4694abcadb9b\
            14302c72491a76a64442fc07bd99f02cd397c25dc1a5781573d039f2520cf329\
            bf65120fdbe964b6b80101160e533d5570e62125b9f3276c49244b8d0f3e44ec",
        sig: "c6c7bb516cc3f37a304328d136b2f44bb89d3dac78f1f5bcd36b412a8b4d879f\
              6cdb75175292c696b58bfa9c91fe63916b711425e1b14f7224cd4b96717a84d6\
              5a60ec9951a30152ea1dd3b6ea66a0088d1fd3e9a1ef069804b7d969148c37a0",
        valid: true,
    },
    SigVerCase {
        bits: 384,
        msg: "bc5582967888a425fb757bd4965900f01e6695d1547ed967c1d4f67b1b1de365\
              d203f407698761699fec5f5a614c21e36a9f57a8aaf852e95538f56157855345\
              68811a9a9ccc349843f6c16dc90a4ac96a8f72c33d9589a860f4981d7b4ee717\
              3d1db5d49c4361368504c9a6cbbaedc2c9bff2b12884379ba90433698ceb881d",
        q: "d15ca4b2d944d5539658a19be8ef85874f0c363b870f1cd1f2dc9cb68b2a43a1\
            0d37064697c84543e60982ab62bb32c8062fb7dfc379fc6465302ac5d8d11d3b\
            957b594c9ef445cfe856765dd59e6f10f11809e115ac64969baa23543f2e5661",
        sig: "e2cf123ce15ca4edad5f087778d483d9536e4a37d2d55599541c06f878e60354\
              aa31df250b2fc4ed252b80219552c958696707a7e3f9a4b918e7c994e7332103\
              d8e816bbe6d0d1cf72877318e087ed0e230b0d1269902f369acb432b9e97a389",
        valid: true,
    },
    // R changed.
    SigVerCase {
        bits: 384,
        msg: "137b215c0150ee95e8494b79173d7ae3c3e71efcc7c75ad92f75659ce1b2d7eb\
              555aad8026277ae3709f46e896963964486946b9fe269df444a6ea289ec2285e\
              7946db57ff18f722a583194a9644e863ae452d1457dc5db72ee20c486475f358\
              dc575c621b5ab865c662e483258c7191b4cc218e1f9afeeb3e1cb978ce9657dc",
        q: "cd887c65c01a1f0880bf58611bf360a8435573bc6704bfb249f1192793f6d328\
            3637cd50f3911e5134b0d6130a1db60ef2b3cbf4fe475fd15a7897561e5c898f\
            10caa6d9d73fef10d4345917b527ce30caeaef138e21ac6d0a49ef2fef14bee6",
        sig: "addfa475b998f391144156c418561d323bdfd0c4f416a2f71a946712c349bb79\
              ba1334c3de5b86c2567b8657fe4ca1f11c314b1339f73545ff457323470695e0\
              474c4b6860b35d703784fbf66e9c665de6ca3acb60283df61413e0740906f19e",
        valid: false,
    },
];
