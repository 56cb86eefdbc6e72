// SPDX-License-Identifier: GPL-2.0

//! SEAMCALLs to the TDX Module Extension, in which the TDX Connect leaves run (TDH.SPDM.*,
//! TDH.IDE.STREAM.*), and the pages such a call names by physical address.
//!
//! **Compile-only, untested.** Linux 7.3 neither enables the TDX Module Extension
//! (TDH.EXT.MEM.ADD, TDH.EXT.INIT: the unmerged "Enable TDX Module Extensions" host series) nor
//! exports SEAMCALL to modules (`__seamcall_ret()` is internal to `arch/x86/virt/vmx/tdx/`), so
//! [`call`] reports `ENODEV` through its C helper until that series is merged; the helper is
//! the one place to change then.

use crate::{
    alloc::AllocError,
    bindings,
    error::to_result,
    page::{Page, PAGE_SIZE},
    prelude::*,
};

/// The argument and result registers of one SEAMCALL (`struct tdx_module_args`, the ones TDX
/// Connect leaves use).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Regs {
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

/// Issues the TDX Module Extension leaf `leaf` with `regs`, which receive the outputs; returns
/// the completion status (RAX), or `ENODEV` when there is no TDX Module Extension to call.
///
/// # Safety
///
/// Every physical address in `regs` names memory that stays allocated, and is not touched by
/// the host, for as long as the leaf's definition gives it to the TDX module (for metadata
/// pages: until the object they hold is deleted and the pages are released).
pub unsafe fn call(leaf: u64, regs: &mut Regs) -> Result<u64> {
    let mut status = 0u64;
    // SAFETY: `regs` is a `#[repr(C)]` array of nine `u64`, as the helper reads and writes;
    // `status` is valid for writes; the caller guarantees the memory `regs` names.
    to_result(unsafe {
        bindings::tsm_tdx_ext_seamcall(leaf, core::ptr::from_mut(regs).cast(), &mut status)
    })?;
    Ok(status)
}

/// A page given to the TDX module by physical address (a request, response or configuration
/// page, or one page of metadata).
pub struct ModulePage(Page);

impl ModulePage {
    /// Bytes of the page.
    pub const SIZE: usize = PAGE_SIZE;

    /// A zeroed page.
    pub fn new() -> Result<Self> {
        Ok(Self(
            Page::alloc_page(GFP_KERNEL | __GFP_ZERO).map_err(|AllocError| ENOMEM)?,
        ))
    }

    /// Its page frame number.
    pub fn pfn(&self) -> u64 {
        // SAFETY: `self.0.as_ptr()` is a valid `struct page`.
        unsafe { bindings::tsm_page_to_pfn(self.0.as_ptr()) }
    }

    /// Copies bytes from `offset` of the page into `out`.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        // SAFETY: `out` is valid for writes of its length; the module writes the page only
        // during a call, which the caller does not read concurrently with.
        unsafe { self.0.read_raw(out.as_mut_ptr(), offset, out.len()) }
    }

    /// Copies `data` to `offset` of the page.
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Result {
        // SAFETY: `data` is valid for reads of its length; `&mut self` excludes other users.
        unsafe { self.0.write_raw(data.as_ptr(), offset, data.len()) }
    }
}
