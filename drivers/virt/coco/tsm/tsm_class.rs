// SPDX-License-Identifier: GPL-2.0

//! TSM class core: `/sys/class/tsm/tsmN`, one device per registered TEE Security Manager.
//!
//! Provides the C interface of `include/linux/tsm.h` (`tsm_register()`, `tsm_unregister()`,
//! `find_tsm_dev()`) in place of `drivers/virt/coco/tsm-core.c`. Differences from the C core,
//! both documented in `Documentation/ABI/testing/sysfs-class-tsm`:
//! - PCI operations with no or both personalities are refused before a device exists, so a
//!   failed registration sends no uevents;
//! - each `tsmN` has a `host` symlink to the device that provides the TSM (the seed RFC's link).

use kernel::{str::CStr, ModuleMetadata, ThisModule};

pub mod abi;
mod registry;

/// Prefix of this crate's log messages.
const __LOG_PREFIX: &[u8] = b"tsm_class\0";

/// Owner of this built-in crate's `#[vtable]` implementations (its tests' mock backends).
#[allow(dead_code)]
struct LocalModule;

impl ModuleMetadata for LocalModule {
    const NAME: &'static CStr = c"tsm_class";
    const THIS_MODULE: ThisModule = {
        // SAFETY: A built-in crate has no `struct module`; NULL is what C uses for it.
        unsafe { ThisModule::from_ptr(core::ptr::null_mut()) }
    };
}
