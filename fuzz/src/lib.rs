// SPDX-License-Identifier: GPL-2.0
//! Shared by the SPDM state-machine fuzz targets and the seed-corpus
//! generator: a scripted good requester <-> responder exchange with real
//! host crypto (RustCrypto), which a fuzz input replays up to a chosen
//! step before the fuzzed object is handed to the side under test.
//!
//! # Input layout
//!
//! ```text
//! byte 0   step selector (modulo the target's list of steps)
//! byte 1   mode: bit 0 "sealed" (in-session targets: the rest is plaintext
//!          the harness seals with the live session keys), bits 2..3 the
//!          SPDM / secured-message versions both sides offer, bit 4 "go on"
//!          (continue the good script after the fuzzed object), bits 5..6
//!          the algorithms (see [`suite`])
//! byte 2   RNG seed of both crypto providers (nonces, ephemeral keys)
//! rest     the fuzzed object(s)
//! ```
//!
//! Everything is deterministic in the input: the providers' RNGs are
//! seeded from byte 2 and the device data is constant, so a recorded
//! secured record decrypts again when its input is replayed.

use std::cell::RefCell;
use std::sync::OnceLock;

use tsm_proto::doe;
use tsm_proto::ide_km::{self, IdeKmResponder, IdePort, KeySubStream, KeyTarget, SUB_STREAMS};
use tsm_proto::spdm::crypto::{AeadAlgo, AsymAlgo, Supported};
use tsm_proto::spdm::key_schedule::DirectionKeys;
use tsm_proto::spdm::msg::{self, MeasurementBlock};
use tsm_proto::spdm::opaque::{SECURED_MESSAGE_VERSION_11, SECURED_MESSAGE_VERSION_12};
use tsm_proto::spdm::requester::{Request, Requester, RequesterConfig, Response};
use tsm_proto::spdm::responder::{Responder, ResponderConfig, VendorHandler};
use tsm_proto::spdm::vendor::{PROTOCOL_IDE_KM, PROTOCOL_TDISP};
use tsm_proto::spdm::{
    alg, cap, error_code, secured, Versions, AEAD_IV_LEN, MAX_AEAD_KEY_LEN, VERSION_12, VERSION_13,
};
use tsm_proto::tdisp::{self, Body, InterfaceId, InterfaceReport, MmioRange, TdispResponder};
use tsm_proto::wire::{encode_into, Writer};

use tsm_spdm_rustcrypto::{Hooks, RustCrypto};

/// Size of the header in front of the fuzzed object.
pub const INPUT_HEADER_LEN: usize = 3;
/// Mode bit: the rest is plaintext to seal with the live session keys.
pub const MODE_SEALED: u8 = 1 << 0;
/// Mode bit: continue the good script after the fuzzed object.
pub const MODE_GO_ON: u8 = 1 << 4;

/// What the last `aead_encrypt` saw: the key, the record nonce (base IV
/// with the sequence number mixed in) and the plaintext.
#[derive(Clone, Debug, Default)]
pub struct Sealed {
    /// AEAD key (16 or 32 bytes).
    pub key: Vec<u8>,
    /// Record nonce.
    pub nonce: [u8; AEAD_IV_LEN],
    /// Plaintext: ApplicationDataLength then the application data.
    pub plain: Vec<u8>,
}

/// Hooks that remember the last record encryption, so the harness can
/// seal its own plaintext exactly where the real record was.
#[derive(Default)]
pub struct RecordSeals {
    /// The last record sealed by this side.
    pub last_sealed: RefCell<Option<Sealed>>,
}

impl Hooks for RecordSeals {
    fn sealing(&self, key: &[u8], nonce: &[u8; AEAD_IV_LEN], plain: &[u8]) {
        *self.last_sealed.borrow_mut() = Some(Sealed {
            key: key.to_vec(),
            nonce: *nonce,
            plain: plain.to_vec(),
        });
    }
}

