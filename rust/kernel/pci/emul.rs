// SPDX-License-Identifier: GPL-2.0

//! Emulated PCI hierarchies: a root bus in a PCI domain of its own whose configuration space is
//! served by Rust code (for device models, tests and demos).
//!
//! The domain comes from the emulated range (C `pci_bus_find_emul_domain_nr()`, `0x10000` and
//! above, which ACPI segments never use), so devices appear as `10000:BB:DD.F`. The host bridge
//! gets one 64-bit prefetchable memory window, carved out of free physical address space above
//! 4 GiB so that BARs and bridge windows can be assigned; nothing is ever mapped there.
//!
//! The PCI core calls the configuration accessors ([`ConfigOps`]) with interrupts disabled and,
//! for user space accesses, under its raw spinlock `pci_lock`: implementations must not sleep or
//! allocate, and may only take raw spinlocks (see [`crate::sync::RawSpinLockIrq`]).
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h); x86's
//! [`struct pci_sysdata`](srctree/arch/x86/include/asm/pci.h) carries the domain.

use super::HostBridge;
use crate::{
    bindings,
    device,
    error::to_result,
    ffi::{c_int, c_uint, c_void},
    prelude::*,
    types::Opaque, //
};
use core::ptr::NonNull;

/// Configuration space of an emulated hierarchy.
///
/// Called in atomic context with interrupts disabled; see the module documentation.
pub trait ConfigOps: Send + Sync {
    /// Reads `size` bytes (1, 2 or 4, naturally aligned) at `offset` of function `devfn` on bus
    /// `bus`; `None` if there is no such function (the read then returns all ones).
    fn read(&self, bus: u8, devfn: u8, offset: u16, size: u8) -> Option<u32>;

    /// Writes `size` bytes of `value` at `offset` of function `devfn` on bus `bus`; `false` if
    /// there is no such function.
    fn write(&self, bus: u8, devfn: u8, offset: u16, size: u8, value: u32) -> bool;
}

/// What [`RootBus`] shares with the PCI core; `bus->sysdata` of every bus below the root bus
/// points at `sysdata`, the first field.
#[repr(C)]
#[pin_data]
struct Shared<T> {
    sysdata: Opaque<bindings::pci_sysdata>,
    busn: Opaque<bindings::resource>,
    window: Opaque<bindings::resource>,
    #[pin]
    ops: T,
}

impl<T: ConfigOps> Shared<T> {
    const OPS: bindings::pci_ops = bindings::pci_ops {
        read: Some(Self::read_callback),
        write: Some(Self::write_callback),
        ..pin_init::zeroed()
    };

    /// # Safety
    ///
    /// `bus` must be a bus of a [`RootBus<T>`].
    unsafe fn from_bus<'a>(bus: *mut bindings::pci_bus) -> (&'a Self, u8) {
        // SAFETY: By the function's safety requirements `sysdata` is the first field of a live
        // `Shared<T>` (the PCI core copies it to every child bus), and `number` is valid.
        unsafe { (&*(*bus).sysdata.cast::<Self>(), (*bus).number) }
    }

    /// # Safety
    ///
    /// Called by the PCI core for a bus of a [`RootBus<T>`] with a valid `val`.
    unsafe extern "C" fn read_callback(
        bus: *mut bindings::pci_bus,
        devfn: c_uint,
        where_: c_int,
        size: c_int,
        val: *mut u32,
    ) -> c_int {
        // SAFETY: By the function's safety requirements.
        let (shared, number) = unsafe { Self::from_bus(bus) };
        let value = match (
            u8::try_from(devfn),
            u16::try_from(where_),
            u8::try_from(size),
        ) {
            (Ok(devfn), Ok(offset), Ok(size)) => shared.ops.read(number, devfn, offset, size),
            _ => None,
        };
        // SAFETY: By the function's safety requirements `val` is writable.
        unsafe { *val = value.unwrap_or(!0) };
        match value {
            Some(_) => 0,
            // CAST: the PCIBIOS_* codes are small positive numbers.
            None => bindings::PCIBIOS_DEVICE_NOT_FOUND as c_int,
        }
    }

    /// # Safety
    ///
    /// Called by the PCI core for a bus of a [`RootBus<T>`].
    unsafe extern "C" fn write_callback(
        bus: *mut bindings::pci_bus,
        devfn: c_uint,
        where_: c_int,
        size: c_int,
        val: u32,
    ) -> c_int {
        // SAFETY: By the function's safety requirements.
        let (shared, number) = unsafe { Self::from_bus(bus) };
        let done = match (
            u8::try_from(devfn),
            u16::try_from(where_),
            u8::try_from(size),
        ) {
            (Ok(devfn), Ok(offset), Ok(size)) => shared.ops.write(number, devfn, offset, size, val),
            _ => false,
        };
        if done {
            0
        } else {
            // CAST: as in `read_callback`.
            bindings::PCIBIOS_DEVICE_NOT_FOUND as c_int
        }
    }
}

