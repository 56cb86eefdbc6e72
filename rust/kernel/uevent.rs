// SPDX-License-Identifier: GPL-2.0

//! Receiving kernel uevents inside the kernel, the way user space does: from the
//! `NETLINK_KOBJECT_UEVENT` socket.
//!
//! The listener is for tests that must observe a uevent rather than assume it was sent, and
//! is only built with `CONFIG_KUNIT` and `CONFIG_NET` (its socket is a netlink one).
//!
//! C header: [`include/linux/kobject.h`](srctree/include/linux/kobject.h)

use crate::{bindings, device::Device, error::to_result, prelude::*};

/// Sends a `KOBJ_CHANGE` uevent for `dev`.
pub fn send_change(dev: &Device) -> Result {
    // SAFETY: `dev` is valid.
    to_result(unsafe {
        bindings::kobject_uevent(
            &raw mut (*dev.as_raw()).kobj,
            bindings::kobject_action_KOBJ_CHANGE,
        )
    })
}

#[cfg(all(CONFIG_KUNIT, CONFIG_NET))]
pub use listener::*;

#[cfg(all(CONFIG_KUNIT, CONFIG_NET))]
mod listener {
    use crate::{bindings, error::to_result, prelude::*};
    use core::ptr::NonNull;

    /// A kernel netlink socket subscribed to uevents; closed on drop.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{faux, uevent};
    ///
    /// let listener = uevent::Listener::new()?;
    /// let reg = faux::Registration::new(c"uevent_example", None)?;
    /// let events = listener.drain()?;
    /// assert!(events.contains(b"add", b"/uevent_example"));
    /// assert!(!events.contains(b"change", b"/uevent_example"));
    /// uevent::send_change(reg.as_ref().as_ref())?;
    /// assert!(listener.drain()?.contains(b"change", b"/uevent_example"));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Invariants
    ///
    /// `sock` is a live socket created by `sock_create_kern`, bound to the uevent group.
    pub struct Listener {
        sock: NonNull<bindings::socket>,
    }

    // SAFETY: The socket may be used and released from any thread.
    unsafe impl Send for Listener {}

    /// The multicast group kernel uevents are sent to.
    const UEVENT_GROUP: u32 = 1;

    impl Listener {
        /// Subscribes to the uevents of the initial network namespace. Only uevents sent after
        /// this returns are received.
        pub fn new() -> Result<Self> {
            let mut sock = core::ptr::null_mut();
            // SAFETY: `init_net` is a static; `sock` receives the new socket.
            to_result(unsafe {
                bindings::sock_create_kern(
                    &raw mut bindings::init_net,
                    bindings::PF_NETLINK as i32,
                    bindings::sock_type_SOCK_DGRAM as i32,
                    bindings::NETLINK_KOBJECT_UEVENT as i32,
                    &mut sock,
                )
            })?;
            let sock = NonNull::new(sock).ok_or(ENOMEM)?;
            // INVARIANT: Bound below before `Self` escapes; released on failure by `drop`.
            let listener = Self { sock };
            let addr = bindings::sockaddr_nl {
                nl_family: bindings::AF_NETLINK as u16,
                nl_groups: UEVENT_GROUP,
                ..Default::default()
            };
            // SAFETY: `addr` is a valid netlink address of the given size.
            to_result(unsafe {
                bindings::kernel_bind(
                    sock.as_ptr(),
                    (&raw const addr).cast_mut().cast(),
                    core::mem::size_of_val(&addr) as i32,
                )
            })?;
            Ok(listener)
        }

        /// Returns the next queued uevent, or `None` if none is queued (it does not wait).
        pub fn try_next<'a>(&self, buf: &'a mut [u8]) -> Result<Option<Uevent<'a>>> {
            let mut vec = bindings::kvec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            // SAFETY: `msghdr` is plain C data; all zeroes (no name, no control data) is valid.
            let mut msg: bindings::msghdr = unsafe { core::mem::zeroed() };
            // SAFETY: `msg` and `vec` describe `buf`, writable for its length; the socket is live.
            let len = unsafe {
                bindings::kernel_recvmsg(
                    self.sock.as_ptr(),
                    &mut msg,
                    &mut vec,
                    1,
                    buf.len(),
                    bindings::MSG_DONTWAIT as i32,
                )
            };
            if len == -(bindings::EAGAIN as i32) {
                return Ok(None);
            }
            to_result(len)?;
            // CAST: non-negative after the check above, and at most `buf.len()`.
            let len = (len as usize).min(buf.len());
            Ok(Some(Uevent { raw: &buf[..len] }))
        }

        /// Drains the queue: every uevent received so far, as `(action, devpath)` pairs.
        pub fn drain(&self) -> Result<Events> {
            let mut buf = KVec::from_elem(0u8, 4096, GFP_KERNEL)?;
            let mut events = Events { list: KVec::new() };
            while let Some(event) = self.try_next(&mut buf)? {
                let mut action = KVec::new();
                action.extend_from_slice(event.action(), GFP_KERNEL)?;
                let mut devpath = KVec::new();
                devpath.extend_from_slice(event.devpath(), GFP_KERNEL)?;
                events.list.push((action, devpath), GFP_KERNEL)?;
            }
            Ok(events)
        }
    }

    /// Uevents drained from a [`Listener`].
    pub struct Events {
        list: KVec<(KVec<u8>, KVec<u8>)>,
    }

    impl Events {
        /// Whether a uevent with `action` for a device path ending in `devpath_suffix` is among
        /// them.
        pub fn contains(&self, action: &[u8], devpath_suffix: &[u8]) -> bool {
            self.list
                .iter()
                .any(|(a, p)| a.as_slice() == action && p.ends_with(devpath_suffix))
        }

        /// Number of uevents.
        pub fn len(&self) -> usize {
            self.list.len()
        }

        /// Whether there are none.
        pub fn is_empty(&self) -> bool {
            self.list.is_empty()
        }
    }

    impl Drop for Listener {
        fn drop(&mut self) {
            // SAFETY: By the type invariants the socket is live and ours.
            unsafe { bindings::sock_release(self.sock.as_ptr()) }
        }
    }

    /// One uevent: `ACTION@DEVPATH` followed by `KEY=VALUE` pairs, NUL separated.
    pub struct Uevent<'a> {
        raw: &'a [u8],
    }

    impl<'a> Uevent<'a> {
        fn header(&self) -> &'a [u8] {
            self.raw.split(|b| *b == 0).next().unwrap_or(&[])
        }

        /// The action: `add`, `remove`, `change`, ...
        pub fn action(&self) -> &'a [u8] {
            let header = self.header();
            header.split(|b| *b == b'@').next().unwrap_or(&[])
        }

        /// The device path below `/sys`.
        pub fn devpath(&self) -> &'a [u8] {
            let header = self.header();
            match header.iter().position(|b| *b == b'@') {
                Some(at) => &header[at + 1..],
                None => &[],
            }
        }

        /// The value of environment variable `key`, if present.
        pub fn var(&self, key: &[u8]) -> Option<&'a [u8]> {
            self.raw.split(|b| *b == 0).skip(1).find_map(|pair| {
                pair.strip_prefix(key)
                    .and_then(|rest| rest.strip_prefix(b"="))
            })
        }
    }
}