/// The shared RustCrypto provider (`tools/spdm-rustcrypto`) with
/// [`RecordSeals`].
pub type FuzzCrypto = RustCrypto<RecordSeals>;

const INTERFACE: InterfaceId = InterfaceId {
    function_id: 0x0100_0100,
};
const IDE_REGISTERS: [u8; 12] = [0x42, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0x01, 0, 0, 0];
const RANGES: [MmioRange; 2] = [
    MmioRange {
        first_page: 0x10_0000,
        number_of_pages: 16,
        attributes: 0,
        range_id: 0,
    },
    MmioRange {
        first_page: 0x10_0010,
        number_of_pages: 1,
        attributes: 1,
        range_id: 0,
    },
];
const BLOCKS: [MeasurementBlock<'static>; 2] = [
    MeasurementBlock {
        index: 1,
        value_type: 0x00,
        value: &[0x11; 48],
    },
    MeasurementBlock {
        index: 2,
        value_type: 0x01,
        value: &[0x22; 48],
    },
];
const DEVICE_KEY: u8 = 7;
const REQ_SESSION_ID: u16 = 0xFFFE;
const RSP_SESSION_ID: u16 = 0xA5A5;

/// Constant device data, computed once (deriving the public keys is the
/// slow part): a P-384 and a P-256 key with their raw-key certificates.
struct DeviceData {
    p384: (tsm_spdm_rustcrypto::SigningKey, Vec<u8>),
    p256: (tsm_spdm_rustcrypto::SigningKey, Vec<u8>),
    report: Vec<u8>,
}

impl DeviceData {
    /// The key of `asym` and its certificates.
    fn key(&self, asym: AsymAlgo) -> &(tsm_spdm_rustcrypto::SigningKey, Vec<u8>) {
        match asym {
            AsymAlgo::EcdsaP256 => &self.p256,
            AsymAlgo::EcdsaP384 => &self.p384,
        }
    }
}

fn device_data() -> &'static DeviceData {
    static DATA: OnceLock<DeviceData> = OnceLock::new();
    DATA.get_or_init(|| {
        let with_certs = |asym| {
            let key = tsm_spdm_rustcrypto::signing_key_for(asym, DEVICE_KEY);
            let certs = tsm_spdm_rustcrypto::raw_key_certificates(&key);
            (key, certs)
        };
        let mut report = vec![0u8; 256];
        let info = [0xD5u8; 24];
        let len = encode_into(&mut report, |w| {
            InterfaceReport::new(0x0002, &info).write(&RANGES, w)
        })
        .expect("the report fits");
        report.truncate(len);
        DeviceData {
            p384: with_certs(AsymAlgo::EcdsaP384),
            p256: with_certs(AsymAlgo::EcdsaP256),
            report,
        }
    })
}

/// The device behind the responder: one IDE_KM port and one TDI.
pub struct Device {
    ide: IdeKmResponder<'static, 1>,
    tdisp: TdispResponder<'static>,
    nonce_counter: u8,
}

impl VendorHandler for Device {
    fn handle(
        &mut self,
        _session: u32,
        protocol: u8,
        request: &[u8],
        response: &mut Writer<'_>,
    ) -> Result<(), u8> {
        match protocol {
            PROTOCOL_IDE_KM => self
                .ide
                .handle(request, response)
                .map_err(|_| error_code::INVALID_REQUEST),
            PROTOCOL_TDISP => {
                self.nonce_counter = self.nonce_counter.wrapping_add(1);
                let keyed = self.ide.stream_keyed().is_some();
                self.tdisp
                    .handle(
                        request,
                        keyed,
                        [self.nonce_counter; tdisp::NONCE_LEN],
                        response,
                    )
                    .map_err(|_| error_code::UNSPECIFIED)
            }
            _ => Err(error_code::UNSUPPORTED_REQUEST),
        }
    }

    fn session_ended(&mut self, _session: u32) {
        self.tdisp.tdi.fault();
    }
}

