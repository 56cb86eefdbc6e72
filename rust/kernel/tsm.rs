// SPDX-License-Identifier: GPL-2.0

//! TEE Security Managers (TSMs): their class devices and the backend interface.
//!
//! A TSM backend (AMD SEV-TIO, Intel TDX Connect, RISC-V CoVE-IO, the emulated platform, ...)
//! implements [`LinkTsm`] (host side: SPDM session, IDE, TDI binding) or [`DevsecTsm`] (guest
//! side: TDI lock/unlock) and registers with [`Registration`], which calls the C ABI
//! `tsm_register()`. Whichever PCI/TSM core the kernel is built with (upstream's C one or
//! tsm-rs' Rust one) provides that ABI, so a backend builds and runs unchanged on both.
//!
//! C headers: [`include/linux/tsm.h`](srctree/include/linux/tsm.h),
//! [`include/linux/pci-tsm.h`](srctree/include/linux/pci-tsm.h)

use crate::{
    bindings,
    class::ClassDevice,
    device::Device,
    error::{from_err_ptr, to_result},
    ffi::c_int,
    pci,
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque, //
};
use core::{marker::PhantomData, ptr::NonNull};

pub mod context;

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

impl TsmDevice {
    /// Allocates an unregistered TSM device numbered `id` with `ops` (none for a TSM without
    /// PCI operations). The embedded device is zeroed, ready for
    /// [`crate::class::Class::add_device`].
    pub fn new(id: u32, ops: Option<&'static PciTsmOps>) -> Result<KBox<Self>> {
        let id = c_int::try_from(id).map_err(|_| EINVAL)?;
        let dev = KBox::new(Self(Opaque::zeroed()), GFP_KERNEL)?;
        // SAFETY: We own the zeroed object; nothing else sees it yet.
        unsafe {
            (*dev.0.get()).id = id;
            (*dev.0.get()).pci_ops = ops.map_or(core::ptr::null(), |o| &o.0);
        }
        Ok(dev)
    }

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
        // SAFETY: Only computes the field address.
        unsafe { &raw mut (*(*this).0.get()).dev }
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
pub struct PciTsmOps(bindings::pci_tsm_ops);

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

/// Scope of a guest request (C `enum pci_tsm_req_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestScope {
    /// Read-only TDISP collateral (interface reports, ...).
    Info,
    /// TDISP state changes (UNLOCKED -> LOCKED -> RUN).
    StateChange,
    /// Read-only debug information.
    DebugRead,
    /// Debug state changes.
    DebugWrite,
}

impl RequestScope {
    fn as_raw(self) -> bindings::pci_tsm_req_scope {
        match self {
            Self::Info => bindings::pci_tsm_req_scope::PCI_TSM_REQ_INFO,
            Self::StateChange => bindings::pci_tsm_req_scope::PCI_TSM_REQ_STATE_CHANGE,
            Self::DebugRead => bindings::pci_tsm_req_scope::PCI_TSM_REQ_DEBUG_READ,
            Self::DebugWrite => bindings::pci_tsm_req_scope::PCI_TSM_REQ_DEBUG_WRITE,
        }
    }

    /// Whether the C `scope` is a TDISP one (information or state change), the only scopes a
    /// PCI/TSM core passes on, as 7.3.
    pub fn is_tdisp(scope: bindings::pci_tsm_req_scope) -> bool {
        matches!(Self::from_raw(scope), Some(Self::Info | Self::StateChange))
    }

    fn from_raw(scope: bindings::pci_tsm_req_scope) -> Option<Self> {
        Some(match scope {
            bindings::pci_tsm_req_scope::PCI_TSM_REQ_INFO => Self::Info,
            bindings::pci_tsm_req_scope::PCI_TSM_REQ_STATE_CHANGE => Self::StateChange,
            bindings::pci_tsm_req_scope::PCI_TSM_REQ_DEBUG_READ => Self::DebugRead,
            bindings::pci_tsm_req_scope::PCI_TSM_REQ_DEBUG_WRITE => Self::DebugWrite,
            _ => return None,
        })
    }
}

/// The VM a TDI is bound to: an opaque handle (`struct kvm *` in C), compared, never
/// dereferenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmHandle(usize);

