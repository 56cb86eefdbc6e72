// SPDX-License-Identifier: GPL-2.0
//! AMD SEV-TIO PSP commands (Linux 7.3 `drivers/crypto/ccp/sev-dev-tio.[ch]`,
//! `include/linux/psp-sev.h`, `include/uapi/linux/psp-sev.h`).
//!
//! Confirmed by the 7.3 sources: command IDs 0xD0..=0xD5, their buffer
//! layouts below, the SLA address and buffer header, the SPDM data object
//! header, the TIO_STATUS output and the status codes.
//!
//! TIO_DEV_MEASUREMENTS and TIO_DEV_CERTIFICATES: 7.3 defines their
//! command buffers (`struct sev_data_tio_dev_meas` and `struct
//! sev_data_tio_dev_certs`, `sev-dev-tio.c` lines 259-290), and they are
//! encoded here exactly as those structs lay them out, but 7.3 never
//! issues them: its command enum (`include/linux/psp-sev.h` lines
//! 146-152) stops at 0xD5 and `sev_tio_cmd_buffer_len()` knows only
//! 0xD0..=0xD5. Their IDs 0xD7 and 0xD8, like all of 0xD6..=0xE4, come
//! from the SEV-TIO RFC host driver and are **not confirmed** against AMD
//! document #58271; of 0xD6 and 0xDA..=0xE4 only the IDs are encoded.

use super::super::wire::{Error, Reader, Result, Writer};

/// PSP command IDs.
pub mod cmd {
    /// TIO_STATUS.
    pub const TIO_STATUS: u32 = 0xD0;
    /// TIO_INIT.
    pub const TIO_INIT: u32 = 0xD1;
    /// TIO_DEV_CREATE.
    pub const TIO_DEV_CREATE: u32 = 0xD2;
    /// TIO_DEV_RECLAIM.
    pub const TIO_DEV_RECLAIM: u32 = 0xD3;
    /// TIO_DEV_CONNECT.
    pub const TIO_DEV_CONNECT: u32 = 0xD4;
    /// TIO_DEV_DISCONNECT.
    pub const TIO_DEV_DISCONNECT: u32 = 0xD5;
    /// TIO_DEV_STATUS (not confirmed).
    pub const TIO_DEV_STATUS: u32 = 0xD6;
    /// TIO_DEV_MEASUREMENTS (ID not confirmed: absent from 7.3's enum;
    /// its buffer is 7.3's `struct sev_data_tio_dev_meas`).
    pub const TIO_DEV_MEASUREMENTS: u32 = 0xD7;
    /// TIO_DEV_CERTIFICATES (ID not confirmed: absent from 7.3's enum;
    /// its buffer is 7.3's `struct sev_data_tio_dev_certs`).
    pub const TIO_DEV_CERTIFICATES: u32 = 0xD8;
    /// TIO_TDI_CREATE (not confirmed).
    pub const TIO_TDI_CREATE: u32 = 0xDA;
    /// TIO_TDI_RECLAIM (not confirmed).
    pub const TIO_TDI_RECLAIM: u32 = 0xDB;
    /// TIO_TDI_BIND (not confirmed).
    pub const TIO_TDI_BIND: u32 = 0xDC;
    /// TIO_TDI_UNBIND (not confirmed).
    pub const TIO_TDI_UNBIND: u32 = 0xDD;
    /// TIO_TDI_REPORT (not confirmed).
    pub const TIO_TDI_REPORT: u32 = 0xDE;
    /// TIO_TDI_STATUS (not confirmed).
    pub const TIO_TDI_STATUS: u32 = 0xDF;
    /// TIO_GUEST_REQUEST (not confirmed).
    pub const TIO_GUEST_REQUEST: u32 = 0xE0;
    /// TIO_ASID_FENCE_CLEAR (not confirmed).
    pub const TIO_ASID_FENCE_CLEAR: u32 = 0xE1;
    /// TIO_ASID_FENCE_STATUS (not confirmed).
    pub const TIO_ASID_FENCE_STATUS: u32 = 0xE2;
    /// TIO_TDI_INFO (not confirmed).
    pub const TIO_TDI_INFO: u32 = 0xE3;
    /// TIO_ROLL_KEY (not confirmed).
    pub const TIO_ROLL_KEY: u32 = 0xE4;
}

/// PSP status codes relevant to SEV-TIO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 0x00 SUCCESS.
    Success,
    /// 0x01 INVALID_PLATFORM_STATE.
    InvalidPlatformState,
    /// 0x04 INVALID_LEN.
    InvalidLen,
    /// 0x09 INVALID_ADDRESS.
    InvalidAddress,
    /// 0x11 INVALID_COMMAND.
    InvalidCommand,
    /// 0x15 UNSUPPORTED.
    Unsupported,
    /// 0x16 INVALID_PARAM.
    InvalidParam,
    /// 0x17 RESOURCE_LIMIT.
    ResourceLimit,
    /// 0x1A INVALID_PAGE_STATE.
    InvalidPageState,
    /// 0x1C INVALID_PAGE_OWNER.
    InvalidPageOwner,
    /// 0x30 INCORRECT_BUFFER_LENGTH.
    IncorrectBufferLength,
    /// 0x31 EXPAND_BUFFER_LENGTH_REQUEST: grow output/scratch and reissue.
    ExpandBufferLengthRequest,
    /// 0x32 SPDM_REQUEST: relay the request object over DOE and reissue.
    SpdmRequest,
    /// 0x33 SPDM_ERROR.
    SpdmError,
    /// 0x35 ERR_IN_DEV_CONN.
    ErrInDevConn,
    /// 0x36 INVALID_DEV_CTX.
    InvalidDevCtx,
    /// 0x37 INVALID_TDI_CTX.
    InvalidTdiCtx,
    /// 0x38 INVALID_TDI.
    InvalidTdi,
    /// 0x39 RECLAIM_REQUIRED.
    ReclaimRequired,
    /// 0x3A IN_USE.
    InUse,
    /// 0x3B INVALID_DEV_STATE.
    InvalidDevState,
    /// 0x3C INVALID_TDI_STATE.
    InvalidTdiState,
    /// 0x3D DEV_CERT_CHANGED.
    DevCertChanged,
    /// 0x3E RESYNC_REQ.
    ResyncReq,
    /// 0x3F RESPONSE_TOO_LARGE.
    ResponseTooLarge,
    /// Any other value.
    Other(u32),
}

