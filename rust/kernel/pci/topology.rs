// SPDX-License-Identifier: GPL-2.0

//! Where a PCI device sits: its host bridge and Root Port, its SR-IOV virtual functions, and
//! finding a device by name.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use super::Device;
use crate::{
    bindings,
    device,
    error::to_result,
    prelude::*,
    sync::aref::ARef,
    types::Opaque, //
};
use core::ptr::NonNull;

/// A PCI host bridge (C `struct pci_host_bridge`), the device `pciDDDD:BB` above a root bus.
///
/// # Invariants
///
/// The wrapped `struct pci_host_bridge` is registered: its embedded device is initialised.
#[repr(transparent)]
pub struct HostBridge(Opaque<bindings::pci_host_bridge>);

impl HostBridge {
    /// Returns the host bridge at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a registered `struct pci_host_bridge` that stays registered for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut bindings::pci_host_bridge) -> &'a Self {
        // SAFETY: `Self` is a transparent wrapper; validity is the caller's promise.
        unsafe { &*ptr.cast() }
    }

    pub(super) fn as_raw(&self) -> *mut bindings::pci_host_bridge {
        self.0.get()
    }

    /// The device that provides the host bridge (its parent in the device tree), if any.
    pub fn parent(&self) -> Option<&device::Device> {
        // SAFETY: The host bridge's device is initialised by the type invariants; `parent` is
        // fixed once the device is added.
        let parent = NonNull::new(unsafe { (*self.as_raw()).dev.parent })?;
        // SAFETY: A device holds a reference to its parent for as long as it is registered.
        Some(unsafe { device::Device::from_raw(parent.as_ptr()) })
    }
}

impl AsRef<device::Device> for HostBridge {
    fn as_ref(&self) -> &device::Device {
        // SAFETY: The embedded device is initialised by the type invariants.
        unsafe { device::Device::from_raw(&raw mut (*self.as_raw()).dev) }
    }
}

impl Device {
    /// The host bridge above the device.
    pub fn host_bridge(&self) -> &HostBridge {
        // SAFETY: A PCI device always has a bus, and the host bridge of that bus stays
        // registered while any device below it is (the devices are removed first).
        unsafe { HostBridge::from_raw(bindings::pci_find_host_bridge((*self.as_raw()).bus)) }
    }

    /// The PCIe Root Port above the device, or the device itself if it is one; `None` for a
    /// conventional PCI device or an RCiEP.
    pub fn root_port(&self) -> Option<&Device> {
        // SAFETY: `self` is a valid device.
        let rp = NonNull::new(unsafe { bindings::pcie_find_root_port(self.as_raw()) })?;
        // SAFETY: The Root Port is `self` or an ancestor, which a registered device keeps a
        // reference to; `Device` is a transparent wrapper over `struct pci_dev`.
        Some(unsafe { &*rp.as_ptr().cast::<Device>() })
    }

    /// Enables `nr_virtfn` SR-IOV virtual functions of this physical function, which adds them
    /// to the PCI bus (`pci_enable_sriov()` under the PCI rescan/remove lock, as for
    /// `sriov_numvfs`).
    ///
    /// # Safety
    ///
    /// The caller must own the SR-IOV state of the device: it is the device's bound driver, or no
    /// driver is bound and none can bind while the VFs are changed (`sriov_numvfs` is refused
    /// for a device without a driver). It must not hold the rescan/remove lock.
    pub unsafe fn enable_sriov(&self, nr_virtfn: u16) -> Result {
        // SAFETY: Adding devices needs the rescan/remove lock, which nothing here holds yet.
        unsafe { bindings::pci_lock_rescan_remove() };
        // SAFETY: `self` is a valid device; the caller serialises SR-IOV changes.
        let rc = unsafe { bindings::pci_enable_sriov(self.as_raw(), nr_virtfn.into()) };
        // SAFETY: Taken above.
        unsafe { bindings::pci_unlock_rescan_remove() };
        to_result(rc)
    }

    /// Disables the SR-IOV virtual functions of this physical function, removing them from the
    /// PCI bus (`pci_disable_sriov()` under the PCI rescan/remove lock).
    ///
    /// # Safety
    ///
    /// As for [`Device::enable_sriov`]; the caller must not hold the rescan/remove lock.
    pub unsafe fn disable_sriov(&self) {
        // SAFETY: Removing devices needs the rescan/remove lock, which nothing here holds yet.
        unsafe { bindings::pci_lock_rescan_remove() };
        // SAFETY: `self` is a valid device; the caller serialises SR-IOV changes.
        unsafe { bindings::pci_disable_sriov(self.as_raw()) };
        // SAFETY: Taken above.
        unsafe { bindings::pci_unlock_rescan_remove() };
    }

    /// Stops and removes this device (and any below it) from the PCI bus
    /// (`pci_stop_and_remove_bus_device_locked()`); references to it stay valid.
    ///
    /// # Safety
    ///
    /// The caller owns the device's place on the bus (e.g. an emulated hierarchy it created)
    /// and does not hold the rescan/remove lock.
    pub unsafe fn remove_from_bus(&self) {
        // SAFETY: `self` is a valid device; the function takes the rescan/remove lock itself.
        unsafe { bindings::pci_stop_and_remove_bus_device_locked(self.as_raw()) };
    }

    /// Finds the PCI device named `name` (its sysfs name, `DDDD:BB:DD.F`) and takes a
    /// reference to it.
    ///
    /// `ENODEV` if there is none, `EINVAL` if `name` contains a NUL byte.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::pci;
    ///
    /// assert_eq!(pci::Device::find_by_name(b"ffff:ff:1f.7").err(), Some(ENODEV));
    /// assert_eq!(pci::Device::find_by_name(b"0000:00\000:00.0").err(), Some(EINVAL));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn find_by_name(name: &[u8]) -> Result<ARef<Device>> {
        let mut buf = KVec::with_capacity(name.len() + 1, GFP_KERNEL)?;
        buf.extend_from_slice(name, GFP_KERNEL)?;
        buf.push(0, GFP_KERNEL)?;
        let name = CStr::from_bytes_with_nul(&buf).map_err(|_| EINVAL)?;
        // SAFETY: `pci_bus_type` is a static bus; `device_match_name` compares the device name
        // with the NUL-terminated `name`, which outlives the call.
        let dev = unsafe {
            bindings::bus_find_device(
                &raw const bindings::pci_bus_type,
                core::ptr::null_mut(),
                name.as_ptr().cast(),
                Some(bindings::device_match_name),
            )
        };
        let dev = NonNull::new(dev).ok_or(ENODEV)?;
        // SAFETY: Every device on the PCI bus is the `dev` of a `struct pci_dev`.
        let pdev = unsafe { crate::container_of!(dev.as_ptr(), bindings::pci_dev, dev) };
        // SAFETY: `bus_find_device` took the reference that the `ARef` now owns; `Device` is a
        // transparent wrapper over `struct pci_dev`.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(pdev.cast::<Device>())) })
    }
}
