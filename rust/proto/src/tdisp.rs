// SPDX-License-Identifier: GPL-2.0
//! PCIe TDISP 1.0 (PCIe r6.1 section 11, TDISP ECN) messages and the TDI
//! state machine, carried as PCI-SIG vendor-defined protocol 1 inside an
//! SPDM session.
//!
//! Layouts follow the TDISP message tables as mirrored by DMTF libspdm
//! `pci_tdisp.h`. Every message starts with the 16-byte header
//! `TDISPVersion(1)=0x10, MessageType(1), Reserved(2), INTERFACE_ID(12)`,
//! where INTERFACE_ID is `FunctionID(4)` (RID 15:0, segment 23:16, segment
//! valid bit 24) and 8 reserved bytes.
//!
//! The state table enforced by [`Tdi`] is the one intel/tee-io-validator
//! tests (TDISP cases 3-7); the exact list of asynchronous ERROR triggers is
//! **not confirmed** against the TDISP text.

use super::wire::{Error, Reader, Result, Writer};

/// TDISPVersion 1.0.
pub const VERSION_10: u8 = 0x10;
/// Header size.
pub const HEADER_LEN: usize = 16;
/// START_INTERFACE nonce size.
pub const NONCE_LEN: usize = 32;

/// Request codes.
pub mod code {
    /// GET_TDISP_VERSION.
    pub const GET_VERSION: u8 = 0x81;
    /// GET_TDISP_CAPABILITIES.
    pub const GET_CAPABILITIES: u8 = 0x82;
    /// LOCK_INTERFACE_REQUEST.
    pub const LOCK_INTERFACE: u8 = 0x83;
    /// GET_DEVICE_INTERFACE_REPORT.
    pub const GET_DEVICE_INTERFACE_REPORT: u8 = 0x84;
    /// GET_DEVICE_INTERFACE_STATE.
    pub const GET_DEVICE_INTERFACE_STATE: u8 = 0x85;
    /// START_INTERFACE_REQUEST.
    pub const START_INTERFACE: u8 = 0x86;
    /// STOP_INTERFACE_REQUEST.
    pub const STOP_INTERFACE: u8 = 0x87;
    /// BIND_P2P_STREAM_REQUEST.
    pub const BIND_P2P_STREAM: u8 = 0x88;
    /// UNBIND_P2P_STREAM_REQUEST.
    pub const UNBIND_P2P_STREAM: u8 = 0x89;
    /// SET_MMIO_ATTRIBUTE_REQUEST.
    pub const SET_MMIO_ATTRIBUTE: u8 = 0x8A;
    /// VDM_REQUEST.
    pub const VDM: u8 = 0x8B;
    /// TDISP_ERROR response.
    pub const ERROR: u8 = 0x7F;
    /// Response code of a request code: bit 7 cleared.
    pub const fn response(request: u8) -> u8 {
        request & 0x7F
    }
}

/// TDISP_ERROR codes.
pub mod error_code {
    /// INVALID_REQUEST.
    pub const INVALID_REQUEST: u32 = 0x01;
    /// BUSY.
    pub const BUSY: u32 = 0x03;
    /// INVALID_INTERFACE_STATE.
    pub const INVALID_INTERFACE_STATE: u32 = 0x04;
    /// UNSPECIFIED.
    pub const UNSPECIFIED: u32 = 0x05;
    /// UNSUPPORTED_REQUEST.
    pub const UNSUPPORTED_REQUEST: u32 = 0x07;
    /// VERSION_MISMATCH.
    pub const VERSION_MISMATCH: u32 = 0x41;
    /// VENDOR_SPECIFIC_ERROR.
    pub const VENDOR_SPECIFIC: u32 = 0xFF;
    /// INVALID_INTERFACE.
    pub const INVALID_INTERFACE: u32 = 0x101;
    /// INVALID_NONCE.
    pub const INVALID_NONCE: u32 = 0x102;
    /// INSUFFICIENT_ENTROPY.
    pub const INSUFFICIENT_ENTROPY: u32 = 0x103;
    /// INVALID_DEVICE_CONFIGURATION.
    pub const INVALID_DEVICE_CONFIGURATION: u32 = 0x104;
}