const STATUS_TABLE: [(u32, Status); 25] = [
    (0x00, Status::Success),
    (0x01, Status::InvalidPlatformState),
    (0x04, Status::InvalidLen),
    (0x09, Status::InvalidAddress),
    (0x11, Status::InvalidCommand),
    (0x15, Status::Unsupported),
    (0x16, Status::InvalidParam),
    (0x17, Status::ResourceLimit),
    (0x1A, Status::InvalidPageState),
    (0x1C, Status::InvalidPageOwner),
    (0x30, Status::IncorrectBufferLength),
    (0x31, Status::ExpandBufferLengthRequest),
    (0x32, Status::SpdmRequest),
    (0x33, Status::SpdmError),
    (0x35, Status::ErrInDevConn),
    (0x36, Status::InvalidDevCtx),
    (0x37, Status::InvalidTdiCtx),
    (0x38, Status::InvalidTdi),
    (0x39, Status::ReclaimRequired),
    (0x3A, Status::InUse),
    (0x3B, Status::InvalidDevState),
    (0x3C, Status::InvalidTdiState),
    (0x3D, Status::DevCertChanged),
    (0x3E, Status::ResyncReq),
    (0x3F, Status::ResponseTooLarge),
];

impl Status {
    /// Decodes a `psp_ret` value.
    pub fn from_raw(raw: u32) -> Self {
        STATUS_TABLE
            .iter()
            .find(|(v, _)| *v == raw)
            .map_or(Status::Other(raw), |(_, s)| *s)
    }

    /// The raw `psp_ret` value.
    pub fn raw(self) -> u32 {
        match self {
            Status::Other(raw) => raw,
            known => STATUS_TABLE
                .iter()
                .find(|(_, s)| *s == known)
                .map_or(u32::MAX, |(v, _)| *v),
        }
    }
}

/// A scatter-list address (`sla_addr_t`): bit 0 page type (1 = scatter
/// list), bit 1 page size (1 = 2M), bits 51:12 PFN; all-ones PFN ends a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaAddr {
    /// The page is a scatter list rather than data.
    pub scatter_list: bool,
    /// 2 MiB page rather than 4 KiB.
    pub page_2m: bool,
    /// Page frame number (40 bits).
    pub pfn: u64,
}

const PFN_MASK: u64 = (1 << 40) - 1;

impl SlaAddr {
    /// The end-of-list marker.
    pub const EOL: SlaAddr = SlaAddr {
        scatter_list: false,
        page_2m: false,
        pfn: PFN_MASK,
    };

    /// Decodes the raw value (reserved bits ignored).
    pub fn from_raw(raw: u64) -> Self {
        Self {
            scatter_list: raw & 1 != 0,
            page_2m: raw & 2 != 0,
            pfn: (raw >> 12) & PFN_MASK,
        }
    }

    /// Encodes the raw value; fails if the PFN does not fit.
    pub fn raw(&self) -> Result<u64> {
        if self.pfn > PFN_MASK {
            return Err(Error::InvalidField("pfn"));
        }
        Ok(u64::from(self.scatter_list) | (u64::from(self.page_2m) << 1) | (self.pfn << 12))
    }
}

/// `sla_buffer_hdr`: the 0x40-byte header of every SLA buffer (7.3
/// `drivers/crypto/ccp/sev-dev-tio.c` lines 64-81).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaBufferHeader {
    /// capacity_sz: bytes the buffer can hold, this header included
    /// (`sla_alloc()` writes the page count times the page size).
    pub capacity: u32,
    /// payload_sz: bytes used after this header. The C comment asks for a
    /// multiple of 32, and `sev_tio_continue()` writes one (the response
    /// data object rounded up to 32), but `dobj_response_init()` writes
    /// 16: an empty response object, its 0x10-byte header alone.
    pub payload: u32,
    /// flags: bit 0 encrypted.
    pub flags: u32,
    /// AES-GCM IV of an encrypted payload.
    pub iv: [u8; 16],
    /// AES-GCM tag of an encrypted payload.
    pub authtag: [u8; 16],
}

/// Size of [`SlaBufferHeader`].
pub const SLA_BUFFER_HEADER_LEN: usize = 0x40;

/// Granule of payload_sz once a data object has content.
pub const SLA_PAYLOAD_ALIGN: u32 = 32;

impl SlaBufferHeader {
    /// Decodes the header. payload_sz must fit in capacity_sz and be a
    /// multiple of 32, or exactly [`DOBJ_HEADER_LEN`] (16): the empty
    /// response object 7.3's `dobj_response_init()` (sev-dev-tio.c lines
    /// 376-385) sets up before the first relay.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let capacity = r.u32()?;
        let payload = r.u32()?;
        let flags = r.u32()?;
        r.skip(4)?;
        let iv = *r.array()?;
        let authtag = *r.array()?;
        r.skip(16)?;
        let empty_object = payload == DOBJ_HEADER_LEN as u32;
        if (payload % SLA_PAYLOAD_ALIGN != 0 && !empty_object) || payload > capacity {
            return Err(Error::InvalidField("payload_sz"));
        }
        Ok(Self {
            capacity,
            payload,
            flags,
            iv,
            authtag,
        })
    }

    /// Encodes the header.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u32(self.capacity)?;
        w.u32(self.payload)?;
        w.u32(self.flags)?;
        w.zeros(4)?;
        w.bytes(&self.iv)?;
        w.bytes(&self.authtag)?;
        w.zeros(16)
    }
}

/// `spdm_dobj_hdr` id of a request object.
pub const DOBJ_ID_REQ: u32 = 1;
/// `spdm_dobj_hdr` id of a response object.
pub const DOBJ_ID_RESP: u32 = 2;
/// Data type: plain SPDM (DOE type 1).
pub const DOBJ_DATA_TYPE_SPDM: u8 = 1;
/// Data type: secured SPDM (DOE type 2).
pub const DOBJ_DATA_TYPE_SECURE_SPDM: u8 = 2;
/// Size of [`SpdmDataObjectHeader`].
pub const DOBJ_HEADER_LEN: usize = 0x10;

/// The data object header at offset 0x40 of req/resp buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpdmDataObjectHeader {
    /// Object id ([`DOBJ_ID_REQ`], [`DOBJ_ID_RESP`]).
    pub id: u32,
    /// Length including this header.
    pub length: u32,
    /// Version minor.
    pub minor: u8,
    /// Version major.
    pub major: u8,
    /// Data type: [`DOBJ_DATA_TYPE_SPDM`] or [`DOBJ_DATA_TYPE_SECURE_SPDM`].
    pub data_type: u8,
}

impl SpdmDataObjectHeader {
    /// Decodes the header and splits off the payload from `buf` (which
    /// starts at the header).
    pub fn split(buf: &[u8]) -> Result<(Self, &[u8])> {
        let mut r = Reader::new(buf);
        let h = Self {
            id: r.u32()?,
            length: r.u32()?,
            minor: r.u8()?,
            major: r.u8()?,
            data_type: r.u8()?,
        };
        r.skip(5)?;
        let payload_len = (h.length as usize)
            .checked_sub(DOBJ_HEADER_LEN)
            .ok_or(Error::InvalidField("length"))?;
        Ok((h, r.bytes(payload_len)?))
    }

