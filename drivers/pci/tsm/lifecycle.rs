// SPDX-License-Identifier: GPL-2.0

//! Connect, disconnect, bind and teardown of device contexts, and the locks around them.
//!
//! # Ownership
//!
//! A function has at most one context (`pdev->tsm`), given by exactly one DSM: the DSM itself
//! through `connect`, or a connected DSM that probes it (its connect walk, or a late probe when
//! the function appears). The first DSM to give a function a context owns it until that DSM
//! disconnects; a later walk leaves the function alone. The core decides the DSM before it
//! calls a TSM's `probe` ([`find_dsm`] only checks the topology against that decision), so no
//! path reads the context of a DSM it does not hold the lock of to decide ownership.
//!
//! # Locking
//!
//! - `global` (rwsem, with the set of TSMs registered with the core): held for write by TSM
//!   registration and unregistration, device removal, disconnect, and the end of a failed
//!   connect, which are the only paths that free a published context; held for read by all
//!   others. So a context seen published under `global` stays allocated while `global` is held.
//! - The DSM lock: `pci_tsm_pf0::lock` in the DSM's context, as in 7.3. A connect takes it
//!   before publishing the DSM's context and, on failure, unpublishes the context before
//!   releasing it; so whoever takes the lock of a context that is still published afterwards
//!   sees a connected DSM. Held by connect (across the TSM's `connect` and the sub-function
//!   probes), disconnect (across sub-function removal and the TSM's `disconnect`), each unbind,
//!   bind, guest requests, late probes, and sysfs readers. A process holds at most one.
//! - `probe` (mutex): every TSM `probe` runs under it, with the check that the function has no
//!   context and the publication of the new one, so no function is probed twice and, as in 7.3,
//!   no two probes or removes ever run at once (removes run under `global` for write).
//! - `pf0_sysfs` and `fn_sysfs` serialise sysfs group updates of DSM-capable functions and of
//!   the others. Updates run with no other lock held: updating a group removes and re-adds its
//!   files, which waits for every reader of those files, and a reader may be waiting for
//!   `global` or a DSM lock.
//!
//! Order: `global`, a DSM lock, `probe`. A connect takes its own, brand-new DSM lock with a
//! trylock while it holds `probe` (nobody else can see that lock yet).
//!
//! Connects of different DSMs hold `global` for read only, so they run in parallel. The price:
//! a writer (a disconnect, a TSM unregistration, a device removal, a failed connect) waits for
//! every connect in progress, and while it waits, new readers of any device's `tsm/` files wait
//! too (rwsem fairness), for as long as the longest connect runs.
//!
//! Hooks may run before [`init`] (no TSM can be registered then, so there is nothing to do)
//! and find no locks.

use crate::{attrs, connect_mode};
use kernel::{
    class::ClassDevice,
    pci,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Acquire, Atomic, Relaxed, Release},
        rwsem::{ReadGuard, RwSemaphore},
        GlobalLock, MutexGuard,
    },
    tsm::{context::Context, PciTsmOps, Personality, TsmDevice, VmHandle},
};

/// Registered TSMs with link operations; read locklessly by sysfs visibility.
static LINK_TSMS: Atomic<i32> = Atomic::new(0);
/// Registered TSMs with devsec operations (7.3 counts them; nothing uses them yet).
static DEVSEC_TSMS: Atomic<i32> = Atomic::new(0);

/// The function a TSM `probe` runs for and the DSM the core chose for it (addresses; 0 when no
/// probe runs). Written under `probe`, read by [`find_dsm`] from inside that probe.
static PROBING: [Atomic<usize>; 2] = [const { Atomic::new(0) }; 2];

static GLOBAL: RwSemaphore<Registered> =
    // SAFETY: `init()` sets it up from `core_initcall`, before any hook or TSM can use it,
    // and nothing uses it before `READY` says so.
    unsafe { RwSemaphore::new_static(Registered { tsms: KVec::new() }) };

