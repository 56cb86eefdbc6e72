// SPDX-License-Identifier: GPL-2.0
//! The device: an SPDM responder with IDE_KM and TDISP behind it, and the
//! fault injection around it.
//!
//! [`Profile`] owns everything a device is made of (certificates,
//! measurements, IDE registers, TDISP report, faults); [`Model`] is one
//! running instance over a profile, fed one DOE object at a time.

use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use tsm_proto::doe;
use tsm_proto::ide_km::{self, IdeKmResponder};
use tsm_proto::spdm::crypto::{AsymAlgo, HashAlgo, Supported};
use tsm_proto::spdm::msg::MeasurementBlock;
use tsm_proto::spdm::responder::{Responder, ResponderConfig, VendorHandler};
use tsm_proto::spdm::vendor::{PROTOCOL_IDE_KM, PROTOCOL_TDISP};
use tsm_proto::spdm::{cap, code, error_code, secured, VERSION_10};
use tsm_proto::tdisp::{
    self, DsmCapabilities, InterfaceId, InterfaceReport, MmioRange, Tdi, TdispResponder,
};
use tsm_proto::wire::{encode_into, Writer};

use crate::certs::{CertChain, CertError, PciIdentity};
use crate::crypto::{self, ModelCrypto};
use crate::faults::{Fault, FaultKind};

/// Largest DOE object the model answers with (QEMU's spdm-socket buffer).
pub const MAX_RESPONSE: usize = 0x1200;
/// The size an `oversize` response object is padded to.
pub const OVERSIZE_LEN: usize = MAX_RESPONSE + 64;

/// The algorithms the device's responder may select (`--suite`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Suite {
    /// ECDSA P-256, SHA-256, secp256r1, AES-128-GCM or AES-256-GCM.
    P256,
    /// ECDSA P-384, SHA-384, secp384r1, AES-256-GCM.
    P384,
    /// Anything the requester offers and the leaf key can sign, the
    /// strongest of each kind.
    #[default]
    Any,
}

impl Suite {
    /// The algorithm set the responder is limited to.
    pub fn algorithms(self) -> Supported {
        match self {
            Suite::P256 => Supported::P256,
            Suite::P384 => Supported::P384,
            Suite::Any => Supported::ALL,
        }
    }

    /// The curve a generated chain uses unless told otherwise: P-256 for
    /// the P-256 suite, P-384 otherwise.
    pub fn default_curve(self) -> AsymAlgo {
        match self {
            Suite::P256 => AsymAlgo::EcdsaP256,
            Suite::P384 | Suite::Any => AsymAlgo::EcdsaP384,
        }
    }

    /// The hash of the digest-type measurement blocks: SHA-256 for the
    /// P-256 suite, SHA-384 otherwise.
    pub fn measurement_hash(self) -> HashAlgo {
        match self {
            Suite::P256 => HashAlgo::Sha256,
            Suite::P384 | Suite::Any => HashAlgo::Sha384,
        }
    }
}

impl std::str::FromStr for Suite {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "p256" => Ok(Suite::P256),
            "p384" => Ok(Suite::P384),
            "any" => Ok(Suite::Any),
            _ => Err(format!("{s:?}: expected p256, p384 or any")),
        }
    }
}

/// A curve name of `--chain-curve`: `p256` or `p384`.
pub fn parse_curve(s: &str) -> Result<AsymAlgo, String> {
    match s {
        "p256" => Ok(AsymAlgo::EcdsaP256),
        "p384" => Ok(AsymAlgo::EcdsaP384),
        _ => Err(format!("{s:?}: expected p256 or p384")),
    }
}

/// How to build a device.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    /// Seed for every random choice (keys, nonces); `None` draws from the OS.
    pub seed: Option<u64>,
    /// Requester ID (bus/device/function) of the function, for IDE_KM
    /// QUERY_RESP and the TDISP INTERFACE_ID.
    pub rid: u16,
    /// PCI segment.
    pub segment: u8,
    /// The identity written into the leaf certificate.
    pub identity: PciIdentity,
    /// Firmware version: measured into blocks 2 and 4.
    pub firmware_version: String,
    /// Faults to inject.
    pub faults: Vec<Fault>,
    /// Print one line per request to stderr.
    pub verbose: bool,
    /// The algorithms the responder may select.
    pub suite: Suite,
    /// The curve of a generated certificate chain (and so of the leaf key
    /// that signs); must be in `suite`.
    pub chain_curve: AsymAlgo,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            seed: None,
            rid: 0x0100,
            segment: 0,
            identity: PciIdentity::QEMU_NVME,
            firmware_version: "1.0.0".into(),
            faults: Vec::new(),
            verbose: false,
            suite: Suite::Any,
            chain_curve: AsymAlgo::EcdsaP384,
        }
    }
}