/// LOCK_INTERFACE flags.
pub mod lock_flags {
    /// NO_FW_UPDATE.
    pub const NO_FW_UPDATE: u16 = 1 << 0;
    /// SYSTEM_CACHE_LINE_SIZE (0: 64 bytes, 1: 128 bytes).
    pub const SYSTEM_CACHE_LINE_SIZE: u16 = 1 << 1;
    /// LOCK_MSIX.
    pub const LOCK_MSIX: u16 = 1 << 2;
    /// BIND_P2P.
    pub const BIND_P2P: u16 = 1 << 3;
    /// ALL_REQUEST_REDIRECT.
    pub const ALL_REQUEST_REDIRECT: u16 = 1 << 4;
}

/// INTERFACE_ID: the function a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterfaceId {
    /// FunctionID: RID 15:0, segment 23:16, segment valid bit 24.
    pub function_id: u32,
}

impl InterfaceId {
    /// An interface id for `rid`, with a segment if one is given.
    pub fn new(rid: u16, segment: Option<u8>) -> Self {
        let seg = segment.map_or(0, |s| (u32::from(s) << 16) | (1 << 24));
        Self {
            function_id: u32::from(rid) | seg,
        }
    }
}

/// TDI states (DEVICE_INTERFACE_STATE values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TdiState {
    /// CONFIG_UNLOCKED.
    ConfigUnlocked = 0,
    /// CONFIG_LOCKED.
    ConfigLocked = 1,
    /// RUN.
    Run = 2,
    /// ERROR.
    Error = 3,
}

impl TdiState {
    /// Decodes a TDI_STATE byte.
    pub fn from_byte(b: u8) -> Result<Self> {
        match b {
            0 => Ok(TdiState::ConfigUnlocked),
            1 => Ok(TdiState::ConfigLocked),
            2 => Ok(TdiState::Run),
            3 => Ok(TdiState::Error),
            _ => Err(Error::InvalidField("TDI_STATE")),
        }
    }
}

/// One MMIO_RANGE of a report or SET_MMIO_ATTRIBUTE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmioRange {
    /// First 4K page (includes MMIO_REPORTING_OFFSET).
    pub first_page: u64,
    /// Number of 4K pages.
    pub number_of_pages: u32,
    /// Range attributes (MSI-X table/PBA, non-TEE, updatable).
    pub attributes: u16,
    /// Range ID.
    pub range_id: u16,
}

/// Encoded size of an MMIO_RANGE.
pub const MMIO_RANGE_LEN: usize = 16;

impl MmioRange {
    /// Decodes one range.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            first_page: r.u64()?,
            number_of_pages: r.u32()?,
            attributes: r.u16()?,
            range_id: r.u16()?,
        })
    }

    /// Encodes one range.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u64(self.first_page)?;
        w.u32(self.number_of_pages)?;
        w.u16(self.attributes)?;
        w.u16(self.range_id)
    }
}

/// LOCK_INTERFACE_REQUEST parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockParams {
    /// Lock flags, see [`lock_flags`].
    pub flags: u16,
    /// Default stream ID.
    pub default_stream_id: u8,
    /// MMIO_REPORTING_OFFSET.
    pub mmio_reporting_offset: u64,
    /// BIND_P2P_ADDRESS_MASK.
    pub bind_p2p_address_mask: u64,
}

/// DSM capabilities of TDISP_CAPABILITIES.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DsmCapabilities {
    /// DSM_CAPS.
    pub dsm_caps: u32,
    /// REQ_MSGS_SUPPORTED: bit n set if request code 0x80 + n is supported.
    pub req_msgs_supported: [u8; 16],
    /// LOCK_INTERFACE_FLAGS_SUPPORTED.
    pub lock_flags_supported: u16,
    /// DEV_ADDR_WIDTH.
    pub dev_addr_width: u8,
    /// NUM_REQ_THIS.
    pub num_req_this: u8,
    /// NUM_REQ_ALL.
    pub num_req_all: u8,
}

