// SPDX-License-Identifier: GPL-2.0

//! A firmware model of a RISC-V CoVE TSM's CoVE-IO host functions (SBI extension COVH), for the
//! emulated TDISP platform.
//!
//! It executes the COVH functions of the CoVE-IO draft, revision 0.3.0, as
//! `tsm_proto::vendor::cove_io` encodes them, answering with the SBI error codes:
//! `connect_device` (1024), `disconnect_device` (1025), `get_device_connection_transcript`
//! (1034) and the interface functions `add_tvm_interface_region` (1026),
//! `reclaim_tvm_interface_region` (1027), `bind_interface` (1028) and `unbind_interface`
//! (1030). `spdm_key_update`, `ide_key_refresh` and `spdm_heartbeat` answer
//! `SBI_ERR_NOT_SUPPORTED`.
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
//! Interfaces: `device_if_id` names a function as `device_id` names a device. The interface
//! of a function that the stream of a connected DSM covers (its RID association) can be given
//! MMIO regions for a TVM (4 KiB aligned, not overlapping any region given before) and then
//! bound: the DSM locks it (LOCK_INTERFACE in the session, the stream as its default stream,
//! MMIO reported at host addresses), and its report must find it CONFIG_LOCKED with every
//! MMIO range inside the TVM's regions, else it is stopped again and the call fails
//! (`SBI_ERR_BAD_RANGE` for MMIO outside the regions). `unbind_interface` stops it (a device
//! that does not stop leaves it bound); regions return one by one with
//! `reclaim_tvm_interface_region`, which unbinds a bound interface first (relayed too). An
//! interface belongs to the TVM that gave it its first region or bound it, until it holds
//! neither: another TVM gets `SBI_ERR_DENIED`. `disconnect_device` stops the bound interfaces
//! of the device first, and the TSM forgets every interface of it.
//!
//! Memory: the model stands for the TSM's view of physical memory. Buffers the host allocates
//! through the model get addresses of their own; an address the model did not hand out, or an
//! output buffer that is not 4 KiB aligned, gets `SBI_ERR_INVALID_ADDRESS`; a size beyond the
//! buffer or too small for the transcript, a malformed descriptor or an unknown `device_id`
//! `SBI_ERR_INVALID_PARAM`; a function in the wrong state `SBI_ERR_INVALID_STATE`. The pending
//! buffers stand for the CoVE NACL shared memory, one per device.
//!
//! Not modelled: TVMs themselves (a TVM ID is a nonzero number; no TVM is created), the COVG
//! functions a TVM calls (the interface's report and state, MMIO mapping, START_INTERFACE),
//! the IDE stream descriptor's address association (all memory), certificate slots other
//! than 0, SPDM key exhaustion.

use crate::{
    fw_job,
    platform_fw::{self, on_platform, Tdisp},
};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::{
    alloc::{KVVec, KVec},
    new_mutex, pci,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex},
};
use tsm_proto::{
    tdisp::{InterfaceId, InterfaceReport},
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

/// The RID association of a connected device's stream: the interfaces it can bind.
#[derive(Clone, Copy)]
struct RidRange {
    base: u32,
    limit: u32,
}

/// A function whose SPDM request the host is relaying.
struct Pending {
    fid: u32,
    /// The call's `device_id`, or `device_if_id` for an interface function.
    target: u64,
    relay: Arc<Relay>,
}

/// An interface (TDI) the host assigns to a TVM.
struct Interface {
    tvm_id: u64,
    if_id: u32,
    /// Its DSM's `device_id`.
    dsm: u32,
    /// The TVM's MMIO regions of the interface: base and length.
    mmio: KVec<(u64, u64)>,
    /// bind_interface locked it (TDISP CONFIG_LOCKED).
    bound: bool,
}

/// A device the host named in a call.
struct Dev {
    device_id: u32,
    pdev: ARef<pci::Device>,
    link: Option<Connected>,
    /// Set while connected, also while a job holds `link`.
    rids: Option<RidRange>,
    /// A function waiting for the host to relay an SPDM request.
    pending: Option<Pending>,
    /// The pending SPDM transaction buffer.
    buffer: KVVec<u8>,
}

impl Drop for Dev {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            drop(pending.relay.abandon());
        }
    }
}