/// Everything a device is made of.
pub struct Profile {
    /// The configuration it was built from.
    pub config: ModelConfig,
    /// The device's own chain (its leaf key signs).
    pub chain: CertChain,
    /// The device's own certificates (DER, root first), served in slot 0
    /// after the SPDM chain header.
    own_certificates: Vec<u8>,
    /// Another device's certificates, served instead while a
    /// `foreign-chain` fault is active.
    foreign_certificates: Option<Vec<u8>>,
    /// (index, DMTF value type, value) of each measurement block.
    pub measurements: Vec<(u8, u8, Vec<u8>)>,
    /// IDE capability registers reported by IDE_KM QUERY_RESP.
    pub ide_registers: Vec<u8>,
    /// The TDISP DEVICE_INTERFACE_REPORT.
    pub report: Vec<u8>,
    /// GET_VERSION requests received so far, by every [`Model`] of this
    /// profile: the number of the current SPDM connection, which ends
    /// faults limited to the first N connections.
    connections: AtomicU32,
}

/// DMTF measurement value types (DSP0274 DMTFSpecMeasurementValueType).
mod value_type {
    pub const IMMUTABLE_ROM: u8 = 0x00;
    pub const MUTABLE_FIRMWARE: u8 = 0x01;
    pub const HARDWARE_CONFIG: u8 = 0x02;
    pub const FIRMWARE_VERSION: u8 = 0x06;
    pub const RAW: u8 = 0x80;
}

/// IDE Capability register: Selective IDE, IDE_KM, TEE-Limited streams,
/// AES-GCM-256, one selective stream.
const IDE_CAP: u32 = (1 << 1) | (1 << 6) | (1 << 24);

const MMIO_RANGES: [MmioRange; 2] = [
    // BAR 0: 16 KiB of registers.
    MmioRange {
        first_page: 0xFE000,
        number_of_pages: 4,
        attributes: 0,
        range_id: 0,
    },
    // MSI-X table page.
    MmioRange {
        first_page: 0xFE004,
        number_of_pages: 1,
        attributes: 1,
        range_id: 0,
    },
];

impl Profile {
    /// Builds a device, generating its certificate chain on
    /// `config.chain_curve`.
    pub fn new(config: ModelConfig) -> Result<Self, CertError> {
        let mut rng = crypto::rng(config.seed);
        let curve = config.chain_curve;
        let chain = CertChain::generate(&mut rng, &config.identity, "tsm-devmodel", curve)?;
        Self::with_chain(config, chain)
    }

    /// Builds a device around an existing chain (`--certs DIR`), whose
    /// curve must be in the suite.
    pub fn with_chain(config: ModelConfig, chain: CertChain) -> Result<Self, CertError> {
        let curve = chain.curve();
        if config.suite.algorithms().asym & curve.bit() == 0 {
            return Err(CertError::Invalid(
                "the chain's key cannot sign in the configured suite",
            ));
        }
        let foreign_certificates = if config
            .faults
            .iter()
            .any(|f| f.kind == FaultKind::ForeignChain)
        {
            // Derive the foreign chain's randomness from the device's own so
            // seeded runs stay reproducible.
            let mut rng = crypto::rng(config.seed.map(|s| s ^ 0x0F0F_F0F0));
            Some(CertChain::generate(&mut rng, &config.identity, "foreign", curve)?.certificates())
        } else {
            None
        };
        let own_certificates = chain.certificates();
        let fw = config.firmware_version.as_bytes();
        let digest =
            |data: &[u8]| tsm_spdm_rustcrypto::digest(config.suite.measurement_hash(), data);
        let measurements = vec![
            (
                1,
                value_type::IMMUTABLE_ROM,
                digest(b"tsm-devmodel boot ROM"),
            ),
            (
                2,
                value_type::MUTABLE_FIRMWARE,
                digest(&[b"tsm-devmodel firmware ".as_slice(), fw].concat()),
            ),
            (
                3,
                value_type::HARDWARE_CONFIG,
                digest(config.identity.san_string().as_bytes()),
            ),
            (
                4,
                value_type::RAW | value_type::FIRMWARE_VERSION,
                fw.to_vec(),
            ),
        ];
        let mut ide_registers = Vec::new();
        // IDE Capability, IDE Control, then selective stream 0: Capability
        // (one address association block), Control, Status, RID
        // association 1 and 2, address association 1..3.
        for dw in [IDE_CAP, 0, 1, 0, 0, 0, 0, 0, 0, 0] {
            ide_registers.extend_from_slice(&u32::to_le_bytes(dw));
        }
        let mut report = vec![0u8; 256];
        // Interface info: DMA without PASID.
        let len = encode_into(&mut report, |w| {
            InterfaceReport::new(0x0002, b"tsm-devmodel").write(&MMIO_RANGES, w)
        })
        .map_err(|e| CertError::Encoding(e.to_string()))?;
        report.truncate(len);
        Ok(Self {
            config,
            chain,
            own_certificates,
            foreign_certificates,
            measurements,
            ide_registers,
            report,
            connections: AtomicU32::new(0),
        })
    }

