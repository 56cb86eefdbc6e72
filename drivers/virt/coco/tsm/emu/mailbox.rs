// SPDX-License-Identifier: GPL-2.0

//! A DOE mailbox (PCIe r6.x section 6.30, DOE extended capability registers) in front of a
//! pluggable responder.
//!
//! Host software writes a request object dword by dword into Write Data Mailbox, sets Go in DOE
//! Control, waits for Data Object Ready in DOE Status, then reads the response one dword at a
//! time from Read Data Mailbox, acknowledging each with a write to that register. Abort resets
//! the mailbox. The mailbox answers the Discovery protocol itself, from the list its
//! [`Responder`] declares, and hands every other declared object type to the responder; an
//! undeclared type, a malformed object or a responder failure sets Error.
//!
//! The responder runs when Go is written, inside the configuration write, so it runs in atomic
//! context: it must neither sleep nor allocate. Objects are limited to [`OBJECT_BYTES`].
//!
//! A mailbox in relay mode ([`Mailbox::relayed`]) answers Discovery itself too, but hands CMA and
//! secured CMA objects to a [`Relay`], that is to a device model in user space, and stays Busy
//! until the model's answer arrives; see [`crate::relay`].

use crate::relay::{Answer, Relay};
use kernel::{
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    },
};
use tsm_proto::{
    doe,
    spdm::{self, msg},
    wire::{self, Reader, Writer},
};

/// Largest request or response object the model buffers, header included: as much as QEMU's
/// DOE relay takes (`SPDM_SOCKET_MAX_MESSAGE_BUFFER_SIZE`).
pub(crate) const OBJECT_BYTES: usize = 0x1200;

/// The protocols of a CMA mailbox besides Discovery: CMA and secured CMA.
const CMA_PROTOCOLS: &[(u16, u8)] = &[
    (doe::PCI_SIG_VENDOR_ID, doe::TYPE_CMA),
    (doe::PCI_SIG_VENDOR_ID, doe::TYPE_SECURED_CMA),
];

/// Size of the DOE capability.
pub(crate) const CAP_SIZE: u16 = 0x18;

/// Offsets of the registers the mailbox serves (Control to Read Data Mailbox); the capability
/// header and the Capabilities register are plain read-only configuration space.
pub(crate) const REGS: core::ops::Range<u16> = doe::REG_CTRL..CAP_SIZE;

/// Answers the data objects of one device.
///
/// See the module documentation for the context `respond` runs in.
pub(crate) trait Responder: Send {
    /// The (vendor ID, object type) pairs answered besides Discovery, in discovery order.
    fn protocols(&self) -> &'static [(u16, u8)];

    /// Writes the response payload to the request payload `request` (dword padded) of
    /// `protocol`. An error leaves the mailbox in the Error state instead of answering.
    fn respond(
        &mut self,
        protocol: (u16, u8),
        request: &[u8],
        response: &mut Writer<'_>,
    ) -> wire::Result<()>;
}

/// Fault injected into every mailbox of the model, set through the bus device's `doe_fault`.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Fault {
    /// Requests are answered normally.
    None = 0,
    /// Go sets Error instead of answering.
    Error = 1,
    /// Go leaves the mailbox Busy without ever setting Data Object Ready, until an Abort.
    Timeout = 2,
}

static FAULT: Atomic<u32> = Atomic::new(Fault::None as u32);

impl Fault {
    /// Applies `self` to the requests sent from now on.
    pub(crate) fn set(self) {
        FAULT.store(self as u32, Relaxed);
    }

    fn current() -> Self {
        match FAULT.load(Relaxed) {
            1 => Self::Error,
            2 => Self::Timeout,
            _ => Self::None,
        }
    }
}

#[derive(pin_init::Zeroable)]
struct Buffers {
    request: [u8; OBJECT_BYTES],
    response: [u8; OBJECT_BYTES],
}

/// Who answers the objects other than Discovery.
enum Backend {
    /// A responder in the kernel, at Go.
    Local(KBox<dyn Responder>),
    /// A device model in user space, through a relay; CMA and secured CMA only.
    Relay(Arc<Relay>),
}

