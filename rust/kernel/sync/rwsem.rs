// SPDX-License-Identifier: GPL-2.0

//! Read-write semaphores.
//!
//! C header: [`include/linux/rwsem.h`](srctree/include/linux/rwsem.h)

use crate::{
    bindings,
    error::to_result,
    prelude::*,
    str::CStr,
    sync::LockClassKey,
    types::{NotThreadSafe, Opaque}, //
};
use core::{
    cell::UnsafeCell,
    marker::PhantomPinned,
    ops::{Deref, DerefMut}, //
};
use pin_init::Wrapper;

/// Creates a [`RwSemaphore`] initialiser with a lock class of its own call site.
#[macro_export]
macro_rules! new_rwsem {
    ($inner:expr $(, $name:literal)? $(,)?) => {
        $crate::sync::rwsem::RwSemaphore::new(
            $inner, $crate::optional_name!($($name)?), $crate::static_lock_class!())
    };
}
pub use new_rwsem;

/// A sleeping lock with shared (read) and exclusive (write) holders, C `struct rw_semaphore`.
///
/// Unlike [`crate::sync::Mutex`], waits can be interrupted by signals (readers) or by fatal
/// signals (readers and writers), which is what sysfs handlers need. A thread must not take a
/// read lock it already holds: a writer queued in between would deadlock both (lockdep says so).
///
/// # Examples
///
/// ```
/// use kernel::{new_rwsem, sync::rwsem::RwSemaphore};
///
/// let sem = KBox::pin_init(new_rwsem!(0u32), GFP_KERNEL)?;
/// *sem.write() += 1;
/// assert_eq!(*sem.read_interruptible()?, 1);
/// *sem.write_killable()? += 1;
/// assert_eq!(*sem.read(), 2);
/// assert_eq!(*sem.read_killable()?, 2);
/// let reader = sem.try_read().ok_or(EBUSY)?;
/// assert!(sem.try_write().is_none());
/// drop(reader);
/// assert!(sem.try_write().is_some());
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `inner` is an initialised `struct rw_semaphore`; `data` is only accessed through guards,
/// shared by read guards and exclusive for a write guard.
#[pin_data]
pub struct RwSemaphore<T> {
    #[pin]
    inner: Opaque<bindings::rw_semaphore>,
    // The C waiter list points into `inner`.
    #[pin]
    _pin: PhantomPinned,
    #[pin]
    data: UnsafeCell<T>,
}

// SAFETY: The semaphore can move between threads with its data if the data can.
unsafe impl<T: Send> Send for RwSemaphore<T> {}
// SAFETY: Readers share `&T` across threads, a writer gets `&mut T` on any thread.
unsafe impl<T: Send + Sync> Sync for RwSemaphore<T> {}