/// A TDISP message body (after the header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// GET_TDISP_VERSION.
    GetVersion,
    /// GET_TDISP_CAPABILITIES with TSM_CAPS.
    GetCapabilities(u32),
    /// LOCK_INTERFACE_REQUEST.
    LockInterface(LockParams),
    /// GET_DEVICE_INTERFACE_REPORT (offset, length).
    GetReport {
        /// Offset into the report.
        offset: u16,
        /// Bytes asked for.
        length: u16,
    },
    /// GET_DEVICE_INTERFACE_STATE.
    GetState,
    /// START_INTERFACE_REQUEST.
    Start(&'a [u8; NONCE_LEN]),
    /// STOP_INTERFACE_REQUEST.
    Stop,
    /// BIND_P2P_STREAM_REQUEST.
    BindP2p(u8),
    /// UNBIND_P2P_STREAM_REQUEST.
    UnbindP2p(u8),
    /// SET_MMIO_ATTRIBUTE_REQUEST.
    SetMmioAttribute(MmioRange),
    /// VDM_REQUEST (vendor payload).
    VdmRequest(&'a [u8]),
    /// TDISP_VERSION: the version bytes.
    Version(&'a [u8]),
    /// TDISP_CAPABILITIES.
    Capabilities(DsmCapabilities),
    /// LOCK_INTERFACE_RESPONSE with START_INTERFACE_NONCE.
    LockInterfaceRsp(&'a [u8; NONCE_LEN]),
    /// DEVICE_INTERFACE_REPORT portion.
    Report {
        /// The portion.
        portion: &'a [u8],
        /// Bytes left after it.
        remainder_length: u16,
    },
    /// DEVICE_INTERFACE_STATE.
    State(TdiState),
    /// START_INTERFACE_RESPONSE.
    StartRsp,
    /// STOP_INTERFACE_RESPONSE.
    StopRsp,
    /// BIND_P2P_STREAM_RESPONSE.
    BindP2pRsp,
    /// UNBIND_P2P_STREAM_RESPONSE.
    UnbindP2pRsp,
    /// SET_MMIO_ATTRIBUTE_RESPONSE.
    SetMmioAttributeRsp,
    /// VDM_RESPONSE (vendor payload).
    VdmResponse(&'a [u8]),
    /// TDISP_ERROR.
    Error {
        /// ERROR_CODE.
        code: u32,
        /// ERROR_DATA.
        data: u32,
        /// Extended error data.
        extended: &'a [u8],
    },
}

impl Body<'_> {
    /// The MessageType of this body.
    pub fn message_type(&self) -> u8 {
        match self {
            Body::GetVersion => code::GET_VERSION,
            Body::GetCapabilities(_) => code::GET_CAPABILITIES,
            Body::LockInterface(_) => code::LOCK_INTERFACE,
            Body::GetReport { .. } => code::GET_DEVICE_INTERFACE_REPORT,
            Body::GetState => code::GET_DEVICE_INTERFACE_STATE,
            Body::Start(_) => code::START_INTERFACE,
            Body::Stop => code::STOP_INTERFACE,
            Body::BindP2p(_) => code::BIND_P2P_STREAM,
            Body::UnbindP2p(_) => code::UNBIND_P2P_STREAM,
            Body::SetMmioAttribute(_) => code::SET_MMIO_ATTRIBUTE,
            Body::VdmRequest(_) => code::VDM,
            Body::Version(_) => code::response(code::GET_VERSION),
            Body::Capabilities(_) => code::response(code::GET_CAPABILITIES),
            Body::LockInterfaceRsp(_) => code::response(code::LOCK_INTERFACE),
            Body::Report { .. } => code::response(code::GET_DEVICE_INTERFACE_REPORT),
            Body::State(_) => code::response(code::GET_DEVICE_INTERFACE_STATE),
            Body::StartRsp => code::response(code::START_INTERFACE),
            Body::StopRsp => code::response(code::STOP_INTERFACE),
            Body::BindP2pRsp => code::response(code::BIND_P2P_STREAM),
            Body::UnbindP2pRsp => code::response(code::UNBIND_P2P_STREAM),
            Body::SetMmioAttributeRsp => code::response(code::SET_MMIO_ATTRIBUTE),
            Body::VdmResponse(_) => code::response(code::VDM),
            Body::Error { .. } => code::ERROR,
        }
    }
}

/// A complete TDISP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// TDISPVersion.
    pub version: u8,
    /// INTERFACE_ID.
    pub interface: InterfaceId,
    /// The body.
    pub body: Body<'a>,
}

impl<'a> Message<'a> {
    /// Decodes one message; the input must hold exactly one.
    pub fn decode(buf: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let version = r.u8()?;
        let message_type = r.u8()?;
        r.skip(2)?;
        let interface = InterfaceId {
            function_id: r.u32()?,
        };
        r.skip(8)?;
        let body = match message_type {
            code::GET_VERSION => Body::GetVersion,
            code::GET_CAPABILITIES => Body::GetCapabilities(r.u32()?),
            code::LOCK_INTERFACE => {
                let flags = r.u16()?;
                let default_stream_id = r.u8()?;
                r.skip(1)?;
                Body::LockInterface(LockParams {
                    flags,
                    default_stream_id,
                    mmio_reporting_offset: r.u64()?,
                    bind_p2p_address_mask: r.u64()?,
                })
            }
            code::GET_DEVICE_INTERFACE_REPORT => Body::GetReport {
                offset: r.u16()?,
                length: r.u16()?,
            },
            code::GET_DEVICE_INTERFACE_STATE => Body::GetState,
            code::START_INTERFACE => Body::Start(r.array()?),
            code::STOP_INTERFACE => Body::Stop,
            code::BIND_P2P_STREAM => Body::BindP2p(r.u8()?),
            code::UNBIND_P2P_STREAM => Body::UnbindP2p(r.u8()?),
            code::SET_MMIO_ATTRIBUTE => Body::SetMmioAttribute(MmioRange::read(&mut r)?),
            code::VDM => Body::VdmRequest(r.rest()),
            0x01 => {
                let count = r.u8()?;
                Body::Version(r.bytes(usize::from(count))?)
            }
            0x02 => {
                let dsm_caps = r.u32()?;
                let req_msgs_supported = *r.array()?;
                let lock_flags_supported = r.u16()?;
                r.skip(3)?;
                Body::Capabilities(DsmCapabilities {
                    dsm_caps,
                    req_msgs_supported,
                    lock_flags_supported,
                    dev_addr_width: r.u8()?,
                    num_req_this: r.u8()?,
                    num_req_all: r.u8()?,
                })
            }
            0x03 => Body::LockInterfaceRsp(r.array()?),
            0x04 => {
                let portion_len = r.u16()?;
                let remainder_length = r.u16()?;
                Body::Report {
                    portion: r.bytes(usize::from(portion_len))?,
                    remainder_length,
                }
            }
            0x05 => Body::State(TdiState::from_byte(r.u8()?)?),
            0x06 => Body::StartRsp,
            0x07 => Body::StopRsp,
            0x08 => Body::BindP2pRsp,
            0x09 => Body::UnbindP2pRsp,
            0x0A => Body::SetMmioAttributeRsp,
            0x0B => Body::VdmResponse(r.rest()),
            code::ERROR => Body::Error {
                code: r.u32()?,
                data: r.u32()?,
                extended: r.rest(),
            },
            other => return Err(Error::UnexpectedCode(other)),
        };
        r.finish()?;
        Ok(Self {
            version,
            interface,
            body,
        })
    }

    /// Encodes the message.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.version)?;
        w.u8(self.body.message_type())?;
        w.zeros(2)?;
        w.u32(self.interface.function_id)?;
        w.zeros(8)?;
        match self.body {
            Body::GetVersion
            | Body::GetState
            | Body::Stop
            | Body::StartRsp
            | Body::StopRsp
            | Body::BindP2pRsp
            | Body::UnbindP2pRsp
            | Body::SetMmioAttributeRsp => Ok(()),
            Body::GetCapabilities(tsm_caps) => w.u32(tsm_caps),
            Body::LockInterface(p) => {
                w.u16(p.flags)?;
                w.u8(p.default_stream_id)?;
                w.u8(0)?;
                w.u64(p.mmio_reporting_offset)?;
                w.u64(p.bind_p2p_address_mask)
            }
            Body::GetReport { offset, length } => {
                w.u16(offset)?;
                w.u16(length)
            }
            Body::Start(nonce) | Body::LockInterfaceRsp(nonce) => w.bytes(nonce),
            Body::BindP2p(id) | Body::UnbindP2p(id) => w.u8(id),
            Body::SetMmioAttribute(range) => range.write(w),
            Body::VdmRequest(data) | Body::VdmResponse(data) => w.bytes(data),
            Body::Version(versions) => {
                w.u8(u8::try_from(versions.len())
                    .map_err(|_| Error::InvalidField("VERSION_NUM_COUNT"))?)?;
                w.bytes(versions)
            }
            Body::Capabilities(c) => {
                w.u32(c.dsm_caps)?;
                w.bytes(&c.req_msgs_supported)?;
                w.u16(c.lock_flags_supported)?;
                w.zeros(3)?;
                w.bytes(&[c.dev_addr_width, c.num_req_this, c.num_req_all])
            }
            Body::Report {
                portion,
                remainder_length,
            } => {
                w.len_u16(portion.len())?;
                w.u16(remainder_length)?;
                w.bytes(portion)
            }
            Body::State(s) => w.u8(s as u8),
            Body::Error {
                code,
                data,
                extended,
            } => {
                w.u32(code)?;
                w.u32(data)?;
                w.bytes(extended)
            }
        }
    }
}

/// A decoded DEVICE_INTERFACE_REPORT (the reassembled report bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterfaceReport<'a> {
    /// INTERFACE_INFO.
    pub interface_info: u16,
    /// MSI_X_MESSAGE_CONTROL.
    pub msix_message_control: u16,
    /// LNR_CONTROL.
    pub lnr_control: u16,
    /// TPH_CONTROL.
    pub tph_control: u32,
    /// The MMIO_RANGE array, [`MMIO_RANGE_LEN`] bytes each.
    ranges: &'a [u8],
    /// DEVICE_SPECIFIC_INFO.
    pub device_specific_info: &'a [u8],
}

