// SPDX-License-Identifier: GPL-2.0

//! What a PCI/TSM core needs from the kernel crate: the PCI topology of device security managers
//! (DSMs), the per-function TSM context (`pdev->tsm`) and calls into a TSM's link operations.
//!
//! The context pointer of a device and the objects behind it are owned by the PCI/TSM core's
//! locks, which this module cannot see; the functions that depend on them are `unsafe` and say
//! which guarantee they need.

use super::{PciTsmOps, TsmDevice, VmHandle};
use crate::{
    bindings,
    pci,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        Mutex,
    },
    types::Opaque, //
};
use core::ptr::NonNull;

/// PCI device functions per slot.
const FUNCTIONS_PER_SLOT: u8 = 8;

impl pci::Device {
    /// Calls `f` on every function this DSM may manage, other than itself: each function of the
    /// slot (after function 0) followed by its virtual functions, then, for a switch upstream
    /// port, every device below it. With `reverse`, the exact opposite order, for teardown.
    pub fn walk_dsm_functions(&self, reverse: bool, f: &mut dyn FnMut(&Self)) {
        let downstream = self.is_upstream_port();
        if reverse && downstream {
            self.walk_subordinate(true, f);
        }
        for step in 0..FUNCTIONS_PER_SLOT {
            let function = if reverse {
                FUNCTIONS_PER_SLOT - 1 - step
            } else {
                step
            };
            let Some(pf) = self.slot_function(function) else {
                continue;
            };
            let vfs = pf.num_vfs();
            if !reverse && function > 0 {
                f(&pf);
            }
            for step in 0..vfs {
                let index = if reverse { vfs - 1 - step } else { step };
                if let Some(vf) = pf.virtual_function(index) {
                    f(&vf);
                }
            }
            if reverse && function > 0 {
                f(&pf);
            }
        }
        if !reverse && downstream {
            self.walk_subordinate(false, f);
        }
    }
}

impl pci::Device {
    /// Whether this is function 0 of a TEE-IO or IDE capable endpoint, upstream port or RCiEP
    /// (C `is_pci_tsm_pf0()`).
    pub fn is_tsm_pf0(&self) -> bool {
        // SAFETY: The device is live.
        unsafe { bindings::is_pci_tsm_pf0(self.as_raw()) }
    }

    /// Whether the function has a CMA DOE mailbox (PCI-SIG vendor ID, the CMA/SPDM feature).
    pub fn has_cma_mailbox(&self) -> bool {
        // SAFETY: The device is live; the lookup only reads its mailbox table.
        let mailbox = unsafe {
            bindings::pci_find_doe_mailbox(
                self.as_raw(),
                bindings::PCI_VENDOR_ID_PCI_SIG as u16,
                bindings::PCI_DOE_FEATURE_CMA as u8,
            )
        };
        !mailbox.is_null()
    }

    /// Whether the function may be connected as a DSM: a [`Self::is_tsm_pf0`] candidate, or
    /// any other PCIe function that is not a VF and has a CMA DOE mailbox, which a link TSM
    /// that speaks SPDM itself (native CMA) can authenticate without IDE or TEE-IO.
    ///
    /// The second kind is a tsm-rs addition to 7.3's rule, after the direction upstream took
    /// in 2026 (`is_pci_tsm_host()` in the Rust SPDM series).
    pub fn is_tsm_host(&self) -> bool {
        if self.is_tsm_pf0() {
            return true;
        }
        // SAFETY: The device is live; `is_virtfn` is set before the device is added.
        let virtfn = unsafe { (*self.as_raw()).is_virtfn() } != 0;
        self.is_pcie() && !virtfn && self.has_cma_mailbox()
    }

