// SPDX-License-Identifier: GPL-2.0
//! SPDM message codecs (DSP0274 1.2 and 1.3 message format tables).
//!
//! A message's SPDMVersion decides its 1.3-only fields: RequesterContext
//! in CHALLENGE, CHALLENGE_AUTH, GET_MEASUREMENTS and MEASUREMENTS, and
//! SupportedSlotMask in DIGESTS Param1. Below 1.3 they are absent on the
//! wire and zero when decoded.
//!
//! Every message has `read`, which decodes from a [`Reader`] and leaves any
//! following bytes (DOE padding) unread, and `write`, which appends the
//! encoding to a [`Writer`]. Each message starts with the 4-byte header
//! SPDMVersion, RequestResponseCode, Param1, Param2.
//!
//! Messages whose size depends on the negotiated algorithms take
//! [`AlgSizes`]. Messages with a signature or verify data write
//! whatever bytes they are given there, so a signer can write the message,
//! sign its prefix, and patch the signature in place.

use super::wire::{Error, Reader, Result, Writer};
use super::{code, AlgSizes, NONCE_LEN, VERSION_10, VERSION_11, VERSION_12, VERSION_13};

/// Size of RequesterContext (1.3).
pub const REQUESTER_CONTEXT_LEN: usize = 8;
/// RequesterContext: an opaque value the responder echoes (1.3).
pub type RequesterContext = [u8; REQUESTER_CONTEXT_LEN];

/// Reads RequesterContext if `version` has one.
fn read_context(r: &mut Reader<'_>, version: u8) -> Result<RequesterContext> {
    if version >= VERSION_13 {
        Ok(*r.array()?)
    } else {
        Ok([0; REQUESTER_CONTEXT_LEN])
    }
}

/// Writes RequesterContext if `version` has one.
fn write_context(w: &mut Writer<'_>, version: u8, context: &RequesterContext) -> Result<()> {
    if version >= VERSION_13 {
        w.bytes(context)?;
    }
    Ok(())
}

/// The 4-byte header of every SPDM message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// SPDMVersion: major in bits 7:4, minor in bits 3:0.
    pub version: u8,
    /// RequestResponseCode.
    pub code: u8,
    /// Param1.
    pub param1: u8,
    /// Param2.
    pub param2: u8,
}

impl Header {
    /// Decodes a header of any code.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let b = r.array::<4>()?;
        Ok(Self {
            version: b[0],
            code: b[1],
            param1: b[2],
            param2: b[3],
        })
    }

    /// Decodes a header and checks its code.
    pub fn read_code(r: &mut Reader<'_>, expected: u8) -> Result<Self> {
        let h = Self::read(r)?;
        if h.code != expected {
            return Err(Error::UnexpectedCode(h.code));
        }
        Ok(h)
    }

    /// Peeks at the header of `msg` without consuming it.
    pub fn peek(msg: &[u8]) -> Result<Self> {
        Self::read(&mut Reader::new(msg))
    }

    /// Encodes the header.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.bytes(&[self.version, self.code, self.param1, self.param2])
    }
}

/// Writes a header with the given fields.
fn header(w: &mut Writer<'_>, version: u8, code: u8, param1: u8, param2: u8) -> Result<()> {
    Header {
        version,
        code,
        param1,
        param2,
    }
    .write(w)
}

/// Reads `len` bytes whose length was announced in a `u16` field.
fn read_u16_prefixed<'a>(r: &mut Reader<'a>) -> Result<&'a [u8]> {
    let len = r.u16()?;
    r.bytes(usize::from(len))
}

/// Writes a `u16` length followed by the bytes.
fn write_u16_prefixed(w: &mut Writer<'_>, data: &[u8]) -> Result<()> {
    w.len_u16(data.len())?;
    w.bytes(data)
}

/// GET_VERSION. Always sent with SPDMVersion 1.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetVersion;

impl GetVersion {
    /// Decodes the request; its version must be 1.0.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let h = Header::read_code(r, code::GET_VERSION)?;
        if h.version != VERSION_10 {
            return Err(Error::InvalidField("SPDMVersion"));
        }
        Ok(Self)
    }

    /// Encodes the request.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        header(w, VERSION_10, code::GET_VERSION, 0, 0)
    }
}

/// VERSION: the responder's supported versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version<'a> {
    /// VersionNumberEntry list, two little-endian bytes each.
    pub entries: &'a [u8],
}

impl<'a> Version<'a> {
    /// Decodes the response.
    pub fn read(r: &mut Reader<'a>) -> Result<Self> {
        Header::read_code(r, code::VERSION)?;
        r.skip(1)?;
        let count = r.u8()?;
        if count == 0 {
            return Err(Error::InvalidField("VersionNumberEntryCount"));
        }
        Ok(Self {
            entries: r.bytes(usize::from(count) * 2)?,
        })
    }

    /// Encodes the response.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        let count = self.entries.len() / 2;
        if count == 0 || self.entries.len() % 2 != 0 {
            return Err(Error::InvalidField("VersionNumberEntryCount"));
        }
        header(w, VERSION_10, code::VERSION, 0, 0)?;
        w.u8(0)?;
        w.u8(u8::try_from(count).map_err(|_| Error::InvalidField("VersionNumberEntryCount"))?)?;
        w.bytes(self.entries)
    }

    /// The SPDMVersion bytes (major/minor) of the entries.
    pub fn versions(&self) -> impl Iterator<Item = u8> + 'a {
        // Entry bits 15:12 major, 11:8 minor: the high byte of the u16.
        self.entries.chunks_exact(2).map(|e| e[1])
    }
}

