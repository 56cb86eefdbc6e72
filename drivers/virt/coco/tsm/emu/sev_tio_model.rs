// SPDX-License-Identifier: GPL-2.0

//! A firmware model of the AMD PSP's SEV-TIO command set, for the emulated TDISP platform.
//!
//! It executes the commands Linux 7.3's ccp driver issues (TIO_STATUS, TIO_INIT, TIO_DEV_CREATE,
//! TIO_DEV_CONNECT, TIO_DEV_DISCONNECT, TIO_DEV_RECLAIM) and the two it declares
//! (TIO_DEV_MEASUREMENTS, TIO_DEV_CERTIFICATES), encoded as `tsm_proto::vendor::sev_tio` lays
//! them out, with the PSP status codes of `include/uapi/linux/psp-sev.h`.
//!
//! Like the PSP, the model is the SPDM requester and cannot reach the device itself: a command
//! that needs the device runs as a firmware job (on a workqueue, with the kernel's SPDM
//! requester `tsm_spdm::Connection`), and each DOE object the job sends is handed to the host as
//! a request data object in the `spdm_ctrl` request buffer, the command returning
//! SPDM_REQUEST (0x32). The host relays the object to the device, writes the answer into the
//! response buffer and issues the same command buffer again, which gives the answer to the job;
//! this repeats until the job ends and the command returns its final status. TIO_DEV_CONNECT
//! authenticates the device, opens a secure session and keys the IDE stream named by
//! `ide_stream_id[0]` at both ends (the device over IDE_KM in the session, the Root Port through
//! the platform's key port, as `tsm_emu_link` does: `platform_fw.rs`); the host enables the
//! stream afterwards, which reads Secure only with those keys. TIO_DEV_DISCONNECT stops the
//! keys and ends the session; TIO_DEV_MEASUREMENTS asks for signed measurements in the session
//! with the command's nonce; TIO_DEV_CERTIFICATES returns the chain read at connect.
//!
//! TDIs: TIO_TDI_CREATE makes a context for a function of a connected device's slot,
//! TIO_TDI_BIND locks its interface (LOCK_INTERFACE with the device's stream as the default
//! stream) and returns the interface report as an output object, TIO_TDI_UNBIND stops it and
//! TIO_TDI_RECLAIM frees the context; a device with TDI contexts cannot be disconnected (unless
//! forced, which drops them) or reclaimed (IN_USE). TIO_GUEST_REQUEST stands in for the guest's
//! SNP-encrypted message with a plaintext one: a 32-bit length, then one TDISP request code
//! (GET_DEVICE_INTERFACE_REPORT, GET_DEVICE_INTERFACE_STATE, or START_INTERFACE, which the
//! firmware sends with the lock's nonce), answered in the response page the same way.
//!
//! Memory: the model stands for the PSP's view of physical memory. Buffers the host allocates
//! through the model get page frame numbers of their own, owned by the host or the firmware;
//! a command naming an address the model did not hand out gets INVALID_ADDRESS, a buffer of the
//! wrong owner INVALID_PAGE_OWNER.
//!
//! Not modelled: TIO_TDI_REPORT, TIO_TDI_STATUS, TIO_TDI_INFO, the ASID fence commands,
//! TIO_ROLL_KEY, TIO_DEV_STATUS, RUN_FORCE, guest contexts, encrypted buffers, scatter lists,
//! more than one traffic class and certificate slots other than 0. TIO_DEV_CREATE finds the
//! device by its requester ID, the low 8 bits of its domain (the platform's domains, 10000 and
//! up, do not fit the field) and its Root Port's LnkCap Port Number.

use crate::{
    fw_job,
    platform_fw::{self, on_platform, Tdisp},
};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    alloc::{KVVec, KVec},
    new_mutex, pci,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex},
};
use tsm_proto::{
    tdisp::{code as tdisp_code, Body, InterfaceId, NONCE_LEN},
    vendor::sev_tio::{
        self, cmd, Command, SlaAddr, SpdmCtrl, Status, TioStatus, DISCONNECT_FORCE,
        DOBJ_DATA_TYPE_SECURE_SPDM, DOBJ_DATA_TYPE_SPDM, DOBJ_HEADER_LEN, DOBJ_ID_CERTIFICATE,
        DOBJ_ID_MEASUREMENT, DOBJ_ID_REPORT, DOBJ_ID_REQ, DOBJ_ID_RESP, SLA_BUFFER_HEADER_LEN,
        TIO_STATUS_INIT_DONE, TIO_STATUS_TIO_EN, UNBIND_FORCE,
    },
    wire,
};
use tsm_spdm::Connection;

