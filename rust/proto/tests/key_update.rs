// SPDX-License-Identifier: GPL-2.0
//! KEY_UPDATE between the requester and the responder (DSP0274 1.2/1.3
//! KEY_UPDATE and KEY_UPDATE_ACK, DSP0277 "Session key update"): UpdateKey,
//! UpdateAllKeys and VerifyNewKey on every version pair and both suites,
//! traffic under the new keys, records under the old keys refused, the
//! KEY_UPD_CAP negotiation, the session requirement and the order rules.
//!
//! The providers of both sides record the key and nonce of every record
//! they seal, so a test can seal a record of its own under keys a side
//! used (or no longer uses) and read what the responder answers to it.

mod common;

use std::cell::RefCell;

use common::{certificates, signing_key, signing_key_for};
use tsm_proto::doe;
use tsm_proto::spdm::crypto::{AeadAlgo, AsymAlgo, Supported, AEAD_IV_LEN, MAX_AEAD_KEY_LEN};
use tsm_proto::spdm::key_schedule::DirectionKeys;
use tsm_proto::spdm::msg::{KeyOperation, MeasurementBlock};
use tsm_proto::spdm::opaque::{SECURED_MESSAGE_VERSION_11, SECURED_MESSAGE_VERSION_12};
use tsm_proto::spdm::requester::{Request, Requester, RequesterConfig, Response};
use tsm_proto::spdm::responder::{Responder, ResponderConfig, VendorHandler};
use tsm_proto::spdm::{cap, code, error_code, secured, Error, Versions};
use tsm_proto::wire::Writer;
use tsm_spdm_rustcrypto::{Hooks, RustCrypto};

/// Every record a provider sealed: its key and nonce.
#[derive(Default)]
struct Sealed(RefCell<Vec<(Vec<u8>, [u8; AEAD_IV_LEN])>>);

impl Hooks for Sealed {
    fn sealing(&self, key: &[u8], nonce: &[u8; AEAD_IV_LEN], _plain: &[u8]) {
        self.0.borrow_mut().push((key.to_vec(), *nonce));
    }
}

type Crypto = RustCrypto<Sealed>;

/// No vendor-defined protocols: only SPDM itself is exercised.
struct NoVendor;

impl VendorHandler for NoVendor {
    fn handle(&mut self, _: u32, _: u8, _: &[u8], _: &mut Writer<'_>) -> Result<(), u8> {
        Err(error_code::UNSUPPORTED_REQUEST)
    }

    fn session_ended(&mut self, _: u32) {}
}

const SESSION_FLAGS: u32 = cap::ENCRYPT | cap::MAC | cap::KEY_EX;
const REQUESTER_FLAGS: u32 = SESSION_FLAGS | cap::HBEAT | cap::KEY_UPD;
const RESPONDER_FLAGS: u32 = cap::CERT | cap::CHAL | REQUESTER_FLAGS;

struct Harness<'a> {
    requester: Requester<Crypto, Vec<u8>>,
    responder: Responder<'a, Crypto>,
    request: Vec<u8>,
    response: Vec<u8>,
    session_id: u32,
}

