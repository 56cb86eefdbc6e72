// SPDX-License-Identifier: GPL-2.0

//! Device classes declared as statics, and the devices that belong to them.
//!
//! A [`Class`] is `/sys/class/<name>`. Its devices are objects of one type that embeds a
//! `struct device` (see [`ClassDevice`]); they are reference counted through that device and
//! freed by the class's release callback, after which [`OnRelease::released`] lets the owner
//! return resources such as the device number.
//!
//! C header: [`include/linux/device/class.h`](srctree/include/linux/device/class.h)

use crate::{
    bindings,
    device::Device,
    error::to_result,
    ffi::{c_int, c_void},
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    sysfs::AttributeGroup, //
};
use core::{fmt, ptr::NonNull};

/// An object that embeds a `struct device` and belongs to a [`Class`].
///
/// # Safety
///
/// - `raw_device` and `from_raw_device` must convert between a pointer to `Self` and a pointer
///   to the `struct device` embedded in it, and back.
/// - Objects handed to [`Class::add_device`] have a zero-initialised embedded device (the
///   driver core requires it before `device_initialize()`), and are owned by that device from
///   then on: their memory lives until the class's release callback runs.
pub unsafe trait ClassDevice: AlwaysRefCounted + Sized {
    /// Returns the embedded device of the object at `this`.
    fn raw_device(this: *const Self) -> *mut bindings::device;

    /// Returns the object that embeds `dev`.
    ///
    /// # Safety
    ///
    /// `dev` must be the device embedded in a `Self`.
    unsafe fn from_raw_device(dev: *mut bindings::device) -> *mut Self;

    /// Returns the embedded device.
    fn device(&self) -> &Device {
        // SAFETY: The embedded device is valid while `self` is.
        unsafe { Device::from_raw(Self::raw_device(self)) }
    }
}

/// What a class does when the last reference to one of its devices is gone.
pub trait OnRelease<T> {
    /// Runs just before `dev`'s memory is freed; no other reference to it exists.
    fn released(dev: &T);
}

/// A device class, meant to be a `static`.
///
/// # Invariants
///
/// `0.dev_release` is `Class::release_callback` for the class's [`ClassDevice`] type, so every
/// device of the class is a `T` allocated by [`Class::add_device`].
#[repr(transparent)]
pub struct Class(bindings::class);

// SAFETY: The class description is immutable; the driver core serialises its own state.
unsafe impl Sync for Class {}

impl Class {
    /// Describes a class named `name` whose devices are `T`s.
    ///
    /// `groups` are attribute groups every device of the class gets.
    pub const fn new<T: ClassDevice, R: OnRelease<T>>(
        name: &'static CStr,
        groups: Option<&'static GroupList>,
    ) -> Self {
        let dev_groups = match groups {
            Some(list) => list.0.as_ptr(),
            None => core::ptr::null(),
        };
        // INVARIANT: `dev_release` is the callback for `T`.
        Self(bindings::class {
            name: crate::str::as_char_ptr_in_const_context(name),
            dev_groups,
            dev_release: Some(Self::release_callback::<T, R>),
            ..pin_init::zeroed()
        })
    }

    /// Registers the class (`/sys/class/<name>` appears).
    pub fn register(&'static self) -> Result {
        // SAFETY: `self.0` is a valid, `'static` class description.
        to_result(unsafe { bindings::class_register(&self.0) })
    }

    /// Unregisters the class.
    ///
    /// # Safety
    ///
    /// The class was registered by [`Class::register`] and every device added to it has been
    /// removed with [`Class::remove_device`].
    pub unsafe fn unregister(&'static self) {
        // SAFETY: By the function's safety requirements.
        unsafe { bindings::class_unregister(&self.0) }
    }

    /// Adds `obj` as a device of this class named `name`, below `parent`.
    ///
    /// On failure `obj` is released (through [`OnRelease`]) and the error returned. On success
    /// the device stays registered until [`Class::remove_device`].
    pub fn add_device<T: ClassDevice>(
        &'static self,
        obj: KBox<T>,
        parent: Option<&Device>,
        name: fmt::Arguments<'_>,
    ) -> Result<ARef<T>> {
        let obj = KBox::into_raw(obj);
        let dev = T::raw_device(obj);
        // SAFETY: `dev` is the zero-initialised device embedded in `obj`, which we own. From
        // `device_initialize` on, the device's reference count owns `obj` (type invariant of
        // `ClassDevice`), and the class's release callback frees it.
        unsafe {
            (*dev).class = &self.0;
            (*dev).parent = parent.map_or(core::ptr::null_mut(), |p| p.as_raw());
            bindings::device_initialize(dev);
        }
        // SAFETY: `obj` is initialised and its device holds the only reference, now ours.
        let obj = unsafe { ARef::from_raw(NonNull::new_unchecked(obj)) };
        // SAFETY: `dev` is initialised; `%pA` formats a `fmt::Arguments`.
        to_result(unsafe {
            bindings::dev_set_name(
                dev,
                c"%pA".as_char_ptr(),
                (&raw const name).cast::<c_void>(),
            )
        })?;
        // SAFETY: `dev` is initialised and named.
        to_result(unsafe { bindings::device_add(dev) })?;
        Ok(obj)
    }

