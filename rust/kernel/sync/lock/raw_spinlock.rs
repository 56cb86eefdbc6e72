// SPDX-License-Identifier: GPL-2.0

//! A raw spinlock that disables local interrupts while held.
//!
//! `raw_spinlock_t` is the only lock a caller may take inside another raw spinlock's critical
//! section: with `CONFIG_PREEMPT_RT` a `spinlock_t` ([`super::spinlock::SpinLock`]) becomes a
//! sleeping lock, and lockdep's `PROVE_RAW_LOCK_NESTING` reports any `spinlock_t` taken under a
//! raw one on every kernel. Code that runs in such a context, e.g. the PCI configuration
//! accessors of a host bridge (`struct pci_ops`), which the PCI core calls under the raw
//! spinlock `pci_lock` with interrupts off, must protect its state with this lock.
//!
//! The critical section must be short and must neither sleep nor allocate memory.
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h)

use super::*;
use crate::interrupt::LocalInterruptDisabled;

/// Creates a [`RawSpinLockIrq`] initialiser with the given name and a newly-created lock class.
///
/// It uses the name if one is given, otherwise it generates one based on the file name and line
/// number.
#[macro_export]
macro_rules! new_raw_spinlock_irq {
    ($inner:expr $(, $name:literal)? $(,)?) => {
        $crate::sync::RawSpinLockIrq::new(
            $inner, $crate::optional_name!($($name)?), $crate::static_lock_class!())
    };
}
pub use new_raw_spinlock_irq;

/// A raw spinlock taken with local interrupts disabled (C `raw_spin_lock_irq_disable()`).
///
/// Like [`super::spinlock::SpinLockIrq`], interrupt disabling is reference counted per CPU: the
/// last of several nested guards to be dropped re-enables interrupts, in whatever order they are
/// dropped, and interrupts that were off before the first one stay off. Usable from any context,
/// including inside another raw spinlock's critical section. Where a
/// [`LocalInterruptDisabled`] token proves interrupts are off already, [`Lock::lock_with`]
/// takes the lock without touching the interrupt state.
///
/// # Examples
///
/// ```
/// use kernel::{
///     interrupt::local_interrupt_disable,
///     sync::{new_raw_spinlock_irq, RawSpinLockIrq},
/// };
///
/// #[pin_data]
/// struct Registers {
///     #[pin]
///     words: RawSpinLockIrq<[u32; 4]>,
///     #[pin]
///     flags: RawSpinLockIrq<u32>,
/// }
///
/// let regs = KBox::pin_init(
///     pin_init!(Registers {
///         words <- new_raw_spinlock_irq!([0; 4]),
///         flags <- new_raw_spinlock_irq!(0),
///     }),
///     GFP_KERNEL,
/// )?;
/// regs.words.lock()[1] = 0x1234;
/// assert_eq!(regs.words.lock()[1], 0x1234);
/// assert!(regs.words.try_lock().is_some());
///
/// // Guards dropped out of order: interrupts come back only with the last one.
/// let words = regs.words.lock();
/// let mut flags = regs.flags.lock();
/// drop(words);
/// *flags = 1;
/// drop(flags);
///
/// let irqs_off = local_interrupt_disable();
/// assert_eq!(*regs.flags.lock_with(&irqs_off), 1);
/// # Ok::<(), Error>(())
/// ```
pub type RawSpinLockIrq<T> = Lock<T, RawSpinLockIrqBackend>;

/// A kernel `raw_spinlock_t` lock backend that disables local interrupts (reference counted).
pub struct RawSpinLockIrqBackend;

/// A [`Guard`] acquired from locking a [`RawSpinLockIrq`].
pub type RawSpinLockIrqGuard<'a, T> = Guard<'a, T, RawSpinLockIrqBackend>;

// SAFETY: The underlying kernel `raw_spinlock_t` object ensures mutual exclusion. `relock` uses
// the default implementation, which always calls the same locking method.
unsafe impl Backend for RawSpinLockIrqBackend {
    type State = bindings::raw_spinlock_t;
    type GuardState = ();

    #[inline]
    unsafe fn init(
        ptr: *mut Self::State,
        name: *const crate::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: The safety requirements ensure that `ptr` is valid for writes, and `name` and
        // `key` are valid for read indefinitely.
        unsafe { bindings::raw_spin_lock_init_key(ptr, name, key) }
    }

    #[inline]
    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The safety requirements of this function ensure that `ptr` points to valid
        // memory, and that it has been initialised before.
        unsafe { bindings::raw_spin_lock_irq_disable(ptr) }
    }

    #[inline]
    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: The safety requirements of this function ensure that `ptr` is valid and that
        // the caller is the owner of the lock.
        unsafe { bindings::raw_spin_unlock_irq_enable(ptr) }
    }

    #[inline]
    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: The `ptr` pointer is guaranteed to be valid and initialised before use.
        (unsafe { bindings::raw_spin_trylock_irq_disable(ptr) }).then_some(())
    }

    #[inline]
    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // SAFETY: The `ptr` pointer is guaranteed to be valid and initialised before use.
        unsafe { bindings::raw_spin_assert_is_held(ptr) }
    }
}

/// The same `raw_spinlock_t`, taken without touching the interrupt state; only reachable
/// through [`Lock::lock_with`], whose token proves interrupts are off.
pub struct RawSpinLockBackend;

// SAFETY: The underlying kernel `raw_spinlock_t` object ensures mutual exclusion.
unsafe impl Backend for RawSpinLockBackend {
    type State = bindings::raw_spinlock_t;
    type GuardState = ();

    #[inline]
    unsafe fn init(
        ptr: *mut Self::State,
        name: *const crate::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: As for `RawSpinLockIrqBackend::init`.
        unsafe { bindings::raw_spin_lock_init_key(ptr, name, key) }
    }

    #[inline]
    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: `ptr` is valid and initialised, by the safety requirements.
        unsafe { bindings::raw_spin_lock(ptr) }
    }

    #[inline]
    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: `ptr` is valid and the caller owns the lock, by the safety requirements.
        unsafe { bindings::raw_spin_unlock(ptr) }
    }

    #[inline]
    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: `ptr` is valid and initialised, by the safety requirements.
        (unsafe { bindings::raw_spin_trylock(ptr) }).then_some(())
    }

    #[inline]
    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // SAFETY: `ptr` is valid and initialised, by the safety requirements.
        unsafe { bindings::raw_spin_assert_is_held(ptr) }
    }
}

impl<T: ?Sized> Lock<T, RawSpinLockIrqBackend> {
    /// Takes the lock without changing the interrupt state, which `_irqs_off` proves is off.
    #[inline]
    pub fn lock_with<'a>(
        &'a self,
        _irqs_off: &'a LocalInterruptDisabled,
    ) -> Guard<'a, T, RawSpinLockBackend> {
        // SAFETY: Both backends have the same `State`, so both `Lock`s have the same layout;
        // with interrupts off (the token), taking the lock without disabling them is what the
        // interrupt-disabling backend does too.
        let lock: &'a Lock<T, RawSpinLockBackend> = unsafe { core::mem::transmute(self) };
        lock.lock()
    }
}