/// One step of the good exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A plain SPDM request or a session request without a body.
    Spdm(Request<'static>),
    /// IDE_KM QUERY of port 0.
    IdeQuery,
    /// IDE_KM KEY_PROG of key slot n (0..6) of stream 1.
    IdeKeyProg(u8),
    /// IDE_KM K_SET_GO of key slot n.
    IdeGo(u8),
    /// A TDISP request; `Start` uses the nonce LOCK_INTERFACE returned.
    Tdisp(TdispStep),
}

/// TDISP requests of the script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TdispStep {
    /// GET_TDISP_VERSION.
    Version,
    /// GET_TDISP_CAPABILITIES.
    Capabilities,
    /// LOCK_INTERFACE_REQUEST.
    Lock,
    /// GET_DEVICE_INTERFACE_REPORT (first 64 bytes).
    Report,
    /// START_INTERFACE_REQUEST.
    Start,
    /// GET_DEVICE_INTERFACE_STATE.
    State,
    /// STOP_INTERFACE_REQUEST.
    Stop,
}

/// The good exchange, in order. Steps before [`FIRST_SESSION_STEP`] are
/// plain; the rest travel in secured records.
pub const SCRIPT: [Step; 32] = [
    Step::Spdm(Request::GetVersion),
    Step::Spdm(Request::GetCapabilities),
    Step::Spdm(Request::NegotiateAlgorithms),
    Step::Spdm(Request::GetDigests),
    Step::Spdm(Request::GetCertificate),
    Step::Spdm(Request::ChallengeWithSummary(msg::meas_summary::ALL)),
    Step::Spdm(Request::GetMeasurements {
        operation: msg::MEAS_OP_ALL,
        signed: true,
        nonce: None,
    }),
    Step::Spdm(Request::KeyExchange),
    Step::Spdm(Request::Finish),
    Step::Spdm(Request::GetMeasurements {
        operation: msg::MEAS_OP_ALL,
        signed: true,
        nonce: None,
    }),
    Step::Spdm(Request::Heartbeat),
    Step::IdeQuery,
    Step::IdeKeyProg(0),
    Step::IdeKeyProg(1),
    Step::IdeKeyProg(2),
    Step::IdeKeyProg(3),
    Step::IdeKeyProg(4),
    Step::IdeKeyProg(5),
    Step::IdeGo(0),
    Step::IdeGo(1),
    Step::IdeGo(2),
    Step::IdeGo(3),
    Step::IdeGo(4),
    Step::IdeGo(5),
    Step::Tdisp(TdispStep::Version),
    Step::Tdisp(TdispStep::Capabilities),
    Step::Tdisp(TdispStep::Lock),
    Step::Tdisp(TdispStep::Report),
    Step::Tdisp(TdispStep::Start),
    Step::Tdisp(TdispStep::State),
    Step::Tdisp(TdispStep::Stop),
    Step::Spdm(Request::EndSession),
];

/// Index of FINISH, the first step in a secured record.
pub const FIRST_SESSION_STEP: usize = 8;
/// Index of KEY_EXCHANGE.
const KEY_EXCHANGE_STEP: usize = 7;
/// Steps that need a signature on both sides and are skipped on the way
/// to a session step (they are fuzz stops of their own).
const SIGNED_PLAIN_STEPS: [usize; 2] = [5, 6];

/// The steps a target may stop at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before the session: GET_VERSION .. KEY_EXCHANGE.
    Plain,
    /// FINISH and everything in the session.
    Session,
}

impl Phase {
    /// The script indices this phase stops at.
    pub fn steps(self) -> core::ops::Range<usize> {
        match self {
            Phase::Plain => 0..FIRST_SESSION_STEP,
            Phase::Session => FIRST_SESSION_STEP..SCRIPT.len(),
        }
    }

    /// The script index selected by an input's first byte.
    pub fn select(self, selector: u8) -> usize {
        let steps = self.steps();
        steps.start + usize::from(selector) % steps.len()
    }
}

