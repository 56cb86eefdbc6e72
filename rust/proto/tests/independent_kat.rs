// SPDX-License-Identifier: GPL-2.0
//! Known-answer tests of the SPDM key schedule and of DSP0277 secured-message records against
//! values computed independently of rust/proto.
//!
//! Where the expected bytes come from: `scripts/kat/spdm_kat.py` derives them from the text of
//! the DMTF specifications with Python and the PyPI `cryptography` package (HKDF, HMAC,
//! AES-GCM), without rust/proto's code; it writes the block between the `BEGIN GENERATED` and
//! `END GENERATED` lines below and `--check` confirms that the block is its exact output:
//!
//! ```text
//! python3 scripts/kat/spdm_kat.py --check rust/proto/tests/independent_kat.rs
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
//! * DSP0277 1.1/1.2 record as the PCIe DOE binding carries it (no sequence number field, no
//!   random data): SessionID | Length | AEAD(ApplicationDataLength | data) | MAC, AAD =
//!   SessionID | Length; per-message nonce = IV XOR the 64-bit sequence number, little-endian
//!   as DSP0277 1.2 specifies (also used for 1.1 sessions). Each record is sealed and opened
//!   at sequence numbers 0, 1 and 0x0102030405060708; the big-endian reading of the nonce
//!   (`record_big_endian`) must be refused from sequence number 1 on.
//!
//! The glue below is one helper per rust/proto operation so that the coming algorithm
//! parameters change only the helpers; the SHA-256 / AES-128-GCM vectors wait for that suite.

mod common;

use common::HostCrypto;
use tsm_proto::spdm::crypto::{
    AeadAlgo, Digest, HashAlgo, SpdmCrypto, MAX_AEAD_KEY_LEN, MAX_HASH_LEN,
};
use tsm_proto::spdm::key_schedule::{bin_concat, DirectionKeys, HandshakeSecrets, SessionKeys};
use tsm_proto::spdm::secured;

/// One session's inputs and every value of its key schedule, as lower-case hex.
pub struct Kat {
    /// SPDMVersion (0x12 or 0x13): selects the BinConcat version label.
    pub version: u8,
    /// DHE shared secret (the x coordinate of the ECDHE shared point).
    pub dhe_secret: &'static str,
    /// TH1 and TH2 transcript hashes (fixed inputs, not computed from messages).
    pub th1: &'static str,
    pub th2: &'static str,
    pub handshake_secret: &'static str,
    pub req_hs_secret: &'static str,
    pub rsp_hs_secret: &'static str,
    pub req_finished_key: &'static str,
    pub rsp_finished_key: &'static str,
    pub req_hs_key: &'static str,
    pub req_hs_iv: &'static str,
    pub rsp_hs_key: &'static str,
    pub rsp_hs_iv: &'static str,
    pub salt1: &'static str,
    pub master_secret: &'static str,
    pub req_app_secret: &'static str,
    pub rsp_app_secret: &'static str,
    pub req_app_key: &'static str,
    pub req_app_iv: &'static str,
    pub rsp_app_key: &'static str,
    pub rsp_app_iv: &'static str,
    /// Records of `APP_DATA` sealed with the request-direction data key and IV.
    pub records: &'static [Record],
}

/// One secured-message record at a given sequence number.
pub struct Record {
    pub sequence: u64,
    /// The per-message nonce, IV XOR little-endian sequence number.
    pub nonce: &'static str,
    /// The record as DSP0277 1.2 forms it.
    pub record: &'static str,
    /// The same record with the sequence number XORed big-endian into the low-order (last)
    /// bytes of the IV, the TLS 1.3-like reading of DSP0277 1.1.
    pub record_big_endian: &'static str,
}

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

// BEGIN GENERATED by scripts/kat/spdm_kat.py: do not edit by hand.
/// SessionID of every record (ReqSessionID 0x0001, RspSessionID 0xFFFE).
pub const SESSION_ID: u32 = 0xfffe0001;
/// ApplicationData of every record (request direction, data phase).
pub const APP_DATA: &str = "12e00001404142434445464748494a4b4c4d4e4f505152535455565758595a5b\
    5c5d5e5f60";

