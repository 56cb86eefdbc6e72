// SPDX-License-Identifier: GPL-2.0
//! RISC-V CoVE-IO (AP-TEE-IO) SBI calls.
//!
//! Source: "Confidential VM Extension I/O (CoVE-IO) for Confidential
//! Computing on RISC-V platforms", riscv-non-isa/riscv-ap-tee-io, revision
//! 0.3.0 (development state; repository head a361d4a, March 2026):
//! `src/09-coveio_abi.adoc` (function IDs, arguments, IDE stream descriptor,
//! connection transcript header) and `src/07-theory_operations.adoc` (the
//! pending SPDM transaction buffer and `SPDM_PENDING_REQUEST`).
//!
//! **Not confirmed** (the draft is silent; this project's conventions):
//! how a pending SPDM request signals DOE type 1 versus 2
//! ([`PendingRequest::doe_type`]), the encoding of `device_id`
//! ([`device_id`]), the value of `COVEIOVersion` ([`COVE_IO_VERSION`]) and
//! the content of the connection transcript ([`TranscriptElement`]).

use super::super::wire::{Error, Reader, Result, Writer};

/// Host-side CoVE extension (COVH).
pub const EID_COVH: u32 = 0x434F_5648;
/// Guest-side CoVE extension (COVG).
pub const EID_COVG: u32 = 0x434F_5647;
/// Root-of-trust interface extension (COVT).
pub const EID_COVT: u32 = 0x434F_5654;

/// COVH function IDs.
pub mod covh {
    /// connect_device(device_id, ide_stream_desc_addr, connection_data_out_addr, size).
    pub const CONNECT_DEVICE: u32 = 1024;
    /// disconnect_device(device_id).
    pub const DISCONNECT_DEVICE: u32 = 1025;
    /// add_tvm_interface_region(tvm_id, device_if_id, base, len).
    pub const ADD_TVM_INTERFACE_REGION: u32 = 1026;
    /// reclaim_tvm_interface_region(tvm_id, device_if_id, base, len).
    pub const RECLAIM_TVM_INTERFACE_REGION: u32 = 1027;
    /// bind_interface(tvm_id, device_if_id).
    pub const BIND_INTERFACE: u32 = 1028;
    /// unbind_interface(tvm_id, device_if_id).
    pub const UNBIND_INTERFACE: u32 = 1030;
    /// spdm_key_update(device_id).
    pub const SPDM_KEY_UPDATE: u32 = 1031;
    /// ide_key_refresh(device_id, stream_id).
    pub const IDE_KEY_REFRESH: u32 = 1032;
    /// spdm_heartbeat(device_id).
    pub const SPDM_HEARTBEAT: u32 = 1033;
    /// get_device_connection_transcript(device_id, out_addr, size).
    pub const GET_CONNECTION_TRANSCRIPT: u32 = 1034;
}

/// COVG function IDs.
pub mod covg {
    /// get_device_link(if).
    pub const GET_DEVICE_LINK: u32 = 1024;
    /// get_device_connection_transcript(if, element, param, out, size).
    pub const GET_CONNECTION_TRANSCRIPT: u32 = 1025;
    /// get_device_measurements(if, nonce_addr, attr, out, size).
    pub const GET_DEVICE_MEASUREMENTS: u32 = 1026;
    /// get_interface_report(if, ...).
    pub const GET_INTERFACE_REPORT: u32 = 1027;
    /// get_interface_state(if).
    pub const GET_INTERFACE_STATE: u32 = 1028;
    /// map_interface_mmio(if, gpa, hpa, size).
    pub const MAP_INTERFACE_MMIO: u32 = 1029;
    /// start_interface(if).
    pub const START_INTERFACE: u32 = 1030;
    /// stop_interface(if).
    pub const STOP_INTERFACE: u32 = 1031;
}