/// Sizes the model reports in TIO_STATUS: one page per SPDM buffer (a request holds one DOE
/// object of the requester), a larger output buffer for certificate chains, one page of context.
pub(crate) const PAGE: u32 = 0x1000;
const SPDM_BUF_MIN: u32 = PAGE;
const SPDM_BUF_MAX: u32 = 4 * PAGE;
const OUTPUT_MIN: u32 = PAGE;
const OUTPUT_MAX: u32 = 32 * PAGE;

/// Faults the model injects: a command that fails at entry with a status, and a TIO_DEV_CONNECT
/// that fails with SPDM_ERROR after a number of relayed objects.
#[derive(Clone, Copy, Default)]
pub(crate) struct Faults {
    /// Command ID that fails at entry (0: none).
    pub(crate) command: u32,
    /// The status it fails with.
    pub(crate) status: u32,
    /// TIO_DEV_CONNECT's exchange of this number fails, as a device error would: the model
    /// still cleans up through the relay (0: never).
    pub(crate) relay: u32,
    /// A key-programming step at which TIO_DEV_CONNECT fails (1: after the device's KEY_PROGs,
    /// 2: before K_SET_GO; 0: none).
    pub(crate) key_step: u32,
}

/// A buffer of the model's memory, shared by the host's handle and the model.
type Memory = Arc<Mutex<KVVec<u8>>>;

/// One allocation: its page frame number, owner and bytes.
struct Page {
    pfn: u64,
    firmware: bool,
    memory: Memory,
}

/// A device context's state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum DevState {
    /// After TIO_DEV_CREATE or TIO_DEV_DISCONNECT.
    Created,
    /// After TIO_DEV_CONNECT.
    Connected,
}

/// What the firmware keeps for a connected device.
struct Connected {
    spdm: Connection,
    cert_chain: KVVec<u8>,
    stream_id: u8,
}

/// A device context (TIO_DEV_CREATE to TIO_DEV_RECLAIM).
struct DevCtx {
    pfn: u64,
    pdev: ARef<pci::Device>,
    state: DevState,
    link: Option<Connected>,
    /// A command waiting for the host to relay an SPDM object, and its job.
    pending: Option<(u32, Arc<Relay>)>,
    /// Output of a finished job that did not fit the output buffer (EXPAND_BUFFER_LENGTH).
    held_output: Option<(u32, u32, KVVec<u8>)>,
}

/// A TDI context (TIO_TDI_CREATE to TIO_TDI_RECLAIM).
struct TdiCtx {
    pfn: u64,
    /// Its device's context.
    dev_pfn: u64,
    interface: InterfaceId,
    /// While bound (locked): the START_INTERFACE_NONCE of the lock, which only the firmware
    /// holds.
    bound: Option<[u8; NONCE_LEN]>,
}

struct State {
    init: bool,
    pages: KVec<Page>,
    devices: KVec<DevCtx>,
    tdis: KVec<TdiCtx>,
}

/// The SEV-TIO firmware model.
#[pin_data]
pub(crate) struct Model {
    #[pin]
    state: Mutex<State>,
    faults: Faults,
}

/// The next page frame number the model hands out (addresses of the model's own memory, far
/// from any real page frame so a mix-up shows).
static NEXT_PFN: AtomicU64 = AtomicU64::new(0xF_0000_0000);

/// How a job ended.
struct JobEnd {
    status: Status,
    link: Option<Connected>,
    output: Option<(u32, KVVec<u8>)>,
    /// The TDI context a job bound (with the lock's nonce) or unbound (`None`).
    tdi: Option<(u64, Option<[u8; NONCE_LEN]>)>,
}

type Relay = fw_job::Relay<JobEnd>;
type RelayDoe<'a> = fw_job::RelayDoe<'a, JobEnd>;
type Exchange = fw_job::Exchange<JobEnd>;

/// A PSP status as the result of a model step.
type Psp<T> = core::result::Result<T, Status>;

