// SPDX-License-Identifier: GPL-2.0

//! RISC-V SBI calls for TSM backends that reach their firmware through the Supervisor Binary
//! Interface (the CoVE-IO host extension, COVH), and the pages such calls name by physical
//! address.
//!
//! C header: [`arch/riscv/include/asm/sbi.h`](srctree/arch/riscv/include/asm/sbi.h)

use crate::{
    alloc::AllocError,
    bindings,
    page::{Page, PAGE_SIZE},
    prelude::*,
};

/// The two halves of an SBI return (`struct sbiret`): `error` (0 for success, an
/// `SBI_ERR_*` code otherwise) and `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SbiRet {
    /// `sbiret.error`.
    pub error: i64,
    /// `sbiret.value`.
    pub value: u64,
}

/// Whether the SBI implementation provides extension `eid` (`sbi_probe_extension()`).
pub fn probe_extension(eid: u32) -> bool {
    // CAST: SBI extension IDs are 32-bit values the C interface takes as `int`.
    let eid = eid as i32;
    // SAFETY: Probing an extension has no side effects and takes no pointers.
    unsafe { bindings::tsm_sbi_probe_extension(eid) > 0 }
}

/// Issues SBI function `fid` of extension `eid` with arguments `a0..a5` (`sbi_ecall()`).
///
/// # Safety
///
/// Every argument the function takes as a physical address names memory that stays
/// allocated, and is not used otherwise in a way the function forbids, for as long as the
/// firmware may access it (for CoVE-IO output buffers: until the call returns).
pub unsafe fn ecall(eid: u32, fid: u32, args: [u64; 6]) -> SbiRet {
    let mut value: crate::ffi::c_ulong = 0;
    // CAST: `eid` and `fid` are 32-bit values the C interface takes as `int`; the arguments
    // are register-sized on riscv64.
    let (e, f) = (eid as i32, fid as i32);
    let [a0, a1, a2, a3, a4, a5] = args.map(|v| v as crate::ffi::c_ulong);
    // SAFETY: The caller guarantees the memory the arguments name; `value` is a valid
    // `unsigned long` for the call.
    let error = unsafe { bindings::tsm_sbi_ecall(e, f, a0, a1, a2, a3, a4, a5, &mut value) };
    SbiRet {
        // CAST: `long` and `unsigned long` are 64-bit on riscv64.
        error: error as i64,
        value: value as u64,
    }
}

/// A zeroed page the host shares with the firmware by physical address (e.g. a CoVE-IO
/// output buffer), host memory that both read and write.
pub struct SharedPage(Page);

impl SharedPage {
    /// Bytes of the page.
    pub const SIZE: usize = PAGE_SIZE;

    /// A zeroed page.
    pub fn new() -> Result<Self> {
        let page = Page::alloc_page(GFP_KERNEL | __GFP_ZERO).map_err(|AllocError| ENOMEM)?;
        Ok(Self(page))
    }

    /// Its physical address (page aligned).
    pub fn phys(&self) -> u64 {
        // SAFETY: `self.0.as_ptr()` is a valid `struct page`.
        unsafe { bindings::tsm_page_to_phys(self.0.as_ptr()) }
    }

    /// Copies bytes from `offset` of the page into `out`.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        // SAFETY: `out` is valid for writes of its length; the firmware writes the page only
        // during a call, which the caller does not overlap with reads.
        unsafe { self.0.read_raw(out.as_mut_ptr(), offset, out.len()) }
    }

    /// Copies `data` to `offset` of the page.
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Result {
        // SAFETY: `data` is valid for reads of its length; `&mut self` excludes other users.
        unsafe { self.0.write_raw(data.as_ptr(), offset, data.len()) }
    }
}