kernel::sync::global_lock! {
    // SAFETY: As for `GLOBAL`.
    unsafe(uninit) static PROBE: Mutex<()> = ();
}
kernel::sync::global_lock! {
    // SAFETY: As for `GLOBAL`.
    unsafe(uninit) static PF0_SYSFS: Mutex<()> = ();
}
kernel::sync::global_lock! {
    // SAFETY: As for `GLOBAL`.
    unsafe(uninit) static FN_SYSFS: Mutex<()> = ();
}

/// Set once [`init`] set the locks up.
static READY: Atomic<bool> = Atomic::new(false);

/// Proof that the locks are set up; hands them out.
struct Locks;

impl Locks {
    fn global(&self) -> &'static RwSemaphore<Registered> {
        &GLOBAL
    }

    fn probe(&self) -> &'static GlobalLock<PROBE> {
        &PROBE
    }

    fn pf0_sysfs(&self) -> &'static GlobalLock<PF0_SYSFS> {
        &PF0_SYSFS
    }

    fn fn_sysfs(&self) -> &'static GlobalLock<FN_SYSFS> {
        &FN_SYSFS
    }
}

/// The TSMs registered with the core (addresses), so that a connect cannot start with a TSM
/// whose `pci_tsm_unregister()` already ran while its class device is still findable.
struct Registered {
    tsms: KVec<usize>,
}

impl Registered {
    fn contains(&self, tsm: &TsmDevice) -> bool {
        self.tsms.contains(&address(tsm))
    }
}

fn address<T>(object: &T) -> usize {
    core::ptr::from_ref(object) as usize
}

/// Sets the locks up; from an initcall that runs before PCI enumeration.
pub(crate) fn init() -> Result {
    if READY.load(Acquire) {
        return Err(EBUSY);
    }
    // SAFETY: Runs once, from `core_initcall`, before anything else can use the locks.
    unsafe {
        GLOBAL.init_static(c"pci_tsm_global", kernel::static_lock_class!());
        PROBE.init();
        PF0_SYSFS.init();
        FN_SYSFS.init();
    }
    connect_mode::init();
    READY.store(true, Release);
    Ok(())
}

fn locks() -> Option<&'static Locks> {
    READY.load(Acquire).then_some(&Locks)
}

/// The locks, or `ENODEV` before [`init`] ran (only reachable before `core_initcall`).
fn initialised() -> Result<&'static Locks> {
    locks().ok_or(ENODEV)
}

/// Runs `f` while no TSM can connect `pdev`: `EBUSY` if it is connected or connecting.
pub(crate) fn while_unconnected(pdev: &pci::Device, f: impl FnOnce() -> Result) -> Result {
    let locks = initialised()?;
    // Connect publishes the DSM's context under the probe lock.
    let _probe = locks.probe().lock();
    if pdev.has_tsm_context() {
        return Err(EBUSY);
    }
    f()
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

/// The context of the DSM that manages the function whose context is `ctx`.
///
/// # Safety
///
/// The caller holds `global`; `ctx` is a published context.
pub(crate) unsafe fn dsm_context_of(ctx: &Context) -> Option<&Context> {
    if ctx.is_dsm() {
        return Some(ctx);
    }
    // SAFETY: A managed function's context exists only while its DSM is connected, and both
    // are freed under `global` for write, which the caller excludes.
    let dsm = unsafe { ctx.dsm_dev().tsm_context() };
    if dsm.is_none() {
        dev_warn_once(ctx.pdev(), "PCI/TSM: invalid context object\n");
    }
    dsm
}

fn dev_warn_once(pdev: &pci::Device, msg: &str) {
    static WARNED: Atomic<bool> = Atomic::new(false);
    if !WARNED.xchg(true, Relaxed) {
        dev_warn!(pdev.as_ref(), "{}", msg);
    }
}

/// Locks the DSM lock of `dsm`, a published DSM context.
///
/// # Safety
///
/// The caller holds `global` for `'a`.
unsafe fn lock_dsm<'a>(dsm: &'a Context, wait: DsmWait) -> Result<MutexGuard<'a, ()>> {
    // SAFETY: A DSM context is a `pci_tsm_pf0`; it stays allocated while `global` is held.
    let lock = unsafe { dsm.dsm_lock() };
    match wait {
        DsmWait::Interruptible => lock.lock_interruptible(),
        DsmWait::Uninterruptible => Ok(lock.lock()),
    }
}

