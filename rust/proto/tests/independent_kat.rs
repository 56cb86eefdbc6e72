// SPDX-License-Identifier: GPL-2.0
//! Known-answer tests of the SPDM key schedule and of DSP0277 secured-message records against
//! values computed independently of rust/proto.
//!
//! Where the expected bytes come from: `scripts/kat/spdm_kat.py` derives them from the text of
//! the DMTF specifications with Python and the PyPI `cryptography` package (HKDF, HMAC,
//! AES-GCM), without rust/proto's code, into `drivers/virt/coco/tsm/crypto_test/spdm_kat.rs`,
//! which the KUnit suite `spdm_crypto` also runs against the kernel's provider; `--check`
//! confirms that the file holds its exact output:
//!
//! ```text
//! python3 scripts/kat/spdm_kat.py --check drivers/virt/coco/tsm/crypto_test/spdm_kat.rs
//! ```
//!
//! (with `cryptography` installed; the script's header says how). What is checked:
//!
//! * DSP0274 1.2 and 1.3 "Key schedule": HandshakeSecret = HKDF-Extract(Salt_0 = 0^H, DHE
//!   secret); request/response handshake secrets (bin_str1/bin_str2, "req hs data"/"rsp hs
//!   data", TH1); finished_key (bin_str7, "finished"); Salt_1 (bin_str0, "derived");
//!   Master-Secret = HKDF-Extract(Salt_1, 0^H); data secrets (bin_str3/bin_str4, "req app
//!   data"/"rsp app data", TH2); encryption key and IV of each secret (bin_str5 "key", bin_str6
//!   "iv"); BinConcat = Length (u16 little-endian) | "spdm1.2 "/"spdm1.3 " | label | context.
//! * DSP0277 "Session key update" (KEY_UPDATE): each direction's next data secret
//!   (bin_str9, "traffic upd", no context) and its key and IV.
//! * DSP0277 1.1/1.2 record as the PCIe DOE binding carries it (no sequence number field, no
//!   random data): SessionID | Length | AEAD(ApplicationDataLength | data) | MAC, AAD =
//!   SessionID | Length; per-message nonce = IV XOR the 64-bit sequence number, little-endian
//!   as DSP0277 1.2 specifies (also used for 1.1 sessions). Each record is sealed and opened
//!   at sequence numbers 0, 1 and 0x0102030405060708; the big-endian reading of the nonce
//!   (`record_big_endian`) must be refused from sequence number 1 on.
//!
//! The glue below is one helper per rust/proto operation. Both suites are covered: SHA-384 with
//! AES-256-GCM and SHA-256 with AES-128-GCM.

mod common;

// The vectors live beside the KUnit suite that checks the kernel's provider against them.
#[path = "../../../drivers/virt/coco/tsm/crypto_test/spdm_kat.rs"]
mod spdm_kat;

use common::HostCrypto;
use spdm_kat::{
    Kat, APP_DATA, SESSION_ID, SHA256_AES128_SPDM12, SHA256_AES128_SPDM13, SHA384_AES256_SPDM12,
    SHA384_AES256_SPDM13,
};
use tsm_proto::spdm::crypto::{
    AeadAlgo, Digest, HashAlgo, SpdmCrypto, MAX_AEAD_KEY_LEN, MAX_HASH_LEN,
};
use tsm_proto::spdm::key_schedule::{
    bin_concat, Direction, DirectionKeys, HandshakeSecrets, SessionKeys,
};
use tsm_proto::spdm::secured;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A vector as a fixed-size array (an IV).
fn arr<const N: usize>(what: &str, v: &[u8]) -> [u8; N] {
    v.try_into()
        .unwrap_or_else(|_| panic!("{what}: {} bytes, the API takes {N}", v.len()))
}

fn crypto() -> HostCrypto {
    HostCrypto::seeded(1, None)
}

// ---- glue: one helper per rust/proto operation -------------------------------------------

