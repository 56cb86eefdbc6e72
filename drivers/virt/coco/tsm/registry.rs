// SPDX-License-Identifier: GPL-2.0

//! Registration and lookup of TSM devices.

use core::fmt::Write;
use kernel::{
    class::{self, Class, ClassDevice, GroupList, OnRelease},
    device::Device,
    id_pool::IdPool,
    prelude::*,
    str::Formatter,
    sync::aref::ARef,
    sysfs::{DeviceAttributeOps, GroupVisibility},
    tsm::{NewTsmDevice, PciTsmOps, Personality, TsmDevice},
    uevent, //
};

kernel::sync::global_lock! {
    // SAFETY: `init()` initialises the lock before the class, the only way in, is registered.
    // The pool is made on first use (its constructor is not `const`).
    unsafe(uninit) static TSM_IDS: Mutex<Option<IdPool>> = None;
}

/// What a link TSM declares about IDE at registration (the seed RFC's `tsm_info`); a TSM
/// registered through C `tsm_register()` declares nothing.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LinkInfo {
    /// The TSM can set up Link IDE.
    pub(crate) link_ide: bool,
    /// Selective IDE Streams the TSM can key at once.
    pub(crate) selective_streams: u32,
}

kernel::sync::global_lock! {
    // SAFETY: `init()` initialises the lock before the class, the only way in, is registered.
    unsafe(uninit) static LINK_INFO: Mutex<KVec<(u32, LinkInfo)>> = KVec::new();
}

/// What TSM `id` declared.
pub(crate) fn link_info(id: u32) -> LinkInfo {
    LINK_INFO
        .lock()
        .iter()
        .find(|(tsm, _)| *tsm == id)
        .map_or(LinkInfo::default(), |(_, info)| *info)
}

fn forget_link_info(id: u32) {
    LINK_INFO.lock().retain(|(tsm, _)| *tsm != id);
}

/// Takes the lowest free `tsmN` number, as an IDA would.
fn alloc_id() -> Result<u32> {
    let mut ids = TSM_IDS.lock();
    let pool = ids.get_or_insert_with(IdPool::new);
    loop {
        if let Some(unused) = pool.find_unused_id(0) {
            // The pool's ids stay below `i32::MAX`, as `tsm_dev::id` (a C int) needs.
            let id = unused.as_u32();
            unused.acquire();
            return Ok(id);
        }
        let resizer = pool.grow_request().ok_or(ENOSPC)?.realloc(GFP_KERNEL)?;
        pool.grow(resizer);
    }
}

/// Returns `id` to the pool.
fn free_id(id: u32) {
    if let Some(pool) = TSM_IDS.lock().as_mut() {
        pool.release_id(id as usize);
    }
}

static TSM_CLASS: Class = Class::new::<TsmDevice, ReturnId>(c"tsm", Some(&TSM_GROUPS));

/// `tsmN/pci/`: present on link TSMs.
struct LinkTsmOnly;

impl GroupVisibility for LinkTsmOnly {
    fn group_visible(dev: &Device) -> bool {
        TsmDevice::from_device(dev)
            .and_then(TsmDevice::pci_ops)
            .is_some_and(|ops| ops.personality() == Personality::Link)
    }
}

/// Shows one field of the TSM's [`LinkInfo`].
fn show_link_info(dev: &Device, out: &mut Formatter<'_>, field: fn(LinkInfo) -> u32) -> Result {
    let tsm = TsmDevice::from_device(dev).ok_or(ENODEV)?;
    Ok(writeln!(out, "{}", field(link_info(tsm.id())))?)
}

struct LinkCapable;

#[vtable]
impl DeviceAttributeOps for LinkCapable {
    fn show(dev: &Device, out: &mut Formatter<'_>) -> Result {
        show_link_info(dev, out, |info| u32::from(info.link_ide))
    }
}

struct SelectiveStreams;