/// Runs `f` on `pdev`'s context (if any) under the lock of the DSM that manages it.
fn with_context<'a, R>(
    _global: &ReadGuard<'a, Registered>,
    pdev: &pci::Device,
    wait: DsmWait,
    f: impl FnOnce(Option<&Context>) -> Result<R>,
) -> Result<R> {
    // SAFETY: Published contexts stay allocated while `global` is held.
    let Some(ctx) = (unsafe { pdev.tsm_context() }) else {
        return f(None);
    };
    // SAFETY: As above.
    let Some(dsm) = (unsafe { dsm_context_of(ctx) }) else {
        return f(None);
    };
    // SAFETY: As above.
    let _guard = unsafe { lock_dsm(dsm, wait) }?;
    // A connect in progress held the lock; if it failed, it unpublished the context.
    if !pdev.has_tsm_context_at(ctx) {
        return f(None);
    }
    f(Some(ctx))
}

/// The TSM name `tsmN` of the TSM `pdev` is connected to or managed by (`connect`,
/// `authenticated`); `None` if none.
pub(crate) fn connected_tsm(
    pdev: &pci::Device,
    out: &mut impl FnMut(&TsmDevice) -> Result,
) -> Result<bool> {
    let locks = initialised()?;
    let global = locks.global().read_interruptible()?;
    with_context(&global, pdev, DsmWait::Interruptible, |ctx| match ctx {
        Some(ctx) => out(ctx.tsm_dev()).map(|()| true),
        None => Ok(false),
    })
}

/// Runs `f` with `pdev`'s TSM context under the lock of the DSM that manages it (so no connect
/// or disconnect of that DSM runs meanwhile); `ENXIO` if `pdev` has no TSM context. For the
/// netlink family's evidence refresh.
#[cfg(CONFIG_NET)]
pub(crate) fn with_connected<R>(
    pdev: &pci::Device,
    f: impl FnOnce(&Context) -> Result<R>,
) -> Result<R> {
    let locks = initialised()?;
    let global = locks.global().read_interruptible()?;
    with_context(&global, pdev, DsmWait::Interruptible, |ctx| match ctx {
        Some(ctx) => f(ctx),
        None => Err(ENXIO),
    })
}

/// Calls `out` with the DSM of a managed function (`dsm`); `false` if unmanaged.
pub(crate) fn dsm_of(
    pdev: &pci::Device,
    out: &mut impl FnMut(&pci::Device) -> Result,
) -> Result<bool> {
    let locks = initialised()?;
    let global = locks.global().read_interruptible()?;
    with_context(&global, pdev, DsmWait::Interruptible, |ctx| match ctx {
        Some(ctx) => out(ctx.dsm_dev()).map(|()| true),
        None => Ok(false),
    })
}

/// Whether another function's DSM manages `pdev` (a context that is not its own DSM's).
pub(crate) fn is_managed(pdev: &pci::Device) -> bool {
    let Some(locks) = locks() else { return false };
    let _global = locks.global().read();
    // SAFETY: Published contexts stay allocated while `global` is held.
    unsafe { pdev.tsm_context() }.is_some_and(|ctx| !ctx.is_dsm())
}

