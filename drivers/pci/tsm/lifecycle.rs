// SPDX-License-Identifier: GPL-2.0

//! Connect, disconnect, bind and teardown of device contexts, and the locks around them.
//!
//! # Locking
//!
//! - `global` (rwsem): held for write by TSM registration and unregistration, device removal and
//!   disconnect, which free contexts; held for read by everything else. A context of a function
//!   that is not a DSM is therefore stable for any holder of `global`.
//! - DSM locks (one mutex per DSM-capable function, made on first use and freed when the
//!   device goes, under `global` for write; a process never holds two): held by connect,
//!   bind, unbind, guest requests and late sub-function probes on that DSM, and by sysfs
//!   readers of a DSM. A connect publishes the DSM's context before calling
//!   the TSM (the C interface requires it) and may free it again on failure, so DSM readers take
//!   the DSM lock and never see a connect in progress. Sub-function contexts are only published
//!   complete, after the DSM connected.
//! - `pf0_sysfs` and `fn_sysfs` serialise sysfs group updates of DSM-capable functions and of
//!   the others. Updates run with no other lock held: updating a group removes and re-adds its
//!   files, which waits for every reader of those files, and a reader may be waiting for
//!   `global` or a DSM lock.
//!
//! Order: `global`, then one DSM lock. Hooks may run before [`init`] (no TSM can be registered
//! then, so there is nothing to do) and find no locks.

use crate::attrs;
use kernel::{
    class::ClassDevice,
    new_mutex, new_rwsem, pci,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        rwsem::{ReadGuard, RwSemaphore, WriteGuard},
        Mutex, MutexGuard, SetOnce,
    },
    tsm::{
        context::{for_each_pci_device, Context},
        Personality, TsmDevice, VmHandle,
    },
};

/// Registered TSMs with link operations; read locklessly by sysfs visibility.
static LINK_TSMS: Atomic<i32> = Atomic::new(0);
/// Registered TSMs with devsec operations (7.3 counts them; nothing uses them yet).
static DEVSEC_TSMS: Atomic<i32> = Atomic::new(0);

static LOCKS: SetOnce<Pin<KBox<Locks>>> = SetOnce::new();

#[pin_data]
struct Locks {
    #[pin]
    global: RwSemaphore<()>,
    #[pin]
    dsm_locks: Mutex<KVec<DsmLock>>,
    #[pin]
    pf0_sysfs: Mutex<()>,
    #[pin]
    fn_sysfs: Mutex<()>,
}

/// The lock of one DSM-capable function, found by the function's address.
struct DsmLock {
    dsm: *const pci::Device,
    mutex: Pin<KBox<Mutex<()>>>,
}

// SAFETY: `dsm` is only compared, never dereferenced.
unsafe impl Send for DsmLock {}

impl Locks {
    /// The lock of `dsm`, made on first use (`ENOMEM` if that fails).
    ///
    /// The caller holds `global` (`_global` proves it), which keeps the lock alive: locks are
    /// only freed by [`Locks::forget_dsm`], under `global` for write.
    fn dsm_lock<'a>(&'a self, _global: &ReadGuard<'a, ()>, dsm: &pci::Device) -> Result<&'a Mutex<()>> {
        let mut locks = self.dsm_locks.lock();
        let key = core::ptr::from_ref(dsm);
        let mutex: *const Mutex<()> = match locks.iter().find(|lock| lock.dsm == key) {
            Some(lock) => &*lock.mutex,
            None => {
                let mutex = KBox::pin_init(new_mutex!((), "pci_tsm_dsm"), GFP_KERNEL)?;
                let ptr: *const Mutex<()> = &*mutex;
                locks.push(DsmLock { dsm: key, mutex }, GFP_KERNEL)?;
                ptr
            }
        };
        // SAFETY: The mutex is boxed, so it does not move with the vector, and it lives until
        // `forget_dsm`, which cannot run while the caller holds `global`.
        Ok(unsafe { &*mutex })
    }