    /// The device's TSM context, if any.
    ///
    /// # Safety
    ///
    /// The caller holds whatever lock of the PCI/TSM core keeps the context alive for `'a`.
    pub unsafe fn tsm_context<'a>(&'a self) -> Option<&'a Context> {
        let ptr = self.context_slot().load(Acquire);
        // SAFETY: A published context is fully built (release store) and alive by the
        // function's safety requirements.
        NonNull::new(ptr).map(|p| unsafe { &*p.as_ptr().cast::<Context>() })
    }

    /// Whether `context` is the device's published TSM context.
    pub fn has_tsm_context_at(&self, context: &Context) -> bool {
        core::ptr::eq(
            self.context_slot().load(Acquire).cast_const().cast(),
            context,
        )
    }

    /// Whether the device has a TSM context (a connected DSM or a managed function).
    pub fn has_tsm_context(&self) -> bool {
        !self.context_slot().load(Relaxed).is_null()
    }

    /// Publishes `context` as the device's TSM context if the device has none.
    ///
    /// # Safety
    ///
    /// `context` is a fully built context of this device, which the caller's PCI/TSM core
    /// owns from now on.
    pub unsafe fn publish_tsm_context(&self, context: NonNull<Context>) -> bool {
        self.context_slot()
            .cmpxchg(core::ptr::null_mut(), context.as_ptr().cast(), Release)
            .is_ok()
    }

    /// Clears the device's TSM context; the caller frees it afterwards.
    ///
    /// # Safety
    ///
    /// No one may use the old context any more, per the PCI/TSM core's locks.
    pub unsafe fn clear_tsm_context(&self) {
        self.context_slot().store(core::ptr::null_mut(), Relaxed);
    }

    /// The device's context pointer (`pdev->tsm`), for comparisons; NULL if none.
    pub(super) fn tsm_context_ptr(&self) -> *mut bindings::pci_tsm {
        self.context_slot().load(Acquire)
    }

    fn context_slot(&self) -> &Atomic<*mut bindings::pci_tsm> {
        // SAFETY: `tsm` is a pointer-sized field of the live device, only accessed atomically
        // by the PCI/TSM core.
        unsafe { Atomic::from_ptr(&raw mut (*self.as_raw()).tsm) }
    }
}

/// The TSM context of one PCI function (C `struct pci_tsm`), allocated by its TSM's `probe`.
///
/// # Invariants
///
/// Built by a link TSM's `probe` (or a devsec TSM's `lock`): `pdev`, `dsm_dev` and `tsm_dev`
/// point to live objects for the context's lifetime, and `tsm_dev`'s ops made it.
#[repr(transparent)]
pub struct Context(Opaque<bindings::pci_tsm>);

impl Context {
    pub(super) fn raw_ctx(&self) -> *mut bindings::pci_tsm {
        self.0.get()
    }

    /// The function the context belongs to.
    pub fn pdev(&self) -> &pci::Device {
        // SAFETY: By the type invariants.
        unsafe { pci::Device::from_raw((*self.raw_ctx()).pdev) }
    }

    /// The device security manager of the function (possibly the function itself).
    pub fn dsm_dev(&self) -> &pci::Device {
        // SAFETY: By the type invariants (a DSM outlives the functions it manages).
        unsafe { pci::Device::from_raw((*self.raw_ctx()).dsm_dev) }
    }

    /// Whether this is the context of a DSM.
    pub fn is_dsm(&self) -> bool {
        // SAFETY: Both fields are immutable after construction.
        unsafe { (*self.raw_ctx()).dsm_dev == (*self.raw_ctx()).pdev }
    }

    /// The TSM that made the context.
    pub fn tsm_dev(&self) -> &TsmDevice {
        // SAFETY: By the type invariants.
        unsafe { TsmDevice::from_raw((*self.raw_ctx()).tsm_dev) }
    }

