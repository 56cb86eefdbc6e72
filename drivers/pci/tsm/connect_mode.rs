// SPDX-License-Identifier: GPL-2.0

//! `tsm/connect_mode`, the seed RFC's choice between Link IDE and a Selective IDE Stream for a
//! DSM (a tsm-rs addition: Linux 7.3 dropped it and lets the TSM decide).
//!
//! The attribute shows on a DSM-capable function with Link IDE while a registered link TSM
//! declares Link IDE ([`kernel::tsm::LinkTsm::LINK_IDE`]). The choice is made while the DSM is
//! disconnected and kept until the device goes away; the TSM reads it at connect
//! ([`kernel::tsm::connect_mode`]). Only DSMs set to `link` are recorded, by address, so a
//! device without a record is `selective`, 7.3's only mode.

use crate::lifecycle;
use kernel::{
    pci,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
    tsm::TsmDevice,
};

kernel::sync::global_lock! {
    // SAFETY: `init()` initialises the lock before any device or TSM can reach it.
    unsafe(uninit) static LINK_MODE: Mutex<KVec<usize>> = KVec::new();
}

/// Registered link TSMs that declared Link IDE.
static LINK_IDE_TSMS: Atomic<i32> = Atomic::new(0);

/// Sets up the record; runs once, from the core's initcall.
pub(crate) fn init() {
    // SAFETY: Runs once, before any other use of `LINK_MODE`.
    unsafe { LINK_MODE.init() };
}

fn address(pdev: &pci::Device) -> usize {
    core::ptr::from_ref(pdev) as usize
}

/// Whether `tsm` declared Link IDE; only tsm-rs' class core takes such a declaration.
fn declares_link_ide(tsm: &TsmDevice) -> bool {
    #[cfg(CONFIG_TSM_CLASS_RUST)]
    {
        // Declared here, untyped: the class core's addition is in no C header.
        extern "C" {
            fn tsm_rs_link_ide(tsm_dev: *mut kernel::ffi::c_void) -> bool;
        }
        // SAFETY: `tsm` is a registered TSM (its PCI registration is running).
        unsafe { tsm_rs_link_ide(tsm.as_raw().cast()) }
    }
    #[cfg(not(CONFIG_TSM_CLASS_RUST))]
    {
        let _ = tsm;
        false
    }
}

/// A link TSM `tsm` registers; true if it is the first that declares Link IDE.
pub(crate) fn tsm_registered(tsm: &TsmDevice) -> bool {
    declares_link_ide(tsm) && LINK_IDE_TSMS.fetch_add(1, Relaxed) == 0
}

/// A link TSM `tsm` unregisters; true if it was the last that declared Link IDE.
pub(crate) fn tsm_unregistered(tsm: &TsmDevice) -> bool {
    declares_link_ide(tsm) && LINK_IDE_TSMS.fetch_sub(1, Relaxed) == 1
}

/// Whether `tsm/connect_mode` shows on the DSM-capable function `pdev`: it has Link IDE, and a
/// registered link TSM can set Link IDE up.
pub(crate) fn offered(pdev: &pci::Device) -> bool {
    LINK_IDE_TSMS.load(Relaxed) > 0 && pdev.has_link_ide()
}

/// Whether the DSM `pdev` is set to Link IDE.
pub(crate) fn is_link(pdev: &pci::Device) -> bool {
    LINK_MODE.lock().contains(&address(pdev))
}

/// Sets the DSM `pdev`'s mode: `EBUSY` while connected (or connecting).
pub(crate) fn set(pdev: &pci::Device, link: bool) -> Result {
    lifecycle::while_unconnected(pdev, || {
        let mut modes = LINK_MODE.lock();
        let at = address(pdev);
        modes.retain(|dev| *dev != at);
        if link {
            modes.push(at, GFP_KERNEL)?;
        }
        Ok(())
    })
}

/// `pdev` goes away: its choice with it.
pub(crate) fn forget(pdev: &pci::Device) {
    let at = address(pdev);
    LINK_MODE.lock().retain(|dev| *dev != at);
}