    /// Frees the lock of `dsm`, a device being removed. The caller holds `global` for write, so
    /// no one holds or waits for the lock.
    fn forget_dsm(&self, _global: &WriteGuard<'_, ()>, dsm: &pci::Device) {
        let key = core::ptr::from_ref(dsm);
        self.dsm_locks.lock().retain(|lock| lock.dsm != key);
    }
}

/// Sets the locks up; from an initcall that runs before PCI enumeration.
pub(crate) fn init() -> Result {
    let locks = KBox::pin_init(
        pin_init!(Locks {
            global <- new_rwsem!((), "pci_tsm_global"),
            dsm_locks <- new_mutex!(KVec::new(), "pci_tsm_dsm_locks"),
            pf0_sysfs <- new_mutex!((), "pci_tsm_pf0_sysfs"),
            fn_sysfs <- new_mutex!((), "pci_tsm_fn_sysfs"),
        }),
        GFP_KERNEL,
    )?;
    if LOCKS.populate(locks) {
        Ok(())
    } else {
        Err(EBUSY)
    }
}

fn locks() -> Option<&'static Locks> {
    LOCKS.as_ref().map(|locks| &**locks)
}

/// Whether a TSM with link operations is registered.
pub(crate) fn link_tsm_registered() -> bool {
    LINK_TSMS.load(Relaxed) > 0
}

fn is_link_tsm(tsm: &TsmDevice) -> bool {
    tsm.pci_ops()
        .is_some_and(|ops| ops.personality() == Personality::Link)
}

/// How to wait for a DSM lock.
#[derive(Clone, Copy)]
enum DsmWait {
    /// Requests from user space (sysfs, guest requests): a signal ends the wait with `EINTR`.
    Interruptible,
    /// Operations that must not fail.
    Uninterruptible,
}

fn lock_dsm<'a>(
    locks: &'a Locks,
    global: &ReadGuard<'a, ()>,
    dsm: &pci::Device,
    wait: DsmWait,
) -> Result<MutexGuard<'a, ()>> {
    let lock = locks.dsm_lock(global, dsm)?;
    match wait {
        DsmWait::Interruptible => lock.lock_interruptible(),
        DsmWait::Uninterruptible => Ok(lock.lock()),
    }
}

/// Runs `f` on `pdev`'s context (if any) under the lock of the DSM that manages it.
///
fn with_context<'a, R>(
    locks: &'a Locks,
    global: &ReadGuard<'a, ()>,
    pdev: &pci::Device,
    wait: DsmWait,
    f: impl FnOnce(Option<&Context>) -> Result<R>,
) -> Result<R> {
    if pdev.is_tsm_pf0() {
        let guard = lock_dsm(locks, global, pdev, wait)?;
        // SAFETY: A DSM-capable function's context changes only under its own DSM lock or
        // under `global` for write.
        match unsafe { pdev.tsm_context() } {
            // Managed by a switch upstream port: a sub-function context, stable under `global`.
            Some(ctx) if !ctx.is_dsm() => {
                drop(guard);
                let _guard = lock_dsm(locks, global, ctx.dsm_dev(), wait)?;
                f(Some(ctx))
            }
            ctx => f(ctx),
        }
    } else {
        // SAFETY: Sub-function contexts are published complete and freed under `global` for
        // write only.
        match unsafe { pdev.tsm_context() } {
            None => f(None),
            Some(ctx) => {
                let _guard = lock_dsm(locks, global, ctx.dsm_dev(), wait)?;
                f(Some(ctx))
            }
        }
    }
}

