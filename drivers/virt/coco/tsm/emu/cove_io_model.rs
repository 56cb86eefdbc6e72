// SPDX-License-Identifier: GPL-2.0

//! A firmware model of a RISC-V CoVE TSM's CoVE-IO host functions (SBI extension COVH), for the
//! emulated TDISP platform.
//!
//! It executes the COVH functions of the CoVE-IO draft, revision 0.3.0, as
//! `tsm_proto::vendor::cove_io` encodes them, answering with the SBI error codes:
//! `connect_device` (1024), `disconnect_device` (1025) and `get_device_connection_transcript`
//! (1034). The TVM functions (`add_tvm_interface_region`, `reclaim_tvm_interface_region`,
//! `bind_interface`, `unbind_interface`) and `spdm_key_update`, `ide_key_refresh` and
//! `spdm_heartbeat` answer `SBI_ERR_NOT_SUPPORTED`: the platform has no TVMs, and the kernel's
//! SPDM requester has no KEY_UPDATE or HEARTBEAT.
//!
//! Like a TSM, the model is the SPDM requester and cannot reach the device itself: a function
//! that needs the device runs as a firmware job (on a workqueue, with the kernel's SPDM
//! requester `tsm_spdm::Connection`), and each DOE object the job sends is put into the
//! device's pending SPDM transaction buffer (FUNCTION_ID, DEVICE_ID, SPDM_PAYLOAD_LENGTH,
//! payload), the call returning `SBI_SUCCESS` with `SPDM_PENDING_REQUEST`. The host sends the
//! payload to the device, writes the answer into the same buffer and repeats the same call,
//! which gives the answer to the job; the call that finds the job ended returns its error with
//! `SPDM_REQUEST_COMPLETED`. One transaction may be pending per device: another function on
//! it gets `SBI_ERR_INVALID_STATE`, except `disconnect_device`, which abandons it.
//!
//! `connect_device` authenticates the device, opens a secure session and keys the stream of
//! the IDE stream descriptor at both ends (the device over IDE_KM in the session, the Root Port
//! through the platform's key port: `platform_fw.rs`), then writes the connection transcript
//! (certificate chain, VCA, signed measurements) to the output buffer; `disconnect_device`
//! stops the keys and ends the session; the state is cleared even if the device does not
//! answer (then `SBI_ERR_FAILED`).
//!
//! Memory: the model stands for the TSM's view of physical memory. Buffers the host allocates
//! through the model get addresses of their own; an address the model did not hand out, or an
//! output buffer that is not 4 KiB aligned, gets `SBI_ERR_INVALID_ADDRESS`; a size beyond the
//! buffer or too small for the transcript, a malformed descriptor or an unknown `device_id`
//! `SBI_ERR_INVALID_PARAM`; a function in the wrong state `SBI_ERR_INVALID_STATE`. The pending
//! buffers stand for the CoVE NACL shared memory, one per device.
//!
//! Not modelled: TVMs and TDIs, the IDE stream descriptor's address association (all memory),
//! certificate slots other than 0, SPDM key exhaustion (`SBI_ERR_KEY_UPDATE_REQUIRED`).

use crate::{
    fw_job,
    platform_fw::{self, on_platform},
};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::{
    alloc::{KVVec, KVec},
    new_mutex, pci,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex},
};
use tsm_proto::{
    vendor::cove_io::{
        self, covh, element, IdeStreamDesc, PendingRequest, SbiCall, SbiError, Transcript,
        TranscriptElement, COVE_IO_VERSION, EID_COVH, SPDM_PENDING_REQUEST, SPDM_REQUEST_COMPLETED,
        TRANSCRIPT_HEADER_LEN,
    },
    wire,
};
use tsm_spdm::Connection;

const PAGE: usize = 0x1000;
/// Largest buffer the model hands out.
pub(crate) const MAX_BUFFER: usize = 16 * PAGE;
/// Bytes of a device's pending SPDM transaction buffer.
const PENDING_LEN: usize = PAGE;

/// Faults the model injects.
#[derive(Clone, Copy, Default)]
pub(crate) struct Faults {
    /// COVH function ID whose next call (not a repeat of a pending one) fails at entry (0: none).
    pub(crate) fid: u32,
    /// The SBI error it fails with.
    pub(crate) error: i64,
    /// connect_device's exchange of this number fails, as a device error would: the model
    /// still cleans up through the relay (0: never).
    pub(crate) relay: u32,
    /// A key-programming step at which connect_device fails (1: after the device's KEY_PROGs,
    /// 2: before K_SET_GO; 0: none).
    pub(crate) key_step: u32,
}