/// Calls `out` with the TSM that `pdev`'s TDI is bound through (`bound`); `false` if unbound.
pub(crate) fn bound_tsm(
    pdev: &pci::Device,
    out: &mut impl FnMut(&TsmDevice) -> Result,
) -> Result<bool> {
    let locks = initialised()?;
    let global = locks.global().read_interruptible()?;
    with_context(&global, pdev, DsmWait::Interruptible, |ctx| match ctx {
        // SAFETY: `with_context` holds the DSM lock.
        Some(ctx) if unsafe { ctx.bound_vm() }.is_some() => out(ctx.tsm_dev()).map(|()| true),
        _ => Ok(false),
    })
}

/// Asks `tsm` for a context of `function`, managed by `dsm`, and publishes it. The caller holds
/// `probe`, and `global` for read. `before_publish` runs on the new context first.
fn probe_locked<'g, T>(
    ops: &PciTsmOps,
    tsm: &TsmDevice,
    function: &pci::Device,
    dsm: &pci::Device,
    before_publish: impl FnOnce(&'g Context) -> Result<T>,
) -> Result<(&'g Context, T)> {
    if function.has_tsm_context() {
        return Err(EBUSY);
    }
    PROBING[0].store(address(function), Relaxed);
    PROBING[1].store(address(dsm), Relaxed);
    // SAFETY: Serialised with every probe and remove by `probe`, and the function has no
    // context, so no other operation runs on it.
    let ctx = unsafe { ops.probe(tsm, function) };
    PROBING[0].store(0, Relaxed);
    PROBING[1].store(0, Relaxed);
    let dsm_dev: &kernel::device::Device = dsm.as_ref();
    dev_dbg!(
        function.as_ref(),
        "PCI/TSM: setup TSM context: DSM: {} status: {}\n",
        dsm_dev.name(),
        if ctx.is_some() { "success" } else { "failed" }
    );
    let ctx = ctx.ok_or(ENXIO)?;
    // SAFETY: The context lives until it is given back with `remove`, which the caller's
    // `global` for read excludes once it is published, and which the error paths below do.
    let ctx_ref: &'g Context = unsafe { ctx.as_ref() };
    let prepared = match before_publish(ctx_ref) {
        Ok(prepared) => prepared,
        Err(e) => {
            // SAFETY: Never published.
            unsafe { ops.remove(ctx) };
            return Err(e);
        }
    };
    // Cannot lose: every publisher holds `probe` and checked the function above.
    // SAFETY: `probe` built the context for `function`; from here the core owns it.
    if !unsafe { function.publish_tsm_context(ctx) } {
        drop(prepared);
        // SAFETY: Never published.
        unsafe { ops.remove(ctx) };
        return Err(EBUSY);
    }
    Ok((ctx_ref, prepared))
}

/// Connects the DSM-capable function `pdev` through TSM `tsm_id` (`tsm/connect`).
///
/// `EBUSY` if `pdev` has a context (connected, or managed by another DSM), `ENXIO` if there is
/// no such link TSM or it declines `pdev`, `ENODEV` if `pdev` is being removed, `EINTR` if a
/// fatal signal interrupts the wait, else the TSM's error.
pub(crate) fn connect(pdev: &pci::Device, tsm_id: u32) -> Result {
    let locks = initialised()?;
    let global = locks.global().read_killable()?;
    // After `pci_tsm_destroy()` nothing would ever tear a new context down.
    if !pdev.is_added() {
        return Err(ENODEV);
    }
    if pdev.has_tsm_context() {
        return Err(EBUSY);
    }
    let tsm = TsmDevice::find(tsm_id).ok_or(ENXIO)?;
    if !is_link_tsm(&tsm) || !global.contains(&tsm) {
        return Err(ENXIO);
    }
    let ops = tsm.pci_ops().ok_or(ENXIO)?;
    let (ctx, dsm_guard) = {
        let _probe = locks.probe().lock();
        probe_locked(ops, &tsm, pdev, pdev, |ctx| {
            // SAFETY: A DSM context is a `pci_tsm_pf0`; nobody else can see its lock yet, so
            // the trylock succeeds.
            unsafe { ctx.dsm_lock() }.try_lock().ok_or(EBUSY)
        })?
    };
    // SAFETY: We hold the DSM lock; the context is published.
    if let Err(e) = unsafe { ops.connect(pdev) } {
        // SAFETY: Readers take the DSM lock, which we hold, and re-check the context after.
        unsafe { pdev.clear_tsm_context() };
        drop(dsm_guard);
        drop(global);
        // Readers that found the context before it was cleared hold `global`: wait for them.
        let _global = locks.global().write();
        // SAFETY: Unpublished and unused; `probe` of this TSM made it.
        unsafe { ops.remove(core::ptr::NonNull::from(ctx)) };
        return Err(e);
    }
    // Like 7.3, only a TEE-IO DSM manages other functions; the DSM decides which.
    if pdev.has_tee() {
        pdev.walk_dsm_functions(false, &mut |function| probe_function(locks, function, ctx));
    }
    drop(dsm_guard);
    drop(global);
    refresh_functions_of(pdev);
    Ok(())
}