impl<'a> InterfaceReport<'a> {
    /// Decodes a complete report.
    pub fn decode(buf: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let interface_info = r.u16()?;
        r.skip(2)?;
        let msix_message_control = r.u16()?;
        let lnr_control = r.u16()?;
        let tph_control = r.u32()?;
        let count = r.u32()? as usize;
        let ranges = r.bytes(count.checked_mul(MMIO_RANGE_LEN).ok_or(Error::Truncated)?)?;
        let info_len = r.u32()? as usize;
        let device_specific_info = r.bytes(info_len)?;
        r.finish()?;
        Ok(Self {
            interface_info,
            msix_message_control,
            lnr_control,
            tph_control,
            ranges,
            device_specific_info,
        })
    }

    /// The MMIO ranges.
    pub fn ranges(&self) -> impl Iterator<Item = MmioRange> + 'a {
        self.ranges
            .chunks_exact(MMIO_RANGE_LEN)
            .filter_map(|c| MmioRange::read(&mut Reader::new(c)).ok())
    }

    /// Encodes a report with the given ranges.
    pub fn write(&self, ranges: &[MmioRange], w: &mut Writer<'_>) -> Result<()> {
        w.u16(self.interface_info)?;
        w.zeros(2)?;
        w.u16(self.msix_message_control)?;
        w.u16(self.lnr_control)?;
        w.u32(self.tph_control)?;
        w.u32(u32::try_from(ranges.len()).map_err(|_| Error::InvalidField("MMIO_RANGE_COUNT"))?)?;
        for range in ranges {
            range.write(w)?;
        }
        w.u32(
            u32::try_from(self.device_specific_info.len())
                .map_err(|_| Error::InvalidField("DEVICE_SPECIFIC_INFO_LEN"))?,
        )?;
        w.bytes(self.device_specific_info)
    }

    /// A report header without ranges, for [`Self::write`].
    pub fn new(interface_info: u16, device_specific_info: &'a [u8]) -> Self {
        Self {
            interface_info,
            msix_message_control: 0,
            lnr_control: 0,
            tph_control: 0,
            ranges: &[],
            device_specific_info,
        }
    }
}