/// The versions mode bits 2..3 select (both sides offer the same).
pub fn versions(mode: u8) -> Versions {
    match (mode >> 2) & 3 {
        0 => Versions::ALL,
        1 => Versions {
            spdm: &[VERSION_12],
            secured: &[SECURED_MESSAGE_VERSION_11],
        },
        2 => Versions {
            spdm: &[VERSION_13],
            secured: &[SECURED_MESSAGE_VERSION_11],
        },
        _ => Versions {
            spdm: &[VERSION_12],
            secured: &[SECURED_MESSAGE_VERSION_12],
        },
    }
}

/// The device key and the algorithms both sides may use, by mode bits
/// 5..6: 0 everything with a P-384 device (the P-384 suite is chosen), 1
/// the P-256 suite (AES-256-GCM chosen), 2 the P-256 suite with AES-128-GCM
/// only, 3 everything with a P-256 device (P-256 signatures over SHA-384,
/// secp384r1, AES-256-GCM).
pub fn suite(mode: u8) -> (AsymAlgo, Supported) {
    match (mode >> 5) & 3 {
        0 => (AsymAlgo::EcdsaP384, Supported::ALL),
        1 => (AsymAlgo::EcdsaP256, Supported::P256),
        2 => (
            AsymAlgo::EcdsaP256,
            Supported {
                aead: alg::AEAD_AES_128_GCM,
                ..Supported::P256
            },
        ),
        _ => (AsymAlgo::EcdsaP256, Supported::ALL),
    }
}

/// The parsed input header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Script index to stop at.
    pub step: usize,
    /// Mode bits.
    pub mode: u8,
    /// RNG seed.
    pub seed: u8,
}

impl Header {
    /// Splits an input into its header and the fuzzed bytes.
    pub fn split(phase: Phase, data: &[u8]) -> Option<(Self, &[u8])> {
        let (&[selector, mode, seed], rest) = data.split_first_chunk::<INPUT_HEADER_LEN>()?;
        Some((
            Self {
                step: phase.select(selector),
                mode,
                seed,
            },
            rest,
        ))
    }

    /// The header bytes that select `step` of `phase`.
    pub fn bytes(phase: Phase, step: usize, mode: u8, seed: u8) -> [u8; INPUT_HEADER_LEN] {
        let selector = step - phase.steps().start;
        [selector as u8, mode, seed]
    }
}

/// Keys for a recorded AEAD key (its length tells AES-128-GCM from
/// AES-256-GCM), base IV and sequence number.
fn direction_keys(key: &[u8], iv: [u8; AEAD_IV_LEN], sequence: u64) -> Option<DirectionKeys> {
    let aead = AeadAlgo::ALL
        .into_iter()
        .find(|a| a.key_len() == key.len())?;
    let mut storage = [0u8; MAX_AEAD_KEY_LEN];
    storage.get_mut(..key.len())?.copy_from_slice(key);
    Some(DirectionKeys {
        aead,
        key: storage,
        iv,
        sequence,
    })
}

/// Buffer size for DOE objects.
pub const OBJECT_BUF: usize = 8192;

/// A requester, a responder with its device, and the replay state.
pub struct Harness<'c> {
    /// The requester (firmware side).
    pub requester: Requester<FuzzCrypto, &'c mut [u8]>,
    /// The responder (device side).
    pub responder: Responder<'static, FuzzCrypto>,
    /// IDE_KM and TDISP behind the responder.
    pub device: Device,
    /// Request object buffer.
    pub request: Vec<u8>,
    /// Response object buffer.
    pub response: Vec<u8>,
    /// The START_INTERFACE nonce LOCK_INTERFACE returned.
    nonce: [u8; tdisp::NONCE_LEN],
    /// Records the requester sealed under the current keys.
    requester_sequence: u64,
}

/// Requester configuration of the script.
const REQUESTER_CONFIG: RequesterConfig = RequesterConfig {
    flags: cap::ENCRYPT | cap::MAC | cap::KEY_EX | cap::HBEAT,
    ct_exponent: 12,
    data_transfer_size: 4096,
    max_spdm_msg_size: 4096,
    req_session_id: REQ_SESSION_ID,
    algorithms: Supported::ALL,
};

