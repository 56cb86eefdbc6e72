// SPDX-License-Identifier: GPL-2.0

//! The relay between a DOE mailbox and a device model in user space.
//!
//! In relay mode a [`Mailbox`](crate::mailbox::Mailbox) answers DOE Discovery itself and hands
//! every other request object to a [`Relay`]: on Go the object is copied into the relay's
//! preallocated buffer, the mailbox reports Busy and the reader is woken. A device model reads
//! the request through the platform's character device and writes the response back; the
//! mailbox clears Busy and sets Data Object Ready at the next read of one of its registers.
//!
//! Both directions use the framing of QEMU's spdm-socket backend, which `tools/tsm-devmodel`
//! speaks: three big-endian u32s, command ([`COMMAND_NORMAL`]), transport type
//! ([`TRANSPORT_PCI_DOE`]) and payload size, then the payload: one whole DOE object, header
//! included. A response of size 0 means "no answer": the mailbox stays Busy until the host's
//! DOE timeout aborts it. A response larger than the mailbox holds ([`OBJECT_BYTES`]) sets the
//! mailbox's Error bit.
//!
//! One more command goes from the model to the relay, a tsm-rs extension QEMU does not have:
//! [`COMMAND_DEVICE_IDE_KM`] carries an IDE_KM object (KEY_PROG, K_SET_GO, K_SET_STOP) the device
//! applied to its own IDE port, and the relay applies it to the DSM's keys ([`crate::ide_keys`]),
//! from which its IDE Stream Status registers are computed. The model sends it before the answer
//! to the request that carried the object. The other way, [`COMMAND_CONFIG_WRITE`] tells the
//! model that software wrote a register of a function whose locked configuration TDISP watches
//! (Command, a BAR): the platform plays the device's hardware, the model its firmware. Such a
//! frame goes out between request frames, never inside one, and needs no answer. The last value
//! of each BAR is also kept and sent to every model that opens the relay, so that it knows the
//! BARs assigned before it started (the MMIO a TDISP lock reports comes from them).
//!
//! [`COMMAND_MMIO_ACCESS`] hands the model a memory request one of the device's functions
//! decodes, the stand-in for a TLP ([`Relay::submit_mmio`]); the model answers with
//! [`COMMAND_MMIO_COMPLETION`], the Completion Status the device gives it: TDISP confines a
//! locked TDI to the MMIO ranges of its interface report. One such request is outstanding at a
//! time; it goes out between request frames too, and its submitter waits for the answer in
//! process context ([`Relay::await_mmio`]).
//!
//! The mailbox side ([`Relay::submit`], [`Relay::take_response`], [`Relay::abort`],
//! [`Relay::close`]) runs in atomic context, inside a configuration access under the PCI
//! core's raw `pci_lock`: the state is behind a raw spinlock, the buffers are allocated up
//! front, and the reader is woken through a completion, whose wait queue has a raw lock too.
//! The device model's side ([`Relay::read_request`], [`Relay::respond`], ...) runs in process
//! context; the character device copies to and from user memory outside the lock.
//!
//! Abort ends the exchange in progress: a request not read yet is dropped, a response written
//! later for it is discarded, and a request frame the model had read only in part makes the
//! model's next read fail with `ECANCELED` (the rest of that frame is gone).

use crate::{ide_keys::PortKeys, mailbox::OBJECT_BYTES};
use kernel::{
    prelude::*,
    sync::{
        new_condvar, new_mutex, new_raw_spinlock_irq, Arc, Completion, CondVar,
        CondVarTimeoutResult, Mutex, RawSpinLockIrq,
    },
    time::msecs_to_jiffies,
};

