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
    self, DsmCapabilities, InterfaceId, InterfaceReport, MmioRange, Tdi, TdiState, TdispResponder,
    MMIO_RANGE_LEN,
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

/// Largest DEVICE_INTERFACE_REPORT portion per response.
const MAX_REPORT_PORTION: u16 = 0x400;

/// IDE Capability register: Selective IDE, IDE_KM, TEE-Limited streams,
/// AES-GCM-256, one selective stream.
const IDE_CAP: u32 = (1 << 1) | (1 << 6) | (1 << 24);

/// The BAR registers of a function (BAR 0 to 5), as the platform last reported them.
pub type Bars = [u32; 6];

/// Pages of registers at the start of BAR 0; the MSI-X table page follows them. The rest of
/// BAR 0 is decoded (it reads as zeros while the TDI is unlocked) but is none of the TDI's MMIO.
const REGISTER_PAGES: u32 = 4;
/// MMIO_RANGE attribute: the range holds the MSI-X table.
const MSIX_TABLE: u16 = 1 << 0;
/// INTERFACE_INFO: DMA without PASID.
const INTERFACE_INFO: u16 = 0x0002;
/// DEVICE_SPECIFIC_INFO of the report.
const DEVICE_INFO: &[u8] = b"tsm-devmodel";

/// The address of memory BAR 0 (32 or 64 bits), if it is one and is assigned.
fn bar0_address(bars: &Bars) -> Option<u64> {
    // Memory Space Indicator (bit 0) clear; Type (bits 2:1) 10b is 64 bits.
    if bars[0] & 1 != 0 {
        return None;
    }
    let low = u64::from(bars[0] & !0xf);
    let address = if (bars[0] >> 1) & 3 == 0b10 {
        (u64::from(bars[1]) << 32) | low
    } else {
        low
    };
    (address != 0).then_some(address)
}

/// The MMIO ranges of a TDI whose function's BAR registers read `bars`, with
/// MMIO_REPORTING_OFFSET `offset` added: the register pages and the MSI-X table page at the
/// start of BAR 0. None without an assigned BAR 0.
pub fn mmio_ranges(bars: &Bars, offset: u64) -> Vec<MmioRange> {
    let Some(address) = bar0_address(bars) else {
        return Vec::new();
    };
    let first_page = address.wrapping_add(offset) >> 12;
    vec![
        MmioRange {
            first_page,
            number_of_pages: REGISTER_PAGES,
            attributes: 0,
            range_id: 0,
        },
        MmioRange {
            first_page: first_page.wrapping_add(REGISTER_PAGES.into()),
            number_of_pages: 1,
            attributes: MSIX_TABLE,
            range_id: 0,
        },
    ]
}