/// The TSM name `tsmN` of the TSM `pdev` is connected to or managed by (`connect`,
/// `authenticated`); `None` if none.
pub(crate) fn connected_tsm(pdev: &pci::Device, out: &mut impl FnMut(&TsmDevice) -> Result) -> Result<bool> {
    let locks = locks().ok_or(ENXIO)?;
    let global = locks.global.read_interruptible()?;
    with_context(locks, &global, pdev, DsmWait::Interruptible, |ctx| match ctx {
        Some(ctx) => out(ctx.tsm_dev()).map(|()| true),
        None => Ok(false),
    })
}

/// Calls `out` with the DSM of a managed function (`dsm`); `false` if unmanaged.
pub(crate) fn dsm_of(pdev: &pci::Device, out: &mut impl FnMut(&pci::Device) -> Result) -> Result<bool> {
    let locks = locks().ok_or(ENXIO)?;
    let global = locks.global.read_interruptible()?;
    with_context(locks, &global, pdev, DsmWait::Interruptible, |ctx| match ctx {
        Some(ctx) => out(ctx.dsm_dev()).map(|()| true),
        None => Ok(false),
    })
}

/// Calls `out` with the TSM that `pdev`'s TDI is bound through (`bound`); `false` if unbound.
pub(crate) fn bound_tsm(pdev: &pci::Device, out: &mut impl FnMut(&TsmDevice) -> Result) -> Result<bool> {
    let locks = locks().ok_or(ENXIO)?;
    let global = locks.global.read_interruptible()?;
    with_context(locks, &global, pdev, DsmWait::Interruptible, |ctx| match ctx {
        // SAFETY: `with_context` holds the DSM lock.
        Some(ctx) if unsafe { ctx.bound_vm() }.is_some() => out(ctx.tsm_dev()).map(|()| true),
        _ => Ok(false),
    })
}

/// Connects the DSM-capable function `pdev` through TSM `tsm_id` (`tsm/connect`).
pub(crate) fn connect(pdev: &pci::Device, tsm_id: u32) -> Result {
    let locks = locks().ok_or(ENXIO)?;
    {
        let global = locks.global.read_killable()?;
        let _dsm = lock_dsm(locks, &global, pdev, DsmWait::Interruptible)?;
        // SAFETY: We hold `pdev`'s DSM lock.
        if unsafe { pdev.tsm_context() }.is_some() {
            return Err(EBUSY);
        }
        let tsm = TsmDevice::find(tsm_id).ok_or(ENXIO)?;
        if !is_link_tsm(&tsm) {
            return Err(ENXIO);
        }
        establish(pdev, &tsm)?;
    }
    refresh_functions_of(pdev);
    Ok(())
}

/// Probes, publishes and connects the DSM `pdev`, then probes the functions it manages.
///
/// The caller holds `global` for read and `pdev`'s DSM lock for write.
fn establish(pdev: &pci::Device, tsm: &TsmDevice) -> Result {
    let ops = tsm.pci_ops().ok_or(ENXIO)?;
    // SAFETY: The DSM lock serialises this with every other operation on `pdev`.
    let ctx = unsafe { ops.probe(tsm, pdev) }.ok_or(ENXIO)?;
    // SAFETY: `probe` built the context for `pdev`; from here we own it through `pdev`.
    if !unsafe { pdev.publish_tsm_context(ctx) } {
        // A switch upstream port took this function while it was probed.
        // SAFETY: Never published.
        unsafe { ops.remove(ctx) };
        return Err(EBUSY);
    }
    // SAFETY: We hold the DSM lock; the context is published.
    if let Err(e) = unsafe { ops.connect(pdev) } {
        // SAFETY: DSM readers hold the DSM lock, which we hold; nothing else looks at a DSM
        // context that is not connected.
        unsafe {
            pdev.clear_tsm_context();
            ops.remove(ctx);
        }
        return Err(e);
    }
    // SAFETY: Published above and alive while we hold the DSM lock.
    let ctx = unsafe { ctx.as_ref() };
    // Like 7.3, only a TEE-IO DSM manages other functions; the DSM decides which.
    if pdev.has_tee() {
        pdev.walk_dsm_functions(false, &mut |function| probe_function(function, ctx));
    }
    Ok(())
}