/// A buffer of the model's memory, shared by the host's handle and the model.
pub(crate) type Memory = Arc<Mutex<KVVec<u8>>>;

/// One allocation: its address and bytes.
struct Region {
    addr: u64,
    memory: Memory,
}

/// What the TSM keeps for a connected device.
struct Connected {
    spdm: Connection,
    stream_id: u8,
    transcript: KVVec<u8>,
}

/// A device the host named in a call.
struct Dev {
    device_id: u32,
    pdev: ARef<pci::Device>,
    link: Option<Connected>,
    /// A function waiting for the host to relay an SPDM request, and its job.
    pending: Option<(u32, Arc<Relay>)>,
    /// The pending SPDM transaction buffer.
    buffer: KVVec<u8>,
}

impl Drop for Dev {
    fn drop(&mut self) {
        if let Some((_, relay)) = self.pending.take() {
            drop(relay.abandon());
        }
    }
}

struct State {
    regions: KVec<Region>,
    devices: KVec<Dev>,
}

/// The CoVE-IO firmware model.
#[pin_data]
pub(crate) struct Model {
    #[pin]
    state: Mutex<State>,
    faults: Faults,
    /// `faults.fid` has failed its call.
    fired: AtomicBool,
}

/// The next address the model hands out (far from any real memory so a mix-up shows).
static NEXT_ADDR: AtomicU64 = AtomicU64::new(0xF_0000_0000_0000);

/// How a job ended.
struct JobEnd {
    error: SbiError,
    link: Option<Connected>,
}

type Relay = fw_job::Relay<JobEnd>;
type RelayDoe<'a> = fw_job::RelayDoe<'a, JobEnd>;
type Exchange = fw_job::Exchange<JobEnd>;

/// An SBI result of a model step: the `value` of a successful call, else the error.
type Sbi<T> = core::result::Result<T, SbiError>;

/// What a call's relay step came to.
enum Step {
    /// A request is in the pending buffer.
    Pending,
    /// The job ended.
    Done(JobEnd),
}