/// GET_CAPABILITIES and CAPABILITIES share one body layout.
///
/// 1.0 has no body, 1.1 adds CTExponent and Flags, 1.2 adds
/// DataTransferSize and MaxSPDMmsgSize.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// SPDMVersion of the message.
    pub version: u8,
    /// CTExponent: cryptographic timeout is 2^CTExponent microseconds.
    pub ct_exponent: u8,
    /// Capability flags, see [`super::cap`].
    pub flags: u32,
    /// DataTransferSize (1.2): largest single message this side receives.
    pub data_transfer_size: u32,
    /// MaxSPDMmsgSize (1.2): largest assembled message this side handles.
    pub max_spdm_msg_size: u32,
}

/// Smallest DataTransferSize DSP0274 1.2 allows.
pub const MIN_DATA_TRANSFER_SIZE: u32 = 42;

impl Capabilities {
    /// Decodes GET_CAPABILITIES (`code::GET_CAPABILITIES`) or CAPABILITIES
    /// (`code::CAPABILITIES`).
    pub fn read(r: &mut Reader<'_>, expected_code: u8) -> Result<Self> {
        let h = Header::read_code(r, expected_code)?;
        let mut caps = Self {
            version: h.version,
            ct_exponent: 0,
            flags: 0,
            data_transfer_size: 0,
            max_spdm_msg_size: 0,
        };
        if h.version >= VERSION_11 {
            r.skip(1)?;
            caps.ct_exponent = r.u8()?;
            r.skip(2)?;
            caps.flags = r.u32()?;
        }
        if h.version >= VERSION_12 {
            caps.data_transfer_size = r.u32()?;
            caps.max_spdm_msg_size = r.u32()?;
            if caps.data_transfer_size < MIN_DATA_TRANSFER_SIZE {
                return Err(Error::InvalidField("DataTransferSize"));
            }
            if caps.max_spdm_msg_size < caps.data_transfer_size {
                return Err(Error::InvalidField("MaxSPDMmsgSize"));
            }
        }
        Ok(caps)
    }

    /// Encodes with the given code (request or response).
    pub fn write(&self, w: &mut Writer<'_>, code: u8) -> Result<()> {
        header(w, self.version, code, 0, 0)?;
        if self.version >= VERSION_11 {
            w.u8(0)?;
            w.u8(self.ct_exponent)?;
            w.zeros(2)?;
            w.u32(self.flags)?;
        }
        if self.version >= VERSION_12 {
            w.u32(self.data_transfer_size)?;
            w.u32(self.max_spdm_msg_size)?;
        }
        Ok(())
    }
}

/// The AlgStructure entries of NEGOTIATE_ALGORITHMS/ALGORITHMS.
///
/// An entry is on the wire exactly when its value is non-zero: DSP0274
/// 1.3 has the requester send a structure only for an AlgType it supports
/// (Table 15) and the responder select only among what the requester
/// offered (Table 22), so a zero value and an absent entry mean the same.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlgStructs {
    /// DHE groups.
    pub dhe: u16,
    /// AEAD cipher suites.
    pub aead: u16,
    /// Requester base asymmetric algorithms.
    pub req_base_asym: u16,
    /// Key schedules.
    pub key_schedule: u16,
}

/// Each AlgStructure entry: AlgType, AlgCount (2 fixed bytes, no
/// extended algorithms), AlgSupported.
const ALG_STRUCT_LEN: usize = 4;
/// AlgCount for two fixed bytes and no extended algorithms.
const ALG_COUNT_FIXED2: u8 = 0x20;

impl AlgStructs {
    fn read(r: &mut Reader<'_>, count: u8) -> Result<Self> {
        let mut s = Self::default();
        let mut last_type = 0;
        for _ in 0..count {
            let alg_type = r.u8()?;
            let alg_count = r.u8()?;
            if alg_count >> 4 != 2 {
                return Err(Error::InvalidField("AlgCount"));
            }
            let supported = r.u16()?;
            // Extended algorithms are skipped: nothing here supports them.
            r.skip(usize::from(alg_count & 0x0F) * 4)?;
            // Entries come in increasing AlgType order, each at most once.
            if alg_type <= last_type {
                return Err(Error::InvalidField("AlgType"));
            }
            last_type = alg_type;
            match alg_type {
                super::alg::TYPE_DHE => s.dhe = supported,
                super::alg::TYPE_AEAD => s.aead = supported,
                super::alg::TYPE_REQ_BASE_ASYM => s.req_base_asym = supported,
                super::alg::TYPE_KEY_SCHEDULE => s.key_schedule = supported,
                _ => return Err(Error::InvalidField("AlgType")),
            }
        }
        Ok(s)
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        for (alg_type, value) in self.present() {
            w.u8(alg_type)?;
            w.u8(ALG_COUNT_FIXED2)?;
            w.u16(value)?;
        }
        Ok(())
    }

