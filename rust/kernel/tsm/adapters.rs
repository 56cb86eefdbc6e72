// SPDX-License-Identifier: GPL-2.0

//! The C ops tables that call a Rust backend, and the contexts they hand to the PCI/TSM core.

use super::{
    context::Context, DevsecTsm, GuestRequest, LinkTsm, PciTsmOps, RequestScope, TsmDevice,
    VmHandle,
};
use crate::{bindings, ffi::c_int, pci, prelude::*, sync::aref::ARef, types::Opaque};
use core::marker::PhantomData;

/// The C context of a managed function with the backend's data next to it.
///
/// `tsm.base_tsm` is what the PCI core sees (`pdev->tsm`); the `pci_tsm_pf0` around it is only
/// initialised as such for a DSM (`dsm`). The core writes it (the TDI, the DSM lock) while the
/// backend holds shared references to the context, hence `Opaque`.
#[repr(C)]
struct BackendContext<F> {
    tsm: Opaque<bindings::pci_tsm_pf0>,
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

pub(super) struct LinkAdapter<T>(PhantomData<T>);

impl<T: LinkTsm> LinkAdapter<T> {
    pub(super) const OPS: PciTsmOps = {
        let mut ops: bindings::pci_tsm_ops = pin_init::zeroed();
        ops.__bindgen_anon_1.link_ops = bindings::pci_tsm_ops__bindgen_ty_1_pci_tsm_link_ops {
            probe: Some(Self::probe),
            remove: Some(Self::remove),
            connect: Some(Self::connect),
            disconnect: Some(Self::disconnect),
            bind: if T::HAS_BIND { Some(Self::bind) } else { None },
            unbind: if T::HAS_UNBIND {
                Some(Self::unbind)
            } else {
                None
            },
            guest_req: if T::HAS_GUEST_REQ {
                Some(Self::guest_req)
            } else {
                None
            },
        };
        PciTsmOps(ops)
    };