impl VmHandle {
    /// A handle made from a number (7.3 has no VFIO/KVM caller of the bind interface yet).
    ///
    /// # Safety
    ///
    /// The handle reaches TSM backends as a `struct kvm *`: `cookie` is the address of a
    /// `struct kvm` that outlives every binding to it, or every TSM the handle can reach (such
    /// as the emulated platform's and test TSMs) treats it as a number only.
    pub const unsafe fn from_cookie(cookie: core::num::NonZeroUsize) -> Self {
        Self(cookie.get())
    }

    fn as_raw(self) -> *mut bindings::kvm {
        self.0 as *mut bindings::kvm
    }
}

/// Binds the TDI of the managed function `pdev` to `vm` through its TSM (C `pci_tsm_bind()`).
///
/// Binding again to the same VM succeeds; `EBUSY` if bound to another, `ENXIO` if `pdev` is not
/// managed by a link TSM.
pub fn bind(pdev: &pci::Device, vm: VmHandle, tdi_id: u32) -> Result {
    // SAFETY: `pdev` is live; the core checks its TSM state under its own locks.
    to_result(unsafe { bindings::pci_tsm_bind(pdev.as_raw_pci_dev(), vm.as_raw(), tdi_id) })
}

/// Unbinds the TDI of `pdev`, if bound (C `pci_tsm_unbind()`).
pub fn unbind(pdev: &pci::Device) {
    // SAFETY: `pdev` is live.
    unsafe { bindings::pci_tsm_unbind(pdev.as_raw_pci_dev()) }
}

/// Relays a guest request from kernel buffers to the TSM of the bound TDI `pdev`
/// (C `pci_tsm_guest_req()`). Returns the residue and the TSM's status code.
pub fn guest_req(
    pdev: &pci::Device,
    scope: RequestScope,
    request: &[u8],
    response: &mut [u8],
) -> Result<(usize, u64)> {
    let mut code = 0u64;
    // SAFETY: `pdev` is live; both sockptrs are kernel buffers of the lengths passed.
    let ret = unsafe {
        bindings::pci_tsm_guest_req(
            pdev.as_raw_pci_dev(),
            scope.as_raw(),
            bindings::kernel_sockptr(request.as_ptr().cast_mut().cast()),
            request.len(),
            bindings::kernel_sockptr(response.as_mut_ptr().cast()),
            response.len(),
            &mut code,
        )
    };
    if ret < 0 {
        // CAST: a negative return is an errno.
        return Err(Error::from_errno(ret as c_int));
    }
    // CAST: non-negative and at most `response.len()`.
    Ok((ret as usize, code))
}

/// Exchanges one DOE object with the DSM `pdev` over its CMA mailbox
/// (C `pci_tsm_doe_transfer()`); returns the response length.
pub fn doe_transfer(pdev: &pci::Device, object_type: u8, request: &[u8], response: &mut [u8]) -> Result<usize> {
    // SAFETY: `pdev` is live; the buffers are valid for their lengths.
    let ret = unsafe {
        bindings::pci_tsm_doe_transfer(
            pdev.as_raw_pci_dev(),
            object_type,
            request.as_ptr().cast(),
            request.len(),
            response.as_mut_ptr().cast(),
            response.len(),
        )
    };
    to_result(ret)?;
    // CAST: non-negative here.
    Ok(ret as usize)
}


/// The buffers of one guest request; user or kernel memory (C `sockptr_t`).
pub struct GuestRequest {
    input: bindings::sockptr_t,
    input_len: usize,
    output: bindings::sockptr_t,
    output_len: usize,
}

impl GuestRequest {
    /// Length of the request payload.
    pub fn input_len(&self) -> usize {
        self.input_len
    }

    /// Room for the response.
    pub fn output_len(&self) -> usize {
        self.output_len
    }

    /// Copies the request payload, from `offset`, into `buf`.
    pub fn read_input(&self, offset: usize, buf: &mut [u8]) -> Result {
        let end = offset.checked_add(buf.len()).ok_or(EINVAL)?;
        if end > self.input_len {
            return Err(EINVAL);
        }
        // SAFETY: The range was checked against the caller's declared input length.
        to_result(unsafe {
            bindings::copy_from_sockptr_offset(buf.as_mut_ptr().cast(), self.input, offset, buf.len())
        })
    }

    /// Copies `data` into the response at `offset`.
    pub fn write_output(&self, offset: usize, data: &[u8]) -> Result {
        let end = offset.checked_add(data.len()).ok_or(EINVAL)?;
        if end > self.output_len {
            return Err(EINVAL);
        }
        // SAFETY: The range was checked against the caller's declared output length.
        to_result(unsafe {
            bindings::copy_to_sockptr_offset(self.output, offset, data.as_ptr().cast(), data.len())
        })
    }
}