impl<'a> Harness<'a> {
    /// A requester and a responder with these capability flags, signing
    /// with `asym`, offering `versions`; nothing sent yet.
    fn new(
        chain: &'a [u8],
        asym: AsymAlgo,
        versions: Versions,
        requester_flags: u32,
        responder_flags: u32,
    ) -> Self {
        let key = signing_key_for(asym, 7);
        let mut responder = Responder::new(
            Crypto::seeded(2, Some(key)),
            ResponderConfig {
                flags: responder_flags,
                ct_exponent: 14,
                data_transfer_size: 4096,
                max_spdm_msg_size: 4096,
                certificates: chain,
                measurements: &[] as &[MeasurementBlock<'_>],
                measurement_hash: tsm_proto::spdm::crypto::HashAlgo::Sha384,
                algorithms: Supported::ALL,
                rsp_session_id: 0xA5A5,
            },
        );
        let mut requester = Requester::new(
            Crypto::seeded(1, None),
            RequesterConfig {
                flags: requester_flags,
                ct_exponent: 12,
                data_transfer_size: 4096,
                max_spdm_msg_size: 4096,
                req_session_id: 0xFFFE,
                algorithms: Supported::ALL,
            },
            vec![0u8; 1024],
        );
        responder.set_versions(versions);
        requester.set_versions(versions);
        Self {
            requester,
            responder,
            request: vec![0; 8192],
            response: vec![0; 8192],
            session_id: 0,
        }
    }

    /// The P-384 device, both sides with KEY_UPD_CAP, every version.
    fn p384(chain: &'a [u8]) -> Self {
        Self::new(
            chain,
            AsymAlgo::EcdsaP384,
            Versions::ALL,
            REQUESTER_FLAGS,
            RESPONDER_FLAGS,
        )
    }

    fn exchange(&mut self, req: Request<'_>) -> Result<Response<'static>, Error> {
        let len = self.requester.request(req, &mut self.request)?;
        let rsp_len =
            self.responder
                .process(&mut self.request[..len], &mut self.response, &mut NoVendor)?;
        // Only body-less responses are asked for here.
        self.requester
            .response(&mut self.response[..rsp_len])
            .map(|r| match r {
                Response::Heartbeat => Response::Heartbeat,
                Response::KeyUpdate(op) => Response::KeyUpdate(op),
                Response::EndSession => Response::EndSession,
                Response::Finish => Response::Finish,
                Response::KeyExchange { session_id } => Response::KeyExchange { session_id },
                Response::Version => Response::Version,
                Response::Capabilities(f) => Response::Capabilities(f),
                Response::Algorithms(a) => Response::Algorithms(a),
                Response::Digests(d) => Response::Digests(d),
                Response::Certificate { complete } => Response::Certificate { complete },
                other => panic!("{other:?}"),
            })
    }

    /// VCA, the certificate chain, KEY_EXCHANGE and FINISH.
    fn open_session(&mut self) {
        self.connect();
        match self.exchange(Request::KeyExchange).unwrap() {
            Response::KeyExchange { session_id } => self.session_id = session_id,
            other => panic!("{other:?}"),
        }
        assert_eq!(self.exchange(Request::Finish), Ok(Response::Finish));
    }

    fn connect(&mut self) {
        assert_eq!(self.exchange(Request::GetVersion), Ok(Response::Version));
        self.exchange(Request::GetCapabilities).unwrap();
        self.exchange(Request::NegotiateAlgorithms).unwrap();
        assert_eq!(self.exchange(Request::GetDigests), Ok(Response::Digests(1)));
        while self.exchange(Request::GetCertificate).unwrap()
            != (Response::Certificate { complete: true })
        {}
    }

    fn heartbeat(&mut self) -> Result<Response<'static>, Error> {
        self.exchange(Request::Heartbeat)
    }

    fn key_update(&mut self, op: KeyOperation) -> Result<Response<'static>, Error> {
        self.exchange(Request::KeyUpdate(op))
    }

    /// The key and base IV of the record the requester (or the responder)
    /// sealed last, which was the `sequence`th of its keys.
    fn last_sealed(&mut self, responder: bool, sequence: u64) -> DirectionKeys {
        let sealed = if responder {
            &self.responder.crypto_mut().hooks
        } else {
            &self.requester.crypto_mut().hooks
        };
        let (key, nonce) = sealed.0.borrow().last().cloned().unwrap();
        let mut iv = nonce;
        for (b, s) in iv.iter_mut().zip(sequence.to_le_bytes()) {
            *b ^= s;
        }
        let mut keys = [0u8; MAX_AEAD_KEY_LEN];
        keys[..key.len()].copy_from_slice(&key);
        DirectionKeys {
            aead: if key.len() == 16 {
                AeadAlgo::Aes128Gcm
            } else {
                AeadAlgo::Aes256Gcm
            },
            key: keys,
            iv,
            sequence: sequence + 1,
        }
    }

