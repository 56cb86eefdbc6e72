// SPDX-License-Identifier: GPL-2.0

//! One function's configuration space: 4 KiB of registers, each byte with a write mask.
//!
//! Read-only bits (IDs, capability structures, BAR type bits) have mask 0; software-writable
//! bits 1. BAR sizing falls out of the masks: an address register keeps only the bits above the
//! BAR's size, so writing all ones reads back the size mask.

use kernel::prelude::*;

/// Bytes of PCIe configuration space per function.
pub(crate) const SIZE: usize = 4096;

/// Registers and write masks of one function.
#[derive(pin_init::Zeroable)]
pub(crate) struct ConfigSpace {
    data: [u8; SIZE],
    wmask: [u8; SIZE],
}

/// Whether an access of `size` bytes at `offset` is one the hardware answers: 1, 2 or 4 bytes,
/// naturally aligned, inside the space.
pub(crate) fn valid_access(offset: u16, size: u8) -> bool {
    matches!(size, 1 | 2 | 4)
        && offset % u16::from(size) == 0
        && usize::from(offset) + usize::from(size) <= SIZE
}

impl ConfigSpace {
    /// A zeroed, read-only space on the heap (8 KiB: too large for the stack).
    pub(crate) fn new() -> Result<KBox<Self>> {
        KBox::init(pin_init::init_zeroed(), GFP_KERNEL)
    }

    /// Reads `size` bytes at `offset`, little-endian; the access must be valid.
    pub(crate) fn read(&self, offset: u16, size: u8) -> u32 {
        let start = usize::from(offset);
        self.data[start..start + usize::from(size)]
            .iter()
            .rev()
            .fold(0, |acc, b| (acc << 8) | u32::from(*b))
    }

    /// Writes `size` bytes of `value` at `offset` through the write mask; the access must be
    /// valid.
    pub(crate) fn write(&mut self, offset: u16, size: u8, value: u32) {
        let start = usize::from(offset);
        for (i, byte) in value
            .to_le_bytes()
            .iter()
            .take(usize::from(size))
            .enumerate()
        {
            let mask = self.wmask[start + i];
            self.data[start + i] = (self.data[start + i] & !mask) | (byte & mask);
        }
    }

    /// Sets a register's initial value, ignoring the write mask.
    pub(crate) fn set(&mut self, offset: u16, size: u8, value: u32) {
        let start = usize::from(offset);
        let bytes = value.to_le_bytes();
        self.data[start..start + usize::from(size)].copy_from_slice(&bytes[..usize::from(size)]);
    }

    /// Makes the bits of `mask` in a register software-writable.
    pub(crate) fn writable(&mut self, offset: u16, size: u8, mask: u32) {
        let start = usize::from(offset);
        let bytes = mask.to_le_bytes();
        self.wmask[start..start + usize::from(size)].copy_from_slice(&bytes[..usize::from(size)]);
    }
}