#[vtable]
impl DeviceAttributeOps for SelectiveStreams {
    fn show(dev: &Device, out: &mut Formatter<'_>) -> Result {
        show_link_info(dev, out, |info| info.selective_streams)
    }
}

kernel::device_attribute_group! {
    static PCI_GROUP = {
        name: c"pci",
        visibility: LinkTsmOnly,
        attributes: [
            LINK_CAPABLE: LinkCapable = (c"link_capable", 0o444),
            SELECTIVE_STREAMS: SelectiveStreams = (c"selective_streams", 0o444),
        ],
    };
}

static TSM_GROUPS: GroupList = GroupList::one(&PCI_GROUP);

/// Gives a released device's number back, so that the next TSM reuses it.
struct ReturnId;

impl OnRelease<TsmDevice> for ReturnId {
    fn released(dev: &TsmDevice) {
        free_id(dev.id());
    }
}

/// The name of the link from `tsmN` to the device providing the TSM.
const HOST_LINK: &CStr = c"host";

/// Sets up the class; runs once, before any TSM can register.
pub(crate) fn init() -> Result {
    // SAFETY: Runs once, from the class core's initcall, before any other use of `TSM_IDS`.
    unsafe { TSM_IDS.init() };
    // SAFETY: As above, for `LINK_INFO`.
    unsafe { LINK_INFO.init() };
    TSM_CLASS.register()
}

/// Registers a TSM below `parent` with optional PCI operations, as C `tsm_register()`.
///
/// Once PCI operations are handed to the PCI/TSM core, a `KOBJ_CHANGE` uevent on `tsmN` tells
/// user space that the TSM is ready.
/// `info` is what a link TSM declares about IDE (`tsmN/pci/`), default for any other.
pub(crate) fn register(
    parent: Option<&Device>,
    ops: Option<&'static PciTsmOps>,
    info: LinkInfo,
) -> Result<ARef<TsmDevice>> {
    let link = match ops.map(PciTsmOps::personality) {
        None | Some(Personality::Devsec) => false,
        Some(Personality::Link) => true,
        Some(Personality::None | Personality::Both) => return Err(EINVAL),
    };
    if !link && info != LinkInfo::default() {
        return Err(EINVAL);
    }
    let id = alloc_id()?;
    // Known before the PCI/TSM core sees the TSM: it decides `tsm/connect_mode` from it.
    if info != LinkInfo::default() {
        LINK_INFO
            .lock()
            .push((id, info), GFP_KERNEL)
            .inspect_err(|_| free_id(id))?;
    }
    let obj = NewTsmDevice::new(id, ops).inspect_err(|_| {
        forget_link_info(id);
        free_id(id);
    })?;
    // From here on the device's release returns the number.
    let tsm = obj
        .add(&TSM_CLASS, parent, format_args!("tsm{id}"))
        .inspect_err(|_| forget_link_info(id))?;

    if let Some(parent) = parent {
        class::create_link(tsm.device(), parent, HOST_LINK)
            // SAFETY: Added above, removed only here on this path.
            .inspect_err(|_| unsafe { TSM_CLASS.remove_device(&*tsm) })?;
    }
    if ops.is_some() {
        if let Err(e) = tsm.pci_register() {
            dev_err!(tsm.device(), "PCI/TSM registration failed: {:?}\n", e);
            // SAFETY: Added above; the caller never sees it.
            unsafe { remove(&tsm) };
            return Err(e);
        }
        // Readiness signal for user space; a failure to send it is not a failure to register.
        let _ = uevent::send_change(tsm.device());
    }
    Ok(tsm)
}

/// # Safety
///
/// `tsm` was added by [`register`] and is removed once.
unsafe fn remove(tsm: &TsmDevice) {
    forget_link_info(tsm.id());
    class::remove_link(tsm.device(), HOST_LINK);
    // SAFETY: By the function's safety requirements.
    unsafe { TSM_CLASS.remove_device(tsm) };
}