/// Command of a request or of its answer (QEMU's `SPDM_SOCKET_COMMAND_NORMAL`).
pub(crate) const COMMAND_NORMAL: u32 = 0x0001;
/// Command of a frame from the model carrying an IDE_KM object the device applied to its IDE port
/// (tsm-rs extension).
pub(crate) const COMMAND_DEVICE_IDE_KM: u32 = 0x8001;
/// Command of a frame to the model reporting a configuration write (tsm-rs extension). Payload:
/// the function's Routing ID, the register's offset (u16 each), the register's new value (u32),
/// all little-endian.
pub(crate) const COMMAND_CONFIG_WRITE: u32 = 0x8002;
/// Bytes of a configuration write frame.
const CONFIG_WRITE_FRAME: usize = HEADER_BYTES + 8;
/// Configuration writes queued for the model at most; more are dropped.
const MAX_CONFIG_WRITES: usize = 8;
/// BAR registers whose value is kept for the next model at most (the platform has two: the
/// Endpoint's 64-bit BAR 0); more are not kept.
const MAX_BARS: usize = 4;
/// Command of a frame to the model carrying a memory request (tsm-rs extension). Payload: a tag
/// (u32), the function's Routing ID (u16), flags (u16, bit 0: write), the address (u64) and the
/// length (u32), all little-endian.
pub(crate) const COMMAND_MMIO_ACCESS: u32 = 0x8003;
/// Bytes of a memory request frame.
const MMIO_ACCESS_FRAME: usize = HEADER_BYTES + 20;
/// Command of a frame from the model completing a memory request (tsm-rs extension). Payload:
/// the request's tag and the PCIe Completion Status (u32 each, little-endian).
pub(crate) const COMMAND_MMIO_COMPLETION: u32 = 0x8004;
/// Completion Status: Successful Completion.
const COMPLETION_SC: u32 = 0;
/// Transport type of DOE objects (QEMU's `SPDM_SOCKET_TRANSPORT_TYPE_PCI_DOE`).
pub(crate) const TRANSPORT_PCI_DOE: u32 = 0x0002;
/// Bytes of a frame header: command, transport type, payload size.
pub(crate) const HEADER_BYTES: usize = 12;
/// Largest frame: a header and a largest DOE object.
pub(crate) const FRAME_BYTES: usize = HEADER_BYTES + OBJECT_BYTES;

/// The header of a frame of `command` carrying `size` bytes.
fn frame_header(command: u32, size: usize) -> [u8; HEADER_BYTES] {
    let mut header = [0u8; HEADER_BYTES];
    header[0..4].copy_from_slice(&command.to_be_bytes());
    header[4..8].copy_from_slice(&TRANSPORT_PCI_DOE.to_be_bytes());
    // CAST: payloads are at most `OBJECT_BYTES` long.
    header[8..12].copy_from_slice(&(size as u32).to_be_bytes());
    header
}

/// Where the exchange in progress stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// No exchange: none started, it was aborted, or the model gave no answer.
    Idle,
    /// A request whose frame the model has read `sent` bytes of.
    Pending { sent: usize },
    /// The model has read the whole request and works on it.
    InFlight,
    /// The model answered; the mailbox has not taken the answer yet.
    Answered(Answer),
}

/// What the model answered.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Answer {
    /// A DOE object of this many bytes (in the response buffer).
    Object(usize),
    /// An object larger than the mailbox holds.
    Oversize,
}

#[derive(pin_init::Zeroable)]
struct Buffers {
    request: [u8; OBJECT_BYTES],
    response: [u8; OBJECT_BYTES],
}

struct Channel {
    buffers: KBox<Buffers>,
    request_len: usize,
    phase: Phase,
    /// Counts submitted requests, so that a read finished after an Abort is recognised.
    seq: u64,
    /// An Abort cut a request frame the model had read in part.
    torn: bool,
    /// A device model has the character device open.
    open: bool,
    /// The mailbox is gone: every read fails.
    closed: bool,
    /// The keys the device model programmed into the DSM's IDE port.
    device_keys: KBox<PortKeys>,
    /// Configuration write frames waiting for the model, oldest first.
    config_writes: [[u8; CONFIG_WRITE_FRAME]; MAX_CONFIG_WRITES],
    config_write_count: usize,
    /// Bytes of the oldest one the model has read.
    config_write_sent: usize,
    /// The BAR registers that do not read zero: Routing ID, offset, value.
    bars: [(u16, u16, u32); MAX_BARS],
    bar_count: usize,
}

impl Channel {
    fn frame_len(&self) -> usize {
        HEADER_BYTES + self.request_len
    }