/// The state behind one DOE capability.
pub(crate) struct Mailbox {
    buffers: KBox<Buffers>,
    /// Bytes of the request written so far.
    request_len: usize,
    /// Bytes of the response object, and how many were acknowledged.
    response_len: usize,
    read_pos: usize,
    busy: bool,
    error: bool,
    backend: Backend,
}

impl Mailbox {
    pub(crate) fn new(responder: KBox<dyn Responder>) -> Result<Self> {
        Self::with_backend(Backend::Local(responder))
    }

    /// A CMA mailbox whose requests `relay` carries to a device model.
    pub(crate) fn relayed(relay: Arc<Relay>) -> Result<Self> {
        Self::with_backend(Backend::Relay(relay))
    }

    fn with_backend(backend: Backend) -> Result<Self> {
        Ok(Self {
            buffers: KBox::init(pin_init::init_zeroed(), GFP_KERNEL)?,
            request_len: 0,
            response_len: 0,
            read_pos: 0,
            busy: false,
            error: false,
            backend,
        })
    }

    fn ready(&self) -> bool {
        self.read_pos < self.response_len
    }

    /// Reads the register at `reg` (offset within the capability, dword aligned).
    pub(crate) fn read(&mut self, reg: u16) -> u32 {
        self.poll_relay();
        match reg {
            doe::REG_STATUS => {
                let mut status = 0;
                if self.busy {
                    status |= doe::STATUS_BUSY;
                }
                if self.error {
                    status |= doe::STATUS_ERROR;
                }
                if self.ready() {
                    status |= doe::STATUS_DATA_OBJECT_READY;
                }
                status
            }
            doe::REG_READ if self.ready() => {
                let b = &self.buffers.response[self.read_pos..self.read_pos + 4];
                u32::from_le_bytes([b[0], b[1], b[2], b[3]])
            }
            // Control: Abort and Go read as zero.
            _ => 0,
        }
    }

    /// Writes `value` to the register at `reg` (offset within the capability, dword aligned).
    pub(crate) fn write(&mut self, reg: u16, value: u32) {
        match reg {
            doe::REG_CTRL if value & doe::CTRL_ABORT != 0 => self.abort(),
            doe::REG_CTRL if value & doe::CTRL_GO != 0 => self.go(),
            doe::REG_WRITE if !self.busy => {
                if self.request_len + 4 > OBJECT_BYTES {
                    self.error = true;
                } else {
                    self.buffers.request[self.request_len..self.request_len + 4]
                        .copy_from_slice(&value.to_le_bytes());
                    self.request_len += 4;
                }
            }
            // Any write acknowledges the current dword and moves to the next one.
            doe::REG_READ if self.ready() => self.read_pos += 4,
            _ => {}
        }
    }

    /// Takes the relayed answer, if it has arrived, while the mailbox is Busy.
    fn poll_relay(&mut self) {
        let Backend::Relay(relay) = &self.backend else {
            return;
        };
        if !self.busy {
            return;
        }
        match relay.take_response(&mut self.buffers.response) {
            None => return,
            Some(Answer::Object(len)) => {
                self.response_len = len;
                self.read_pos = 0;
            }
            Some(Answer::Oversize) => self.error = true,
        }
        self.busy = false;
    }

    fn abort(&mut self) {
        if let Backend::Relay(relay) = &self.backend {
            relay.abort();
        }
        self.request_len = 0;
        self.response_len = 0;
        self.read_pos = 0;
        self.busy = false;
        self.error = false;
    }

    fn go(&mut self) {
        let request_len = core::mem::take(&mut self.request_len);
        if self.busy || self.error {
            return;
        }
        self.response_len = 0;
        self.read_pos = 0;
        match Fault::current() {
            Fault::None => {}
            Fault::Error => {
                self.error = true;
                return;
            }
            Fault::Timeout => {
                self.busy = true;
                return;
            }
        }
        let Buffers { request, response } = &mut *self.buffers;
        let request = &request[..request_len];
        let answered = match &mut self.backend {
            Backend::Local(responder) => answer(&mut **responder, request, response).map(Some),
            Backend::Relay(relay) => relay_or_discover(relay, request, response),
        };
        match answered {
            Ok(Some(len)) => self.response_len = len,
            // Relayed: Busy until the answer arrives.
            Ok(None) => self.busy = true,
            Err(_) => self.error = true,
        }
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        if let Backend::Relay(relay) = &self.backend {
            relay.close();
        }
    }
}