/// The hash and AEAD of a vector set, from its sizes (TH1 is H bytes, a key is the AEAD's).
fn algorithms(kat: &Kat) -> (HashAlgo, AeadAlgo) {
    let hash = if unhex(kat.th1).len() == 32 {
        HashAlgo::Sha256
    } else {
        HashAlgo::Sha384
    };
    let aead = if unhex(kat.req_app_key).len() == 16 {
        AeadAlgo::Aes128Gcm
    } else {
        AeadAlgo::Aes256Gcm
    };
    (hash, aead)
}

fn digest(what: &str, bytes: &[u8]) -> Digest {
    Digest::from_slice(bytes).unwrap_or_else(|_| panic!("{what}: {} bytes", bytes.len()))
}

/// DSP0274 handshake secrets from the DHE secret and TH1.
fn handshake(c: &HostCrypto, kat: &Kat) -> HandshakeSecrets {
    let (hash, aead) = algorithms(kat);
    let th1 = digest("TH1", &unhex(kat.th1));
    HandshakeSecrets::derive(c, kat.version, hash, aead, &unhex(kat.dhe_secret), &th1)
        .expect("handshake")
}

/// Handshake-phase AEAD keys of both directions.
fn handshake_keys(c: &HostCrypto, hs: &HandshakeSecrets) -> SessionKeys {
    hs.keys(c).expect("handshake keys")
}

/// Data-phase AEAD keys of both directions from TH2.
fn data_keys(c: &HostCrypto, hs: &HandshakeSecrets, kat: &Kat) -> SessionKeys {
    let th2 = digest("TH2", &unhex(kat.th2));
    hs.data_keys(c, &th2).expect("data keys")
}

/// Key and IV of one major secret.
fn direction_keys(c: &HostCrypto, kat: &Kat, secret: &str) -> DirectionKeys {
    let (hash, aead) = algorithms(kat);
    let secret = digest("secret", &unhex(secret));
    DirectionKeys::derive(c, hash, aead, kat.version, &secret).expect("key and IV")
}

/// HKDF-Expand(`prk`, BinConcat(len, version, label, context), len) through rust/proto's
/// `bin_concat` and the provider: the steps the schedule keeps internal (Salt_1, data secrets).
fn expand_label(c: &HostCrypto, kat: &Kat, prk: &[u8], label: &[u8], ctx: &[u8]) -> Vec<u8> {
    // Length (2) + version label (8) + longest label (12) + H.
    let mut info = [0u8; 2 + 8 + 12 + MAX_HASH_LEN];
    let mut out = vec![0u8; prk.len()];
    let len = bin_concat(kat.version, out.len() as u16, label, ctx, &mut info).expect("BinConcat");
    c.hkdf_expand(algorithms(kat).0, prk, &info[..len], &mut out)
        .expect("HKDF-Expand");
    out
}

/// HKDF-Extract through the provider (Master-Secret).
fn extract(c: &HostCrypto, kat: &Kat, salt: &[u8], ikm: &[u8]) -> Vec<u8> {
    c.hkdf_extract(algorithms(kat).0, salt, ikm)
        .expect("HKDF-Extract")
        .as_slice()
        .to_vec()
}

/// Keys of one direction at a given sequence number.
fn keys_at(kat: &Kat, sequence: u64) -> DirectionKeys {
    let raw = unhex(kat.req_app_key);
    let mut key = [0u8; MAX_AEAD_KEY_LEN];
    key[..raw.len()].copy_from_slice(&raw);
    DirectionKeys {
        aead: algorithms(kat).1,
        key,
        iv: arr("IV", &unhex(kat.req_app_iv)),
        sequence,
    }
}

/// Seals `app` into one record.
fn seal(c: &HostCrypto, keys: &mut DirectionKeys, session_id: u32, app: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; secured::OVERHEAD + app.len()];
    buf[secured::APP_DATA_OFFSET..][..app.len()].copy_from_slice(app);
    let len = secured::seal_in_place(c, keys, session_id, &mut buf, app.len()).expect("seal");
    buf.truncate(len);
    buf
}