    /// Hands the responder `message` sealed under `keys`; returns its
    /// answer opened under `answer_keys`, or the responder's error.
    fn forge(
        &mut self,
        keys: &mut DirectionKeys,
        message: &[u8],
        answer_keys: &mut DirectionKeys,
    ) -> Result<Vec<u8>, Error> {
        let mut object = seal_object(keys, self.session_id, message);
        let len = self
            .responder
            .process(&mut object, &mut self.response, &mut NoVendor)?;
        Ok(open_object(answer_keys, &mut self.response[..len]))
    }
}

/// `message` sealed under `keys` as a DOE secured-CMA object.
fn seal_object(keys: &mut DirectionKeys, session_id: u32, message: &[u8]) -> Vec<u8> {
    let crypto = Crypto::seeded(9, None);
    let mut record = vec![0u8; message.len() + secured::OVERHEAD];
    record[secured::APP_DATA_OFFSET..][..message.len()].copy_from_slice(message);
    let len =
        secured::seal_in_place(&crypto, keys, session_id, &mut record, message.len()).unwrap();
    let mut object = vec![0u8; len + 16];
    let len = doe::encode_object(
        doe::PCI_SIG_VENDOR_ID,
        doe::TYPE_SECURED_CMA,
        &record[..len],
        &mut object,
    )
    .unwrap();
    object.truncate(len);
    object
}

/// The SPDM message of a secured DOE object, opened under `keys`.
fn open_object(keys: &mut DirectionKeys, object: &mut [u8]) -> Vec<u8> {
    let crypto = Crypto::seeded(9, None);
    let payload_len = doe::decode_object(object).unwrap().1.len();
    let record = &mut object[doe::HEADER_LEN..][..payload_len];
    secured::open(&crypto, keys, record).unwrap().1.to_vec()
}

const PAIRS: [Versions; 4] = [
    Versions {
        spdm: &[0x12],
        secured: &[SECURED_MESSAGE_VERSION_11],
    },
    Versions {
        spdm: &[0x12],
        secured: &[SECURED_MESSAGE_VERSION_12],
    },
    Versions {
        spdm: &[0x13],
        secured: &[SECURED_MESSAGE_VERSION_11],
    },
    Versions {
        spdm: &[0x13],
        secured: &[SECURED_MESSAGE_VERSION_12],
    },
];

/// UpdateKey and UpdateAllKeys, each verified, twice in a row, on every
/// version pair with the P-384 and the P-256 suite: the requester's
/// records change keys after each ACK, the responder's only with
/// UpdateAllKeys (whose ACK already comes under its new keys), and
/// HEARTBEAT and END_SESSION keep working.
#[test]
fn key_updates_round_trip() {
    for asym in [AsymAlgo::EcdsaP384, AsymAlgo::EcdsaP256] {
        let chain = certificates(&signing_key_for(asym, 7));
        for versions in PAIRS {
            for op in [KeyOperation::UpdateKey, KeyOperation::UpdateAllKeys] {
                let mut h = Harness::new(&chain, asym, versions, REQUESTER_FLAGS, RESPONDER_FLAGS);
                h.open_session();
                assert_eq!(h.heartbeat(), Ok(Response::Heartbeat));
                for round in 0..2 {
                    let request_key = h.last_sealed(false, 0).key;
                    let response_key = h.last_sealed(true, 0).key;
                    assert_eq!(h.key_update(op), Ok(Response::KeyUpdate(op)), "{round}");
                    // KEY_UPDATE itself went under the old request keys.
                    assert_eq!(h.last_sealed(false, 0).key, request_key);
                    let ack_key = h.last_sealed(true, 0).key;
                    assert_eq!(
                        ack_key != response_key,
                        op == KeyOperation::UpdateAllKeys,
                        "{versions:?} {op:?}"
                    );
                    let verify = KeyOperation::VerifyNewKey;
                    assert_eq!(h.key_update(verify), Ok(Response::KeyUpdate(verify)));
                    assert_ne!(h.last_sealed(false, 0).key, request_key);
                    assert_eq!(h.last_sealed(true, 0).key, ack_key);
                    assert_eq!(h.heartbeat(), Ok(Response::Heartbeat));
                }
                assert_eq!(h.exchange(Request::EndSession), Ok(Response::EndSession));
                assert_eq!(h.responder.session_id(), None);
            }
        }
    }
}