/// Answers a Discovery request `request` into `response` from `relay`'s protocols, or hands
/// any other object to `relay`: `None` then, as the answer comes later.
fn relay_or_discover(
    relay: &Relay,
    request: &[u8],
    response: &mut [u8],
) -> wire::Result<Option<usize>> {
    let (header, payload) = doe::decode_object(request)?;
    let protocol = (header.vendor_id, header.object_type);
    if protocol == (doe::PCI_SIG_VENDOR_ID, doe::TYPE_DISCOVERY) {
        return discover(CMA_PROTOCOLS, header, payload, response).map(Some);
    }
    if !CMA_PROTOCOLS.contains(&protocol) {
        return Err(wire::Error::UnexpectedCode(header.object_type));
    }
    relay
        .submit(request)
        .map_err(|_| wire::Error::InvalidField("relay"))?;
    Ok(None)
}

/// Answers the request object `request` into `response`; returns the response object's length.
fn answer(
    responder: &mut dyn Responder,
    request: &[u8],
    response: &mut [u8],
) -> wire::Result<usize> {
    let (header, payload) = doe::decode_object(request)?;
    let protocol = (header.vendor_id, header.object_type);
    if protocol == (doe::PCI_SIG_VENDOR_ID, doe::TYPE_DISCOVERY) {
        return discover(responder.protocols(), header, payload, response);
    }
    if !responder.protocols().contains(&protocol) {
        return Err(wire::Error::UnexpectedCode(header.object_type));
    }
    doe::encode_object_with(header.vendor_id, header.object_type, response, |w| {
        responder.respond(protocol, payload, w)
    })
}

/// Answers the Discovery request of `header` and `payload` into `response` from `list`, the
/// protocols besides Discovery; returns the response object's length.
fn discover(
    list: &[(u16, u8)],
    header: doe::Header,
    payload: &[u8],
    response: &mut [u8],
) -> wire::Result<usize> {
    let index = doe::DiscoveryRequest::read(&mut Reader::new(payload))?.index;
    // Entry 0 is Discovery itself, then the responder's protocols.
    let (vendor_id, object_type) = match usize::from(index) {
        0 => (doe::PCI_SIG_VENDOR_ID, doe::TYPE_DISCOVERY),
        i => *list.get(i - 1).ok_or(wire::Error::InvalidField("index"))?,
    };
    let next_index = if usize::from(index) < list.len() {
        index + 1
    } else {
        0
    };
    let entry = doe::DiscoveryResponse {
        vendor_id,
        object_type,
        next_index,
    };
    doe::encode_object_with(header.vendor_id, header.object_type, response, |w| {
        entry.write(w)
    })
}

/// The CMA responder of the model's devices: an SPDM responder that knows GET_VERSION only
/// (it answers SPDM 1.2) and rejects every other request with an SPDM ERROR
/// (UnsupportedRequest). Secured CMA objects are never answered, as no SPDM session can exist.
pub(crate) struct VersionResponder;

impl Responder for VersionResponder {
    fn protocols(&self) -> &'static [(u16, u8)] {
        CMA_PROTOCOLS
    }

    fn respond(
        &mut self,
        protocol: (u16, u8),
        request: &[u8],
        response: &mut Writer<'_>,
    ) -> wire::Result<()> {
        if protocol.1 != doe::TYPE_CMA {
            return Err(wire::Error::UnexpectedCode(protocol.1));
        }
        let header = msg::Header::peek(request)?;
        if header.code == spdm::code::GET_VERSION {
            msg::GetVersion::read(&mut Reader::new(request))?;
            // One VersionNumberEntry: 1.2 (major/minor in the high byte).
            return msg::Version {
                entries: &[0x00, spdm::VERSION_12],
            }
            .write(response);
        }
        msg::ErrorRsp {
            version: header.version,
            code: spdm::error_code::UNSUPPORTED_REQUEST,
            data: header.code,
            extended: &[],
        }
        .write(response)
    }
}