    /// The current SPDM connection: 1 after the first GET_VERSION, 0 before.
    pub fn connection(&self) -> u32 {
        self.connections.load(Ordering::Relaxed)
    }

    /// The certificates (DER, root first) the device serves in slot 0 in
    /// the current SPDM connection: another device's while a
    /// `foreign-chain` fault is active, else its own.
    pub fn served_certificates(&self) -> &[u8] {
        match &self.foreign_certificates {
            Some(foreign)
                if self
                    .fault(None, |k| *k == FaultKind::ForeignChain)
                    .is_some() =>
            {
                foreign
            }
            _ => &self.own_certificates,
        }
    }

    /// The SPDM-format chain the device serves when `hash` is negotiated.
    pub fn served_chain(&self, hash: HashAlgo) -> Result<Vec<u8>, CertError> {
        crate::certs::spdm_chain(self.served_certificates(), hash)
    }

    /// The measurement blocks, borrowing from the profile.
    pub fn measurement_blocks(&self) -> Vec<MeasurementBlock<'_>> {
        self.measurements
            .iter()
            .map(|(index, value_type, value)| MeasurementBlock {
                index: *index,
                value_type: *value_type,
                value,
            })
            .collect()
    }

    /// The TDISP INTERFACE_ID of the function.
    pub fn interface(&self) -> InterfaceId {
        InterfaceId::new(self.config.rid, Some(self.config.segment))
    }

    fn fault(&self, request: Option<u8>, pick: impl Fn(&FaultKind) -> bool) -> Option<Fault> {
        let connection = self.connection();
        self.config
            .faults
            .iter()
            .find(|f| pick(&f.kind) && f.applies_to(request) && f.active_in(connection))
            .copied()
    }
}

/// IDE_KM and TDISP behind the responder.
pub struct Device<'a> {
    /// The IDE_KM port.
    pub ide: IdeKmResponder<'a>,
    /// The TDI of the function itself (`--rid`).
    pub tdisp: TdispResponder<'a>,
    /// The TDIs of the other functions the DSM serves (its other functions, VFs, functions
    /// below a switch), made at the first message about them, each in CONFIG_UNLOCKED.
    pub other_tdis: Vec<TdispResponder<'a>>,
    rng: ChaCha20Rng,
    /// Answer vendor-defined requests with this SPDM error.
    vendor_error: Option<u8>,
    /// IDE_KM objects applied to the port (KEY_PROG, K_SET_GO, K_SET_STOP) since the transport
    /// last took them, for a platform that mirrors the device's keys
    /// ([`crate::transport::serve_relay`]).
    pub applied_ide_km: Vec<Vec<u8>>,
    verbose: bool,
}