/// SBI error values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbiError {
    /// 0 SUCCESS.
    Success,
    /// -1 FAILED.
    Failed,
    /// -2 NOT_SUPPORTED.
    NotSupported,
    /// -3 INVALID_PARAM.
    InvalidParam,
    /// -4 DENIED.
    Denied,
    /// -5 INVALID_ADDRESS.
    InvalidAddress,
    /// -6 ALREADY_AVAILABLE.
    AlreadyAvailable,
    /// -7 ALREADY_STARTED.
    AlreadyStarted,
    /// -8 ALREADY_STOPPED.
    AlreadyStopped,
    /// -9 NO_SHMEM.
    NoShmem,
    /// -10 INVALID_STATE.
    InvalidState,
    /// -11 BAD_RANGE.
    BadRange,
    /// -12 TIMEOUT.
    Timeout,
    /// -13 IO.
    Io,
    /// Any other value.
    Other(i64),
}

const SBI_ERRORS: [SbiError; 14] = [
    SbiError::Success,
    SbiError::Failed,
    SbiError::NotSupported,
    SbiError::InvalidParam,
    SbiError::Denied,
    SbiError::InvalidAddress,
    SbiError::AlreadyAvailable,
    SbiError::AlreadyStarted,
    SbiError::AlreadyStopped,
    SbiError::NoShmem,
    SbiError::InvalidState,
    SbiError::BadRange,
    SbiError::Timeout,
    SbiError::Io,
];

impl SbiError {
    /// Decodes the `error` half of an SBI return.
    pub fn from_raw(raw: i64) -> Self {
        raw.checked_neg()
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|i| SBI_ERRORS.get(i).copied())
            .unwrap_or(SbiError::Other(raw))
    }

    /// Encodes the value.
    pub fn raw(self) -> i64 {
        match self {
            SbiError::Other(raw) => raw,
            known => SBI_ERRORS
                .iter()
                .position(|e| *e == known)
                .map_or(i64::MIN, |i| -(i as i64)),
        }
    }
}

/// COVH `value` when the call needs the host to relay an SPDM request.
pub const SPDM_PENDING_REQUEST: u64 = 1;
/// COVH `value` when the SPDM exchange completed.
pub const SPDM_REQUEST_COMPLETED: u64 = 0;

/// One SBI call: extension, function and up to six arguments (a0..a5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SbiCall {
    /// Extension ID (a7).
    pub eid: u32,
    /// Function ID (a6).
    pub fid: u32,
    /// Arguments a0..a5.
    pub args: [u64; 6],
}

impl SbiCall {
    /// COVH connect_device.
    pub fn connect_device(
        device_id: u64,
        ide_stream_desc: u64,
        connection_data_out: u64,
        size: u64,
    ) -> Self {
        Self {
            eid: EID_COVH,
            fid: covh::CONNECT_DEVICE,
            args: [device_id, ide_stream_desc, connection_data_out, size, 0, 0],
        }
    }

    /// COVH disconnect_device.
    pub fn disconnect_device(device_id: u64) -> Self {
        Self {
            eid: EID_COVH,
            fid: covh::DISCONNECT_DEVICE,
            args: [device_id, 0, 0, 0, 0, 0],
        }
    }

    /// COVH add_tvm_interface_region (`add`) or reclaim_tvm_interface_region.
    /// `device_if_id` names the interface as [`device_id`] names a device
    /// (project convention); `base` and `len` are 4 KiB aligned.
    pub fn interface_region(
        add: bool,
        tvm_id: u64,
        device_if_id: u64,
        base: u64,
        len: u64,
    ) -> Self {
        Self {
            eid: EID_COVH,
            fid: if add {
                covh::ADD_TVM_INTERFACE_REGION
            } else {
                covh::RECLAIM_TVM_INTERFACE_REGION
            },
            args: [tvm_id, device_if_id, base, len, 0, 0],
        }
    }

    /// COVH bind_interface.
    pub fn bind_interface(tvm_id: u64, device_if_id: u64) -> Self {
        Self {
            eid: EID_COVH,
            fid: covh::BIND_INTERFACE,
            args: [tvm_id, device_if_id, 0, 0, 0, 0],
        }
    }

    /// COVH unbind_interface.
    pub fn unbind_interface(tvm_id: u64, device_if_id: u64) -> Self {
        Self {
            eid: EID_COVH,
            fid: covh::UNBIND_INTERFACE,
            args: [tvm_id, device_if_id, 0, 0, 0, 0],
        }
    }
}

