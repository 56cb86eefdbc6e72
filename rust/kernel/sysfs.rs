// SPDX-License-Identifier: GPL-2.0

//! Static sysfs attribute groups for devices, including groups that hide as a whole.
//!
//! A group is declared once, as a `static`, with
//! [`device_attribute_group!`](crate::device_attribute_group). The static has the layout of C's
//! `struct attribute_group`, so C code can list it by name (for example in the PCI
//! core's `pci_dev_attr_groups[]`) and Rust code can pass it to a class or register it on a
//! device.
//!
//! A *named* group whose [`GroupVisibility::group_visible`] returns `false` has no directory at
//! all, exactly as C's `DEFINE_SYSFS_GROUP_VISIBLE()` arranges: the visibility callback returns
//! `SYSFS_GROUP_INVISIBLE` for attribute 0. After the condition changes, [`AttributeGroup::update`]
//! (C's `sysfs_update_group()`) creates or removes the directory. For an *unnamed* group the same
//! answer hides every file of the group, one by one. (C's `DEFINE_SIMPLE_SYSFS_GROUP_VISIBLE()`
//! hides only the first file of an unnamed group; the others keep their modes.)
//!
//! C header: [`include/linux/sysfs.h`](srctree/include/linux/sysfs.h)

use crate::{
    bindings,
    device::Device,
    error::{to_result, VTABLE_DEFAULT_ERROR},
    ffi::{c_char, c_int},
    page::PAGE_SIZE,
    prelude::*,
    str::Formatter,
    types::Opaque, //
};
use core::marker::PhantomData;

/// Attribute mode bit that, returned for attribute 0 of a named group, hides the group directory.
pub const GROUP_INVISIBLE: u16 = bindings::SYSFS_GROUP_INVISIBLE as u16;