    /// The DOE object type the payload travels as.
    pub fn doe_type(&self) -> Result<u8> {
        match self.data_type {
            DOBJ_DATA_TYPE_SPDM => Ok(super::super::doe::TYPE_CMA),
            DOBJ_DATA_TYPE_SECURE_SPDM => Ok(super::super::doe::TYPE_SECURED_CMA),
            _ => Err(Error::InvalidField("data_type")),
        }
    }

    /// Encodes the header.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u32(self.id)?;
        w.u32(self.length)?;
        w.bytes(&[self.minor, self.major, self.data_type])?;
        w.zeros(5)
    }
}

/// `spdm_dobj_hdr` id of a certificate chain object in an output buffer. Linux 7.3 defines
/// only the REQ and RESP ids; this id and [`DOBJ_ID_MEASUREMENT`] follow them as the SEV-TIO
/// RFC host driver's objects do (**not confirmed** against AMD document #58271).
pub const DOBJ_ID_CERTIFICATE: u32 = 3;
/// `spdm_dobj_hdr` id of a measurement object in an output buffer (**not confirmed**, see
/// [`DOBJ_ID_CERTIFICATE`]).
pub const DOBJ_ID_MEASUREMENT: u32 = 4;

/// `spdm_dobj_hdr` id of a TDI's interface report in an output buffer (TIO_TDI_BIND; **not
/// confirmed**, see [`DOBJ_ID_CERTIFICATE`]).
pub const DOBJ_ID_REPORT: u32 = 5;

/// Offset of the data object in an SLA buffer: after the [`SlaBufferHeader`].
pub const DOBJ_OFFSET: usize = SLA_BUFFER_HEADER_LEN;

/// Writes the data object `id` of `data_type` holding `payload` into the SLA buffer `buf`
/// (whose capacity_sz is `buf.len()`): the buffer header with payload_sz the object length
/// rounded up to 32, then the object. Returns the object length. A payload that does not fit
/// is [`Error::Truncated`].
pub fn write_object(buf: &mut [u8], id: u32, data_type: u8, payload: &[u8]) -> Result<u32> {
    let length = u32::try_from(DOBJ_HEADER_LEN + payload.len())
        .map_err(|_| Error::InvalidField("length"))?;
    let padded = length.next_multiple_of(SLA_PAYLOAD_ALIGN);
    let capacity = u32::try_from(buf.len()).map_err(|_| Error::InvalidField("capacity_sz"))?;
    if DOBJ_OFFSET + padded as usize > buf.len() {
        return Err(Error::Truncated);
    }
    let mut w = Writer::new(buf);
    SlaBufferHeader {
        capacity,
        payload: padded,
        flags: 0,
        iv: [0; 16],
        authtag: [0; 16],
    }
    .write(&mut w)?;
    SpdmDataObjectHeader {
        id,
        length,
        minor: 0,
        major: 1,
        data_type,
    }
    .write(&mut w)?;
    w.bytes(payload)?;
    Ok(length)
}

/// Reads the data object of the SLA buffer `buf`: the buffer header, then an object that lies
/// within payload_sz and the buffer. Returns both headers and the object's payload.
pub fn read_object(buf: &[u8]) -> Result<(SlaBufferHeader, SpdmDataObjectHeader, &[u8])> {
    let header = SlaBufferHeader::read(&mut Reader::new(buf))?;
    if header.capacity as usize > buf.len() && (header.payload as usize) + DOBJ_OFFSET > buf.len() {
        return Err(Error::Truncated);
    }
    let body = buf
        .get(DOBJ_OFFSET..DOBJ_OFFSET + header.payload as usize)
        .ok_or(Error::Truncated)?;
    let (object, payload) = SpdmDataObjectHeader::split(body)?;
    Ok((header, object, payload))
}

/// `spdm_ctrl`: the four SLAs every SPDM-speaking command carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpdmCtrl {
    /// Request buffer (firmware-owned).
    pub req: SlaAddr,
    /// Response buffer (host-owned).
    pub resp: SlaAddr,
    /// Scratch buffer (firmware-owned).
    pub scratch: SlaAddr,
    /// Output buffer (firmware-owned).
    pub output: SlaAddr,
}

impl SpdmCtrl {
    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        for sla in [self.req, self.resp, self.scratch, self.output] {
            w.u64(sla.raw()?)?;
        }
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            req: SlaAddr::from_raw(r.u64()?),
            resp: SlaAddr::from_raw(r.u64()?),
            scratch: SlaAddr::from_raw(r.u64()?),
            output: SlaAddr::from_raw(r.u64()?),
        })
    }
}

