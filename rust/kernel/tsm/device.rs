// SPDX-License-Identifier: GPL-2.0

//! The TSM class device and its PCI operations table.

use crate::{
    bindings,
    class::{Class, ClassDevice},
    device::Device,
    error::to_result,
    ffi::c_int,
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque, //
};
use core::ptr::NonNull;

/// A TSM class device, `/sys/class/tsm/tsmN` (C `struct tsm_dev`).
///
/// # Invariants
///
/// The wrapped `struct tsm_dev` is initialised: its `dev` is an initialised device of the TSM
/// class and `pci_ops`, if set, points to a `'static` ops table.
#[repr(transparent)]
pub struct TsmDevice(Opaque<bindings::tsm_dev>);

// SAFETY: `id` and `pci_ops` are immutable after registration; the device is thread safe.
unsafe impl Send for TsmDevice {}
// SAFETY: As above.
unsafe impl Sync for TsmDevice {}

/// A TSM device not yet added to its class.
///
/// It does not give out `&TsmDevice`: a reference count (an [`ARef`]) of a device that
/// `device_initialize()` has not set up would be invalid.
pub struct NewTsmDevice(KBox<TsmDevice>);

impl NewTsmDevice {
    /// Allocates TSM device number `id` with `ops` (none for a TSM without PCI operations);
    /// its embedded device is zeroed, as the class requires.
    pub fn new(id: u32, ops: Option<&'static PciTsmOps>) -> Result<Self> {
        let id = c_int::try_from(id).map_err(|_| EINVAL)?;
        let dev = KBox::new(TsmDevice(Opaque::zeroed()), GFP_KERNEL)?;
        // SAFETY: We own the zeroed object; nothing else sees it yet.
        unsafe {
            (*dev.0.get()).id = id;
            (*dev.0.get()).pci_ops = ops.map_or(core::ptr::null(), |o| &o.0);
        }
        Ok(Self(dev))
    }

    /// Adds the device to `class` below `parent`, named `name`; from then on it is reference
    /// counted. On failure it is released through the class, as [`Class::add_device`] says.
    pub fn add(
        self,
        class: &'static Class,
        parent: Option<&Device>,
        name: core::fmt::Arguments<'_>,
    ) -> Result<ARef<TsmDevice>> {
        class.add_device(self.0, parent, name)
    }
}

impl TsmDevice {
    /// Returns the TSM device at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a live `struct tsm_dev` for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::tsm_dev) -> &'a Self {
        // SAFETY: `Self` is a transparent wrapper; validity is the caller's promise.
        unsafe { &*ptr.cast() }
    }

    /// The registered TSM `tsmN` (C `find_tsm_dev()`).
    pub fn find(id: u32) -> Option<ARef<Self>> {
        let id = c_int::try_from(id).ok()?;
        // SAFETY: `find_tsm_dev` returns NULL or a device with a reference for us.
        let dev = unsafe { bindings::find_tsm_dev(id) };
        // SAFETY: As above; the reference is handed over.
        NonNull::new(dev.cast::<Self>()).map(|dev| unsafe { ARef::from_raw(dev) })
    }

    /// Returns the C `struct tsm_dev`.
    pub fn as_raw(&self) -> *mut bindings::tsm_dev {
        self.0.get()
    }

    /// The TSM whose class device is `dev`, if `dev` is one: a device of the class named `tsm`,
    /// which both TSM class cores embed in a `struct tsm_dev`.
    pub fn from_device(dev: &Device) -> Option<&Self> {
        // SAFETY: `dev` is live; its class is set before it is added and not changed after.
        let class = unsafe { (*dev.as_raw()).class };
        if class.is_null() {
            return None;
        }
        // SAFETY: A registered class has a NUL-terminated name for its lifetime, which outlasts
        // its devices.
        let name = unsafe { CStr::from_char_ptr((*class).name) };
        if name != c"tsm" {
            return None;
        }
        // SAFETY: A device of the TSM class is the `dev` of a `struct tsm_dev`, live for the
        // borrow of `dev`.
        Some(unsafe { &*<Self as ClassDevice>::from_raw_device(dev.as_raw()) })
    }

    /// The `N` of `tsmN`.
    pub fn id(&self) -> u32 {
        // SAFETY: `id` is immutable after allocation; ids are never negative.
        unsafe { (*self.0.get()).id as u32 }
    }

    /// Hands the TSM's PCI operations to the PCI/TSM core (C `pci_tsm_register()`).
    ///
    /// For the TSM class core, once `tsmN` exists.
    pub fn pci_register(&self) -> Result {
        // SAFETY: The device is initialised and registered by the caller.
        to_result(unsafe { bindings::pci_tsm_register(self.as_raw()) })
    }

    /// Withdraws the TSM's PCI operations (C `pci_tsm_unregister()`): the PCI/TSM core tears
    /// down every device context of this TSM, in reverse order.
    pub fn pci_unregister(&self) {
        // SAFETY: The device's operations were registered by `pci_register`.
        unsafe { bindings::pci_tsm_unregister(self.as_raw()) }
    }

    /// The PCI operations the TSM registered with, if any.
    pub fn pci_ops(&self) -> Option<&'static PciTsmOps> {
        // SAFETY: `pci_ops` is immutable and `'static` by the type invariants.
        NonNull::new(unsafe { (*self.0.get()).pci_ops }.cast_mut())
            // SAFETY: `PciTsmOps` is a transparent wrapper over `pci_tsm_ops`.
            .map(|p| unsafe { &*p.as_ptr().cast::<PciTsmOps>() })
    }
}