impl SbiCall {
    /// COVH get_device_connection_transcript.
    pub fn get_connection_transcript(device_id: u64, out: u64, size: u64) -> Self {
        Self {
            eid: EID_COVH,
            fid: covh::GET_CONNECTION_TRANSCRIPT,
            args: [device_id, out, size, 0, 0, 0],
        }
    }

    /// A COVH function that takes only `device_id` (spdm_key_update,
    /// spdm_heartbeat).
    pub fn device_only(fid: u32, device_id: u64) -> Self {
        Self {
            eid: EID_COVH,
            fid,
            args: [device_id, 0, 0, 0, 0, 0],
        }
    }
}

/// The `device_id` of a PCIe function: its PCI segment (domain) in bits
/// 31:16 and its Requester ID (bus, device, function) in bits 15:0.
/// Project convention: the draft calls it "the PCIe device ID" and gives the
/// pending-request buffer 4 bytes for it. Linux numbers domains that are no
/// PCI segment (VMD, emulated) from 0x10000: their low 16 bits are used.
pub fn device_id(domain: u32, rid: u16) -> u32 {
    ((domain & 0xffff) << 16) | u32::from(rid)
}

/// `COVEIOVersion` of a connection transcript: 0.3 as major and minor nibbles
/// (project convention for revision 0.3.0).
pub const COVE_IO_VERSION: u8 = 0x03;

/// Bytes of the connection transcript header (COVEIOVersion,
/// ConnectionTranscriptLength).
pub const TRANSCRIPT_HEADER_LEN: usize = 5;

/// The device connection transcript connect_device and
/// get_device_connection_transcript write: COVEIOVersion (1),
/// ConnectionTranscriptLength (4), ConnectionTranscript.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transcript<'a> {
    /// COVEIOVersion.
    pub version: u8,
    /// ConnectionTranscript.
    pub data: &'a [u8],
}

impl<'a> Transcript<'a> {
    /// Decodes a transcript at the start of an output buffer (bytes after it
    /// are ignored: the buffer is larger).
    pub fn decode(buf: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let version = r.u8()?;
        let len = r.u32()? as usize;
        Ok(Self {
            version,
            data: r.bytes(len)?,
        })
    }

    /// Encodes the header and the transcript.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.version)?;
        w.u32(
            u32::try_from(self.data.len())
                .map_err(|_| Error::InvalidField("ConnectionTranscriptLength"))?,
        )?;
        w.bytes(self.data)
    }

    /// The first element of kind `id` in the transcript (see
    /// [`TranscriptElement`]), if any.
    pub fn element(&self, id: u8) -> Result<Option<TranscriptElement<'a>>> {
        let mut r = Reader::new(self.data);
        while r.remaining() > 0 {
            let e = TranscriptElement::read(&mut r)?;
            if e.id == id {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }
}

/// Transcript element IDs (the draft's COVG `sbi_covg_transcript_element`).
pub mod element {
    /// The reconstructed certificate chain of a slot (SPDM chain format).
    pub const DEVICE_CERTIFICATE: u8 = 1;
    /// GET_MEASUREMENTS/MEASUREMENTS pairs, the last one signed.
    pub const DEVICE_MEASUREMENT: u8 = 2;
    /// GET_VERSION .. ALGORITHMS.
    pub const VCA: u8 = 3;
}

/// One element of a ConnectionTranscript: ID (1), parameter (1, the
/// certificate slot), reserved (2), length (4), bytes. Project convention:
/// the draft names the elements (COVG get_device_connection_transcript) but
/// not how the full transcript holds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TranscriptElement<'a> {
    /// Element ID ([`element`]).
    pub id: u8,
    /// Its parameter (certificate slot, else 0).
    pub param: u8,
    /// Its bytes.
    pub data: &'a [u8],
}

impl<'a> TranscriptElement<'a> {
    /// Bytes of an element's header.
    pub const HEADER_LEN: usize = 8;

    /// Reads one element.
    pub fn read(r: &mut Reader<'a>) -> Result<Self> {
        let id = r.u8()?;
        let param = r.u8()?;
        if r.u16()? != 0 {
            return Err(Error::InvalidField("Reserved"));
        }
        let len = r.u32()? as usize;
        Ok(Self {
            id,
            param,
            data: r.bytes(len)?,
        })
    }