/// A root bus in an emulated PCI domain, served by `T`.
///
/// [`RootBus::new`] creates the host bridge and root bus; [`RootBus::scan`] enumerates the
/// hierarchy, assigns resources and adds the devices. Dropping it removes every device (after
/// disabling the SR-IOV virtual functions a driver left enabled), the bus and the host bridge,
/// then returns the address window and the domain number.
///
/// # Examples
///
/// An empty hierarchy: no function answers.
///
/// ```
/// use kernel::{faux, pci::emul::{ConfigOps, RootBus}};
///
/// struct Empty;
///
/// impl ConfigOps for Empty {
///     fn read(&self, _bus: u8, _devfn: u8, _offset: u16, _size: u8) -> Option<u32> {
///         None
///     }
///
///     fn write(&self, _bus: u8, _devfn: u8, _offset: u16, _size: u8, _value: u32) -> bool {
///         false
///     }
/// }
///
/// let parent = faux::Registration::new(c"pci_emul_example", None)?;
/// let dev = parent.as_ref().as_ref();
/// let bus = RootBus::new(dev, 1 << 20, kernel::try_init!(Empty {}))?;
/// bus.scan();
/// let domain = bus.domain();
/// assert!(domain >= 0x10000);
/// assert!(bus.host_bridge().parent().is_some_and(|p| p.name() == c"pci_emul_example"));
/// drop(bus);
/// // The domain number is free again.
/// assert_eq!(RootBus::new(dev, 1 << 20, kernel::try_init!(Empty {}))?.domain(), domain);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// - `bus` is the root bus created for `shared` by `pci_create_root_bus()`, registered until
///   `drop`; `shared.window` is inserted in the resource tree and `domain` allocated until then.
/// - `shared` outlives every configuration access through `bus`, since `drop` removes the bus
///   before freeing it.
pub struct RootBus<T: ConfigOps> {
    bus: NonNull<bindings::pci_bus>,
    domain: c_int,
    shared: Pin<KBox<Shared<T>>>,
}

// SAFETY: The PCI core's bus operations may be called from any thread; `T` is `Send + Sync`.
unsafe impl<T: ConfigOps> Send for RootBus<T> {}
// SAFETY: `&RootBus` only gives access to the host bridge and the domain number.
unsafe impl<T: ConfigOps> Sync for RootBus<T> {}