    /// The entries with a non-zero value, in AlgType order.
    fn present(&self) -> impl Iterator<Item = (u8, u16)> {
        use super::alg::*;
        [
            (TYPE_DHE, self.dhe),
            (TYPE_AEAD, self.aead),
            (TYPE_REQ_BASE_ASYM, self.req_base_asym),
            (TYPE_KEY_SCHEDULE, self.key_schedule),
        ]
        .into_iter()
        .filter(|&(_, value)| value != 0)
    }

    /// Number of entries on the wire (Param1).
    fn count(&self) -> u8 {
        // At most four AlgTypes exist.
        self.present().count() as u8
    }
}

/// NEGOTIATE_ALGORITHMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NegotiateAlgorithms {
    /// SPDMVersion of the message.
    pub version: u8,
    /// MeasurementSpecification bit mask.
    pub measurement_spec: u8,
    /// OtherParamsSupport (opaque data format bits).
    pub other_params: u8,
    /// BaseAsymAlgo bit mask.
    pub base_asym: u32,
    /// BaseHashAlgo bit mask.
    pub base_hash: u32,
    /// AlgStructure entries.
    pub structs: AlgStructs,
}

/// Fixed part of NEGOTIATE_ALGORITHMS before the extended algorithms.
const NEGOTIATE_FIXED_LEN: usize = 32;
/// Fixed part of ALGORITHMS before the extended algorithms.
const ALGORITHMS_FIXED_LEN: usize = 36;

/// Checks the Length field of (NEGOTIATE_)ALGORITHMS against bytes consumed.
fn check_alg_length(r: &Reader<'_>, start: usize, length: u16) -> Result<()> {
    if r.consumed() - start != usize::from(length) {
        return Err(Error::InvalidField("Length"));
    }
    Ok(())
}

impl NegotiateAlgorithms {
    /// Decodes the request.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.consumed();
        let h = Header::read_code(r, code::NEGOTIATE_ALGORITHMS)?;
        let length = r.u16()?;
        let measurement_spec = r.u8()?;
        let other_params = r.u8()?;
        let base_asym = r.u32()?;
        let base_hash = r.u32()?;
        r.skip(12)?;
        let ext_asym = r.u8()?;
        let ext_hash = r.u8()?;
        r.skip(2)?;
        r.skip((usize::from(ext_asym) + usize::from(ext_hash)) * 4)?;
        let structs = AlgStructs::read(r, h.param1)?;
        check_alg_length(r, start, length)?;
        Ok(Self {
            version: h.version,
            measurement_spec,
            other_params,
            base_asym,
            base_hash,
            structs,
        })
    }

    /// Encodes the request (no extended algorithms, one AlgStructure per
    /// non-zero entry).
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        let count = self.structs.count();
        header(w, self.version, code::NEGOTIATE_ALGORITHMS, count, 0)?;
        w.len_u16(NEGOTIATE_FIXED_LEN + usize::from(count) * ALG_STRUCT_LEN)?;
        w.u8(self.measurement_spec)?;
        w.u8(self.other_params)?;
        w.u32(self.base_asym)?;
        w.u32(self.base_hash)?;
        w.zeros(12)?;
        w.zeros(4)?;
        self.structs.write(w)
    }
}

/// ALGORITHMS: the responder's selection, one bit per field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Algorithms {
    /// SPDMVersion of the message.
    pub version: u8,
    /// MeasurementSpecificationSel.
    pub measurement_spec: u8,
    /// OtherParamsSelection.
    pub other_params: u8,
    /// MeasurementHashAlgo.
    pub measurement_hash: u32,
    /// BaseAsymSel.
    pub base_asym: u32,
    /// BaseHashSel.
    pub base_hash: u32,
    /// Selected AlgStructure entries.
    pub structs: AlgStructs,
}

impl Algorithms {
    /// Decodes the response.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.consumed();
        let h = Header::read_code(r, code::ALGORITHMS)?;
        let length = r.u16()?;
        let measurement_spec = r.u8()?;
        let other_params = r.u8()?;
        let measurement_hash = r.u32()?;
        let base_asym = r.u32()?;
        let base_hash = r.u32()?;
        r.skip(12)?;
        let ext_asym = r.u8()?;
        let ext_hash = r.u8()?;
        r.skip(2)?;
        r.skip((usize::from(ext_asym) + usize::from(ext_hash)) * 4)?;
        let structs = AlgStructs::read(r, h.param1)?;
        check_alg_length(r, start, length)?;
        Ok(Self {
            version: h.version,
            measurement_spec,
            other_params,
            measurement_hash,
            base_asym,
            base_hash,
            structs,
        })
    }

    /// Encodes the response (one AlgStructure per non-zero entry).
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        let count = self.structs.count();
        header(w, self.version, code::ALGORITHMS, count, 0)?;
        w.len_u16(ALGORITHMS_FIXED_LEN + usize::from(count) * ALG_STRUCT_LEN)?;
        w.u8(self.measurement_spec)?;
        w.u8(self.other_params)?;
        w.u32(self.measurement_hash)?;
        w.u32(self.base_asym)?;
        w.u32(self.base_hash)?;
        w.zeros(12)?;
        w.zeros(4)?;
        self.structs.write(w)
    }
}