/// Opens one record: its SessionID and application data.
fn open(c: &HostCrypto, keys: &mut DirectionKeys, record: &[u8]) -> Option<(u32, Vec<u8>)> {
    let mut buf = record.to_vec();
    secured::open(c, keys, &mut buf)
        .ok()
        .map(|(id, app)| (id, app.to_vec()))
}

// ---- checks ------------------------------------------------------------------------------

fn check_key_schedule(kat: &Kat) {
    let c = crypto();
    let v = kat.version;
    let hs = handshake(&c, kat);
    assert_eq!(hs.version, v);
    assert_eq!(
        hex(hs.handshake_secret.as_slice()),
        kat.handshake_secret,
        "HandshakeSecret"
    );
    assert_eq!(hex(hs.request.as_slice()), kat.req_hs_secret, "req hs data");
    assert_eq!(
        hex(hs.response.as_slice()),
        kat.rsp_hs_secret,
        "rsp hs data"
    );
    assert_eq!(
        hex(hs.request_finished.as_slice()),
        kat.req_finished_key,
        "req finished"
    );
    assert_eq!(
        hex(hs.response_finished.as_slice()),
        kat.rsp_finished_key,
        "rsp finished"
    );

    let hk = handshake_keys(&c, &hs);
    assert_eq!(hex(hk.request.key()), kat.req_hs_key, "req hs key");
    assert_eq!(hex(&hk.request.iv), kat.req_hs_iv, "req hs iv");
    assert_eq!(hex(hk.response.key()), kat.rsp_hs_key, "rsp hs key");
    assert_eq!(hex(&hk.response.iv), kat.rsp_hs_iv, "rsp hs iv");
    assert_eq!((hk.request.sequence, hk.response.sequence), (0, 0));

    // The chain to the master secret, one step at a time (rust/proto keeps these internal).
    let hsecret = unhex(kat.handshake_secret);
    let salt1 = expand_label(&c, kat, &hsecret, b"derived", &[]);
    assert_eq!(hex(&salt1), kat.salt1, "Salt_1");
    let master = extract(&c, kat, &salt1, &vec![0u8; hsecret.len()]);
    assert_eq!(hex(&master), kat.master_secret, "Master-Secret");
    let th2 = unhex(kat.th2);
    let req_app = expand_label(&c, kat, &master, b"req app data", &th2);
    assert_eq!(hex(&req_app), kat.req_app_secret, "req app data");
    let rsp_app = expand_label(&c, kat, &master, b"rsp app data", &th2);
    assert_eq!(hex(&rsp_app), kat.rsp_app_secret, "rsp app data");
    let req = direction_keys(&c, kat, kat.req_app_secret);
    assert_eq!(hex(req.key()), kat.req_app_key, "req app key");
    assert_eq!(hex(&req.iv), kat.req_app_iv, "req app iv");
    let rsp = direction_keys(&c, kat, kat.rsp_app_secret);
    assert_eq!(hex(rsp.key()), kat.rsp_app_key, "rsp app key");
    assert_eq!(hex(&rsp.iv), kat.rsp_app_iv, "rsp app iv");

    // And the whole chain through the public API.
    let dk = data_keys(&c, &hs, kat);
    assert_eq!(dk.request, req, "data_keys request");
    assert_eq!(dk.response, rsp, "data_keys response");

    check_key_update(&c, &hs, kat);
}

