// SPDX-License-Identifier: GPL-2.0
//! PCIe Data Object Exchange (DOE) framing.
//!
//! Source: PCIe Base r6.x section 6.30 and Linux `include/uapi/linux/pci_regs.h`
//! (`PCI_DOE_*`). A data object is two header dwords followed by payload
//! dwords:
//!
//! * DW0: Vendor ID `[15:0]`, Data Object Type `[23:16]`, reserved `[31:24]`.
//! * DW1: Length `[17:0]` in dwords, *including* the two header dwords;
//!   the value 0 means 2^18 dwords (1 MiB), the largest object.
//!
//! Byte streams such as SPDM messages are padded with up to three bytes to a
//! whole dword; the SPDM layer learns the real length from the message itself
//! and checks the rest with [`check_padding`].

use super::wire::{Error, Reader, Result, Writer};

/// PCI-SIG vendor ID, owner of the discovery and CMA object types.
pub const PCI_SIG_VENDOR_ID: u16 = 0x0001;
/// Data object type of DOE discovery.
pub const TYPE_DISCOVERY: u8 = 0;
/// Data object type of CMA/SPDM (plain SPDM messages).
pub const TYPE_CMA: u8 = 1;
/// Data object type of secured CMA/SPDM (DSP0277 secured messages).
pub const TYPE_SECURED_CMA: u8 = 2;

/// Size of the data object header in bytes.
pub const HEADER_LEN: usize = 8;
/// Largest data object, in dwords (the Length field wraps to 0 here).
pub const MAX_OBJECT_DWORDS: u32 = 1 << 18;
/// Largest data object, in bytes.
pub const MAX_OBJECT_BYTES: usize = (MAX_OBJECT_DWORDS as usize) * 4;
/// Width of the Length field.
const LENGTH_MASK: u32 = MAX_OBJECT_DWORDS - 1;

/// DOE extended capability ID.
pub const EXT_CAP_ID: u16 = 0x002E;
/// Offset of the DOE Capabilities register.
pub const REG_CAP: u16 = 0x04;
/// Offset of the DOE Control register.
pub const REG_CTRL: u16 = 0x08;
/// Offset of the DOE Status register.
pub const REG_STATUS: u16 = 0x0C;
/// Offset of the DOE Write Data Mailbox register.
pub const REG_WRITE: u16 = 0x10;
/// Offset of the DOE Read Data Mailbox register.
pub const REG_READ: u16 = 0x14;
/// Control: abort the current exchange.
pub const CTRL_ABORT: u32 = 1 << 0;
/// Control: interrupt enable.
pub const CTRL_INT_EN: u32 = 1 << 1;
/// Control: the request object is complete, process it.
pub const CTRL_GO: u32 = 1 << 31;
/// Status: the mailbox is busy.
pub const STATUS_BUSY: u32 = 1 << 0;
/// Status: interrupt status (RW1C).
pub const STATUS_INT_STATUS: u32 = 1 << 1;
/// Status: the mailbox saw an error.
pub const STATUS_ERROR: u32 = 1 << 2;
/// Status: a response object is ready to be read.
pub const STATUS_DATA_OBJECT_READY: u32 = 1 << 31;

/// A decoded data object header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Vendor ID owning `object_type`.
    pub vendor_id: u16,
    /// Data object type.
    pub object_type: u8,
    /// Object length in dwords including the header, 2..=2^18.
    pub length_dw: u32,
}

impl Header {
    /// Header of an object carrying `payload_len` bytes, padded to dwords.
    pub fn for_payload(vendor_id: u16, object_type: u8, payload_len: usize) -> Result<Self> {
        let bytes = padded_len(payload_len)
            .checked_add(HEADER_LEN)
            .ok_or(Error::InvalidField("length"))?;
        if bytes > MAX_OBJECT_BYTES {
            return Err(Error::InvalidField("length"));
        }
        // bytes <= 1 MiB, so the dword count fits in u32.
        let length_dw = u32::try_from(bytes / 4).map_err(|_| Error::InvalidField("length"))?;
        Ok(Self {
            vendor_id,
            object_type,
            length_dw,
        })
    }