/// The TDI state machine with the legal transitions of TDISP 1.0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tdi {
    state: TdiState,
    nonce: [u8; NONCE_LEN],
}

impl Default for Tdi {
    fn default() -> Self {
        Self::new()
    }
}

impl Tdi {
    /// A TDI in CONFIG_UNLOCKED.
    pub fn new() -> Self {
        Self {
            state: TdiState::ConfigUnlocked,
            nonce: [0; NONCE_LEN],
        }
    }

    /// The current state.
    pub fn state(&self) -> TdiState {
        self.state
    }

    /// LOCK_INTERFACE: CONFIG_UNLOCKED -> CONFIG_LOCKED, remembering the
    /// START_INTERFACE nonce. `ide_keyed` says whether the default stream
    /// has live IDE keys.
    pub fn lock(
        &mut self,
        ide_keyed: bool,
        nonce: [u8; NONCE_LEN],
    ) -> core::result::Result<(), u32> {
        if self.state != TdiState::ConfigUnlocked {
            return Err(error_code::INVALID_INTERFACE_STATE);
        }
        if !ide_keyed {
            return Err(error_code::INVALID_REQUEST);
        }
        self.nonce = nonce;
        self.state = TdiState::ConfigLocked;
        Ok(())
    }

    /// START_INTERFACE: CONFIG_LOCKED -> RUN if the nonce matches.
    pub fn start(&mut self, nonce: &[u8; NONCE_LEN]) -> core::result::Result<(), u32> {
        if self.state != TdiState::ConfigLocked {
            return Err(error_code::INVALID_INTERFACE_STATE);
        }
        if !super::spdm::crypto::ct_eq(nonce, &self.nonce) {
            return Err(error_code::INVALID_NONCE);
        }
        self.state = TdiState::Run;
        Ok(())
    }

