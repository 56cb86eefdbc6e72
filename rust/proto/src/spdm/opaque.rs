// SPDX-License-Identifier: GPL-2.0
//! Secured-message version negotiation carried in the OpaqueData of
//! KEY_EXCHANGE and KEY_EXCHANGE_RSP (DSP0277 "secured message opaque
//! data", in the DSP0274 1.2 general opaque data format, OtherParams
//! opaque data format 1).
//!
//! ```text
//! TotalElements(1) Reserved(3)
//! element: ID(1)=0 DMTF, VendorLen(1)=0, OpaqueElementDataLen(2),
//!          SMDataVersion(1)=1, SMDataID(1), SMData, padding to 4 bytes
//! SMDataID 1 (supported versions): VersionCount(1), Version(2) * count
//! SMDataID 0 (version selection):  SelectedVersion(2)
//! ```

use super::wire::{Error, Reader, Result, Writer};

/// Secured Messages using SPDM 1.1 (DSP0277 1.1), as a version number entry.
pub const SECURED_MESSAGE_VERSION_11: u16 = 0x1100;
/// Secured Messages using SPDM 1.2 (DSP0277 1.2), as a version number entry.
pub const SECURED_MESSAGE_VERSION_12: u16 = 0x1200;
/// Most versions [`write_supported`] lists.
pub const MAX_VERSIONS: usize = 4;

const REGISTRY_DMTF: u8 = 0;
const SM_DATA_VERSION: u8 = 1;
const SM_DATA_ID_SELECTION: u8 = 0;
const SM_DATA_ID_SUPPORTED: u8 = 1;
/// Longest encoding this module produces: header (4) + element header (4)
/// + supported list with [`MAX_VERSIONS`] versions (3 + 8), padded.
pub const MAX_LEN: usize = 20;

/// Writes the general opaque header and one DMTF element around `sm_data`.
fn write_element(w: &mut Writer<'_>, sm_data_id: u8, sm_data: &[u8]) -> Result<()> {
    w.u8(1)?;
    w.zeros(3)?;
    w.u8(REGISTRY_DMTF)?;
    w.u8(0)?;
    let data_len = 2 + sm_data.len();
    w.len_u16(data_len)?;
    w.u8(SM_DATA_VERSION)?;
    w.u8(sm_data_id)?;
    w.bytes(sm_data)?;
    // Each element is padded so the next starts 4-byte aligned.
    w.zeros((4 - (4 + data_len) % 4) % 4)
}

/// Finds the DMTF secured-message element and returns (SMDataID, SMData).
fn read_element(opaque: &[u8]) -> Result<(u8, &[u8])> {
    let mut r = Reader::new(opaque);
    let total = r.u8()?;
    r.skip(3)?;
    for _ in 0..total {
        let id = r.u8()?;
        let vendor_len = r.u8()?;
        r.skip(usize::from(vendor_len))?;
        let data = {
            let len = r.u16()?;
            r.bytes(usize::from(len))?
        };
        let element_len = 2 + usize::from(vendor_len) + 2 + data.len();
        r.skip((4 - element_len % 4) % 4)?;
        if id != REGISTRY_DMTF || vendor_len != 0 {
            continue;
        }
        let mut d = Reader::new(data);
        if d.u8()? != SM_DATA_VERSION {
            return Err(Error::InvalidField("SMDataVersion"));
        }
        let sm_id = d.u8()?;
        return Ok((sm_id, d.rest()));
    }
    Err(Error::InvalidField("OpaqueData"))
}

/// Encodes the requester's supported-version list (1 to [`MAX_VERSIONS`]
/// versions).
pub fn write_supported(w: &mut Writer<'_>, versions: &[u16]) -> Result<()> {
    if versions.is_empty() || versions.len() > MAX_VERSIONS {
        return Err(Error::InvalidField("VersionCount"));
    }
    let mut data = [0u8; 1 + 2 * MAX_VERSIONS];
    let mut d = Writer::new(&mut data);
    // At most MAX_VERSIONS, checked above.
    d.u8(versions.len() as u8)?;
    for v in versions {
        d.u16(*v)?;
    }
    let len = d.len();
    write_element(w, SM_DATA_ID_SUPPORTED, data.get(..len).unwrap_or(&[]))
}

/// Encodes the responder's version selection.
pub fn write_selection(w: &mut Writer<'_>, version: u16) -> Result<()> {
    write_element(w, SM_DATA_ID_SELECTION, &version.to_le_bytes())
}

/// Whether the requester's opaque data offers `version`.
pub fn supports(opaque: &[u8], version: u16) -> Result<bool> {
    let (id, data) = read_element(opaque)?;
    if id != SM_DATA_ID_SUPPORTED {
        return Err(Error::InvalidField("SMDataID"));
    }
    let mut r = Reader::new(data);
    let count = r.u8()?;
    let mut found = false;
    for _ in 0..count {
        found |= r.u16()? == version;
    }
    r.finish()?;
    Ok(found)
}

/// The version the responder selected.
pub fn selection(opaque: &[u8]) -> Result<u16> {
    let (id, data) = read_element(opaque)?;
    if id != SM_DATA_ID_SELECTION {
        return Err(Error::InvalidField("SMDataID"));
    }
    let mut r = Reader::new(data);
    let version = r.u16()?;
    r.finish()?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Supported-version list {1.1} as libspdm builds it for KEY_EXCHANGE
    /// (general opaque data format, DSP0277 1.1 SMData tables).
    #[test]
    fn golden_supported_versions() {
        let mut out = [0u8; MAX_LEN];
        let mut w = Writer::new(&mut out);
        write_supported(&mut w, &[SECURED_MESSAGE_VERSION_11]).unwrap();
        let len = w.len();
        assert_eq!(
            &out[..len],
            &[1, 0, 0, 0, 0, 0, 5, 0, 1, 1, 1, 0x00, 0x11, 0, 0, 0]
        );
        assert_eq!(supports(&out[..len], SECURED_MESSAGE_VERSION_11), Ok(true));
        assert_eq!(supports(&out[..len], 0x1000), Ok(false));
        assert_eq!(selection(&out[..len]), Err(Error::InvalidField("SMDataID")));
    }

    /// Two versions {1.1, 1.2}: VersionCount 2, entries 0x1100 and 0x1200,
    /// element padded from 11 to 12 bytes.
    #[test]
    fn golden_two_supported_versions() {
        let mut out = [0u8; MAX_LEN];
        let mut w = Writer::new(&mut out);
        let both = [SECURED_MESSAGE_VERSION_11, SECURED_MESSAGE_VERSION_12];
        write_supported(&mut w, &both).unwrap();
        let len = w.len();
        assert_eq!(
            &out[..len],
            &[1, 0, 0, 0, 0, 0, 7, 0, 1, 1, 2, 0x00, 0x11, 0x00, 0x12, 0]
        );
        assert_eq!(supports(&out[..len], SECURED_MESSAGE_VERSION_12), Ok(true));
        let mut w = Writer::new(&mut out);
        assert_eq!(
            write_supported(&mut w, &[]),
            Err(Error::InvalidField("VersionCount"))
        );
    }

    #[test]
    fn golden_version_selection() {
        let mut out = [0u8; MAX_LEN];
        let mut w = Writer::new(&mut out);
        write_selection(&mut w, SECURED_MESSAGE_VERSION_11).unwrap();
        let len = w.len();
        assert_eq!(&out[..len], &[1, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0x00, 0x11]);
        assert_eq!(selection(&out[..len]), Ok(SECURED_MESSAGE_VERSION_11));
    }
}