    /// Decodes the two header dwords.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let dw0 = r.u32()?;
        let dw1 = r.u32()?;
        let length_dw = match dw1 & LENGTH_MASK {
            0 => MAX_OBJECT_DWORDS,
            n => n,
        };
        if length_dw < 2 {
            return Err(Error::InvalidField("length"));
        }
        Ok(Self {
            vendor_id: dw0 as u16,
            object_type: (dw0 >> 16) as u8,
            length_dw,
        })
    }

    /// Encodes the two header dwords.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        if !(2..=MAX_OBJECT_DWORDS).contains(&self.length_dw) {
            return Err(Error::InvalidField("length"));
        }
        w.u32(u32::from(self.vendor_id) | (u32::from(self.object_type) << 16))?;
        w.u32(self.length_dw & LENGTH_MASK)
    }

    /// Object length in bytes including the header.
    pub fn len_bytes(&self) -> usize {
        self.length_dw as usize * 4
    }
}

/// `len` rounded up to a whole number of dwords.
pub fn padded_len(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// Splits a complete data object into its header and (padded) payload.
///
/// The object must be exactly as long as its Length field says.
pub fn decode_object(object: &[u8]) -> Result<(Header, &[u8])> {
    let mut r = Reader::new(object);
    let header = Header::read(&mut r)?;
    let payload = r.bytes(header.len_bytes() - HEADER_LEN)?;
    r.finish()?;
    Ok((header, payload))
}

/// Encodes a data object carrying `payload` into `out`, padding it with
/// zeros to a dword boundary. Returns the object length in bytes.
pub fn encode_object(
    vendor_id: u16,
    object_type: u8,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize> {
    encode_object_with(vendor_id, object_type, out, |w| w.bytes(payload))
}

/// Encodes a data object whose payload `body` writes straight into `out`,
/// avoiding a second buffer. Returns the object length in bytes.
pub fn encode_object_with(
    vendor_id: u16,
    object_type: u8,
    out: &mut [u8],
    body: impl FnOnce(&mut Writer<'_>) -> Result<()>,
) -> Result<usize> {
    let (head, tail) = split_header_mut(out)?;
    let mut w = Writer::new(tail);
    body(&mut w)?;
    let payload_len = w.len();
    w.zeros(padded_len(payload_len) - payload_len)?;
    let header = Header::for_payload(vendor_id, object_type, payload_len)?;
    header.write(&mut Writer::new(head))?;
    Ok(header.len_bytes())
}

/// Splits `out` into the header bytes and the space after them.
fn split_header_mut(out: &mut [u8]) -> Result<(&mut [u8], &mut [u8])> {
    if out.len() < HEADER_LEN {
        return Err(Error::BufferTooSmall);
    }
    Ok(out.split_at_mut(HEADER_LEN))
}

/// Checks what is left after a byte-stream message inside a payload: at most
/// the three bytes of dword padding.
pub fn check_padding(rest: &[u8]) -> Result<()> {
    if rest.len() > 3 {
        return Err(Error::TrailingBytes);
    }
    Ok(())
}

/// DOE discovery request payload (one dword).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscoveryRequest {
    /// Index of the feature being asked about; 0 is discovery itself.
    pub index: u8,
    /// Discovery version: 0 for DOE 1.0, 2 when the capability version is 2
    /// (Linux `pci_doe_discovery`).
    pub version: u8,
}

impl DiscoveryRequest {
    /// Decodes the payload dword (reserved bits ignored).
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let dw = r.u32()?;
        Ok(Self {
            index: dw as u8,
            version: (dw >> 8) as u8,
        })
    }

    /// Encodes the payload dword.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u32(u32::from(self.index) | (u32::from(self.version) << 8))
    }
}

/// DOE discovery response payload (one dword).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscoveryResponse {
    /// Vendor ID of the feature at the requested index.
    pub vendor_id: u16,
    /// Data object type of that feature.
    pub object_type: u8,
    /// Index of the next feature; 0 ends the list.
    pub next_index: u8,
}