/// The first data record of each direction is the 0th of its keys: a
/// HEARTBEAT tells both directions' base keys. After a key update, records
/// under the old keys fail to authenticate (the responder ends the
/// session, the requester refuses the answer), while the same records under
/// the new keys are taken.
#[test]
fn old_keys_no_longer_decrypt() {
    let chain = certificates(&signing_key(7));
    let heartbeat = |v| [v, code::HEARTBEAT, 0, 0];
    let ack = |v| [v, code::HEARTBEAT_ACK, 0, 0];
    for op in [KeyOperation::UpdateKey, KeyOperation::UpdateAllKeys] {
        for verified in [false, true] {
            let mut h = Harness::p384(&chain);
            h.open_session();
            let v = h.requester.spdm_version().unwrap();
            assert_eq!(h.heartbeat(), Ok(Response::Heartbeat));
            let mut old_request = h.last_sealed(false, 0);
            let mut old_response = h.last_sealed(true, 0);
            assert_eq!(h.key_update(op), Ok(Response::KeyUpdate(op)));
            let mut new_response = h.last_sealed(true, 0);
            if op == KeyOperation::UpdateKey {
                // The ACK was the second record of the unchanged keys.
                new_response = h.last_sealed(true, 1);
            }
            if verified {
                let verify = KeyOperation::VerifyNewKey;
                assert_eq!(h.key_update(verify), Ok(Response::KeyUpdate(verify)));
                new_response.sequence += 1;
            }

            // The requester's old keys, at their next sequence number.
            old_request.sequence = 2;
            let mut copy = old_request.clone();
            let object = seal_object(&mut copy, h.session_id, &heartbeat(v));
            // The requester, under the new response keys, refuses one under the old.
            if op == KeyOperation::UpdateAllKeys {
                old_response.sequence = 2;
                let len = h
                    .requester
                    .request(Request::Heartbeat, &mut h.request)
                    .unwrap();
                let mut answer = seal_object(&mut old_response, h.session_id, &ack(v));
                assert!(matches!(
                    h.requester.response(&mut answer),
                    Err(Error::Session(_))
                ));
                // The responder takes the requester's record, sealed under the new keys.
                let rsp_len = h
                    .responder
                    .process(&mut h.request[..len], &mut h.response, &mut NoVendor)
                    .unwrap();
                assert_eq!(
                    open_object(&mut new_response, &mut h.response[..rsp_len]),
                    ack(v)
                );
            }
            let mut object = object;
            assert!(matches!(
                h.responder
                    .process(&mut object, &mut h.response, &mut NoVendor),
                Err(Error::Session(_))
            ));
            assert_eq!(h.responder.session_id(), None, "{op:?} verified {verified}");
        }
    }
}

/// A record the test seals under the session's current keys is answered
/// like one from the requester: the forging above is sound.
#[test]
fn forged_records_under_the_current_keys_are_answered() {
    let chain = certificates(&signing_key(7));
    let mut h = Harness::p384(&chain);
    h.open_session();
    let v = h.requester.spdm_version().unwrap();
    assert_eq!(h.heartbeat(), Ok(Response::Heartbeat));
    let mut request = h.last_sealed(false, 0);
    let mut response = h.last_sealed(true, 0);
    let answer = h
        .forge(
            &mut request,
            &[v, code::KEY_UPDATE, KeyOperation::UpdateKey as u8, 0x5A],
            &mut response,
        )
        .unwrap();
    assert_eq!(
        answer,
        [v, code::KEY_UPDATE_ACK, KeyOperation::UpdateKey as u8, 0x5A]
    );
}