    /// Encodes the element.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.id)?;
        w.u8(self.param)?;
        w.zeros(2)?;
        w.u32(u32::try_from(self.data.len()).map_err(|_| Error::InvalidField("length"))?)?;
        w.bytes(self.data)
    }
}

/// Bytes of the pending-request buffer's header (FUNCTION_ID, DEVICE_ID,
/// SPDM_PAYLOAD_LENGTH).
pub const PENDING_HEADER_LEN: usize = 12;

/// `ide_stream_desc`: Stream_ID, Num_Addr_Assoc, reserved(2), RID_Assoc_1,
/// RID_Assoc_2, then 3 dwords per address association block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdeStreamDesc<'a> {
    /// Stream ID.
    pub stream_id: u8,
    /// RID association register 1.
    pub rid_assoc_1: u32,
    /// RID association register 2.
    pub rid_assoc_2: u32,
    /// Address association blocks, 12 bytes each.
    pub addr_assoc: &'a [u8],
}

impl<'a> IdeStreamDesc<'a> {
    /// Decodes a descriptor.
    pub fn decode(buf: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let stream_id = r.u8()?;
        let count = usize::from(r.u8()?);
        if r.u16()? != 0 {
            return Err(Error::InvalidField("Reserved"));
        }
        let d = Self {
            stream_id,
            rid_assoc_1: r.u32()?,
            rid_assoc_2: r.u32()?,
            addr_assoc: r.bytes(count * 12)?,
        };
        r.finish()?;
        Ok(d)
    }

    /// Encodes a descriptor.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        if self.addr_assoc.len() % 12 != 0 {
            return Err(Error::InvalidField("Num_Addr_Assoc"));
        }
        w.u8(self.stream_id)?;
        w.u8(u8::try_from(self.addr_assoc.len() / 12)
            .map_err(|_| Error::InvalidField("Num_Addr_Assoc"))?)?;
        w.zeros(2)?;
        w.u32(self.rid_assoc_1)?;
        w.u32(self.rid_assoc_2)?;
        w.bytes(self.addr_assoc)
    }
}

/// The per-device relay buffer in NACL shared memory:
/// FUNCTION_ID(4), DEVICE_ID(4), SPDM_PAYLOAD_LENGTH(4), payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingRequest<'a> {
    /// The COVH function that is waiting.
    pub function_id: u32,
    /// The device.
    pub device_id: u32,
    /// The SPDM payload to relay (or the response written back).
    pub payload: &'a [u8],
}

impl<'a> PendingRequest<'a> {
    /// Decodes the buffer; bytes after the payload are ignored (the buffer
    /// is a fixed shared-memory area).
    pub fn decode(buf: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let function_id = r.u32()?;
        let device_id = r.u32()?;
        let len = r.u32()? as usize;
        Ok(Self {
            function_id,
            device_id,
            payload: r.bytes(len)?,
        })
    }