    /// Queues a configuration write frame for the model, if there is room.
    fn queue_config_write(&mut self, rid: u16, offset: u16, value: u32) {
        if self.config_write_count == MAX_CONFIG_WRITES {
            return;
        }
        let mut frame = [0u8; CONFIG_WRITE_FRAME];
        frame[..HEADER_BYTES].copy_from_slice(&frame_header(COMMAND_CONFIG_WRITE, 8));
        frame[12..14].copy_from_slice(&rid.to_le_bytes());
        frame[14..16].copy_from_slice(&offset.to_le_bytes());
        frame[16..20].copy_from_slice(&value.to_le_bytes());
        let at = self.config_write_count;
        self.config_writes[at] = frame;
        self.config_write_count += 1;
    }

    /// Keeps `value`, just written to the register at `offset` of `rid`, if that is a BAR.
    fn keep_bar(&mut self, rid: u16, offset: u16, value: u32) {
        // BAR 0 to 5: 0x10 to 0x24.
        if !(0x10..=0x24).contains(&offset) {
            return;
        }
        let count = self.bar_count;
        let known = self.bars[..count]
            .iter()
            .position(|&(r, o, _)| r == rid && o == offset);
        match known {
            // A register that reads zero needs no replay: zero is every BAR's reset value.
            Some(at) if value == 0 => {
                self.bars.copy_within(at + 1..count, at);
                self.bar_count -= 1;
            }
            Some(at) => self.bars[at].2 = value,
            None if value != 0 && count < MAX_BARS => {
                self.bars[count] = (rid, offset, value);
                self.bar_count += 1;
            }
            None => {}
        }
    }
}

/// A memory request for the model to complete.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MmioAccess {
    /// The Routing ID of the function whose BAR decodes it.
    pub(crate) rid: u16,
    pub(crate) address: u64,
    /// Bytes.
    pub(crate) len: u32,
    pub(crate) write: bool,
}

/// The outstanding memory request.
struct Probe {
    frame: [u8; MMIO_ACCESS_FRAME],
    /// `frame` waits for the model or is being read.
    queued: bool,
    /// Bytes of `frame` the model has read.
    sent: usize,
    /// Tag of the request whose completion is awaited.
    waiting: Option<u32>,
    /// Its completion, once the model sent it: successful or not.
    completed: Option<bool>,
    /// Tag of the last request submitted.
    tag: u32,
}

/// What a [`Chunk`] is part of.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// The request frame.
    Request,
    /// The oldest configuration write frame.
    ConfigWrite,
    /// The memory request frame.
    MmioAccess,
}

/// A part of the pending request frame that [`Relay::read_request`] copied out; hand it to
/// [`Relay::consumed`] with the number of bytes the reader actually took.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chunk {
    /// Bytes copied.
    pub(crate) len: usize,
    kind: Kind,
    /// The request's sequence number, or the memory request's tag.
    seq: u64,
    offset: usize,
    frame_len: usize,
}

/// The relay of one DOE mailbox: the pending exchange and the wake-up of its reader.
#[pin_data]
pub(crate) struct Relay {
    #[pin]
    channel: RawSpinLockIrq<Channel>,
    /// Completed once per submitted request and for good when the mailbox goes away.
    #[pin]
    doorbell: Completion,
    /// The outstanding memory request (process context only; taken before `channel`).
    #[pin]
    probe: Mutex<Probe>,
    /// Notified when a memory request's completion arrives.
    #[pin]
    probe_done: CondVar,
}

impl Relay {
    /// A relay with no exchange and no reader.
    pub(crate) fn new() -> Result<Arc<Self>> {
        let channel = Channel {
            buffers: KBox::init(pin_init::init_zeroed(), GFP_KERNEL)?,
            request_len: 0,
            phase: Phase::Idle,
            seq: 0,
            torn: false,
            open: false,
            closed: false,
            device_keys: PortKeys::new()?,
            config_writes: [[0; CONFIG_WRITE_FRAME]; MAX_CONFIG_WRITES],
            config_write_count: 0,
            config_write_sent: 0,
            bars: [(0, 0, 0); MAX_BARS],
            bar_count: 0,
        };
        let probe = Probe {
            frame: [0; MMIO_ACCESS_FRAME],
            queued: false,
            sent: 0,
            waiting: None,
            completed: None,
            tag: 0,
        };
        Arc::pin_init(
            pin_init!(Self {
                channel <- new_raw_spinlock_irq!(channel),
                doorbell <- Completion::new(),
                probe <- new_mutex!(probe),
                probe_done <- new_condvar!(),
            }),
            GFP_KERNEL,
        )
    }

