// SPDX-License-Identifier: GPL-2.0

//! The character device through which a device model in user space answers a mailbox in relay
//! mode (`/dev/tsm_emu_mbox<N>`, one per platform; see [`crate::relay`] for the framing and the
//! exchange).
//!
//! * `read()` blocks, interruptibly, until a request is pending, then returns the next bytes of
//!   its frame (header and DOE object), as many as asked and left; a frame can be read in any
//!   number of pieces. It fails with `ECANCELED` once when an Abort cut the frame being read,
//!   and with `ENODEV` when the mailbox is gone.
//! * `write()` takes the response frame, in any number of pieces; the exchange ends when the
//!   frame is complete. IDE_KM and memory completion frames go the same way. Any other header
//!   fails with `EINVAL`.
//! * Only one opener at a time: `EBUSY` for another. An open file holds the module.
//!
//! There is no `poll()`, and `O_NONBLOCK` does not apply: a reader always waits.

use crate::relay::{Assembler, Frame, Relay, FRAME_BYTES};
use kernel::{
    fs::{File, Kiocb},
    iov::{IovIterDest, IovIterSource},
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    new_mutex,
    prelude::*,
    str::CString,
    sync::{Arc, Mutex},
};

/// The character device of one relay.
///
/// # Invariants
///
/// Every `MiscDeviceRegistration<RelayFile>` is the `misc` field of a `RelayDevice`.
#[pin_data]
pub(crate) struct RelayDevice {
    // Fields drop in declaration order: no open can start once `misc` is gone, and `misc` uses
    // `name` until then.
    #[pin]
    misc: MiscDeviceRegistration<RelayFile>,
    relay: Arc<Relay>,
    _name: CString,
}

impl RelayDevice {
    /// Registers `/dev/tsm_emu_mbox<index>` for `relay`.
    pub(crate) fn register(index: u16, relay: Arc<Relay>) -> Result<impl PinInit<Self, Error>> {
        let name = CString::try_from_fmt(fmt!("tsm_emu_mbox{index}"))?;
        // SAFETY: The characters live in `name`'s heap buffer, which stays where it is when
        // `name` moves into `Self`, and is freed only after `misc`, the only user of the
        // reference, is dropped (fields drop in declaration order).
        let registered: &'static CStr = unsafe { CStr::from_char_ptr(name.as_char_ptr()) };
        // `relay` is set before the device is registered: an open may come at once.
        Ok(try_pin_init!(Self {
            relay,
            _name: name,
            misc <- MiscDeviceRegistration::register(MiscDeviceOptions { name: registered }),
        }))
    }
}

/// An open of the character device: the relay and the staging buffers of each direction.
#[pin_data]
pub(crate) struct RelayFile {
    relay: Arc<Relay>,
    /// Request bytes on their way to user memory.
    #[pin]
    out: Mutex<KBox<[u8; FRAME_BYTES]>>,
    /// The response frame being written.
    #[pin]
    assembler: Mutex<Assembler>,
}

#[vtable]
impl MiscDevice for RelayFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let misc = core::ptr::from_ref(misc).cast_mut();
        // SAFETY: By the type invariant of `RelayDevice`, `misc` points at the `misc` field of
        // one, in the same allocation.
        let device = unsafe { kernel::container_of!(misc, RelayDevice, misc) };
        // SAFETY: The misc core calls `open` under `misc_mtx` while the registration is listed,
        // and deregistration, which `RelayDevice`'s drop does first, takes `misc_mtx`: the
        // device is alive for the whole call.
        let relay = unsafe { &(*device).relay }.clone();
        let out = KBox::init(pin_init::init_zeroed(), GFP_KERNEL)?;
        let assembler = Assembler::new()?;
        let file = KBox::pin_init(
            pin_init!(Self {
                relay,
                out <- new_mutex!(out),
                assembler <- new_mutex!(assembler),
            }),
            GFP_KERNEL,
        )?;
        file.relay.open()?;
        Ok(file)
    }

    fn release(device: Self::Ptr, _file: &File) {
        device.relay.release();
    }

    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let me = kiocb.file();
        let want = iov.len().min(FRAME_BYTES);
        if want == 0 {
            return Ok(0);
        }
        let mut out = me.out.lock_interruptible()?;
        loop {
            match me.relay.read_request(&mut out[..want]) {
                Ok(chunk) => {
                    let taken = iov.copy_to_iter(&out[..chunk.len]);
                    me.relay.consumed(chunk, taken);
                    return if taken == 0 { Err(EFAULT) } else { Ok(taken) };
                }
                Err(e) if e == EAGAIN => me.relay.wait()?,
                Err(e) => return Err(e),
            }
        }
    }

    fn write_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let me = kiocb.file();
        let mut assembler = me.assembler.lock_interruptible()?;
        let mut total = 0;
        while !iov.is_empty() {
            let n = iov.copy_from_iter(assembler.space());
            if n == 0 {
                return if total == 0 { Err(EFAULT) } else { Ok(total) };
            }
            total += n;
            match assembler.advance(n)? {
                Some(Frame::Answer(answer)) => me.relay.respond(answer),
                Some(Frame::DeviceIdeKm(object)) => {
                    me.relay.with_device_keys(|keys| keys.apply(object));
                }
                Some(Frame::MmioCompletion { tag, status }) => me.relay.mmio_completed(tag, status),
                None => {}
            }
        }
        Ok(total)
    }
}