/// A request that is just a header with no meaningful parameters:
/// GET_DIGESTS, END_SESSION_ACK, HEARTBEAT, HEARTBEAT_ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bare {
    /// SPDMVersion of the message.
    pub version: u8,
    /// The message code.
    pub code: u8,
}

impl Bare {
    /// Decodes a header-only message with code `expected`.
    pub fn read(r: &mut Reader<'_>, expected: u8) -> Result<Self> {
        let h = Header::read_code(r, expected)?;
        Ok(Self {
            version: h.version,
            code: h.code,
        })
    }

    /// Encodes the header.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        header(w, self.version, self.code, 0, 0)
    }
}

/// DIGESTS: one digest per populated certificate slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digests<'a> {
    /// SPDMVersion of the message.
    pub version: u8,
    /// Param2: slot mask, bit n set if slot n holds a chain.
    pub slot_mask: u8,
    /// The digests, H bytes each, in slot order.
    pub digests: &'a [u8],
}

impl<'a> Digests<'a> {
    /// Decodes the response.
    pub fn read(r: &mut Reader<'a>, sizes: &AlgSizes) -> Result<Self> {
        let h = Header::read_code(r, code::DIGESTS)?;
        let count = h.param2.count_ones() as usize;
        Ok(Self {
            version: h.version,
            slot_mask: h.param2,
            digests: r.bytes(count * sizes.hash)?,
        })
    }

    /// Encodes the response.
    pub fn write(&self, w: &mut Writer<'_>, sizes: &AlgSizes) -> Result<()> {
        if self.digests.len() != self.slot_mask.count_ones() as usize * sizes.hash {
            return Err(Error::InvalidField("Digest"));
        }
        // 1.3 Param1 is SupportedSlotMask; the slots this encoder reports
        // are all the responder supports.
        let supported = if self.version >= VERSION_13 {
            self.slot_mask
        } else {
            0
        };
        header(w, self.version, code::DIGESTS, supported, self.slot_mask)?;
        w.bytes(self.digests)
    }

    /// The digest of `slot`, if that slot is populated.
    pub fn digest(&self, slot: u8, sizes: &AlgSizes) -> Option<&'a [u8]> {
        if slot >= 8 || self.slot_mask & (1 << slot) == 0 {
            return None;
        }
        let index = (self.slot_mask & ((1 << slot) - 1)).count_ones() as usize;
        self.digests
            .get(index * sizes.hash..(index + 1) * sizes.hash)
    }
}

/// Largest valid certificate slot number.
pub const MAX_SLOT: u8 = 7;

/// GET_CERTIFICATE: asks for `length` bytes of a chain at `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetCertificate {
    /// SPDMVersion of the message.
    pub version: u8,
    /// Param1 bits 3:0: slot number.
    pub slot: u8,
    /// Offset into the chain.
    pub offset: u16,
    /// Bytes asked for.
    pub length: u16,
}

impl GetCertificate {
    /// Decodes the request.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let h = Header::read_code(r, code::GET_CERTIFICATE)?;
        let slot = h.param1 & 0x0F;
        if slot > MAX_SLOT {
            return Err(Error::InvalidField("SlotID"));
        }
        Ok(Self {
            version: h.version,
            slot,
            offset: r.u16()?,
            length: r.u16()?,
        })
    }

    /// Encodes the request.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        if self.slot > MAX_SLOT {
            return Err(Error::InvalidField("SlotID"));
        }
        header(w, self.version, code::GET_CERTIFICATE, self.slot, 0)?;
        w.u16(self.offset)?;
        w.u16(self.length)
    }
}

/// CERTIFICATE: one portion of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Certificate<'a> {
    /// SPDMVersion of the message.
    pub version: u8,
    /// Param1 bits 3:0: slot number.
    pub slot: u8,
    /// The portion of the chain.
    pub portion: &'a [u8],
    /// Bytes of the chain after this portion.
    pub remainder_length: u16,
}

impl<'a> Certificate<'a> {
    /// Decodes the response.
    pub fn read(r: &mut Reader<'a>) -> Result<Self> {
        let h = Header::read_code(r, code::CERTIFICATE)?;
        let portion_length = r.u16()?;
        let remainder_length = r.u16()?;
        let portion = r.bytes(usize::from(portion_length))?;
        Ok(Self {
            version: h.version,
            slot: h.param1 & 0x0F,
            portion,
            remainder_length,
        })
    }

    /// Encodes the response.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        header(w, self.version, code::CERTIFICATE, self.slot & 0x0F, 0)?;
        w.len_u16(self.portion.len())?;
        w.u16(self.remainder_length)?;
        w.bytes(self.portion)
    }
}

/// Measurement summary hash type of CHALLENGE and KEY_EXCHANGE (Param1/Param2).
pub mod meas_summary {
    /// No summary hash.
    pub const NONE: u8 = 0;
    /// Hash of the TCB measurements.
    pub const TCB: u8 = 1;
    /// Hash of all measurements.
    pub const ALL: u8 = 0xFF;
}

/// Size of a measurement summary hash field for a request's hash type.
fn summary_len(summary_type: u8, sizes: &AlgSizes) -> usize {
    if summary_type == meas_summary::NONE {
        0
    } else {
        sizes.hash
    }
}