impl<T: ConfigOps> RootBus<T> {
    /// Creates a host bridge below `parent` with a root bus (number 0) in a new emulated domain
    /// served by `ops`, with a prefetchable 64-bit window of `window_size` bytes (a power of
    /// two). No device is enumerated until [`RootBus::scan`].
    pub fn new(
        parent: &device::Device,
        window_size: u64,
        ops: impl PinInit<T, Error>,
    ) -> Result<Self> {
        if !window_size.is_power_of_two() {
            return Err(EINVAL);
        }
        // SAFETY: Plain allocation of a domain number from the emulated range.
        let domain = unsafe { bindings::pci_bus_find_emul_domain_nr(0, 0x10000, i32::MAX as u32) };
        if domain < 0 {
            return Err(Error::from_errno(domain));
        }
        // Give the domain back unless the bus comes to life.
        let domain_guard = crate::types::ScopeGuard::new(|| {
            // SAFETY: `domain` was allocated above and is not used by any bus.
            unsafe { bindings::pci_bus_release_emul_domain_nr(domain) }
        });
        let shared = KBox::pin_init(
            try_pin_init!(Shared {
                sysdata: Opaque::zeroed(),
                busn: Opaque::zeroed(),
                window: Opaque::zeroed(),
                ops <- ops,
            }),
            GFP_KERNEL,
        )?;
        let (sysdata, busn, window) =
            (shared.sysdata.get(), shared.busn.get(), shared.window.get());
        // SAFETY: The three objects are ours and not yet shared with C.
        unsafe {
            (*sysdata).domain = domain;
            (*sysdata).node = bindings::NUMA_NO_NODE;
            (*busn).name = c"tsm-rs emulated buses".as_char_ptr();
            (*busn).end = 0xff;
            // CAST: the flags fit in 32 bits.
            (*busn).flags = bindings::IORESOURCE_BUS as usize;
            (*window).name = c"tsm-rs emulated PCI window".as_char_ptr();
            // CAST: as above.
            (*window).flags = (bindings::IORESOURCE_MEM
                | bindings::IORESOURCE_PREFETCH
                | bindings::IORESOURCE_MEM_64) as usize;
        }
        // SAFETY: `iomem_resource` is the root of the memory resource tree; `window` is pinned
        // in `shared` and stays inserted until `drop` (or the error path below) releases it.
        to_result(unsafe {
            let root = &raw mut bindings::iomem_resource;
            bindings::allocate_resource(
                root,
                window,
                window_size,
                1 << 32,
                (*root).end,
                window_size,
                None,
                core::ptr::null_mut(),
            )
        })?;
        let window_guard = crate::types::ScopeGuard::new(|| {
            // SAFETY: `window` was inserted above and has no children yet.
            unsafe { bindings::release_resource(window) };
        });

        let mut resources = bindings::list_head {
            next: core::ptr::null_mut(),
            prev: core::ptr::null_mut(),
        };
        let list = &raw mut resources;
        // SAFETY: `list` is a local list head; the entries point at resources in `shared`.
        // `pci_create_root_bus` moves the entries to the host bridge, or we free them on failure.
        let bus = unsafe {
            bindings::INIT_LIST_HEAD(list);
            bindings::pci_add_resource(list, busn);
            bindings::pci_add_resource(list, window);
            let bus = bindings::pci_create_root_bus(
                parent.as_raw(),
                0,
                (&raw const Self::OPS_REF.0).cast_mut(),
                sysdata.cast(),
                list,
            );
            if bus.is_null() {
                bindings::pci_free_resource_list(list);
            }
            bus
        };
        let bus = NonNull::new(bus).ok_or(ENODEV)?;
        window_guard.dismiss();
        domain_guard.dismiss();
        // INVARIANT: the bus was created for `shared`, which it owns from now on.
        Ok(Self {
            bus,
            domain,
            shared,
        })
    }

    /// An address-stable copy of the operations for `pci_create_root_bus()`.
    const OPS_REF: &'static OpsTable = &OpsTable(Shared::<T>::OPS);

    /// Enumerates the hierarchy below the root bus, assigns BARs and bridge windows, and adds
    /// the devices (drivers may bind, the PCI/TSM core sees them).
    pub fn scan(&self) {
        // SAFETY: The bus is registered by the type invariants; the rescan/remove lock
        // serialises against other enumeration and removal.
        unsafe {
            bindings::pci_lock_rescan_remove();
            bindings::pci_scan_child_bus(self.bus.as_ptr());
            bindings::pci_assign_unassigned_bus_resources(self.bus.as_ptr());
            bindings::pci_bus_add_devices(self.bus.as_ptr());
            bindings::pci_unlock_rescan_remove();
        }
    }

    /// The host bridge above the root bus.
    pub fn host_bridge(&self) -> &HostBridge {
        // SAFETY: The bus is registered by the type invariants, so its host bridge is too, until
        // `drop`.
        unsafe { HostBridge::from_raw(bindings::pci_find_host_bridge(self.bus.as_ptr())) }
    }