    /// The DSM lock (C `pci_tsm_pf0::lock`) of this DSM context.
    ///
    /// # Safety
    ///
    /// `self` is the context of a DSM ([`Context::is_dsm`]), which the PCI/TSM contract makes
    /// the `base_tsm` of a `struct pci_tsm_pf0` set up by `pci_tsm_pf0_constructor()`, and the
    /// context stays alive for `'a`.
    pub unsafe fn dsm_lock<'a>(&'a self) -> &'a Mutex<()> {
        // SAFETY: By the function's safety requirements the context heads a `pci_tsm_pf0`
        // (`base_tsm` is its first field) whose mutex is initialised.
        unsafe { Mutex::from_raw(&raw mut (*self.raw_ctx().cast::<bindings::pci_tsm_pf0>()).lock) }
    }

    /// The CMA DOE mailbox of this DSM context, if it has one.
    ///
    /// # Safety
    ///
    /// As for [`Context::dsm_lock`].
    pub unsafe fn doe_mailbox(&self) -> Option<NonNull<bindings::pci_doe_mb>> {
        // SAFETY: As above; `doe_mb` is set by the constructor and immutable afterwards.
        NonNull::new(unsafe { (*self.raw_ctx().cast::<bindings::pci_tsm_pf0>()).doe_mb })
    }

    fn link_ops(&self) -> Option<&'static bindings::pci_tsm_ops__bindgen_ty_1_pci_tsm_link_ops> {
        self.tsm_dev().pci_ops().map(PciTsmOps::link)
    }

    /// The VM the function's TDI is bound to, if bound.
    ///
    /// # Safety
    ///
    /// The caller holds the DSM lock, which serialises bind and unbind.
    pub unsafe fn bound_vm(&self) -> Option<VmHandle> {
        // SAFETY: By the function's safety requirements `tdi` is stable and, if set, live.
        let tdi = unsafe { (*self.raw_ctx()).tdi };
        // SAFETY: As above.
        (!tdi.is_null()).then(|| VmHandle(unsafe { (*tdi).kvm } as usize))
    }

    /// Binds the function's TDI to `vm` through the TSM's `bind`.
    ///
    /// # Safety
    ///
    /// The caller holds the DSM lock and the function is not bound.
    pub unsafe fn bind(&self, vm: VmHandle, tdi_id: u32) -> Result {
        let bind = self.link_ops().and_then(|ops| ops.bind).ok_or(EOPNOTSUPP)?;
        // SAFETY: The device is live and managed by this TSM.
        let tdi = unsafe { bind(self.pdev().as_raw(), vm.as_raw(), tdi_id) };
        // A NULL TDI leaves the function unbound and is no error, as in 7.3.
        let tdi = crate::error::from_err_ptr(tdi)?;
        // SAFETY: Serialised by the DSM lock.
        unsafe { (*self.raw_ctx()).tdi = tdi };
        Ok(())
    }

    /// Unbinds the function's TDI, if bound.
    ///
    /// # Safety
    ///
    /// The caller holds the DSM lock.
    pub unsafe fn unbind(&self) {
        // SAFETY: Serialised by the DSM lock.
        let tdi = unsafe { (*self.raw_ctx()).tdi };
        if tdi.is_null() {
            return;
        }
        if let Some(unbind) = self.link_ops().and_then(|ops| ops.unbind) {
            // SAFETY: `tdi` came from this TSM's `bind` and is given back once.
            unsafe { unbind(tdi) };
        }
        // SAFETY: Serialised by the DSM lock.
        unsafe { (*self.raw_ctx()).tdi = core::ptr::null_mut() };
    }

    /// Relays a guest request to the TSM for the bound TDI (`ENXIO` if unbound).
    ///
    /// # Safety
    ///
    /// The caller holds the DSM lock; the buffers are valid as the C interface describes.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn guest_req(
        &self,
        scope: bindings::pci_tsm_req_scope,
        req_in: bindings::sockptr_t,
        in_len: usize,
        req_out: bindings::sockptr_t,
        out_len: usize,
        tsm_code: *mut u64,
    ) -> isize {
        // SAFETY: Serialised by the DSM lock.
        let tdi = unsafe { (*self.raw_ctx()).tdi };
        if tdi.is_null() {
            return ENXIO.to_errno() as isize;
        }
        let Some(guest_req) = self.link_ops().and_then(|ops| ops.guest_req) else {
            return EOPNOTSUPP.to_errno() as isize;
        };
        // SAFETY: `tdi` is bound; the buffers are the caller's promise.
        unsafe { guest_req(tdi, scope, req_in, in_len, req_out, out_len, tsm_code) }
    }
}

/// Filling in the core part of contexts that TSMs allocate, for a PCI/TSM core's constructors
/// (C `pci_tsm_link_constructor()`, `pci_tsm_pf0_constructor()`, `pci_tsm_tdi_constructor()`).
impl Context {
    /// Fills `raw`, the context of `pdev` that `tsm` is building, managed by `dsm`.
    ///
    /// # Safety
    ///
    /// `raw` is valid for writes and unpublished; `dsm` outlives the context (a DSM outlives
    /// the functions it manages, so the context keeps a plain pointer, as in C).
    pub unsafe fn fill(
        raw: *mut bindings::pci_tsm,
        pdev: &pci::Device,
        dsm: &pci::Device,
        tsm: &TsmDevice,
    ) {
        // SAFETY: By the function's safety requirements.
        unsafe {
            (*raw).pdev = pdev.as_raw();
            (*raw).dsm_dev = dsm.as_raw();
            (*raw).tsm_dev = tsm.as_raw();
            (*raw).tdi = core::ptr::null_mut();
        }
    }

    /// Sets up the DSM part of `raw`, the context `pdev` is getting as a DSM: the DSM lock and
    /// the CMA DOE mailbox (`ENODEV` without one, with the lock set up all the same).
    ///
    /// # Safety
    ///
    /// `raw` is valid for writes and does not move until [`Context::destroy_dsm_part`].
    pub unsafe fn init_dsm_part(raw: *mut bindings::pci_tsm_pf0, pdev: &pci::Device) -> Result {
        // SAFETY: By the function's safety requirements `raw` is valid and pinned; the lock
        // class is shared by every DSM lock, as with C's `mutex_init()` in one place.
        unsafe {
            bindings::__mutex_init(
                &raw mut (*raw).lock,
                c"&pf0->lock".as_char_ptr(),
                crate::static_lock_class!().as_ptr(),
            );
            (*raw).doe_mb = bindings::pci_find_doe_mailbox(
                pdev.as_raw(),
                bindings::PCI_VENDOR_ID_PCI_SIG as u16,
                bindings::PCI_DOE_FEATURE_CMA as u8,
            );
        }
        // SAFETY: As above.
        if unsafe { (*raw).doe_mb }.is_null() {
            return Err(ENODEV);
        }
        Ok(())
    }