/// Responder CAPABILITIES flags of the script.
const RESPONDER_FLAGS: u32 =
    cap::CERT | cap::CHAL | cap::MEAS_SIG | cap::ENCRYPT | cap::MAC | cap::KEY_EX | cap::HBEAT;

/// Runs `f` on a fresh harness whose providers are seeded with `seed`
/// and which offers the versions and algorithms of `mode`.
pub fn with_harness<R>(seed: u8, mode: u8, f: impl FnOnce(&mut Harness<'_>) -> R) -> R {
    let data = device_data();
    let mut cert_buf = [0u8; 1024];
    let seed = u64::from(seed) << 8;
    let (asym, algorithms) = suite(mode);
    let (key, certificates) = data.key(asym);
    let mut responder = Responder::new(
        FuzzCrypto::seeded(seed | 2, Some(key.clone())),
        ResponderConfig {
            flags: RESPONDER_FLAGS,
            ct_exponent: 14,
            data_transfer_size: 256,
            max_spdm_msg_size: 4096,
            certificates,
            measurements: &BLOCKS,
            measurement_hash: tsm_proto::spdm::crypto::HashAlgo::Sha384,
            algorithms,
            rsp_session_id: RSP_SESSION_ID,
        },
    );
    let mut requester = Requester::new(
        FuzzCrypto::seeded(seed | 1, None),
        RequesterConfig {
            algorithms,
            ..REQUESTER_CONFIG
        },
        &mut cert_buf[..],
    );
    requester.set_versions(versions(mode));
    responder.set_versions(versions(mode));
    let mut h = Harness {
        requester,
        responder,
        device: Device {
            ide: IdeKmResponder::with_ports(0x00, 0x01, 0, [IdePort::new(&IDE_REGISTERS)]),
            tdisp: TdispResponder {
                interface: INTERFACE,
                capabilities: tdisp::DsmCapabilities {
                    dsm_caps: 0,
                    req_msgs_supported: [0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                    lock_flags_supported: 0x1F,
                    dev_addr_width: 52,
                    num_req_this: 1,
                    num_req_all: 1,
                },
                report: &data.report,
                max_portion: 64,
                tdi: tdisp::Tdi::new(),
            },
            nonce_counter: 0,
        },
        request: vec![0; OBJECT_BUF],
        response: vec![0; OBJECT_BUF],
        nonce: [0; tdisp::NONCE_LEN],
        requester_sequence: 0,
    };
    f(&mut h)
}

/// The key slot of IDE_KM script step `n` (RX then TX, PR/NPR/CPL).
fn key_target(n: u8) -> KeyTarget {
    KeyTarget {
        stream_id: 1,
        key_sub_stream: KeySubStream {
            key_set: 0,
            tx: n >= 3,
            sub_stream: SUB_STREAMS[usize::from(n % 3)],
        },
        port_index: 0,
    }
}

impl Harness<'_> {
    /// Encodes the request of script step `i` into `self.request`;
    /// returns its length.
    pub fn send(&mut self, i: usize) -> Result<usize, tsm_proto::spdm::Error> {
        let mut body = [0u8; 128];
        let (protocol, len) = match SCRIPT[i] {
            Step::Spdm(req) => {
                let len = self.requester.request(req, &mut self.request)?;
                self.note_sealed(req);
                return Ok(len);
            }
            Step::IdeQuery => (
                PROTOCOL_IDE_KM,
                encode_into(&mut body, |w| {
                    ide_km::Message::Query { port_index: 0 }.write(w)
                })?,
            ),
            Step::IdeKeyProg(n) => {
                let key = ide_km::key_to_wire(&[n + 1; ide_km::KEY_LEN]);
                let ifv = ide_km::ifv_to_wire(&[0, 0, 0, 0, 0, 0, 0, 1]);
                (
                    PROTOCOL_IDE_KM,
                    encode_into(&mut body, |w| {
                        ide_km::Message::KeyProg {
                            target: key_target(n),
                            key: &key,
                            ifv: &ifv,
                        }
                        .write(w)
                    })?,
                )
            }
            Step::IdeGo(n) => (
                PROTOCOL_IDE_KM,
                encode_into(&mut body, |w| {
                    ide_km::Message::KSetGo(key_target(n)).write(w)
                })?,
            ),
            Step::Tdisp(t) => {
                let nonce = self.nonce;
                let body_of = match t {
                    TdispStep::Version => Body::GetVersion,
                    TdispStep::Capabilities => Body::GetCapabilities(0),
                    TdispStep::Lock => Body::LockInterface(tdisp::LockParams {
                        flags: tdisp::lock_flags::NO_FW_UPDATE,
                        default_stream_id: 1,
                        mmio_reporting_offset: 0,
                        bind_p2p_address_mask: 0,
                    }),
                    TdispStep::Report => Body::GetReport {
                        offset: 0,
                        length: 64,
                    },
                    TdispStep::Start => Body::Start(&nonce),
                    TdispStep::State => Body::GetState,
                    TdispStep::Stop => Body::Stop,
                };
                (
                    PROTOCOL_TDISP,
                    encode_into(&mut body, |w| {
                        tdisp::Message {
                            version: tdisp::VERSION_10,
                            interface: INTERFACE,
                            body: body_of,
                        }
                        .write(w)
                    })?,
                )
            }
        };
        let req = Request::Vendor {
            protocol,
            body: &body[..len],
        };
        let len = self.requester.request(req, &mut self.request)?;
        self.note_sealed(req);
        Ok(len)
    }

    /// Counts the records the requester sealed under the current keys.
    fn note_sealed(&mut self, req: Request<'_>) {
        match req {
            // FINISH is record 0 under the handshake keys; the data keys
            // start again at 0 after it.
            Request::Finish => self.requester_sequence = 1,
            Request::GetVersion | Request::KeyExchange => self.requester_sequence = 0,
            _ if self.requester.session_id().is_some() => self.requester_sequence += 1,
            _ => {}
        }
    }

    /// The responder processes `self.request[..len]` into `self.response`.
    pub fn deliver(&mut self, len: usize) -> Result<usize, tsm_proto::spdm::Error> {
        self.responder.process(
            &mut self.request[..len],
            &mut self.response,
            &mut self.device,
        )
    }

    /// The requester checks `self.response[..len]`.
    pub fn receive(&mut self, len: usize) -> Result<(), tsm_proto::spdm::Error> {
        let response = self.requester.response(&mut self.response[..len])?;
        if response == Response::Finish {
            // Data keys from here on, sequence numbers from 0.
            self.requester_sequence = 0;
        }
        if let Response::Vendor {
            protocol: PROTOCOL_TDISP,
            body,
        } = response
        {
            if let Ok(tdisp::Message {
                body: Body::LockInterfaceRsp(nonce),
                ..
            }) = tdisp::Message::decode(body)
            {
                self.nonce = *nonce;
            }
        }
        Ok(())
    }

    /// Runs script step `i` end to end.
    pub fn exchange(&mut self, i: usize) -> Result<(), tsm_proto::spdm::Error> {
        let len = self.send(i)?;
        let rsp = self.deliver(len)?;
        self.receive(rsp)
    }

    /// Runs the good script up to (not including) step `stop`; the
    /// signature-heavy CHALLENGE and MEASUREMENTS steps are skipped on the
    /// way to the session. Panics if the good exchange fails: that is a
    /// bug of its own.
    pub fn replay_to(&mut self, stop: usize) {
        for (i, step) in SCRIPT.iter().enumerate().take(stop) {
            if stop >= KEY_EXCHANGE_STEP && SIGNED_PLAIN_STEPS.contains(&i) {
                continue;
            }
            if let Err(e) = self.exchange(i) {
                panic!("good script step {i} ({step:?}) failed: {e:?}");
            }
        }
    }

    /// Continues the good script from step `from` after a fuzzed object;
    /// stops at the first refusal (the state machines may have moved).
    pub fn go_on(&mut self, from: usize) {
        for i in from..SCRIPT.len() {
            if self.exchange(i).is_err() {
                break;
            }
        }
    }

    /// The keys of the record the requester sealed last, positioned at
    /// that record (sealing with them replaces it), and its application
    /// data.
    pub fn request_keys(&mut self) -> Option<(DirectionKeys, Vec<u8>)> {
        let used = self.requester_sequence.checked_sub(1)?;
        let sealed = self
            .requester
            .crypto_mut()
            .hooks
            .last_sealed
            .borrow()
            .clone()?;
        let mut iv = sealed.nonce;
        for (b, s) in iv.iter_mut().zip(used.to_le_bytes()) {
            *b ^= s;
        }
        let plain = sealed
            .plain
            .get(2..)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        Some((direction_keys(&sealed.key, iv, used)?, plain))
    }

    /// The keys of the record the responder sealed last, positioned at
    /// that record, and its application data.
    pub fn response_keys(&mut self) -> Option<(DirectionKeys, Vec<u8>)> {
        let sealed = self
            .responder
            .crypto_mut()
            .hooks
            .last_sealed
            .borrow()
            .clone()?;
        let plain = sealed
            .plain
            .get(2..)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        Some((direction_keys(&sealed.key, sealed.nonce, 0)?, plain))
    }

    /// The requester's SessionID (0 before KEY_EXCHANGE_RSP).
    pub fn session_id(&self) -> u32 {
        self.requester.session_id().unwrap_or(0)
    }
}

/// Seals `plain` as one record of `session_id` under `keys` and frames it
/// as a DOE type 2 object into `out`; returns the object length.
pub fn seal_object(
    keys: &mut DirectionKeys,
    session_id: u32,
    plain: &[u8],
    out: &mut [u8],
) -> Option<usize> {
    let crypto = FuzzCrypto::seeded(0, None);
    let mut record = vec![0u8; plain.len() + secured::OVERHEAD];
    record
        .get_mut(secured::APP_DATA_OFFSET..secured::APP_DATA_OFFSET + plain.len())?
        .copy_from_slice(plain);
    let len = secured::seal_in_place(&crypto, keys, session_id, &mut record, plain.len()).ok()?;
    doe::encode_object(
        doe::PCI_SIG_VENDOR_ID,
        doe::TYPE_SECURED_CMA,
        &record[..len],
        out,
    )
    .ok()
}

/// Splits `data` into messages, each preceded by a little-endian u16
/// length (a short last message takes what is left); at most `max`.
pub fn split_messages(mut data: &[u8], max: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while out.len() < max {
        let Some((len, rest)) = data.split_first_chunk::<2>() else {
            break;
        };
        let len = usize::from(u16::from_le_bytes(*len)).min(rest.len());
        let (msg, rest) = rest.split_at(len);
        out.push(msg);
        data = rest;
    }
    out
}

/// Frames messages for [`split_messages`].
pub fn join_messages<'a>(messages: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(&(m.len() as u16).to_le_bytes());
        out.extend_from_slice(m);
    }
    out
}