/// SHA-384, secp384r1, AES-256-GCM, SPDM 1.2.
pub const SHA384_AES256_SPDM12: Kat = Kat {
    version: 0x12,
    dhe_secret: "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\
        c0c1c2c3c4c5c6c7c8c9cacbcccdcecf",
    th1: "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\
        303132333435363738393a3b3c3d3e3f",
    th2: "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f\
        808182838485868788898a8b8c8d8e8f",
    handshake_secret: "642298272c0ea7a4ff16baa7bd7588e66e1147675292ca7dfb6ccf83f655ea39\
        d54c96cdcff84ee18c51ae0908644b26",
    req_hs_secret: "d23a88dad52facc8ee99b6e6ce30276068464718e60d3d7e3442b2b5fc1193e2\
        dce972a3ea20ca7e1306df32d1535c6b",
    rsp_hs_secret: "57d272482be926c2991ffad6eabc143d4263754e14370dfb5d7d6ba44a4989c5\
        843d8fa889b763c0ab1ccb8bd3ef3baa",
    req_finished_key: "e7d4370bb2c51390304d214e6154ae464a3cc0ec639ba8783b000b640ce24ccd\
        8cceebe8bb3a3c7c97d5d78e683326a6",
    rsp_finished_key: "20f6bd49e03cef4032fdd18d18e047da35ea59abd09a7eae7bed8e95a04b9286\
        025851923a5caa22a56ef96e7653c159",
    req_hs_key: "88df235356217b9a846fa33f81f2250ff68c776da889ef0c39b7d13ff71292c7",
    req_hs_iv: "d61b6677b4f6b3409a01ee8b",
    rsp_hs_key: "b3527f8e76d55c293c9aad4b3c3ba29382e9638ccd90c32e70038aad18f49cc7",
    rsp_hs_iv: "febc09adb59fe7167aac541c",
    salt1: "94b95ac668d1cfeae853f5a77d36ff10476c1721a59dce278ec8e8b3a59f12f7\
        2b25473ddeaca3625b7a47e0649885dd",
    master_secret: "22f8d5ab2c164ab35de0a28daf163c6f04f3b9675793c192b129aa8e72c10629\
        1ca57f56c44168b9ce8f8ee5b83de2b1",
    req_app_secret: "8955455c8202495d39ed5cc66a4ea4d831da79a433a641e60eda24758d7d3f7c\
        20b6a34a6cedef586df658531740b99d",
    rsp_app_secret: "c11aac2d2cc6258b4087ba565a720bbdc180968396b32a3abbf14e4c7c12f09e\
        6ff5fa06484756c54c51e94985ba7e50",
    req_app_key: "2ebae3203b51b1931e6ea12ccc26e3c2735bdbc770d4150feb2c531d114e2d66",
    req_app_iv: "0f5887c2304f5f8bf8dc0212",
    rsp_app_key: "f9d597fcd5639eeeee6013f8cd0dc655fa20a7ec39d066a2080028c3af17e8fc",
    rsp_app_iv: "4be4d564add7be29c4d4e883",
    records: &[
        Record {
            sequence: 0x0,
            nonce: "0f5887c2304f5f8bf8dc0212",
            record: "0100feff3700711adb583a273126c37be93f9605c988ac016e2e897c8ae73a1f\
                d5adc5c0ba2a8de1df2a062bbe101b5f921f517ab7f290a56d337639f5",
            record_big_endian: "0100feff3700711adb583a273126c37be93f9605c988ac016e2e897c8ae73a1f\
                d5adc5c0ba2a8de1df2a062bbe101b5f921f517ab7f290a56d337639f5",
        },
        Record {
            sequence: 0x1,
            nonce: "0e5887c2304f5f8bf8dc0212",
            record: "0100feff3700ddb7286cda5177bc702205766a7235db834b58ba521547319bde\
                809592b140ca19fb2928ba14d183d51c04e7091d5b70642d255851884c",
            record_big_endian: "0100feff370010301852d954c8549bfe4904cefa9991c0b69073f0ee2f4115ab\
                ce793dbc98711c5704fe1b4e3039fa765af55c55695ce6415cbf399fa2",
        },
        Record {
            sequence: 0x102030405060708,
            nonce: "075f81c7344c5d8af8dc0212",
            record: "0100feff3700638be1b4853944641450be74216d99df7b89fabebcab750fae99\
                122ede95373a247fe54932fdfd6e58b0be7a7399d35a6dfe4fffcf8ad9",
            record_big_endian: "0100feff3700e32cbede19038469cbb77df976ee97b01664d4454c1af2163127\
                412c7e7d47173f457699cd95e94e693bcf15d757d4a8f5bc292a45ae0f",
        },
    ],
};