impl<T> RwSemaphore<T> {
    /// Creates an initialiser of a semaphore protecting what `data` initialises; see
    /// [`new_rwsem!`].
    pub fn new(
        data: impl PinInit<T>,
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> impl PinInit<Self> {
        // INVARIANT: `__init_rwsem` initialises `inner`.
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `name` and `key` are static.
            inner <- Opaque::ffi_init(|slot| unsafe {
                bindings::__init_rwsem(slot, name.as_char_ptr(), key.as_ptr())
            }),
            _pin: PhantomPinned,
            data <- UnsafeCell::pin_init(data),
        })
    }

    /// A semaphore for a `static`, set up at run time by [`RwSemaphore::init_static`] (the C
    /// structure cannot be built in a constant).
    ///
    /// # Safety
    ///
    /// The caller calls [`RwSemaphore::init_static`] once, before any other use.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{static_lock_class, sync::rwsem::RwSemaphore};
    ///
    /// // SAFETY: Initialised right below, before any other use.
    /// static COUNT: RwSemaphore<u32> = unsafe { RwSemaphore::new_static(7) };
    /// // SAFETY: Once, before any other use.
    /// unsafe { COUNT.init_static(c"count", static_lock_class!()) };
    /// assert_eq!(*COUNT.read(), 7);
    /// *COUNT.write() += 1;
    /// assert_eq!(*COUNT.read(), 8);
    /// ```
    pub const unsafe fn new_static(data: T) -> Self {
        Self {
            inner: Opaque::uninit(),
            _pin: PhantomPinned,
            data: UnsafeCell::new(data),
        }
    }

    /// Sets up a semaphore made with [`RwSemaphore::new_static`].
    ///
    /// # Safety
    ///
    /// Called once, before any other use of `self` and with no concurrent access.
    pub unsafe fn init_static(&'static self, name: &'static CStr, key: Pin<&'static LockClassKey>) {
        // INVARIANT: `__init_rwsem` initialises `inner`, which a `static` never moves.
        // SAFETY: `inner` is valid for writes and not in use, by the function's safety
        // requirements; `name` and `key` are static.
        unsafe { bindings::__init_rwsem(self.inner.get(), name.as_char_ptr(), key.as_ptr()) };
    }

    /// Takes shared access if no writer holds or waits for the semaphore.
    #[must_use = "the semaphore is released at once if the guard is unused"]
    pub fn try_read(&self) -> Option<ReadGuard<'_, T>> {
        // SAFETY: `inner` is initialised by the type invariants.
        (unsafe { bindings::down_read_trylock(self.inner.get()) } != 0)
            .then(|| ReadGuard::new(self))
    }

    /// Takes exclusive access if nobody holds the semaphore.
    #[must_use = "the semaphore is released at once if the guard is unused"]
    pub fn try_write(&self) -> Option<WriteGuard<'_, T>> {
        // SAFETY: `inner` is initialised by the type invariants.
        (unsafe { bindings::down_write_trylock(self.inner.get()) } != 0)
            .then(|| WriteGuard::new(self))
    }

    /// Waits, uninterruptibly, for shared access.
    pub fn read(&self) -> ReadGuard<'_, T> {
        // SAFETY: `inner` is initialised by the type invariants.
        unsafe { bindings::down_read(self.inner.get()) };
        ReadGuard::new(self)
    }

    /// Waits for shared access; `EINTR` if a signal arrives first.
    pub fn read_interruptible(&self) -> Result<ReadGuard<'_, T>> {
        // SAFETY: `inner` is initialised by the type invariants.
        to_result(unsafe { bindings::down_read_interruptible(self.inner.get()) })?;
        Ok(ReadGuard::new(self))
    }

    /// Waits for shared access; `EINTR` if a fatal signal arrives first.
    pub fn read_killable(&self) -> Result<ReadGuard<'_, T>> {
        // SAFETY: `inner` is initialised by the type invariants.
        to_result(unsafe { bindings::down_read_killable(self.inner.get()) })?;
        Ok(ReadGuard::new(self))
    }

    /// Waits, uninterruptibly, for exclusive access.
    pub fn write(&self) -> WriteGuard<'_, T> {
        // SAFETY: `inner` is initialised by the type invariants.
        unsafe { bindings::down_write(self.inner.get()) };
        WriteGuard::new(self)
    }

    /// Waits for exclusive access; `EINTR` if a fatal signal arrives first.
    pub fn write_killable(&self) -> Result<WriteGuard<'_, T>> {
        // SAFETY: `inner` is initialised by the type invariants.
        to_result(unsafe { bindings::down_write_killable(self.inner.get()) })?;
        Ok(WriteGuard::new(self))
    }
}

/// Shared access to the data of a [`RwSemaphore`]; released on drop, on the same thread.
///
/// # Invariants
///
/// The semaphore is held for read by this guard.
#[must_use = "the semaphore is released at once if the guard is unused"]
pub struct ReadGuard<'a, T> {
    sem: &'a RwSemaphore<T>,
    _not_send: NotThreadSafe,
}

impl<'a, T> ReadGuard<'a, T> {
    fn new(sem: &'a RwSemaphore<T>) -> Self {
        // INVARIANT: Called right after taking the semaphore for read.
        Self {
            sem,
            _not_send: NotThreadSafe,
        }
    }
}

impl<T> Deref for ReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: Readers only share `&T` (type invariants of both types).
        unsafe { &*self.sem.data.get() }
    }
}

impl<T> Drop for ReadGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: The semaphore is held for read by the type invariants.
        unsafe { bindings::up_read(self.sem.inner.get()) };
    }
}

/// Exclusive access to the data of a [`RwSemaphore`]; released on drop, on the same thread.
///
/// # Invariants
///
/// The semaphore is held for write by this guard.
#[must_use = "the semaphore is released at once if the guard is unused"]
pub struct WriteGuard<'a, T> {
    sem: &'a RwSemaphore<T>,
    _not_send: NotThreadSafe,
}

impl<'a, T> WriteGuard<'a, T> {
    fn new(sem: &'a RwSemaphore<T>) -> Self {
        // INVARIANT: Called right after taking the semaphore for write.
        Self {
            sem,
            _not_send: NotThreadSafe,
        }
    }
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: The writer has exclusive access (type invariants).
        unsafe { &*self.sem.data.get() }
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: The writer has exclusive access (type invariants).
        unsafe { &mut *self.sem.data.get() }
    }
}

impl<T> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: The semaphore is held for write by the type invariants.
        unsafe { bindings::up_write(self.sem.inner.get()) };
    }
}
