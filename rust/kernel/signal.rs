// SPDX-License-Identifier: GPL-2.0

//! Signals for the current kernel thread, for tests of interruptible and killable waits.
//!
//! Built with `CONFIG_KUNIT` only: production code never signals itself.
//!
//! C header: [`include/linux/sched/signal.h`](srctree/include/linux/sched/signal.h)

use crate::{bindings, ffi::c_int, task::Task};

/// A signal pending on the current kernel thread until the guard is dropped, which flushes it
/// and makes the thread ignore the signal again, as kernel threads do by default.
///
/// # Examples
///
/// ```
/// use kernel::{current, signal::PendingSignal};
///
/// assert!(!current!().signal_pending());
/// {
///     let _signal = PendingSignal::user1();
///     assert!(current!().signal_pending());
/// }
/// assert!(!current!().signal_pending());
/// ```
///
/// # Invariants
///
/// The current thread handles `sig` and has it pending while the guard lives.
pub struct PendingSignal {
    sig: c_int,
    _not_send: crate::types::NotThreadSafe,
}

impl PendingSignal {
    /// Sends `SIGUSR1` to the current thread: interruptible waits end with `EINTR`, killable
    /// and uninterruptible ones go on.
    pub fn user1() -> Self {
        // CAST: signal numbers are small.
        let sig = bindings::SIGUSR1 as c_int;
        // SAFETY: `current` is live; a kernel thread may allow and send itself a signal.
        unsafe {
            bindings::allow_signal(sig);
            bindings::send_sig(sig, Task::current_raw(), 1);
        }
        // INVARIANT: allowed and sent above.
        Self {
            sig,
            _not_send: crate::types::NotThreadSafe,
        }
    }
}

impl Drop for PendingSignal {
    fn drop(&mut self) {
        // SAFETY: `current` is live and the same thread as at construction (not `Send`).
        unsafe {
            bindings::flush_signals(Task::current_raw());
            bindings::disallow_signal(self.sig);
        }
    }
}