/// Gives the unmanaged `function` a context from the TSM of the connected DSM `dsm`.
///
/// The caller holds `global` for read and the DSM lock for write.
fn probe_function(function: &pci::Device, dsm: &Context) {
    // SAFETY: Under `global`; a function that already has a context (e.g. its own DSM) stays.
    if unsafe { function.tsm_context() }.is_some() {
        return;
    }
    let tsm = dsm.tsm_dev();
    let Some(ops) = tsm.pci_ops() else { return };
    // SAFETY: Serialised by the DSM lock.
    let Some(ctx) = (unsafe { ops.probe(tsm, function) }) else {
        return;
    };
    // SAFETY: The context is complete; if publishing loses a race, it was never seen.
    if !unsafe { function.publish_tsm_context(ctx) } {
        // SAFETY: Never published.
        unsafe { ops.remove(ctx) };
    }
}

/// Disconnects the DSM `pdev` from the TSM named `tsm_name` (`tsm/disconnect`).
pub(crate) fn disconnect(pdev: &pci::Device, tsm_name: &[u8]) -> Result {
    let locks = locks().ok_or(ENXIO)?;
    {
        let _global = locks.global.write_killable()?;
        // SAFETY: `global` is held for write.
        let ctx = unsafe { pdev.tsm_context() }.ok_or(ENXIO)?;
        if !ctx.is_dsm() {
            // Managed by a switch upstream port: only that port disconnects.
            return Err(ENXIO);
        }
        if ctx.tsm_dev().device().name().to_bytes() != tsm_name {
            return Err(EINVAL);
        }
        teardown_dsm(pdev, ctx);
    }
    refresh_functions_of(pdev);
    Ok(())
}

/// Unbinds every TDI of the DSM `pdev`, removes its functions' contexts in reverse order,
/// disconnects it and removes its own context.
///
/// The caller holds `global` for write.
fn teardown_dsm(pdev: &pci::Device, ctx: &Context) {
    fn managed<'a>(function: &'a pci::Device, dsm: &pci::Device) -> Option<&'a Context> {
        // SAFETY: `global` is held for write.
        unsafe { function.tsm_context() }.filter(|fctx| core::ptr::eq(fctx.dsm_dev(), dsm))
    }
    pdev.walk_dsm_functions(true, &mut |function| {
        if let Some(fctx) = managed(function, pdev) {
            // SAFETY: `global` for write excludes every DSM lock holder.
            unsafe { fctx.unbind() };
        }
    });
    // SAFETY: As above.
    unsafe { ctx.unbind() };
    pdev.walk_dsm_functions(true, &mut |function| {
        if let Some(fctx) = managed(function, pdev) {
            remove_context(function, fctx);
        }
    });
    if let Some(ops) = ctx.tsm_dev().pci_ops() {
        // SAFETY: `global` is held for write: nothing else runs on this DSM.
        unsafe { ops.disconnect(pdev) };
    }
    remove_context(pdev, ctx);
}

/// Unpublishes and frees `ctx`, the context of `pdev`. The caller holds `global` for write.
fn remove_context(pdev: &pci::Device, ctx: &Context) {
    let ops = ctx.tsm_dev().pci_ops();
    // SAFETY: `global` is held for write, so no one else uses the context.
    unsafe { pdev.clear_tsm_context() };
    if let Some(ops) = ops {
        // SAFETY: Unpublished above; `probe` of this TSM made it.
        unsafe { ops.remove(core::ptr::NonNull::from(ctx)) };
    }
}