/// Operations behind one device attribute file.
///
/// Implement it on a marker type per attribute; declare the attribute with
/// [`device_attribute_group!`](crate::device_attribute_group).
#[vtable]
pub trait DeviceAttributeOps {
    /// Writes the attribute's contents into `out` (at most one page).
    fn show(_dev: &Device, _out: &mut Formatter<'_>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Applies a write.
    ///
    /// `input` is what user space wrote with one trailing newline removed, so that `echo x > f`
    /// and `printf x > f` are the same request. On success the whole write is consumed.
    fn store(_dev: &Device, _input: &[u8]) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// Decides which parts of a group are visible on a given device.
///
/// Both methods run in sysfs' group creation and update paths, for the device the group belongs
/// to; they must not sleep for long and must not take locks held around
/// [`AttributeGroup::update`].
pub trait GroupVisibility {
    /// Whether the group is shown at all. For a named group, `false` means no directory.
    fn group_visible(_dev: &Device) -> bool {
        true
    }

    /// The mode of attribute `attr` of the group: `mode` (the declared one) to show it as
    /// declared, another mode to change it, or 0 to hide this attribute only. Tell attributes
    /// apart with [`DeviceAttribute::is`].
    fn attr_visible(_dev: &Device, _attr: &Attribute, mode: u16) -> u16 {
        mode
    }
}

/// An attribute of a group, as sysfs asks about it (C's `struct attribute`).
#[repr(transparent)]
pub struct Attribute(Opaque<bindings::attribute>);

/// A group that is always visible, with every attribute in its declared mode.
pub struct AlwaysVisible;

impl GroupVisibility for AlwaysVisible {}

/// One device attribute file, as C's `struct device_attribute`.
///
/// # Invariants
///
/// `attr` is a `struct device_attribute` whose `show` and `store` callbacks are those of this
/// type for `T`, and whose name is a `'static` C string.
#[repr(transparent)]
pub struct DeviceAttribute<T> {
    attr: Opaque<bindings::device_attribute>,
    _ops: PhantomData<T>,
}

// SAFETY: A `DeviceAttribute` is never mutated from Rust after construction; sysfs only reads it.
unsafe impl<T> Sync for DeviceAttribute<T> {}

// SAFETY: The attribute holds no thread-bound state.
unsafe impl<T> Send for DeviceAttribute<T> {}

impl<T: DeviceAttributeOps> DeviceAttribute<T> {
    /// Creates an attribute named `name` with permissions `mode` (e.g. `0o644`).
    pub const fn new(name: &'static CStr, mode: u16) -> Self {
        type Show = unsafe extern "C" fn(
            *mut bindings::device,
            *mut bindings::device_attribute,
            *mut c_char,
        ) -> isize;
        type Store = unsafe extern "C" fn(
            *mut bindings::device,
            *mut bindings::device_attribute,
            *const c_char,
            usize,
        ) -> isize;
        let show: Option<Show> = if T::HAS_SHOW {
            Some(Self::show_callback)
        } else {
            None
        };
        let store: Option<Store> = if T::HAS_STORE {
            Some(Self::store_callback)
        } else {
            None
        };
        // INVARIANT: the callbacks are this type's and `name` is `'static`.
        Self {
            attr: Opaque::new(bindings::device_attribute {
                attr: bindings::attribute {
                    name: crate::str::as_char_ptr_in_const_context(name),
                    mode,
                    ..pin_init::zeroed()
                },
                #[cfg(CONFIG_CFI)]
                __bindgen_anon_1: bindings::device_attribute__bindgen_ty_1 {
                    show,
                    ..pin_init::zeroed()
                },
                #[cfg(not(CONFIG_CFI))]
                __bindgen_anon_1: bindings::device_attribute__bindgen_ty_1 { show },
                #[cfg(CONFIG_CFI)]
                __bindgen_anon_2: bindings::device_attribute__bindgen_ty_2 {
                    store,
                    ..pin_init::zeroed()
                },
                #[cfg(not(CONFIG_CFI))]
                __bindgen_anon_2: bindings::device_attribute__bindgen_ty_2 { store },
            }),
            _ops: PhantomData,
        }
    }

    /// The embedded `struct attribute`, for an attribute list.
    #[doc(hidden)]
    pub const fn as_attribute_ptr(&'static self) -> *mut bindings::attribute {
        // CAST: `attr` is the first field of `struct device_attribute`.
        self.attr.get().cast()
    }

    /// Whether `attr` is this attribute.
    pub fn is(&'static self, attr: &Attribute) -> bool {
        core::ptr::eq(self.as_attribute_ptr(), attr.0.get())
    }

    /// # Safety
    ///
    /// Called by sysfs with a live `dev` (kernfs holds an active reference on the file, which
    /// the device outlives) and a `buf` of `PAGE_SIZE` writable bytes.
    unsafe extern "C" fn show_callback(
        dev: *mut bindings::device,
        _attr: *mut bindings::device_attribute,
        buf: *mut c_char,
    ) -> isize {
        // SAFETY: By the function's safety requirements `dev` is valid for this call.
        let dev = unsafe { Device::from_raw(dev) };
        // SAFETY: sysfs hands over a page-sized buffer that nothing else uses during the call.
        let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), PAGE_SIZE) };
        let mut out = Formatter::new(page);
        match T::show(dev, &mut out) {
            // CAST: at most `PAGE_SIZE` bytes were written.
            Ok(()) => out.bytes_written() as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by sysfs with a live `dev` and `count` readable bytes at `buf`.
    unsafe extern "C" fn store_callback(
        dev: *mut bindings::device,
        _attr: *mut bindings::device_attribute,
        buf: *const c_char,
        count: usize,
    ) -> isize {
        // SAFETY: By the function's safety requirements `dev` is valid for this call.
        let dev = unsafe { Device::from_raw(dev) };
        // SAFETY: By the function's safety requirements `buf` holds `count` bytes.
        let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
        let input = input.strip_suffix(b"\n").unwrap_or(input);
        match T::store(dev, input) {
            // CAST: sysfs limits a write to one page.
            Ok(()) => count as isize,
            Err(e) => e.to_errno() as isize,
        }
    }
}

/// Reading and writing an attribute through the callbacks sysfs calls, for tests (built with
/// `CONFIG_KUNIT` only).
#[cfg(CONFIG_KUNIT)]
impl<T: DeviceAttributeOps> DeviceAttribute<T> {
    /// Writes `input` to this attribute of `dev` as sysfs does; what `write()` would return:
    /// the bytes consumed or a negative errno.
    pub fn write(&'static self, dev: &Device, input: &[u8]) -> isize {
        // SAFETY: `dev` is live and `input` holds `input.len()` bytes, as the callback needs.
        unsafe {
            Self::store_callback(
                dev.as_raw(),
                self.attr.get(),
                input.as_ptr().cast(),
                input.len(),
            )
        }
    }

