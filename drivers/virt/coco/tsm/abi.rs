// SPDX-License-Identifier: GPL-2.0

//! The C interface of `include/linux/tsm.h`: raw pointers in, safe types inside.

use crate::registry;
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
    match registry::register(parent, ops) {
        // The caller owns the registration's reference until `tsm_unregister()`.
        Ok(tsm) => ARef::into_raw(tsm).as_ptr().cast(),
        Err(e) => e.to_ptr(),
    }
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
