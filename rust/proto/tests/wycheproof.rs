// SPDX-License-Identifier: GPL-2.0
//! Project Wycheproof vectors against the host's RustCrypto provider: HMAC, HKDF, AES-GCM, ECDH
//! and ECDSA (raw `r || s`) for SHA-256/P-256 and SHA-384/P-384.
//!
//! The JSON files are read at test time from `../shared/vectors/wycheproof` next to the
//! repository and are never copied into it. Without them every test here is reported as ignored
//! (see `build.rs`).

use aes_gcm::aead::consts::{U12, U16};
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::{Aes128, Aes192, Aes256};
use aes_gcm::{AesGcm, Nonce, Tag};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Sha256, Sha384};
use std::path::PathBuf;

const MISSING: &str = "Wycheproof vectors not found in ../shared/vectors/wycheproof";

fn load(name: &str) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/wycheproof");
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().expect("hex string");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Every test case of a file, with its group.
fn cases(file: &Value) -> Vec<(&Value, &Value)> {
    let mut out = Vec::new();
    for group in file["testGroups"].as_array().expect("testGroups") {
        for test in group["tests"].as_array().expect("tests") {
            out.push((group, test));
        }
    }
    assert_eq!(
        out.len() as u64,
        file["numberOfTests"].as_u64().expect("numberOfTests")
    );
    out
}

fn result(test: &Value) -> &str {
    test["result"].as_str().expect("result")
}

fn id(test: &Value) -> u64 {
    test["tcId"].as_u64().expect("tcId")
}

fn hmac_file<M: Mac + KeyInit>(name: &str) {
    let file = load(name);
    for (group, test) in cases(&file) {
        let tag_len = group["tagSize"].as_u64().unwrap() as usize / 8;
        let mut mac = <M as Mac>::new_from_slice(&hex(&test["key"])).unwrap();
        mac.update(&hex(&test["msg"]));
        let full = mac.finalize().into_bytes();
        let equal = full[..tag_len] == hex(&test["tag"])[..];
        assert_eq!(equal, result(test) == "valid", "{name} tcId {}", id(test));
    }
}

#[test]
#[cfg_attr(not(tsm_wycheproof), ignore = "Wycheproof vectors not found")]
fn hmac_sha256() {
    hmac_file::<Hmac<Sha256>>("hmac_sha256_test.json");
}

#[test]
#[cfg_attr(not(tsm_wycheproof), ignore = "Wycheproof vectors not found")]
fn hmac_sha384() {
    hmac_file::<Hmac<Sha384>>("hmac_sha384_test.json");
}

macro_rules! hkdf_file {
    ($name:expr, $hash:ty) => {{
        let file = load($name);
        for (_, test) in cases(&file) {
            let salt = hex(&test["salt"]);
            let hk = Hkdf::<$hash>::new(Some(&salt), &hex(&test["ikm"]));
            let mut okm = vec![0u8; test["size"].as_u64().unwrap() as usize];
            let got = hk.expand(&hex(&test["info"]), &mut okm).ok().map(|()| okm);
            match result(test) {
                "valid" => assert_eq!(got, Some(hex(&test["okm"])), "{} tcId {}", $name, id(test)),
                _ => assert_eq!(got, None, "{} tcId {}", $name, id(test)),
            }
        }
    }};
}

#[test]
#[cfg_attr(not(tsm_wycheproof), ignore = "Wycheproof vectors not found")]
fn hkdf_sha256() {
    hkdf_file!("hkdf_sha256_test.json", Sha256);
}

#[test]
#[cfg_attr(not(tsm_wycheproof), ignore = "Wycheproof vectors not found")]
fn hkdf_sha384() {
    hkdf_file!("hkdf_sha384_test.json", Sha384);
}

/// Decrypts or encrypts one case with a 96-bit IV and a 128-bit tag.
fn gcm_case<C: KeyInit + AeadInPlace<NonceSize = U12, TagSize = U16>>(test: &Value) -> bool {
    let cipher = C::new_from_slice(&hex(&test["key"])).unwrap();
    let iv: [u8; 12] = hex(&test["iv"]).try_into().unwrap();
    let nonce = Nonce::<U12>::from(iv);
    let (aad, msg, ct) = (hex(&test["aad"]), hex(&test["msg"]), hex(&test["ct"]));
    let Ok(tag) = <[u8; 16]>::try_from(hex(&test["tag"])) else {
        return false;
    };
    let mut buf = ct.clone();
    let opened = cipher
        .decrypt_in_place_detached(&nonce, &aad, &mut buf, &Tag::from(tag))
        .is_ok();
    if opened {
        assert_eq!(buf, msg, "tcId {}", id(test));
        let mut buf = msg.clone();
        let tag2 = cipher
            .encrypt_in_place_detached(&nonce, &aad, &mut buf)
            .unwrap();
        assert_eq!(
            (buf, tag2.to_vec()),
            (ct, tag.to_vec()),
            "tcId {}",
            id(test)
        );
    }
    opened
}