    /// Reads this attribute of `dev` as sysfs does, into a page: the text or the error.
    pub fn read(&'static self, dev: &Device) -> Result<KVec<u8>> {
        let mut page = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
        let (raw_dev, buf) = (dev.as_raw(), page.as_mut_ptr().cast());
        // SAFETY: `dev` is live and `page` has `PAGE_SIZE` writable bytes, as the callback needs.
        let len = unsafe { Self::show_callback(raw_dev, self.attr.get(), buf) };
        // CAST: a negative return is an errno.
        let len = usize::try_from(len).map_err(|_| Error::from_errno(len as i32))?;
        page.truncate(len);
        Ok(page)
    }
}

/// A NULL-terminated array of attribute pointers, as `attribute_group::attrs` expects.
///
/// Built by [`device_attribute_group!`](crate::device_attribute_group); not meant to be written
/// by hand.
#[doc(hidden)]
#[repr(transparent)]
pub struct AttributeList<const N: usize>([*mut bindings::attribute; N]);

// SAFETY: The list only points at `'static` attributes and is never mutated.
unsafe impl<const N: usize> Sync for AttributeList<N> {}

impl<const N: usize> AttributeList<N> {
    /// Wraps `attrs`, whose last entry must be NULL.
    ///
    /// # Safety
    ///
    /// Every other entry is the [`DeviceAttribute::as_attribute_ptr`] of a `'static`
    /// [`DeviceAttribute`].
    pub const unsafe fn new(attrs: [*mut bindings::attribute; N]) -> Self {
        assert!(N > 0 && attrs[N - 1].is_null());
        Self(attrs)
    }
}

/// A static attribute group with the layout of C's `struct attribute_group`.
///
/// # Invariants
///
/// `0.attrs` points to a `'static` NULL-terminated list of `DeviceAttribute`s and
/// `0.is_visible`, if set, is `AttributeGroup::is_visible_callback` for some
/// [`GroupVisibility`], which requires the group to be attached to device kobjects only. All
/// safe ways to attach it ([`AttributeGroup::register`], class device groups) do so.
#[repr(transparent)]
pub struct AttributeGroup(bindings::attribute_group);

// SAFETY: The group is immutable and points only at `'static` data.
unsafe impl Sync for AttributeGroup {}

impl AttributeGroup {
    /// Creates a group from `attrs`, shown according to `V`.
    ///
    /// `name` is the group's sub-directory; `None` puts the files in the device's own directory.
    ///
    /// # Safety
    ///
    /// The group is attached to device kobjects only (`is_visible` casts the kobject to its
    /// device), which every safe way of attaching it ensures.
    #[doc(hidden)]
    pub const unsafe fn new<V: GroupVisibility, const N: usize>(
        name: Option<&'static CStr>,
        attrs: &'static AttributeList<N>,
    ) -> Self {
        let name = match name {
            Some(name) => crate::str::as_char_ptr_in_const_context(name),
            None => core::ptr::null(),
        };
        #[cfg(CONFIG_CFI)]
        let is_visible = bindings::attribute_group__bindgen_ty_1 {
            is_visible: Some(Self::is_visible_callback::<V>),
            ..pin_init::zeroed()
        };
        #[cfg(not(CONFIG_CFI))]
        let is_visible = bindings::attribute_group__bindgen_ty_1 {
            is_visible: Some(Self::is_visible_callback::<V>),
        };
        // INVARIANT: `attrs` is a `'static` NULL-terminated list of `DeviceAttribute`s (the
        // safety requirement of `AttributeList::new`), and `is_visible` is our callback.
        Self(bindings::attribute_group {
            name,
            __bindgen_anon_1: is_visible,
            __bindgen_anon_2: bindings::attribute_group__bindgen_ty_2 {
                attrs: attrs.0.as_ptr().cast_mut(),
            },
            ..pin_init::zeroed()
        })
    }

