// SPDX-License-Identifier: GPL-2.0

//! PCI/TSM core: device security (PCIe TDISP) for PCI devices, in place of
//! `drivers/pci/tsm.c`.
//!
//! Provides what the PCI core and TSM drivers see in Linux 7.3: the hooks `pci_tsm_init()` and
//! `pci_tsm_destroy()`, the static sysfs groups `pci_tsm_attr_group` (`tsm/`) and
//! `pci_tsm_auth_attr_group` (`authenticated`), and the library of `include/linux/pci-tsm.h`.
//!
//! Locking differs from the C core, which holds one global semaphore for write across a whole
//! connect (an SPDM handshake: seconds on real hardware). Here a connect holds the global
//! semaphore for read and only its own DSM's lock for write, so connects on different DSMs run
//! in parallel; see [`lifecycle`] for the rules. Sysfs groups are updated after the locks are
//! dropped, so a reader blocked on a lock can never stall the removal of its own file.

use kernel::{str::CStr, ModuleMetadata, ThisModule};

pub mod abi;
mod attrs;
mod connect_mode;
mod input;
mod lifecycle;
#[cfg(CONFIG_NET)]
mod netlink;

#[cfg(CONFIG_PCI_TSM_RUST_KUNIT_TEST)]
mod ide_keys_tests;
#[cfg(CONFIG_PCI_TSM_RUST_KUNIT_TEST)]
mod relay_tests;
#[cfg(CONFIG_PCI_TSM_RUST_KUNIT_TEST)]
mod tests;

// The KUnit suites run the core against the emulated TDISP platform of
// drivers/virt/coco/tsm/emu/, whose device models are compiled into this crate for them, from
// the same files; they use the tsm_proto crate as the emulator modules do.
#[cfg(CONFIG_PCI_TSM_RUST_KUNIT_TEST)]
#[path = "../../virt/coco/tsm/emu/config_space.rs"]
#[allow(dead_code)]
mod config_space;
#[cfg(CONFIG_PCI_TSM_RUST_KUNIT_TEST)]
#[path = "../../virt/coco/tsm/emu/ide_keys.rs"]
#[allow(dead_code)]
mod ide_keys;
#[cfg(CONFIG_PCI_TSM_RUST_KUNIT_TEST)]
#[path = "../../virt/coco/tsm/emu/ide_regs.rs"]
#[allow(dead_code)]
mod ide_regs;
#[cfg(CONFIG_PCI_TSM_RUST_KUNIT_TEST)]
#[path = "../../virt/coco/tsm/emu/mailbox.rs"]
#[allow(dead_code)]
mod mailbox;
#[cfg(CONFIG_PCI_TSM_RUST_KUNIT_TEST)]
#[path = "../../virt/coco/tsm/emu/platform.rs"]
#[allow(dead_code)]
mod platform;
#[cfg(CONFIG_PCI_TSM_RUST_KUNIT_TEST)]
#[path = "../../virt/coco/tsm/emu/relay.rs"]
#[allow(dead_code)]
mod relay;

/// Prefix of this crate's log messages.
const __LOG_PREFIX: &[u8] = b"pci_tsm\0";

/// Owner of this built-in crate's `#[vtable]` implementations (its sysfs attributes).
struct LocalModule;

impl ModuleMetadata for LocalModule {
    const NAME: &'static CStr = c"pci_tsm";
    const THIS_MODULE: ThisModule = {
        // SAFETY: A built-in crate has no `struct module`; NULL is what C uses for it.
        unsafe { ThisModule::from_ptr(core::ptr::null_mut()) }
    };
}
