// SPDX-License-Identifier: GPL-2.0
//! Intel TDX Connect SEAMCALL leaves of the TDX Module Extension.
//!
//! **Not confirmed**: leaf numbers, register assignments and status codes
//! come from the unmerged "PCI/TSM: TDX Connect: SPDM Session and IDE
//! Establishment" series (Xu Yilun, v1, 2025-11-17) citing Intel's TDX
//! Connect ABI specification (doc 858625); check them against that document.
//!
//! The page layouts below that the series does not show (the DEV_INFO
//! pages, the RECOLLECT parameter page) are this project's own, for its
//! firmware model, and are marked so.

use super::super::wire::{Error, Reader, Result, Writer};

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
    /// TDX_PAGE_METADATA_INCORRECT: a page is not in the state the call
    /// needs (given to the module twice, or not given).
    PageMetadataIncorrect,
    /// The device failed an exchange (SPDM, IDE_KM). **Not from the
    /// specification**: a value of this project's firmware model, in the
    /// TDX Connect error range, for the error the ABI document defines.
    DeviceFailure,
    /// Any other error.
    Other,
}

const CLASS_TABLE: [(u64, StatusClass); 7] = [
    (0x8000_0003_0000_0000, StatusClass::InterruptedResumable),
    (0xC000_0F57_0000_0000, StatusClass::SpdmRequest),
    (0xC000_0F45_0000_0000, StatusClass::SessionKeyRequireRefresh),
    (0x8000_0200_0000_0000, StatusClass::OperandBusy),
    (0xC000_0100_0000_0000, StatusClass::OperandInvalid),
    (0xC000_0300_0000_0000, StatusClass::PageMetadataIncorrect),
    (0xC000_0F40_0000_0000, StatusClass::DeviceFailure),
];
const CLASS_MASK: u64 = 0xFFFF_FFFF_0000_0000;
/// The status [`Status::new`] gives [`StatusClass::Other`]: an error of no class above.
/// **Not from the specification**: a value of this project's, for the firmware model's own
/// failures, which must never read as TDX_SUCCESS.
const OTHER: u64 = 0xC000_0001_0000_0000;

/// Operand IDs of TDX_OPERAND_INVALID and TDX_OPERAND_BUSY: the number of
/// the register that holds the operand.
pub mod operand {
    /// RCX.
    pub const RCX: u32 = 1;
    /// RDX.
    pub const RDX: u32 = 2;
    /// R8.
    pub const R8: u32 = 8;
    /// R9.
    pub const R9: u32 = 9;
    /// R10.
    pub const R10: u32 = 10;
    /// R11.
    pub const R11: u32 = 11;
    /// R12.
    pub const R12: u32 = 12;
}

/// A SEAMCALL completion status (RAX).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u64);