    // The mailbox side: atomic context, nothing sleeps or allocates.

    /// Hands the request object `object` to the model and wakes the reader; `ENODEV` once the
    /// relay is closed, `EMSGSIZE` for an object the buffer cannot hold.
    pub(crate) fn submit(&self, object: &[u8]) -> Result {
        {
            let mut ch = self.channel.lock();
            if ch.closed {
                return Err(ENODEV);
            }
            let buf = ch.buffers.request.get_mut(..object.len()).ok_or(EMSGSIZE)?;
            buf.copy_from_slice(object);
            ch.request_len = object.len();
            ch.phase = Phase::Pending { sent: 0 };
            ch.seq = ch.seq.wrapping_add(1);
        }
        self.doorbell.complete();
        Ok(())
    }

    /// The model's answer, copied to `response` and padded with zeros to whole dwords: the
    /// object's padded length, or `Oversize`; `None` while there is no answer.
    pub(crate) fn take_response(&self, response: &mut [u8]) -> Option<Answer> {
        let mut ch = self.channel.lock();
        let Phase::Answered(answer) = ch.phase else {
            return None;
        };
        ch.phase = Phase::Idle;
        Some(match answer {
            Answer::Object(len) => {
                let padded = len.next_multiple_of(4);
                match response.get_mut(..padded) {
                    Some(out) => {
                        out[..len].copy_from_slice(&ch.buffers.response[..len]);
                        out[len..].fill(0);
                        Answer::Object(padded)
                    }
                    None => Answer::Oversize,
                }
            }
            Answer::Oversize => Answer::Oversize,
        })
    }

    /// Ends the exchange in progress (DOE Abort).
    pub(crate) fn abort(&self) {
        let mut ch = self.channel.lock();
        if let Phase::Pending { sent } = ch.phase {
            if sent > 0 {
                ch.torn = true;
            }
        }
        ch.phase = Phase::Idle;
    }

    /// The mailbox goes away: ends the exchange and fails every read from now on.
    pub(crate) fn close(&self) {
        {
            let mut ch = self.channel.lock();
            ch.closed = true;
            ch.phase = Phase::Idle;
        }
        self.doorbell.complete_all();
    }

    /// Software wrote `value` to the register at `offset` of the function `rid`: queued for the
    /// model while one has the relay open, and kept for the next one if a BAR (atomic context).
    pub(crate) fn config_written(&self, rid: u16, offset: u16, value: u32) {
        {
            let mut ch = self.channel.lock();
            ch.keep_bar(rid, offset, value);
            if !ch.open || ch.closed {
                return;
            }
            ch.queue_config_write(rid, offset, value);
        }
        self.doorbell.complete();
    }

    /// Runs `f` on the keys the device model programmed (any context).
    pub(crate) fn with_device_keys<R>(&self, f: impl FnOnce(&mut PortKeys) -> R) -> R {
        f(&mut self.channel.lock().device_keys)
    }

    // The device model's side: process context.

    /// A device model opens the relay: `EBUSY` while another one has it, `ENODEV` once closed.
    pub(crate) fn open(&self) -> Result {
        let mut ch = self.channel.lock();
        if ch.closed {
            return Err(ENODEV);
        }
        if ch.open {
            return Err(EBUSY);
        }
        ch.open = true;
        ch.torn = false;
        // The new model learns the BARs assigned so far, as if they were written now.
        for at in 0..ch.bar_count {
            let (rid, offset, value) = ch.bars[at];
            ch.queue_config_write(rid, offset, value);
        }
        Ok(())
    }