    /// STOP_INTERFACE: any state -> CONFIG_UNLOCKED (the TDI is scrubbed).
    pub fn stop(&mut self) {
        self.state = TdiState::ConfigUnlocked;
        self.nonce = [0; NONCE_LEN];
    }

    /// Whether GET_DEVICE_INTERFACE_REPORT is allowed (CONFIG_LOCKED or RUN).
    pub fn report_allowed(&self) -> core::result::Result<(), u32> {
        match self.state {
            TdiState::ConfigLocked | TdiState::Run => Ok(()),
            _ => Err(error_code::INVALID_INTERFACE_STATE),
        }
    }

    /// An asynchronous fault (locked config changed, reset, IDE stream lost,
    /// SPDM session ended): CONFIG_LOCKED/RUN -> ERROR.
    pub fn fault(&mut self) {
        if matches!(self.state, TdiState::ConfigLocked | TdiState::Run) {
            self.state = TdiState::Error;
        }
    }
}

/// Device-side TDISP responder for one TDI.
#[derive(Clone, Debug)]
pub struct TdispResponder<'a> {
    /// The interface this DSM serves.
    pub interface: InterfaceId,
    /// What TDISP_CAPABILITIES reports.
    pub capabilities: DsmCapabilities,
    /// The encoded DEVICE_INTERFACE_REPORT.
    pub report: &'a [u8],
    /// Largest report portion per response.
    pub max_portion: u16,
    /// The TDI.
    pub tdi: Tdi,
}