impl VendorHandler for Device<'_> {
    fn handle(
        &mut self,
        session_id: u32,
        protocol: u8,
        request: &[u8],
        response: &mut Writer<'_>,
    ) -> Result<(), u8> {
        if let Some(code) = self.vendor_error {
            return Err(code);
        }
        match protocol {
            PROTOCOL_IDE_KM => {
                let before = self.ide.stream_keyed();
                self.ide
                    .handle(request, response)
                    .map_err(|_| error_code::INVALID_REQUEST)?;
                if matches!(
                    request.first().copied(),
                    Some(ide_km::KEY_PROG | ide_km::K_SET_GO | ide_km::K_SET_STOP)
                ) {
                    self.applied_ide_km.push(request.to_vec());
                }
                let after = self.ide.stream_keyed();
                if self.verbose && before != after {
                    eprintln!(
                        "tsm-devmodel: session {session_id:#010x}: IDE stream keyed: {after:?}"
                    );
                }
                Ok(())
            }
            PROTOCOL_TDISP => {
                let mut nonce = [0u8; tdisp::NONCE_LEN];
                self.rng.fill_bytes(&mut nonce);
                let keyed = self.ide.stream_keyed().is_some();
                self.tdi_for(request)
                    .handle(request, keyed, nonce, response)
                    .map_err(|_| error_code::UNSPECIFIED)
            }
            _ => Err(error_code::UNSUPPORTED_REQUEST),
        }
    }

    fn session_ended(&mut self, session_id: u32) {
        if self.verbose {
            eprintln!("tsm-devmodel: session {session_id:#010x} ended");
        }
        // Losing the SPDM session is an asynchronous TDI fault.
        self.tdisp.tdi.fault();
        for other in &mut self.other_tdis {
            other.tdi.fault();
        }
        // Keys programmed through a session do not outlive it.
        self.wipe_keys();
    }
}

impl<'a> Device<'a> {
    /// The TDI a TDISP request is about (its INTERFACE_ID); a malformed request goes to the
    /// function's own TDI, which answers it with TDISP_ERROR.
    fn tdi_for(&mut self, request: &[u8]) -> &mut TdispResponder<'a> {
        let interface = match tdisp::Message::decode(request) {
            Ok(m) if m.interface != self.tdisp.interface => m.interface,
            _ => return &mut self.tdisp,
        };
        let index = match self
            .other_tdis
            .iter()
            .position(|t| t.interface == interface)
        {
            Some(index) => index,
            None => {
                let mut tdi = self.tdisp.clone();
                tdi.interface = interface;
                tdi.tdi = Tdi::new();
                self.other_tdis.push(tdi);
                self.other_tdis.len() - 1
            }
        };
        &mut self.other_tdis[index]
    }

    /// Software wrote `value` to the register at `offset` (Command or a BAR) of the function
    /// `rid`: a locked or running TDI of that function goes to ERROR when the write changes what
    /// its lock covers (any BAR write, or Memory Space Enable cleared).
    pub fn config_written(&mut self, rid: u16, offset: u16, value: u32) {
        // Command: Memory Space Enable is bit 1.
        let changes_lock = offset != 0x04 || value & 0x2 == 0;
        let verbose = self.verbose;
        let tdis = std::iter::once(&mut self.tdisp).chain(self.other_tdis.iter_mut());
        for t in tdis.filter(|t| t.interface.function_id & 0xffff == u32::from(rid)) {
            let before = t.tdi.state();
            if changes_lock {
                t.tdi.fault();
            }
            if verbose && t.tdi.state() != before {
                eprintln!(
                    "tsm-devmodel: TDI {rid:#06x}: register {offset:#x} written while \
                     {before:?}: ERROR"
                );
            }
        }
    }

    /// Stops and wipes every key slot of the IDE port, recording each K_SET_STOP applied in
    /// [`Device::applied_ide_km`].
    fn wipe_keys(&mut self) {
        let Some(stream_id) = self.ide.port(0).and_then(|p| p.stream_id()) else {
            return;
        };
        let slots = (0..2u8).flat_map(|key_set| {
            [false, true].into_iter().flat_map(move |tx| {
                ide_km::SUB_STREAMS
                    .into_iter()
                    .map(move |sub_stream| ide_km::KeySubStream {
                        key_set,
                        tx,
                        sub_stream,
                    })
            })
        });
        for slot in slots {
            if self.ide.key(slot).is_none() {
                continue;
            }
            let stop = ide_km::Message::KSetStop(ide_km::KeyTarget {
                stream_id,
                key_sub_stream: slot,
                port_index: 0,
            });
            let mut buf = [0u8; 16];
            let Ok(len) = encode_into(&mut buf, |w| stop.write(w)) else {
                continue;
            };
            let object = buf[..len].to_vec();
            let mut answer = [0u8; 16];
            if self
                .ide
                .handle(&object, &mut Writer::new(&mut answer))
                .is_ok()
            {
                self.applied_ide_km.push(object);
            }
        }
        if self.verbose {
            eprintln!("tsm-devmodel: IDE keys of stream {stream_id} wiped");
        }
    }
}