/// CHALLENGE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Challenge<'a> {
    /// SPDMVersion of the message.
    pub version: u8,
    /// Param1: slot number.
    pub slot: u8,
    /// Param2: measurement summary hash type.
    pub meas_summary_type: u8,
    /// Requester nonce.
    pub nonce: &'a [u8; NONCE_LEN],
    /// RequesterContext (1.3).
    pub requester_context: RequesterContext,
}

impl<'a> Challenge<'a> {
    /// Decodes the request.
    pub fn read(r: &mut Reader<'a>) -> Result<Self> {
        let h = Header::read_code(r, code::CHALLENGE)?;
        check_summary_type(h.param2)?;
        if h.param1 > MAX_SLOT {
            return Err(Error::InvalidField("SlotID"));
        }
        Ok(Self {
            version: h.version,
            slot: h.param1,
            meas_summary_type: h.param2,
            nonce: r.array()?,
            requester_context: read_context(r, h.version)?,
        })
    }

    /// Encodes the request.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        header(
            w,
            self.version,
            code::CHALLENGE,
            self.slot,
            self.meas_summary_type,
        )?;
        w.bytes(self.nonce)?;
        write_context(w, self.version, &self.requester_context)
    }
}

fn check_summary_type(t: u8) -> Result<()> {
    match t {
        meas_summary::NONE | meas_summary::TCB | meas_summary::ALL => Ok(()),
        _ => Err(Error::InvalidField("MeasurementSummaryHashType")),
    }
}

/// CHALLENGE_AUTH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChallengeAuth<'a> {
    /// SPDMVersion of the message.
    pub version: u8,
    /// Param1 bits 3:0: slot used.
    pub slot: u8,
    /// Param2: slot mask.
    pub slot_mask: u8,
    /// CertChainHash (H).
    pub cert_chain_hash: &'a [u8],
    /// Responder nonce.
    pub nonce: &'a [u8; NONCE_LEN],
    /// MeasurementSummaryHash (H or empty).
    pub meas_summary_hash: &'a [u8],
    /// OpaqueData.
    pub opaque: &'a [u8],
    /// RequesterContext echoed from CHALLENGE (1.3).
    pub requester_context: RequesterContext,
    /// Signature (S).
    pub signature: &'a [u8],
}

impl<'a> ChallengeAuth<'a> {
    /// Decodes the response to a CHALLENGE with `meas_summary_type`.
    pub fn read(r: &mut Reader<'a>, sizes: &AlgSizes, meas_summary_type: u8) -> Result<Self> {
        let h = Header::read_code(r, code::CHALLENGE_AUTH)?;
        Ok(Self {
            version: h.version,
            slot: h.param1 & 0x0F,
            slot_mask: h.param2,
            cert_chain_hash: r.bytes(sizes.hash)?,
            nonce: r.array()?,
            meas_summary_hash: r.bytes(summary_len(meas_summary_type, sizes))?,
            opaque: read_u16_prefixed(r)?,
            requester_context: read_context(r, h.version)?,
            signature: r.bytes(sizes.signature)?,
        })
    }

    /// Encodes the response.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        header(
            w,
            self.version,
            code::CHALLENGE_AUTH,
            self.slot & 0x0F,
            self.slot_mask,
        )?;
        w.bytes(self.cert_chain_hash)?;
        w.bytes(self.nonce)?;
        w.bytes(self.meas_summary_hash)?;
        write_u16_prefixed(w, self.opaque)?;
        write_context(w, self.version, &self.requester_context)?;
        w.bytes(self.signature)
    }
}

/// GET_MEASUREMENTS Param1 bit 0: a signature is requested.
pub const MEAS_ATTR_SIGNATURE: u8 = 1 << 0;
/// GET_MEASUREMENTS Param1 bit 1: raw bit stream requested.
pub const MEAS_ATTR_RAW_BITSTREAM: u8 = 1 << 1;
/// GET_MEASUREMENTS Param2: only return the number of measurement blocks.
pub const MEAS_OP_COUNT: u8 = 0x00;
/// GET_MEASUREMENTS Param2: return all measurement blocks.
pub const MEAS_OP_ALL: u8 = 0xFF;

/// GET_MEASUREMENTS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetMeasurements<'a> {
    /// SPDMVersion of the message.
    pub version: u8,
    /// Param1: request attributes.
    pub attributes: u8,
    /// Param2: measurement operation (index, count or all).
    pub operation: u8,
    /// Nonce and slot, present exactly when a signature is requested.
    pub signed: Option<(&'a [u8; NONCE_LEN], u8)>,
    /// RequesterContext (1.3, signed or not).
    pub requester_context: RequesterContext,
}

impl<'a> GetMeasurements<'a> {
    /// Decodes the request.
    pub fn read(r: &mut Reader<'a>) -> Result<Self> {
        let h = Header::read_code(r, code::GET_MEASUREMENTS)?;
        let signed = if h.param1 & MEAS_ATTR_SIGNATURE != 0 {
            let nonce = r.array()?;
            let slot = r.u8()? & 0x0F;
            if slot > MAX_SLOT {
                return Err(Error::InvalidField("SlotIDParam"));
            }
            Some((nonce, slot))
        } else {
            None
        };
        Ok(Self {
            version: h.version,
            attributes: h.param1,
            operation: h.param2,
            signed,
            requester_context: read_context(r, h.version)?,
        })
    }