/// What must hold after the requester was handed a fuzzed answer: the
/// answer consumed the pending request (a second one is refused); after
/// the good script optionally goes on, GET_VERSION is always accepted.
pub fn check_requester_after(h: &mut Harness<'_>, header: Header) {
    assert!(matches!(
        h.requester.response(&mut []),
        Err(tsm_proto::spdm::Error::UnexpectedMessage(_))
    ));
    if header.mode & MODE_GO_ON != 0 {
        h.go_on(header.step + 1);
    }
    let mut out = [0u8; 64];
    assert!(h.requester.request(Request::GetVersion, &mut out).is_ok());
}

/// What must hold for the responder's answer to `object`: an answer is one
/// well-formed PCI-SIG DOE object of the request's type that fits the
/// buffer, and a plain one carries an SPDM response code.
pub fn check_responder_answer(
    h: &Harness<'_>,
    object: &[u8],
    answer: Result<usize, tsm_proto::spdm::Error>,
) {
    let Ok(len) = answer else {
        return;
    };
    let (request, _) = doe::decode_object(object).expect("an answered request decodes");
    let (header, payload) =
        doe::decode_object(&h.response[..len]).expect("the answer is a DOE object");
    assert_eq!(header.len_bytes(), len);
    assert_eq!(header.vendor_id, doe::PCI_SIG_VENDOR_ID);
    assert_eq!(header.object_type, request.object_type);
    if header.object_type == doe::TYPE_CMA {
        assert!(payload.len() >= 4);
        assert_eq!(payload[1] & 0x80, 0, "a response code");
    }
}