/// The DEVICE_INTERFACE_REPORT of a TDI whose MMIO is `ranges`.
pub fn interface_report(ranges: &[MmioRange]) -> Vec<u8> {
    // Header (16), ranges, DEVICE_SPECIFIC_INFO_LEN (4), the information.
    let mut report = vec![0u8; 16 + ranges.len() * MMIO_RANGE_LEN + 4 + DEVICE_INFO.len()];
    let report_info = InterfaceReport::new(INTERFACE_INFO, DEVICE_INFO);
    // Sized exactly: encoding cannot run out of room.
    let len = encode_into(&mut report, |w| report_info.write(ranges, w)).unwrap_or(0);
    report.truncate(len);
    report
}

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
        Ok(Self {
            config,
            chain,
            own_certificates,
            foreign_certificates,
            measurements,
            ide_registers,
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

/// One TDI of the device and what its lock froze.
#[derive(Clone, Debug)]
pub struct Interface {
    /// Its INTERFACE_ID.
    pub id: InterfaceId,
    /// Its TDISP state.
    pub tdi: Tdi,
    /// The MMIO ranges of the last LOCK_INTERFACE (with its MMIO_REPORTING_OFFSET).
    ranges: Vec<MmioRange>,
    /// That MMIO_REPORTING_OFFSET.
    offset: u64,
    /// The DEVICE_INTERFACE_REPORT of `ranges`.
    report: Vec<u8>,
}

impl Interface {
    fn new(id: InterfaceId) -> Self {
        Self {
            id,
            tdi: Tdi::new(),
            ranges: Vec::new(),
            offset: 0,
            report: interface_report(&[]),
        }
    }

    /// Whether one of the ranges holds all `len` bytes at `address`.
    fn covers(&self, address: u64, len: u32) -> bool {
        // The ranges are reported with the offset added.
        let start = u128::from(address) + u128::from(self.offset);
        let end = start + u128::from(len);
        len > 0
            && self.ranges.iter().any(|r| {
                let first = u128::from(r.first_page) << 12;
                first <= start && end <= first + (u128::from(r.number_of_pages) << 12)
            })
    }
}

/// IDE_KM and TDISP behind the responder.
pub struct Device<'a> {
    /// The IDE_KM port.
    pub ide: IdeKmResponder<'a>,
    /// The TDI of the function itself (`--rid`), then those of the other functions the DSM
    /// serves (its other functions, VFs, functions below a switch), made at the first message
    /// about them, each in CONFIG_UNLOCKED.
    pub interfaces: Vec<Interface>,
    /// What TDISP_CAPABILITIES reports.
    capabilities: DsmCapabilities,
    /// The BAR registers of each function the platform told of ([`Device::config_written`]).
    bars: Vec<(u16, Bars)>,
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
                let capabilities = self.capabilities;
                let index = self.interface_for(request);
                let lock = match tdisp::Message::decode(request) {
                    Ok(tdisp::Message {
                        body: tdisp::Body::LockInterface(params),
                        ..
                    }) => Some(params.mmio_reporting_offset),
                    _ => None,
                };
                let bars = self.bars_of(self.interfaces[index].id);
                let interface = &mut self.interfaces[index];
                if let Some(offset) = lock {
                    // A lock freezes the MMIO the function's BARs decode now; the report and
                    // the access checks use it until the next lock.
                    if interface.tdi.state() == TdiState::ConfigUnlocked {
                        interface.ranges = mmio_ranges(&bars, offset);
                        interface.offset = offset;
                        interface.report = interface_report(&interface.ranges);
                    }
                }
                let mut responder = TdispResponder {
                    interface: interface.id,
                    capabilities,
                    report: &interface.report,
                    max_portion: MAX_REPORT_PORTION,
                    tdi: interface.tdi.clone(),
                };
                let result = responder.handle(request, keyed, nonce, response);
                interface.tdi = responder.tdi;
                result.map_err(|_| error_code::UNSPECIFIED)
            }
            _ => Err(error_code::UNSUPPORTED_REQUEST),
        }
    }

    fn session_ended(&mut self, session_id: u32) {
        if self.verbose {
            eprintln!("tsm-devmodel: session {session_id:#010x} ended");
        }
        // Losing the SPDM session is an asynchronous TDI fault.
        for interface in &mut self.interfaces {
            interface.tdi.fault();
        }
        // Keys programmed through a session do not outlive it.
        self.wipe_keys();
    }
}