    /// Encodes the request; the attribute bit follows `signed`.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        let attributes = match self.signed {
            Some(_) => self.attributes | MEAS_ATTR_SIGNATURE,
            None => self.attributes & !MEAS_ATTR_SIGNATURE,
        };
        header(
            w,
            self.version,
            code::GET_MEASUREMENTS,
            attributes,
            self.operation,
        )?;
        if let Some((nonce, slot)) = self.signed {
            w.bytes(nonce)?;
            w.u8(slot)?;
        }
        write_context(w, self.version, &self.requester_context)
    }
}

/// MEASUREMENTS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measurements<'a> {
    /// SPDMVersion of the message.
    pub version: u8,
    /// Param1: total number of measurement indices when the operation was
    /// [`MEAS_OP_COUNT`], otherwise 0.
    pub total_indices: u8,
    /// Param2: slot (bits 3:0) and content-changed (bits 5:4).
    pub param2: u8,
    /// NumberOfBlocks.
    pub number_of_blocks: u8,
    /// MeasurementRecord: the concatenated measurement blocks.
    pub record: &'a [u8],
    /// Responder nonce.
    pub nonce: &'a [u8; NONCE_LEN],
    /// OpaqueData.
    pub opaque: &'a [u8],
    /// RequesterContext echoed from GET_MEASUREMENTS (1.3).
    pub requester_context: RequesterContext,
    /// Signature (S) if one was requested, else empty.
    pub signature: &'a [u8],
}

impl<'a> Measurements<'a> {
    /// Decodes the response; `signed` says whether the request asked for a signature.
    pub fn read(r: &mut Reader<'a>, sizes: &AlgSizes, signed: bool) -> Result<Self> {
        let h = Header::read_code(r, code::MEASUREMENTS)?;
        let number_of_blocks = r.u8()?;
        let record_len = r.u24()?;
        let record = r.bytes(record_len as usize)?;
        let m = Self {
            version: h.version,
            total_indices: h.param1,
            param2: h.param2,
            number_of_blocks,
            record,
            nonce: r.array()?,
            opaque: read_u16_prefixed(r)?,
            requester_context: read_context(r, h.version)?,
            signature: r.bytes(if signed { sizes.signature } else { 0 })?,
        };
        if m.blocks().count() != usize::from(number_of_blocks) || m.blocks().any(|b| b.is_err()) {
            return Err(Error::InvalidField("MeasurementRecord"));
        }
        Ok(m)
    }

    /// Encodes the response.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        header(
            w,
            self.version,
            code::MEASUREMENTS,
            self.total_indices,
            self.param2,
        )?;
        w.u8(self.number_of_blocks)?;
        w.u24(
            u32::try_from(self.record.len())
                .map_err(|_| Error::InvalidField("MeasurementRecordLength"))?,
        )?;
        w.bytes(self.record)?;
        w.bytes(self.nonce)?;
        write_u16_prefixed(w, self.opaque)?;
        write_context(w, self.version, &self.requester_context)?;
        w.bytes(self.signature)
    }

    /// Iterates over the measurement blocks of the record.
    pub fn blocks(&self) -> MeasurementBlocks<'a> {
        MeasurementBlocks {
            r: Reader::new(self.record),
        }
    }
}

/// One measurement block in DMTF measurement specification format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeasurementBlock<'a> {
    /// Index of the measurement.
    pub index: u8,
    /// DMTFSpecMeasurementValueType (bit 7: raw bit stream).
    pub value_type: u8,
    /// The measurement value.
    pub value: &'a [u8],
}

/// Size of a measurement block header (Index, Spec, Size).
const MEAS_BLOCK_HEADER_LEN: usize = 4;
/// Size of the DMTF measurement value header (Type, Size).
const DMTF_VALUE_HEADER_LEN: usize = 3;

impl<'a> MeasurementBlock<'a> {
    /// Decodes one block.
    pub fn read(r: &mut Reader<'a>) -> Result<Self> {
        let index = r.u8()?;
        if r.u8()? != super::alg::MEAS_SPEC_DMTF {
            return Err(Error::InvalidField("MeasurementSpecification"));
        }
        let size = usize::from(r.u16()?);
        let value_type = r.u8()?;
        let value_size = usize::from(r.u16()?);
        if size != value_size + DMTF_VALUE_HEADER_LEN {
            return Err(Error::InvalidField("MeasurementSize"));
        }
        Ok(Self {
            index,
            value_type,
            value: r.bytes(value_size)?,
        })
    }