/// The requester targets: replays the good exchange to the input's step,
/// has the requester send the step's request (which the device answers
/// too, capturing its keys), then hands the requester the fuzzed answer:
/// the raw DOE object, or in sealed mode (session phase) the plaintext
/// sealed where the device's real answer was. Returns whether the
/// requester accepted it (`None`: input too short or too long).
pub fn run_requester(phase: Phase, data: &[u8]) -> Option<bool> {
    let (header, rest) = Header::split(phase, data)?;
    if rest.len() + 64 > OBJECT_BUF {
        return None;
    }
    with_harness(header.seed, header.mode, |h| {
        h.replay_to(header.step);
        let len = h.send(header.step).expect("the good request encodes");
        let answered = h.deliver(len);
        let sealed = phase == Phase::Session && header.mode & MODE_SEALED != 0;
        let len = if sealed {
            answered.ok()?;
            let (mut keys, _) = h.response_keys()?;
            let id = h.session_id();
            seal_object(&mut keys, id, rest, &mut h.response)?
        } else {
            h.response[..rest.len()].copy_from_slice(rest);
            rest.len()
        };
        let accepted = h.receive(len).is_ok();
        check_requester_after(h, header);
        Some(accepted)
    })
}

/// How many sealed requests the responder targets take at `step`: one at
/// FINISH (the keys change once it is answered), else four.
pub fn sealed_messages(step: usize) -> usize {
    if step == FIRST_SESSION_STEP {
        1
    } else {
        4
    }
}