/// The ERROR the responder sends for an unusable KEY_UPDATE.
fn error(v: u8, code: u8, data: u8) -> Vec<u8> {
    vec![v, tsm_proto::spdm::code::ERROR, code, data]
}

/// KEY_UPDATE needs KEY_UPD_CAP on both sides: without it the requester
/// does not send it, and the responder answers UnsupportedRequest.
#[test]
fn key_update_needs_key_upd_cap_on_both_sides() {
    let chain = certificates(&signing_key(7));
    for (requester_flags, responder_flags) in [
        (REQUESTER_FLAGS, RESPONDER_FLAGS & !cap::KEY_UPD),
        (REQUESTER_FLAGS & !cap::KEY_UPD, RESPONDER_FLAGS),
    ] {
        let mut h = Harness::new(
            &chain,
            AsymAlgo::EcdsaP384,
            Versions::ALL,
            requester_flags,
            responder_flags,
        );
        h.open_session();
        assert!(!h.requester.key_update_negotiated());
        for op in [
            KeyOperation::UpdateKey,
            KeyOperation::UpdateAllKeys,
            KeyOperation::VerifyNewKey,
        ] {
            assert_eq!(
                h.requester.request(Request::KeyUpdate(op), &mut h.request),
                Err(Error::UnexpectedMessage(code::KEY_UPDATE))
            );
        }
        let v = h.requester.spdm_version().unwrap();
        assert_eq!(h.heartbeat(), Ok(Response::Heartbeat));
        let mut request = h.last_sealed(false, 0);
        let mut response = h.last_sealed(true, 0);
        let update = [v, code::KEY_UPDATE, KeyOperation::UpdateAllKeys as u8, 1];
        assert_eq!(
            h.forge(&mut request, &update, &mut response),
            Ok(error(v, error_code::UNSUPPORTED_REQUEST, code::KEY_UPDATE))
        );
        // Nothing changed: the session goes on under the same keys.
        let heartbeat = [v, code::HEARTBEAT, 0, 0];
        assert_eq!(
            h.forge(&mut request, &heartbeat, &mut response),
            Ok(vec![v, code::HEARTBEAT_ACK, 0, 0])
        );
    }
}

/// Outside an established session KEY_UPDATE is not sent, and the
/// responder answers a plain one with SessionRequired.
#[test]
fn key_update_needs_a_session() {
    let chain = certificates(&signing_key(7));
    let mut h = Harness::p384(&chain);
    let refused = Err(Error::UnexpectedMessage(code::KEY_UPDATE));
    let op = KeyOperation::UpdateKey;
    assert_eq!(
        h.requester.request(Request::KeyUpdate(op), &mut h.request),
        refused
    );
    h.connect();
    assert_eq!(
        h.requester.request(Request::KeyUpdate(op), &mut h.request),
        refused
    );
    let v = h.requester.spdm_version().unwrap();
    let mut object = vec![0u8; 16];
    let len = doe::encode_object(
        doe::PCI_SIG_VENDOR_ID,
        doe::TYPE_CMA,
        &[v, code::KEY_UPDATE, op as u8, 0],
        &mut object,
    )
    .unwrap();
    let rsp_len = h
        .responder
        .process(&mut object[..len], &mut h.response, &mut NoVendor)
        .unwrap();
    let (_, payload) = doe::decode_object(&h.response[..rsp_len]).unwrap();
    assert_eq!(payload, error(v, error_code::SESSION_REQUIRED, 0));
    // In the handshake phase (before FINISH) neither.
    assert!(matches!(
        h.exchange(Request::KeyExchange),
        Ok(Response::KeyExchange { .. })
    ));
    assert_eq!(
        h.requester.request(Request::KeyUpdate(op), &mut h.request),
        refused
    );
}