    /// C `link_ops.probe`.
    ///
    /// # Safety
    ///
    /// Called by a PCI/TSM core with live devices, as `struct pci_tsm_ops` documents.
    unsafe extern "C" fn probe(
        tsm_dev: *mut bindings::tsm_dev,
        pdev: *mut bindings::pci_dev,
    ) -> *mut bindings::pci_tsm {
        // SAFETY: The PCI/TSM core passes live devices.
        let (tsm, dev) = unsafe { (TsmDevice::from_raw(tsm_dev), pci::Device::from_raw(pdev)) };
        let dsm = dev.is_tsm_host();
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
                tsm: Opaque::zeroed(),
                dsm,
                function,
            },
        ));
        // SAFETY: `ctx` is ours and stays put from here on (the DSM mutex is initialised in
        // place); the constructors only fill the C context.
        let rc = unsafe {
            if dsm {
                bindings::pci_tsm_pf0_constructor(pdev, Self::pf0_of(ctx), tsm_dev)
            } else {
                bindings::pci_tsm_link_constructor(
                    pdev,
                    &raw mut (*Self::pf0_of(ctx)).base_tsm,
                    tsm_dev,
                )
            }
        };
        if rc != 0 {
            if dsm {
                // SAFETY: `pci_tsm_pf0_constructor` initialises the mutex before it can fail.
                unsafe { bindings::pci_tsm_pf0_destructor(Self::pf0_of(ctx)) };
            }
            // SAFETY: `ctx` came from `KBox::into_raw` above and was not published.
            let ctx = KBox::into_inner(unsafe { KBox::from_raw(ctx) });
            T::remove(dev, ctx.function);
            return core::ptr::null_mut();
        }
        // SAFETY: Only computes the address of the published context.
        unsafe { &raw mut (*Self::pf0_of(ctx)).base_tsm }
    }

    /// The C context inside the backend context at `ctx`.
    ///
    /// # Safety
    ///
    /// `ctx` points to a live `BackendContext`.
    unsafe fn pf0_of(ctx: *mut BackendContext<T::Function>) -> *mut bindings::pci_tsm_pf0 {
        // SAFETY: By the function's safety requirements; only computes an address.
        Opaque::cast_into(unsafe { &raw const (*ctx).tsm })
    }

    /// C `link_ops.remove`.
    ///
    /// # Safety
    ///
    /// `tsm` was returned by [`Self::probe`] and is no longer used by the core.
    unsafe extern "C" fn remove(tsm: *mut bindings::pci_tsm) {
        let ctx = tsm.cast::<BackendContext<T::Function>>();
        // SAFETY: `tsm` was returned by `probe`, so it heads a live boxed `Context`, now ours.
        unsafe {
            if (*ctx).dsm {
                // A DSM context was built by `pci_tsm_pf0_constructor`; undo it in place.
                bindings::pci_tsm_pf0_destructor(Self::pf0_of(ctx));
            }
        }
        // SAFETY: As above; the box is not used by C any more.
        let ctx = KBox::into_inner(unsafe { KBox::from_raw(ctx) });
        // SAFETY: The context's device outlives its context.
        let dev = unsafe { pci::Device::from_raw((*ctx.tsm.get()).base_tsm.pdev) };
        T::remove(dev, ctx.function);
    }

    /// C `link_ops.connect`.
    ///
    /// # Safety
    ///
    /// `pdev` is a live DSM whose context [`Self::probe`] made, under its DSM lock.
    unsafe extern "C" fn connect(pdev: *mut bindings::pci_dev) -> c_int {
        // SAFETY: The core calls connect on a live DSM whose context came from `probe`.
        let (dev, ctx) = unsafe {
            (
                pci::Device::from_raw(pdev),
                BackendContext::<T::Function>::of_device(pdev),
            )
        };
        let Some(ctx) = ctx else {
            return ENXIO.to_errno();
        };
        match T::connect(dev, &ctx.function) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// C `link_ops.disconnect`.
    ///
    /// # Safety
    ///
    /// As for [`Self::connect`].
    unsafe extern "C" fn disconnect(pdev: *mut bindings::pci_dev) {
        // SAFETY: As for `connect`.
        let (dev, ctx) = unsafe {
            (
                pci::Device::from_raw(pdev),
                BackendContext::<T::Function>::of_device(pdev),
            )
        };
        if let Some(ctx) = ctx {
            T::disconnect(dev, &ctx.function);
        }
        // Evidence describes a connection; none outlives it, whatever the backend did.
        super::evidence::clear(dev);
    }

    /// The TSM whose context of `T` on `pdev` holds `function`; `None` if `function` is not
    /// that context's (or is zero-sized, which any address matches).
    pub(super) fn tsm_of(pdev: &pci::Device, function: &T::Function) -> Option<ARef<TsmDevice>> {
        if core::mem::size_of::<T::Function>() == 0 {
            return None;
        }
        let base = pdev.tsm_context_ptr();
        if base.is_null() {
            return None;
        }
        let offset = core::mem::offset_of!(BackendContext<T::Function>, function);
        let expected = base.cast::<u8>().wrapping_add(offset);
        if !core::ptr::eq(expected.cast_const(), core::ptr::from_ref(function).cast()) {
            return None;
        }
        // SAFETY: The live `function` (not zero-sized) occupies the place of the `function`
        // field of a `BackendContext<T::Function>` at `pdev->tsm`, so that object is the
        // backend context holding it, alive while `function` is borrowed.
        let ctx = unsafe { BackendContext::<T::Function>::from_base(base) };
        // SAFETY: The context is alive (above); `tsm_dev` is set by the core before `probe`
        // returns it and is a registered TSM for the context's lifetime.
        let tsm = unsafe { TsmDevice::from_raw((*ctx.tsm.get()).base_tsm.tsm_dev) };
        Some(tsm.into())
    }

    /// [`LinkTsm::refresh_evidence`] for the function whose context is `ctx`.
    ///
    /// # Safety
    ///
    /// `ctx` was made by a TSM registered with `T`'s operations, and stays alive for the call.
    pub(super) unsafe fn refresh_evidence(ctx: &Context, nonce: &[u8]) -> Result {
        // SAFETY: A TSM of `T` makes its contexts with `Self::probe`, which places them at the
        // head of a `BackendContext<T::Function>`; alive by the function's safety requirements.
        let backend = unsafe { BackendContext::<T::Function>::from_base(ctx.raw_ctx()) };
        T::refresh_evidence(ctx.pdev(), &backend.function, nonce)
    }

    /// C `link_ops.bind`.
    ///
    /// # Safety
    ///
    /// `pdev` is a live function whose context [`Self::probe`] made, under its DSM lock.
    unsafe extern "C" fn bind(
        pdev: *mut bindings::pci_dev,
        kvm: *mut bindings::kvm,
        tdi_id: u32,
    ) -> *mut bindings::pci_tdi {
        // SAFETY: The core binds a live, managed device.
        let (dev, ctx) = unsafe {
            (
                pci::Device::from_raw(pdev),
                BackendContext::<T::Function>::of_device(pdev),
            )
        };
        let Some(ctx) = ctx else {
            return ENXIO.to_ptr();
        };
        // SAFETY: `ctx` is live; the core set `dsm_dev` when it made the context and keeps the
        // DSM, connected through this same TSM (whose probe made every context below it), alive
        // while it holds the DSM lock.
        let dsm = unsafe {
            let dsm_dev = (*ctx.tsm.get()).base_tsm.dsm_dev;
            BackendContext::<T::Function>::of_device(dsm_dev)
        };
        let Some(dsm) = dsm else {
            return ENXIO.to_ptr();
        };
        // Allocated first, so that a bound TDI never has to be dropped without `T::unbind`.
        let slot = match KBox::<BoundTdi<T::Tdi>>::new_uninit(GFP_KERNEL) {
            Ok(slot) => slot,
            Err(e) => return Error::from(e).to_ptr(),
        };
        let tdi = match T::bind(
            dev,
            &ctx.function,
            &dsm.function,
            VmHandle(kvm as usize),
            tdi_id,
        ) {
            Ok(tdi) => tdi,
            Err(e) => return e.to_ptr(),
        };
        let bound = KBox::into_raw(KBox::write(
            slot,
            BoundTdi {
                tdi: Opaque::zeroed(),
                data: tdi,
            },
        ));
        // SAFETY: `bound` is ours and live; only computes an address.
        let tdi = Opaque::cast_into(unsafe { &raw const (*bound).tdi });
        // SAFETY: `bound` is ours; the constructor fills the C part.
        unsafe { bindings::pci_tsm_tdi_constructor(pdev, tdi, kvm, tdi_id) };
        tdi
    }

    /// C `link_ops.unbind`.
    ///
    /// # Safety
    ///
    /// `tdi` was returned by [`Self::bind`] and is given back once.
    unsafe extern "C" fn unbind(tdi: *mut bindings::pci_tdi) {
        // SAFETY: `tdi` was returned by `bind`, so it heads a boxed `BoundTdi`.
        let bound = unsafe { KBox::from_raw(tdi.cast::<BoundTdi<T::Tdi>>()) };
        // SAFETY: The TDI's device outlives the binding.
        let dev = unsafe { pci::Device::from_raw((*bound.tdi.get()).pdev) };
        T::unbind(dev, KBox::into_inner(bound).data);
    }

    /// C `link_ops.guest_req`.
    ///
    /// # Safety
    ///
    /// `tdi` was returned by [`Self::bind`] and is still bound; the buffers are valid for
    /// their lengths and `tsm_code` is NULL or writable.
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
        let dev = unsafe { pci::Device::from_raw((*bound.tdi.get()).pdev) };
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
    tdi: Opaque<bindings::pci_tdi>,
    data: D,
}

