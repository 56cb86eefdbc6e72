// SPDX-License-Identifier: GPL-2.0

//! The AMD Platform Security Processor (PSP) for SEV-TIO backends: commands through the ccp
//! driver's `sev_do_cmd()` and the pages a command names by physical address.
//!
//! C header: [`include/linux/psp-sev.h`](srctree/include/linux/psp-sev.h)

use crate::{
    alloc::AllocError,
    bindings,
    error::to_result,
    page::{Page, PAGE_SIZE},
    prelude::*,
};
use core::mem::ManuallyDrop;

/// What the PSP made of a command: the driver's result and the firmware's status (`psp_ret`).
///
/// SEV-TIO commands that wait for the host to relay an SPDM object end with a firmware status
/// other than success and, depending on the command, a driver result of success or `EIO`: a
/// caller reads both.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// What `sev_do_cmd()` returned (`ENODEV` without a PSP).
    pub result: Result,
    /// The firmware status code (`SEV_RET_*`).
    pub status: u32,
}

/// Issues PSP command `cmd` with the command buffer `buf`, which the ccp driver copies into its
/// own command buffer and back. Sleeps.
///
/// # Safety
///
/// `buf` is at least as long as the ccp driver's buffer length of `cmd`
/// (`sev_cmd_buffer_len()`), and every physical address the buffer holds names memory that
/// stays allocated, in the state the command requires (firmware-owned or not), until the
/// firmware is done with it (for a context, until it is reclaimed).
pub unsafe fn do_cmd(cmd: u32, buf: &mut [u8]) -> Outcome {
    let mut status: i32 = 0;
    let Ok(id) = i32::try_from(cmd) else {
        return Outcome {
            result: Err(EINVAL),
            status: 0,
        };
    };
    // SAFETY: The caller guarantees the buffer's length and the memory it names; `status` is a
    // valid `int` for the call.
    let ret = unsafe { bindings::sev_do_cmd(id, buf.as_mut_ptr().cast(), &mut status) };
    Outcome {
        result: to_result(ret),
        // CAST: `psp_ret` holds a 32-bit status code.
        status: status as u32,
    }
}

/// A page handed to the PSP by physical address: host-owned, or firmware-owned (assigned to
/// the firmware in the RMP table, as SEV-TIO's request, scratch and output buffers and its
/// contexts are) for as long as it lives.
///
/// # Invariants
///
/// `page` is firmware-owned exactly when `firmware` is true.
pub struct FirmwarePage {
    // Freed in `drop` unless the firmware keeps it.
    page: ManuallyDrop<Page>,
    firmware: bool,
}

impl FirmwarePage {
    /// A zeroed page; with `firmware`, assigned to the firmware.
    pub fn new(firmware: bool) -> Result<Self> {
        let page = Page::alloc_page(GFP_KERNEL | __GFP_ZERO).map_err(|AllocError| ENOMEM)?;
        if firmware {
            // SAFETY: `page` is a page this object owns; the firmware owns it from here until
            // `drop` returns it.
            to_result(unsafe { bindings::tsm_rmp_make_private(Self::pfn_of(&page)) })?;
        }
        Ok(Self {
            page: ManuallyDrop::new(page),
            firmware,
        })
    }

    fn pfn_of(page: &Page) -> u64 {
        // SAFETY: `page.as_ptr()` is a valid `struct page`.
        unsafe { bindings::tsm_page_to_pfn(page.as_ptr()) }
    }

    /// The page frame number the firmware is given.
    pub fn pfn(&self) -> u64 {
        Self::pfn_of(&self.page)
    }

    /// Bytes of the page.
    pub const SIZE: usize = PAGE_SIZE;

    /// Copies bytes from `offset` of the page into `out`.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        // SAFETY: `out` is valid for writes of its length; the firmware writes the page only
        // while a command runs, which the caller does not read concurrently with.
        unsafe { self.page.read_raw(out.as_mut_ptr(), offset, out.len()) }
    }

    /// Copies `data` to `offset` of the page (host-owned pages only: `EPERM` otherwise).
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Result {
        if self.firmware {
            return Err(EPERM);
        }
        // SAFETY: `data` is valid for reads of its length; `&mut self` excludes other users.
        unsafe { self.page.write_raw(data.as_ptr(), offset, data.len()) }
    }
}

impl Drop for FirmwarePage {
    fn drop(&mut self) {
        if self.firmware {
            let pfn = self.pfn();
            // SAFETY: The page is firmware-owned (type invariant) and no command uses it any
            // more.
            if let Err(e) = to_result(unsafe { bindings::tsm_rmp_make_shared(pfn) }) {
                // A page the host cannot take back must never be reused: it is leaked, as the
                // ccp driver does.
                pr_warn!("PSP page {:#x} not returned ({:?}): leaked\n", pfn, e);
                return;
            }
        }
        // SAFETY: The page is the host's again and dropped once, here.
        unsafe { ManuallyDrop::drop(&mut self.page) };
    }
}