    /// Returns the C `struct attribute_group`.
    pub const fn as_raw(&'static self) -> *const bindings::attribute_group {
        &self.0
    }

    /// # Safety
    ///
    /// Called by sysfs with `kobj` embedded in a live `struct device` (see the type invariants)
    /// and `attr` pointing to attribute `n` of this group.
    unsafe extern "C" fn is_visible_callback<V: GroupVisibility>(
        kobj: *mut bindings::kobject,
        attr: *mut bindings::attribute,
        n: c_int,
    ) -> u16 {
        // SAFETY: By the type invariants `kobj` is the `kobj` field of a `struct device`.
        let dev = unsafe { crate::container_of!(kobj, bindings::device, kobj) };
        // SAFETY: sysfs holds a reference to the device while it evaluates visibility.
        let dev = unsafe { Device::from_raw(dev) };
        if !V::group_visible(dev) {
            // Attribute 0 carries the verdict for a named group's directory; the others are
            // only asked about in unnamed groups, where each file must hide itself.
            return if n == 0 { GROUP_INVISIBLE } else { 0 };
        }
        // SAFETY: By the function's safety requirements `attr` is valid; `Attribute` is a
        // transparent wrapper.
        let attr = unsafe { &*attr.cast::<Attribute>() };
        // SAFETY: As above; sysfs does not change the mode while it asks.
        let mode = unsafe { (*attr.0.get()).mode };
        V::attr_visible(dev, attr, mode)
    }

    /// Re-evaluates visibility on `dev`, as C's `sysfs_update_group()`.
    ///
    /// A named group that became visible gets its directory; one that became invisible loses
    /// it; files appear and disappear according to [`GroupVisibility::attr_visible`]. The group
    /// must be one of `dev`'s groups (registered, or listed for its bus or class).
    pub fn update(&'static self, dev: &Device) -> Result {
        // SAFETY: `dev` is valid and the group is a valid `'static` group of device attributes.
        to_result(unsafe { bindings::sysfs_update_group(kobj_of(dev), &self.0) })
    }

    /// Adds the group to `dev` until the returned registration is dropped.
    pub fn register<'a>(&'static self, dev: &'a Device) -> Result<Registration<'a>> {
        // SAFETY: `dev` is valid and the group is a valid `'static` group of device attributes.
        to_result(unsafe { bindings::sysfs_create_group(kobj_of(dev), &self.0) })?;
        Ok(Registration { group: self, dev })
    }
}

fn kobj_of(dev: &Device) -> *mut bindings::kobject {
    // SAFETY: `dev.as_raw()` is a valid `struct device`; this only computes a field address.
    unsafe { &raw mut (*dev.as_raw()).kobj }
}

/// A group added to a device with [`AttributeGroup::register`]; removed on drop.
pub struct Registration<'a> {
    group: &'static AttributeGroup,
    dev: &'a Device,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        // SAFETY: The group was added to this still-live device by `register`.
        unsafe { bindings::sysfs_remove_group(kobj_of(self.dev), &self.group.0) };
    }
}

#[cfg(CONFIG_KUNIT)]
pub use kernfs::{is_link_to, lookup, Entry};

/// Looking files up in kernfs, for tests (built with `CONFIG_KUNIT` only).
#[cfg(CONFIG_KUNIT)]
mod kernfs {
    use super::kobj_of;
    use crate::{bindings, device::Device, prelude::*};
    use core::ptr::NonNull;

