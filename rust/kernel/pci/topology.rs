// SPDX-License-Identifier: GPL-2.0

//! Where a PCI device sits: its host bridge and Root Port, its SR-IOV virtual functions, and
//! finding a device by name; and configuration space accesses for callers that do not own the
//! device (a TSM programming a Root Port), which [`Device::config_space`] leaves to bound
//! drivers.
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
                name.as_char_ptr().cast(),
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

/// The PCI topology around a device: functions of its slot, SR-IOV virtual functions, the
/// switch above it, the devices below a bridge.
impl Device {
    /// Returns the device at `pdev`.
    ///
    /// # Safety
    ///
    /// `pdev` must be valid for `'a`.
    pub unsafe fn from_raw<'a>(pdev: *mut bindings::pci_dev) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper over `struct pci_dev`.
        unsafe { &*pdev.cast() }
    }

    /// Takes a reference on a device returned by a C lookup that already holds one for us.
    ///
    /// # Safety
    ///
    /// `pdev` is NULL or a device whose reference the caller hands over.
    unsafe fn from_owned(pdev: *mut bindings::pci_dev) -> Option<ARef<Self>> {
        // SAFETY: By the function's safety requirements.
        NonNull::new(pdev).map(|p| unsafe { ARef::from_raw(p.cast()) })
    }

    /// Reads the dword at `offset` of the configuration space (C `pci_read_config_dword()`).
    ///
    /// `EINVAL` for an unaligned or out-of-range offset, `EIO` when the access fails (the
    /// device is gone).
    pub fn read_config_dword(&self, offset: u16) -> Result<u32> {
        let mut value = 0u32;
        // SAFETY: The device is live; the PCI core serializes configuration accesses and checks
        // `offset` against the configuration space size.
        let ret = unsafe {
            bindings::pci_read_config_dword(self.as_raw(), c_int::from(offset), &mut value)
        };
        config_result(ret)?;
        Ok(value)
    }

    /// Writes the dword at `offset` of the configuration space (C `pci_write_config_dword()`).
    ///
    /// `EINVAL` for an unaligned or out-of-range offset, `EIO` when the access fails.
    pub fn write_config_dword(&self, offset: u16, value: u32) -> Result {
        let (pdev, at) = (self.as_raw(), c_int::from(offset));
        // SAFETY: `pdev` is the live device; the PCI core serializes configuration accesses and
        // checks `at` against the configuration space size.
        let ret = unsafe { bindings::pci_write_config_dword(pdev, at, value) };
        config_result(ret)
    }

    /// The offset of the device's Designated Vendor-Specific Extended Capability of `vendor` with
    /// DVSEC ID `id` (C `pci_find_dvsec_capability()`).
    pub fn find_dvsec(&self, vendor: u16, id: u16) -> Option<u16> {
        // SAFETY: The device is live.
        let offset = unsafe { bindings::pci_find_dvsec_capability(self.as_raw(), vendor, id) };
        Some(offset).filter(|&o| o != 0)
    }

    /// The PCI domain (segment) of the device's bus (C `pci_domain_nr()`).
    pub fn domain(&self) -> u32 {
        // SAFETY: The device is live, so is its bus.
        let domain = unsafe { bindings::pci_tsm_domain_nr(self.as_raw()) };
        // CAST: domain numbers are not negative.
        domain as u32
    }

    /// The Port Number of the device's PCIe Link Capabilities (bits 31:24), or `None` for a
    /// device without a PCI Express capability or whose capability cannot be read.
    pub fn link_port_number(&self) -> Option<u8> {
        // SAFETY: `pcie_cap` is set once at enumeration.
        let pcie_cap = unsafe { (*self.as_raw()).pcie_cap };
        if pcie_cap == 0 {
            return None;
        }
        // CAST: the Link Capabilities register offset is 12.
        let lnkcap = self
            .read_config_dword(u16::from(pcie_cap) + bindings::PCI_EXP_LNKCAP as u16)
            .ok()?;
        // CAST: bits 31:24.
        Some((lnkcap >> 24) as u8)
    }

    /// The start and length of BAR `bar` when it decodes memory and is assigned; `None` for
    /// an I/O, unimplemented or unassigned BAR, or an index beyond the standard BARs.
    pub fn memory_bar(
        &self,
        bar: u32,
    ) -> Option<(bindings::resource_size_t, bindings::resource_size_t)> {
        let len = self.resource_len(bar).ok().filter(|&len| len != 0)?;
        // CAST: `resource_len` accepted the index: one of the standard BARs.
        let index = bar as usize;
        // SAFETY: By its type invariant `self.as_raw()` points to a valid `struct pci_dev`, whose
        // `resource` array has more entries than the standard BARs.
        let (start, flags) = unsafe {
            let res = &(*self.as_raw()).resource[index];
            (res.start, res.flags)
        };
        // CAST: resource flags are a C `unsigned long`.
        let (mem, unset) = (
            bindings::IORESOURCE_MEM as c_ulong,
            bindings::IORESOURCE_UNSET as c_ulong,
        );
        (flags & mem != 0 && flags & unset == 0).then_some((start, len))
    }

    /// Whether the device advertises TEE-IO in its PCIe Device Capabilities.
    pub fn has_tee(&self) -> bool {
        // SAFETY: `devcap` is read once at enumeration and immutable afterwards.
        unsafe { (*self.as_raw()).devcap & bindings::PCI_EXP_DEVCAP_TEE != 0 }
    }

    /// The offset of the device's IDE extended capability, if it has one.
    pub fn ide_cap(&self) -> Option<u16> {
        // SAFETY: `ide_cap` is set once at enumeration.
        let ide_cap = unsafe { (*self.as_raw()).ide_cap };
        Some(ide_cap).filter(|&offset| offset != 0)
    }

    /// Whether the device's IDE capability offers Link IDE (PCIe r6.x section 7.9.26.2).
    pub fn has_link_ide(&self) -> bool {
        let Some(ide_cap) = self.ide_cap() else {
            return false;
        };
        // CAST: the IDE Capability register offset is 4.
        let cap = ide_cap + bindings::PCI_IDE_CAP as u16;
        self.read_config_dword(cap)
            .is_ok_and(|value| value & bindings::PCI_IDE_CAP_LINK != 0)
    }

    /// Whether the device has an IDE extended capability.
    pub fn has_ide(&self) -> bool {
        // SAFETY: `ide_cap` is set once at enumeration.
        unsafe { (*self.as_raw()).ide_cap != 0 }
    }

    /// Whether the device has a PCI Express capability.
    pub fn is_pcie(&self) -> bool {
        // SAFETY: The device is live.
        unsafe { bindings::pci_is_pcie(self.as_raw()) }
    }

    /// Whether the device is the upstream port of a PCIe switch.
    pub fn is_upstream_port(&self) -> bool {
        if !self.is_pcie() {
            return false;
        }
        // SAFETY: The device is live.
        let port_type = unsafe { bindings::pci_pcie_type(self.as_raw()) };
        port_type == bindings::PCI_EXP_TYPE_UPSTREAM as c_int
    }

    fn devfn(&self) -> u8 {
        // SAFETY: `devfn` is immutable after enumeration.
        unsafe { (*self.as_raw()).devfn as u8 }
    }

    /// The function number within the slot (0-7).
    pub fn function(&self) -> u8 {
        self.devfn() & 7
    }

    /// Function `function` of this device's slot, if present.
    pub fn slot_function(&self, function: u8) -> Option<ARef<Self>> {
        let devfn = (self.devfn() & !7) | (function & 7);
        // SAFETY: `bus` is live while the device is; `pci_get_slot` returns a reference.
        unsafe { Self::from_owned(bindings::pci_get_slot((*self.as_raw()).bus, devfn.into())) }
    }

    /// The physical function of a virtual function, or the device itself.
    pub fn physical_function(&self) -> ARef<Self> {
        // SAFETY: A VF holds a reference on its PF, so the PF is live.
        unsafe { Self::from_raw(bindings::pci_physfn(self.as_raw())) }.into()
    }

    /// Function 0 of the slot of the device's physical function, whatever its capabilities.
    pub fn function0(&self) -> Option<ARef<Self>> {
        let pf = self.physical_function();
        if pf.function() == 0 {
            return Some(pf);
        }
        pf.slot_function(0)
    }

    /// The number of enabled SR-IOV virtual functions.
    pub fn num_vfs(&self) -> u16 {
        // SAFETY: The device is live.
        let n = unsafe { bindings::pci_tsm_num_vf(self.as_raw()) };
        u16::try_from(n).unwrap_or(0)
    }

    /// Virtual function `index` of this physical function, if present.
    pub fn virtual_function(&self, index: u16) -> Option<ARef<Self>> {
        // SAFETY: The device is live; the lookup returns a reference or NULL.
        unsafe { Self::from_owned(bindings::pci_tsm_get_vf(self.as_raw(), index.into())) }
    }

    /// The switch upstream port two levels up (the device's bus is below a downstream port of
    /// that switch), if any.
    pub fn upstream_port_above(&self) -> Option<ARef<Self>> {
        let dev: &crate::device::Device = self.as_ref();
        let grandparent = dev.parent()?.parent()?;
        let port: &Self = grandparent.try_into().ok()?;
        port.is_upstream_port().then(|| port.into())
    }

    /// Calls `f` on every device below this bridge, depth first in the order of
    /// `pci_walk_bus()`, or in the exact reverse order.
    ///
    /// Unlike `pci_walk_bus()`, no bus lock is held while `f` runs, so `f` may look up
    /// devices, call into drivers and update sysfs; each device is referenced during its call.
    pub fn walk_subordinate(&self, reverse: bool, f: &mut dyn FnMut(&Self)) {
        // SAFETY: The device is live; `subordinate` is set at enumeration.
        let bus = unsafe { (*self.as_raw()).subordinate };
        if bus.is_null() {
            return;
        }
        // The devices of one bus appear in the global device list in the order of the bus's
        // own list, so filtering that list by bus, recursing into bridges, gives the same
        // order as `pci_walk_bus()`.
        for_each_device(reverse, |dev| {
            // SAFETY: The device is live; its `bus` never changes.
            if unsafe { (*dev.as_raw()).bus } != bus {
                return;
            }
            if reverse {
                dev.walk_subordinate(true, f);
                f(dev);
            } else {
                f(dev);
                dev.walk_subordinate(false, f);
            }
        });
    }

    /// Whether the device is added to the PCI core and not yet being removed (the PCI core
    /// clears this before `pci_tsm_destroy()` runs).
    pub fn is_added(&self) -> bool {
        // SAFETY: The device is live.
        unsafe { bindings::pci_tsm_dev_is_added(self.as_raw()) }
    }
}

/// Calls `f` on every PCI device of the system, in enumeration order or in reverse.
pub fn for_each_device(reverse: bool, mut f: impl FnMut(&Device)) {
    let mut pdev: *mut bindings::pci_dev = core::ptr::null_mut();
    loop {
        // SAFETY: `pdev` is NULL or the previous result, whose reference the lookup drops.
        pdev = unsafe {
            if reverse {
                bindings::pci_get_device_reverse(!0, !0, pdev)
            } else {
                bindings::pci_get_device(!0, !0, pdev)
            }
        };
        if pdev.is_null() {
            return;
        }
        // SAFETY: The lookup returned a referenced device.
        f(unsafe { Device::from_raw(pdev) });
    }
}

/// The result of a configuration access that returned the PCIBIOS code `ret` (an unaligned or
/// out-of-range offset is `PCIBIOS_BAD_REGISTER_NUMBER`).
fn config_result(ret: c_int) -> Result {
    match ret {
        0 => Ok(()),
        r if r == bindings::PCIBIOS_BAD_REGISTER_NUMBER as c_int => Err(EINVAL),
        _ => Err(EIO),
    }
}