struct State {
    regions: KVec<Region>,
    devices: KVec<Dev>,
    interfaces: KVec<Interface>,
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
                    interfaces: KVec::new(),
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
        let interface_function = matches!(
            fid,
            covh::ADD_TVM_INTERFACE_REGION
                | covh::RECLAIM_TVM_INTERFACE_REGION
                | covh::BIND_INTERFACE
                | covh::UNBIND_INTERFACE
        );
        let known = interface_function
            || matches!(
                fid,
                covh::CONNECT_DEVICE | covh::DISCONNECT_DEVICE | covh::GET_CONNECTION_TRANSCRIPT
            );
        if !known {
            return Err(SbiError::NotSupported);
        }
        let a = call.args;
        let target = if interface_function { a[1] } else { a[0] };
        // A function whose request is being relayed is not failed again on its repeat.
        let repeat = state.devices.iter().any(|d| {
            d.pending
                .as_ref()
                .is_some_and(|p| p.fid == fid && p.target == target)
        });
        if self.faults.fid == fid && !repeat && !self.fired.swap(true, Ordering::Relaxed) {
            return Err(SbiError::from_raw(self.faults.error));
        }
        match fid {
            covh::CONNECT_DEVICE => self.connect(state, a[0], a[1], a[2], a[3]),
            covh::DISCONNECT_DEVICE => self.disconnect(state, a[0]),
            covh::ADD_TVM_INTERFACE_REGION => Self::add_region(state, a[0], a[1], a[2], a[3]),
            covh::RECLAIM_TVM_INTERFACE_REGION => {
                self.reclaim_region(state, a[0], a[1], a[2], a[3])
            }
            covh::BIND_INTERFACE | covh::UNBIND_INTERFACE => {
                self.bind(state, fid == covh::BIND_INTERFACE, a[0], a[1])
            }
            _ => Self::transcript(state, a[0], a[1], a[2]),
        }
    }

    /// The function of the platform whose ID (segment, RID) is `id`.
    fn platform_function(id: u32) -> Sbi<ARef<pci::Device>> {
        let mut found: Option<ARef<pci::Device>> = None;
        pci::for_each_device(false, |pdev| {
            let this = cove_io::device_id(pdev.domain(), pdev.dev_id());
            if found.is_none() && on_platform(pdev) && this == id {
                found = Some(pdev.into());
            }
        });
        found.ok_or(SbiError::InvalidParam)
    }

    /// The device of `device_id`, known from an earlier call or found on the platform.
    fn device(devices: &mut KVec<Dev>, device_id: u64) -> Sbi<&mut Dev> {
        let device_id = u32::try_from(device_id).map_err(|_| SbiError::InvalidParam)?;
        if let Some(i) = devices.iter().position(|d| d.device_id == device_id) {
            return Ok(&mut devices[i]);
        }
        let dev = Dev {
            device_id,
            pdev: Self::platform_function(device_id)?,
            link: None,
            rids: None,
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
        let pending = dev.pending.take().ok_or(SbiError::InvalidState)?;
        pending.relay.answer(Some(answer));
        Ok(pending.relay)
    }

    /// Waits for the job's next request (put into the pending buffer) or its end.
    fn step(dev: &mut Dev, fid: u32, target: u64, relay: Arc<Relay>) -> Sbi<Step> {
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
                dev.pending = Some(Pending { fid, target, relay });
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
        let relay = match dev.pending.as_ref().map(|p| p.fid) {
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
        let end = match Self::step(dev, covh::CONNECT_DEVICE, device_id, relay)? {
            Step::Pending => return Ok(SPDM_PENDING_REQUEST),
            Step::Done(end) => end,
        };
        dev.link = end.link;
        if end.error != SbiError::Success {
            return Err(end.error);
        }
        dev.rids = Some(RidRange {
            base: rid_base,
            limit: rid_limit,
        });
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
        let dsm = dev.device_id;
        let relay = match dev.pending.as_ref().map(|p| p.fid) {
            Some(covh::DISCONNECT_DEVICE) => Self::repeat(dev, covh::DISCONNECT_DEVICE)?,
            pending => {
                if pending.is_some() {
                    // Another function is abandoned first.
                    if let Some(pending) = dev.pending.take() {
                        if let Some(link) = pending.relay.abandon().link {
                            dev.link = Some(link);
                        }
                    }
                    if dev.link.is_none() {
                        dev.rids = None;
                        state.interfaces.retain(|i| i.dsm != dsm);
                        return Ok(SPDM_REQUEST_COMPLETED);
                    }
                }
                if dev.link.is_none() {
                    return Err(SbiError::InvalidState);
                }
                // Bound interfaces are stopped first.
                let mut bound = KVec::new();
                for i in state.interfaces.iter().filter(|i| i.dsm == dsm && i.bound) {
                    bound
                        .push(Self::tdisp_id(i.if_id), GFP_KERNEL)
                        .map_err(|_| SbiError::Failed)?;
                }
                self.start(dev, Job::Disconnect(bound))?
            }
        };
        match Self::step(dev, covh::DISCONNECT_DEVICE, device_id, relay)? {
            Step::Pending => Ok(SPDM_PENDING_REQUEST),
            Step::Done(end) => {
                // The TSM keeps nothing of a disconnected device, whatever it answered: no
                // connection, no interface assigned to a TVM.
                dev.link = None;
                dev.rids = None;
                state.interfaces.retain(|i| i.dsm != dsm);
                match end.error {
                    SbiError::Success => Ok(SPDM_REQUEST_COMPLETED),
                    error => Err(error),
                }
            }
        }
    }

    /// The TDISP INTERFACE_ID of the interface `if_id` (its RID).
    fn tdisp_id(if_id: u32) -> InterfaceId {
        // CAST: bits 15:0 are the RID.
        InterfaceId::new(if_id as u16, None)
    }

    /// The interface record of `if_id` for `tvm_id`, made for a function of the platform
    /// that the stream of a connected DSM covers if there is none yet.
    fn interface<'a>(state: &'a mut State, tvm_id: u64, if_id: u64) -> Sbi<&'a mut Interface> {
        let if_id = u32::try_from(if_id).map_err(|_| SbiError::InvalidParam)?;
        if tvm_id == 0 {
            return Err(SbiError::InvalidParam);
        }
        if let Some(i) = state.interfaces.iter().position(|i| i.if_id == if_id) {
            let interface = &mut state.interfaces[i];
            // The interface belongs to another TVM until it is reclaimed.
            if interface.tvm_id != tvm_id {
                return Err(SbiError::Denied);
            }
            return Ok(interface);
        }
        Self::platform_function(if_id)?;
        let rid = if_id & 0xffff;
        let dsm = state
            .devices
            .iter()
            .find(|d| {
                d.device_id >> 16 == if_id >> 16
                    && d.rids.is_some_and(|r| (r.base..=r.limit).contains(&rid))
            })
            .ok_or(SbiError::InvalidState)?
            .device_id;
        let interface = Interface {
            tvm_id,
            if_id,
            dsm,
            mmio: KVec::new(),
            bound: false,
        };
        state
            .interfaces
            .push(interface, GFP_KERNEL)
            .map_err(|_| SbiError::Failed)?;
        let last = state.interfaces.len() - 1;
        Ok(&mut state.interfaces[last])
    }

    /// Forgets the record of `if_id` if it holds nothing: not bound, no regions.
    fn drop_idle_interface(state: &mut State, if_id: u32) {
        state
            .interfaces
            .retain(|i| i.if_id != if_id || i.bound || !i.mmio.is_empty());
    }

    /// add_tvm_interface_region: `len` bytes of MMIO at `base` become the TVM's, for an
    /// interface that is not bound.
    fn add_region(state: &mut State, tvm_id: u64, if_id: u64, base: u64, len: u64) -> Sbi<u64> {
        let page = PAGE as u64;
        if base % page != 0 {
            return Err(SbiError::InvalidAddress);
        }
        if len == 0 || len % page != 0 {
            return Err(SbiError::InvalidParam);
        }
        let end = base.checked_add(len).ok_or(SbiError::BadRange)?;
        let overlap = state
            .interfaces
            .iter()
            .flat_map(|i| i.mmio.iter())
            .find(|(b, l)| base < b + l && *b < end)
            .copied();
        let interface = Self::interface(state, tvm_id, if_id)?;
        let added = match overlap {
            _ if interface.bound => Err(SbiError::InvalidState),
            Some(region) if region == (base, len) => Err(SbiError::AlreadyAvailable),
            Some(_) => Err(SbiError::BadRange),
            None => interface
                .mmio
                .push((base, len), GFP_KERNEL)
                .map_err(|_| SbiError::Failed),
        };
        // A record made for this call goes again with its failure.
        let id = interface.if_id;
        Self::drop_idle_interface(state, id);
        added.map(|()| SPDM_REQUEST_COMPLETED)
    }

    /// reclaim_tvm_interface_region: a region `add_region` gave returns to the host. A bound
    /// interface is unbound first, as the draft asks (relayed, like unbind_interface).
    fn reclaim_region(
        &self,
        state: &mut State,
        tvm_id: u64,
        if_id: u64,
        base: u64,
        len: u64,
    ) -> Sbi<u64> {
        if !state.interfaces.iter().any(|i| u64::from(i.if_id) == if_id) {
            return Err(SbiError::InvalidParam);
        }
        let interface = Self::interface(state, tvm_id, if_id)?;
        let (id, bound) = (interface.if_id, interface.bound);
        if !interface.mmio.contains(&(base, len)) {
            return Err(SbiError::BadRange);
        }
        let fid = covh::RECLAIM_TVM_INTERFACE_REGION;
        let relayed = state.devices.iter().any(|d| {
            d.pending
                .as_ref()
                .is_some_and(|p| p.fid == fid && p.target == if_id)
        });
        if (bound || relayed)
            && self.relay_interface(state, fid, id, false)? != SPDM_REQUEST_COMPLETED
        {
            return Ok(SPDM_PENDING_REQUEST);
        }
        if let Some(interface) = state.interfaces.iter_mut().find(|i| i.if_id == id) {
            interface.mmio.retain(|r| *r != (base, len));
        }
        Self::drop_idle_interface(state, id);
        Ok(SPDM_REQUEST_COMPLETED)
    }

    /// bind_interface (`bind`): the DSM locks the interface, whose report must show MMIO the
    /// TVM was given only; unbind_interface: the DSM stops it. Both relayed.
    fn bind(&self, state: &mut State, bind: bool, tvm_id: u64, if_id: u64) -> Sbi<u64> {
        if !bind && !state.interfaces.iter().any(|i| u64::from(i.if_id) == if_id) {
            return Err(SbiError::InvalidParam);
        }
        let id = Self::interface(state, tvm_id, if_id)?.if_id;
        let fid = if bind {
            covh::BIND_INTERFACE
        } else {
            covh::UNBIND_INTERFACE
        };
        let result = self.relay_interface(state, fid, id, bind);
        // A record made for a bind that did not happen goes again.
        if result != Ok(SPDM_PENDING_REQUEST) {
            Self::drop_idle_interface(state, id);
        }
        result
    }

    /// The relayed part of function `fid` on the interface `id`: the DSM locks it (`bind`) or
    /// stops it.
    fn relay_interface(&self, state: &mut State, fid: u32, id: u32, bind: bool) -> Sbi<u64> {
        let interface = state
            .interfaces
            .iter()
            .find(|i| i.if_id == id)
            .ok_or(SbiError::InvalidParam)?;
        let (dsm, bound) = (interface.dsm, interface.bound);
        let mut mmio = KVec::new();
        for region in interface.mmio.iter() {
            mmio.push(*region, GFP_KERNEL)
                .map_err(|_| SbiError::Failed)?;
        }
        let dev = Self::device(&mut state.devices, dsm.into())?;
        let target = u64::from(id);
        let relay = match dev.pending.as_ref().map(|p| (p.fid, p.target)) {
            Some(pending) if pending == (fid, target) => Self::repeat(dev, fid)?,
            Some(_) => return Err(SbiError::InvalidState),
            None => {
                if bound == bind || dev.link.is_none() {
                    return Err(SbiError::InvalidState);
                }
                let interface = Self::tdisp_id(id);
                let job = if bind {
                    Job::Bind(interface, mmio)
                } else {
                    Job::Unbind(interface)
                };
                self.start(dev, job)?
            }
        };
        let end = match Self::step(dev, fid, target, relay) {
            Ok(Step::Pending) => return Ok(SPDM_PENDING_REQUEST),
            Ok(Step::Done(end)) => end,
            Err(error) => JobEnd { error, link: None },
        };
        if end.link.is_some() {
            dev.link = end.link;
        }
        if end.error != SbiError::Success {
            return Err(end.error);
        }
        if let Some(interface) = state.interfaces.iter_mut().find(|i| i.if_id == id) {
            interface.bound = bind;
        }
        Ok(SPDM_REQUEST_COMPLETED)
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
            _ => 0,
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
    /// Stop these bound interfaces and the keys, end the session.
    Disconnect(KVec<InterfaceId>),
    /// Lock the interface; its report must show MMIO within these regions (base, length).
    Bind(InterfaceId, KVec<(u64, u64)>),
    /// Stop the interface.
    Unbind(InterfaceId),
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
            job => match link {
                Some(link) => job.with_link(pdev, &mut doe, link),
                None => JobEnd {
                    error: SbiError::InvalidState,
                    link: None,
                },
            },
        }
    }

    /// Runs a job that needs the device's connection `link`.
    fn with_link(self, pdev: &pci::Device, doe: &mut RelayDoe<'_>, mut link: Connected) -> JobEnd {
        let mut tdisp = Tdisp {
            pdev,
            spdm: &mut link.spdm,
            doe: &mut *doe,
        };
        let error = match self {
            Job::Connect(_) => SbiError::InvalidState,
            Job::Disconnect(bound) => {
                for interface in bound {
                    // Whatever the device answers, the interface is no longer bound.
                    let _ = tdisp.stop(interface);
                }
                let keys = platform_fw::unkey_stream(pdev, &mut link.spdm, doe, link.stream_id);
                let session = link.spdm.end_session(doe);
                let error = if keys.is_ok() && session.is_ok() {
                    SbiError::Success
                } else {
                    SbiError::Failed
                };
                return JobEnd { error, link: None };
            }
            Job::Bind(interface, mmio) => {
                match Self::lock(pdev, &mut link, doe, interface, &mmio) {
                    Ok(()) => SbiError::Success,
                    Err(error) => error,
                }
            }
            // A device that does not stop keeps the interface bound: the host may retry,
            // disconnect_device stops it for good.
            Job::Unbind(interface) => match tdisp.stop(interface) {
                Ok(()) => SbiError::Success,
                Err(_) => SbiError::Failed,
            },
        };
        JobEnd {
            error,
            link: Some(link),
        }
    }

    /// Locks `interface` with the stream as its default stream (`Tdisp::lock`) and checks that
    /// every MMIO range of its report lies within the TVM's regions `mmio` (else
    /// `SBI_ERR_BAD_RANGE`, the interface stopped again).
    fn lock(
        pdev: &pci::Device,
        link: &mut Connected,
        doe: &mut RelayDoe<'_>,
        interface: InterfaceId,
        mmio: &[(u64, u64)],
    ) -> Sbi<()> {
        let stream_id = link.stream_id;
        let mut tdisp = Tdisp {
            pdev,
            spdm: &mut link.spdm,
            doe,
        };
        let (_, report) = tdisp
            .lock(interface, stream_id)
            .map_err(|_| SbiError::Failed)?;
        let checked = Self::within(&report, mmio);
        if checked.is_err() {
            let _ = tdisp.stop(interface);
        }
        checked
    }

    /// Whether every MMIO range of `report` lies within one of the regions `mmio`.
    fn within(report: &[u8], mmio: &[(u64, u64)]) -> Sbi<()> {
        let report = InterfaceReport::decode(report).map_err(|_| SbiError::Failed)?;
        for range in report.ranges() {
            let base = range.first_page.checked_mul(PAGE as u64);
            let len = u64::from(range.number_of_pages) * PAGE as u64;
            let end = base.and_then(|b| b.checked_add(len));
            let (Some(base), Some(end)) = (base, end) else {
                return Err(SbiError::BadRange);
            };
            if !mmio.iter().any(|(b, l)| *b <= base && end <= b + l) {
                return Err(SbiError::BadRange);
            }
        }
        Ok(())
    }

    fn connect(
        pdev: &pci::Device,
        doe: &mut RelayDoe<'_>,
        stream_id: u8,
        key_step: u32,
    ) -> Sbi<Connected> {
        let (mut spdm, shown) = fw_job::authenticated_session(pdev, doe, "CoVE-IO", false)
            .map_err(|_| SbiError::Failed)?;
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
