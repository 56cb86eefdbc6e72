// SPDX-License-Identifier: GPL-2.0

//! What the backend does with the TDX module that needs no device: one call of a leaf, its
//! completion status as an errno, the pages of an HPA_ARRAY_T and the SPDM configuration page.
//! Shared by the backend and its KUnit suite.

use crate::firmware::{Firmware, Page};
use kernel::{
    alloc::{KVVec, KVec},
    prelude::*,
};
use tsm_proto::{
    vendor::tdx_connect::{Args, HpaArray, SpdmConfig, Status, StatusClass},
    wire,
};

/// Bytes of a page.
pub(crate) const PAGE: usize = 0x1000;

/// A completion status as an errno: what the host did wrong, or the module refused (`EIO`).
pub(crate) fn status_errno(status: Status) -> Error {
    match status.class() {
        StatusClass::OperandInvalid | StatusClass::PageMetadataIncorrect => EINVAL,
        StatusClass::OperandBusy => EBUSY,
        _ => EIO,
    }
}

/// Issues `args` once: the completion status and the registers after the call. An error when
/// the module could not be reached.
pub(crate) fn call(fw: &dyn Firmware, args: Args) -> Result<(Status, Args)> {
    let mut out = args;
    let status = fw.call(&mut out)?;
    Ok((status, out))
}

/// Writes the SPDM configuration of TDH.SPDM.CONNECT into `page`: every certificate slot, no
/// optional capability.
pub(crate) fn write_spdm_config(page: &mut dyn Page) -> Result {
    let config = SpdmConfig {
        vmm_spdm_cap: 0,
        session_policy: 0,
        certificate_slot_mask: 0xff,
        raw_bitstream_requested: 0,
    };
    let mut raw = [0u8; 8];
    let n = wire::encode_into(&mut raw, |w| config.write(w)).map_err(|_| EINVAL)?;
    page.write(0, &raw[..n])
}

/// Pages given to the module as one HPA_ARRAY_T: one page, or several listed in a root page.
pub(crate) struct PageArray {
    pages: KVec<KBox<dyn Page>>,
    root: Option<KBox<dyn Page>>,
}

impl PageArray {
    pub(crate) fn new(fw: &dyn Firmware, count: u16) -> Result<Self> {
        let mut pages = KVec::new();
        for _ in 0..count.max(1) {
            pages.push(fw.alloc()?, GFP_KERNEL)?;
        }
        let root = if pages.len() > 1 {
            let mut root = fw.alloc()?;
            for (i, page) in pages.iter().enumerate() {
                root.write(i * 8, &(page.pfn() << 12).to_le_bytes())?;
            }
            Some(root)
        } else {
            None
        };
        Ok(Self { pages, root })
    }

    pub(crate) fn hpa(&self) -> HpaArray {
        let pfn = self.root.as_ref().map_or(self.pages[0].pfn(), |r| r.pfn());
        // CAST: at most `Info`'s page counts.
        HpaArray {
            pfn,
            count: self.pages.len() as u16,
        }
    }

    pub(crate) fn raw(&self) -> Result<u64> {
        self.hpa().raw().map_err(|_| EINVAL)
    }

    /// The address a DELETE names: the root page, or the only page.
    pub(crate) fn root_pa(&self) -> u64 {
        self.hpa().pfn << 12
    }

    /// The first `len` bytes of the pages.
    pub(crate) fn read(&self, len: usize) -> Result<KVVec<u8>> {
        if len > self.pages.len() * PAGE {
            return Err(EPROTO);
        }
        let mut out = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
        for (chunk, page) in out.chunks_mut(PAGE).zip(self.pages.iter()) {
            page.read(0, chunk)?;
        }
        Ok(out)
    }
}
