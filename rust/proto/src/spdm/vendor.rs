// SPDX-License-Identifier: GPL-2.0
//! VENDOR_DEFINED_REQUEST / VENDOR_DEFINED_RESPONSE with the PCI-SIG
//! header that carries IDE_KM and TDISP (PCIe r6.x "CMA/SPDM vendor-defined
//! messages"; libspdm `pci_idekm.h`/`pci_tdisp.h`).
//!
//! ```text
//! SPDM header(4) StandardID(2)=3 (PCI-SIG) Len(1)=2 VendorID(2)=0x0001
//! PayloadLength(2) | ProtocolID(1) protocol message...
//! ```

use super::code;
use super::msg::Header;
use super::wire::{Error, Reader, Result, Writer};

/// DMTF registry StandardID of PCI-SIG.
pub const STANDARD_ID_PCI_SIG: u16 = 3;
/// PCI-SIG vendor ID inside the vendor-defined header.
pub const VENDOR_ID_PCI_SIG: u16 = 0x0001;
/// PCI-SIG protocol ID of IDE_KM.
pub const PROTOCOL_IDE_KM: u8 = 0x00;
/// PCI-SIG protocol ID of TDISP.
pub const PROTOCOL_TDISP: u8 = 0x01;
/// Bytes before the protocol message: SPDM header (4), StandardID (2),
/// Len (1), VendorID (2), PayloadLength (2), ProtocolID (1).
pub const HEADER_LEN: usize = 12;

/// A PCI-SIG vendor-defined request or response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciSigMessage<'a> {
    /// SPDMVersion of the message.
    pub version: u8,
    /// Protocol ID (IDE_KM or TDISP).
    pub protocol: u8,
    /// The protocol message after the protocol ID.
    pub body: &'a [u8],
}

impl<'a> PciSigMessage<'a> {
    /// Decodes a VENDOR_DEFINED_REQUEST (`code::VENDOR_DEFINED_REQUEST`) or
    /// RESPONSE (`code::VENDOR_DEFINED_RESPONSE`) whose vendor is PCI-SIG.
    pub fn read(r: &mut Reader<'a>, expected_code: u8) -> Result<Self> {
        let h = Header::read_code(r, expected_code)?;
        if r.u16()? != STANDARD_ID_PCI_SIG {
            return Err(Error::InvalidField("StandardID"));
        }
        if r.u8()? != 2 || r.u16()? != VENDOR_ID_PCI_SIG {
            return Err(Error::InvalidField("VendorID"));
        }
        let payload_len = usize::from(r.u16()?);
        let mut payload = Reader::new(r.bytes(payload_len)?);
        let protocol = payload.u8()?;
        Ok(Self {
            version: h.version,
            protocol,
            body: payload.rest(),
        })
    }

    /// Encodes the header and lets `body` write the protocol message
    /// in place. `code` picks request or response.
    pub fn write_with(
        w: &mut Writer<'_>,
        version: u8,
        code: u8,
        protocol: u8,
        body: impl FnOnce(&mut Writer<'_>) -> Result<()>,
    ) -> Result<()> {
        if code != self::code::VENDOR_DEFINED_REQUEST && code != self::code::VENDOR_DEFINED_RESPONSE
        {
            return Err(Error::InvalidField("RequestResponseCode"));
        }
        Header {
            version,
            code,
            param1: 0,
            param2: 0,
        }
        .write(w)?;
        w.u16(STANDARD_ID_PCI_SIG)?;
        w.u8(2)?;
        w.u16(VENDOR_ID_PCI_SIG)?;
        let start = w.len();
        w.u16(0)?;
        w.u8(protocol)?;
        body(w)?;
        let payload_len = w.len() - start - 2;
        let len = u16::try_from(payload_len).map_err(|_| Error::InvalidField("PayloadLength"))?;
        w.written_mut()
            .get_mut(start..start + 2)
            .ok_or(Error::BufferTooSmall)?
            .copy_from_slice(&len.to_le_bytes());
        Ok(())
    }

    /// Encodes the message.
    pub fn write(&self, w: &mut Writer<'_>, code: u8) -> Result<()> {
        Self::write_with(w, self.version, code, self.protocol, |w| w.bytes(self.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IDE_KM QUERY (port 0) wrapped in a 1.2 VENDOR_DEFINED_REQUEST, as
    /// spdm-emu sends it: StandardID 3, VendorID 0x0001, length 4,
    /// protocol 0, ObjectID 0, reserved, PortIndex 0.
    #[test]
    fn golden_ide_km_query_wrapper() {
        let mut out = [0u8; 32];
        let mut w = Writer::new(&mut out);
        PciSigMessage {
            version: 0x12,
            protocol: PROTOCOL_IDE_KM,
            body: &[0x00, 0x00, 0x00],
        }
        .write(&mut w, code::VENDOR_DEFINED_REQUEST)
        .unwrap();
        let len = w.len();
        assert_eq!(
            &out[..len],
            &[0x12, 0xFE, 0, 0, 0x03, 0x00, 0x02, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]
        );
        let m = PciSigMessage::read(&mut Reader::new(&out[..len]), code::VENDOR_DEFINED_REQUEST)
            .unwrap();
        assert_eq!(m.body, &[0, 0, 0]);
        assert_eq!(m.protocol, PROTOCOL_IDE_KM);
    }
}