    /// Removes a device added by [`Class::add_device`]; it is freed when the last reference
    /// goes.
    ///
    /// # Safety
    ///
    /// `obj` was added to this class by [`Class::add_device`] and is not removed yet; the
    /// caller removes it once.
    pub unsafe fn remove_device<T: ClassDevice>(&'static self, obj: &T) {
        // SAFETY: By the function's safety requirements.
        unsafe { bindings::device_del(T::raw_device(obj)) }
    }

    /// Finds the first device of the class for which `matches` is true, and takes a reference.
    pub fn find_device<T: ClassDevice>(
        &'static self,
        mut matches: impl FnMut(&T) -> bool,
    ) -> Option<ARef<T>> {
        let mut matcher: &mut dyn FnMut(&T) -> bool = &mut matches;
        // SAFETY: `self.0` is registered; the callback gets `matcher` back as its data.
        let dev = unsafe {
            bindings::class_find_device(
                &self.0,
                core::ptr::null_mut(),
                (&raw mut matcher).cast::<c_void>(),
                Some(Self::match_callback::<T>),
            )
        };
        let dev = NonNull::new(dev)?;
        // SAFETY: By the type invariants every device of the class is embedded in a `T`, and
        // `class_find_device` took the reference that the `ARef` now owns.
        Some(unsafe { ARef::from_raw(NonNull::new_unchecked(T::from_raw_device(dev.as_ptr()))) })
    }

    /// # Safety
    ///
    /// `data` must be the `&mut &mut dyn FnMut(&T) -> bool` passed by `find_device`, and `dev` a
    /// device of this class.
    unsafe extern "C" fn match_callback<T: ClassDevice>(
        dev: *mut bindings::device,
        data: *const c_void,
    ) -> c_int {
        // SAFETY: By the function's safety requirements.
        let matcher = unsafe { &mut *data.cast::<&mut dyn FnMut(&T) -> bool>().cast_mut() };
        // SAFETY: By the type invariants the device is embedded in a live `T`.
        let obj = unsafe { &*T::from_raw_device(dev) };
        c_int::from(matcher(obj))
    }

    /// # Safety
    ///
    /// Called by the driver core once, when the last reference to `dev`, a device of this class,
    /// is dropped.
    unsafe extern "C" fn release_callback<T: ClassDevice, R: OnRelease<T>>(
        dev: *mut bindings::device,
    ) {
        // SAFETY: By the type invariants `dev` is embedded in a `T` allocated by `add_device`
        // with `KBox`; no reference remains, so we own it again.
        let obj = unsafe { KBox::from_raw(T::from_raw_device(dev)) };
        R::released(&obj);
    }
}

/// A NULL-terminated list of attribute groups, as a class's `dev_groups`.
#[repr(transparent)]
pub struct GroupList([*const bindings::attribute_group; 2]);

// SAFETY: The list points at immutable `'static` groups.
unsafe impl Sync for GroupList {}

impl GroupList {
    /// A list holding `group` only.
    pub const fn one(group: &'static AttributeGroup) -> Self {
        Self([group.as_raw(), core::ptr::null()])
    }
}

/// Adds a symbolic link `name` in `dev`'s sysfs directory pointing at `target`'s directory.
pub fn create_link(dev: &Device, target: &Device, name: &CStr) -> Result {
    // SAFETY: Both devices are valid; sysfs copies `name`.
    to_result(unsafe {
        bindings::sysfs_create_link(
            &raw mut (*dev.as_raw()).kobj,
            &raw mut (*target.as_raw()).kobj,
            name.as_char_ptr(),
        )
    })
}

/// Removes a link made by [`create_link`].
pub fn remove_link(dev: &Device, name: &CStr) {
    // SAFETY: `dev` is valid; removing a missing link is harmless.
    unsafe { bindings::sysfs_remove_link(&raw mut (*dev.as_raw()).kobj, name.as_char_ptr()) }
}