/// Gives `function`, if it has no context yet, one from the TSM of the connected DSM `dsm`.
///
/// The caller holds `global` for read and `dsm`'s DSM lock.
fn probe_function(locks: &Locks, function: &pci::Device, dsm: &Context) {
    let tsm = dsm.tsm_dev();
    let Some(ops) = tsm.pci_ops() else { return };
    let _probe = locks.probe().lock();
    // Declined or owned by another DSM: not fatal, the function just has no context.
    let _ = probe_locked(ops, tsm, function, dsm.pdev(), |_| Ok(()));
}

/// Disconnects the DSM `pdev` from the TSM named `tsm_name` (`tsm/disconnect`).
pub(crate) fn disconnect(pdev: &pci::Device, tsm_name: &[u8]) -> Result {
    let locks = initialised()?;
    {
        let _global = locks.global().write_killable()?;
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

/// The context of `function` if the DSM `dsm` manages it. The caller holds `global` for write.
fn managed_by<'a>(function: &'a pci::Device, dsm: &pci::Device) -> Option<&'a Context> {
    // SAFETY: `global` is held for write.
    unsafe { function.tsm_context() }.filter(|ctx| core::ptr::eq(ctx.dsm_dev(), dsm))
}

/// As 7.3: unbinds every TDI of the DSM `pdev` (its functions in reverse order, then itself),
/// then, under the DSM lock, removes its functions' contexts in reverse order and disconnects
/// it, and finally removes its own context.
///
/// The caller holds `global` for write.
fn teardown_dsm(pdev: &pci::Device, ctx: &Context) {
    // SAFETY: `ctx` is a DSM context, alive until `remove_context` below.
    let lock = unsafe { ctx.dsm_lock() };
    let unbind = |fctx: &Context| {
        let _dsm = lock.lock();
        // SAFETY: Under the DSM lock.
        unsafe { fctx.unbind() };
    };
    pdev.walk_dsm_functions(true, &mut |function| {
        if let Some(fctx) = managed_by(function, pdev) {
            unbind(fctx);
        }
    });
    unbind(ctx);
    {
        let _dsm = lock.lock();
        pdev.walk_dsm_functions(true, &mut |function| {
            if let Some(fctx) = managed_by(function, pdev) {
                remove_context(function, fctx);
            }
        });
        if let Some(ops) = ctx.tsm_dev().pci_ops() {
            // SAFETY: Under `global` for write and the DSM lock.
            unsafe { ops.disconnect(pdev) };
        }
    }
    remove_context(pdev, ctx);
}