    /// The device model closes the relay. A request frame it read in part is offered whole to
    /// the next one.
    pub(crate) fn release(&self) {
        let mut probe = self.probe.lock();
        // A memory request frame read in part goes whole to the next model, if still awaited.
        probe.sent = 0;
        if probe.waiting.is_none() {
            probe.queued = false;
        }
        let mut ch = self.channel.lock();
        ch.open = false;
        ch.torn = false;
        // Configuration writes concern the model that had the relay open.
        ch.config_write_count = 0;
        ch.config_write_sent = 0;
        if let Phase::Pending { .. } = ch.phase {
            ch.phase = Phase::Pending { sent: 0 };
        }
    }

    /// Copies the next bytes of the pending request frame into `out`, without consuming them
    /// (see [`Relay::consumed`]). `EAGAIN` when there is nothing to read, `ECANCELED` once after
    /// an Abort cut a frame being read, `ENODEV` once closed.
    pub(crate) fn read_request(&self, out: &mut [u8]) -> Result<Chunk> {
        let probe = self.probe.lock();
        let mut ch = self.channel.lock();
        if ch.closed {
            return Err(ENODEV);
        }
        if core::mem::take(&mut ch.torn) {
            return Err(ECANCELED);
        }
        // A frame read in part is finished first; then configuration writes, the memory
        // request and the DOE request, in that order.
        let mid_request = matches!(ch.phase, Phase::Pending { sent } if sent > 0);
        let mid_probe = probe.queued && probe.sent > 0;
        if ch.config_write_count > 0 && !mid_request && !mid_probe {
            let sent = ch.config_write_sent;
            let len = out.len().min(CONFIG_WRITE_FRAME - sent);
            out[..len].copy_from_slice(&ch.config_writes[0][sent..sent + len]);
            return Ok(Chunk {
                len,
                kind: Kind::ConfigWrite,
                seq: ch.seq,
                offset: sent,
                frame_len: CONFIG_WRITE_FRAME,
            });
        }
        if probe.queued && !mid_request {
            let sent = probe.sent;
            let len = out.len().min(MMIO_ACCESS_FRAME - sent);
            out[..len].copy_from_slice(&probe.frame[sent..sent + len]);
            return Ok(Chunk {
                len,
                kind: Kind::MmioAccess,
                seq: probe.tag.into(),
                offset: sent,
                frame_len: MMIO_ACCESS_FRAME,
            });
        }
        let Phase::Pending { sent } = ch.phase else {
            return Err(EAGAIN);
        };
        let frame_len = ch.frame_len();
        let len = out.len().min(frame_len - sent);
        let header = frame_header(COMMAND_NORMAL, ch.request_len);
        for (i, byte) in out[..len].iter_mut().enumerate() {
            let at = sent + i;
            *byte = match header.get(at) {
                Some(b) => *b,
                None => ch.buffers.request[at - HEADER_BYTES],
            };
        }
        Ok(Chunk {
            len,
            kind: Kind::Request,
            seq: ch.seq,
            offset: sent,
            frame_len,
        })
    }

    /// The reader took `taken` bytes of `chunk`. If the exchange was aborted meanwhile and the
    /// reader holds part of a frame only, its next read fails with `ECANCELED`.
    pub(crate) fn consumed(&self, chunk: Chunk, taken: usize) {
        let end = chunk.offset + taken.min(chunk.len);
        if chunk.kind == Kind::MmioAccess {
            let mut probe = self.probe.lock();
            if probe.queued && u64::from(probe.tag) == chunk.seq && probe.sent == chunk.offset {
                probe.sent = end;
                if end == MMIO_ACCESS_FRAME {
                    probe.queued = false;
                    probe.sent = 0;
                }
            } else if end != chunk.frame_len && end > 0 {
                // The request was given up meanwhile: the reader holds part of a frame.
                self.channel.lock().torn = true;
            }
            return;
        }
        let mut ch = self.channel.lock();
        if chunk.kind == Kind::ConfigWrite {
            // Only the reader removes queued frames: the oldest is still the one it read.
            ch.config_write_sent = end;
            if end == CONFIG_WRITE_FRAME {
                ch.config_writes.copy_within(1.., 0);
                ch.config_write_count -= 1;
                ch.config_write_sent = 0;
            }
            return;
        }
        if ch.seq == chunk.seq && ch.phase == (Phase::Pending { sent: chunk.offset }) {
            ch.phase = if end == chunk.frame_len {
                Phase::InFlight
            } else {
                Phase::Pending { sent: end }
            };
        } else if end != chunk.frame_len && end > 0 {
            ch.torn = true;
        }
    }