/// One KEY_UPDATE of each direction: the next data secret ("traffic upd") and its key and IV,
/// the other direction untouched.
fn check_key_update(c: &HostCrypto, hs: &HandshakeSecrets, kat: &Kat) {
    let th2 = digest("TH2", &unhex(kat.th2));
    let secrets = hs.data_secrets(c, &th2).expect("data secrets");
    assert_eq!(hex(secrets.request.as_slice()), kat.req_app_secret);
    assert_eq!(hex(secrets.response.as_slice()), kat.rsp_app_secret);
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
        let (next, keys) = secrets.updated(c, direction).expect("key update");
        let (updated, kept, old) = match direction {
            Direction::Request => (&next.request, &next.response, &secrets.response),
            Direction::Response => (&next.response, &next.request, &secrets.request),
        };
        assert_eq!(hex(updated.as_slice()), secret, "{direction:?} traffic upd");
        assert_eq!(kept, old, "{direction:?}: the other direction is kept");
        assert_eq!(hex(keys.key()), key, "{direction:?} updated key");
        assert_eq!(hex(&keys.iv), iv, "{direction:?} updated iv");
        assert_eq!(keys.sequence, 0);
        // The same step through BinConcat and the provider's HKDF-Expand.
        let app = match direction {
            Direction::Request => kat.req_app_secret,
            Direction::Response => kat.rsp_app_secret,
        };
        let step = expand_label(c, kat, &unhex(app), b"traffic upd", &[]);
        assert_eq!(hex(&step), secret);
    }
}

fn check_records(kat: &Kat) {
    let c = crypto();
    let app = unhex(APP_DATA);
    for r in kat.records {
        let seq = r.sequence;
        // The nonce constant is IV ^ LE(sequence) (a readable statement of the byte order).
        let mut nonce = unhex(kat.req_app_iv);
        for (n, s) in nonce.iter_mut().zip(seq.to_le_bytes()) {
            *n ^= s;
        }
        assert_eq!(hex(&nonce), r.nonce, "nonce at {seq:#x}");

        let mut tx = keys_at(kat, seq);
        let sealed = seal(&c, &mut tx, SESSION_ID, &app);
        assert_eq!(hex(&sealed), r.record, "seal at {seq:#x}");
        assert_eq!(tx.sequence, seq + 1);

        let mut rx = keys_at(kat, seq);
        let opened = open(&c, &mut rx, &unhex(r.record));
        assert_eq!(opened, Some((SESSION_ID, app.clone())), "open at {seq:#x}");
        assert_eq!(rx.sequence, seq + 1);

        let mut rx = keys_at(kat, seq);
        let big = open(&c, &mut rx, &unhex(r.record_big_endian));
        if seq == 0 {
            assert_eq!(r.record_big_endian, r.record, "sequence 0 has one nonce");
        } else {
            assert_ne!(r.record_big_endian, r.record);
            assert_eq!(big, None, "big-endian nonce accepted at {seq:#x}");
        }
    }
}

#[test]
fn key_schedule_sha384_spdm12() {
    check_key_schedule(&SHA384_AES256_SPDM12);
}

#[test]
fn key_schedule_sha384_spdm13() {
    check_key_schedule(&SHA384_AES256_SPDM13);
}

#[test]
fn secured_record_aes256gcm_spdm12() {
    check_records(&SHA384_AES256_SPDM12);
}

#[test]
fn secured_record_aes256gcm_spdm13() {
    check_records(&SHA384_AES256_SPDM13);
}

/// The version label is the only difference between the 1.2 and 1.3 schedules.
#[test]
fn versions_differ() {
    assert_eq!(
        SHA384_AES256_SPDM12.dhe_secret,
        SHA384_AES256_SPDM13.dhe_secret
    );
    assert_ne!(SHA384_AES256_SPDM12.handshake_secret, "");
    assert_eq!(
        SHA384_AES256_SPDM12.handshake_secret, SHA384_AES256_SPDM13.handshake_secret,
        "HKDF-Extract has no label"
    );
    assert_ne!(
        SHA384_AES256_SPDM12.req_hs_secret,
        SHA384_AES256_SPDM13.req_hs_secret
    );
}

#[test]
fn key_schedule_sha256_aes128() {
    check_key_schedule(&SHA256_AES128_SPDM12);
    check_key_schedule(&SHA256_AES128_SPDM13);
}

#[test]
fn secured_record_aes128gcm() {
    check_records(&SHA256_AES128_SPDM12);
    check_records(&SHA256_AES128_SPDM13);
}
