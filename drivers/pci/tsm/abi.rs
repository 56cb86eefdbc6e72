// SPDX-License-Identifier: GPL-2.0

//! The C interface: the PCI core hooks of `drivers/pci/pci.h` and the library of
//! `include/linux/pci-tsm.h`, raw pointers in, safe types inside.

use crate::lifecycle;
use core::num::NonZeroUsize;
use kernel::{
    bindings,
    ffi::{c_int, c_void},
    pci,
    prelude::*,
    tsm::{
        context::{self, Context},
        Personality, RequestScope, TsmDevice, VmHandle,
    },
};

/// # Safety
///
/// `pdev` is a live PCI device for `'a`.
unsafe fn pci_device<'a>(pdev: *mut bindings::pci_dev) -> &'a pci::Device {
    // SAFETY: `pdev` is live for `'a` (the function's safety requirements).
    unsafe { pci::Device::from_raw(pdev) }
}

fn errno(result: Result) -> c_int {
    match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Sets the core's locks up; called by the C glue at `core_initcall`, before PCI enumeration.
#[no_mangle]
pub extern "C" fn pci_tsm_core_init() -> c_int {
    errno(lifecycle::init())
}

/// Registers the `pci-tsm` generic netlink family; called by the C glue at `device_initcall`,
/// after generic netlink is up (`subsys_initcall`).
#[cfg(CONFIG_NET)]
#[no_mangle]
pub extern "C" fn pci_tsm_netlink_init() -> c_int {
    errno(crate::netlink::init())
}

/// Whether the DSM `pdev` is set to Link IDE (`tsm/connect_mode`, a tsm-rs addition); read by
/// link TSMs at connect through `kernel::tsm::connect_mode()`.
///
/// # Safety
///
/// `pdev` is a live PCI device.
#[no_mangle]
pub unsafe extern "C" fn pci_tsm_rs_connect_mode(pdev: *mut bindings::pci_dev) -> bool {
    // SAFETY: By the function's safety requirements.
    crate::connect_mode::is_link(unsafe { pci_device(pdev) })
}

/// PCI core hook: `pdev` was just added (`pci_device_add()`).
///
/// # Safety
///
/// `pdev` is a live, added PCI device.
#[export]
pub unsafe extern "C" fn pci_tsm_init(pdev: *mut bindings::pci_dev) {
    // SAFETY: By the function's safety requirements.
    lifecycle::init_device(unsafe { pci_device(pdev) });
}

/// PCI core hook: `pdev` is about to be removed, still in D0 (`pci_destroy_dev()`).
///
/// # Safety
///
/// `pdev` is a live PCI device.
#[export]
pub unsafe extern "C" fn pci_tsm_destroy(pdev: *mut bindings::pci_dev) {
    // SAFETY: By the function's safety requirements.
    lifecycle::destroy_device(unsafe { pci_device(pdev) });
}

/// Hands a TSM's PCI operations to the core (from `tsm_register()`).
///
/// # Safety
///
/// `tsm_dev` is NULL or a registered TSM device.
#[export]
pub unsafe extern "C" fn pci_tsm_register(tsm_dev: *mut bindings::tsm_dev) -> c_int {
    if tsm_dev.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: By the function's safety requirements.
    errno(lifecycle::register(unsafe { TsmDevice::from_raw(tsm_dev) }))
}

/// Withdraws a TSM's PCI operations, tearing down its contexts (from `tsm_unregister()`).
///
/// # Safety
///
/// `tsm_dev` was registered with [`pci_tsm_register`].
#[export]
pub unsafe extern "C" fn pci_tsm_unregister(tsm_dev: *mut bindings::tsm_dev) {
    if tsm_dev.is_null() {
        return;
    }
    // SAFETY: By the function's safety requirements.
    lifecycle::unregister(unsafe { TsmDevice::from_raw(tsm_dev) });
}

/// Fills the core part of a link TSM's context for `pdev`: `EINVAL` if `tsm_dev` is not a link
/// TSM, `ENXIO` if `pdev` has no device security manager.
///
/// # Safety
///
/// Called from the TSM's `probe`; all pointers are valid.
#[export]
pub unsafe extern "C" fn pci_tsm_link_constructor(
    pdev: *mut bindings::pci_dev,
    tsm: *mut bindings::pci_tsm,
    tsm_dev: *mut bindings::tsm_dev,
) -> c_int {
    // SAFETY: By the function's safety requirements.
    let (dev, tsm_device) = unsafe { (pci_device(pdev), TsmDevice::from_raw(tsm_dev)) };
    if tsm_device.pci_ops().map(|ops| ops.personality()) != Some(Personality::Link) {
        return EINVAL.to_errno();
    }
    let Some(dsm) = lifecycle::find_dsm(dev) else {
        dev_warn!(dev.as_ref(), "PCI/TSM: no device security manager\n");
        return ENXIO.to_errno();
    };
    // SAFETY: `tsm` is the caller's unpublished context under construction; the DSM outlives
    // the functions it manages.
    unsafe { Context::fill(tsm, dev, &dsm, tsm_device) };
    0
}

/// Initialises a DSM context: its lock (the DSM lock), its CMA DOE mailbox (`ENODEV` without
/// one), then the core part as [`pci_tsm_link_constructor`].
///
/// # Safety
///
/// Called from the TSM's `probe`; all pointers are valid and `tsm` does not move until
/// [`pci_tsm_pf0_destructor`].
#[export]
pub unsafe extern "C" fn pci_tsm_pf0_constructor(
    pdev: *mut bindings::pci_dev,
    tsm: *mut bindings::pci_tsm_pf0,
    tsm_dev: *mut bindings::tsm_dev,
) -> c_int {
    // SAFETY: By the function's safety requirements.
    let dev = unsafe { pci_device(pdev) };
    // SAFETY: `tsm` is valid and does not move, by the function's safety requirements.
    if let Err(e) = unsafe { Context::init_dsm_part(tsm, dev) } {
        dev_warn!(dev.as_ref(), "PCI/TSM: no CMA mailbox\n");
        return e.to_errno();
    }
    // SAFETY: By the function's safety requirements.
    unsafe { pci_tsm_link_constructor(pdev, &raw mut (*tsm).base_tsm, tsm_dev) }
}

/// Undoes [`pci_tsm_pf0_constructor`].
///
/// # Safety
///
/// `tsm` was initialised by [`pci_tsm_pf0_constructor`] and its mutex is unlocked.
#[export]
pub unsafe extern "C" fn pci_tsm_pf0_destructor(tsm: *mut bindings::pci_tsm_pf0) {
    // SAFETY: `tsm` was set up by `pci_tsm_pf0_constructor` and its lock is free.
    unsafe { Context::destroy_dsm_part(tsm) };
}

/// Fills the core part of a TDI context.
///
/// # Safety
///
/// `tdi` is valid for writes.
#[export]
pub unsafe extern "C" fn pci_tsm_tdi_constructor(
    pdev: *mut bindings::pci_dev,
    tdi: *mut bindings::pci_tdi,
    kvm: *mut bindings::kvm,
    tdi_id: u32,
) {
    let Some(vm) = NonZeroUsize::new(kvm as usize) else {
        // SAFETY: By the function's safety requirements; a NULL VM stays NULL, as in C.
        unsafe { context::fill_tdi(tdi, pdev, None, tdi_id) };
        return;
    };
    // SAFETY: `kvm` is the VM the TSM binds the TDI to; the binding does not outlive it.
    let vm = unsafe { VmHandle::from_cookie(vm) };
    // SAFETY: `tdi` is valid for writes (the function's safety requirements).
    unsafe { context::fill_tdi(tdi, pdev, Some(vm), tdi_id) };
}

/// Exchanges one DOE object with a connected DSM over its CMA mailbox. Like 7.3, takes no lock:
/// TSM drivers call it from their own operations.
///
/// # Safety
///
/// `pdev` is live; `req` and `resp` are valid for their sizes.
#[export]
pub unsafe extern "C" fn pci_tsm_doe_transfer(
    pdev: *mut bindings::pci_dev,
    type_: u8,
    req: *const c_void,
    req_sz: usize,
    resp: *mut c_void,
    resp_sz: usize,
) -> c_int {
    // SAFETY: By the function's safety requirements.
    let dev = unsafe { pci_device(pdev) };
    if !dev.is_tsm_host() {
        return ENXIO.to_errno();
    }
    // SAFETY: The caller is the TSM operating on this DSM, which keeps its context alive.
    let Some(ctx) = (unsafe { dev.tsm_context() }) else {
        return ENXIO.to_errno();
    };
    if !ctx.is_dsm() {
        return ENXIO.to_errno();
    }
    // SAFETY: A DSM context is a `pci_tsm_pf0`, alive as above; the buffers are the
    // caller's promise.
    unsafe { ctx.doe_exchange(type_, req, req_sz, resp, resp_sz) }
}

/// Binds `pdev`'s TDI to `kvm`: 0 if bound (also if already bound to `kvm`), `EBUSY` if bound
/// to another VM, `EINVAL` for no VM or an unmanaged function, `ENXIO` for a devsec TSM.
///
/// # Safety
///
/// `pdev` is live; the caller limits the binding's lifetime (e.g. to a VFIO bound state).
#[export]
pub unsafe extern "C" fn pci_tsm_bind(
    pdev: *mut bindings::pci_dev,
    kvm: *mut bindings::kvm,
    tdi_id: u32,
) -> c_int {
    let Some(vm) = NonZeroUsize::new(kvm as usize) else {
        return EINVAL.to_errno();
    };
    // SAFETY: By the function's safety requirements.
    let dev = unsafe { pci_device(pdev) };
    // SAFETY: `kvm` is the caller's live VM, which outlives the binding.
    let vm = unsafe { VmHandle::from_cookie(vm) };
    errno(lifecycle::bind(dev, vm, tdi_id))
}

/// Unbinds `pdev`'s TDI, if bound.
///
/// # Safety
///
/// `pdev` is live.
#[export]
pub unsafe extern "C" fn pci_tsm_unbind(pdev: *mut bindings::pci_dev) {
    // SAFETY: By the function's safety requirements.
    lifecycle::unbind(unsafe { pci_device(pdev) });
}

/// Relays a guest request for the bound TDI `pdev` to its TSM. Only TDISP scopes (information
/// and state changes) pass; the debug scopes are refused with `EINVAL`, as in 7.3.
///
/// # Safety
///
/// `pdev` is live; the buffers are valid for their lengths; `tsm_code` is NULL or writable.
#[export]
pub unsafe extern "C" fn pci_tsm_guest_req(
    pdev: *mut bindings::pci_dev,
    scope: bindings::pci_tsm_req_scope,
    req_in: bindings::sockptr_t,
    in_len: usize,
    req_out: bindings::sockptr_t,
    out_len: usize,
    tsm_code: *mut u64,
) -> isize {
    if !RequestScope::is_tdisp(scope) {
        return EINVAL.to_errno() as isize;
    }
    // SAFETY: By the function's safety requirements.
    let dev = unsafe { pci_device(pdev) };
    lifecycle::with_bound_context(dev, |ctx| {
        // SAFETY: `with_bound_context` holds the DSM lock; the buffers are the caller's.
        unsafe { ctx.guest_req(scope, req_in, in_len, req_out, out_len, tsm_code) }
    })
}