impl Model {
    /// A model with `faults`.
    pub(crate) fn new(faults: Faults) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                state <- new_mutex!(State {
                    regions: KVec::new(),
                    devices: KVec::new(),
                }),
                faults,
                fired: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        )
    }

    /// Allocates `len` bytes of the model's memory shared with the host.
    pub(crate) fn alloc(&self, len: usize) -> Result<(u64, Memory)> {
        if len > MAX_BUFFER {
            return Err(ENOSPC);
        }
        let memory = Arc::pin_init(
            new_mutex!(KVVec::from_elem(0u8, len, GFP_KERNEL)?),
            GFP_KERNEL,
        )?;
        let pages = len.div_ceil(PAGE).max(1) as u64;
        let addr = NEXT_ADDR.fetch_add(pages * PAGE as u64, Ordering::Relaxed);
        let region = Region {
            addr,
            memory: memory.clone(),
        };
        self.state.lock().regions.push(region, GFP_KERNEL)?;
        Ok((addr, memory))
    }

    /// Returns the allocation at `addr` to the host (the TSM no longer sees it).
    pub(crate) fn free(&self, addr: u64) {
        let mut state = self.state.lock();
        if let Some(i) = state.regions.iter().position(|r| r.addr == addr) {
            let _ = state.regions.remove(i);
        }
    }

    /// Copies the pending SPDM transaction buffer of `device_id` into `out`.
    pub(crate) fn read_pending(&self, device_id: u32, out: &mut [u8]) -> Result {
        let state = self.state.lock();
        let dev = state.devices.iter().find(|d| d.device_id == device_id);
        let buffer = &dev.ok_or(ENODEV)?.buffer;
        out.copy_from_slice(buffer.get(..out.len()).ok_or(EINVAL)?);
        Ok(())
    }

    /// Writes `data` to the start of the pending SPDM transaction buffer of `device_id`.
    pub(crate) fn write_pending(&self, device_id: u32, data: &[u8]) -> Result {
        let mut state = self.state.lock();
        let dev = state.devices.iter_mut().find(|d| d.device_id == device_id);
        let buffer = &mut dev.ok_or(ENODEV)?.buffer;
        buffer
            .get_mut(..data.len())
            .ok_or(EINVAL)?
            .copy_from_slice(data);
        Ok(())
    }

    /// Executes `call` and returns `sbiret` (error, value).
    pub(crate) fn call(&self, call: &SbiCall) -> (SbiError, u64) {
        if call.eid != EID_COVH {
            return (SbiError::NotSupported, 0);
        }
        let mut state = self.state.lock();
        match self.execute(&mut state, call) {
            Ok(value) => (SbiError::Success, value),
            Err(error) => (error, SPDM_REQUEST_COMPLETED),
        }
    }

    fn execute(&self, state: &mut State, call: &SbiCall) -> Sbi<u64> {
        let fid = call.fid;
        let known = matches!(
            fid,
            covh::CONNECT_DEVICE | covh::DISCONNECT_DEVICE | covh::GET_CONNECTION_TRANSCRIPT
        );
        if !known {
            return Err(SbiError::NotSupported);
        }
        // A function whose request is being relayed is not failed again on its repeat.
        let repeat = state.devices.iter().any(|d| {
            u64::from(d.device_id) == call.args[0]
                && d.pending.as_ref().is_some_and(|(f, _)| *f == fid)
        });
        if self.faults.fid == fid && !repeat && !self.fired.swap(true, Ordering::Relaxed) {
            return Err(SbiError::from_raw(self.faults.error));
        }
        let a = call.args;
        match fid {
            covh::CONNECT_DEVICE => self.connect(state, a[0], a[1], a[2], a[3]),
            covh::DISCONNECT_DEVICE => self.disconnect(state, a[0]),
            _ => Self::transcript(state, a[0], a[1], a[2]),
        }
    }

    /// The device of `device_id`, known from an earlier call or found on the platform.
    fn device(devices: &mut KVec<Dev>, device_id: u64) -> Sbi<&mut Dev> {
        let device_id = u32::try_from(device_id).map_err(|_| SbiError::InvalidParam)?;
        if let Some(i) = devices.iter().position(|d| d.device_id == device_id) {
            return Ok(&mut devices[i]);
        }
        let mut found: Option<ARef<pci::Device>> = None;
        pci::for_each_device(false, |pdev| {
            let id = cove_io::device_id(pdev.domain(), pdev.dev_id());
            if found.is_none() && on_platform(pdev) && id == device_id {
                found = Some(pdev.into());
            }
        });
        let dev = Dev {
            device_id,
            pdev: found.ok_or(SbiError::InvalidParam)?,
            link: None,
            pending: None,
            buffer: KVVec::from_elem(0u8, PENDING_LEN, GFP_KERNEL)
                .map_err(|_| SbiError::NoShmem)?,
        };
        devices
            .push(dev, GFP_KERNEL)
            .map_err(|_| SbiError::Failed)?;
        let last = devices.len() - 1;
        Ok(&mut devices[last])
    }

    /// The memory at `addr` (the start of a buffer the model handed out).
    fn region(regions: &KVec<Region>, addr: u64) -> Sbi<Memory> {
        regions
            .iter()
            .find(|r| r.addr == addr)
            .map(|r| r.memory.clone())
            .ok_or(SbiError::InvalidAddress)
    }

    /// An output buffer: 4 KiB aligned, handed out, at least `size` bytes.
    fn output(regions: &KVec<Region>, addr: u64, size: u64) -> Sbi<Memory> {
        if addr % PAGE as u64 != 0 {
            return Err(SbiError::InvalidAddress);
        }
        let memory = Self::region(regions, addr)?;
        if size > memory.lock().len() as u64 {
            return Err(SbiError::InvalidParam);
        }
        Ok(memory)
    }

    /// Writes `transcript` with its header into the output buffer (`size` bytes of it).
    fn write_transcript(memory: &Memory, size: u64, transcript: &[u8]) -> Sbi<()> {
        if (TRANSCRIPT_HEADER_LEN + transcript.len()) as u64 > size {
            return Err(SbiError::InvalidParam);
        }
        let t = Transcript {
            version: COVE_IO_VERSION,
            data: transcript,
        };
        let mut out = memory.lock();
        wire::encode_into(&mut out, |w| t.write(w)).map_err(|_| SbiError::InvalidParam)?;
        Ok(())
    }

    /// The host's answer to the pending request of `fid` on `dev`, given to its job.
    fn repeat(dev: &mut Dev, fid: u32) -> Sbi<Arc<Relay>> {
        let answer = {
            let p = PendingRequest::decode(&dev.buffer).map_err(|_| SbiError::InvalidParam)?;
            if p.function_id != fid || p.device_id != dev.device_id {
                return Err(SbiError::InvalidParam);
            }
            let mut answer = KVVec::new();
            answer
                .extend_from_slice(p.payload, GFP_KERNEL)
                .map_err(|_| SbiError::Failed)?;
            answer
        };
        let (_, relay) = dev.pending.take().ok_or(SbiError::InvalidState)?;
        relay.answer(Some(answer));
        Ok(relay)
    }

    /// Waits for the job's next request (put into the pending buffer) or its end.
    fn step(dev: &mut Dev, fid: u32, relay: Arc<Relay>) -> Sbi<Step> {
        match relay.next() {
            Exchange::Request(object_type, payload) => {
                let p = PendingRequest {
                    function_id: fid,
                    device_id: dev.device_id,
                    payload: &payload,
                };
                // The pending buffer does not carry the DOE type: the host infers it from the
                // payload (tsm_proto's convention), which must agree with what the requester sent.
                if p.doe_type() != object_type {
                    dev.link = relay.abandon().link;
                    return Err(SbiError::Failed);
                }
                if wire::encode_into(&mut dev.buffer, |w| p.write(w)).is_err() {
                    // Too large for the shared memory: the function is given up.
                    dev.link = relay.abandon().link;
                    return Err(SbiError::NoShmem);
                }
                dev.pending = Some((fid, relay));
                Ok(Step::Pending)
            }
            Exchange::Done(end) => Ok(Step::Done(end)),
            _ => Err(SbiError::Failed),
        }
    }

    fn connect(
        &self,
        state: &mut State,
        device_id: u64,
        desc: u64,
        out: u64,
        size: u64,
    ) -> Sbi<u64> {
        // The buffers of every call, the first and its repeats, are checked first.
        let memory = Self::output(&state.regions, out, size)?;
        let (stream_id, rid_base, rid_limit) = Self::stream_desc(&state.regions, desc)?;
        let dev = Self::device(&mut state.devices, device_id)?;
        let relay = match dev.pending.as_ref().map(|(f, _)| *f) {
            Some(covh::CONNECT_DEVICE) => Self::repeat(dev, covh::CONNECT_DEVICE)?,
            Some(_) => return Err(SbiError::InvalidState),
            None => {
                if dev.link.is_some() {
                    return Err(SbiError::InvalidState);
                }
                // The stream's RID association must cover the device.
                let rid = u32::from(dev.pdev.dev_id());
                if rid_base != rid || rid_limit < rid {
                    return Err(SbiError::InvalidParam);
                }
                self.start(dev, Job::Connect(stream_id))?
            }
        };
        let end = match Self::step(dev, covh::CONNECT_DEVICE, relay)? {
            Step::Pending => return Ok(SPDM_PENDING_REQUEST),
            Step::Done(end) => end,
        };
        dev.link = end.link;
        if end.error != SbiError::Success {
            return Err(end.error);
        }
        // A transcript too large for the buffer: the connection stays, the host disconnects.
        let link = dev.link.as_ref().ok_or(SbiError::Failed)?;
        Self::write_transcript(&memory, size, &link.transcript)?;
        Ok(SPDM_REQUEST_COMPLETED)
    }

    /// The IDE stream descriptor at `addr`: its Stream ID, RID Base and RID Limit.
    fn stream_desc(regions: &KVec<Region>, addr: u64) -> Sbi<(u8, u32, u32)> {
        let memory = Self::region(regions, addr)?;
        let raw = memory.lock();
        let blocks = usize::from(*raw.get(1).ok_or(SbiError::InvalidParam)?);
        let len = 12 + blocks * 12;
        let desc = raw
            .get(..len)
            .and_then(|r| IdeStreamDesc::decode(r).ok())
            .ok_or(SbiError::InvalidParam)?;
        // RID Association 2: Valid (bit 0), RID Base (bits 23:8); 1: RID Limit (bits 23:8).
        if desc.rid_assoc_2 & 1 == 0 {
            return Err(SbiError::InvalidParam);
        }
        let base = (desc.rid_assoc_2 >> 8) & 0xffff;
        let limit = (desc.rid_assoc_1 >> 8) & 0xffff;
        Ok((desc.stream_id, base, limit))
    }

    fn disconnect(&self, state: &mut State, device_id: u64) -> Sbi<u64> {
        let dev = Self::device(&mut state.devices, device_id)?;
        let relay = match dev.pending.as_ref().map(|(f, _)| *f) {
            Some(covh::DISCONNECT_DEVICE) => Self::repeat(dev, covh::DISCONNECT_DEVICE)?,
            pending => {
                if pending.is_some() {
                    // Another function is abandoned first.
                    if let Some((_, relay)) = dev.pending.take() {
                        if let Some(link) = relay.abandon().link {
                            dev.link = Some(link);
                        }
                    }
                    if dev.link.is_none() {
                        return Ok(SPDM_REQUEST_COMPLETED);
                    }
                }
                if dev.link.is_none() {
                    return Err(SbiError::InvalidState);
                }
                self.start(dev, Job::Disconnect)?
            }
        };
        match Self::step(dev, covh::DISCONNECT_DEVICE, relay)? {
            Step::Pending => Ok(SPDM_PENDING_REQUEST),
            Step::Done(end) => {
                // The TSM keeps nothing of a disconnected device, whatever it answered.
                dev.link = None;
                match end.error {
                    SbiError::Success => Ok(SPDM_REQUEST_COMPLETED),
                    error => Err(error),
                }
            }
        }
    }

    fn transcript(state: &mut State, device_id: u64, out: u64, size: u64) -> Sbi<u64> {
        let memory = Self::output(&state.regions, out, size)?;
        let dev = Self::device(&mut state.devices, device_id)?;
        if dev.pending.is_some() {
            return Err(SbiError::InvalidState);
        }
        let link = dev.link.as_ref().ok_or(SbiError::InvalidState)?;
        Self::write_transcript(&memory, size, &link.transcript)?;
        Ok(SPDM_REQUEST_COMPLETED)
    }

    /// Starts the job of a function on `dev`.
    fn start(&self, dev: &mut Dev, job: Job) -> Sbi<Arc<Relay>> {
        let fail_at = match job {
            Job::Connect(_) => self.faults.relay,
            Job::Disconnect => 0,
        };
        let link = dev.link.take();
        let pdev = dev.pdev.clone();
        let key_step = self.faults.key_step;
        Relay::start(fail_at.into(), move |relay| {
            job.run(&pdev, relay, link, key_step)
        })
        .map_err(|_| SbiError::Failed)
    }
}

