// SPDX-License-Identifier: GPL-2.0

//! The C interface of `include/linux/tsm.h`: raw pointers in, safe types inside.

use crate::registry::{self, LinkInfo};
use kernel::{
    bindings,
    device::Device,
    prelude::*,
    sync::aref::ARef,
    tsm::{PciTsmOps, TsmDevice},
};

/// C `tsm_register()`: returns the new TSM device or an `ERR_PTR`.
///
/// # Safety
///
/// `parent` is NULL or a live device; `ops` is NULL or an ops table that outlives the
/// registration.
#[export]
pub unsafe extern "C" fn tsm_register(
    parent: *mut bindings::device,
    ops: *mut bindings::pci_tsm_ops,
) -> *mut bindings::tsm_dev {
    // SAFETY: By the function's safety requirements.
    let parent = (!parent.is_null()).then(|| unsafe { Device::from_raw(parent) });
    // SAFETY: By the function's safety requirements.
    let ops = unsafe { PciTsmOps::from_raw(ops) };
    match registry::register(parent, ops, LinkInfo::default()) {
        // The caller owns the registration's reference until `tsm_unregister()`.
        Ok(tsm) => ARef::into_raw(tsm).as_ptr().cast(),
        Err(e) => e.to_ptr(),
    }
}

/// `tsm_register()` for a link TSM that declares what it can do with IDE: whether it sets up
/// Link IDE, and how many Selective IDE Streams it can key at once (`tsmN/pci/`, and the
/// PCI/TSM core's `tsm/connect_mode`). A tsm-rs addition; Rust backends call it through
/// `kernel::tsm::Registration` when this core is built.
///
/// # Safety
///
/// As for `tsm_register()`; `ops` has link operations.
#[no_mangle]
pub unsafe extern "C" fn tsm_rs_register_link(
    parent: *mut bindings::device,
    ops: *mut bindings::pci_tsm_ops,
    link_ide: bool,
    selective_streams: u32,
) -> *mut bindings::tsm_dev {
    // SAFETY: By the function's safety requirements.
    let parent = (!parent.is_null()).then(|| unsafe { Device::from_raw(parent) });
    // SAFETY: By the function's safety requirements.
    let ops = unsafe { PciTsmOps::from_raw(ops) };
    let info = LinkInfo {
        link_ide,
        selective_streams,
    };
    match registry::register(parent, ops, info) {
        Ok(tsm) => ARef::into_raw(tsm).as_ptr().cast(),
        Err(e) => e.to_ptr(),
    }
}

/// Whether the TSM `tsm_dev` declared Link IDE (for the PCI/TSM core).
///
/// # Safety
///
/// `tsm_dev` is a registered TSM.
#[no_mangle]
pub unsafe extern "C" fn tsm_rs_link_ide(tsm_dev: *mut bindings::tsm_dev) -> bool {
    // SAFETY: By the function's safety requirements.
    let tsm = unsafe { TsmDevice::from_raw(tsm_dev) };
    registry::link_info(tsm.id()).link_ide
}

/// C `tsm_unregister()`.
///
/// # Safety
///
/// `tsm_dev` was returned by `tsm_register()` and is unregistered once.
#[export]
pub unsafe extern "C" fn tsm_unregister(tsm_dev: *mut bindings::tsm_dev) {
    let Some(tsm) = core::ptr::NonNull::new(tsm_dev.cast::<TsmDevice>()) else {
        return;
    };
    // SAFETY: Takes back the reference `tsm_register()` handed out; the caller unregisters
    // each TSM once.
    unsafe { registry::unregister(ARef::from_raw(tsm)) };
}

/// C `find_tsm_dev()`: the TSM numbered `id` with a reference the caller puts, or NULL.
///
/// # Safety
///
/// Callable from any sleepable context.
#[export]
pub unsafe extern "C" fn find_tsm_dev(id: c_int) -> *mut bindings::tsm_dev {
    let Ok(id) = u32::try_from(id) else {
        return core::ptr::null_mut();
    };
    registry::find(id).map_or(core::ptr::null_mut(), |tsm| {
        ARef::into_raw(tsm).as_ptr().cast()
    })
}

/// Registers the class; called by the C glue at `subsys_initcall`.
#[no_mangle]
pub extern "C" fn tsm_class_init() -> c_int {
    match registry::init() {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