    /// Encodes the buffer.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u32(self.function_id)?;
        w.u32(self.device_id)?;
        w.u32(
            u32::try_from(self.payload.len())
                .map_err(|_| Error::InvalidField("SPDM_PAYLOAD_LENGTH"))?,
        )?;
        w.bytes(self.payload)
    }

    /// DOE type of the payload. Project convention (not in the draft): a
    /// payload starting with an SPDM version byte (0x1X) is plain CMA,
    /// anything else is a secured record (it starts with a session id).
    pub fn doe_type(&self) -> u8 {
        match self.payload.first() {
            Some(b) if b >> 4 == 1 => super::super::doe::TYPE_CMA,
            _ => super::super::doe::TYPE_SECURED_CMA,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbi_errors_round_trip_and_buffers_decode() {
        for raw in -20..=2 {
            assert_eq!(SbiError::from_raw(raw).raw(), raw);
        }
        assert_eq!(SbiError::from_raw(-10), SbiError::InvalidState);
        assert_eq!(SbiError::from_raw(i64::MIN), SbiError::Other(i64::MIN));
        let buf = [
            0x00, 0x04, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0, 0x12, 0x84, 0, 0, 0xEE,
        ];
        let p = PendingRequest::decode(&buf).unwrap();
        assert_eq!(
            (p.function_id, p.device_id, p.payload),
            (covh::CONNECT_DEVICE, 7, &buf[12..16])
        );
        assert_eq!(p.doe_type(), super::super::super::doe::TYPE_CMA);
        assert_eq!(PendingRequest::decode(&buf[..15]), Err(Error::Truncated));
    }

    #[test]
    fn transcript_round_trip_and_elements() {
        let mut data = [0u8; 64];
        let n = crate::wire::encode_into(&mut data, |w| {
            TranscriptElement {
                id: element::VCA,
                param: 0,
                data: &[1, 2, 3],
            }
            .write(w)?;
            TranscriptElement {
                id: element::DEVICE_CERTIFICATE,
                param: 0,
                data: &[9],
            }
            .write(w)
        })
        .unwrap();
        let t = Transcript {
            version: COVE_IO_VERSION,
            data: &data[..n],
        };
        let mut out = [0xAAu8; 96];
        let len = crate::wire::encode_into(&mut out, |w| t.write(w)).unwrap();
        assert_eq!(len, TRANSCRIPT_HEADER_LEN + n);
        assert_eq!(&out[..5], &[COVE_IO_VERSION, n as u8, 0, 0, 0]);
        let back = Transcript::decode(&out).unwrap();
        assert_eq!(back, t);
        let cert = back.element(element::DEVICE_CERTIFICATE).unwrap().unwrap();
        assert_eq!(cert.data, &[9]);
        assert_eq!(
            back.element(element::VCA).unwrap().unwrap().data,
            &[1, 2, 3]
        );
        assert_eq!(back.element(element::DEVICE_MEASUREMENT).unwrap(), None);
        // A reserved field that is not zero, and an element cut short.
        let mut bad = data;
        bad[2] = 1;
        let t = Transcript {
            version: 3,
            data: &bad[..n],
        };
        assert_eq!(
            t.element(element::VCA),
            Err(Error::InvalidField("Reserved"))
        );
        let t = Transcript {
            version: 3,
            data: &data[..n - 1],
        };
        assert_eq!(
            t.element(element::DEVICE_CERTIFICATE),
            Err(Error::Truncated)
        );
        assert_eq!(Transcript::decode(&out[..len - 1]), Err(Error::Truncated));
        let mut desc = [0u8; 24];
        let d = IdeStreamDesc {
            stream_id: 3,
            rid_assoc_1: 0x0001_0700,
            rid_assoc_2: 0x0001_0001,
            addr_assoc: &[0xAB; 12],
        };
        let n = crate::wire::encode_into(&mut desc, |w| d.write(w)).unwrap();
        assert_eq!((n, desc[1]), (24, 1));
        assert_eq!(IdeStreamDesc::decode(&desc), Ok(d));
        desc[3] = 1;
        assert_eq!(
            IdeStreamDesc::decode(&desc),
            Err(Error::InvalidField("Reserved"))
        );
        assert_eq!(device_id(0x2710, 0x0100), 0x2710_0100);
        assert_eq!(device_id(0x1_0000, 0x0100), 0x0000_0100);
        let add = SbiCall::interface_region(true, 5, 0x101, 0x8000_0000, 0x2000);
        let reclaim = SbiCall::interface_region(false, 5, 0x101, 0x8000_0000, 0x2000);
        assert_eq!((add.fid, reclaim.fid), (1026, 1027));
        assert_eq!(add.args, [5, 0x101, 0x8000_0000, 0x2000, 0, 0]);
        assert_eq!(SbiCall::bind_interface(5, 0x101).args[..2], [5, 0x101]);
        assert_eq!(SbiCall::unbind_interface(5, 0x101).fid, 1030);
        let c = SbiCall::get_connection_transcript(7, 0x1000, 0x2000);
        assert_eq!(
            (c.fid, c.args[..3].to_vec()),
            (1034, [7, 0x1000, 0x2000].to_vec())
        );
    }
}