/// What a function asks of the TSM's SPDM requester.
enum Job {
    /// Authenticate, open the session, key this Stream ID.
    Connect(u8),
    /// Stop the keys and end the session.
    Disconnect,
}

impl Job {
    fn run(
        self,
        pdev: &pci::Device,
        relay: &Relay,
        link: Option<Connected>,
        key_step: u32,
    ) -> JobEnd {
        let mut doe = fw_job::RelayDoe(relay);
        match self {
            Job::Connect(stream_id) => match Self::connect(pdev, &mut doe, stream_id, key_step) {
                Ok(link) => JobEnd {
                    error: SbiError::Success,
                    link: Some(link),
                },
                Err(error) => JobEnd { error, link: None },
            },
            Job::Disconnect => {
                let Some(mut link) = link else {
                    return JobEnd {
                        error: SbiError::InvalidState,
                        link: None,
                    };
                };
                let keys =
                    platform_fw::unkey_stream(pdev, &mut link.spdm, &mut doe, link.stream_id);
                let session = link.spdm.end_session(&mut doe);
                let error = if keys.is_ok() && session.is_ok() {
                    SbiError::Success
                } else {
                    SbiError::Failed
                };
                JobEnd { error, link: None }
            }
        }
    }

    fn connect(
        pdev: &pci::Device,
        doe: &mut RelayDoe<'_>,
        stream_id: u8,
        key_step: u32,
    ) -> Sbi<Connected> {
        let (mut spdm, shown) =
            fw_job::authenticated_session(pdev, doe, "CoVE-IO").map_err(|_| SbiError::Failed)?;
        fw_job::key_stream_or_end(pdev, &mut spdm, doe, stream_id, key_step)
            .map_err(|_| SbiError::Failed)?;
        let elements = [
            (element::VCA, &shown.vca),
            (element::DEVICE_CERTIFICATE, &shown.cert_chain),
            (element::DEVICE_MEASUREMENT, &shown.measurements),
        ];
        let len: usize = elements
            .iter()
            .map(|(_, data)| TranscriptElement::HEADER_LEN + data.len())
            .sum();
        let transcript = KVVec::from_elem(0u8, len, GFP_KERNEL).map_err(|_| SbiError::Failed);
        let written = transcript.and_then(|mut t| {
            wire::encode_into(&mut t, |w| {
                elements.iter().try_for_each(|(id, data)| {
                    TranscriptElement {
                        id: *id,
                        param: 0,
                        data: &data[..],
                    }
                    .write(w)
                })
            })
            .map_err(|_| SbiError::Failed)?;
            Ok(t)
        });
        match written {
            Ok(transcript) => Ok(Connected {
                spdm,
                stream_id,
                transcript,
            }),
            Err(error) => {
                let _ = platform_fw::unkey_stream(pdev, &mut spdm, doe, stream_id);
                platform_fw::end_session(pdev, &mut spdm, doe);
                Err(error)
            }
        }
    }
}
