// SPDX-License-Identifier: GPL-2.0
//! Intel TDX Connect SEAMCALL leaves of the TDX Module Extension.
//!
//! **Not confirmed**: leaf numbers, register assignments and status codes
//! come from the unmerged "PCI/TSM: TDX Connect: SPDM Session and IDE
//! Establishment" series (Xu Yilun, v1, 2025-11-17) citing Intel's TDX
//! Connect ABI specification (doc 858625); check them against that document.

use super::super::wire::{Error, Result};

/// SEAMCALL leaf numbers.
pub mod leaf {
    /// TDH.EXT.MEM.ADD.
    pub const EXT_MEM_ADD: u64 = 61;
    /// TDH.IOMMU.SETUP.
    pub const IOMMU_SETUP: u64 = 128;
    /// TDH.IOMMU.CLEAR.
    pub const IOMMU_CLEAR: u64 = 129;
    /// TDH.SPDM.CREATE.
    pub const SPDM_CREATE: u64 = 130;
    /// TDH.SPDM.DELETE.
    pub const SPDM_DELETE: u64 = 131;
    /// TDH.IDE.STREAM.CREATE.
    pub const IDE_STREAM_CREATE: u64 = 132;
    /// TDH.IDE.STREAM.BLOCK.
    pub const IDE_STREAM_BLOCK: u64 = 133;
    /// TDH.IDE.STREAM.DELETE.
    pub const IDE_STREAM_DELETE: u64 = 134;
    /// TDH.IDE.STREAM.KM.
    pub const IDE_STREAM_KM: u64 = 135;
    /// TDH.SPDM.CONNECT.
    pub const SPDM_CONNECT: u64 = 142;
    /// TDH.SPDM.DISCONNECT.
    pub const SPDM_DISCONNECT: u64 = 143;
    /// TDH.SPDM.MNG.
    pub const SPDM_MNG: u64 = 144;
}

/// TDH.SPDM.MNG operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpdmMngOp {
    /// HEARTBEAT.
    Heartbeat = 0,
    /// KEY_UPDATE.
    KeyUpdate = 1,
    /// DEV_INFO_RECOLLECT.
    DevInfoRecollect = 2,
}

/// TDH.IDE.STREAM.KM operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKmOp {
    /// KEY_PROG all sub-streams at both ends, K_SET_GO, enable the RP.
    Setup = 0,
    /// Key refresh.
    Refresh = 1,
    /// K_SET_STOP.
    Stop = 2,
}

/// What a SEAMCALL completion status (RAX) asks the caller to do; the
/// low 32 bits carry details (an operand id) and are ignored here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    /// TDX_SUCCESS.
    Success,
    /// TDX_INTERRUPTED_RESUMABLE: reissue the same call.
    InterruptedResumable,
    /// TDX_SPDM_REQUEST: relay the DOE object in the request page, reissue.
    SpdmRequest,
    /// TDX_SPDM_SESSION_KEY_REQUIRE_REFRESH: KEY_UPDATE, then retry.
    SessionKeyRequireRefresh,
    /// TDX_OPERAND_BUSY: another extension call is in flight.
    OperandBusy,
    /// TDX_OPERAND_INVALID.
    OperandInvalid,
    /// Any other error.
    Other,
}

const CLASS_TABLE: [(u64, StatusClass); 5] = [
    (0x8000_0003_0000_0000, StatusClass::InterruptedResumable),
    (0xC000_0F57_0000_0000, StatusClass::SpdmRequest),
    (0xC000_0F45_0000_0000, StatusClass::SessionKeyRequireRefresh),
    (0x8000_0200_0000_0000, StatusClass::OperandBusy),
    (0xC000_0100_0000_0000, StatusClass::OperandInvalid),
];
const CLASS_MASK: u64 = 0xFFFF_FFFF_0000_0000;

/// A SEAMCALL completion status (RAX).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u64);

impl Status {
    /// The status of a class with the given detail bits.
    pub fn new(class: StatusClass, detail: u32) -> Self {
        let base = CLASS_TABLE
            .iter()
            .find(|(_, c)| *c == class)
            .map_or(0, |(v, _)| *v);
        Self(base | u64::from(detail))
    }

    /// What the status asks for.
    pub fn class(self) -> StatusClass {
        if self.0 == 0 {
            return StatusClass::Success;
        }
        CLASS_TABLE
            .iter()
            .find(|(v, _)| *v == self.0 & CLASS_MASK)
            .map_or(StatusClass::Other, |(_, c)| *c)
    }

    /// The detail bits (operand id for operand errors).
    pub fn detail(self) -> u32 {
        self.0 as u32
    }
}

/// HPA_ARRAY_T: bits 51:12 PFN of one page (count 1) or of a root page
/// listing `count` pages; bits 63:55 count - 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HpaArray {
    /// Page frame number.
    pub pfn: u64,
    /// Number of pages, 1..=512.
    pub count: u16,
}

const HPA_PFN_MASK: u64 = (1 << 40) - 1;