#[test]
#[cfg_attr(not(tsm_wycheproof), ignore = "Wycheproof vectors not found")]
fn aes_gcm() {
    let file = load("aes_gcm_test.json");
    let (mut run, mut other) = (0, 0);
    for (group, test) in cases(&file) {
        // SPDM and the kernel's aes_gcm_* use 96-bit IVs and 128-bit tags only.
        if group["ivSize"].as_u64() != Some(96) || group["tagSize"].as_u64() != Some(128) {
            other += 1;
            continue;
        }
        let opened = match group["keySize"].as_u64().unwrap() {
            128 => gcm_case::<AesGcm<Aes128, U12>>(test),
            192 => gcm_case::<AesGcm<Aes192, U12>>(test),
            256 => gcm_case::<AesGcm<Aes256, U12>>(test),
            n => panic!("key size {n}"),
        };
        assert_eq!(opened, result(test) == "valid", "aes_gcm tcId {}", id(test));
        run += 1;
    }
    assert!(run > 100, "only {run} AES-GCM cases with 96-bit IVs");
    eprintln!("aes_gcm: {run} cases run, {other} with other IV or tag sizes not applicable");
}

/// Big-endian private key of `len` bytes from Wycheproof's (possibly zero-padded) integer.
fn scalar(v: &Value, len: usize) -> Vec<u8> {
    let mut d = hex(v);
    while d.len() > len && d[0] == 0 {
        d.remove(0);
    }
    let mut out = vec![0u8; len.saturating_sub(d.len())];
    out.extend(d);
    out
}

macro_rules! ecdh_file {
    ($name:expr, $curve:ident, $len:expr) => {{
        let file = load($name);
        for (_, test) in cases(&file) {
            let sk = $curve::SecretKey::from_slice(&scalar(&test["private"], $len)).unwrap();
            let shared = $curve::PublicKey::from_sec1_bytes(&hex(&test["public"]))
                .ok()
                .map(|pk| {
                    $curve::ecdh::diffie_hellman(sk.to_nonzero_scalar(), pk.as_affine())
                        .raw_secret_bytes()
                        .to_vec()
                });
            match result(test) {
                "valid" => assert_eq!(shared, Some(hex(&test["shared"])), "tcId {}", id(test)),
                "invalid" => assert_eq!(shared, None, "{} tcId {}", $name, id(test)),
                // Acceptable (e.g. compressed points): either refused or the right secret.
                _ => {
                    if let Some(s) = shared {
                        assert_eq!(s, hex(&test["shared"]), "tcId {}", id(test));
                    }
                }
            }
        }
    }};
}

#[test]
#[cfg_attr(not(tsm_wycheproof), ignore = "Wycheproof vectors not found")]
fn ecdh_secp256r1() {
    ecdh_file!("ecdh_secp256r1_ecpoint_test.json", p256, 32);
}

#[test]
#[cfg_attr(not(tsm_wycheproof), ignore = "Wycheproof vectors not found")]
fn ecdh_secp384r1() {
    ecdh_file!("ecdh_secp384r1_ecpoint_test.json", p384, 48);
}

macro_rules! ecdsa_file {
    ($name:expr, $curve:ident) => {{
        use $curve::ecdsa::signature::Verifier as _;
        let file = load($name);
        for (group, test) in cases(&file) {
            let key = $curve::ecdsa::VerifyingKey::from_sec1_bytes(&hex(
                &group["publicKey"]["uncompressed"]
            ))
            .unwrap();
            let ok = $curve::ecdsa::Signature::from_slice(&hex(&test["sig"]))
                .map(|sig| key.verify(&hex(&test["msg"]), &sig).is_ok())
                .unwrap_or(false);
            assert_eq!(ok, result(test) == "valid", "{} tcId {}", $name, id(test));
        }
    }};
}

#[test]
#[cfg_attr(not(tsm_wycheproof), ignore = "Wycheproof vectors not found")]
fn ecdsa_secp256r1_sha256_p1363() {
    ecdsa_file!("ecdsa_secp256r1_sha256_p1363_test.json", p256);
}

#[test]
#[cfg_attr(not(tsm_wycheproof), ignore = "Wycheproof vectors not found")]
fn ecdsa_secp384r1_sha384_p1363() {
    ecdsa_file!("ecdsa_secp384r1_sha384_p1363_test.json", p384);
}

#[test]
fn wycheproof_presence_is_reported() {
    if cfg!(not(tsm_wycheproof)) {
        eprintln!("{MISSING}: the Wycheproof tests are ignored");
    }
}