/// The command buffers Linux 7.3 defines (0xD0..=0xD5, which it issues,
/// and the TIO_DEV_MEASUREMENTS and TIO_DEV_CERTIFICATES buffers, which it
/// only declares), and the TDI commands of the SEV-TIO RFC host driver.
/// Each encoding starts with its own length, which the PSP checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// TIO_STATUS (16 bytes): physical address of a 64-byte status page.
    Status {
        /// Status page address.
        status_paddr: u64,
    },
    /// TIO_INIT (16 bytes).
    Init,
    /// TIO_DEV_CREATE (32 bytes).
    DevCreate {
        /// Device context SLA.
        dev_ctx: SlaAddr,
        /// Requester ID of function 0.
        device_id: u16,
        /// Root port ID (its LnkCap port number).
        root_port_id: u16,
        /// PCI segment.
        segment: u8,
    },
    /// TIO_DEV_RECLAIM (16 bytes).
    DevReclaim {
        /// Device context SLA.
        dev_ctx: SlaAddr,
    },
    /// TIO_DEV_CONNECT (80 bytes).
    DevConnect {
        /// SPDM buffers.
        spdm_ctrl: SpdmCtrl,
        /// Device context SLA.
        dev_ctx: SlaAddr,
        /// Traffic class mask (bit 0 mandatory).
        tc_mask: u8,
        /// Certificate slot.
        cert_slot: u8,
        /// IDE stream ID per traffic class (0xFF unused).
        ide_stream_id: [u8; 8],
    },
    /// TIO_DEV_DISCONNECT (48 bytes).
    DevDisconnect {
        /// Flags: bit 0 FORCE.
        flags: u32,
        /// SPDM buffers.
        spdm_ctrl: SpdmCtrl,
        /// Device context SLA.
        dev_ctx: SlaAddr,
    },
    /// TIO_DEV_MEASUREMENTS (80 bytes): 7.3 `struct sev_data_tio_dev_meas`
    /// (sev-dev-tio.c lines 259-276); 7.3 defines but never issues it.
    DevMeasurements {
        /// Flags: bit 0 RAW_BITSTREAM ([`MEASUREMENTS_RAW_BITSTREAM`]).
        flags: u32,
        /// SPDM buffers.
        spdm_ctrl: SpdmCtrl,
        /// Device context SLA.
        dev_ctx: SlaAddr,
        /// Nonce for the freshness of the measurements.
        meas_nonce: [u8; 32],
    },
    /// TIO_DEV_CERTIFICATES (48 bytes): 7.3 `struct sev_data_tio_dev_certs`
    /// (sev-dev-tio.c lines 278-290); 7.3 defines but never issues it.
    DevCertificates {
        /// SPDM buffers.
        spdm_ctrl: SpdmCtrl,
        /// Device context SLA.
        dev_ctx: SlaAddr,
    },
    /// TIO_TDI_CREATE (48 bytes; the RFC host driver's layout, **not
    /// confirmed**): a TDI context for one interface of a connected device.
    TdiCreate {
        /// Device context SLA.
        dev_ctx: SlaAddr,
        /// TDI context SLA.
        tdi_ctx: SlaAddr,
        /// `tdisp_interface_id.function_id` ([`interface_id`]).
        interface_id: u32,
    },
    /// TIO_TDI_RECLAIM (32 bytes, **not confirmed**).
    TdiReclaim {
        /// Device context SLA.
        dev_ctx: SlaAddr,
        /// TDI context SLA.
        tdi_ctx: SlaAddr,
    },
    /// TIO_TDI_BIND (80 bytes, **not confirmed**): the firmware locks the
    /// interface (TDISP LOCK_INTERFACE) and reads its report.
    TdiBind {
        /// SPDM buffers.
        spdm_ctrl: SpdmCtrl,
        /// Device context SLA.
        dev_ctx: SlaAddr,
        /// TDI context SLA.
        tdi_ctx: SlaAddr,
        /// The guest's context.
        gctx_paddr: u64,
        /// The TDI's requester ID in the guest.
        guest_device_id: u16,
        /// TDISP LOCK_INTERFACE flags.
        lock_flags: u16,
        /// Flags: bit 0 RUN_FORCE.
        run_flags: u16,
    },
    /// TIO_TDI_UNBIND (64 bytes, **not confirmed**): TDISP STOP_INTERFACE.
    TdiUnbind {
        /// Flags: bit 0 FORCE ([`UNBIND_FORCE`]).
        flags: u32,
        /// SPDM buffers.
        spdm_ctrl: SpdmCtrl,
        /// Device context SLA.
        dev_ctx: SlaAddr,
        /// TDI context SLA.
        tdi_ctx: SlaAddr,
        /// The guest's context.
        gctx_paddr: u64,
    },
    /// TIO_GUEST_REQUEST (80 bytes, **not confirmed**): a guest's request about
    /// its TDI, passed to the firmware in a page, answered in another.
    GuestRequest {
        /// SPDM buffers.
        spdm_ctrl: SpdmCtrl,
        /// Device context SLA.
        dev_ctx: SlaAddr,
        /// TDI context SLA.
        tdi_ctx: SlaAddr,
        /// The guest's context.
        gctx_paddr: u64,
        /// The request page.
        req_paddr: u64,
        /// The response page.
        res_paddr: u64,
    },
}

/// TIO_TDI_UNBIND flag: unbind even if the device does not answer.
pub const UNBIND_FORCE: u32 = 1 << 0;
/// TIO_TDI_BIND run flag: put the TDI into RUN at once.
pub const RUN_FORCE: u16 = 1 << 0;

/// `tdisp_interface_id.function_id` of the function `rid`: bits 15:0 the requester ID, bits
/// 23:16 the segment and bit 24 set when the segment is given.
pub fn interface_id(rid: u16, segment: Option<u8>) -> u32 {
    match segment {
        Some(seg) => u32::from(rid) | u32::from(seg) << 16 | 1 << 24,
        None => u32::from(rid),
    }
}

/// TIO_DEV_DISCONNECT flag: tear down even if the device does not answer.
pub const DISCONNECT_FORCE: u32 = 1 << 0;
/// TIO_DEV_MEASUREMENTS flag (`TIO_DEV_MEAS_FLAG_RAW_BITSTREAM`): ask for
/// raw bit-stream measurements.
pub const MEASUREMENTS_RAW_BITSTREAM: u32 = 1 << 0;

impl Command {
    /// The PSP command ID.
    pub fn id(&self) -> u32 {
        match self {
            Command::Status { .. } => cmd::TIO_STATUS,
            Command::Init => cmd::TIO_INIT,
            Command::DevCreate { .. } => cmd::TIO_DEV_CREATE,
            Command::DevReclaim { .. } => cmd::TIO_DEV_RECLAIM,
            Command::DevConnect { .. } => cmd::TIO_DEV_CONNECT,
            Command::DevDisconnect { .. } => cmd::TIO_DEV_DISCONNECT,
            Command::DevMeasurements { .. } => cmd::TIO_DEV_MEASUREMENTS,
            Command::DevCertificates { .. } => cmd::TIO_DEV_CERTIFICATES,
            Command::TdiCreate { .. } => cmd::TIO_TDI_CREATE,
            Command::TdiReclaim { .. } => cmd::TIO_TDI_RECLAIM,
            Command::TdiBind { .. } => cmd::TIO_TDI_BIND,
            Command::TdiUnbind { .. } => cmd::TIO_TDI_UNBIND,
            Command::GuestRequest { .. } => cmd::TIO_GUEST_REQUEST,
        }
    }

    /// Size of the command buffer.
    pub fn len(&self) -> usize {
        match self {
            Command::Status { .. } | Command::Init | Command::DevReclaim { .. } => 16,
            Command::DevCreate { .. } => 32,
            Command::DevConnect { .. }
            | Command::DevMeasurements { .. }
            | Command::TdiBind { .. }
            | Command::GuestRequest { .. } => 80,
            Command::DevDisconnect { .. }
            | Command::DevCertificates { .. }
            | Command::TdiCreate { .. } => 48,
            Command::TdiReclaim { .. } => 32,
            Command::TdiUnbind { .. } => 64,
        }
    }