    /// Undoes [`Context::init_dsm_part`].
    ///
    /// # Safety
    ///
    /// `raw` was set up by [`Context::init_dsm_part`] and its lock is neither held nor waited
    /// for.
    pub unsafe fn destroy_dsm_part(raw: *mut bindings::pci_tsm_pf0) {
        // SAFETY: By the function's safety requirements.
        unsafe { bindings::mutex_destroy(&raw mut (*raw).lock) };
    }

    /// Exchanges one DOE object of `object_type` with the DSM over its CMA mailbox; the length
    /// of the response or a negative errno, as `pci_doe()`.
    ///
    /// # Safety
    ///
    /// As for [`Context::dsm_lock`]; `request` and `response` are valid for their sizes.
    pub unsafe fn doe_exchange(
        &self,
        object_type: u8,
        request: *const c_void,
        request_size: usize,
        response: *mut c_void,
        response_size: usize,
    ) -> c_int {
        // SAFETY: By the function's safety requirements.
        let Some(mailbox) = (unsafe { self.doe_mailbox() }) else {
            return ENXIO.to_errno();
        };
        // SAFETY: The mailbox belongs to the live device; the buffers are the caller's promise.
        unsafe {
            bindings::pci_doe(
                mailbox.as_ptr(),
                bindings::PCI_VENDOR_ID_PCI_SIG as u16,
                object_type,
                request,
                request_size,
                response,
                response_size,
            )
        }
    }
}

/// Fills the core part of a TDI context (C `pci_tsm_tdi_constructor()`); `None`: no VM.
///
/// # Safety
///
/// `tdi` is valid for writes.
pub unsafe fn fill_tdi(
    tdi: *mut bindings::pci_tdi,
    pdev: *mut bindings::pci_dev,
    vm: Option<VmHandle>,
    tdi_id: u32,
) {
    // SAFETY: By the function's safety requirements.
    unsafe {
        (*tdi).pdev = pdev;
        (*tdi).kvm = vm.map_or(core::ptr::null_mut(), VmHandle::as_raw);
        (*tdi).tdi_id = tdi_id;
    }
}

impl PciTsmOps {
    fn link(&self) -> &bindings::pci_tsm_ops__bindgen_ty_1_pci_tsm_link_ops {
        // SAFETY: The link view of the union is always initialised (zero for a devsec TSM).
        unsafe { &self.0.__bindgen_anon_1.link_ops }
    }

    /// Asks the link TSM `tsm` to build a context for `pdev` (`None`: not managed).
    ///
    /// # Safety
    ///
    /// `self` is `tsm`'s link operations table and the caller serialises this with the other
    /// operations on `pdev`'s DSM.
    pub unsafe fn probe(&self, tsm: &TsmDevice, pdev: &pci::Device) -> Option<NonNull<Context>> {
        let probe = self.link().probe?;
        // SAFETY: Both devices are live.
        NonNull::new(unsafe { probe(tsm.as_raw(), pdev.as_raw()) }.cast())
    }

    /// Gives a context back to the TSM that made it.
    ///
    /// # Safety
    ///
    /// `context` was made by `self.probe` and is no longer published or used.
    pub unsafe fn remove(&self, context: NonNull<Context>) {
        if let Some(remove) = self.link().remove {
            // SAFETY: By the function's safety requirements.
            unsafe { remove(context.as_ptr().cast()) };
        }
    }

    /// Connects the DSM `pdev`, whose context is published.
    ///
    /// # Safety
    ///
    /// The caller holds the DSM lock.
    pub unsafe fn connect(&self, pdev: &pci::Device) -> Result {
        let connect = self.link().connect.ok_or(ENXIO)?;
        // SAFETY: The device is live and its context published.
        crate::error::to_result(unsafe { connect(pdev.as_raw()) })
    }

    /// Disconnects the DSM `pdev`.
    ///
    /// # Safety
    ///
    /// The caller excludes every other operation on the DSM.
    pub unsafe fn disconnect(&self, pdev: &pci::Device) {
        if let Some(disconnect) = self.link().disconnect {
            // SAFETY: The device is live and connected.
            unsafe { disconnect(pdev.as_raw()) };
        }
    }
}