/// SHA-384, secp384r1, AES-256-GCM, SPDM 1.3.
pub const SHA384_AES256_SPDM13: Kat = Kat {
    version: 0x13,
    dhe_secret: "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\
        c0c1c2c3c4c5c6c7c8c9cacbcccdcecf",
    th1: "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\
        303132333435363738393a3b3c3d3e3f",
    th2: "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f\
        808182838485868788898a8b8c8d8e8f",
    handshake_secret: "642298272c0ea7a4ff16baa7bd7588e66e1147675292ca7dfb6ccf83f655ea39\
        d54c96cdcff84ee18c51ae0908644b26",
    req_hs_secret: "64e77206a33ffe7418a7bea93ebe9650f83f3d62fcf0a533cd515ee8dba484f1\
        cac5b4ded282bd72e6bedc35caa753e5",
    rsp_hs_secret: "75f6f822405b98468b8c32d127f05ccb8450d12a424c5fc36b16aa4d5ea843b5\
        4ed9da7c81dfc3bd96113654772f125b",
    req_finished_key: "f4e7bbbe3f4cf84ba65ca41ac30936d8c0db077a1afa6132c9e123e8d081dbf2\
        28213b21ce69cc272bd82e64adf92472",
    rsp_finished_key: "78ba586767ec49fb39d2e190afe2bd07dda678638921c9b56fdac6c7d4e6b4c0\
        ead9ec4d4d98af5c832594784b559c40",
    req_hs_key: "0a4c75bfdbe43d350428e70677b57d954242092a68ba821a7f9d743f6bb39033",
    req_hs_iv: "a6887362bafafa0ecbf00349",
    rsp_hs_key: "be86985d81bfb96262ab04c2c522f137c72377f1decf5e622cb234ce9a611d1f",
    rsp_hs_iv: "a273d4da89fd8038dce83405",
    salt1: "00d20ddc00f6ead08df36990fea9575bdb74e5cd357db703e1eff0ebfc193315\
        43fe3d719cc704eea98140df2e4eda31",
    master_secret: "8d36f9a8968451f82063559f84dc61a7f3657c2e2bb0e4706ca4c8b300cbdf94\
        54aae187262ec8b8ebefee31ee95232c",
    req_app_secret: "460bf520fdc0488545b26a6f505d359861840abaeca7c9e134a679b1906a1e02\
        83ae66abe2a3dbe533dc05ed6c270180",
    rsp_app_secret: "03548fa60f508dd0ba5f6a884d84ddf9520ac97611b25b5a02b5b0d95b1fae06\
        9f45d09d6c2e989ca4832536f1818f1c",
    req_app_key: "547b4b0f8aaba8b1cee3093a9013a698c9b62f432ccd4125bb528bf11ab43bcb",
    req_app_iv: "821da557534c8adff0b2fe78",
    rsp_app_key: "18042c8658968f8ce43d3bf7be620f0a5535b14cd34602d28cc859655bc61523",
    rsp_app_iv: "18813a2df7cbda1fa530b87c",
    records: &[
        Record {
            sequence: 0x0,
            nonce: "821da557534c8adff0b2fe78",
            record: "0100feff37001c3d4a586855aff3ca53b32ea683adc02c717ee7cd98a0d9dcfa\
                ae5d1597fae4c5be24e8efd41f2ca352b196296f3e1f8bfcd7ba4b178a",
            record_big_endian: "0100feff37001c3d4a586855aff3ca53b32ea683adc02c717ee7cd98a0d9dcfa\
                ae5d1597fae4c5be24e8efd41f2ca352b196296f3e1f8bfcd7ba4b178a",
        },
        Record {
            sequence: 0x1,
            nonce: "831da557534c8adff0b2fe78",
            record: "0100feff3700d3da9c2daf699eed9623b2b3e626b1985fb24acd1ce855b070d2\
                1c943e6a26838db6957160fc10a9726a8f2baaf714503837029bd7542f",
            record_big_endian: "0100feff3700d1972f62a4efec1c0c6c029521eded5b5558d6d6c6deceaca278\
                8523f7d2bf523f006b02fcdd0a74f25f925a8110a4a638f54992817e01",
        },
        Record {
            sequence: 0x102030405060708,
            nonce: "8a1aa352574f88def0b2fe78",
            record: "0100feff3700ed81f2d3a3a58c15845cd7ba326dfeebff94f09431dd5ca29ba7\
                9999ce9b91a09196f076bade3daf48de18d1a2d18229579527dda20306",
            record_big_endian: "0100feff3700e54a04a7a06e7a894612540df1d84cbe259108d8cd04406e053c\
                c3623b103f6185187db6d4b54b66ff48be6a0ca7bf30f8d193025be341",
        },
    ],
};