    /// Whether the buffer is empty (never: every buffer holds its length).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Encodes the command buffer.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        let start = w.len();
        w.u32(self.len() as u32)?;
        match *self {
            Command::Status { status_paddr } => {
                w.zeros(4)?;
                w.u64(status_paddr)?;
            }
            Command::Init => w.zeros(12)?,
            Command::DevCreate {
                dev_ctx,
                device_id,
                root_port_id,
                segment,
            } => {
                w.zeros(4)?;
                w.u64(dev_ctx.raw()?)?;
                w.u16(device_id)?;
                w.u16(root_port_id)?;
                w.u8(segment)?;
                w.zeros(11)?;
            }
            Command::DevReclaim { dev_ctx } => {
                w.zeros(4)?;
                w.u64(dev_ctx.raw()?)?;
            }
            Command::DevConnect {
                spdm_ctrl,
                dev_ctx,
                tc_mask,
                cert_slot,
                ide_stream_id,
            } => {
                w.zeros(4)?;
                spdm_ctrl.write(w)?;
                w.zeros(8)?;
                w.u64(dev_ctx.raw()?)?;
                w.u8(tc_mask)?;
                w.u8(cert_slot)?;
                w.zeros(6)?;
                w.bytes(&ide_stream_id)?;
                w.zeros(8)?;
            }
            Command::DevDisconnect {
                flags,
                spdm_ctrl,
                dev_ctx,
            } => {
                w.u32(flags)?;
                spdm_ctrl.write(w)?;
                w.u64(dev_ctx.raw()?)?;
            }
            Command::DevMeasurements {
                flags,
                spdm_ctrl,
                dev_ctx,
                meas_nonce,
            } => {
                w.u32(flags)?;
                spdm_ctrl.write(w)?;
                w.u64(dev_ctx.raw()?)?;
                w.bytes(&meas_nonce)?;
            }
            Command::DevCertificates { spdm_ctrl, dev_ctx } => {
                w.zeros(4)?;
                spdm_ctrl.write(w)?;
                w.u64(dev_ctx.raw()?)?;
            }
            Command::TdiCreate {
                dev_ctx,
                tdi_ctx,
                interface_id,
            } => {
                w.zeros(4)?;
                w.u64(dev_ctx.raw()?)?;
                w.u64(tdi_ctx.raw()?)?;
                w.u32(interface_id)?;
                w.zeros(8 + 12)?;
            }
            Command::TdiReclaim { dev_ctx, tdi_ctx } => {
                w.zeros(4)?;
                w.u64(dev_ctx.raw()?)?;
                w.u64(tdi_ctx.raw()?)?;
                w.zeros(8)?;
            }
            Command::TdiBind {
                spdm_ctrl,
                dev_ctx,
                tdi_ctx,
                gctx_paddr,
                guest_device_id,
                lock_flags,
                run_flags,
            } => {
                w.zeros(4)?;
                spdm_ctrl.write(w)?;
                w.u64(dev_ctx.raw()?)?;
                w.u64(tdi_ctx.raw()?)?;
                w.u64(gctx_paddr)?;
                w.u16(guest_device_id)?;
                w.u16(lock_flags)?;
                w.u16(run_flags)?;
                w.zeros(10)?;
            }
            Command::TdiUnbind {
                flags,
                spdm_ctrl,
                dev_ctx,
                tdi_ctx,
                gctx_paddr,
            } => {
                w.u32(flags)?;
                spdm_ctrl.write(w)?;
                w.u64(dev_ctx.raw()?)?;
                w.u64(tdi_ctx.raw()?)?;
                w.u64(gctx_paddr)?;
            }
            Command::GuestRequest {
                spdm_ctrl,
                dev_ctx,
                tdi_ctx,
                gctx_paddr,
                req_paddr,
                res_paddr,
            } => {
                w.zeros(4)?;
                spdm_ctrl.write(w)?;
                w.u64(dev_ctx.raw()?)?;
                w.u64(tdi_ctx.raw()?)?;
                w.u64(gctx_paddr)?;
                w.u64(req_paddr)?;
                w.u64(res_paddr)?;
            }
        }
        if w.len() - start != self.len() {
            return Err(Error::InvalidField("length"));
        }
        Ok(())
    }

    /// Decodes a command buffer of command `id` (firmware-model side);
    /// the length field must match the command.
    pub fn decode(id: u32, buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let length = r.u32()? as usize;
        let command = match id {
            cmd::TIO_STATUS => {
                r.skip(4)?;
                Command::Status {
                    status_paddr: r.u64()?,
                }
            }
            cmd::TIO_INIT => {
                r.skip(12)?;
                Command::Init
            }
            cmd::TIO_DEV_CREATE => {
                r.skip(4)?;
                let dev_ctx = SlaAddr::from_raw(r.u64()?);
                let c = Command::DevCreate {
                    dev_ctx,
                    device_id: r.u16()?,
                    root_port_id: r.u16()?,
                    segment: r.u8()?,
                };
                r.skip(11)?;
                c
            }
            cmd::TIO_DEV_RECLAIM => {
                r.skip(4)?;
                Command::DevReclaim {
                    dev_ctx: SlaAddr::from_raw(r.u64()?),
                }
            }
            cmd::TIO_DEV_CONNECT => {
                r.skip(4)?;
                let spdm_ctrl = SpdmCtrl::read(&mut r)?;
                r.skip(8)?;
                let dev_ctx = SlaAddr::from_raw(r.u64()?);
                let tc_mask = r.u8()?;
                let cert_slot = r.u8()?;
                r.skip(6)?;
                let ide_stream_id = *r.array()?;
                r.skip(8)?;
                Command::DevConnect {
                    spdm_ctrl,
                    dev_ctx,
                    tc_mask,
                    cert_slot,
                    ide_stream_id,
                }
            }
            cmd::TIO_DEV_DISCONNECT => {
                let flags = r.u32()?;
                Command::DevDisconnect {
                    flags,
                    spdm_ctrl: SpdmCtrl::read(&mut r)?,
                    dev_ctx: SlaAddr::from_raw(r.u64()?),
                }
            }
            cmd::TIO_DEV_MEASUREMENTS => {
                let flags = r.u32()?;
                Command::DevMeasurements {
                    flags,
                    spdm_ctrl: SpdmCtrl::read(&mut r)?,
                    dev_ctx: SlaAddr::from_raw(r.u64()?),
                    meas_nonce: *r.array()?,
                }
            }
            cmd::TIO_DEV_CERTIFICATES => {
                r.skip(4)?;
                Command::DevCertificates {
                    spdm_ctrl: SpdmCtrl::read(&mut r)?,
                    dev_ctx: SlaAddr::from_raw(r.u64()?),
                }
            }
            cmd::TIO_TDI_CREATE => {
                r.skip(4)?;
                let c = Command::TdiCreate {
                    dev_ctx: SlaAddr::from_raw(r.u64()?),
                    tdi_ctx: SlaAddr::from_raw(r.u64()?),
                    interface_id: r.u32()?,
                };
                r.skip(8 + 12)?;
                c
            }
            cmd::TIO_TDI_RECLAIM => {
                r.skip(4)?;
                let c = Command::TdiReclaim {
                    dev_ctx: SlaAddr::from_raw(r.u64()?),
                    tdi_ctx: SlaAddr::from_raw(r.u64()?),
                };
                r.skip(8)?;
                c
            }
            cmd::TIO_TDI_BIND => {
                r.skip(4)?;
                let c = Command::TdiBind {
                    spdm_ctrl: SpdmCtrl::read(&mut r)?,
                    dev_ctx: SlaAddr::from_raw(r.u64()?),
                    tdi_ctx: SlaAddr::from_raw(r.u64()?),
                    gctx_paddr: r.u64()?,
                    guest_device_id: r.u16()?,
                    lock_flags: r.u16()?,
                    run_flags: r.u16()?,
                };
                r.skip(10)?;
                c
            }
            cmd::TIO_TDI_UNBIND => {
                let flags = r.u32()?;
                Command::TdiUnbind {
                    flags,
                    spdm_ctrl: SpdmCtrl::read(&mut r)?,
                    dev_ctx: SlaAddr::from_raw(r.u64()?),
                    tdi_ctx: SlaAddr::from_raw(r.u64()?),
                    gctx_paddr: r.u64()?,
                }
            }
            cmd::TIO_GUEST_REQUEST => {
                r.skip(4)?;
                Command::GuestRequest {
                    spdm_ctrl: SpdmCtrl::read(&mut r)?,
                    dev_ctx: SlaAddr::from_raw(r.u64()?),
                    tdi_ctx: SlaAddr::from_raw(r.u64()?),
                    gctx_paddr: r.u64()?,
                    req_paddr: r.u64()?,
                    res_paddr: r.u64()?,
                }
            }
            _ => return Err(Error::InvalidField("command")),
        };
        if length != command.len() || r.consumed() != length {
            return Err(Error::InvalidField("length"));
        }
        r.finish()?;
        Ok(command)
    }
}