    /// Encodes one block.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.bytes(&self.encoded_header()?)?;
        w.bytes(self.value)
    }

    /// The block's encoding up to its value: Index, MeasurementSpecification,
    /// MeasurementSize, DMTFSpecMeasurementValueType, DMTFSpecMeasurementValueSize.
    pub fn encoded_header(&self) -> Result<[u8; MEAS_BLOCK_HEADER_LEN + DMTF_VALUE_HEADER_LEN]> {
        let too_long = Error::InvalidField("MeasurementSize");
        let value_size = u16::try_from(self.value.len()).map_err(|_| too_long)?;
        let size = value_size
            .checked_add(DMTF_VALUE_HEADER_LEN as u16)
            .ok_or(too_long)?
            .to_le_bytes();
        let value_size = value_size.to_le_bytes();
        Ok([
            self.index,
            super::alg::MEAS_SPEC_DMTF,
            size[0],
            size[1],
            self.value_type,
            value_size[0],
            value_size[1],
        ])
    }

    /// Encoded size of the block.
    pub fn encoded_len(&self) -> usize {
        MEAS_BLOCK_HEADER_LEN + DMTF_VALUE_HEADER_LEN + self.value.len()
    }
}

/// Iterator over the blocks of a measurement record.
#[derive(Clone, Debug)]
pub struct MeasurementBlocks<'a> {
    r: Reader<'a>,
}

impl<'a> Iterator for MeasurementBlocks<'a> {
    type Item = Result<MeasurementBlock<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.r.remaining() == 0 {
            return None;
        }
        let block = MeasurementBlock::read(&mut self.r);
        if block.is_err() {
            // Stop after the first malformed block.
            self.r.rest();
        }
        Some(block)
    }
}

/// KEY_EXCHANGE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyExchange<'a> {
    /// SPDMVersion of the message.
    pub version: u8,
    /// Param1: measurement summary hash type.
    pub meas_summary_type: u8,
    /// Param2: slot number.
    pub slot: u8,
    /// ReqSessionID.
    pub req_session_id: u16,
    /// SessionPolicy (1.2).
    pub session_policy: u8,
    /// RandomData.
    pub random: &'a [u8; NONCE_LEN],
    /// ExchangeData (D): the requester's ephemeral public key.
    pub exchange_data: &'a [u8],
    /// OpaqueData: secured message versions, see [`super::opaque`].
    pub opaque: &'a [u8],
}

impl<'a> KeyExchange<'a> {
    /// Decodes the request.
    pub fn read(r: &mut Reader<'a>, sizes: &AlgSizes) -> Result<Self> {
        let h = Header::read_code(r, code::KEY_EXCHANGE)?;
        check_summary_type(h.param1)?;
        if h.param2 > MAX_SLOT {
            return Err(Error::InvalidField("SlotID"));
        }
        let req_session_id = r.u16()?;
        let session_policy = r.u8()?;
        r.skip(1)?;
        Ok(Self {
            version: h.version,
            meas_summary_type: h.param1,
            slot: h.param2,
            req_session_id,
            session_policy,
            random: r.array()?,
            exchange_data: r.bytes(sizes.dhe)?,
            opaque: read_u16_prefixed(r)?,
        })
    }

    /// Encodes the request.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        header(
            w,
            self.version,
            code::KEY_EXCHANGE,
            self.meas_summary_type,
            self.slot,
        )?;
        w.u16(self.req_session_id)?;
        w.u8(self.session_policy)?;
        w.u8(0)?;
        w.bytes(self.random)?;
        w.bytes(self.exchange_data)?;
        write_u16_prefixed(w, self.opaque)
    }
}

/// KEY_EXCHANGE_RSP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyExchangeRsp<'a> {
    /// SPDMVersion of the message.
    pub version: u8,
    /// Param1: heartbeat period in seconds (0: none).
    pub heartbeat_period: u8,
    /// RspSessionID.
    pub rsp_session_id: u16,
    /// MutAuthRequested.
    pub mut_auth_requested: u8,
    /// ReqSlotIDParam.
    pub req_slot_id_param: u8,
    /// RandomData.
    pub random: &'a [u8; NONCE_LEN],
    /// ExchangeData (D): the responder's ephemeral public key.
    pub exchange_data: &'a [u8],
    /// MeasurementSummaryHash (H or empty).
    pub meas_summary_hash: &'a [u8],
    /// OpaqueData: selected secured message version.
    pub opaque: &'a [u8],
    /// Signature (S) over the transcript up to here.
    pub signature: &'a [u8],
    /// ResponderVerifyData (H).
    pub verify_data: &'a [u8],
}

impl<'a> KeyExchangeRsp<'a> {
    /// Decodes the response to a KEY_EXCHANGE with `meas_summary_type`.
    /// ResponderVerifyData is always present: handshake in the clear is not supported.
    pub fn read(r: &mut Reader<'a>, sizes: &AlgSizes, meas_summary_type: u8) -> Result<Self> {
        let h = Header::read_code(r, code::KEY_EXCHANGE_RSP)?;
        Ok(Self {
            version: h.version,
            heartbeat_period: h.param1,
            rsp_session_id: r.u16()?,
            mut_auth_requested: r.u8()?,
            req_slot_id_param: r.u8()?,
            random: r.array()?,
            exchange_data: r.bytes(sizes.dhe)?,
            meas_summary_hash: r.bytes(summary_len(meas_summary_type, sizes))?,
            opaque: read_u16_prefixed(r)?,
            signature: r.bytes(sizes.signature)?,
            verify_data: r.bytes(sizes.hash)?,
        })
    }