/// Gives `ctx`, the context of `pdev`, back to its TSM and unpublishes it, in 7.3's order. The
/// caller holds `global` for write, so no one else uses the context.
fn remove_context(pdev: &pci::Device, ctx: &Context) {
    if let Some(ops) = ctx.tsm_dev().pci_ops() {
        // SAFETY: `probe` of this TSM made it; nothing uses it any more. The TSM may still
        // look at `pdev->tsm`, as in 7.3.
        unsafe { ops.remove(core::ptr::NonNull::from(ctx)) };
    }
    // SAFETY: Under `global` for write.
    unsafe { pdev.clear_tsm_context() };
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
        // SAFETY: Under `global` for write.
        if let Some(dsm) = unsafe { dsm_context_of(ctx) } {
            // SAFETY: As above.
            let _dsm = unsafe { lock_dsm(dsm, DsmWait::Uninterruptible) };
            // SAFETY: Under the DSM lock.
            unsafe { ctx.unbind() };
        }
        remove_context(pdev, ctx);
    }
}

/// `pci_tsm_destroy()`: the device is about to be removed (still in D0).
pub(crate) fn destroy_device(pdev: &pci::Device) {
    let Some(locks) = locks() else { return };
    let was_dsm;
    {
        let _global = locks.global().write();
        // SAFETY: `global` is held for write.
        was_dsm = unsafe { pdev.tsm_context() }.is_some_and(|ctx| ctx.is_dsm());
        destroy_context(pdev, None);
    }
    connect_mode::forget(pdev);
    // Whatever a TSM published for the device goes with it (a TSM's disconnect clears it too).
    kernel::tsm::evidence::clear(pdev);
    if was_dsm {
        refresh_functions_of(pdev);
    }
}

/// `pci_tsm_init()`: a device was added; if its DSM is connected, let the DSM's TSM probe it
/// (SR-IOV VFs created after connect, or a connect that raced enumeration).
pub(crate) fn init_device(pdev: &pci::Device) {
    let Some(locks) = locks() else { return };
    let probed = {
        let global = locks.global().read();
        link_tsm_registered() && probe_late_function(locks, &global, pdev)
    };
    if probed {
        refresh_sysfs(locks, pdev);
    }
}

fn probe_late_function(
    locks: &Locks,
    _global: &ReadGuard<'_, Registered>,
    pdev: &pci::Device,
) -> bool {
    // Only `connect` makes a DSM.
    if pdev.is_tsm_host() || pdev.has_tsm_context() {
        return false;
    }
    // 7.3's order: function 0 of the slot, then a switch upstream port above.
    let candidates = dsm_candidates(pdev);
    for candidate in candidates.iter().flatten() {
        // SAFETY: Published contexts stay allocated while `global` is held.
        let Some(ctx) = (unsafe { candidate.tsm_context() }) else {
            continue;
        };
        if !ctx.is_dsm() {
            continue;
        }
        // SAFETY: As above.
        let Ok(_dsm) = (unsafe { lock_dsm(ctx, DsmWait::Uninterruptible) }) else {
            continue;
        };
        // Still published after its lock: connected (a failed connect unpublishes first).
        if candidate.has_tsm_context_at(ctx) && candidate.has_tee() {
            probe_function(locks, pdev, ctx);
            return pdev.has_tsm_context();
        }
    }
    false
}

/// The DSM of `pdev` for a new context (`pci_tsm_link_constructor()`).
///
/// Only valid inside a TSM's `probe` called by the core, which chose the DSM beforehand: the
/// function itself (connect), a connected function 0 of its slot, or a connected switch upstream
/// port two levels up (7.3's rules); for a function 0 below such a port the port, which then
/// owns that function's context. `None` if `pdev` is not being probed or the chosen DSM does not
/// fit the topology.
pub(crate) fn find_dsm(pdev: &pci::Device) -> Option<ARef<pci::Device>> {
    if PROBING[0].load(Relaxed) != address(pdev) {
        return None;
    }
    let dsm = PROBING[1].load(Relaxed);
    if dsm == address(pdev) {
        return pdev.is_tsm_host().then(|| pdev.into());
    }
    let candidates = dsm_candidates(pdev);
    candidates
        .into_iter()
        .flatten()
        .find(|candidate| address(&**candidate) == dsm)
}