impl Model {
    /// A model with `faults`.
    pub(crate) fn new(faults: Faults) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                state <- new_mutex!(State {
                    init: false,
                    pages: KVec::new(),
                    devices: KVec::new(),
                    tdis: KVec::new(),
                }),
                faults,
            }),
            GFP_KERNEL,
        )
    }

    /// Allocates `len` bytes of the model's memory; `firmware`: owned by the firmware.
    pub(crate) fn alloc(&self, len: usize, firmware: bool) -> Result<(u64, Memory)> {
        let memory = Arc::pin_init(
            new_mutex!(KVVec::from_elem(0u8, len, GFP_KERNEL)?),
            GFP_KERNEL,
        )?;
        let pfn = NEXT_PFN.fetch_add(len.div_ceil(PAGE as usize) as u64, Ordering::Relaxed);
        let page = Page {
            pfn,
            firmware,
            memory: memory.clone(),
        };
        self.state.lock().pages.push(page, GFP_KERNEL)?;
        Ok((pfn, memory))
    }

    /// Returns the allocation at `pfn` to the host (the firmware no longer sees it).
    pub(crate) fn free(&self, pfn: u64) {
        let mut state = self.state.lock();
        if let Some(i) = state.pages.iter().position(|p| p.pfn == pfn) {
            let _ = state.pages.remove(i);
        }
    }

    /// Executes command `id` on its buffer `buf` and returns the PSP status.
    pub(crate) fn command(&self, id: u32, buf: &mut [u8]) -> Status {
        let mut state = self.state.lock();
        match self.execute(&mut state, id, buf) {
            Ok(()) => Status::Success,
            Err(status) => status,
        }
    }

    fn execute(&self, state: &mut State, id: u32, buf: &mut [u8]) -> Psp<()> {
        let known = matches!(
            id,
            cmd::TIO_STATUS
                | cmd::TIO_INIT
                | cmd::TIO_DEV_CREATE
                | cmd::TIO_DEV_RECLAIM
                | cmd::TIO_DEV_CONNECT
                | cmd::TIO_DEV_DISCONNECT
                | cmd::TIO_DEV_MEASUREMENTS
                | cmd::TIO_DEV_CERTIFICATES
                | cmd::TIO_TDI_CREATE
                | cmd::TIO_TDI_RECLAIM
                | cmd::TIO_TDI_BIND
                | cmd::TIO_TDI_UNBIND
                | cmd::TIO_GUEST_REQUEST
        );
        if !known {
            return Err(Status::InvalidCommand);
        }
        let command = Command::decode(id, buf).map_err(|e| match e {
            wire::Error::InvalidField("length") | wire::Error::Truncated => Status::InvalidLen,
            _ => Status::InvalidParam,
        })?;
        // A command that is being relayed is not failed again on its reissue.
        let reissue = Self::dev_ctx_of(&command)
            .and_then(|ctx| state.devices.iter().find(|d| d.pfn == ctx.pfn))
            .is_some_and(|d| {
                d.pending.as_ref().is_some_and(|(c, _)| *c == id) || d.held_output.is_some()
            });
        if self.faults.command == id && !reissue {
            return Err(Status::from_raw(self.faults.status));
        }
        match command {
            Command::Status { status_paddr } => Self::tio_status(state, status_paddr),
            Command::Init => {
                if state.init {
                    return Err(Status::InvalidPlatformState);
                }
                state.init = true;
                Ok(())
            }
            _ if !state.init => Err(Status::InvalidPlatformState),
            Command::DevCreate {
                dev_ctx,
                device_id,
                root_port_id,
                segment,
            } => Self::dev_create(state, dev_ctx, device_id, root_port_id, segment),
            Command::DevReclaim { dev_ctx } => Self::dev_reclaim(state, dev_ctx),
            Command::DevConnect {
                spdm_ctrl,
                dev_ctx,
                tc_mask,
                cert_slot,
                ide_stream_id,
            } => {
                if tc_mask & 1 == 0 || cert_slot != 0 || ide_stream_id[0] == u8::MAX {
                    return Err(Status::InvalidParam);
                }
                self.spdm_command(
                    state,
                    id,
                    spdm_ctrl,
                    dev_ctx,
                    Job::Connect(ide_stream_id[0]),
                    None,
                )
            }
            Command::DevDisconnect {
                flags,
                spdm_ctrl,
                dev_ctx,
            } => {
                let force = flags & DISCONNECT_FORCE != 0;
                if state.tdis.iter().any(|t| t.dev_pfn == dev_ctx.pfn) {
                    if !force {
                        return Err(Status::InUse);
                    }
                    // Forced: the device's TDIs go with it.
                    state.tdis.retain(|t| t.dev_pfn != dev_ctx.pfn);
                }
                self.spdm_command(state, id, spdm_ctrl, dev_ctx, Job::Disconnect(force), None)
            }
            Command::DevMeasurements {
                spdm_ctrl,
                dev_ctx,
                meas_nonce,
                ..
            } => self.spdm_command(
                state,
                id,
                spdm_ctrl,
                dev_ctx,
                Job::Measure(meas_nonce),
                None,
            ),
            Command::DevCertificates { spdm_ctrl, dev_ctx } => {
                self.spdm_command(state, id, spdm_ctrl, dev_ctx, Job::Certificates, None)
            }
            Command::TdiCreate {
                dev_ctx,
                tdi_ctx,
                interface_id,
            } => Self::tdi_create(state, dev_ctx, tdi_ctx, interface_id),
            Command::TdiReclaim { dev_ctx, tdi_ctx } => {
                let i = Self::tdi_of(state, dev_ctx, tdi_ctx)?;
                if state.tdis[i].bound.is_some() {
                    return Err(Status::InvalidTdiState);
                }
                let _ = state.tdis.remove(i);
                Ok(())
            }
            Command::TdiBind {
                spdm_ctrl,
                dev_ctx,
                tdi_ctx,
                run_flags,
                ..
            } => {
                let tdi = &state.tdis[Self::tdi_of(state, dev_ctx, tdi_ctx)?];
                // Reissued for a bigger output buffer, the TDI is already bound.
                if tdi.bound.is_some() && !reissue {
                    return Err(Status::InvalidTdiState);
                }
                // RUN_FORCE is not modelled: the guest starts its TDI.
                if run_flags != 0 {
                    return Err(Status::InvalidParam);
                }
                let job = Job::TdiBind(tdi.pfn, tdi.interface);
                self.spdm_command(state, id, spdm_ctrl, dev_ctx, job, None)
            }
            Command::TdiUnbind {
                flags,
                spdm_ctrl,
                dev_ctx,
                tdi_ctx,
                ..
            } => {
                let tdi = &state.tdis[Self::tdi_of(state, dev_ctx, tdi_ctx)?];
                if tdi.bound.is_none() {
                    return Err(Status::InvalidTdiState);
                }
                let job = Job::TdiUnbind(tdi.pfn, tdi.interface, flags & UNBIND_FORCE != 0);
                self.spdm_command(state, id, spdm_ctrl, dev_ctx, job, None)
            }
            Command::GuestRequest {
                spdm_ctrl,
                dev_ctx,
                tdi_ctx,
                req_paddr,
                res_paddr,
                ..
            } => {
                let tdi = &state.tdis[Self::tdi_of(state, dev_ctx, tdi_ctx)?];
                let nonce = tdi.bound.ok_or(Status::InvalidTdiState)?;
                let interface = tdi.interface;
                let request = Self::page(state, Self::data_page(req_paddr)?, false, PAGE as usize)?;
                let response =
                    Self::page(state, Self::data_page(res_paddr)?, false, PAGE as usize)?;
                let code = {
                    let request = request.lock();
                    let len = u32::from_le_bytes([request[0], request[1], request[2], request[3]]);
                    if len != 1 {
                        return Err(Status::InvalidParam);
                    }
                    request[4]
                };
                let job = Job::Guest(interface, nonce, code);
                self.spdm_command(state, id, spdm_ctrl, dev_ctx, job, Some(response))
            }
        }
    }

    /// The SLA of the 4 KiB data page at `paddr`.
    fn data_page(paddr: u64) -> Psp<SlaAddr> {
        if paddr % u64::from(PAGE) != 0 {
            return Err(Status::InvalidAddress);
        }
        Ok(SlaAddr {
            scatter_list: false,
            page_2m: false,
            pfn: paddr >> 12,
        })
    }

    /// The index of the TDI context `tdi_ctx` of the device context `dev_ctx`.
    fn tdi_of(state: &State, dev_ctx: SlaAddr, tdi_ctx: SlaAddr) -> Psp<usize> {
        if !state.devices.iter().any(|d| d.pfn == dev_ctx.pfn) {
            return Err(Status::InvalidDevCtx);
        }
        state
            .tdis
            .iter()
            .position(|t| t.pfn == tdi_ctx.pfn && t.dev_pfn == dev_ctx.pfn)
            .ok_or(Status::InvalidTdiCtx)
    }

    /// A TDI context for the function `interface_id` (its requester ID, and its segment when
    /// bit 24 is set) of the connected device `dev_ctx`: the device itself or another function
    /// of its slot.
    fn tdi_create(
        state: &mut State,
        dev_ctx: SlaAddr,
        tdi_ctx: SlaAddr,
        interface_id: u32,
    ) -> Psp<()> {
        Self::page(state, tdi_ctx, true, PAGE as usize)?;
        let in_use = state.tdis.iter().any(|t| t.pfn == tdi_ctx.pfn)
            || state.devices.iter().any(|d| d.pfn == tdi_ctx.pfn);
        if in_use {
            return Err(Status::InUse);
        }
        let dev = state
            .devices
            .iter()
            .find(|d| d.pfn == dev_ctx.pfn)
            .ok_or(Status::InvalidDevCtx)?;
        if dev.state != DevState::Connected || dev.pending.is_some() {
            return Err(Status::InvalidDevState);
        }
        // CAST: bits 15:0 and 23:16.
        let (rid, segment) = (interface_id as u16, (interface_id >> 16) as u8);
        let segment_valid = interface_id & 1 << 24 != 0;
        // CAST: the segment field holds the domain's low 8 bits.
        let dsm_segment = dev.pdev.domain() as u8;
        // The DSM's slot: its device number, the function bits cleared.
        let same_slot = rid & !0x7 == dev.pdev.dev_id() & !0x7;
        if interface_id >> 25 != 0 || (segment_valid && segment != dsm_segment) || !same_slot {
            return Err(Status::InvalidTdi);
        }
        let tdi = TdiCtx {
            pfn: tdi_ctx.pfn,
            dev_pfn: dev_ctx.pfn,
            interface: InterfaceId::new(rid, None),
            bound: None,
        };
        state
            .tdis
            .push(tdi, GFP_KERNEL)
            .map_err(|_| Status::ResourceLimit)
    }

    fn dev_ctx_of(command: &Command) -> Option<SlaAddr> {
        match *command {
            Command::DevCreate { dev_ctx, .. }
            | Command::DevReclaim { dev_ctx }
            | Command::DevConnect { dev_ctx, .. }
            | Command::DevDisconnect { dev_ctx, .. }
            | Command::DevMeasurements { dev_ctx, .. }
            | Command::DevCertificates { dev_ctx, .. }
            | Command::TdiCreate { dev_ctx, .. }
            | Command::TdiReclaim { dev_ctx, .. }
            | Command::TdiBind { dev_ctx, .. }
            | Command::TdiUnbind { dev_ctx, .. }
            | Command::GuestRequest { dev_ctx, .. } => Some(dev_ctx),
            _ => None,
        }
    }

    /// The memory at `sla`, which must be a data page of `firmware`'s owner holding `len`.
    fn page(state: &State, sla: SlaAddr, firmware: bool, len: usize) -> Psp<Memory> {
        if sla.scatter_list || sla.page_2m {
            return Err(Status::InvalidParam);
        }
        let page = state
            .pages
            .iter()
            .find(|p| p.pfn == sla.pfn)
            .ok_or(Status::InvalidAddress)?;
        if page.firmware != firmware {
            return Err(Status::InvalidPageOwner);
        }
        if page.memory.lock().len() < len {
            return Err(Status::InvalidLen);
        }
        Ok(page.memory.clone())
    }

    fn tio_status(state: &State, paddr: u64) -> Psp<()> {
        if paddr % u64::from(PAGE) != 0 {
            return Err(Status::InvalidAddress);
        }
        let sla = SlaAddr {
            scatter_list: false,
            page_2m: false,
            pfn: paddr >> 12,
        };
        let memory = Self::page(state, sla, false, sev_tio::TIO_STATUS_LEN)?;
        let status = TioStatus {
            length: sev_tio::TIO_STATUS_LEN as u32,
            flags: TIO_STATUS_TIO_EN | if state.init { TIO_STATUS_INIT_DONE } else { 0 },
            spdm_req_size_min: SPDM_BUF_MIN,
            spdm_req_size_max: SPDM_BUF_MAX,
            spdm_scratch_size_min: SPDM_BUF_MIN,
            spdm_scratch_size_max: SPDM_BUF_MAX,
            spdm_out_size_min: OUTPUT_MIN,
            spdm_out_size_max: OUTPUT_MAX,
            spdm_rsp_size_min: SPDM_BUF_MIN,
            spdm_rsp_size_max: SPDM_BUF_MAX,
            devctx_size: PAGE,
            tdictx_size: PAGE,
            tio_crypto_alg: 0,
        };
        let mut out = memory.lock();
        wire::encode_into(&mut out[..sev_tio::TIO_STATUS_LEN], |w| status.write(w))
            .map_err(|_| Status::InvalidLen)?;
        Ok(())
    }

    /// A context for the device `device_id` of `segment` (the domain's low 8 bits, as the field
    /// holds) below the Root Port whose LnkCap Port Number is `root_port_id`.
    fn dev_create(
        state: &mut State,
        dev_ctx: SlaAddr,
        device_id: u16,
        root_port_id: u16,
        segment: u8,
    ) -> Psp<()> {
        Self::page(state, dev_ctx, true, PAGE as usize)?;
        if state.devices.iter().any(|d| d.pfn == dev_ctx.pfn) {
            return Err(Status::InUse);
        }
        let mut found: Option<ARef<pci::Device>> = None;
        pci::for_each_device(false, |pdev| {
            // CAST: the segment field holds the domain's low 8 bits.
            let segment_matches = pdev.domain() as u8 == segment;
            let port_matches = pdev
                .root_port()
                .and_then(|rp| rp.link_port_number())
                .is_some_and(|port| u16::from(port) == root_port_id);
            if found.is_none()
                && on_platform(pdev)
                && pdev.dev_id() == device_id
                && segment_matches
                && port_matches
            {
                found = Some(pdev.into());
            }
        });
        let pdev = found.ok_or(Status::InvalidParam)?;
        let ctx = DevCtx {
            pfn: dev_ctx.pfn,
            pdev,
            state: DevState::Created,
            link: None,
            pending: None,
            held_output: None,
        };
        state
            .devices
            .push(ctx, GFP_KERNEL)
            .map_err(|_| Status::ResourceLimit)
    }

    fn dev_reclaim(state: &mut State, dev_ctx: SlaAddr) -> Psp<()> {
        let i = state
            .devices
            .iter()
            .position(|d| d.pfn == dev_ctx.pfn)
            .ok_or(Status::InvalidDevCtx)?;
        if state.tdis.iter().any(|t| t.dev_pfn == dev_ctx.pfn) {
            return Err(Status::InUse);
        }
        let dev = &mut state.devices[i];
        if dev.state == DevState::Connected && dev.pending.is_none() {
            return Err(Status::InvalidDevState);
        }
        // A command left mid-relay is abandoned: its job unwinds without the device.
        if let Some((_, relay)) = dev.pending.take() {
            drop(relay.abandon());
        }
        let _ = state.devices.remove(i);
        Ok(())
    }

    /// A command that may need the device: runs (or continues) its job and relays.
    fn spdm_command(
        &self,
        state: &mut State,
        id: u32,
        ctrl: SpdmCtrl,
        dev_ctx: SlaAddr,
        job: Job,
        response_page: Option<Memory>,
    ) -> Psp<()> {
        let req = Self::page(state, ctrl.req, true, PAGE as usize)?;
        let resp = Self::page(state, ctrl.resp, false, PAGE as usize)?;
        Self::page(state, ctrl.scratch, true, PAGE as usize)?;
        let output = Self::page(state, ctrl.output, true, OUTPUT_MIN as usize)?;
        let dev = state
            .devices
            .iter_mut()
            .find(|d| d.pfn == dev_ctx.pfn)
            .ok_or(Status::InvalidDevCtx)?;
        // The output of a job whose buffer was too small, now with a bigger one.
        if let Some((cmd_id, object_id, data)) = dev.held_output.take() {
            if cmd_id == id {
                return Self::write_output(dev, &output, cmd_id, object_id, data);
            }
        }
        let relay = match dev.pending.take() {
            Some((pending, relay)) if pending == id => {
                // The reissue: the host's answer is in the response buffer.
                let answer = Self::response(&resp)?;
                relay.answer(Some(answer));
                relay
            }
            Some((pending, relay)) => {
                let force = matches!(job, Job::Disconnect(true));
                if !force {
                    dev.pending = Some((pending, relay));
                    return Err(Status::InvalidDevState);
                }
                // A forced disconnect abandons the pending command first.
                drop(relay.abandon());
                if dev.link.is_none() {
                    dev.state = DevState::Created;
                    return Ok(());
                }
                self.start(dev, job)?
            }
            None => self.start(dev, job)?,
        };
        match relay.next() {
            Exchange::Request(object_type, object) => {
                let data_type = match object_type {
                    tsm_proto::doe::TYPE_CMA => DOBJ_DATA_TYPE_SPDM,
                    tsm_proto::doe::TYPE_SECURED_CMA => DOBJ_DATA_TYPE_SECURE_SPDM,
                    _ => {
                        drop(relay.abandon());
                        return Err(Status::SpdmError);
                    }
                };
                let mut req = req.lock();
                sev_tio::write_object(&mut req, DOBJ_ID_REQ, data_type, &object)
                    .map_err(|_| Status::ResponseTooLarge)?;
                dev.pending = Some((id, relay));
                Err(Status::SpdmRequest)
            }
            Exchange::Done(end) => {
                if let Some(link) = end.link {
                    dev.link = Some(link);
                }
                dev.state = if dev.link.is_some() {
                    DevState::Connected
                } else {
                    DevState::Created
                };
                if let Some((pfn, nonce)) = end.tdi {
                    if let Some(tdi) = state.tdis.iter_mut().find(|t| t.pfn == pfn) {
                        tdi.bound = nonce;
                    }
                }
                if end.status != Status::Success {
                    return Err(end.status);
                }
                match (end.output, response_page) {
                    // A guest request's answer: its length, then its bytes.
                    (Some((_, data)), Some(page)) => {
                        let mut page = page.lock();
                        let len = u32::try_from(data.len()).map_err(|_| Status::ResourceLimit)?;
                        page.get_mut(4..4 + data.len())
                            .ok_or(Status::ResponseTooLarge)?
                            .copy_from_slice(&data);
                        page[..4].copy_from_slice(&len.to_le_bytes());
                        Ok(())
                    }
                    (Some((object_id, data)), None) => {
                        Self::write_output(dev, &output, id, object_id, data)
                    }
                    (None, _) => Ok(()),
                }
            }
            _ => Err(Status::SpdmError),
        }
    }

    /// The host's answer: the response object's payload (its length without padding).
    fn response(resp: &Memory) -> Psp<KVVec<u8>> {
        let resp = resp.lock();
        let (_, object, payload) = sev_tio::read_object(&resp).map_err(|_| Status::InvalidParam)?;
        if object.id != DOBJ_ID_RESP {
            return Err(Status::InvalidParam);
        }
        let mut answer = KVVec::new();
        answer
            .extend_from_slice(payload, GFP_KERNEL)
            .map_err(|_| Status::ResourceLimit)?;
        Ok(answer)
    }

    /// Writes a job's output object, or asks for a bigger output buffer.
    fn write_output(
        dev: &mut DevCtx,
        output: &Memory,
        id: u32,
        object_id: u32,
        data: KVVec<u8>,
    ) -> Psp<()> {
        let mut out = output.lock();
        let need = SLA_BUFFER_HEADER_LEN + (DOBJ_HEADER_LEN + data.len()).next_multiple_of(32);
        if need > out.len() {
            // The buffer header's capacity_sz tells the host how much to allocate.
            let need = u32::try_from(need).map_err(|_| Status::ResponseTooLarge)?;
            out[..4].copy_from_slice(&need.to_le_bytes());
            dev.held_output = Some((id, object_id, data));
            return Err(Status::ExpandBufferLengthRequest);
        }
        sev_tio::write_object(&mut out, object_id, DOBJ_DATA_TYPE_SPDM, &data)
            .map_err(|_| Status::ResponseTooLarge)?;
        Ok(())
    }

    /// Starts the job of a command on `dev`.
    fn start(&self, dev: &mut DevCtx, job: Job) -> Psp<Arc<Relay>> {
        match (&job, dev.state) {
            (Job::Connect(_), DevState::Created) => {}
            (Job::Connect(_), _) => return Err(Status::InvalidDevState),
            (_, DevState::Connected) => {}
            _ => return Err(Status::InvalidDevState),
        }
        let fail_at = match job {
            Job::Connect(_) => self.faults.relay.into(),
            _ => 0,
        };
        let link = dev.link.take();
        let pdev = dev.pdev.clone();
        let key_step = self.faults.key_step;
        Relay::start(fail_at, move |relay| job.run(&pdev, relay, link, key_step))
            .map_err(|_| Status::ResourceLimit)
    }
}