impl<'a> TdispResponder<'a> {
    /// Handles one request and writes the response (or TDISP_ERROR).
    /// `ide_keyed` and `fresh_nonce` come from the device (IDE_KM state, RNG).
    pub fn handle(
        &mut self,
        request: &[u8],
        ide_keyed: bool,
        fresh_nonce: [u8; NONCE_LEN],
        w: &mut Writer<'_>,
    ) -> Result<()> {
        let (interface, body) = match Message::decode(request) {
            Ok(m) if m.version != VERSION_10 => {
                return self.error(w, self.interface, error_code::VERSION_MISMATCH)
            }
            Ok(m) => (m.interface, m.body),
            Err(_) => return self.error(w, self.interface, error_code::INVALID_REQUEST),
        };
        if interface != self.interface {
            return self.error(w, interface, error_code::INVALID_INTERFACE);
        }
        let versions = [VERSION_10];
        let body = match body {
            Body::GetVersion => Ok(Body::Version(&versions)),
            Body::GetCapabilities(_) => Ok(Body::Capabilities(self.capabilities)),
            Body::LockInterface(_) => self
                .tdi
                .lock(ide_keyed, fresh_nonce)
                .map(|()| Body::LockInterfaceRsp(&fresh_nonce)),
            Body::GetReport { offset, length } => self.tdi.report_allowed().and_then(|()| {
                let start = usize::from(offset);
                let len = usize::from(length.min(self.max_portion));
                let portion = self
                    .report
                    .get(start..)
                    .ok_or(error_code::INVALID_REQUEST)?;
                let portion = portion.get(..len.min(portion.len())).unwrap_or(portion);
                let remainder = self.report.len() - start - portion.len();
                Ok(Body::Report {
                    portion,
                    remainder_length: u16::try_from(remainder)
                        .map_err(|_| error_code::UNSPECIFIED)?,
                })
            }),
            Body::GetState => Ok(Body::State(self.tdi.state())),
            Body::Start(nonce) => self.tdi.start(nonce).map(|()| Body::StartRsp),
            Body::Stop => {
                self.tdi.stop();
                Ok(Body::StopRsp)
            }
            Body::BindP2p(_)
            | Body::UnbindP2p(_)
            | Body::SetMmioAttribute(_)
            | Body::VdmRequest(_) => Err(error_code::UNSUPPORTED_REQUEST),
            _ => Err(error_code::INVALID_REQUEST),
        };
        match body {
            Ok(body) => Message {
                version: VERSION_10,
                interface,
                body,
            }
            .write(w),
            Err(code) => self.error(w, interface, code),
        }
    }