/// Tears down `pdev`'s context if it belongs to `tsm` (any TSM if `None`): a full disconnect
/// for a DSM, unbind and removal for another function. The caller holds `global` for write.
fn destroy_context(pdev: &pci::Device, tsm: Option<&TsmDevice>) {
    // SAFETY: `global` is held for write.
    let Some(ctx) = (unsafe { pdev.tsm_context() }) else {
        return;
    };
    if tsm.is_some_and(|tsm| !core::ptr::eq(tsm, ctx.tsm_dev())) {
        return;
    }
    if ctx.is_dsm() {
        teardown_dsm(pdev, ctx);
    } else {
        // SAFETY: As above.
        unsafe { ctx.unbind() };
        remove_context(pdev, ctx);
    }
}

/// `pci_tsm_destroy()`: the device is about to be removed (still in D0).
pub(crate) fn destroy_device(pdev: &pci::Device) {
    let Some(locks) = locks() else { return };
    let was_dsm;
    {
        let global = locks.global.write();
        // SAFETY: `global` is held for write.
        was_dsm = unsafe { pdev.tsm_context() }.is_some_and(|ctx| ctx.is_dsm());
        destroy_context(pdev, None);
        locks.forget_dsm(&global, pdev);
    }
    if was_dsm {
        refresh_functions_of(pdev);
    }
}

/// `pci_tsm_init()`: a device was added; if its DSM is connected, let the DSM's TSM probe it
/// (SR-IOV VFs created after connect, or a connect that raced enumeration).
pub(crate) fn init_device(pdev: &pci::Device) {
    let Some(locks) = locks() else { return };
    let probed = {
        let global = locks.global.read();
        link_tsm_registered() && probe_late_function(locks, &global, pdev)
    };
    if probed {
        refresh_sysfs(locks, pdev);
    }
}

fn probe_late_function<'a>(locks: &'a Locks, global: &ReadGuard<'a, ()>, pdev: &pci::Device) -> bool {
    if pdev.is_tsm_pf0() {
        // Only `connect` makes a DSM.
        return false;
    }
    let candidates = [pdev.function0(), pdev.upstream_port_above()];
    for dsm in candidates.iter().flatten() {
        // Fails only without memory for the lock of a DSM that never connected.
        let Ok(_guard) = lock_dsm(locks, global, dsm, DsmWait::Uninterruptible) else {
            continue;
        };
        // SAFETY: We hold the candidate's DSM lock.
        if let Some(ctx) = unsafe { dsm.tsm_context() } {
            if ctx.is_dsm() && dsm.has_tee() {
                probe_function(pdev, ctx);
                // SAFETY: Under `global`.
                return unsafe { pdev.tsm_context() }.is_some();
            }
        }
    }
    false
}

/// The DSM of `pdev` for a new context (`pci_tsm_link_constructor()`): itself if DSM-capable,
/// else the connected function 0 of its slot, else a connected switch upstream port above it.
///
/// Runs inside a TSM's `probe`, under the lock of the DSM being connected or probed for.
pub(crate) fn find_dsm(pdev: &pci::Device) -> Option<ARef<pci::Device>> {
    if pdev.is_tsm_pf0() {
        return Some(pdev.into());
    }
    let is_dsm = |dev: &pci::Device| {
        // SAFETY: The caller holds the lock that `probe` runs under.
        unsafe { dev.tsm_context() }.is_some_and(|ctx| ctx.is_dsm())
    };
    let pf0 = pdev.function0()?;
    if is_dsm(&pf0) {
        return Some(pf0);
    }
    pdev.upstream_port_above().filter(|port| is_dsm(port))
}

/// `pci_tsm_register()`.
pub(crate) fn register(tsm: &TsmDevice) -> Result {
    let locks = locks().ok_or(ENODEV)?;
    let first_link = {
        let _global = locks.global.write();
        match tsm.pci_ops().map(|ops| ops.personality()) {
            Some(Personality::Link) => LINK_TSMS.fetch_add(1, Relaxed) == 0,
            Some(Personality::Devsec) => {
                DEVSEC_TSMS.fetch_add(1, Relaxed);
                false
            }
            _ => return Err(EINVAL),
        }
    };
    if first_link {
        for_each_pci_device(false, |pdev| {
            if pdev.is_tsm_pf0() {
                refresh_sysfs(locks, pdev);
            }
        });
    }
    Ok(())
}

