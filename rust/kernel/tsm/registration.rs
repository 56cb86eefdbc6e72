// SPDX-License-Identifier: GPL-2.0

//! Registering a backend with the TSM class core.

use super::{
    adapters::{DevsecAdapter, LinkAdapter},
    DevsecTsm, LinkTsm, PciTsmOps, TsmDevice,
};
use crate::{bindings, device::Device, error::from_err_ptr, prelude::*, sync::aref::ARef};
use core::ptr::NonNull;

/// A TSM registered with the TSM class core (`tsm_register()`); unregistered on drop.
///
/// # Invariants
///
/// `dev` was returned by a successful `tsm_register()` and is unregistered only by `drop`.
pub struct Registration {
    dev: NonNull<bindings::tsm_dev>,
}

// SAFETY: `tsm_unregister` may be called from any thread.
unsafe impl Send for Registration {}
// SAFETY: `&Registration` only reads immutable fields.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers a link TSM backend `T` below `parent`. With tsm-rs' class core, what `T`
    /// declares about IDE ([`LinkTsm::LINK_IDE`], [`LinkTsm::SELECTIVE_STREAMS`]) goes with it.
    pub fn new_link<T: LinkTsm>(parent: &Device) -> Result<Self> {
        let ops: &'static PciTsmOps = &LinkAdapter::<T>::OPS;
        #[cfg(CONFIG_TSM_CLASS_RUST)]
        {
            use crate::ffi::c_void;
            // Declared here, untyped: only tsm-rs' class core has it, and no C header does.
            extern "C" {
                fn tsm_rs_register_link(
                    parent: *mut c_void,
                    ops: *const c_void,
                    link_ide: bool,
                    selective_streams: u32,
                ) -> *mut c_void;
            }
            let (raw_parent, raw_ops) = (parent.as_raw().cast(), (&raw const ops.0).cast());
            // SAFETY: `parent` is live and `ops` is `'static`; the class core only reads it.
            let dev = unsafe {
                tsm_rs_register_link(raw_parent, raw_ops, T::LINK_IDE, T::SELECTIVE_STREAMS)
            };
            Self::from_result(dev.cast())
        }
        #[cfg(not(CONFIG_TSM_CLASS_RUST))]
        {
            // SAFETY: `OPS` is a static promotion of a const table.
            unsafe { Self::register(parent, ops) }
        }
    }

    /// Registers a devsec TSM backend `T` below `parent`.
    pub fn new_devsec<T: DevsecTsm>(parent: &Device) -> Result<Self> {
        // SAFETY: As above.
        unsafe { Self::register(parent, &DevsecAdapter::<T>::OPS) }
    }

    /// Registers a TSM without PCI operations below `parent`.
    pub fn new_plain(parent: &Device) -> Result<Self> {
        // SAFETY: NULL ops are allowed.
        let dev = unsafe { bindings::tsm_register(parent.as_raw(), core::ptr::null_mut()) };
        Self::from_result(dev)
    }

    /// # Safety
    ///
    /// `ops` must be `'static`.
    unsafe fn register(parent: &Device, ops: &'static PciTsmOps) -> Result<Self> {
        // SAFETY: `parent` is live; the C side only reads `ops`.
        let dev = unsafe { bindings::tsm_register(parent.as_raw(), (&raw const ops.0).cast_mut()) };
        Self::from_result(dev)
    }

    fn from_result(dev: *mut bindings::tsm_dev) -> Result<Self> {
        let dev = from_err_ptr(dev)?;
        // INVARIANT: `tsm_register` succeeded.
        Ok(Self {
            dev: NonNull::new(dev).ok_or(ENOMEM)?,
        })
    }

    /// The registered TSM device.
    pub fn device(&self) -> &TsmDevice {
        // SAFETY: Registered devices stay live until `drop`.
        unsafe { TsmDevice::from_raw(self.dev.as_ptr()) }
    }

    /// Takes a reference to the TSM device that outlives the registration.
    pub fn device_ref(&self) -> ARef<TsmDevice> {
        self.device().into()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the device is registered until now.
        unsafe { bindings::tsm_unregister(self.dev.as_ptr()) }
    }
}