/// The TIO_STATUS output (`struct sev_tio_status`, 7.3
/// `drivers/crypto/ccp/sev-dev-tio.h` lines 78-112): every field is a
/// `u32`; 7.3's structure is 64 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TioStatus {
    /// length: bytes the firmware wrote (64 in 7.3; newer firmware may
    /// write more, older at least up to `tdictx_size`).
    pub length: u32,
    /// Flags: bit 0 tio_en, bit 1 tio_init_done; bits 2..31 must be zero.
    pub flags: u32,
    /// Minimum SPDM request buffer size.
    pub spdm_req_size_min: u32,
    /// Maximum SPDM request buffer size.
    pub spdm_req_size_max: u32,
    /// Minimum scratch buffer size.
    pub spdm_scratch_size_min: u32,
    /// Maximum scratch buffer size.
    pub spdm_scratch_size_max: u32,
    /// Minimum output buffer size.
    pub spdm_out_size_min: u32,
    /// Maximum output buffer size.
    pub spdm_out_size_max: u32,
    /// Minimum response buffer size.
    pub spdm_rsp_size_min: u32,
    /// Maximum response buffer size.
    pub spdm_rsp_size_max: u32,
    /// Device context size.
    pub devctx_size: u32,
    /// TDI context size.
    pub tdictx_size: u32,
    /// Supported crypto algorithms; 0 when `length` stops before it.
    pub tio_crypto_alg: u32,
}

/// Size of 7.3's `struct sev_tio_status`.
pub const TIO_STATUS_LEN: usize = 64;
/// `offsetofend(struct sev_tio_status, tdictx_size)`: the shortest length
/// 7.3 accepts (`sev_tio_init_locked()`, sev-dev-tio.c lines 718-720).
pub const TIO_STATUS_MIN_LEN: usize = 48;
/// Offset of `tio_crypto_alg`.
const TIO_CRYPTO_ALG_END: usize = 52;

/// TIO_STATUS flag bit 0: SNP_INIT_EX enabled SEV-TIO.
pub const TIO_STATUS_TIO_EN: u32 = 1 << 0;
/// TIO_STATUS flag bit 1: TIO_INIT was done.
pub const TIO_STATUS_INIT_DONE: u32 = 1 << 1;