// SAFETY: The embedded `struct device` is at field `dev` of `struct tsm_dev`.
unsafe impl ClassDevice for TsmDevice {
    fn raw_device(this: *const Self) -> *mut bindings::device {
        // `Self` is a transparent `struct tsm_dev`: the device is at its field offset.
        this.cast_mut()
            .cast::<u8>()
            .wrapping_add(core::mem::offset_of!(bindings::tsm_dev, dev))
            .cast()
    }

    unsafe fn from_raw_device(dev: *mut bindings::device) -> *mut Self {
        // SAFETY: By the function's safety requirements `dev` is the `dev` of a `tsm_dev`.
        unsafe { crate::container_of!(dev, bindings::tsm_dev, dev) }.cast()
    }
}

// SAFETY: The reference count is the embedded device's.
unsafe impl AlwaysRefCounted for TsmDevice {
    fn inc_ref(&self) {
        // SAFETY: The device is initialised by the type invariants.
        unsafe { bindings::get_device(Self::raw_device(self)) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up one reference.
        unsafe { bindings::put_device(Self::raw_device(obj.as_ptr())) }
    }
}

/// Which of the two mutually exclusive personalities an ops table has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    /// Neither `link_ops.probe` nor `devsec_ops.lock` is set: not a valid PCI TSM.
    None,
    /// Host side: SPDM, IDE and TDI binding (`link_ops`).
    Link,
    /// Guest side: TDI security state (`devsec_ops`).
    Devsec,
    /// Both are set: not a valid PCI TSM.
    Both,
}

/// A PCI TSM ops table (C `struct pci_tsm_ops`).
#[repr(transparent)]
pub struct PciTsmOps(pub(super) bindings::pci_tsm_ops);

// SAFETY: The table is immutable.
unsafe impl Sync for PciTsmOps {}

impl PciTsmOps {
    /// Returns the ops table at `ptr`, if any.
    ///
    /// # Safety
    ///
    /// `ptr` must be NULL or point to an ops table that outlives every use of the result.
    pub unsafe fn from_raw<'a>(ptr: *const bindings::pci_tsm_ops) -> Option<&'a Self> {
        // SAFETY: `Self` is a transparent wrapper; validity is the caller's promise.
        NonNull::new(ptr.cast_mut()).map(|p| unsafe { &*p.as_ptr().cast::<Self>() })
    }

    /// A table for tests of personality checks: with `link`, a link `probe` that declines
    /// every device; with `devsec`, a devsec `lock` that does the same.
    pub const fn declining(link: bool, devsec: bool) -> Self {
        /// # Safety
        ///
        /// Any arguments: the function looks at none of them.
        unsafe extern "C" fn decline(
            _tsm: *mut bindings::tsm_dev,
            _pdev: *mut bindings::pci_dev,
        ) -> *mut bindings::pci_tsm {
            core::ptr::null_mut()
        }
        let mut ops: bindings::pci_tsm_ops = pin_init::zeroed();
        if link {
            ops.__bindgen_anon_1.link_ops.probe = Some(decline);
        }
        if devsec {
            ops.__bindgen_anon_2.devsec_ops.lock = Some(decline);
        }
        Self(ops)
    }

    /// The C `struct pci_tsm_ops`, for C entry points that take one.
    pub const fn as_raw(&self) -> *const bindings::pci_tsm_ops {
        &self.0
    }

    /// The personality the table selects.
    pub fn personality(&self) -> Personality {
        // SAFETY: Both union members of each group have the same layout (C `struct_group`), so
        // either view of an initialised table is valid.
        let (link, devsec) = unsafe {
            (
                self.0.__bindgen_anon_1.link_ops.probe.is_some(),
                self.0.__bindgen_anon_2.devsec_ops.lock.is_some(),
            )
        };
        match (link, devsec) {
            (false, false) => Personality::None,
            (true, false) => Personality::Link,
            (false, true) => Personality::Devsec,
            (true, true) => Personality::Both,
        }
    }
}
