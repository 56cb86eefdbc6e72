// SPDX-License-Identifier: GPL-2.0

//! The IDE extended capability (PCIe r6.x section 7.9.26) of a port: Link IDE register blocks
//! for each traffic class, then Selective IDE Stream register blocks.
//!
//! Control and association registers are plain read/write registers. A Link or Selective IDE
//! Stream Status register is computed when read, from the stream's Control register and the
//! keys both ends of the stream hold ([`crate::ide_keys`]): Secure only while Enable is set and
//! the keys match.

use crate::config_space::ConfigSpace;
use kernel::uapi;

/// Extended capability ID of IDE.
const EXT_CAP_ID: u32 = 0x30;
/// Selective IDE Stream register block size without address association blocks.
const SEL_BLOCK_BASE: u16 = 20;

/// Where a port's IDE capability is and what it offers.
#[derive(Clone, Copy)]
pub(crate) struct IdeCapability {
    /// Offset of the capability header.
    pub(crate) offset: u16,
    /// Link IDE traffic classes (0: no Link IDE).
    pub(crate) link_tcs: u8,
    /// Selective IDE Streams (at least 1).
    pub(crate) sel_streams: u8,
    /// Address association blocks per Selective IDE Stream.
    pub(crate) assoc: u8,
}

impl IdeCapability {
    fn sel_block_size(&self) -> u16 {
        // CAST: the uapi constant is 12.
        SEL_BLOCK_BASE + uapi::PCI_IDE_SEL_ADDR_BLOCK_SIZE as u16 * u16::from(self.assoc)
    }

    fn link_block(&self, tc: u8) -> u16 {
        // CAST: the uapi constants are small register offsets.
        self.offset
            + uapi::PCI_IDE_LINK_STREAM_0 as u16
            + u16::from(tc) * uapi::PCI_IDE_LINK_BLOCK_SIZE as u16
    }

    fn sel_block(&self, stream: u8) -> u16 {
        self.link_block(self.link_tcs) + u16::from(stream) * self.sel_block_size()
    }

    /// Bytes the capability occupies.
    pub(crate) fn size(&self) -> u16 {
        self.sel_block(self.sel_streams) - self.offset
    }

    /// Writes the capability into `cfg`, chained to the extended capability at `next`.
    pub(crate) fn install(&self, cfg: &mut ConfigSpace, next: u16) {
        // Header: ID, version 1, next capability.
        cfg.set(
            self.offset,
            4,
            EXT_CAP_ID | (1 << 16) | (u32::from(next) << 20),
        );
        let mut cap = uapi::PCI_IDE_CAP_SELECTIVE
            | uapi::PCI_IDE_CAP_IDE_KM
            | uapi::PCI_IDE_CAP_TEE_LIMITED
            // Number of Selective IDE Streams minus one, bits 23:16.
            | (u32::from(self.sel_streams - 1) << 16);
        if self.link_tcs > 0 {
            // Number of Link IDE TCs minus one, bits 15:13.
            cap |= uapi::PCI_IDE_CAP_LINK | (u32::from(self.link_tcs - 1) << 13);
        }
        // CAST: register offsets below 0x100.
        let (cap_reg, ctl_reg) = (uapi::PCI_IDE_CAP as u16, uapi::PCI_IDE_CTL as u16);
        cfg.set(self.offset + cap_reg, 4, cap);
        cfg.writable(self.offset + ctl_reg, 4, uapi::PCI_IDE_CTL_FLOWTHROUGH_IDE);
        for tc in 0..self.link_tcs {
            cfg.writable(self.link_block(tc) + uapi::PCI_IDE_LINK_CTL_0 as u16, 4, !0);
        }
        for stream in 0..self.sel_streams {
            let block = self.sel_block(stream);
            cfg.set(
                block + uapi::PCI_IDE_SEL_CAP as u16,
                4,
                u32::from(self.assoc),
            );
            cfg.writable(block + uapi::PCI_IDE_SEL_CTL as u16, 4, !0);
            // RID Association 1: limit in bits 23:8; 2: valid, base in 23:8, segment in 31:24.
            cfg.writable(block + uapi::PCI_IDE_SEL_RID_1 as u16, 4, 0x00ff_ff00);
            cfg.writable(block + uapi::PCI_IDE_SEL_RID_2 as u16, 4, 0xffff_ff01);
            for assoc in 0..u16::from(self.assoc) {
                let addr =
                    block + SEL_BLOCK_BASE + assoc * uapi::PCI_IDE_SEL_ADDR_BLOCK_SIZE as u16;
                // Address Association 1 (valid, base and limit bits 31:20), 2 and 3 (upper
                // limit and base).
                cfg.writable(addr, 4, 0xffff_ff01);
                cfg.writable(addr + 4, 4, !0);
                cfg.writable(addr + 8, 4, !0);
            }
        }
    }

    /// The Control register of the stream whose Status register is the dword at `offset`, if
    /// it is one.
    pub(crate) fn status_to_control(&self, offset: u16) -> Option<u16> {
        let dword = offset & !3;
        // CAST: register offsets below 0x100.
        let link = (0..self.link_tcs).map(|tc| {
            let block = self.link_block(tc);
            (
                block + uapi::PCI_IDE_LINK_STS_0 as u16,
                block + uapi::PCI_IDE_LINK_CTL_0 as u16,
            )
        });
        let selective = (0..self.sel_streams).map(|stream| {
            let block = self.sel_block(stream);
            (
                block + uapi::PCI_IDE_SEL_STS as u16,
                block + uapi::PCI_IDE_SEL_CTL as u16,
            )
        });
        link.chain(selective)
            .find(|&(status, _)| status == dword)
            .map(|(_, control)| control)
    }
}