    /// What a sysfs path below a device currently is, looked up in kernfs.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Entry {
        /// A directory (for example a named group's).
        Dir,
        /// A file with these permission bits.
        File(u16),
        /// A symbolic link.
        Link,
    }

    /// Looks up `path` (components below `dev`'s sysfs directory) in kernfs.
    ///
    /// Returns `None` when any component does not exist. Meant for tests and diagnostics: the
    /// answer can be stale as soon as it is returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{faux, sysfs};
    ///
    /// let reg = faux::Registration::new(c"sysfs_lookup_example", None)?;
    /// let dev = reg.as_ref().as_ref();
    /// assert_eq!(sysfs::lookup(dev, &[c"uevent"]), Some(sysfs::Entry::File(0o644)));
    /// assert_eq!(sysfs::lookup(dev, &[c"no_such_file"]), None);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn lookup(dev: &Device, path: &[&CStr]) -> Option<Entry> {
        with_node(dev, path, |node| {
            let kind = u32::from(node.flags) & bindings::KERNFS_TYPE_MASK;
            if kind == bindings::kernfs_node_type_KERNFS_DIR {
                Entry::Dir
            } else if kind == bindings::kernfs_node_type_KERNFS_LINK {
                Entry::Link
            } else {
                Entry::File(node.mode & 0o777)
            }
        })
    }

    /// Whether `path` below `dev` is a symbolic link to `target`'s sysfs directory.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{class, faux, sysfs};
    ///
    /// let reg_a = faux::Registration::new(c"sysfs_link_a", None)?;
    /// let reg_b = faux::Registration::new(c"sysfs_link_b", None)?;
    /// let (a, b) = (reg_a.as_ref().as_ref(), reg_b.as_ref().as_ref());
    /// class::create_link(a, b, c"peer")?;
    /// assert!(sysfs::is_link_to(a, &[c"peer"], b));
    /// assert!(!sysfs::is_link_to(a, &[c"peer"], a));
    /// assert!(!sysfs::is_link_to(a, &[c"uevent"], b));
    /// class::remove_link(a, c"peer");
    /// assert!(!sysfs::is_link_to(a, &[c"peer"], b));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn is_link_to(dev: &Device, path: &[&CStr], target: &Device) -> bool {
        // SAFETY: `kobj_of` is valid; `sd` is the target's directory while it is registered.
        let target_dir = unsafe { (*kobj_of(target)).sd };
        with_node(dev, path, |node| {
            let kind = u32::from(node.flags) & bindings::KERNFS_TYPE_MASK;
            if kind != bindings::kernfs_node_type_KERNFS_LINK {
                return false;
            }
            // SAFETY: A link node's union holds `symlink`, immutable after creation.
            let link_target = unsafe { node.__bindgen_anon_1.symlink.target_kn };
            link_target == target_dir
        })
        .unwrap_or(false)
    }

    /// Walks `path` below `dev` and applies `f` to the node found, holding a reference to it.
    fn with_node<R>(
        dev: &Device,
        path: &[&CStr],
        f: impl FnOnce(&bindings::kernfs_node) -> R,
    ) -> Option<R> {
        // SAFETY: `kobj_of` is valid; `sd` is the device's kernfs directory while it is registered.
        let mut node = NonNull::new(unsafe { (*kobj_of(dev)).sd })?;
        // SAFETY: `node` is a live kernfs node; take a reference so the loop can put one per step.
        unsafe { bindings::kernfs_get(node.as_ptr()) };
        for name in path {
            // SAFETY: `node` is referenced and `name` is a C string.
            let child = unsafe {
                bindings::kernfs_find_and_get_ns(
                    node.as_ptr(),
                    name.as_char_ptr(),
                    core::ptr::null(),
                )
            };
            // SAFETY: Drops the reference taken on `node` above or in the previous step.
            unsafe { bindings::kernfs_put(node.as_ptr()) };
            node = NonNull::new(child)?;
        }
        // SAFETY: `node` is referenced, so it stays valid during `f`.
        let result = f(unsafe { node.as_ref() });
        // SAFETY: Drops the last reference taken above.
        unsafe { bindings::kernfs_put(node.as_ptr()) };
        Some(result)
    }
}

