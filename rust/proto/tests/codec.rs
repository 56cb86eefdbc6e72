// SPDX-License-Identifier: GPL-2.0
//! SPDM golden vectors built from the DSP0274 1.2 message tables, and
//! round-trip property tests for every codec with a seeded PRNG.

mod common;

use common::{HostCrypto, Prng};
use tsm_proto::spdm::crypto::AeadAlgo;
use tsm_proto::spdm::key_schedule::DirectionKeys;
use tsm_proto::spdm::msg::*;
use tsm_proto::spdm::{alg, cap, code, secured, AlgSizes};
use tsm_proto::wire::{encode_into, Error, Reader, Writer};
use tsm_proto::{doe, ide_km, tdisp};

const SIZES: AlgSizes = AlgSizes::P384_SHA384;

fn encode(f: impl FnOnce(&mut Writer<'_>) -> tsm_proto::wire::Result<()>) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let len = encode_into(&mut buf, f).expect("encodes");
    buf.truncate(len);
    buf
}

/// DSP0274 1.2 GET_VERSION request table: SPDMVersion 0x10, code 0x84.
#[test]
fn golden_get_version_and_version() {
    assert_eq!(encode(|w| GetVersion.write(w)), [0x10, 0x84, 0, 0]);
    // VERSION response table: Reserved, VersionNumberEntryCount, entries
    // (bits 15:12 major, 11:8 minor): 1.0, 1.1, 1.2.
    let rsp = [0x10, 0x04, 0, 0, 0, 3, 0x00, 0x10, 0x00, 0x11, 0x00, 0x12];
    let v = Version::read(&mut Reader::new(&rsp)).unwrap();
    assert_eq!(v.versions().collect::<Vec<_>>(), [0x10, 0x11, 0x12]);
    assert_eq!(encode(|w| v.write(w)), rsp);
    assert_eq!(
        GetVersion::read(&mut Reader::new(&[0x12, 0x84, 0, 0])),
        Err(Error::InvalidField("SPDMVersion"))
    );
}

/// GET_CAPABILITIES 1.2 table: Reserved, CTExponent, Reserved(2), Flags(4),
/// DataTransferSize(4), MaxSPDMmsgSize(4).
#[test]
fn golden_get_capabilities() {
    let caps = Capabilities {
        version: 0x12,
        ct_exponent: 12,
        flags: cap::ENCRYPT | cap::MAC | cap::KEY_EX,
        data_transfer_size: 4096,
        max_spdm_msg_size: 4096,
    };
    let bytes = [
        0x12, 0xE1, 0, 0, 0, 12, 0, 0, 0xC0, 0x02, 0, 0, 0x00, 0x10, 0, 0, 0x00, 0x10, 0, 0,
    ];
    assert_eq!(encode(|w| caps.write(w, code::GET_CAPABILITIES)), bytes);
    assert_eq!(
        Capabilities::read(&mut Reader::new(&bytes), code::GET_CAPABILITIES),
        Ok(caps)
    );
    // DataTransferSize below 42 is invalid in 1.2.
    let mut small = bytes;
    small[12] = 41;
    small[13] = 0;
    assert_eq!(
        Capabilities::read(&mut Reader::new(&small), code::GET_CAPABILITIES),
        Err(Error::InvalidField("DataTransferSize"))
    );
    // 1.1 has no size fields: 12 bytes.
    let caps11 = Capabilities {
        version: 0x11,
        data_transfer_size: 0,
        max_spdm_msg_size: 0,
        ..caps
    };
    assert_eq!(encode(|w| caps11.write(w, code::CAPABILITIES)).len(), 12);
}

/// NEGOTIATE_ALGORITHMS (DSP0274 1.3 Table 15; 1.2 has the same layout with
/// offset 31 reserved) for P-384/SHA-384/AES-256-GCM: 32 bytes, then one
/// 4-byte algorithm request structure (Table 16) per AlgType the requester
/// supports, and only those ("The algorithm structure table shall be
/// present only if the Requester supports that AlgType"). Without mutual
/// authentication there is no ReqBaseAsymAlg entry, so Param1 = 3 and
/// Length = 44. ALGORITHMS (Table 21, 36 bytes) answers with the same three
/// types (Table 22).
#[test]
fn golden_algorithms() {
    let structs = AlgStructs {
        dhe: alg::DHE_SECP384R1,
        aead: alg::AEAD_AES_256_GCM,
        req_base_asym: 0,
        key_schedule: alg::KEY_SCHEDULE_SPDM,
    };
    let req = NegotiateAlgorithms {
        version: 0x12,
        measurement_spec: alg::MEAS_SPEC_DMTF,
        other_params: alg::OPAQUE_DATA_FMT1,
        base_asym: alg::ASYM_ECDSA_P384,
        base_hash: alg::HASH_SHA384,
        structs,
    };
    let mut bytes = vec![
        0x12, 0xE3, 3, 0, 44, 0, 0x01, 0x02, 0x80, 0, 0, 0, 0x02, 0, 0, 0,
    ];
    bytes.extend_from_slice(&[0; 16]);
    bytes.extend_from_slice(&[2, 0x20, 0x10, 0, 3, 0x20, 0x02, 0, 5, 0x20, 0x01, 0]);
    assert_eq!(encode(|w| req.write(w)), bytes);
    assert_eq!(NegotiateAlgorithms::read(&mut Reader::new(&bytes)), Ok(req));
    // A Length field that disagrees with the content is rejected.
    bytes[4] = 48;
    assert_eq!(
        NegotiateAlgorithms::read(&mut Reader::new(&bytes)),
        Err(Error::InvalidField("Length"))
    );

    let rsp = Algorithms {
        version: 0x12,
        measurement_spec: alg::MEAS_SPEC_DMTF,
        other_params: alg::OPAQUE_DATA_FMT1,
        measurement_hash: alg::MEAS_HASH_SHA384,
        base_asym: alg::ASYM_ECDSA_P384,
        base_hash: alg::HASH_SHA384,
        structs,
    };
    let mut bytes = vec![
        0x12, 0x63, 3, 0, 48, 0, 0x01, 0x02, 0x04, 0, 0, 0, 0x80, 0, 0, 0, 0x02, 0, 0, 0,
    ];
    bytes.extend_from_slice(&[0; 16]);
    bytes.extend_from_slice(&[2, 0x20, 0x10, 0, 3, 0x20, 0x02, 0, 5, 0x20, 0x01, 0]);
    assert_eq!(encode(|w| rsp.write(w)), bytes);
    assert_eq!(Algorithms::read(&mut Reader::new(&bytes)), Ok(rsp));
}

/// GET_CERTIFICATE (SlotID in Param1, Offset, Length) and CERTIFICATE
/// (PortionLength, RemainderLength, CertChain) tables.
#[test]
fn golden_certificate() {
    let get = GetCertificate {
        version: 0x12,
        slot: 0,
        offset: 0,
        length: 0x400,
    };
    assert_eq!(
        encode(|w| get.write(w)),
        [0x12, 0x82, 0, 0, 0, 0, 0x00, 0x04]
    );
    let rsp = [0x12, 0x02, 0, 0, 3, 0, 0x10, 0x00, 0xAA, 0xBB, 0xCC];
    let c = Certificate::read(&mut Reader::new(&rsp)).unwrap();
    assert_eq!(
        (c.portion, c.remainder_length),
        (&[0xAA, 0xBB, 0xCC][..], 16)
    );
    assert_eq!(
        Certificate::read(&mut Reader::new(&rsp[..10])),
        Err(Error::Truncated)
    );
    assert_eq!(
        GetCertificate::read(&mut Reader::new(&[0x12, 0x82, 8, 0, 0, 0, 0, 0])),
        Err(Error::InvalidField("SlotID"))
    );
}

/// DIGESTS: Param2 slot mask, one H-byte digest per set bit.
#[test]
fn golden_digests() {
    let mut rsp = vec![0x12, 0x01, 0, 0b101];
    rsp.extend_from_slice(&[1; 48]);
    rsp.extend_from_slice(&[2; 48]);
    let d = Digests::read(&mut Reader::new(&rsp), &SIZES).unwrap();
    assert_eq!(d.digest(0, &SIZES), Some(&[1u8; 48][..]));
    assert_eq!(d.digest(1, &SIZES), None);
    assert_eq!(d.digest(2, &SIZES), Some(&[2u8; 48][..]));
    assert_eq!(
        Digests::read(&mut Reader::new(&rsp[..99]), &SIZES),
        Err(Error::Truncated)
    );
}

/// CHALLENGE (Param1 slot, Param2 summary type, Nonce) and GET_MEASUREMENTS
/// (Param1 attributes, Param2 operation, Nonce, SlotIDParam when signed).
#[test]
fn golden_challenge_and_get_measurements() {
    let nonce = [0x5A; 32];
    let mut expected = vec![0x12, 0x83, 0, 0xFF];
    expected.extend_from_slice(&nonce);
    let ch = Challenge {
        version: 0x12,
        slot: 0,
        meas_summary_type: meas_summary::ALL,
        nonce: &nonce,
        requester_context: [0; 8],
    };
    assert_eq!(encode(|w| ch.write(w)), expected);
    assert_eq!(
        Challenge::read(&mut Reader::new(&[0x12, 0x83, 0, 2])),
        Err(Error::InvalidField("MeasurementSummaryHashType"))
    );

    let mut expected = vec![0x12, 0xE0, 0x01, 0xFF];
    expected.extend_from_slice(&nonce);
    expected.push(0);
    let gm = GetMeasurements {
        version: 0x12,
        attributes: 0,
        operation: MEAS_OP_ALL,
        signed: Some((&nonce, 0)),
        requester_context: [0; 8],
    };
    assert_eq!(encode(|w| gm.write(w)), expected);
    assert_eq!(
        GetMeasurements::read(&mut Reader::new(&expected)),
        Ok(GetMeasurements {
            attributes: 1,
            ..gm
        })
    );
}

/// SPDM 1.3 adds an 8-byte RequesterContext: at the end of CHALLENGE
/// (DSP0274 1.3 Table 44, 44 bytes) and GET_MEASUREMENTS (Table 49, signed
/// or not), and after OpaqueData, before the Signature, in CHALLENGE_AUTH
/// (Table 45) and MEASUREMENTS (Table 52).
#[test]
fn golden_requester_context_13() {
    let nonce = [0x5A; 32];
    let context = [1, 2, 3, 4, 5, 6, 7, 8];
    let ch = Challenge {
        version: 0x13,
        slot: 0,
        meas_summary_type: meas_summary::TCB,
        nonce: &nonce,
        requester_context: context,
    };
    let bytes = encode(|w| ch.write(w));
    assert_eq!(bytes.len(), 44);
    assert_eq!(&bytes[..4], &[0x13, 0x83, 0, 1]);
    assert_eq!(&bytes[36..], &context);
    assert_eq!(Challenge::read(&mut Reader::new(&bytes)), Ok(ch));
    assert_eq!(
        Challenge::read(&mut Reader::new(&bytes[..40])),
        Err(Error::Truncated)
    );

    let gm = GetMeasurements {
        version: 0x13,
        attributes: 0,
        operation: MEAS_OP_COUNT,
        signed: None,
        requester_context: context,
    };
    assert_eq!(
        encode(|w| gm.write(w)),
        [0x13, 0xE0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    );
    let signed = GetMeasurements {
        attributes: MEAS_ATTR_SIGNATURE,
        signed: Some((&nonce, 0)),
        ..gm
    };
    let bytes = encode(|w| signed.write(w));
    assert_eq!(bytes.len(), 4 + 32 + 1 + 8);
    assert_eq!(&bytes[36..], &[0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(GetMeasurements::read(&mut Reader::new(&bytes)), Ok(signed));

    let auth = ChallengeAuth {
        version: 0x13,
        slot: 0,
        slot_mask: 1,
        cert_chain_hash: &[0xC0; 48],
        nonce: &nonce,
        meas_summary_hash: &[0xD0; 48],
        opaque: &[0xEE, 0xEE],
        requester_context: context,
        signature: &[0x51; 96],
    };
    let bytes = encode(|w| auth.write(w));
    // Header, CertChainHash, Nonce, MeasurementSummaryHash, OpaqueDataLength.
    let opaque_at = 4 + 48 + 32 + 48 + 2;
    assert_eq!(&bytes[opaque_at - 2..opaque_at + 2], &[2, 0, 0xEE, 0xEE]);
    assert_eq!(&bytes[opaque_at + 2..opaque_at + 10], &context);
    assert_eq!(&bytes[opaque_at + 10..], &[0x51; 96]);
    assert_eq!(
        ChallengeAuth::read(&mut Reader::new(&bytes), &SIZES, meas_summary::TCB),
        Ok(auth)
    );

    let m = Measurements {
        version: 0x13,
        total_indices: 3,
        param2: 0,
        number_of_blocks: 0,
        record: &[],
        nonce: &nonce,
        opaque: &[],
        requester_context: context,
        signature: &[],
    };
    let bytes = encode(|w| m.write(w));
    // Header, NumberOfBlocks, MeasurementRecordLength, Nonce, OpaqueDataLength, context.
    assert_eq!(bytes.len(), 4 + 1 + 3 + 32 + 2 + 8);
    assert_eq!(&bytes[42..], &context);
    assert_eq!(
        Measurements::read(&mut Reader::new(&bytes), &SIZES, false),
        Ok(m)
    );
}

/// DIGESTS 1.3 (Table 35): Param1 SupportedSlotMask, Param2 ProvisionedSlotMask;
/// in 1.2 Param1 is reserved.
#[test]
fn golden_digests_slot_masks() {
    let digest = [7u8; 48];
    for (version, param1) in [(0x12, 0), (0x13, 1)] {
        let d = Digests {
            version,
            slot_mask: 1,
            digests: &digest,
        };
        let bytes = encode(|w| d.write(w, &SIZES));
        assert_eq!(&bytes[..4], &[version, 0x01, param1, 1]);
    }
}

/// MEASUREMENTS with one DMTF block: Index, MeasurementSpecification=1,
/// MeasurementSize = 3 + value, DMTFSpecMeasurementValueType, Size, Value.
#[test]
fn golden_measurements() {
    let block = MeasurementBlock {
        index: 1,
        value_type: 0x01,
        value: &[0xEE; 48],
    };
    let record = encode(|w| block.write(w));
    assert_eq!(&record[..7], &[1, 1, 51, 0, 0x01, 48, 0]);
    let nonce = [0u8; 32];
    let m = Measurements {
        version: 0x12,
        total_indices: 0,
        param2: 0,
        number_of_blocks: 1,
        record: &record,
        nonce: &nonce,
        opaque: &[],
        requester_context: [0; 8],
        signature: &[],
    };
    let bytes = encode(|w| m.write(w));
    assert_eq!(&bytes[..8], &[0x12, 0x60, 0, 0, 1, 55, 0, 0]);
    let back = Measurements::read(&mut Reader::new(&bytes), &SIZES, false).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.blocks().collect::<Vec<_>>(), vec![Ok(block)]);
    // NumberOfBlocks that disagrees with the record is rejected.
    let mut wrong = bytes.clone();
    wrong[4] = 2;
    assert_eq!(
        Measurements::read(&mut Reader::new(&wrong), &SIZES, false),
        Err(Error::InvalidField("MeasurementRecord"))
    );
}

/// KEY_EXCHANGE (ReqSessionID, SessionPolicy, Reserved, RandomData,
/// ExchangeData, OpaqueDataLength, OpaqueData) and KEY_EXCHANGE_RSP sizes
/// for P-384 (D = 96, H = 48, S = 96).
#[test]
fn golden_key_exchange_sizes() {
    let random = [1u8; 32];
    let ke = KeyExchange {
        version: 0x12,
        meas_summary_type: 0,
        slot: 0,
        req_session_id: 0xFFFE,
        session_policy: 0,
        random: &random,
        exchange_data: &[2; 96],
        opaque: &[3; 16],
    };
    let bytes = encode(|w| ke.write(w));
    assert_eq!(bytes.len(), 4 + 2 + 1 + 1 + 32 + 96 + 2 + 16);
    assert_eq!(&bytes[..8], &[0x12, 0xE4, 0, 0, 0xFE, 0xFF, 0, 0]);
    assert_eq!(&bytes[136..138], &[16, 0]);
    assert_eq!(KeyExchange::read(&mut Reader::new(&bytes), &SIZES), Ok(ke));

    let rsp = KeyExchangeRsp {
        version: 0x12,
        heartbeat_period: 0,
        rsp_session_id: 0xA5A5,
        mut_auth_requested: 0,
        req_slot_id_param: 0,
        random: &random,
        exchange_data: &[2; 96],
        meas_summary_hash: &[],
        opaque: &[3; 12],
        signature: &[4; 96],
        verify_data: &[5; 48],
    };
    let bytes = encode(|w| rsp.write(w));
    assert_eq!(bytes.len(), 4 + 2 + 1 + 1 + 32 + 96 + 2 + 12 + 96 + 48);
    assert_eq!(
        KeyExchangeRsp::read(&mut Reader::new(&bytes), &SIZES, 0),
        Ok(rsp)
    );
    assert_eq!(
        KeyExchangeRsp::read(&mut Reader::new(&bytes), &SIZES, meas_summary::TCB),
        Err(Error::Truncated)
    );
}

/// FINISH, END_SESSION and the ERROR table (ResponseNotReady carries 4
/// bytes of extended data: RDTExponent, RequestCode, Token, RDTM).
#[test]
fn golden_finish_end_session_error() {
    let mut finish = vec![0x12, 0xE5, 0, 0];
    finish.extend_from_slice(&[9; 48]);
    assert_eq!(
        Finish::read(&mut Reader::new(&finish), &SIZES),
        Ok(Finish {
            version: 0x12,
            verify_data: &[9; 48]
        })
    );
    finish[2] = FINISH_SIGNATURE_INCLUDED;
    assert_eq!(
        Finish::read(&mut Reader::new(&finish), &SIZES),
        Err(Error::InvalidField("SignatureIncluded"))
    );
    assert_eq!(
        encode(|w| EndSession {
            version: 0x12,
            attributes: 0
        }
        .write(w)),
        [0x12, 0xEC, 0, 0]
    );
    let nr = [0x12, 0x7F, 0x42, 0, 3, 0xE4, 7, 2];
    assert_eq!(
        ErrorRsp::read(&mut Reader::new(&nr)),
        Ok(ErrorRsp {
            version: 0x12,
            code: 0x42,
            data: 0,
            extended: &[3, 0xE4, 7, 2]
        })
    );
    assert_eq!(
        ErrorRsp::read(&mut Reader::new(&nr[..6])),
        Err(Error::Truncated)
    );
}

/// KEY_UPDATE and KEY_UPDATE_ACK: KeyOperation in Param1, Tag in Param2,
/// nothing else; an unknown operation is refused.
#[test]
fn golden_key_update() {
    let update = KeyUpdate {
        version: 0x13,
        code: 0xE9,
        operation: KeyOperation::UpdateAllKeys,
        tag: 0x5A,
    };
    assert_eq!(encode(|w| update.write(w)), [0x13, 0xE9, 2, 0x5A]);
    let ack = [0x12, 0x69, 3, 0x07];
    assert_eq!(
        KeyUpdate::read(&mut Reader::new(&ack), 0x69),
        Ok(KeyUpdate {
            version: 0x12,
            code: 0x69,
            operation: KeyOperation::VerifyNewKey,
            tag: 7
        })
    );
    assert_eq!(
        KeyUpdate::read(&mut Reader::new(&ack), 0xE9),
        Err(Error::UnexpectedCode(0x69))
    );
    for op in [0, 4, 0xFF] {
        assert_eq!(
            KeyUpdate::read(&mut Reader::new(&[0x12, 0xE9, op, 0]), 0xE9),
            Err(Error::InvalidField("KeyOperation"))
        );
    }
    assert_eq!(KeyOperation::from_u8(1), Some(KeyOperation::UpdateKey));
}

/// Seal/open with real AES-256-GCM: the record layout, the AAD covering
/// SessionID and Length, and the per-record sequence number.
#[test]
fn secured_record_layout_and_sequence() {
    let crypto = HostCrypto::seeded(3, None);
    let keys = DirectionKeys {
        aead: AeadAlgo::Aes256Gcm,
        key: [7; 32],
        iv: [1; 12],
        sequence: 0,
    };
    let (mut tx, mut rx) = (keys.clone(), keys);
    let app = [0x12, 0xE8, 0, 0];
    let mut record = vec![0u8; 64];
    record[secured::APP_DATA_OFFSET..secured::APP_DATA_OFFSET + 4].copy_from_slice(&app);
    let len =
        secured::seal_in_place(&crypto, &mut tx, 0xA5A5_FFFE, &mut record, app.len()).unwrap();
    assert_eq!(len, 6 + 2 + 4 + 16);
    assert_eq!(&record[..6], &[0xFE, 0xFF, 0xA5, 0xA5, 22, 0]);
    let mut copy = record[..len].to_vec();
    assert_eq!(
        secured::open(&crypto, &mut rx, &mut copy).map(|(id, m)| (id, m.to_vec())),
        Ok((0xA5A5_FFFE, app.to_vec()))
    );
    // Replaying the same record fails: the receiver's sequence moved on.
    let mut replay = record[..len].to_vec();
    assert!(secured::open(&crypto, &mut rx, &mut replay).is_err());
    // Tampering with the AAD (the length) fails authentication or framing.
    let mut tx2 = DirectionKeys {
        aead: AeadAlgo::Aes256Gcm,
        key: [7; 32],
        iv: [1; 12],
        sequence: 0,
    };
    let mut rx2 = tx2.clone();
    let len = secured::seal_in_place(&crypto, &mut tx2, 1, &mut record, 4).unwrap();
    record[0] ^= 1;
    assert!(secured::open(&crypto, &mut rx2, &mut record[..len]).is_err());
}

/// DSP0277 1.2 forms the AEAD nonce by XORing the 64-bit sequence number,
/// little-endian, into the low-order bytes of the IV: record 1 of a
/// direction with IV `iv` decrypts with nonce `iv ^ 01 00 00 ..`. The same
/// for AES-256-GCM and AES-128-GCM (whose key is the first 16 bytes).
#[test]
fn sequence_number_is_little_endian_in_the_nonce() {
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit, Nonce, Tag};
    let crypto = HostCrypto::seeded(3, None);
    let iv = [
        0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0, 0xB0, 0xC0,
    ];
    for aead in [AeadAlgo::Aes256Gcm, AeadAlgo::Aes128Gcm] {
        let mut key = [0u8; 32];
        key[..aead.key_len()].fill(9);
        let mut keys = DirectionKeys {
            aead,
            key,
            iv,
            sequence: 0x0102,
        };
        assert_eq!(keys.key(), &[9; 32][..aead.key_len()]);
        let app = [0x12, 0xE8, 0, 0];
        let mut record = vec![0u8; 64];
        record[secured::APP_DATA_OFFSET..secured::APP_DATA_OFFSET + 4].copy_from_slice(&app);
        let len = secured::seal_in_place(&crypto, &mut keys, 7, &mut record, app.len()).unwrap();
        let mut nonce = iv;
        nonce[0] ^= 0x02;
        nonce[1] ^= 0x01;
        let (aad, rest) = record[..len].split_at_mut(6);
        let (body, tag) = rest.split_at_mut(len - 6 - 16);
        let (nonce, tag) = (
            Nonce::from(nonce),
            Tag::from(<[u8; 16]>::try_from(&tag[..]).unwrap()),
        );
        match aead {
            AeadAlgo::Aes256Gcm => Aes256Gcm::new_from_slice(&[9; 32])
                .unwrap()
                .decrypt_in_place_detached(&nonce, aad, body, &tag),
            AeadAlgo::Aes128Gcm => Aes128Gcm::new_from_slice(&[9; 16])
                .unwrap()
                .decrypt_in_place_detached(&nonce, aad, body, &tag),
        }
        .expect("little-endian sequence number");
        assert_eq!(&body[2..6], &app);
    }
}

/// The sequence-number byte order is specified (DSP0277 1.2) and the
/// documentation says so instead of listing it as unconfirmed.
#[test]
fn sequence_number_order_is_documented_as_specified() {
    let secured = include_str!("../src/spdm/secured.rs");
    let readme = include_str!("../README.md");
    assert!(!secured.contains("not confirmed"), "spdm/secured.rs");
    assert!(
        secured.contains("DSP0277 1.2"),
        "spdm/secured.rs cites DSP0277 1.2"
    );
    let unconfirmed = readme
        .split("Marked **not confirmed**")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap();
    assert!(!unconfirmed.contains("sequence-number"), "README");
}

/// Encoding then decoding random well-formed messages gives them back.
#[test]
fn property_round_trips() {
    let mut rng = Prng::new(0x5EED);
    for i in 0..2000 {
        let version = if i % 2 == 0 { 0x12 } else { 0x13 };
        // RequesterContext only exists in 1.3; below it decodes as zeros.
        let context: [u8; 8] = if version >= 0x13 {
            rng.bytes(8).try_into().unwrap()
        } else {
            [0; 8]
        };
        let get = GetCertificate {
            version,
            slot: rng.byte() & 7,
            offset: rng.next() as u16,
            length: rng.next() as u16,
        };
        assert_eq!(
            GetCertificate::read(&mut Reader::new(&encode(|w| get.write(w)))),
            Ok(get)
        );

        let portion = rng.bytes_below(300);
        let cert = Certificate {
            version,
            slot: rng.byte() & 7,
            portion: &portion,
            remainder_length: rng.next() as u16,
        };
        assert_eq!(
            Certificate::read(&mut Reader::new(&encode(|w| cert.write(w)))),
            Ok(cert)
        );

        let caps = Capabilities {
            version,
            ct_exponent: rng.byte(),
            flags: rng.next() as u32,
            data_transfer_size: 42 + rng.below(10_000) as u32,
            max_spdm_msg_size: 20_000 + rng.below(10_000) as u32,
        };
        assert_eq!(
            Capabilities::read(
                &mut Reader::new(&encode(|w| caps.write(w, code::CAPABILITIES))),
                code::CAPABILITIES
            ),
            Ok(caps)
        );

        let structs = AlgStructs {
            dhe: rng.next() as u16,
            aead: rng.next() as u16,
            req_base_asym: rng.next() as u16,
            key_schedule: rng.next() as u16,
        };
        let neg = NegotiateAlgorithms {
            version,
            measurement_spec: rng.byte(),
            other_params: rng.byte(),
            base_asym: rng.next() as u32,
            base_hash: rng.next() as u32,
            structs,
        };
        assert_eq!(
            NegotiateAlgorithms::read(&mut Reader::new(&encode(|w| neg.write(w)))),
            Ok(neg)
        );

        let random: [u8; 32] = rng.bytes(32).try_into().unwrap();
        let dhe = rng.bytes(96);
        let opaque = rng.bytes_below(64);
        let ke = KeyExchange {
            version,
            meas_summary_type: [0, 1, 0xFF][rng.below(3)],
            slot: rng.byte() & 7,
            req_session_id: rng.next() as u16,
            session_policy: rng.byte(),
            random: &random,
            exchange_data: &dhe,
            opaque: &opaque,
        };
        assert_eq!(
            KeyExchange::read(&mut Reader::new(&encode(|w| ke.write(w))), &SIZES),
            Ok(ke)
        );

        let values: Vec<Vec<u8>> = {
            let count = rng.below(4);
            (0..count).map(|_| rng.bytes_below(64)).collect()
        };
        let blocks: Vec<MeasurementBlock<'_>> = values
            .iter()
            .enumerate()
            .map(|(i, v)| MeasurementBlock {
                index: i as u8 + 1,
                value_type: rng.byte(),
                value: v,
            })
            .collect();
        let record: Vec<u8> = blocks.iter().flat_map(|b| encode(|w| b.write(w))).collect();
        let sig = rng.bytes(96);
        let signed = rng.byte() & 1 == 1;
        let m = Measurements {
            version,
            total_indices: rng.byte(),
            param2: rng.byte(),
            number_of_blocks: blocks.len() as u8,
            record: &record,
            nonce: &random,
            opaque: &opaque,
            requester_context: context,
            signature: if signed { &sig } else { &[] },
        };
        let bytes = encode(|w| m.write(w));
        let back = Measurements::read(&mut Reader::new(&bytes), &SIZES, signed).unwrap();
        assert_eq!(back, m);
        assert_eq!(
            back.blocks().map(Result::unwrap).collect::<Vec<_>>(),
            blocks
        );

        let payload = rng.bytes_below(200);
        let object = encode(|w| w.bytes(&payload));
        let mut framed = vec![0u8; payload.len() + 16];
        let len = doe::encode_object(rng.next() as u16, rng.byte(), &object, &mut framed).unwrap();
        let (_, back) = doe::decode_object(&framed[..len]).unwrap();
        assert_eq!(&back[..payload.len()], &payload[..]);
        assert!(back.len() - payload.len() < 4);

        let target = ide_km::KeyTarget {
            stream_id: rng.byte(),
            key_sub_stream: ide_km::KeySubStream {
                key_set: rng.byte() & 1,
                tx: rng.byte() & 1 == 1,
                sub_stream: ide_km::SUB_STREAMS[rng.below(3)],
            },
            port_index: rng.byte(),
        };
        let key: [u8; 32] = rng.bytes(32).try_into().unwrap();
        let ifv: [u8; 8] = rng.bytes(8).try_into().unwrap();
        assert_eq!(ide_km::key_from_wire(&ide_km::key_to_wire(&key)), key);
        for m in [
            ide_km::Message::KeyProg {
                target,
                key: &key,
                ifv: &ifv,
            },
            ide_km::Message::KpAck {
                target,
                status: rng.byte(),
            },
            ide_km::Message::KSetGo(target),
            ide_km::Message::KSetStop(target),
            ide_km::Message::KGoStopAck(target),
            ide_km::Message::Query {
                port_index: rng.byte(),
            },
        ] {
            assert_eq!(ide_km::Message::decode(&encode(|w| m.write(w))), Ok(m));
        }

        let interface = tdisp::InterfaceId {
            function_id: rng.next() as u32,
        };
        let nonce: [u8; 32] = rng.bytes(32).try_into().unwrap();
        let range = tdisp::MmioRange {
            first_page: rng.next(),
            number_of_pages: rng.next() as u32,
            attributes: rng.next() as u16,
            range_id: rng.next() as u16,
        };
        let lock = tdisp::LockParams {
            flags: rng.next() as u16,
            default_stream_id: rng.byte(),
            mmio_reporting_offset: rng.next(),
            bind_p2p_address_mask: rng.next(),
        };
        for body in [
            tdisp::Body::LockInterface(lock),
            tdisp::Body::Start(&nonce),
            tdisp::Body::LockInterfaceRsp(&nonce),
            tdisp::Body::SetMmioAttribute(range),
            tdisp::Body::GetReport {
                offset: rng.next() as u16,
                length: rng.next() as u16,
            },
            tdisp::Body::Report {
                portion: &payload,
                remainder_length: rng.next() as u16,
            },
            tdisp::Body::Error {
                code: rng.next() as u32,
                data: rng.next() as u32,
                extended: &opaque,
            },
            tdisp::Body::State(tdisp::TdiState::from_byte(rng.byte() & 3).unwrap()),
        ] {
            let m = tdisp::Message {
                version: tdisp::VERSION_10,
                interface,
                body,
            };
            assert_eq!(tdisp::Message::decode(&encode(|w| m.write(w))), Ok(m));
        }
    }
}

/// Random and mutated inputs never panic any decoder (the fuzz targets
/// do this at scale; this keeps a cheap version in `cargo test`).
#[test]
fn property_random_input_never_panics() {
    let mut rng = Prng::new(42);
    let seeds: Vec<Vec<u8>> = vec![
        vec![0x12, 0x63, 4, 0, 52, 0],
        vec![0x12, 0x60, 0, 0, 1, 7, 0, 0, 1, 1, 3, 0, 1, 0, 0],
        vec![0x10, 0x04, 0, 0, 0, 1, 0, 0x12],
        vec![
            0x10, 0x84, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0,
        ],
    ];
    for i in 0..20_000 {
        let mut input = if i % 2 == 0 {
            seeds[rng.below(seeds.len())].clone()
        } else {
            rng.bytes_below(80)
        };
        for _ in 0..rng.below(4) {
            if !input.is_empty() {
                let at = rng.below(input.len());
                input[at] = rng.byte();
            }
        }
        input.extend(rng.bytes_below(8));
        let r = || Reader::new(&input);
        let _ = Version::read(&mut r());
        let _ = Algorithms::read(&mut r());
        let _ = NegotiateAlgorithms::read(&mut r());
        let _ = Measurements::read(&mut r(), &SIZES, true);
        let _ = ChallengeAuth::read(&mut r(), &SIZES, 1);
        let _ = KeyExchangeRsp::read(&mut r(), &SIZES, 0);
        let _ = doe::decode_object(&input);
        let _ = tdisp::Message::decode(&input);
        let _ = tdisp::InterfaceReport::decode(&input);
        let _ = ide_km::Message::decode(&input);
        let _ = tsm_proto::spdm::opaque::selection(&input);
    }
}