pub(super) struct DevsecAdapter<T>(PhantomData<T>);

impl<T: DevsecTsm> DevsecAdapter<T> {
    pub(super) const OPS: PciTsmOps = {
        let mut ops: bindings::pci_tsm_ops = pin_init::zeroed();
        ops.__bindgen_anon_2.devsec_ops = bindings::pci_tsm_ops__bindgen_ty_2_pci_tsm_devsec_ops {
            lock: Some(Self::lock),
            unlock: Some(Self::unlock),
        };
        PciTsmOps(ops)
    };

    /// C `devsec_ops.lock`.
    ///
    /// # Safety
    ///
    /// Called by a PCI/TSM core with live devices.
    unsafe extern "C" fn lock(
        tsm_dev: *mut bindings::tsm_dev,
        pdev: *mut bindings::pci_dev,
    ) -> *mut bindings::pci_tsm {
        // SAFETY: The PCI/TSM core passes live devices.
        let (tsm, dev) = unsafe { (TsmDevice::from_raw(tsm_dev), pci::Device::from_raw(pdev)) };
        // Allocated first, so that backend data never has to be dropped without `T::unlock`.
        let slot = match KBox::<BackendContext<T::Function>>::new_uninit(GFP_KERNEL) {
            Ok(slot) => slot,
            Err(e) => return Error::from(e).to_ptr(),
        };
        let function = match T::lock(tsm, dev) {
            Ok(function) => function,
            Err(e) => return e.to_ptr(),
        };
        let ctx = KBox::into_raw(KBox::write(
            slot,
            BackendContext {
                tsm: Opaque::zeroed(),
                dsm: false,
                function,
            },
        ));
        // SAFETY: `ctx` is ours; fill the C identity fields the core reads.
        unsafe {
            let pf0 = Opaque::cast_into(&raw const (*ctx).tsm);
            (*pf0).base_tsm.pdev = pdev;
            (*pf0).base_tsm.tsm_dev = tsm_dev;
            &raw mut (*pf0).base_tsm
        }
    }

    /// C `devsec_ops.unlock`.
    ///
    /// # Safety
    ///
    /// `tsm` was returned by [`Self::lock`] and is no longer used by the core.
    unsafe extern "C" fn unlock(tsm: *mut bindings::pci_tsm) {
        // SAFETY: `tsm` was returned by `lock`, so it heads a boxed `Context`.
        let ctx = unsafe { KBox::from_raw(tsm.cast::<BackendContext<T::Function>>()) };
        // SAFETY: The context's device outlives its context.
        let dev = unsafe { pci::Device::from_raw((*ctx.tsm.get()).base_tsm.pdev) };
        T::unlock(dev, KBox::into_inner(ctx).function);
    }
}