/// Declares a `static` [`AttributeGroup`] of device attributes.
///
/// Each attribute is `IDENT: OpsType = (c"file_name", mode)`; the idents name the attribute
/// statics, declared next to the group with its visibility, so that a [`GroupVisibility`] can
/// tell them apart ([`DeviceAttribute::is`]). `visibility` is a [`GroupVisibility`] type; the
/// group static can carry attributes such as `#[no_mangle]` so that C can reference it.
///
/// # Examples
///
/// ```
/// use kernel::{device::Device, faux, str::Formatter, sysfs};
/// use core::{fmt::Write, sync::atomic::{AtomicBool, Ordering}};
///
/// static SHOWN: AtomicBool = AtomicBool::new(false);
///
/// struct Greeting;
/// #[vtable]
/// impl sysfs::DeviceAttributeOps for Greeting {
///     fn show(_dev: &Device, out: &mut Formatter<'_>) -> Result {
///         Ok(writeln!(out, "hello")?)
///     }
/// }
///
/// struct WhenShown;
/// impl sysfs::GroupVisibility for WhenShown {
///     fn group_visible(_dev: &Device) -> bool {
///         SHOWN.load(Ordering::Relaxed)
///     }
/// }
///
/// kernel::device_attribute_group! {
///     static EXAMPLE_GROUP = {
///         name: c"example",
///         visibility: WhenShown,
///         attributes: [GREETING: Greeting = (c"greeting", 0o444)],
///     };
/// }
///
/// let reg = faux::Registration::new(c"sysfs_group_example", None)?;
/// let dev = reg.as_ref().as_ref();
/// let _group = EXAMPLE_GROUP.register(dev)?;
/// assert_eq!(sysfs::lookup(dev, &[c"example"]), None);
///
/// SHOWN.store(true, Ordering::Relaxed);
/// EXAMPLE_GROUP.update(dev)?;
/// assert_eq!(sysfs::lookup(dev, &[c"example", c"greeting"]), Some(sysfs::Entry::File(0o444)));
/// # Ok::<(), Error>(())
/// ```
#[macro_export]
macro_rules! device_attribute_group {
    (
        $(#[$meta:meta])*
        $vis:vis static $group:ident = {
            $(name: $name:expr,)?
            visibility: $visibility:ty,
            attributes: [$($attr:ident: $ops:ty = ($file:expr, $mode:expr)),+ $(,)?] $(,)?
        };
    ) => {
        $(
            #[allow(non_upper_case_globals)]
            $vis static $attr: $crate::sysfs::DeviceAttribute<$ops> =
                $crate::sysfs::DeviceAttribute::new($file, $mode);
        )+
        $(#[$meta])*
        $vis static $group: $crate::sysfs::AttributeGroup = {
            // The attributes and the NULL that ends the list.
            const LEN: usize = [$(stringify!($attr)),+].len() + 1;
            static ATTRIBUTES: $crate::sysfs::AttributeList<LEN> =
                // SAFETY: Every entry but the NULL end is a `'static` `DeviceAttribute`.
                unsafe {
                    $crate::sysfs::AttributeList::new([
                        $($attr.as_attribute_ptr(),)+
                        ::core::ptr::null_mut(),
                    ])
                };
            // SAFETY: The group is only attached through `AttributeGroup`'s methods, class
            // devices and the PCI core's device groups: all device kobjects.
            unsafe {
                $crate::sysfs::AttributeGroup::new::<$visibility, LEN>(
                    $crate::device_attribute_group!(@name $($name)?),
                    &ATTRIBUTES,
                )
            }
        };
    };
    (@name $name:expr) => { Some($name) };
    (@name) => { None };
}