/// One running device.
pub struct Model<'a> {
    profile: &'a Profile,
    responder: Responder<'a, ModelCrypto>,
    /// The certificates `responder` serves.
    served: &'a [u8],
    /// The measurement blocks `responder` reports.
    blocks: &'a [MeasurementBlock<'a>],
    /// IDE_KM and TDISP state.
    pub device: Device<'a>,
    /// Secured requests answered in the current session.
    secured_count: u32,
}

/// Request code of a plain (DOE type 1) SPDM request object.
fn plain_code(object: &[u8]) -> Option<u8> {
    object.get(doe::HEADER_LEN + 1).copied()
}

fn code_name(code: u8) -> &'static str {
    match code {
        code::GET_VERSION => "GET_VERSION",
        code::GET_CAPABILITIES => "GET_CAPABILITIES",
        code::NEGOTIATE_ALGORITHMS => "NEGOTIATE_ALGORITHMS",
        code::GET_DIGESTS => "GET_DIGESTS",
        code::GET_CERTIFICATE => "GET_CERTIFICATE",
        code::CHALLENGE => "CHALLENGE",
        code::GET_MEASUREMENTS => "GET_MEASUREMENTS",
        code::KEY_EXCHANGE => "KEY_EXCHANGE",
        code::FINISH => "FINISH",
        code::HEARTBEAT => "HEARTBEAT",
        code::END_SESSION => "END_SESSION",
        code::VENDOR_DEFINED_REQUEST => "VENDOR_DEFINED_REQUEST",
        _ => "request",
    }
}

impl<'a> Model<'a> {
    /// A device in its reset state. `blocks` are the profile's
    /// [`Profile::measurement_blocks`].
    pub fn new(profile: &'a Profile, blocks: &'a [MeasurementBlock<'a>]) -> Self {
        let config = &profile.config;
        let seed = config.seed;
        let responder = Self::responder(profile, blocks);
        let rid = config.rid;
        let tdisp = TdispResponder {
            interface: profile.interface(),
            capabilities: DsmCapabilities {
                dsm_caps: 0,
                // GET_TDISP_VERSION (0x81) .. STOP_INTERFACE (0x87).
                req_msgs_supported: [0xFE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                lock_flags_supported: 0x1F,
                dev_addr_width: 52,
                num_req_this: 1,
                num_req_all: 1,
            },
            report: &profile.report,
            max_portion: 0x400,
            tdi: Tdi::new(),
        };
        let device = Device {
            ide: IdeKmResponder::new(
                rid as u8,
                (rid >> 8) as u8,
                config.segment,
                &profile.ide_registers,
            ),
            tdisp,
            other_tdis: Vec::new(),
            rng: match seed {
                Some(s) => ChaCha20Rng::seed_from_u64(s ^ 0x7D15),
                None => crypto::rng(None),
            },
            vendor_error: None,
            applied_ide_km: Vec::new(),
            verbose: config.verbose,
        };
        Self {
            profile,
            responder,
            served: profile.served_certificates(),
            blocks,
            device,
            secured_count: 0,
        }
    }

    /// A responder in its reset state, serving the certificates of the
    /// current connection.
    fn responder(
        profile: &'a Profile,
        blocks: &'a [MeasurementBlock<'a>],
    ) -> Responder<'a, ModelCrypto> {
        let config = &profile.config;
        let seed = config.seed;
        let crypto = ModelCrypto::new(crypto::rng(seed), Some(profile.chain.leaf.key.clone()));
        Responder::new(
            crypto,
            ResponderConfig {
                flags: cap::CERT
                    | cap::CHAL
                    | cap::MEAS_SIG
                    | cap::ENCRYPT
                    | cap::MAC
                    | cap::KEY_EX
                    | cap::HBEAT,
                // 2^17 us = 131 ms for a signature: generous on a busy host.
                ct_exponent: 17,
                data_transfer_size: 0x1000,
                max_spdm_msg_size: 0x1000,
                certificates: profile.served_certificates(),
                measurements: blocks,
                measurement_hash: config.suite.measurement_hash(),
                algorithms: config.suite.algorithms(),
                rsp_session_id: 0x7D5E,
            },
        )
    }