impl Status {
    /// The status of a class with the given detail bits.
    pub fn new(class: StatusClass, detail: u32) -> Self {
        let base = match class {
            StatusClass::Success => 0,
            _ => CLASS_TABLE
                .iter()
                .find(|(_, c)| *c == class)
                .map_or(OTHER, |(v, _)| *v),
        };
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
    /// R12.
    pub r12: u64,
    /// R13.
    pub r13: u64,
    /// R14.
    pub r14: u64,
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
            ..Self::default()
        }
    }

    /// TDH.SPDM.DELETE(spdm_id, root page of the spdm_mt pages).
    pub fn spdm_delete(spdm_id: u64, root_pa: u64) -> Self {
        Self {
            leaf: leaf::SPDM_DELETE,
            rcx: spdm_id,
            rdx: root_pa,
            ..Self::default()
        }
    }

    /// TDH.IDE.STREAM.CREATE([`stream_info`], spdm_id, stream_mt pages,
    /// stream_ctrl, RID association 1 and 2, address association 1 to 3).
    pub fn ide_stream_create(
        stream_info: u64,
        spdm_id: u64,
        stream_mt: HpaArray,
        stream_ctrl: u32,
        rid: [u32; 2],
        addr: [u32; 3],
    ) -> Result<Self> {
        Ok(Self {
            leaf: leaf::IDE_STREAM_CREATE,
            rcx: stream_info,
            rdx: spdm_id,
            r8: stream_mt.raw()?,
            r9: u64::from(stream_ctrl),
            r10: u64::from(rid[0]),
            r11: u64::from(rid[1]),
            r12: u64::from(addr[0]),
            r13: u64::from(addr[1]),
            r14: u64::from(addr[2]),
        })
    }

    /// TDH.IDE.STREAM.BLOCK(spdm_id, stream_id).
    pub fn ide_stream_block(spdm_id: u64, stream_id: u64) -> Self {
        Self {
            leaf: leaf::IDE_STREAM_BLOCK,
            rcx: spdm_id,
            rdx: stream_id,
            ..Self::default()
        }
    }

    /// TDH.IDE.STREAM.DELETE(spdm_id, stream_id, root page of stream_mt).
    pub fn ide_stream_delete(spdm_id: u64, stream_id: u64, root_pa: u64) -> Self {
        Self {
            leaf: leaf::IDE_STREAM_DELETE,
            rcx: spdm_id,
            rdx: stream_id,
            r8: root_pa,
            ..Self::default()
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

/// Decodes `stream_info`: (root port devfn, selective); reserved bits set
/// are an error.
pub fn parse_stream_info(raw: u64) -> Result<(u8, bool)> {
    if raw >> 9 != 0 {
        return Err(Error::InvalidField("stream_info"));
    }
    Ok((raw as u8, raw & (1 << 8) != 0))
}

/// Bits of `stream_ctrl` (the Selective IDE Stream Control value) the host
/// may choose: PCRC Enable (bit 8) and the Traffic Class (bits 21:19); the
/// module owns Enable, aggregation, CFG, algorithm, Default and the ID.
pub const STREAM_CTRL_HOST_BITS: u32 = (1 << 8) | (7 << 19);

/// SPDM configuration page (`spdm_config_info_t`) of TDH.SPDM.CONNECT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpdmConfig {
    /// SPDM capability flags the VMM wants used ([`CAP_HBEAT`], [`CAP_KEY_UPD`]).
    pub vmm_spdm_cap: u32,
    /// Session policy of KEY_EXCHANGE.
    pub session_policy: u8,
    /// Certificate slots to read (Linux passes 0xff).
    pub certificate_slot_mask: u8,
    /// Whether measurements are wanted as raw bit streams.
    pub raw_bitstream_requested: u8,
}

/// HBEAT_CAP in `vmm_spdm_cap`.
pub const CAP_HBEAT: u32 = 1 << 13;
/// KEY_UPD_CAP in `vmm_spdm_cap`.
pub const CAP_KEY_UPD: u32 = 1 << 14;
/// Bytes of [`SpdmConfig`].
pub const SPDM_CONFIG_LEN: usize = 7;

impl SpdmConfig {
    /// Encodes the page's first bytes.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u32(self.vmm_spdm_cap)?;
        w.u8(self.session_policy)?;
        w.u8(self.certificate_slot_mask)?;
        w.u8(self.raw_bitstream_requested)
    }

    /// Decodes the page's first bytes.
    pub fn decode(page: &[u8]) -> Result<Self> {
        let mut r = Reader::new(page);
        Ok(Self {
            vmm_spdm_cap: r.u32()?,
            session_policy: r.u8()?,
            certificate_slot_mask: r.u8()?,
            raw_bitstream_requested: r.u8()?,
        })
    }
}

/// The page addresses a root page of an [`HpaArray`] lists (`count` little
/// endian u64 entries, each a page-aligned address).
pub fn root_entries(root: &[u8], count: u16) -> Result<impl Iterator<Item = u64> + '_> {
    let bytes = usize::from(count) * 8;
    let table = root.get(..bytes).ok_or(Error::Truncated)?;
    if table
        .chunks_exact(8)
        .any(|e| u64::from_le_bytes(e.try_into().unwrap_or([0xff; 8])) & 0xfff != 0)
    {
        return Err(Error::InvalidField("HPA_ARRAY_T entry"));
    }
    Ok(table
        .chunks_exact(8)
        .map(|e| u64::from_le_bytes(e.try_into().unwrap_or([0; 8]))))
}

/// The DEV_INFO pages TDH.SPDM.CONNECT and DEV_INFO_RECOLLECT fill.
///
/// **Not confirmed**: this project's layout for its firmware model (the
/// ABI document's is not public): a 24-byte header (magic
/// [`DEV_INFO_MAGIC`], version 1, SPDM version, hash algorithm 0 SHA-256 /
/// 1 SHA-384, then the byte lengths of the slot-0 certificate chain, the VCA
/// messages and the signed GET_MEASUREMENTS/MEASUREMENTS exchange) and the
/// three byte strings in that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevInfo<'a> {
    /// Negotiated SPDM version.
    pub spdm_version: u8,
    /// 0 SHA-256, 1 SHA-384.
    pub hash: u8,
    /// The certificate chain of slot 0.
    pub cert_chain: &'a [u8],
    /// GET_VERSION to ALGORITHMS as exchanged.
    pub vca: &'a [u8],
    /// The last signed measurement exchange.
    pub measurements: &'a [u8],
}

/// "TDCI".
pub const DEV_INFO_MAGIC: u32 = 0x4943_4454;
/// Bytes of the DEV_INFO header.
pub const DEV_INFO_HEADER_LEN: usize = 24;

impl<'a> DevInfo<'a> {
    /// Bytes the encoding takes.
    pub fn len(&self) -> usize {
        DEV_INFO_HEADER_LEN + self.cert_chain.len() + self.vca.len() + self.measurements.len()
    }

    /// Whether it holds nothing but the header.
    pub fn is_empty(&self) -> bool {
        self.len() == DEV_INFO_HEADER_LEN
    }