/// A host-side ("link") TSM backend: `struct pci_tsm_link_ops`.
///
/// The PCI/TSM core calls these with the locks of `include/linux/pci-tsm.h`: `probe`, `remove`,
/// `connect` and `disconnect` are serialised against TSM unregistration and against each other
/// on one device security manager (DSM); `bind`, `unbind` and `guest_req` hold the DSM lock.
#[vtable]
pub trait LinkTsm: Sized + 'static {
    /// What the backend keeps for a function it manages (the DSM, i.e. function 0, or a
    /// sub-function of a connected DSM).
    type Function: Send + Sync;
    /// What the backend keeps for a TDI bound to a VM.
    type Tdi: Send + Sync;

    /// Decides whether `tsm` manages `pdev`; `Ok(None)` leaves it unmanaged, which is not an
    /// error for a sub-function. `dsm` is true when `pdev` is a DSM candidate (function 0 with
    /// IDE or TEE-IO).
    fn probe(tsm: &TsmDevice, pdev: &pci::Device, dsm: bool) -> Result<Option<Self::Function>>;

    /// Forgets a function that `probe` accepted.
    fn remove(_pdev: &pci::Device, _function: Self::Function) {}

    /// Establishes the secure session (SPDM, optionally IDE) with the DSM `pdev`.
    fn connect(pdev: &pci::Device, function: &Self::Function) -> Result;

    /// Tears the secure session down. Cannot fail: it also runs on device removal.
    fn disconnect(pdev: &pci::Device, function: &Self::Function);

    /// Binds the function's TDI to `vm` (TDISP CONFIG_LOCKED).
    fn bind(
        _pdev: &pci::Device,
        _function: &Self::Function,
        _vm: VmHandle,
        _tdi_id: u32,
    ) -> Result<Self::Tdi> {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Returns the TDI to the host (TDISP CONFIG_UNLOCKED).
    fn unbind(_pdev: &pci::Device, _tdi: Self::Tdi) {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Relays a request of the VM the TDI is bound to. Returns the residue (bytes of the
    /// response buffer left unused) and sets `tsm_code` to the firmware's status.
    fn guest_req(
        _pdev: &pci::Device,
        _tdi: &Self::Tdi,
        _scope: RequestScope,
        _req: &GuestRequest,
        _tsm_code: &mut u64,
    ) -> Result<usize> {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// A guest-side ("devsec") TSM backend: `struct pci_tsm_devsec_ops`.
#[vtable]
pub trait DevsecTsm: Sized + 'static {
    /// What the backend keeps for a locked function.
    type Function: Send + Sync;

    /// Moves `pdev` to TDISP CONFIG_LOCKED under `tsm`.
    fn lock(tsm: &TsmDevice, pdev: &pci::Device) -> Result<Self::Function>;

    /// Returns `pdev` to CONFIG_UNLOCKED.
    fn unlock(_pdev: &pci::Device, _function: Self::Function) {}
}

/// The C context of a managed function with the backend's data next to it.
///
/// `tsm.base_tsm` is what the PCI core sees (`pdev->tsm`); the `pci_tsm_pf0` around it is only
/// initialised as such for a DSM (`dsm`).
#[repr(C)]
struct BackendContext<F> {
    tsm: bindings::pci_tsm_pf0,
    dsm: bool,
    function: F,
}

impl<F> BackendContext<F> {
    /// # Safety
    ///
    /// `tsm` must be the `base_tsm` of a live `BackendContext<F>`.
    unsafe fn from_base<'a>(tsm: *mut bindings::pci_tsm) -> &'a Self {
        // SAFETY: `base_tsm` is the first field of `pci_tsm_pf0`, itself the first field.
        unsafe { &*tsm.cast::<Self>() }
    }

    /// # Safety
    ///
    /// `pdev` must be a live device whose `tsm` is the `base_tsm` of a live `BackendContext<F>`.
    unsafe fn of_device<'a>(pdev: *mut bindings::pci_dev) -> Option<&'a Self> {
        // SAFETY: By the function's safety requirements.
        let tsm = unsafe { (*pdev).tsm };
        // SAFETY: Non-NULL `tsm` is a `BackendContext<F>` by the function's safety requirements.
        (!tsm.is_null()).then(|| unsafe { Self::from_base(tsm) })
    }
}

struct LinkAdapter<T>(PhantomData<T>);

impl<T: LinkTsm> LinkAdapter<T> {
    const OPS: PciTsmOps = {
        let mut ops: bindings::pci_tsm_ops = pin_init::zeroed();
        ops.__bindgen_anon_1.link_ops = bindings::pci_tsm_ops__bindgen_ty_1_pci_tsm_link_ops {
            probe: Some(Self::probe),
            remove: Some(Self::remove),
            connect: Some(Self::connect),
            disconnect: Some(Self::disconnect),
            bind: if T::HAS_BIND { Some(Self::bind) } else { None },
            unbind: if T::HAS_UNBIND { Some(Self::unbind) } else { None },
            guest_req: if T::HAS_GUEST_REQ { Some(Self::guest_req) } else { None },
        };
        PciTsmOps(ops)
    };

    unsafe extern "C" fn probe(
        tsm_dev: *mut bindings::tsm_dev,
        pdev: *mut bindings::pci_dev,
    ) -> *mut bindings::pci_tsm {
        // SAFETY: The PCI/TSM core passes live devices.
        let (tsm, dev) = unsafe { (TsmDevice::from_raw(tsm_dev), pci::Device::from_raw_pci_dev(pdev)) };
        // SAFETY: `pdev` is live.
        let dsm = unsafe { bindings::is_pci_tsm_pf0(pdev) };
        // Allocated first, so that backend data never has to be dropped without `T::remove`.
        let Ok(slot) = KBox::<BackendContext<T::Function>>::new_uninit(GFP_KERNEL) else {
            return core::ptr::null_mut();
        };
        let function = match T::probe(tsm, dev, dsm) {
            Ok(Some(function)) => function,
            Ok(None) => return core::ptr::null_mut(),
            Err(e) => {
                dev_dbg!(dev.as_ref(), "TSM probe failed: {:?}\n", e);
                return core::ptr::null_mut();
            }
        };
        let ctx = KBox::into_raw(KBox::write(
            slot,
            BackendContext {
                tsm: pin_init::zeroed(),
                dsm,
                function,
            },
        ));
        // SAFETY: `ctx` is ours and stays put from here on (the DSM mutex is initialised in
        // place); the constructors only fill the C context.
        let rc = unsafe {
            if dsm {
                bindings::pci_tsm_pf0_constructor(pdev, &raw mut (*ctx).tsm, tsm_dev)
            } else {
                bindings::pci_tsm_link_constructor(pdev, &raw mut (*ctx).tsm.base_tsm, tsm_dev)
            }
        };
        if rc != 0 {
            if dsm {
                // SAFETY: `pci_tsm_pf0_constructor` initialises the mutex before it can fail.
                unsafe { bindings::pci_tsm_pf0_destructor(&raw mut (*ctx).tsm) };
            }
            // SAFETY: `ctx` came from `KBox::into_raw` above and was not published.
            let ctx = KBox::into_inner(unsafe { KBox::from_raw(ctx) });
            T::remove(dev, ctx.function);
            return core::ptr::null_mut();
        }
        // SAFETY: Only computes the address of the published context.
        unsafe { &raw mut (*ctx).tsm.base_tsm }
    }

    unsafe extern "C" fn remove(tsm: *mut bindings::pci_tsm) {
        let ctx = tsm.cast::<BackendContext<T::Function>>();
        // SAFETY: `tsm` was returned by `probe`, so it heads a live boxed `Context`, now ours.
        unsafe {
            if (*ctx).dsm {
                // A DSM context was built by `pci_tsm_pf0_constructor`; undo it in place.
                bindings::pci_tsm_pf0_destructor(&raw mut (*ctx).tsm);
            }
        }
        // SAFETY: As above; the box is not used by C any more.
        let ctx = KBox::into_inner(unsafe { KBox::from_raw(ctx) });
        // SAFETY: The context's device outlives its context.
        let dev = unsafe { pci::Device::from_raw_pci_dev(ctx.tsm.base_tsm.pdev) };
        T::remove(dev, ctx.function);
    }

    unsafe extern "C" fn connect(pdev: *mut bindings::pci_dev) -> c_int {
        // SAFETY: The core calls connect on a live DSM whose context came from `probe`.
        let (dev, ctx) = unsafe { (pci::Device::from_raw_pci_dev(pdev), BackendContext::<T::Function>::of_device(pdev)) };
        let Some(ctx) = ctx else { return ENXIO.to_errno() };
        match T::connect(dev, &ctx.function) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    unsafe extern "C" fn disconnect(pdev: *mut bindings::pci_dev) {
        // SAFETY: As for `connect`.
        let (dev, ctx) = unsafe { (pci::Device::from_raw_pci_dev(pdev), BackendContext::<T::Function>::of_device(pdev)) };
        if let Some(ctx) = ctx {
            T::disconnect(dev, &ctx.function);
        }
    }

    unsafe extern "C" fn bind(
        pdev: *mut bindings::pci_dev,
        kvm: *mut bindings::kvm,
        tdi_id: u32,
    ) -> *mut bindings::pci_tdi {
        // SAFETY: The core binds a live, managed device.
        let (dev, ctx) = unsafe { (pci::Device::from_raw_pci_dev(pdev), BackendContext::<T::Function>::of_device(pdev)) };
        let Some(ctx) = ctx else { return ENXIO.to_ptr() };
        // Allocated first, so that a bound TDI never has to be dropped without `T::unbind`.
        let slot = match KBox::<BoundTdi<T::Tdi>>::new_uninit(GFP_KERNEL) {
            Ok(slot) => slot,
            Err(e) => return Error::from(e).to_ptr(),
        };
        let tdi = match T::bind(dev, &ctx.function, VmHandle(kvm as usize), tdi_id) {
            Ok(tdi) => tdi,
            Err(e) => return e.to_ptr(),
        };
        let bound = KBox::into_raw(KBox::write(
            slot,
            BoundTdi {
                tdi: pin_init::zeroed(),
                data: tdi,
            },
        ));
        // SAFETY: `bound` is ours; the constructor fills the C part.
        unsafe { bindings::pci_tsm_tdi_constructor(pdev, &raw mut (*bound).tdi, kvm, tdi_id) };
        // SAFETY: Only computes the address of the published TDI.
        unsafe { &raw mut (*bound).tdi }
    }

    unsafe extern "C" fn unbind(tdi: *mut bindings::pci_tdi) {
        // SAFETY: `tdi` was returned by `bind`, so it heads a boxed `BoundTdi`.
        let bound = unsafe { KBox::from_raw(tdi.cast::<BoundTdi<T::Tdi>>()) };
        // SAFETY: The TDI's device outlives the binding.
        let dev = unsafe { pci::Device::from_raw_pci_dev(bound.tdi.pdev) };
        T::unbind(dev, KBox::into_inner(bound).data);
    }

    unsafe extern "C" fn guest_req(
        tdi: *mut bindings::pci_tdi,
        scope: bindings::pci_tsm_req_scope,
        req_in: bindings::sockptr_t,
        in_len: usize,
        req_out: bindings::sockptr_t,
        out_len: usize,
        tsm_code: *mut u64,
    ) -> isize {
        // SAFETY: `tdi` was returned by `bind` and is live while the core holds the DSM lock.
        let bound = unsafe { &*tdi.cast::<BoundTdi<T::Tdi>>() };
        let Some(scope) = RequestScope::from_raw(scope) else {
            return EINVAL.to_errno() as isize;
        };
        let req = GuestRequest {
            input: req_in,
            input_len: in_len,
            output: req_out,
            output_len: out_len,
        };
        let mut code = 0;
        // SAFETY: The TDI's device outlives the binding.
        let dev = unsafe { pci::Device::from_raw_pci_dev(bound.tdi.pdev) };
        let ret = T::guest_req(dev, &bound.data, scope, &req, &mut code);
        if !tsm_code.is_null() {
            // SAFETY: The caller passes a writable code slot or NULL.
            unsafe { *tsm_code = code };
        }
        match ret {
            // CAST: the residue is at most `out_len`, itself bounded by the caller.
            Ok(residue) => residue.min(out_len) as isize,
            Err(e) => e.to_errno() as isize,
        }
    }
}

/// A bound TDI: the C `struct pci_tdi` the core sees, with the backend's data.
#[repr(C)]
struct BoundTdi<D> {
    tdi: bindings::pci_tdi,
    data: D,
}

struct DevsecAdapter<T>(PhantomData<T>);

impl<T: DevsecTsm> DevsecAdapter<T> {
    const OPS: PciTsmOps = {
        let mut ops: bindings::pci_tsm_ops = pin_init::zeroed();
        ops.__bindgen_anon_2.devsec_ops = bindings::pci_tsm_ops__bindgen_ty_2_pci_tsm_devsec_ops {
            lock: Some(Self::lock),
            unlock: Some(Self::unlock),
        };
        PciTsmOps(ops)
    };

    unsafe extern "C" fn lock(
        tsm_dev: *mut bindings::tsm_dev,
        pdev: *mut bindings::pci_dev,
    ) -> *mut bindings::pci_tsm {
        // SAFETY: The PCI/TSM core passes live devices.
        let (tsm, dev) = unsafe { (TsmDevice::from_raw(tsm_dev), pci::Device::from_raw_pci_dev(pdev)) };
        let function = match T::lock(tsm, dev) {
            Ok(function) => function,
            Err(e) => return e.to_ptr(),
        };
        match KBox::new(
            BackendContext {
                tsm: pin_init::zeroed(),
                dsm: false,
                function,
            },
            GFP_KERNEL,
        ) {
            Ok(ctx) => {
                let ctx = KBox::into_raw(ctx);
                // SAFETY: `ctx` is ours; fill the C identity fields the core reads.
                unsafe {
                    (*ctx).tsm.base_tsm.pdev = pdev;
                    (*ctx).tsm.base_tsm.tsm_dev = tsm_dev;
                    &raw mut (*ctx).tsm.base_tsm
                }
            }
            Err(e) => Error::from(e).to_ptr(),
        }
    }

    unsafe extern "C" fn unlock(tsm: *mut bindings::pci_tsm) {
        // SAFETY: `tsm` was returned by `lock`, so it heads a boxed `Context`.
        let ctx = unsafe { KBox::from_raw(tsm.cast::<BackendContext<T::Function>>()) };
        // SAFETY: The context's device outlives its context.
        let dev = unsafe { pci::Device::from_raw_pci_dev(ctx.tsm.base_tsm.pdev) };
        T::unlock(dev, KBox::into_inner(ctx).function);
    }
}

/// A TSM registered with the TSM class core (`tsm_register()`); unregistered on drop.
///
/// # Invariants
///
/// `dev` was returned by a successful `tsm_register()` and is unregistered only by `drop`.
pub struct Registration {
    dev: NonNull<bindings::tsm_dev>,
}

// SAFETY: `tsm_unregister` may be called from any thread.
unsafe impl Send for Registration {}
// SAFETY: `&Registration` only reads immutable fields.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers a link TSM backend `T` below `parent`.
    pub fn new_link<T: LinkTsm>(parent: &Device) -> Result<Self> {
        // SAFETY: `OPS` is a static promotion of a const table.
        unsafe { Self::register(parent, &LinkAdapter::<T>::OPS) }
    }

    /// Registers a devsec TSM backend `T` below `parent`.
    pub fn new_devsec<T: DevsecTsm>(parent: &Device) -> Result<Self> {
        // SAFETY: As above.
        unsafe { Self::register(parent, &DevsecAdapter::<T>::OPS) }
    }

    /// Registers a TSM without PCI operations below `parent`.
    pub fn new_plain(parent: &Device) -> Result<Self> {
        // SAFETY: NULL ops are allowed.
        let dev = unsafe { bindings::tsm_register(parent.as_raw(), core::ptr::null_mut()) };
        Self::from_result(dev)
    }

    /// # Safety
    ///
    /// `ops` must be `'static`.
    unsafe fn register(parent: &Device, ops: &'static PciTsmOps) -> Result<Self> {
        // SAFETY: `parent` is live; the C side only reads `ops`.
        let dev = unsafe {
            bindings::tsm_register(parent.as_raw(), (&raw const ops.0).cast_mut())
        };
        Self::from_result(dev)
    }

    fn from_result(dev: *mut bindings::tsm_dev) -> Result<Self> {
        let dev = from_err_ptr(dev)?;
        // INVARIANT: `tsm_register` succeeded.
        Ok(Self {
            dev: NonNull::new(dev).ok_or(ENOMEM)?,
        })
    }

    /// The registered TSM device.
    pub fn device(&self) -> &TsmDevice {
        // SAFETY: Registered devices stay live until `drop`.
        unsafe { TsmDevice::from_raw(self.dev.as_ptr()) }
    }

    /// Takes a reference to the TSM device that outlives the registration.
    pub fn device_ref(&self) -> ARef<TsmDevice> {
        self.device().into()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the device is registered until now.
        unsafe { bindings::tsm_unregister(self.dev.as_ptr()) }
    }
}