impl TioStatus {
    /// Decodes the status page as 7.3 does: `length` must reach
    /// `tdictx_size` (48) and the reserved flag bits must be zero. A
    /// longer length (newer firmware) is accepted and the fields past
    /// `tio_crypto_alg` are ignored; `buf` must hold the fields up to
    /// `tdictx_size`, and `tio_crypto_alg` too if `length` covers it.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let length = r.u32()?;
        if (length as usize) < TIO_STATUS_MIN_LEN {
            return Err(Error::InvalidField("length"));
        }
        let flags = r.u32()?;
        if flags & !(TIO_STATUS_TIO_EN | TIO_STATUS_INIT_DONE) != 0 {
            return Err(Error::InvalidField("flags"));
        }
        let mut s = Self {
            length,
            flags,
            spdm_req_size_min: r.u32()?,
            spdm_req_size_max: r.u32()?,
            spdm_scratch_size_min: r.u32()?,
            spdm_scratch_size_max: r.u32()?,
            spdm_out_size_min: r.u32()?,
            spdm_out_size_max: r.u32()?,
            spdm_rsp_size_min: r.u32()?,
            spdm_rsp_size_max: r.u32()?,
            devctx_size: r.u32()?,
            tdictx_size: r.u32()?,
            tio_crypto_alg: 0,
        };
        if length as usize >= TIO_CRYPTO_ALG_END {
            s.tio_crypto_alg = r.u32()?;
        }
        Ok(s)
    }

    /// Encodes the 64-byte structure of 7.3 (firmware-model side); the
    /// length field is written as 64 whatever `self.length` holds.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u32(TIO_STATUS_LEN as u32)?;
        for v in [
            self.flags,
            self.spdm_req_size_min,
            self.spdm_req_size_max,
            self.spdm_scratch_size_min,
            self.spdm_scratch_size_max,
            self.spdm_out_size_min,
            self.spdm_out_size_max,
            self.spdm_rsp_size_min,
            self.spdm_rsp_size_max,
            self.devctx_size,
            self.tdictx_size,
            self.tio_crypto_alg,
        ] {
            w.u32(v)?;
        }
        w.zeros(TIO_STATUS_LEN - TIO_CRYPTO_ALG_END)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every TDI command: its length, the fields at the RFC host driver's offsets, and the
    /// round trip; a buffer of another command's length is refused.
    #[test]
    fn tdi_commands() {
        let ctrl = SpdmCtrl {
            req: sla(1),
            resp: sla(2),
            scratch: sla(3),
            output: sla(4),
        };
        let commands = [
            Command::TdiCreate {
                dev_ctx: sla(5),
                tdi_ctx: sla(6),
                interface_id: interface_id(0x0101, Some(2)),
            },
            Command::TdiReclaim {
                dev_ctx: sla(5),
                tdi_ctx: sla(6),
            },
            Command::TdiBind {
                spdm_ctrl: ctrl,
                dev_ctx: sla(5),
                tdi_ctx: sla(6),
                gctx_paddr: 0x7000,
                guest_device_id: 0x0008,
                lock_flags: 0x1d,
                run_flags: RUN_FORCE,
            },
            Command::TdiUnbind {
                flags: UNBIND_FORCE,
                spdm_ctrl: ctrl,
                dev_ctx: sla(5),
                tdi_ctx: sla(6),
                gctx_paddr: 0x7000,
            },
            Command::GuestRequest {
                spdm_ctrl: ctrl,
                dev_ctx: sla(5),
                tdi_ctx: sla(6),
                gctx_paddr: 0x7000,
                req_paddr: 0x8000,
                res_paddr: 0x9000,
            },
        ];
        let lengths = [48, 32, 80, 64, 80];
        for (c, len) in commands.iter().zip(lengths) {
            let mut out = [0u8; 80];
            let n = super::super::super::wire::encode_into(&mut out, |w| c.write(w)).unwrap();
            assert_eq!(n, len);
            assert_eq!(c.len(), len);
            assert_eq!(
                u32::from_le_bytes(out[..4].try_into().unwrap()) as usize,
                len
            );
            assert_eq!(Command::decode(c.id(), &out[..n]), Ok(*c));
            assert!(Command::decode(c.id(), &out[..n - 1]).is_err());
        }
        let mut out = [0u8; 80];
        super::super::super::wire::encode_into(&mut out, |w| commands[0].write(w)).unwrap();
        // dev_ctx at 8, tdi_ctx at 16, function_id at 24: RID, segment, segment valid.
        assert_eq!(out[8..16], (5u64 << 12).to_le_bytes());
        assert_eq!(out[16..24], (6u64 << 12).to_le_bytes());
        assert_eq!(out[24..28], [0x01, 0x01, 0x02, 0x01]);
        super::super::super::wire::encode_into(&mut out, |w| commands[2].write(w)).unwrap();
        // gctx at 56, guest_device_id at 64, lock flags at 66, run flags at 68.
        assert_eq!(out[56..64], 0x7000u64.to_le_bytes());
        assert_eq!(out[64..70], [0x08, 0x00, 0x1d, 0x00, 0x01, 0x00]);
        assert_eq!(interface_id(0x0101, None), 0x0101);
    }

    /// TIO_DEV_CREATE as 7.3 `sev_tio_dev_create` fills it: length 32,
    /// dev_ctx_sla at 8, device_id at 16, root_port_id at 18, segment at 20.
    #[test]
    fn golden_dev_create() {
        let c = Command::DevCreate {
            dev_ctx: SlaAddr {
                scatter_list: false,
                page_2m: false,
                pfn: 0x12345,
            },
            device_id: 0x0100,
            root_port_id: 3,
            segment: 0,
        };
        let mut out = [0u8; 32];
        super::super::super::wire::encode_into(&mut out, |w| c.write(w)).unwrap();
        let mut expected = [0u8; 32];
        expected[0] = 32;
        expected[8..16].copy_from_slice(&(0x12345u64 << 12).to_le_bytes());
        expected[16..20].copy_from_slice(&[0x00, 0x01, 0x03, 0x00]);
        assert_eq!(out, expected);
        assert_eq!(Command::decode(cmd::TIO_DEV_CREATE, &out), Ok(c));
        assert_eq!(
            Command::decode(cmd::TIO_DEV_CONNECT, &out),
            Err(Error::Truncated)
        );
    }

    fn encode(c: &Command) -> [u8; 80] {
        let mut out = [0u8; 80];
        let len = super::super::super::wire::encode_into(&mut out, |w| c.write(w)).unwrap();
        assert_eq!(len, c.len());
        out
    }

    fn sla(pfn: u64) -> SlaAddr {
        SlaAddr {
            scatter_list: false,
            page_2m: false,
            pfn,
        }
    }

    const CTRL: SpdmCtrl = SpdmCtrl {
        req: SlaAddr {
            scatter_list: false,
            page_2m: false,
            pfn: 0x101,
        },
        resp: SlaAddr {
            scatter_list: false,
            page_2m: false,
            pfn: 0x102,
        },
        scratch: SlaAddr {
            scatter_list: true,
            page_2m: false,
            pfn: 0x103,
        },
        output: SlaAddr {
            scatter_list: false,
            page_2m: false,
            pfn: 0x104,
        },
    };

    /// `struct spdm_ctrl` (sev-dev-tio.c lines 105-111): req, resp,
    /// scratch, output SLAs, 8 bytes each.
    fn ctrl_bytes() -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0..8].copy_from_slice(&(0x101u64 << 12).to_le_bytes());
        b[8..16].copy_from_slice(&(0x102u64 << 12).to_le_bytes());
        b[16..24].copy_from_slice(&((0x103u64 << 12) | 1).to_le_bytes());
        b[24..32].copy_from_slice(&(0x104u64 << 12).to_le_bytes());
        b
    }

    /// TIO_DEV_MEASUREMENTS as 7.3's `struct sev_data_tio_dev_meas`
    /// (drivers/crypto/ccp/sev-dev-tio.c lines 259-276) lays it out:
    /// length u32 at 0, flags u32 at 4 (bit 0 RAW_BITSTREAM), spdm_ctrl at
    /// 8, dev_ctx_sla at 40, meas_nonce[32] at 48; 80 bytes, packed.
    #[test]
    fn golden_dev_measurements() {
        let c = Command::DevMeasurements {
            flags: MEASUREMENTS_RAW_BITSTREAM,
            spdm_ctrl: CTRL,
            dev_ctx: sla(0x2_0000),
            meas_nonce: [0x5A; 32],
        };
        let mut expected = [0u8; 80];
        expected[0] = 80;
        expected[4] = 1;
        expected[8..40].copy_from_slice(&ctrl_bytes());
        expected[40..48].copy_from_slice(&(0x2_0000u64 << 12).to_le_bytes());
        expected[48..80].copy_from_slice(&[0x5A; 32]);
        assert_eq!(c.len(), 80);
        assert_eq!(c.id(), 0xD7);
        assert_eq!(encode(&c), expected);
        assert_eq!(Command::decode(cmd::TIO_DEV_MEASUREMENTS, &expected), Ok(c));
        // The length field must be the structure size.
        let mut short = expected;
        short[0] = 48;
        assert_eq!(
            Command::decode(cmd::TIO_DEV_MEASUREMENTS, &short),
            Err(Error::InvalidField("length"))
        );
    }

    /// TIO_DEV_CERTIFICATES as 7.3's `struct sev_data_tio_dev_certs`
    /// (sev-dev-tio.c lines 278-290): length u32 at 0, reserved[4] at 4,
    /// spdm_ctrl at 8, dev_ctx_sla at 40; 48 bytes, packed.
    #[test]
    fn golden_dev_certificates() {
        let c = Command::DevCertificates {
            spdm_ctrl: CTRL,
            dev_ctx: sla(0x2_0000),
        };
        let mut expected = [0u8; 48];
        expected[0] = 48;
        expected[8..40].copy_from_slice(&ctrl_bytes());
        expected[40..48].copy_from_slice(&(0x2_0000u64 << 12).to_le_bytes());
        assert_eq!(c.len(), 48);
        assert_eq!(c.id(), 0xD8);
        assert_eq!(&encode(&c)[..48], &expected);
        assert_eq!(Command::decode(cmd::TIO_DEV_CERTIFICATES, &expected), Ok(c));
        // Same size as TIO_DEV_DISCONNECT, whose word at 4 is flags.
        assert!(matches!(
            Command::decode(cmd::TIO_DEV_DISCONNECT, &expected),
            Ok(Command::DevDisconnect { flags: 0, .. })
        ));
    }

    /// `struct sev_tio_status` of 7.3 (drivers/crypto/ccp/sev-dev-tio.h
    /// lines 95-112): thirteen u32 (length, the flags word, the eight
    /// spdm_*_size_{min,max}, devctx_size, tdictx_size, tio_crypto_alg)
    /// and reserved2[12]: 64 bytes.
    fn status_page(length: u32, len: usize) -> [u8; 96] {
        let mut b = [0u8; 96];
        let words: [u32; 13] = [
            length, 0x3, 0x1000, 0x2_0000, 0x1000, 0x4_0000, 0x1000, 0x10_0000, 0x1000, 0x2_0000,
            0x3_0000, 0x1_2000, 0x7,
        ];
        for (i, w) in words.iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        for x in b.iter_mut().skip(len) {
            *x = 0;
        }
        b
    }

    #[test]
    fn golden_tio_status() {
        let page = status_page(64, 64);
        let s = TioStatus::decode(&page[..64]).unwrap();
        assert_eq!(
            s,
            TioStatus {
                length: 64,
                flags: TIO_STATUS_TIO_EN | TIO_STATUS_INIT_DONE,
                spdm_req_size_min: 0x1000,
                spdm_req_size_max: 0x2_0000,
                spdm_scratch_size_min: 0x1000,
                spdm_scratch_size_max: 0x4_0000,
                spdm_out_size_min: 0x1000,
                spdm_out_size_max: 0x10_0000,
                spdm_rsp_size_min: 0x1000,
                spdm_rsp_size_max: 0x2_0000,
                devctx_size: 0x3_0000,
                tdictx_size: 0x1_2000,
                tio_crypto_alg: 7,
            }
        );
        let mut out = [0u8; 64];
        super::super::super::wire::encode_into(&mut out, |w| s.write(w)).unwrap();
        assert_eq!(out, page[..64]);

        // Newer firmware writing a longer structure: accepted, the extra
        // bytes ignored (7.3 only checks that length reaches tdictx_size).
        let longer = status_page(96, 96);
        assert_eq!(
            TioStatus::decode(&longer).map(|s| s.tdictx_size),
            Ok(0x1_2000)
        );
        // A buffer of 64 bytes from a page whose length says 96 still decodes.
        assert_eq!(TioStatus::decode(&longer[..64]).map(|s| s.length), Ok(96));
        // The shortest length 7.3 accepts: offsetofend(tdictx_size) = 48.
        let shortest = status_page(48, 48);
        let s = TioStatus::decode(&shortest[..48]).unwrap();
        assert_eq!((s.tdictx_size, s.tio_crypto_alg), (0x1_2000, 0));
        assert_eq!(
            TioStatus::decode(&status_page(44, 48)[..48]),
            Err(Error::InvalidField("length"))
        );
        assert_eq!(TioStatus::decode(&shortest[..44]), Err(Error::Truncated));
        // Reserved flag bits (2..31) must be zero, as 7.3 checks.
        let mut reserved = page;
        reserved[4] = 0x4;
        assert_eq!(
            TioStatus::decode(&reserved[..64]),
            Err(Error::InvalidField("flags"))
        );
    }

    /// `struct sla_buffer_hdr` (sev-dev-tio.c lines 64-81) as the host
    /// leaves the response buffer: `sla_alloc()` writes capacity_sz (one
    /// 4 KiB page), `dobj_response_init()` (lines 376-385) writes
    /// payload_sz = 16, the size of the empty response object, and
    /// `sev_tio_continue()` (lines 607-618) later writes
    /// ALIGN(16 + response length, 32).
    #[test]
    fn golden_sla_buffer_header() {
        let mut b = [0u8; 0x40];
        b[0..4].copy_from_slice(&0x1000u32.to_le_bytes());
        b[4..8].copy_from_slice(&16u32.to_le_bytes());
        b[16..32].copy_from_slice(&[0x11; 16]);
        b[32..48].copy_from_slice(&[0x22; 16]);
        let h = SlaBufferHeader::read(&mut Reader::new(&b)).unwrap();
        assert_eq!(
            h,
            SlaBufferHeader {
                capacity: 0x1000,
                payload: 16,
                flags: 0,
                iv: [0x11; 16],
                authtag: [0x22; 16],
            }
        );
        let mut out = [0u8; 0x40];
        super::super::super::wire::encode_into(&mut out, |w| h.write(w)).unwrap();
        assert_eq!(out, b);
        // After a relayed 37-byte response: ALIGN(16 + 37, 32) = 64.
        b[4..8].copy_from_slice(&64u32.to_le_bytes());
        assert_eq!(
            SlaBufferHeader::read(&mut Reader::new(&b)).map(|h| h.payload),
            Ok(64)
        );
        for bad in [48u32, 8, 0x1020] {
            b[4..8].copy_from_slice(&bad.to_le_bytes());
            assert_eq!(
                SlaBufferHeader::read(&mut Reader::new(&b)),
                Err(Error::InvalidField("payload_sz")),
                "{bad}"
            );
        }
    }

    /// A data object in an SLA buffer, as the relay loop writes the response: buffer header
    /// (capacity, payload_sz = ALIGN(object length, 32)), object header at 0x40 (id, length
    /// with the 16-byte header, version, data type), payload at 0x50.
    #[test]
    fn object_in_buffer() {
        let mut buf = [0xEEu8; 0x100];
        let payload = [0xABu8; 37];
        let length = write_object(&mut buf, DOBJ_ID_RESP, DOBJ_DATA_TYPE_SECURE_SPDM, &payload);
        assert_eq!(length, Ok(16 + 37));
        assert_eq!(&buf[0..4], &0x100u32.to_le_bytes());
        assert_eq!(&buf[4..8], &64u32.to_le_bytes());
        assert_eq!(&buf[0x40..0x44], &DOBJ_ID_RESP.to_le_bytes());
        assert_eq!(&buf[0x44..0x48], &53u32.to_le_bytes());
        assert_eq!(&buf[0x48..0x4b], &[0, 1, DOBJ_DATA_TYPE_SECURE_SPDM]);
        let (h, o, p) = read_object(&buf).unwrap();
        assert_eq!((h.payload, o.id, o.doe_type()), (64, DOBJ_ID_RESP, Ok(2)));
        assert_eq!(p, &payload);
        // Too big for the buffer.
        assert_eq!(
            write_object(&mut buf[..0x60], DOBJ_ID_REQ, DOBJ_DATA_TYPE_SPDM, &payload),
            Err(Error::Truncated)
        );
        // An object longer than payload_sz.
        buf[4..8].copy_from_slice(&32u32.to_le_bytes());
        assert!(read_object(&buf).is_err());
    }

    #[test]
    fn status_codes_round_trip() {
        for raw in 0..0x50 {
            assert_eq!(Status::from_raw(raw).raw(), raw);
        }
        assert_eq!(Status::from_raw(0x32), Status::SpdmRequest);
        assert_eq!(SlaAddr::EOL.raw(), Ok(0x000F_FFFF_FFFF_F000));
    }
}