impl HpaArray {
    /// Encodes the value.
    pub fn raw(&self) -> Result<u64> {
        if self.pfn > HPA_PFN_MASK || !(1..=512).contains(&self.count) {
            return Err(Error::InvalidField("HPA_ARRAY_T"));
        }
        Ok((self.pfn << 12) | (u64::from(self.count - 1) << 55))
    }

    /// Decodes the value.
    pub fn from_raw(raw: u64) -> Self {
        Self {
            pfn: (raw >> 12) & HPA_PFN_MASK,
            count: ((raw >> 55) as u16) + 1,
        }
    }
}

/// Function ID: RID 15:0, segment 23:16, segment valid bit 24 (same as the
/// TDISP FunctionID).
pub fn func_id(rid: u16, segment: Option<u8>) -> u64 {
    u64::from(super::super::tdisp::InterfaceId::new(rid, segment).function_id)
}

/// Argument registers of one SEAMCALL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// Leaf (RAX on entry).
    pub leaf: u64,
    /// RCX.
    pub rcx: u64,
    /// RDX.
    pub rdx: u64,
    /// R8.
    pub r8: u64,
    /// R9.
    pub r9: u64,
    /// R10.
    pub r10: u64,
    /// R11.
    pub r11: u64,
}

/// Marker for "no page" arguments.
pub const NO_PAGE: u64 = u64::MAX;

impl Args {
    /// TDH.SPDM.CREATE(func_id, spdm_mt pages).
    pub fn spdm_create(func_id: u64, spdm_mt: HpaArray) -> Result<Self> {
        Ok(Self {
            leaf: leaf::SPDM_CREATE,
            rcx: func_id,
            rdx: spdm_mt.raw()?,
            ..Self::default()
        })
    }

    /// TDH.SPDM.CONNECT(spdm_id, config page, response page, request page, dev_info pages).
    pub fn spdm_connect(
        spdm_id: u64,
        conf_pa: u64,
        rsp_pa: u64,
        req_pa: u64,
        dev_info: HpaArray,
    ) -> Result<Self> {
        Ok(Self {
            leaf: leaf::SPDM_CONNECT,
            rcx: spdm_id,
            rdx: conf_pa,
            r8: rsp_pa,
            r9: req_pa,
            r10: dev_info.raw()?,
            ..Self::default()
        })
    }

    /// TDH.SPDM.DISCONNECT(spdm_id, response page, request page).
    pub fn spdm_disconnect(spdm_id: u64, rsp_pa: u64, req_pa: u64) -> Self {
        Self {
            leaf: leaf::SPDM_DISCONNECT,
            rcx: spdm_id,
            rdx: rsp_pa,
            r8: req_pa,
            ..Self::default()
        }
    }

    /// TDH.SPDM.MNG(spdm_id, op, param page or [`NO_PAGE`], rsp, req, out or [`NO_PAGE`]).
    pub fn spdm_mng(
        spdm_id: u64,
        op: SpdmMngOp,
        param_pa: u64,
        rsp_pa: u64,
        req_pa: u64,
        out_pa: u64,
    ) -> Self {
        Self {
            leaf: leaf::SPDM_MNG,
            rcx: spdm_id,
            rdx: op as u64,
            r8: param_pa,
            r9: rsp_pa,
            r10: req_pa,
            r11: out_pa,
        }
    }

    /// TDH.IDE.STREAM.KM(spdm_id, stream_id, op, rsp, req).
    pub fn ide_stream_km(
        spdm_id: u64,
        stream_id: u64,
        op: StreamKmOp,
        rsp_pa: u64,
        req_pa: u64,
    ) -> Self {
        Self {
            leaf: leaf::IDE_STREAM_KM,
            rcx: spdm_id,
            rdx: stream_id,
            r8: op as u64,
            r9: rsp_pa,
            r10: req_pa,
            ..Self::default()
        }
    }
}

/// `stream_info` of TDH.IDE.STREAM.CREATE: bits 7:0 root port devfn, bit 8
/// stream type (0 link, 1 selective).
pub fn stream_info(rp_devfn: u8, selective: bool) -> u64 {
    u64::from(rp_devfn) | (u64::from(selective) << 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_hpa_array_round_trip() {
        assert_eq!(Status(0).class(), StatusClass::Success);
        assert_eq!(
            Status(0xC000_0F57_0000_0000).class(),
            StatusClass::SpdmRequest
        );
        let invalid = Status::new(StatusClass::OperandInvalid, 3);
        assert_eq!(
            (invalid.0, invalid.class(), invalid.detail()),
            (0xC000_0100_0000_0003, StatusClass::OperandInvalid, 3)
        );
        assert_eq!(Status(0xC000_0001_0000_0000).class(), StatusClass::Other);
        let a = HpaArray {
            pfn: 0xABCDE,
            count: 4,
        };
        assert_eq!(a.raw(), Ok((0xABCDE << 12) | (3 << 55)));
        assert_eq!(HpaArray::from_raw(a.raw().unwrap()), a);
        assert_eq!(
            HpaArray { pfn: 1, count: 0 }.raw(),
            Err(Error::InvalidField("HPA_ARRAY_T"))
        );
        assert_eq!(func_id(0x0100, Some(1)), 0x0101_0100);
    }
}