impl DiscoveryResponse {
    /// Decodes the payload dword.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let dw = r.u32()?;
        Ok(Self {
            vendor_id: dw as u16,
            object_type: (dw >> 16) as u8,
            next_index: (dw >> 24) as u8,
        })
    }

    /// Encodes the payload dword.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u32(
            u32::from(self.vendor_id)
                | (u32::from(self.object_type) << 16)
                | (u32::from(self.next_index) << 24),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Discovery request for index 1, version 0, as the Linux DOE core sends
    /// it: header DW0 = 0x0000_0001 (PCI-SIG, type 0), DW1 = 3 dwords.
    #[test]
    fn golden_discovery_request() {
        let mut out = [0u8; 16];
        let req = DiscoveryRequest {
            index: 1,
            version: 0,
        };
        let len = encode_object_with(PCI_SIG_VENDOR_ID, TYPE_DISCOVERY, &mut out, |w| {
            req.write(w)
        })
        .unwrap();
        assert_eq!(
            &out[..len],
            &[0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]
        );
        let (header, payload) = decode_object(&out[..len]).unwrap();
        assert_eq!(
            header,
            Header {
                vendor_id: 1,
                object_type: 0,
                length_dw: 3
            }
        );
        assert_eq!(DiscoveryRequest::read(&mut Reader::new(payload)), Ok(req));
    }

    /// Discovery response "PCI-SIG CMA, next index 2": 0x02_01_0001.
    #[test]
    fn golden_discovery_response() {
        let rsp = DiscoveryResponse {
            vendor_id: PCI_SIG_VENDOR_ID,
            object_type: TYPE_CMA,
            next_index: 2,
        };
        let mut out = [0u8; 4];
        let len = crate::wire::encode_into(&mut out, |w| rsp.write(w)).unwrap();
        assert_eq!(&out[..len], &[0x01, 0x00, 0x01, 0x02]);
    }

    #[test]
    fn byte_stream_is_padded_to_dwords() {
        let mut out = [0xAAu8; 16];
        let len = encode_object(
            PCI_SIG_VENDOR_ID,
            TYPE_CMA,
            &[0x10, 0x84, 0, 0, 0x55],
            &mut out,
        )
        .unwrap();
        assert_eq!(len, 16);
        assert_eq!(&out[8..16], &[0x10, 0x84, 0, 0, 0x55, 0, 0, 0]);
        let (_, payload) = decode_object(&out[..len]).unwrap();
        let mut r = Reader::new(payload);
        r.bytes(5).unwrap();
        assert_eq!(check_padding(r.rest()), Ok(()));
    }

    #[test]
    fn length_zero_means_max_object() {
        let header = Header::read(&mut Reader::new(&[1, 0, 1, 0, 0, 0, 0, 0])).unwrap();
        assert_eq!(header.length_dw, MAX_OBJECT_DWORDS);
        assert_eq!(header.len_bytes(), MAX_OBJECT_BYTES);
        let mut out = [0u8; 8];
        header.write(&mut Writer::new(&mut out)).unwrap();
        assert_eq!(out, [1, 0, 1, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn malformed_objects_are_rejected() {
        // Length 1 dword is smaller than the header.
        assert_eq!(
            decode_object(&[1, 0, 1, 0, 1, 0, 0, 0]),
            Err(Error::InvalidField("length"))
        );
        // Length says 3 dwords but only 2 are present.
        assert_eq!(
            decode_object(&[1, 0, 1, 0, 3, 0, 0, 0]),
            Err(Error::Truncated)
        );
        // Extra bytes after the object.
        assert_eq!(
            decode_object(&[1, 0, 1, 0, 2, 0, 0, 0, 0]),
            Err(Error::TrailingBytes)
        );
        // A payload larger than 1 MiB minus the header cannot be framed.
        assert_eq!(
            Header::for_payload(1, 1, MAX_OBJECT_BYTES - 7),
            Err(Error::InvalidField("length"))
        );
        assert!(Header::for_payload(1, 1, MAX_OBJECT_BYTES - 8).is_ok());
        assert_eq!(check_padding(&[0; 4]), Err(Error::TrailingBytes));
    }
}