impl Device<'_> {
    /// The index of the TDI a TDISP request is about (its INTERFACE_ID); a malformed request
    /// goes to the function's own TDI, which answers it with TDISP_ERROR.
    fn interface_for(&mut self, request: &[u8]) -> usize {
        let Ok(message) = tdisp::Message::decode(request) else {
            return 0;
        };
        match self
            .interfaces
            .iter()
            .position(|t| t.id == message.interface)
        {
            Some(index) => index,
            None => {
                self.interfaces.push(Interface::new(message.interface));
                self.interfaces.len() - 1
            }
        }
    }

    /// The BAR registers of the function of TDI `id`, as last reported (all zero: never).
    fn bars_of(&self, id: InterfaceId) -> Bars {
        self.bars
            .iter()
            .find(|(rid, _)| u32::from(*rid) == id.function_id & 0xffff)
            .map_or([0; 6], |(_, bars)| *bars)
    }

    /// Whether the function `rid` completes a memory request of `len` bytes at `address`
    /// (a write if `write`), which its BARs decode. TDISP (PCIe r7.0 chapter 11) confines a
    /// locked TDI to the MMIO its DEVICE_INTERFACE_REPORT lists (section 11.3.11): in
    /// CONFIG_LOCKED and RUN the access must lie within one reported range, else the device
    /// answers Unsupported Request; in ERROR it refuses every access until STOP_INTERFACE
    /// scrubs the TDI; in CONFIG_UNLOCKED (or without a TDI) nothing is filtered.
    pub fn mmio_access(&self, rid: u16, address: u64, len: u32, write: bool) -> bool {
        // Requests may name a function's TDI with or without its segment: each TDI of the
        // function must let the access through.
        let tdis = self
            .interfaces
            .iter()
            .filter(|t| t.id.function_id & 0xffff == u32::from(rid));
        let completed = tdis.clone().all(|t| match t.tdi.state() {
            TdiState::ConfigUnlocked => true,
            TdiState::ConfigLocked | TdiState::Run => t.covers(address, len),
            TdiState::Error => false,
        });
        let state = tdis
            .map(|t| t.tdi.state())
            .find(|s| *s != TdiState::ConfigUnlocked)
            .unwrap_or(TdiState::ConfigUnlocked);
        if self.verbose {
            let what = if write { "write" } else { "read" };
            let verdict = if completed {
                "completed"
            } else {
                "Unsupported Request"
            };
            eprintln!(
                "tsm-devmodel: function {rid:#06x}: {what} of {len} bytes at {address:#x} \
                 while {state:?}: {verdict}"
            );
        }
        completed
    }

    /// Software wrote `value` to the register at `offset` (Command or a BAR) of the function
    /// `rid`: a locked or running TDI of that function goes to ERROR when the write changes what
    /// its lock covers (any BAR write, or Memory Space Enable cleared). BAR values are kept: a
    /// lock reports the MMIO they decode.
    pub fn config_written(&mut self, rid: u16, offset: u16, value: u32) {
        // BAR 0 to 5: 0x10 to 0x24.
        if let Some(bar) = offset.checked_sub(0x10).map(|o| usize::from(o / 4)) {
            if bar < 6 {
                let index = match self.bars.iter().position(|(r, _)| *r == rid) {
                    Some(index) => index,
                    None => {
                        self.bars.push((rid, [0; 6]));
                        self.bars.len() - 1
                    }
                };
                self.bars[index].1[bar] = value;
            }
        }
        // Command: Memory Space Enable is bit 1.
        let changes_lock = offset != 0x04 || value & 0x2 == 0;
        let verbose = self.verbose;
        for t in self
            .interfaces
            .iter_mut()
            .filter(|t| t.id.function_id & 0xffff == u32::from(rid))
        {
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
        code::KEY_UPDATE => "KEY_UPDATE",
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
        let device = Device {
            ide: IdeKmResponder::new(
                rid as u8,
                (rid >> 8) as u8,
                config.segment,
                &profile.ide_registers,
            ),
            interfaces: vec![Interface::new(profile.interface())],
            capabilities: DsmCapabilities {
                dsm_caps: 0,
                // GET_TDISP_VERSION (0x81) .. STOP_INTERFACE (0x87).
                req_msgs_supported: [0xFE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                lock_flags_supported: 0x1F,
                dev_addr_width: 52,
                num_req_this: 1,
                num_req_all: 1,
            },
            bars: Vec::new(),
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
                    | cap::HBEAT
                    | cap::KEY_UPD,
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