/// `pci_tsm_unregister()`: tears down every context of `tsm`, newest device first.
pub(crate) fn unregister(tsm: &TsmDevice) {
    let Some(locks) = locks() else { return };
    let last_link = {
        let _global = locks.global.write();
        let last_link = match tsm.pci_ops().map(|ops| ops.personality()) {
            Some(Personality::Link) => LINK_TSMS.fetch_sub(1, Relaxed) == 1,
            Some(Personality::Devsec) => {
                DEVSEC_TSMS.fetch_sub(1, Relaxed);
                false
            }
            _ => false,
        };
        for_each_pci_device(true, |pdev| destroy_context(pdev, Some(tsm)));
        last_link
    };
    for_each_pci_device(true, |pdev| {
        if pdev.is_pcie() && (last_link || !pdev.is_tsm_pf0()) {
            refresh_sysfs(locks, pdev);
        }
    });
}

/// Binds `pdev`'s TDI to `vm` (`pci_tsm_bind()`).
pub(crate) fn bind(pdev: &pci::Device, vm: VmHandle, tdi_id: u32) -> Result {
    let locks = locks().ok_or(EINVAL)?;
    let global = locks.global.read();
    with_context(locks, &global, pdev, DsmWait::Uninterruptible, |ctx| {
        let ctx = ctx.ok_or(EINVAL)?;
        if !is_link_tsm(ctx.tsm_dev()) {
            return Err(ENXIO);
        }
        // SAFETY: `with_context` holds the DSM lock.
        match unsafe { ctx.bound_vm() } {
            Some(bound) if bound == vm => Ok(()),
            Some(_) => Err(EBUSY),
            // SAFETY: As above, and unbound.
            None => unsafe { ctx.bind(vm, tdi_id) },
        }
    })
}

/// Unbinds `pdev`'s TDI, if bound (`pci_tsm_unbind()`).
pub(crate) fn unbind(pdev: &pci::Device) {
    let Some(locks) = locks() else { return };
    let global = locks.global.read();
    let _ = with_context(locks, &global, pdev, DsmWait::Uninterruptible, |ctx| {
        if let Some(ctx) = ctx {
            // SAFETY: `with_context` holds the DSM lock.
            unsafe { ctx.unbind() };
        }
        Ok(())
    });
}

/// Runs `f` on the context of the bound TDI `pdev` under its DSM lock (guest requests).
pub(crate) fn with_bound_context(pdev: &pci::Device, f: impl FnOnce(&Context) -> isize) -> isize {
    let run = || -> Result<isize> {
        let locks = locks().ok_or(ENXIO)?;
        let global = locks.global.read_interruptible()?;
        with_context(locks, &global, pdev, DsmWait::Interruptible, |ctx| {
            let ctx = ctx.ok_or(ENXIO)?;
            if !is_link_tsm(ctx.tsm_dev()) {
                return Err(ENXIO);
            }
            Ok(f(ctx))
        })
    };
    run().unwrap_or_else(|e| e.to_errno() as isize)
}

/// Re-evaluates the `tsm/` and `authenticated` groups of every function the DSM `pdev` may
/// manage (not of DSM-capable functions, whose groups depend only on registered TSMs).
fn refresh_functions_of(pdev: &pci::Device) {
    let Some(locks) = locks() else { return };
    pdev.walk_dsm_functions(false, &mut |function| {
        if !function.is_tsm_pf0() {
            refresh_sysfs(locks, function);
        }
    });
}

fn refresh_sysfs(locks: &Locks, pdev: &pci::Device) {
    let _serialised = if pdev.is_tsm_pf0() {
        locks.pf0_sysfs.lock()
    } else {
        locks.fn_sysfs.lock()
    };
    attrs::refresh(pdev);
}