    /// The PCI domain number.
    pub fn domain(&self) -> u32 {
        // CAST: allocated domain numbers are non-negative.
        self.domain as u32
    }
}

impl<T: ConfigOps> RootBus<T> {
    /// Disables the SR-IOV virtual functions that a physical function of this hierarchy still
    /// has enabled once its driver is gone.
    ///
    /// A VF holds a reference to its PF that only `pci_disable_sriov()` drops: a PF driver
    /// that leaves its VFs enabled when it unbinds (`pci-pf-stub` does, the PCI core then says
    /// "driver left SR-IOV enabled after remove") would otherwise make the removal of the
    /// hierarchy leak the PF, its bus and everything above it up to the host bridge.
    ///
    /// # Safety
    ///
    /// The caller holds the rescan/remove lock, and the hierarchy is stopped (no driver is
    /// bound below the root bus).
    unsafe fn disable_leftover_sriov(&self) {
        let sysdata: *mut c_void = self.shared.sysdata.get().cast();
        super::for_each_device(false, |dev| {
            let pdev = dev.as_raw();
            // SAFETY: `dev` is referenced during the call, so its bus is too. Every bus of this
            // hierarchy, and no other bus, has our `sysdata` (the PCI core copies it from the
            // root bus to each child bus), so the device is below our root bus. With no driver
            // bound, nothing else changes its SR-IOV state while we hold the rescan/remove lock,
            // which removing the VFs needs (all by the function's safety requirements).
            unsafe {
                if (*(*pdev).bus).sysdata == sysdata && bindings::pci_num_vf(pdev) > 0 {
                    bindings::pci_disable_sriov(pdev);
                }
            }
        });
    }
}

impl<T: ConfigOps> Drop for RootBus<T> {
    fn drop(&mut self) {
        let bus = self.bus.as_ptr();
        // SAFETY: By the type invariants the bus is registered until now, so is its host bridge.
        let host_bridge = unsafe { bindings::pci_find_host_bridge(bus) };
        // SAFETY: By the type invariants the bus is registered until now. Stopping it unbinds
        // every driver below it.
        unsafe {
            bindings::pci_lock_rescan_remove();
            bindings::pci_stop_root_bus(bus);
        }
        // SAFETY: The rescan/remove lock is held and the hierarchy is stopped.
        unsafe { self.disable_leftover_sriov() };
        // SAFETY: Removing the bus removes every device below it, so no configuration access
        // reaches `shared` afterwards.
        unsafe {
            bindings::pci_remove_root_bus(bus);
            bindings::pci_unlock_rescan_remove();
        }
        // The host bridge's release does not destroy its IDE Stream ID pools, and
        // `pci_alloc_host_bridge()` reserved Stream ID 255 in one of them: that bitmap would
        // outlive the bridge.
        #[cfg(CONFIG_PCI_IDE)]
        // SAFETY: The bridge is still referenced (see below). With every device below it
        // removed, nothing allocates or frees its Stream IDs or indices any more (the sysfs
        // attribute that reads them went with `pci_remove_root_bus()`).
        unsafe {
            bindings::ida_destroy(&raw mut (*host_bridge).ide_stream_ida);
            bindings::ida_destroy(&raw mut (*host_bridge).ide_stream_ids_ida);
        }
        // SAFETY: `pci_remove_root_bus()` deletes the host bridge but leaves it the reference
        // `pci_create_root_bus()` gave us (the root bus held another, dropped with the bus);
        // `pci_free_host_bridge()` drops ours, normally the last one. The bridge's release frees
        // only what the bridge allocated (its window list entries, not the resources in `shared`
        // they point at), never calls into this module and leaves the domain to us (it is not
        // `bridge->domain_nr`), so it may run after `shared` and the module are gone. The
        // window then has no children left and the domain no bus.
        unsafe {
            bindings::pci_free_host_bridge(host_bridge);
            bindings::release_resource(self.shared.window.get());
            bindings::pci_bus_release_emul_domain_nr(self.domain);
        }
    }
}

/// `struct pci_ops` in a `'static` promotable form.
#[repr(transparent)]
struct OpsTable(bindings::pci_ops);

// SAFETY: The table is immutable.
unsafe impl Sync for OpsTable {}