/// Unregisters a TSM, as C `tsm_unregister()`: the PCI/TSM core tears down the TSM's device
/// contexts first, then `tsmN` goes away.
///
/// # Safety
///
/// `tsm` was returned by [`register`] and is unregistered once.
pub(crate) unsafe fn unregister(tsm: ARef<TsmDevice>) {
    if tsm.pci_ops().is_some() {
        tsm.pci_unregister();
    }
    // SAFETY: By the function's safety requirements.
    unsafe { remove(&tsm) };
}

/// Finds `tsmN` by number and takes a reference, as C `find_tsm_dev()`.
pub(crate) fn find(id: u32) -> Option<ARef<TsmDevice>> {
    TSM_CLASS.find_device(|tsm: &TsmDevice| tsm.id() == id)
}

#[cfg(CONFIG_TSM_CLASS_RUST_KUNIT_TEST)]
#[kunit_tests(tsm_class)]
mod tests {
    use super::*;
    use crate::abi;
    use kernel::{
        faux,
        pci,
        str::CString,
        sysfs::{self, Entry},
        tsm::{LinkTsm, Registration},
        uevent, //
    };

    /// A link TSM that manages nothing: enough for the PCI/TSM core to accept it.
    struct IdleLinkTsm;

    #[vtable]
    impl LinkTsm for IdleLinkTsm {
        type Function = ();
        type Tdi = ();

        fn probe(_tsm: &TsmDevice, _pdev: &pci::Device, _dsm: bool) -> Result<Option<()>> {
            Ok(None)
        }
        fn connect(_pdev: &pci::Device, _function: &()) -> Result {
            Err(ENXIO)
        }
        fn disconnect(_pdev: &pci::Device, _function: &()) {}
    }

    fn dev_of(faux: &faux::Registration) -> &Device {
        faux.as_ref().as_ref()
    }

    fn name_of(tsm: &TsmDevice) -> Result<CString> {
        CString::try_from_fmt(fmt!("tsm{}", tsm.id()))
    }

    /// The end of `tsm`'s device path, as uevents carry it.
    fn devpath_suffix(tsm: &TsmDevice) -> Result<CString> {
        CString::try_from_fmt(fmt!("/tsm/tsm{}", tsm.id()))
    }

    /// Where `tsm` appears below its parent: `<parent>/tsm/tsmN`.
    fn entry_below_parent(parent: &Device, tsm: &TsmDevice) -> Result<Option<Entry>> {
        Ok(sysfs::lookup(parent, &[c"tsm", &name_of(tsm)?]))
    }

    #[test]
    fn register_adds_tsm_with_host_and_device_links() -> Result {
        let parent = faux::Registration::new(c"tsm_class_test_links", None)?;
        let tsm = Registration::new_plain(dev_of(&parent))?;
        let dev = tsm.device().device();
        assert!(sysfs::is_link_to(dev, &[c"host"], dev_of(&parent)));
        assert!(sysfs::is_link_to(dev, &[c"device"], dev_of(&parent)));
        assert_eq!(
            entry_below_parent(dev_of(&parent), tsm.device())?,
            Some(Entry::Dir)
        );

        let held = tsm.device_ref();
        drop(tsm);
        // Unregistered: gone from sysfs and lookups even while a reference keeps it alive.
        assert_eq!(entry_below_parent(dev_of(&parent), &held)?, None);
        assert!(find(held.id()).is_none());
        Ok(())
    }

    #[test]
    fn number_is_reused_after_release() -> Result {
        let parent = faux::Registration::new(c"tsm_class_test_reuse", None)?;
        let first = Registration::new_plain(dev_of(&parent))?;
        let second = Registration::new_plain(dev_of(&parent))?;
        let first_id = first.device().id();
        assert!(second.device().id() > first_id);

        // A reference outliving unregistration keeps the number taken.
        let held = first.device_ref();
        drop(first);
        let third = Registration::new_plain(dev_of(&parent))?;
        assert!(third.device().id() != first_id);

        drop(held);
        let fourth = Registration::new_plain(dev_of(&parent))?;
        assert_eq!(fourth.device().id(), first_id);
        Ok(())
    }