    /// Queues the memory request `access` for the model and wakes the reader; returns its tag
    /// for [`Relay::await_mmio`]. `EBUSY` while another one is outstanding, `ENODEV` once the
    /// relay is closed.
    pub(crate) fn submit_mmio(&self, access: MmioAccess) -> Result<u32> {
        let tag = {
            let mut probe = self.probe.lock();
            if probe.waiting.is_some() || probe.queued {
                return Err(EBUSY);
            }
            if self.channel.lock().closed {
                return Err(ENODEV);
            }
            let tag = probe.tag.wrapping_add(1);
            let f = &mut probe.frame;
            f[..HEADER_BYTES].copy_from_slice(&frame_header(COMMAND_MMIO_ACCESS, 20));
            f[12..16].copy_from_slice(&tag.to_le_bytes());
            f[16..18].copy_from_slice(&access.rid.to_le_bytes());
            f[18..20].copy_from_slice(&u16::from(access.write).to_le_bytes());
            f[20..28].copy_from_slice(&access.address.to_le_bytes());
            f[28..32].copy_from_slice(&access.len.to_le_bytes());
            probe.tag = tag;
            probe.queued = true;
            probe.sent = 0;
            probe.waiting = Some(tag);
            probe.completed = None;
            tag
        };
        self.doorbell.complete();
        Ok(tag)
    }

    /// Waits up to `timeout_ms` for the completion of the memory request `tag`: whether it was
    /// successful. `ETIMEDOUT` when none came (the request is given up), `ERESTARTSYS` on a
    /// signal, `EINVAL` for a tag not awaited.
    pub(crate) fn await_mmio(&self, tag: u32, timeout_ms: u32) -> Result<bool> {
        let mut probe = self.probe.lock();
        let mut left = msecs_to_jiffies(timeout_ms);
        loop {
            if probe.waiting != Some(tag) {
                return Err(EINVAL);
            }
            if let Some(successful) = probe.completed.take() {
                probe.waiting = None;
                return Ok(successful);
            }
            let error = match self.probe_done.wait_interruptible_timeout(&mut probe, left) {
                CondVarTimeoutResult::Woken { jiffies } => {
                    left = jiffies;
                    continue;
                }
                CondVarTimeoutResult::Timeout => ETIMEDOUT,
                CondVarTimeoutResult::Signal { .. } => ERESTARTSYS,
            };
            if probe.completed.is_none() {
                probe.waiting = None;
                // A frame the model has begun to read is finished; its answer is dropped.
                if probe.sent == 0 {
                    probe.queued = false;
                }
                return Err(error);
            }
        }
    }

    /// The model completed the memory request `tag` with Completion Status `status`; a
    /// completion of a request not awaited is dropped.
    pub(crate) fn mmio_completed(&self, tag: u32, status: u32) {
        let mut probe = self.probe.lock();
        if probe.waiting == Some(tag) && probe.completed.is_none() {
            probe.completed = Some(status == COMPLETION_SC);
            self.probe_done.notify_all();
        }
    }

    /// Waits until a request may be pending or the relay is closed; `ERESTARTSYS` on a signal.
    /// It may return with nothing to read: call [`Relay::read_request`] again.
    pub(crate) fn wait(&self) -> Result {
        self.doorbell.wait_for_completion_interruptible()
    }

    /// The model's answer to the request it read. An answer to a request that was aborted
    /// meanwhile, or when none was asked, is discarded. An empty object is "no answer".
    pub(crate) fn respond(&self, answer: Result<&[u8], Oversized>) {
        let mut ch = self.channel.lock();
        if ch.phase != Phase::InFlight {
            return;
        }
        ch.phase = match answer {
            Ok([]) => Phase::Idle,
            Ok(object) => match ch.buffers.response.get_mut(..object.len()) {
                Some(buf) => {
                    buf.copy_from_slice(object);
                    Phase::Answered(Answer::Object(object.len()))
                }
                None => Phase::Answered(Answer::Oversize),
            },
            Err(Oversized) => Phase::Answered(Answer::Oversize),
        };
    }
}