/// What a command asks of the firmware's SPDM requester.
enum Job {
    /// Authenticate, open the session, key this Stream ID.
    Connect(u8),
    /// Stop the keys and end the session (forced: whatever the device answers).
    Disconnect(bool),
    /// Signed measurements over this nonce.
    Measure([u8; 32]),
    /// The certificate chain of slot 0.
    Certificates,
    /// Lock the interface of the TDI context (its page frame number) and read its report.
    TdiBind(u64, InterfaceId),
    /// Stop the interface of the TDI context (forced: whatever the device answers).
    TdiUnbind(u64, InterfaceId, bool),
    /// A guest's request about its bound interface: a TDISP request code; the lock's nonce.
    Guest(InterfaceId, [u8; NONCE_LEN], u8),
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
        let end = |status, link, output| JobEnd {
            status,
            link,
            output,
            tdi: None,
        };
        match self {
            Job::Connect(stream_id) => match Self::connect(pdev, &mut doe, stream_id, key_step) {
                Ok(link) => end(Status::Success, Some(link), None),
                Err(status) => end(status, None, None),
            },
            Job::Disconnect(force) => {
                let Some(mut link) = link else {
                    return end(Status::InvalidDevState, None, None);
                };
                let keys =
                    platform_fw::unkey_stream(pdev, &mut link.spdm, &mut doe, link.stream_id);
                let session = link.spdm.end_session(&mut doe);
                if !force && (keys.is_err() || session.is_err()) {
                    // Not forced: the device keeps its connection; the host may force.
                    return end(Status::SpdmError, Some(link), None);
                }
                end(Status::Success, None, None)
            }
            Job::Measure(nonce) => {
                let Some(mut link) = link else {
                    return end(Status::InvalidDevState, None, None);
                };
                match link.spdm.measure(&mut doe, Some(&nonce)) {
                    Ok(m) => end(Status::Success, Some(link), Some((DOBJ_ID_MEASUREMENT, m))),
                    Err(_) => end(Status::SpdmError, Some(link), None),
                }
            }
            Job::Certificates => {
                let Some(link) = link else {
                    return end(Status::InvalidDevState, None, None);
                };
                let mut chain = KVVec::new();
                if chain
                    .extend_from_slice(&link.cert_chain, GFP_KERNEL)
                    .is_err()
                {
                    return end(Status::ResourceLimit, Some(link), None);
                }
                end(
                    Status::Success,
                    Some(link),
                    Some((DOBJ_ID_CERTIFICATE, chain)),
                )
            }
            Job::TdiBind(pfn, interface) => {
                let Some(mut link) = link else {
                    return end(Status::InvalidDevState, None, None);
                };
                match Self::bind(pdev, &mut link, &mut doe, interface) {
                    Ok((nonce, report)) => JobEnd {
                        status: Status::Success,
                        link: Some(link),
                        output: Some((DOBJ_ID_REPORT, report)),
                        tdi: Some((pfn, Some(nonce))),
                    },
                    Err(status) => end(status, Some(link), None),
                }
            }
            Job::TdiUnbind(pfn, interface, force) => {
                let Some(mut link) = link else {
                    return end(Status::InvalidDevState, None, None);
                };
                let mut tdisp = Tdisp {
                    pdev,
                    spdm: &mut link.spdm,
                    doe: &mut doe,
                };
                let stopped = tdisp.stop(interface).is_ok();
                if !stopped && !force {
                    return end(Status::SpdmError, Some(link), None);
                }
                JobEnd {
                    status: Status::Success,
                    link: Some(link),
                    output: None,
                    tdi: Some((pfn, None)),
                }
            }
            Job::Guest(interface, nonce, code) => {
                let Some(mut link) = link else {
                    return end(Status::InvalidDevState, None, None);
                };
                match Self::guest(pdev, &mut link, &mut doe, interface, &nonce, code) {
                    // The command side writes it into the response page.
                    Ok(answer) => end(Status::Success, Some(link), Some((0, answer))),
                    Err(status) => end(status, Some(link), None),
                }
            }
        }
    }

    /// Locks `interface` with the device's stream as its default stream and reads its report
    /// (`Tdisp::lock`). Returns the lock's nonce and the report.
    fn bind(
        pdev: &pci::Device,
        link: &mut Connected,
        doe: &mut RelayDoe<'_>,
        interface: InterfaceId,
    ) -> Psp<([u8; NONCE_LEN], KVVec<u8>)> {
        let stream_id = link.stream_id;
        let mut tdisp = Tdisp {
            pdev,
            spdm: &mut link.spdm,
            doe,
        };
        tdisp
            .lock(interface, stream_id)
            .map_err(|_| Status::SpdmError)
    }

    /// A guest's request about its bound `interface`: the interface report, its state, or
    /// START_INTERFACE with the lock's `nonce` (answered with the new state).
    fn guest(
        pdev: &pci::Device,
        link: &mut Connected,
        doe: &mut RelayDoe<'_>,
        interface: InterfaceId,
        nonce: &[u8; NONCE_LEN],
        code: u8,
    ) -> Psp<KVVec<u8>> {
        let mut tdisp = Tdisp {
            pdev,
            spdm: &mut link.spdm,
            doe,
        };
        let refused = |_| Status::SpdmError;
        let mut answer = [0u8; 64];
        let state = match code {
            tdisp_code::GET_DEVICE_INTERFACE_REPORT => {
                return tdisp.report(interface).map_err(refused)
            }
            tdisp_code::GET_DEVICE_INTERFACE_STATE => tdisp.state(interface).map_err(refused)?,
            tdisp_code::START_INTERFACE => {
                match tdisp
                    .exchange(interface, Body::Start(nonce), &mut answer)
                    .map_err(refused)?
                {
                    Body::StartRsp => tdisp.state(interface).map_err(refused)?,
                    _ => return Err(Status::SpdmError),
                }
            }
            _ => return Err(Status::InvalidParam),
        };
        let mut out = KVVec::new();
        out.push(state as u8, GFP_KERNEL)
            .map_err(|_| Status::ResourceLimit)?;
        Ok(out)
    }

    fn connect(
        pdev: &pci::Device,
        doe: &mut RelayDoe<'_>,
        stream_id: u8,
        key_step: u32,
    ) -> Psp<Connected> {
        let (mut spdm, shown) = fw_job::authenticated_session(pdev, doe, "SEV-TIO", false)
            .map_err(|_| Status::SpdmError)?;
        fw_job::key_stream_or_end(pdev, &mut spdm, doe, stream_id, key_step)
            .map_err(|_| Status::ErrInDevConn)?;
        Ok(Connected {
            spdm,
            cert_chain: shown.cert_chain,
            stream_id,
        })
    }
}