    #[test]
    fn two_tsms_are_found_by_number() -> Result {
        let parent_a = faux::Registration::new(c"tsm_class_test_a", None)?;
        let parent_b = faux::Registration::new(c"tsm_class_test_b", None)?;
        let a = Registration::new_link::<IdleLinkTsm>(dev_of(&parent_a))?;
        let b = Registration::new_plain(dev_of(&parent_b))?;
        let found_a = find(a.device().id()).ok_or(ENOENT)?;
        let found_b = find(b.device().id()).ok_or(ENOENT)?;
        assert!(core::ptr::eq(&*found_a, a.device()));
        assert!(core::ptr::eq(&*found_b, b.device()));
        assert!(found_a.pci_ops().is_some());
        assert!(found_b.pci_ops().is_none());
        assert_eq!(
            entry_below_parent(dev_of(&parent_a), a.device())?,
            Some(Entry::Dir)
        );
        assert_eq!(
            entry_below_parent(dev_of(&parent_b), b.device())?,
            Some(Entry::Dir)
        );
        assert_eq!(entry_below_parent(dev_of(&parent_a), b.device())?, None);
        assert!(sysfs::is_link_to(
            a.device().device(),
            &[c"host"],
            dev_of(&parent_a)
        ));
        assert!(sysfs::is_link_to(
            b.device().device(),
            &[c"host"],
            dev_of(&parent_b)
        ));
        Ok(())
    }

    /// Registers through the C entry point with a hand-made ops table; returns the errno.
    fn register_raw(link: bool, devsec: bool) -> i32 {
        let ops = PciTsmOps::declining(link, devsec);
        let raw_ops = ops.as_raw().cast_mut();
        // SAFETY: No parent is allowed; `ops` outlives the registration, undone below.
        let dev = unsafe { abi::tsm_register(core::ptr::null_mut(), raw_ops) };
        match kernel::error::from_err_ptr(dev) {
            Ok(dev) => {
                // SAFETY: `dev` was just registered.
                unsafe { abi::tsm_unregister(dev) };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    #[test]
    fn ops_without_or_with_both_personalities_are_refused() -> Result {
        let listener = uevent::Listener::new()?;
        assert_eq!(register_raw(false, false), EINVAL.to_errno());
        assert_eq!(register_raw(true, true), EINVAL.to_errno());
        // Nothing appeared, not even for a moment.
        assert!(!listener.drain()?.contains(b"add", b""));
        Ok(())
    }

    #[test]
    fn readiness_uevent_only_once_pci_ops_are_live() -> Result {
        let parent = faux::Registration::new(c"tsm_class_test_uevent", None)?;
        let listener = uevent::Listener::new()?;
        let plain = Registration::new_plain(dev_of(&parent))?;
        let link = Registration::new_link::<IdleLinkTsm>(dev_of(&parent))?;
        let events = listener.drain()?;

        let plain_path = devpath_suffix(plain.device())?;
        let link_path = devpath_suffix(link.device())?;
        assert!(events.contains(b"add", plain_path.to_bytes()));
        assert!(!events.contains(b"change", plain_path.to_bytes()));
        assert!(events.contains(b"add", link_path.to_bytes()));
        assert!(events.contains(b"change", link_path.to_bytes()));
        Ok(())
    }

    #[test]
    fn unregister_sends_remove_uevent() -> Result {
        let parent = faux::Registration::new(c"tsm_class_test_remove", None)?;
        let tsm = Registration::new_link::<IdleLinkTsm>(dev_of(&parent))?;
        let path = devpath_suffix(tsm.device())?;
        let listener = uevent::Listener::new()?;
        drop(tsm);
        assert!(listener.drain()?.contains(b"remove", path.to_bytes()));
        Ok(())
    }
}