/// A frame from the model.
pub(crate) enum Frame<'a> {
    /// The answer to the pending request.
    Answer(Result<&'a [u8], Oversized>),
    /// An IDE_KM object the device applied to its IDE port.
    DeviceIdeKm(&'a [u8]),
    /// The completion of a memory request: its tag and the Completion Status.
    MmioCompletion { tag: u32, status: u32 },
}

/// The model answered with an object larger than the mailbox holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Oversized;

/// Assembles the model's response frames from its writes, which may split or join frames
/// anywhere.
pub(crate) struct Assembler {
    header: [u8; HEADER_BYTES],
    /// Bytes of the current frame received so far.
    have: usize,
    /// Command of the current frame, once the header is complete.
    command: u32,
    /// Payload size, once the header is complete.
    size: usize,
    payload: KBox<[u8; OBJECT_BYTES]>,
}

impl Assembler {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            header: [0; HEADER_BYTES],
            have: 0,
            command: COMMAND_NORMAL,
            size: 0,
            payload: KBox::init(pin_init::init_zeroed(), GFP_KERNEL)?,
        })
    }

    /// Where the next bytes of the stream go: the rest of the header, or of the payload (the
    /// bytes of an oversized payload are received and dropped).
    pub(crate) fn space(&mut self) -> &mut [u8] {
        if self.have < HEADER_BYTES {
            return &mut self.header[self.have..];
        }
        let got = self.have - HEADER_BYTES;
        if self.size <= OBJECT_BYTES {
            &mut self.payload[got..self.size]
        } else {
            let rest = (self.size - got).min(OBJECT_BYTES);
            &mut self.payload[..rest]
        }
    }

    /// `n` bytes were written to [`Assembler::space`]. Returns the frame when it is complete;
    /// `EINVAL` for a header other than a DOE answer, IDE_KM or memory completion frame (the
    /// frame is dropped), and for a malformed one of the last two.
    pub(crate) fn advance(&mut self, n: usize) -> Result<Option<Frame<'_>>> {
        self.have += n;
        if self.have == HEADER_BYTES {
            let word = |i: usize| {
                let b = &self.header[4 * i..4 * i + 4];
                u32::from_be_bytes([b[0], b[1], b[2], b[3]])
            };
            self.command = word(0);
            if !matches!(
                self.command,
                COMMAND_NORMAL | COMMAND_DEVICE_IDE_KM | COMMAND_MMIO_COMPLETION
            ) || word(1) != TRANSPORT_PCI_DOE
            {
                self.have = 0;
                return Err(EINVAL);
            }
            self.size = usize::try_from(word(2)).map_err(|_| EINVAL)?;
        }
        if self.have < HEADER_BYTES || self.have < HEADER_BYTES + self.size {
            return Ok(None);
        }
        self.have = 0;
        let payload = if self.size <= OBJECT_BYTES {
            Ok(&self.payload[..self.size])
        } else {
            Err(Oversized)
        };
        Ok(Some(match (self.command, payload) {
            (COMMAND_DEVICE_IDE_KM, Ok(object)) => Frame::DeviceIdeKm(object),
            // An IDE_KM object is small: an oversized one is malformed.
            (COMMAND_DEVICE_IDE_KM, Err(Oversized)) => return Err(EINVAL),
            (COMMAND_MMIO_COMPLETION, Ok(&[t0, t1, t2, t3, s0, s1, s2, s3])) => {
                Frame::MmioCompletion {
                    tag: u32::from_le_bytes([t0, t1, t2, t3]),
                    status: u32::from_le_bytes([s0, s1, s2, s3]),
                }
            }
            (COMMAND_MMIO_COMPLETION, _) => return Err(EINVAL),
            (_, answer) => Frame::Answer(answer),
        }))
    }
}