    /// The SessionID of the open session, if any.
    pub fn session_id(&self) -> Option<u32> {
        self.responder.session_id()
    }

    /// Handles one DOE request object (decrypted in place if secured) and
    /// returns the response object, or `None` when the device gives no
    /// answer (unknown session, undecryptable record, dropped session,
    /// malformed object).
    pub fn handle(&mut self, request: &mut [u8]) -> Option<Vec<u8>> {
        let header = match doe::decode_object(request) {
            Ok((h, _)) => h,
            Err(e) => {
                self.log(format_args!("malformed DOE object: {e}"));
                return None;
            }
        };
        if header.vendor_id == doe::PCI_SIG_VENDOR_ID && header.object_type == doe::TYPE_DISCOVERY {
            return self.discovery(request);
        }
        let secured = header.object_type == doe::TYPE_SECURED_CMA;
        let profile = self.profile;
        let plain = if secured { None } else { plain_code(request) };
        if plain == Some(code::GET_VERSION) {
            let n = profile
                .connections
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1);
            self.log(format_args!("GET_VERSION: SPDM connection {n}"));
            // A new connection may serve other certificates (a foreign-chain
            // fault that ended): start over with them.
            if !std::ptr::eq(self.served, profile.served_certificates()) {
                self.responder = Self::responder(profile, self.blocks);
                self.served = profile.served_certificates();
            }
        }

        if secured {
            if let Some(f) = profile.fault(None, |k| matches!(k, FaultKind::DropSessionAfter(_))) {
                if let FaultKind::DropSessionAfter(n) = f.kind {
                    if self.secured_count >= n && self.responder.session_id().is_some() {
                        self.log(format_args!("fault {f}: dropping the session"));
                        self.reset_connection();
                        return None;
                    }
                }
            }
        }
        if let Some(code) = plain {
            if let Some(f) = profile.fault(Some(code), |k| matches!(k, FaultKind::ErrorResponse(_)))
            {
                if let FaultKind::ErrorResponse(err) = f.kind {
                    self.delay(Some(code));
                    self.log(format_args!("{}: fault {f}", code_name(code)));
                    let version = request.get(doe::HEADER_LEN).copied().unwrap_or(VERSION_10);
                    let mut out = [0u8; 16];
                    let len = doe::encode_object(
                        doe::PCI_SIG_VENDOR_ID,
                        doe::TYPE_CMA,
                        &[version, code::ERROR, err, 0],
                        &mut out,
                    )
                    .ok()?;
                    return Some(out[..len].to_vec());
                }
            }
            let corrupt = profile
                .fault(Some(code), |k| *k == FaultKind::CorruptSignature)
                .is_some();
            self.responder.crypto_mut().hooks.corrupt_signatures = corrupt;
        }
        self.device.vendor_error = profile
            .fault(Some(code::VENDOR_DEFINED_REQUEST), |k| {
                matches!(k, FaultKind::ErrorResponse(_))
            })
            .and_then(|f| match f.kind {
                FaultKind::ErrorResponse(e) => Some(e),
                _ => None,
            });