    /// Encodes it.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        let len = |b: &[u8]| u32::try_from(b.len()).map_err(|_| Error::InvalidField("length"));
        w.u32(DEV_INFO_MAGIC)?;
        w.u16(1)?;
        w.u8(self.spdm_version)?;
        w.u8(self.hash)?;
        w.u32(len(self.cert_chain)?)?;
        w.u32(len(self.vca)?)?;
        w.u32(len(self.measurements)?)?;
        w.u32(0)?;
        w.bytes(self.cert_chain)?;
        w.bytes(self.vca)?;
        w.bytes(self.measurements)
    }

    /// Decodes it from the start of `buf` (trailing bytes are ignored).
    pub fn decode(buf: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        if r.u32()? != DEV_INFO_MAGIC {
            return Err(Error::InvalidField("DEV_INFO magic"));
        }
        if r.u16()? != 1 {
            return Err(Error::InvalidField("DEV_INFO version"));
        }
        let spdm_version = r.u8()?;
        let hash = r.u8()?;
        let cert = r.u32()? as usize;
        let vca = r.u32()? as usize;
        let meas = r.u32()? as usize;
        r.skip(4)?;
        Ok(Self {
            spdm_version,
            hash,
            cert_chain: r.bytes(cert)?,
            vca: r.bytes(vca)?,
            measurements: r.bytes(meas)?,
        })
    }
}

/// The parameter page of DEV_INFO_RECOLLECT: the 32-byte nonce of the
/// signed GET_MEASUREMENTS. **Not confirmed**: this project's layout.
pub const RECOLLECT_NONCE_LEN: usize = 32;

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
        // An error of no class is never TDX_SUCCESS.
        assert_eq!(
            Status::new(StatusClass::Other, 0).class(),
            StatusClass::Other
        );
        assert_eq!(Status::new(StatusClass::Success, 0), Status(0));
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
        assert_eq!(
            Status::new(StatusClass::PageMetadataIncorrect, 0).class(),
            StatusClass::PageMetadataIncorrect
        );
    }

    #[test]
    fn stream_create_registers() {
        let info = stream_info(0x08, true);
        assert_eq!(info, 0x108);
        assert_eq!(parse_stream_info(info), Ok((0x08, true)));
        assert!(parse_stream_info(1 << 9).is_err());
        let mt = HpaArray {
            pfn: 0x10,
            count: 1,
        };
        let a = Args::ide_stream_create(info, 7, mt, 1 << 19, [1, 2], [3, 4, 5]).unwrap();
        assert_eq!(a.leaf, leaf::IDE_STREAM_CREATE);
        assert_eq!((a.rcx, a.rdx, a.r8, a.r9), (0x108, 7, 0x10000, 1 << 19));
        assert_eq!((a.r10, a.r11, a.r12, a.r13, a.r14), (1, 2, 3, 4, 5));
        assert_eq!((1 << 19) & !STREAM_CTRL_HOST_BITS, 0);
        assert_ne!(1 & !STREAM_CTRL_HOST_BITS, 0);
        let m = Args::spdm_mng(1, SpdmMngOp::KeyUpdate, NO_PAGE, 2, 3, NO_PAGE);
        assert_eq!((m.rdx, m.r8, m.r11, m.r12), (1, NO_PAGE, NO_PAGE, 0));
    }

    #[test]
    fn config_root_page_and_dev_info() {
        let config = SpdmConfig {
            vmm_spdm_cap: CAP_HBEAT | CAP_KEY_UPD,
            session_policy: 0,
            certificate_slot_mask: 0xff,
            raw_bitstream_requested: 0,
        };
        let mut page = [0u8; 16];
        let n = crate::wire::encode_into(&mut page, |w| config.write(w)).unwrap();
        assert_eq!(n, SPDM_CONFIG_LEN);
        assert_eq!(SpdmConfig::decode(&page), Ok(config));

        let mut root = [0u8; 24];
        root[..8].copy_from_slice(&0x1000u64.to_le_bytes());
        root[8..16].copy_from_slice(&0x5000u64.to_le_bytes());
        {
            let mut pages = root_entries(&root, 2).unwrap();
            let got = (pages.next(), pages.next(), pages.next());
            assert_eq!(got, (Some(0x1000), Some(0x5000), None));
        }
        root[16] = 1;
        assert!(root_entries(&root, 3).is_err());
        assert!(root_entries(&root, 4).is_err());

        let info = DevInfo {
            spdm_version: 0x12,
            hash: 1,
            cert_chain: b"chain",
            vca: b"vca",
            measurements: b"meas",
        };
        let mut buf = [0u8; 64];
        let n = crate::wire::encode_into(&mut buf, |w| info.write(w)).unwrap();
        assert_eq!(n, info.len());
        assert_eq!(DevInfo::decode(&buf), Ok(info));
        buf[0] ^= 1;
        assert!(DevInfo::decode(&buf).is_err());
    }
}