/// VerifyNewKey only after an update, and no update before VerifyNewKey:
/// the requester does not send them, the responder answers InvalidRequest
/// (as it does for an unknown KeyOperation) and keeps its keys.
#[test]
fn key_update_order_is_enforced() {
    let chain = certificates(&signing_key(7));
    let mut h = Harness::p384(&chain);
    h.open_session();
    let v = h.requester.spdm_version().unwrap();
    let refused = Err(Error::UnexpectedMessage(code::KEY_UPDATE));
    let verify = KeyOperation::VerifyNewKey;
    assert_eq!(
        h.requester
            .request(Request::KeyUpdate(verify), &mut h.request),
        refused
    );
    assert_eq!(h.heartbeat(), Ok(Response::Heartbeat));
    let mut request = h.last_sealed(false, 0);
    let mut response = h.last_sealed(true, 0);
    let invalid = Ok(error(v, error_code::INVALID_REQUEST, 0));
    for op in [verify as u8, 0, 4] {
        let message = [v, code::KEY_UPDATE, op, 7];
        assert_eq!(h.forge(&mut request, &message, &mut response), invalid);
    }
    // A malformed one too (KEY_UPDATE has no body).
    let message = [v, code::KEY_UPDATE, 1, 7, 0];
    assert_eq!(h.forge(&mut request, &message, &mut response), invalid);

    // An acknowledged update: the requester refuses another one before
    // VerifyNewKey, and so does the responder.
    let mut h = Harness::p384(&chain);
    h.open_session();
    let op = KeyOperation::UpdateAllKeys;
    assert_eq!(h.key_update(op), Ok(Response::KeyUpdate(op)));
    for again in [KeyOperation::UpdateKey, KeyOperation::UpdateAllKeys] {
        assert_eq!(
            h.requester
                .request(Request::KeyUpdate(again), &mut h.request),
            refused
        );
    }
    // Other requests are fine meanwhile: the first record of the new request
    // keys, answered with the second of the new response keys.
    assert_eq!(h.heartbeat(), Ok(Response::Heartbeat));
    let mut request = h.last_sealed(false, 0);
    let mut response = h.last_sealed(true, 1);
    for again in [KeyOperation::UpdateKey, KeyOperation::UpdateAllKeys] {
        let message = [v, code::KEY_UPDATE, again as u8, 9];
        assert_eq!(h.forge(&mut request, &message, &mut response), invalid);
    }
    let message = [v, code::KEY_UPDATE, verify as u8, 9];
    assert_eq!(
        h.forge(&mut request, &message, &mut response),
        Ok(vec![v, code::KEY_UPDATE_ACK, verify as u8, 9])
    );
}

/// An ERROR answering UpdateAllKeys comes under the responder's old keys
/// (it updated nothing): the requester reads it, reports it, and keeps its
/// keys, so it may send UpdateAllKeys again.
#[test]
fn error_to_update_all_keys_changes_nothing() {
    let chain = certificates(&signing_key(7));
    let mut h = Harness::p384(&chain);
    h.open_session();
    let v = h.requester.spdm_version().unwrap();
    assert_eq!(h.heartbeat(), Ok(Response::Heartbeat));
    let mut response = h.last_sealed(true, 0);
    let op = KeyOperation::UpdateAllKeys;
    h.requester
        .request(Request::KeyUpdate(op), &mut h.request)
        .unwrap();
    let mut busy = seal_object(&mut response, h.session_id, &error(v, error_code::BUSY, 0));
    assert_eq!(
        h.requester.response(&mut busy),
        Err(Error::Peer {
            code: error_code::BUSY,
            data: 0
        })
    );
    assert!(h
        .requester
        .request(Request::KeyUpdate(op), &mut h.request)
        .is_ok());
}