    fn error(&self, w: &mut Writer<'_>, interface: InterfaceId, code: u32) -> Result<()> {
        Message {
            version: VERSION_10,
            interface,
            body: Body::Error {
                code,
                data: 0,
                extended: &[],
            },
        }
        .write(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LOCK_INTERFACE_REQUEST for RID 01:00.0, segment 0 valid (PCIe TDISP
    /// LOCK_INTERFACE_REQUEST table): header 10 83 00 00 | 00 01 00 01 | 8 x 00,
    /// then FLAGS=0x0005, DEFAULT_STREAM_ID=1, rsvd, offset, mask.
    #[test]
    fn golden_lock_interface_request() {
        let m = Message {
            version: VERSION_10,
            interface: InterfaceId::new(0x0100, Some(0)),
            body: Body::LockInterface(LockParams {
                flags: lock_flags::NO_FW_UPDATE | lock_flags::LOCK_MSIX,
                default_stream_id: 1,
                mmio_reporting_offset: 0x1000,
                bind_p2p_address_mask: 0,
            }),
        };
        let mut out = [0u8; 64];
        let len = super::super::wire::encode_into(&mut out, |w| m.write(w)).unwrap();
        let mut expected = [0u8; 36];
        expected[..8].copy_from_slice(&[0x10, 0x83, 0, 0, 0x00, 0x01, 0x00, 0x01]);
        expected[16..20].copy_from_slice(&[0x05, 0x00, 0x01, 0x00]);
        expected[20..28].copy_from_slice(&0x1000u64.to_le_bytes());
        assert_eq!(&out[..len], &expected);
        assert_eq!(Message::decode(&out[..len]), Ok(m));
    }

    /// TDISP_CAPABILITIES is 16 + 28 bytes; TDISP_ERROR carries u32 code and data.
    #[test]
    fn golden_capabilities_and_error() {
        let mut caps = [0u8; 44];
        caps[..4].copy_from_slice(&[0x10, 0x02, 0, 0]);
        caps[20] = 0xFF; // REQ_MSGS_SUPPORTED byte 0: codes 0x80..0x87
        caps[36] = 0x1F; // LOCK_INTERFACE_FLAGS_SUPPORTED
        caps[41] = 52; // DEV_ADDR_WIDTH
        caps[42] = 1;
        caps[43] = 1;
        let Ok(Message {
            body: Body::Capabilities(c),
            ..
        }) = Message::decode(&caps)
        else {
            panic!("capabilities did not decode");
        };
        assert_eq!(
            (
                c.req_msgs_supported[0],
                c.lock_flags_supported,
                c.dev_addr_width
            ),
            (0xFF, 0x1F, 52)
        );
        assert_eq!(Message::decode(&caps[..43]), Err(Error::Truncated));

        let err = [
            0x10, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            Message::decode(&err).map(|m| m.body),
            Ok(Body::Error {
                code: error_code::INVALID_NONCE,
                data: 0,
                extended: &[]
            })
        );
    }

    /// Every (state, request) cell of the TDISP state table.
    #[test]
    fn state_table() {
        use TdiState::*;
        let nonce = [9u8; NONCE_LEN];
        let in_state = |s: TdiState| {
            let mut t = Tdi::new();
            if s != ConfigUnlocked {
                t.lock(true, nonce).unwrap();
            }
            if s == Run {
                t.start(&nonce).unwrap();
            }
            if s == Error {
                t.fault();
            }
            assert_eq!(t.state(), s);
            t
        };
        for s in [ConfigUnlocked, ConfigLocked, Run, Error] {
            let mut t = in_state(s);
            let lock = t.lock(true, nonce);
            assert_eq!(lock.is_ok(), s == ConfigUnlocked, "LOCK in {s:?}");
            let t = in_state(s);
            assert_eq!(
                t.report_allowed().is_ok(),
                matches!(s, ConfigLocked | Run),
                "REPORT in {s:?}"
            );
            let mut t = in_state(s);
            assert_eq!(t.start(&nonce).is_ok(), s == ConfigLocked, "START in {s:?}");
            let mut t = in_state(s);
            t.stop();
            assert_eq!(t.state(), ConfigUnlocked, "STOP in {s:?}");
        }
        let mut t = Tdi::new();
        assert_eq!(t.lock(false, nonce), Err(error_code::INVALID_REQUEST));
        t.lock(true, nonce).unwrap();
        assert_eq!(t.start(&[0; NONCE_LEN]), Err(error_code::INVALID_NONCE));
        assert_eq!(t.state(), ConfigLocked);
        let mut t = Tdi::new();
        t.fault();
        assert_eq!(t.state(), ConfigUnlocked, "faults only affect locked TDIs");
    }
}