/// The responder targets: replays the good exchange to the input's step
/// and gives the device the fuzzed request instead of the step's: the raw
/// DOE object, or in sealed mode (session phase) up to four plaintexts
/// (each after a little-endian u16 length; one at FINISH) sealed with the
/// requester's keys from the step's record on. Returns whether every object was
/// answered (`None`: input too short or too long).
pub fn run_responder(phase: Phase, data: &[u8]) -> Option<bool> {
    let (header, rest) = Header::split(phase, data)?;
    if rest.len() + 64 > OBJECT_BUF {
        return None;
    }
    with_harness(header.seed, header.mode, |h| {
        h.replay_to(header.step);
        let sealed = phase == Phase::Session && header.mode & MODE_SEALED != 0;
        if !sealed {
            h.request[..rest.len()].copy_from_slice(rest);
            let answer = h.deliver(rest.len());
            let answered = answer.is_ok();
            check_responder_answer(h, rest, answer);
            if phase == Phase::Plain && header.mode & MODE_GO_ON != 0 {
                h.go_on(header.step);
            }
            return Some(answered);
        }
        // The requester seals the step's request, which the device never sees.
        h.send(header.step).expect("the good request encodes");
        let (mut keys, _) = h.request_keys()?;
        let id = h.session_id();
        for message in split_messages(rest, sealed_messages(header.step)) {
            let len = seal_object(&mut keys, id, message, &mut h.request)?;
            let object = h.request[..len].to_vec();
            let answer = h.deliver(len);
            let answered = answer.is_ok();
            check_responder_answer(h, &object, answer);
            if !answered {
                // No answer: the session is gone.
                return Some(false);
            }
        }
        Some(true)
    })
}