        let mut response = vec![0u8; MAX_RESPONSE];
        let result = self
            .responder
            .process(request, &mut response, &mut self.device);
        // A secured request was decrypted in place: its SPDM message starts
        // after the record header and the application data length.
        let code = plain.or_else(|| {
            request
                .get(doe::HEADER_LEN + secured::APP_DATA_OFFSET + 1)
                .copied()
        });
        self.delay(code);
        let len = match result {
            Ok(len) => len,
            Err(e) => {
                self.log(format_args!(
                    "{}: no answer: {e}",
                    code.map_or("request", code_name)
                ));
                return None;
            }
        };
        response.truncate(len);
        if let Some(f) = profile.fault(code, |k| *k == FaultKind::NoAnswer) {
            self.log(format_args!(
                "{}: fault {f}: answer dropped",
                code.map_or("request", code_name)
            ));
            return None;
        }
        if secured {
            self.secured_count = self.secured_count.saturating_add(1);
        } else if code == Some(code::KEY_EXCHANGE) {
            self.secured_count = 0;
        }
        if secured {
            self.log(format_args!(
                "secured {} answered ({} bytes)",
                code.map_or("request", code_name),
                response.len()
            ));
        } else {
            let answer = response.get(doe::HEADER_LEN + 1).copied().unwrap_or(0);
            self.log(format_args!(
                "{} -> {answer:#04x} ({} bytes)",
                code.map_or("request", code_name),
                response.len()
            ));
        }
        Some(self.damage(response, code))
    }

    /// Applies the response-shaping faults that match `code`.
    fn damage(&self, mut response: Vec<u8>, code: Option<u8>) -> Vec<u8> {
        let profile = self.profile;
        let Ok((header, payload)) = doe::decode_object(&response) else {
            return response;
        };
        let (vendor, object_type) = (header.vendor_id, header.object_type);
        let mut payload = payload.to_vec();
        let mut rebuilt = false;
        if let Some(f) = profile.fault(code, |k| *k == FaultKind::Truncate) {
            self.log(format_args!("fault {f}"));
            // Half of the padded payload is always less than the message
            // (every SPDM message is at least 4 bytes).
            payload.truncate(payload.len() / 2);
            rebuilt = true;
        }
        if let Some(f) = profile.fault(code, |k| *k == FaultKind::Oversize) {
            self.log(format_args!("fault {f}"));
            payload.resize(OVERSIZE_LEN - doe::HEADER_LEN, 0xA5);
            rebuilt = true;
        }
        if rebuilt {
            let mut out = vec![0u8; doe::HEADER_LEN + doe::padded_len(payload.len())];
            if let Ok(len) = doe::encode_object(vendor, object_type, &payload, &mut out) {
                out.truncate(len);
                response = out;
            }
        }
        if let Some(f) = profile.fault(code, |k| *k == FaultKind::WrongLength) {
            self.log(format_args!("fault {f}"));
            let dw1 = u32::from_le_bytes([response[4], response[5], response[6], response[7]]);
            response[4..8].copy_from_slice(&(dw1.wrapping_add(1) & 0x3_FFFF).to_le_bytes());
        }
        response
    }

    fn delay(&self, code: Option<u8>) {
        if let Some(f) = self
            .profile
            .fault(code, |k| matches!(k, FaultKind::Slow(_)))
        {
            if let FaultKind::Slow(d) = f.kind {
                thread::sleep(d);
            }
        }
    }

    /// Ends any session and returns the connection to its start, the way a
    /// device reset does (GET_VERSION does exactly that to the responder).
    pub fn reset_connection(&mut self) {
        let mut object = [0u8; 12];
        if doe::encode_object(
            doe::PCI_SIG_VENDOR_ID,
            doe::TYPE_CMA,
            &[VERSION_10, code::GET_VERSION, 0, 0],
            &mut object,
        )
        .is_ok()
        {
            let mut scratch = [0u8; 64];
            let _ = self
                .responder
                .process(&mut object, &mut scratch, &mut self.device);
        }
        self.secured_count = 0;
    }

    /// DOE discovery: index 0 discovery, 1 CMA/SPDM, 2 secured CMA/SPDM.
    fn discovery(&self, request: &[u8]) -> Option<Vec<u8>> {
        let (_, payload) = doe::decode_object(request).ok()?;
        let req = doe::DiscoveryRequest::read(&mut tsm_proto::wire::Reader::new(payload)).ok()?;
        let (object_type, next_index) = match req.index {
            0 => (doe::TYPE_DISCOVERY, 1),
            1 => (doe::TYPE_CMA, 2),
            2 => (doe::TYPE_SECURED_CMA, 0),
            // An index past the end: vendor 0xFFFF ends the walk.
            _ => (0, 0),
        };
        let vendor_id = if req.index > 2 {
            0xFFFF
        } else {
            doe::PCI_SIG_VENDOR_ID
        };
        let mut out = [0u8; 12];
        let len =
            doe::encode_object_with(doe::PCI_SIG_VENDOR_ID, doe::TYPE_DISCOVERY, &mut out, |w| {
                doe::DiscoveryResponse {
                    vendor_id,
                    object_type,
                    next_index,
                }
                .write(w)
            })
            .ok()?;
        Some(out[..len].to_vec())
    }

    fn log(&self, args: std::fmt::Arguments<'_>) {
        if self.profile.config.verbose {
            eprintln!("tsm-devmodel: {args}");
        }
    }
}