/// The devices that may be the DSM of `pdev`, a function that is not DSM-capable itself, in
/// 7.3's order: function 0 of its slot, then a switch upstream port two levels up.
fn dsm_candidates(pdev: &pci::Device) -> [Option<ARef<pci::Device>>; 2] {
    [pdev.function0(), pdev.upstream_port_above()]
}

/// `pci_tsm_register()`.
pub(crate) fn register(tsm: &TsmDevice) -> Result {
    let locks = initialised()?;
    let (first_link, first_link_ide) = {
        let mut global = locks.global().write();
        let personality = tsm.pci_ops().map(|ops| ops.personality());
        if !matches!(personality, Some(Personality::Link | Personality::Devsec)) {
            return Err(EINVAL);
        }
        if global.contains(tsm) {
            return Err(EBUSY);
        }
        global.tsms.push(address(tsm), GFP_KERNEL)?;
        match personality {
            Some(Personality::Link) => (
                LINK_TSMS.fetch_add(1, Relaxed) == 0,
                connect_mode::tsm_registered(tsm),
            ),
            _ => {
                DEVSEC_TSMS.fetch_add(1, Relaxed);
                (false, false)
            }
        }
    };
    // The first link TSM shows `tsm/`, the first with Link IDE `tsm/connect_mode`.
    if first_link || first_link_ide {
        pci::for_each_device(false, |pdev| {
            if pdev.is_tsm_host() {
                dev_dbg!(
                    pdev.as_ref(),
                    "PCI/TSM: Platform TEE Security Manager detected\n"
                );
                refresh_sysfs(locks, pdev);
            }
        });
    }
    Ok(())
}

/// `pci_tsm_unregister()`: tears down every context of `tsm`, newest device first.
pub(crate) fn unregister(tsm: &TsmDevice) {
    let Some(locks) = locks() else { return };
    let refresh_all = {
        let mut global = locks.global().write();
        if !global.contains(tsm) {
            return;
        }
        global.tsms.retain(|t| *t != address(tsm));
        // The last link TSM hides `tsm/`, the last with Link IDE `tsm/connect_mode`.
        let refresh_all = match tsm.pci_ops().map(|ops| ops.personality()) {
            Some(Personality::Link) => {
                let last_link_ide = connect_mode::tsm_unregistered(tsm);
                LINK_TSMS.fetch_sub(1, Relaxed) == 1 || last_link_ide
            }
            _ => {
                DEVSEC_TSMS.fetch_sub(1, Relaxed);
                false
            }
        };
        pci::for_each_device(true, |pdev| destroy_context(pdev, Some(tsm)));
        refresh_all
    };
    pci::for_each_device(true, |pdev| {
        if pdev.is_pcie() && (refresh_all || !pdev.is_tsm_host()) {
            refresh_sysfs(locks, pdev);
        }
    });
}

/// Binds `pdev`'s TDI to `vm` (`pci_tsm_bind()`).
pub(crate) fn bind(pdev: &pci::Device, vm: VmHandle, tdi_id: u32) -> Result {
    let locks = initialised()?;
    let global = locks.global().read();
    with_context(&global, pdev, DsmWait::Uninterruptible, |ctx| {
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
    let global = locks.global().read();
    let _ = with_context(&global, pdev, DsmWait::Uninterruptible, |ctx| {
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
        let locks = initialised()?;
        let global = locks.global().read_interruptible()?;
        with_context(&global, pdev, DsmWait::Interruptible, |ctx| {
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
/// manage.
fn refresh_functions_of(pdev: &pci::Device) {
    let Some(locks) = locks() else { return };
    pdev.walk_dsm_functions(false, &mut |function| refresh_sysfs(locks, function));
}

fn refresh_sysfs(locks: &Locks, pdev: &pci::Device) {
    if pdev.is_tsm_host() {
        let _serialised = locks.pf0_sysfs().lock();
        attrs::refresh(pdev);
    } else {
        let _serialised = locks.fn_sysfs().lock();
        attrs::refresh(pdev);
    }
}