/// SHA-256, secp256r1, AES-128-GCM, SPDM 1.2.
pub const SHA256_AES128_SPDM12: Kat = Kat {
    version: 0x12,
    dhe_secret: "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf",
    th1: "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f",
    th2: "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f",
    handshake_secret: "fff6bab75d4df43e3a58d45a6b3d6ebaa0f75da67d71520fc66467d24f537e5e",
    req_hs_secret: "c2e131a0df4ca6c61583d686a77cee8a50bc81b831cbf2536e36b428a2e1ed8c",
    rsp_hs_secret: "57065198725d6353bfb2e8fc2f30f09951ff6369c3293958c4dff42ca07dcb1c",
    req_finished_key: "2bca1ec71cff103c4e43fdc206432d95a9653273fde89a39e49125654635ea75",
    rsp_finished_key: "7200630c013152bb1bb8a19b322a538b301d2103f992072c8aeb6615fb67e85d",
    req_hs_key: "6885f1255f23b20b8d2fadcf8d438d0c",
    req_hs_iv: "c0ba8dae8a8052ab64cc28bb",
    rsp_hs_key: "d5783ceef211a01e0f5afabcfd58cadc",
    rsp_hs_iv: "f4872d71cbb90a568631bff7",
    salt1: "1fbb21809bf862d7ec09b690eadc485a7d319ed9289559af2d2af807fa73a083",
    master_secret: "d4c836402d4f21b42df8a686245d0005337a41e76ed1c29a0c3697be1778b317",
    req_app_secret: "972f51925b7149cce8f89d070157ad889c32889808f2d3d0575c214794bf9879",
    rsp_app_secret: "5256ca1ffe65b72f21c08dcd6638280b4ef7674281e100e6e38bcd8d74b488cf",
    req_app_key: "c94e6dffc76bdcf7d6bb9015411d7a19",
    req_app_iv: "2a53cccc096c815634d47831",
    rsp_app_key: "20c95c07f9b0c4a74dbff0827e16add3",
    rsp_app_iv: "891ff813200e49eff19e7ad6",
    records: &[
        Record {
            sequence: 0x0,
            nonce: "2a53cccc096c815634d47831",
            record: "0100feff370090ad1e5c168c4e6cd9e1fc26f6a7b064dc9002497ec1481c05f9\
                4c8327990b395ba6cee23a70f96ce8d5269e97baf00ab828de6ccecd27",
            record_big_endian: "0100feff370090ad1e5c168c4e6cd9e1fc26f6a7b064dc9002497ec1481c05f9\
                4c8327990b395ba6cee23a70f96ce8d5269e97baf00ab828de6ccecd27",
        },
        Record {
            sequence: 0x1,
            nonce: "2b53cccc096c815634d47831",
            record: "0100feff370061cae727665314efe9eb5ca82d56223380e60c77b2ceac9846fe\
                15b14a0acb936286922d2605650f565cc4dcf1b9fc2ceefe0bab09274d",
            record_big_endian: "0100feff3700571a5b75cb788fc96b0cf08a023e66757b0459d6b5ec888bbe01\
                3f0c403778884a1f1e80930d6e57413ef60504f355cd501c685095bde8",
        },
        Record {
            sequence: 0x102030405060708,
            nonce: "2254cac90d6f835734d47831",
            record: "0100feff370045faa0fd42b6164a467886ab9168b4960e4f1438337c25ff12c3\
                836ef902bc6fe149fecb365db3c5e45e39e9649600411487111c0deada",
            record_big_endian: "0100feff3700bf103992154ad73929f1fcbc754ca38967a5a3e0b521011c0cb0\
                fc771947ab8ad9437e434c2c9ef7a635a56d57dfaa38eaa7a4042c301a",
        },
    ],
};

