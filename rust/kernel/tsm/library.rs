// SPDX-License-Identifier: GPL-2.0

//! Library calls of a PCI/TSM core (`include/linux/pci-tsm.h`) for backends and test drivers.

use super::{RequestScope, VmHandle};
use crate::{bindings, error::to_result, pci, prelude::*};

/// Binds the TDI of the managed function `pdev` to `vm` through its TSM (C `pci_tsm_bind()`).
///
/// Binding again to the same VM succeeds; `EBUSY` if bound to another, `ENXIO` if `pdev` is not
/// managed by a link TSM.
pub fn bind(pdev: &pci::Device, vm: VmHandle, tdi_id: u32) -> Result {
    // SAFETY: `pdev` is live; the core checks its TSM state under its own locks.
    to_result(unsafe { bindings::pci_tsm_bind(pdev.as_raw(), vm.as_raw(), tdi_id) })
}

/// Unbinds the TDI of `pdev`, if bound (C `pci_tsm_unbind()`).
pub fn unbind(pdev: &pci::Device) {
    // SAFETY: `pdev` is live.
    unsafe { bindings::pci_tsm_unbind(pdev.as_raw()) }
}

/// Relays a guest request from kernel buffers to the TSM of the bound TDI `pdev`
/// (C `pci_tsm_guest_req()`). Returns the residue and the TSM's status code.
pub fn guest_req(
    pdev: &pci::Device,
    scope: RequestScope,
    request: &[u8],
    response: &mut [u8],
) -> Result<(usize, u64)> {
    let mut code = 0u64;
    // SAFETY: `pdev` is live; both sockptrs are kernel buffers of the lengths passed.
    let ret = unsafe {
        bindings::pci_tsm_guest_req(
            pdev.as_raw(),
            scope.as_raw(),
            bindings::kernel_sockptr(request.as_ptr().cast_mut().cast()),
            request.len(),
            bindings::kernel_sockptr(response.as_mut_ptr().cast()),
            response.len(),
            &mut code,
        )
    };
    if ret < 0 {
        // CAST: a negative return is an errno.
        return Err(Error::from_errno(ret as c_int));
    }
    // CAST: non-negative and at most `response.len()`.
    Ok((ret as usize, code))
}

/// Exchanges one DOE object with the DSM `pdev` over its CMA mailbox
/// (C `pci_tsm_doe_transfer()`); returns the response length.
pub fn doe_transfer(
    pdev: &pci::Device,
    object_type: u8,
    request: &[u8],
    response: &mut [u8],
) -> Result<usize> {
    // SAFETY: `pdev` is live; the buffers are valid for their lengths.
    let ret = unsafe {
        bindings::pci_tsm_doe_transfer(
            pdev.as_raw(),
            object_type,
            request.as_ptr().cast(),
            request.len(),
            response.as_mut_ptr().cast(),
            response.len(),
        )
    };
    to_result(ret)?;
    // CAST: non-negative here.
    Ok(ret as usize)
}

/// How a DSM's secure connection protects its link (the seed RFC's `tsm/connect_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectMode {
    /// Link IDE between the Root Port and the DSM directly below it.
    Link,
    /// A Selective IDE Stream (the only mode of Linux 7.3).
    Selective,
}

/// The connect mode the operator chose for the DSM `pdev` (`tsm/connect_mode`, a tsm-rs
/// addition). On upstream's C core, which has no such choice, always [`ConnectMode::Selective`].
pub fn connect_mode(pdev: &pci::Device) -> ConnectMode {
    #[cfg(CONFIG_PCI_TSM_RUST)]
    {
        // Declared here, untyped: only tsm-rs' PCI/TSM core has it, and no C header does.
        extern "C" {
            fn pci_tsm_rs_connect_mode(pdev: *mut crate::ffi::c_void) -> bool;
        }
        // SAFETY: `pdev` is live; the core only reads its own state for it.
        if unsafe { pci_tsm_rs_connect_mode(pdev.as_raw().cast()) } {
            return ConnectMode::Link;
        }
    }
    #[cfg(not(CONFIG_PCI_TSM_RUST))]
    let _ = pdev;
    ConnectMode::Selective
}
