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

/// A raw spinlock taken with local interrupts saved and disabled (C `raw_spin_lock_irqsave()`).
///
/// Usable from any context, including with interrupts already disabled and inside another raw
/// spinlock's critical section; the interrupt state is restored on unlock.
///
/// # Examples
///
/// ```
/// use kernel::sync::{new_raw_spinlock_irq, RawSpinLockIrq};
///
/// #[pin_data]
/// struct Registers {
///     #[pin]
///     words: RawSpinLockIrq<[u32; 4]>,
/// }
///
/// let regs = KBox::pin_init(
///     pin_init!(Registers { words <- new_raw_spinlock_irq!([0; 4]) }),
///     GFP_KERNEL,
/// )?;
/// regs.words.lock()[1] = 0x1234;
/// assert_eq!(regs.words.lock()[1], 0x1234);
/// assert!(regs.words.try_lock().is_some());
/// # Ok::<(), Error>(())
/// ```
pub type RawSpinLockIrq<T> = Lock<T, RawSpinLockIrqBackend>;

/// A kernel `raw_spinlock_t` lock backend that saves and disables local interrupts.
pub struct RawSpinLockIrqBackend;

/// A [`Guard`] acquired from locking a [`RawSpinLockIrq`].
pub type RawSpinLockIrqGuard<'a, T> = Guard<'a, T, RawSpinLockIrqBackend>;

// SAFETY: The underlying kernel `raw_spinlock_t` object ensures mutual exclusion. The guard state
// is the interrupt state saved by the lock operation that created it; `relock` uses the default
// implementation, which saves a fresh one.
unsafe impl Backend for RawSpinLockIrqBackend {
    type State = bindings::raw_spinlock_t;
    type GuardState = crate::ffi::c_ulong;

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
        unsafe { bindings::raw_spin_lock_irqsave(ptr) }
    }

    #[inline]
    unsafe fn unlock(ptr: *mut Self::State, guard_state: &Self::GuardState) {
        // SAFETY: The safety requirements of this function ensure that `ptr` is valid and that the
        // caller is the owner of the lock; `guard_state` is the interrupt state its lock saved.
        unsafe { bindings::raw_spin_unlock_irqrestore(ptr, *guard_state) }
    }

    #[inline]
    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        let mut flags = 0;
        // SAFETY: The `ptr` pointer is guaranteed to be valid and initialised before use, and
        // `flags` is a valid place for the saved interrupt state.
        let locked = unsafe { bindings::raw_spin_trylock_irqsave(ptr, &mut flags) };
        locked.then_some(flags)
    }

    #[inline]
    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // SAFETY: The `ptr` pointer is guaranteed to be valid and initialised before use.
        unsafe { bindings::raw_spin_assert_is_held(ptr) }
    }
}