/// SHA-256, secp256r1, AES-128-GCM, SPDM 1.3.
pub const SHA256_AES128_SPDM13: Kat = Kat {
    version: 0x13,
    dhe_secret: "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf",
    th1: "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f",
    th2: "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f",
    handshake_secret: "fff6bab75d4df43e3a58d45a6b3d6ebaa0f75da67d71520fc66467d24f537e5e",
    req_hs_secret: "110297f57c248c227adeee67d97a891895bc048179c2e4946c5dd6780a3757a4",
    rsp_hs_secret: "5f516a6388a834026ce14466b92ba75f6014bd0a748a424ed6fdb9fdb77ec671",
    req_finished_key: "7d814773074636e4dddd8bfc3f48dd15efe0a3f525655d1aff3ffd866f28623d",
    rsp_finished_key: "583f200c24e1b73c72520212b9598746fb85742ba43a3c69333e77738a361457",
    req_hs_key: "b30a2096ac361e7457678fc7c6b5d846",
    req_hs_iv: "8f4ead3e3e8f18d1f839967e",
    rsp_hs_key: "fc88cbec0ae4badd596eae8f48ddbf97",
    rsp_hs_iv: "f9d2e1a13148cae6e7a1f77e",
    salt1: "06d98e32fee4593c0ccff4a3e89ef027bb63c8b47df1090f0357fe09bafca5f8",
    master_secret: "756ced741e6460d2f16da0e4fb68e5a26c088c0865cfcdeb4bfef411eb01a248",
    req_app_secret: "c026d1e38a23565f805083d735916720bb5435d53000c9dc21dc3d3d62ef4b3b",
    rsp_app_secret: "032283f8dd62378e4dcbfba2df7a5f526fab664f6f944d49eecc5e1813195cfb",
    req_app_key: "d6f762dd3f26a2abaa4fb598ee15d587",
    req_app_iv: "e1f6cbccad3df28af06c2549",
    rsp_app_key: "630783e523ffd7a1e6fc819230c679f0",
    rsp_app_iv: "2eca58cd2e81e5b4b31ddc53",
    records: &[
        Record {
            sequence: 0x0,
            nonce: "e1f6cbccad3df28af06c2549",
            record: "0100feff37008cd7167dc893b63233880bed9ed540100856e4dcff891d3e0b4a\
                2ec42d8e53a2f06f48e729a91be239d58f6d6a1f04f1656dfb7b370faa",
            record_big_endian: "0100feff37008cd7167dc893b63233880bed9ed540100856e4dcff891d3e0b4a\
                2ec42d8e53a2f06f48e729a91be239d58f6d6a1f04f1656dfb7b370faa",
        },
        Record {
            sequence: 0x1,
            nonce: "e0f6cbccad3df28af06c2549",
            record: "0100feff370003f2b917487b6b27f9ed0115142231d301ba6cdc1a871520a4c1\
                0b171bda2e22a6c597e9b892fbad84a121bf60ba1ed7ced51f81f9334d",
            record_big_endian: "0100feff3700a73b43489edbb265caf23eebb0e04ec244c6d2463234630dbd93\
                1ffb9d0336c202d054e0dce1aefbdca85fe339b080dacdbfccfe368116",
        },
        Record {
            sequence: 0x102030405060708,
            nonce: "e9f1cdc9a93ef08bf06c2549",
            record: "0100feff3700afcc2d39a4dc1c3dc092f94b1a2b6d1f5bc511aed252fdac66a0\
                a25976cfad018980dbd503bb0ff326a17d741f1eca3790d96c00ddd2a5",
            record_big_endian: "0100feff37005db6d225fe9b91a88d5a0dabe7a1d54c5f0e1f7b2252d99f33fb\
                d93d94d9ced2549b50f95022fe0403b88a5f4860970a9e81787a53d859",
        },
    ],
};
// END GENERATED by scripts/kat/spdm_kat.py.