    /// Encodes the response.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        header(
            w,
            self.version,
            code::KEY_EXCHANGE_RSP,
            self.heartbeat_period,
            0,
        )?;
        w.u16(self.rsp_session_id)?;
        w.u8(self.mut_auth_requested)?;
        w.u8(self.req_slot_id_param)?;
        w.bytes(self.random)?;
        w.bytes(self.exchange_data)?;
        w.bytes(self.meas_summary_hash)?;
        write_u16_prefixed(w, self.opaque)?;
        w.bytes(self.signature)?;
        w.bytes(self.verify_data)
    }
}

/// FINISH (without mutual authentication: no requester signature).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finish<'a> {
    /// SPDMVersion of the message.
    pub version: u8,
    /// RequesterVerifyData (H).
    pub verify_data: &'a [u8],
}

/// FINISH Param1 bit 0: a requester signature is included.
pub const FINISH_SIGNATURE_INCLUDED: u8 = 1 << 0;
/// Size of the FINISH header that is hashed before RequesterVerifyData.
pub const FINISH_HEADER_LEN: usize = 4;

impl<'a> Finish<'a> {
    /// Decodes the request. Mutual authentication is not supported, so a
    /// request carrying a signature is rejected.
    pub fn read(r: &mut Reader<'a>, sizes: &AlgSizes) -> Result<Self> {
        let h = Header::read_code(r, code::FINISH)?;
        if h.param1 & FINISH_SIGNATURE_INCLUDED != 0 {
            return Err(Error::InvalidField("SignatureIncluded"));
        }
        Ok(Self {
            version: h.version,
            verify_data: r.bytes(sizes.hash)?,
        })
    }

    /// Encodes the request.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        header(w, self.version, code::FINISH, 0, 0)?;
        w.bytes(self.verify_data)
    }
}

/// KEY_UPDATE Param1, KeyOperation (DSP0274 1.3 Table "KEY_UPDATE operations").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOperation {
    /// Update the key of the requester-to-responder direction only.
    UpdateKey = 1,
    /// Update the keys of both directions.
    UpdateAllKeys = 2,
    /// Confirm, under the new keys, that the update took effect.
    VerifyNewKey = 3,
}

impl KeyOperation {
    /// The operation of a Param1 value.
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::UpdateKey),
            2 => Some(Self::UpdateAllKeys),
            3 => Some(Self::VerifyNewKey),
            _ => None,
        }
    }
}

/// KEY_UPDATE and KEY_UPDATE_ACK, which echoes both parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUpdate {
    /// SPDMVersion of the message.
    pub version: u8,
    /// [`code::KEY_UPDATE`] or [`code::KEY_UPDATE_ACK`].
    pub code: u8,
    /// Param1.
    pub operation: KeyOperation,
    /// Param2: Tag, which tells one KEY_UPDATE from the next.
    pub tag: u8,
}

impl KeyUpdate {
    /// Decodes a message with code `expected`.
    pub fn read(r: &mut Reader<'_>, expected: u8) -> Result<Self> {
        let h = Header::read_code(r, expected)?;
        Ok(Self {
            version: h.version,
            code: h.code,
            operation: KeyOperation::from_u8(h.param1)
                .ok_or(Error::InvalidField("KeyOperation"))?,
            tag: h.param2,
        })
    }

    /// Encodes the message.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        header(w, self.version, self.code, self.operation as u8, self.tag)
    }
}

/// END_SESSION Param1 bit 0: keep the negotiated state after the session.
pub const END_SESSION_PRESERVE_STATE: u8 = 1 << 0;

/// END_SESSION.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndSession {
    /// SPDMVersion of the message.
    pub version: u8,
    /// Param1 attributes.
    pub attributes: u8,
}

impl EndSession {
    /// Decodes the request.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let h = Header::read_code(r, code::END_SESSION)?;
        Ok(Self {
            version: h.version,
            attributes: h.param1,
        })
    }

    /// Encodes the request.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        header(w, self.version, code::END_SESSION, self.attributes, 0)
    }
}

/// ERROR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorRsp<'a> {
    /// SPDMVersion of the message.
    pub version: u8,
    /// Param1: error code, see [`super::error_code`].
    pub code: u8,
    /// Param2: error data.
    pub data: u8,
    /// ExtendedErrorData.
    pub extended: &'a [u8],
}

/// Size of the ResponseNotReady extended error data.
pub const RESPONSE_NOT_READY_DATA_LEN: usize = 4;

impl<'a> ErrorRsp<'a> {
    /// Decodes the response. Only ResponseNotReady has a fixed-size
    /// extended data; other codes' extended data is not decoded.
    pub fn read(r: &mut Reader<'a>) -> Result<Self> {
        let h = Header::read_code(r, code::ERROR)?;
        let extended = if h.param1 == super::error_code::RESPONSE_NOT_READY {
            r.bytes(RESPONSE_NOT_READY_DATA_LEN)?
        } else {
            &[]
        };
        Ok(Self {
            version: h.version,
            code: h.param1,
            data: h.param2,
            extended,
        })
    }

    /// Encodes the response.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        header(w, self.version, code::ERROR, self.code, self.data)?;
        w.bytes(self.extended)
    }
}

/// Checks that a negotiated message carries the negotiated version.
pub fn check_version(h: &Header, negotiated: u8) -> Result<()> {
    if h.version != negotiated {
        return Err(Error::InvalidField("SPDMVersion"));
    }
    Ok(())
}
