// SPDX-License-Identifier: GPL-2.0

//! A firmware model of the TDX Module Extension's TDX Connect leaves, for the emulated TDISP
//! platform.
//!
//! It executes TDH.SPDM.CREATE/DELETE/CONNECT/DISCONNECT/MNG and TDH.IDE.STREAM.CREATE/KM/
//! BLOCK/DELETE with the registers, page rules and completion statuses of
//! `tsm_proto::vendor::tdx_connect` (the host series' encoding of Intel's TDX Connect ABI).
//!
//! Like the TDX module, the model is the SPDM requester and cannot reach the device: a leaf
//! that needs the device runs as a firmware job (on a workqueue, with the kernel's requester
//! `tsm_spdm::Connection`), and each DOE object the job sends is written, as a complete DOE
//! object, into the leaf's request page, the leaf returning TDX_SPDM_REQUEST with the object's
//! length in RCX. The host exchanges it with the device, writes the answer (a DOE object) into
//! the response page and issues the identical leaf again, which hands the answer to the job;
//! this repeats until the job ends. The extension has a queue depth of one: while a leaf waits
//! for its relay, any other call gets TDX_OPERAND_BUSY.
//!
//! Memory: pages the host allocates through the model get page frame numbers of their own. A
//! page given to the module as metadata (`spdm_mt`, `stream_mt`) is the module's until the
//! object is deleted: the host cannot write it, and giving it again, or naming a page the model
//! did not hand out, is TDX_PAGE_METADATA_INCORRECT. A wrong operand or an object in the wrong
//! state is TDX_OPERAND_INVALID with the operand's register.
//!
//! The module programs the Root Port's end of a stream: TDH.IDE.STREAM.CREATE writes its
//! Selective IDE Stream registers (disabled), KM SETUP keys both ends over IDE_KM (the device in
//! the session, the Root Port through the platform's key port: `platform_fw.rs`) and enables the
//! Root Port's end, KM STOP stops the keys and disables it, BLOCK clears its registers.
//!
//! TDH.SPDM.MNG HEARTBEAT sends SPDM HEARTBEAT in the session and KEY_UPDATE renews its keys
//! (SPDM KEY_UPDATE UpdateAllKeys, then VerifyNewKey), which a leaf that found the keys needing
//! a refresh (TDX_SPDM_SESSION_KEY_REQUIRE_REFRESH) waits for. The session advertises
//! HEARTBEAT: the host drives heartbeats with TDH.SPDM.MNG (the other models' sessions do not,
//! since nothing there would keep the device's HeartbeatPeriod).
//!
//! Not modelled: the alternate key set of KM REFRESH (the keys of set 0 are stopped and
//! programmed afresh), Link IDE streams, more than one stream per device, and the ABI's own
//! DEV_INFO layout (`tdx_connect::DevInfo` is this project's).

use crate::{
    fw_job,
    platform_fw::{self, on_platform},
};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    alloc::{KVVec, KVec},
    new_mutex, pci,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex},
    uapi,
};
use tsm_proto::{
    doe,
    vendor::tdx_connect::{
        leaf, operand, parse_stream_info, root_entries, Args, DevInfo, HpaArray, SpdmConfig,
        SpdmMngOp, Status, StatusClass, StreamKmOp, NO_PAGE, RECOLLECT_NONCE_LEN,
        STREAM_CTRL_HOST_BITS,
    },
    wire,
};
use tsm_spdm::Connection;

/// Bytes of a page.
const PAGE: usize = 0x1000;

/// TDX Connect's sizes in the model.
const SPDM_MT_PAGES: u16 = 2;
const DEV_INFO_PAGES: u16 = 8;
const STREAM_MT_PAGES: u16 = 1;

/// Faults the model injects; each fires once.
#[derive(Clone, Copy, Default)]
pub(crate) struct Faults {
    /// Leaf whose first call fails at entry (0: none).
    pub(crate) leaf: u32,
    /// The completion status it fails with.
    pub(crate) status: u64,
    /// TDH.SPDM.CONNECT's relayed exchange of this number fails, as a device error would
    /// (0: never).
    pub(crate) relay: u32,
    /// Key step at which KM SETUP fails (1: after the device's KEY_PROGs, 2: before K_SET_GO).
    pub(crate) key_step: u32,
    /// Leaf whose first call finds the session keys needing a refresh (0: none).
    pub(crate) key_refresh: u32,
    /// Every this many calls is interrupted at entry (TDX_INTERRUPTED_RESUMABLE; 0: none).
    pub(crate) interrupt: u32,
}

/// One page of the model's memory, shared by the host's handle and the model.
pub(crate) type Memory = Arc<Mutex<KVVec<u8>>>;

struct PageEntry {
    pfn: u64,
    memory: Memory,
    /// Given to the module as metadata.
    module: bool,
}

/// What the module keeps of a device's SPDM session.
struct Link {
    spdm: Connection,
    version: u8,
    hash: u8,
    cert_chain: KVVec<u8>,
    vca: KVVec<u8>,
    measurements: KVVec<u8>,
}

impl Link {
    fn dev_info(&self) -> Result<KVVec<u8>> {
        let info = DevInfo {
            spdm_version: self.version,
            hash: self.hash,
            cert_chain: &self.cert_chain,
            vca: &self.vca,
            measurements: &self.measurements,
        };
        let mut out = KVVec::from_elem(0u8, info.len(), GFP_KERNEL)?;
        wire::encode_into(&mut out, |w| info.write(w)).map_err(|_| EINVAL)?;
        Ok(out)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StreamState {
    Created,
    Keyed,
    Stopped,
    Blocked,
}

struct StreamObj {
    id: u8,
    /// Configuration offset of the Root Port's Selective IDE Stream register block.
    rp_block: u16,
    mt: KVec<u64>,
    root: u64,
    state: StreamState,
}

/// An SPDM object (TDH.SPDM.CREATE to TDH.SPDM.DELETE).
struct SpdmObj {
    id: u64,
    pdev: ARef<pci::Device>,
    mt: KVec<u64>,
    root: u64,
    link: Option<Link>,
    /// The session keys must be updated (SPDM.MNG KEY_UPDATE) before the session is used.
    needs_key_update: bool,
    stream: Option<StreamObj>,
}

/// The call waiting for the host's relay (the extension's queue depth is one).
struct Pending {
    args: Args,
    relay: Arc<Relay>,
}

struct State {
    pages: KVec<PageEntry>,
    objects: KVec<SpdmObj>,
    pending: Option<Pending>,
    next_id: u64,
    calls: u64,
    fault_fired: bool,
    refresh_fired: bool,
    /// TDH.SPDM.CONNECT and KM SETUP jobs started (their faults hit the first one only).
    connects: u32,
    setups: u32,
}

/// The TDX Connect firmware model.
#[pin_data]
pub(crate) struct Model {
    #[pin]
    state: Mutex<State>,
    faults: Faults,
}

/// The next page frame number the model hands out (far from any real one).
static NEXT_PFN: AtomicU64 = AtomicU64::new(0xE_0000_0000);

struct JobEnd {
    status: Status,
    link: Option<Link>,
    /// DEV_INFO to write into the call's output pages.
    dev_info: Option<KVVec<u8>>,
}

type Relay = fw_job::Relay<JobEnd>;
type RelayDoe<'a> = fw_job::RelayDoe<'a, JobEnd>;
type Exchange = fw_job::Exchange<JobEnd>;

/// A completion status as the result of a model step.
type Tdx<T> = core::result::Result<T, Status>;

fn invalid(op: u32) -> Status {
    Status::new(StatusClass::OperandInvalid, op)
}

fn bad_page(op: u32) -> Status {
    Status::new(StatusClass::PageMetadataIncorrect, op)
}

const SUCCESS: Status = Status(0);

fn device_failure() -> Status {
    Status::new(StatusClass::DeviceFailure, 0)
}

/// The page frame number of a page-aligned physical address.
fn pfn_of(pa: u64, op: u32) -> Tdx<u64> {
    if pa % PAGE as u64 != 0 {
        return Err(invalid(op));
    }
    Ok(pa >> 12)
}

/// What a leaf asks of the firmware's SPDM requester.
enum Job {
    Connect,
    Disconnect,
    /// SPDM HEARTBEAT in the session.
    Heartbeat,
    /// SPDM KEY_UPDATE of both directions, verified.
    KeyUpdate,
    Recollect([u8; RECOLLECT_NONCE_LEN]),
    KeySetup(u8),
    KeyRefresh(u8),
    KeyStop(u8),
}

impl Model {
    /// A model with `faults`.
    pub(crate) fn new(faults: Faults) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                state <- new_mutex!(State {
                    pages: KVec::new(),
                    objects: KVec::new(),
                    pending: None,
                    next_id: 1,
                    calls: 0,
                    fault_fired: false,
                    refresh_fired: false,
                    connects: 0,
                    setups: 0,
                }),
                faults,
            }),
            GFP_KERNEL,
        )
    }

    /// The sizes the model asks for.
    pub(crate) fn info(&self) -> crate::firmware::Info {
        crate::firmware::Info {
            spdm_mt_pages: SPDM_MT_PAGES,
            dev_info_pages: DEV_INFO_PAGES,
            stream_mt_pages: STREAM_MT_PAGES,
        }
    }

    /// Allocates a zeroed page of the model's memory.
    pub(crate) fn alloc(&self) -> Result<(u64, Memory)> {
        let memory = Arc::pin_init(
            new_mutex!(KVVec::from_elem(0u8, PAGE, GFP_KERNEL)?),
            GFP_KERNEL,
        )?;
        let pfn = NEXT_PFN.fetch_add(1, Ordering::Relaxed);
        let page = PageEntry {
            pfn,
            memory: memory.clone(),
            module: false,
        };
        self.state.lock().pages.push(page, GFP_KERNEL)?;
        Ok((pfn, memory))
    }

    /// Returns the page at `pfn` to the host's allocator.
    pub(crate) fn free(&self, pfn: u64) {
        let mut state = self.state.lock();
        if let Some(i) = state.pages.iter().position(|p| p.pfn == pfn) {
            let _ = state.pages.remove(i);
        }
    }

    /// Whether the page at `pfn` is the module's.
    pub(crate) fn module_owned(&self, pfn: u64) -> bool {
        self.state
            .lock()
            .pages
            .iter()
            .any(|p| p.pfn == pfn && p.module)
    }

    /// Makes the page at `pfn` the module's, as a CREATE does with metadata pages; whether the
    /// model knows the page. For KUnit (built in; the backend is always a module), whose boot
    /// has no device of the platform to create an object for.
    #[cfg(not(MODULE))]
    pub(crate) fn take_for_test(&self, pfn: u64) -> bool {
        let mut state = self.state.lock();
        let known = state.pages.iter().any(|p| p.pfn == pfn);
        Self::set_owner(&mut state, &[pfn], true);
        known
    }

    /// Executes the leaf in `args` (the outputs replace its registers) and returns its status.
    pub(crate) fn call(&self, args: &mut Args) -> Status {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        state.calls += 1;
        let interrupt = u64::from(self.faults.interrupt);
        if interrupt != 0 && state.calls % interrupt == 0 {
            return Status::new(StatusClass::InterruptedResumable, 0);
        }
        let input = *args;
        let reissue = match &state.pending {
            Some(p) if p.args == input => true,
            Some(_) => return Status::new(StatusClass::OperandBusy, 0),
            None => false,
        };
        // A fault naming leaf 0 names none.
        let named = |fault: u32| fault != 0 && u64::from(fault) == input.leaf;
        if !reissue && !state.fault_fired && named(self.faults.leaf) {
            state.fault_fired = true;
            return Status(self.faults.status);
        }
        if !reissue && !state.refresh_fired && named(self.faults.key_refresh) {
            if let Some(obj) = state.objects.iter_mut().find(|o| o.id == input.rcx) {
                if obj.link.is_some() {
                    state.refresh_fired = true;
                    obj.needs_key_update = true;
                }
            }
        }
        match self.execute(state, args, reissue) {
            Ok(()) => SUCCESS,
            Err(status) => status,
        }
    }

    fn execute(&self, state: &mut State, args: &mut Args, reissue: bool) -> Tdx<()> {
        match args.leaf {
            leaf::SPDM_CREATE => Self::spdm_create(state, args),
            leaf::SPDM_DELETE => Self::spdm_delete(state, args),
            leaf::IDE_STREAM_CREATE => Self::stream_create(state, args),
            leaf::IDE_STREAM_BLOCK => Self::stream_block(state, args),
            leaf::IDE_STREAM_DELETE => Self::stream_delete(state, args),
            leaf::SPDM_CONNECT | leaf::SPDM_DISCONNECT | leaf::SPDM_MNG | leaf::IDE_STREAM_KM => {
                self.session_call(state, args, reissue)
            }
            _ => Err(invalid(0)),
        }
    }

    fn page(state: &State, pa: u64, op: u32) -> Tdx<&PageEntry> {
        let pfn = pfn_of(pa, op)?;
        state
            .pages
            .iter()
            .find(|p| p.pfn == pfn)
            .ok_or(bad_page(op))
    }

    /// A page of the host's (request, response, configuration, output) at `pa`.
    fn host_page(state: &State, pa: u64, op: u32) -> Tdx<Memory> {
        let page = Self::page(state, pa, op)?;
        if page.module {
            return Err(bad_page(op));
        }
        Ok(page.memory.clone())
    }

    /// The page frame numbers an HPA_ARRAY_T names (the page itself, or those its root page
    /// lists), each a host page.
    fn hpa_pages(state: &State, raw: u64, op: u32) -> Tdx<KVec<u64>> {
        let array = HpaArray::from_raw(raw);
        let mut pfns = KVec::new();
        let push = |pfns: &mut KVec<u64>, pfn: u64| -> Tdx<()> {
            let page = Self::page(state, pfn << 12, op)?;
            if page.module || pfns.contains(&pfn) {
                return Err(bad_page(op));
            }
            pfns.push(pfn, GFP_KERNEL)
                .map_err(|_| Status::new(StatusClass::Other, 0))
        };
        if array.count == 1 {
            push(&mut pfns, array.pfn)?;
            return Ok(pfns);
        }
        let root = Self::host_page(state, array.pfn << 12, op)?;
        let root = root.lock();
        for pa in root_entries(&root, array.count).map_err(|_| invalid(op))? {
            push(&mut pfns, pa >> 12)?;
        }
        Ok(pfns)
    }

    fn set_owner(state: &mut State, pfns: &[u64], module: bool) {
        for page in state.pages.iter_mut() {
            if pfns.contains(&page.pfn) {
                page.module = module;
                if !module {
                    // Released metadata pages come back cleared.
                    page.memory.lock().fill(0);
                }
            }
        }
    }

    fn object(state: &mut State, id: u64, op: u32) -> Tdx<&mut SpdmObj> {
        state
            .objects
            .iter_mut()
            .find(|o| o.id == id)
            .ok_or(invalid(op))
    }

    fn spdm_create(state: &mut State, args: &mut Args) -> Tdx<()> {
        // CAST: RID in bits 15:0.
        let rid = args.rcx as u16;
        if args.rcx >> 25 != 0 {
            return Err(invalid(operand::RCX));
        }
        let mut found: Option<ARef<pci::Device>> = None;
        pci::for_each_device(false, |pdev| {
            if found.is_none() && on_platform(pdev) && pdev.dev_id() == rid {
                found = Some(pdev.into());
            }
        });
        let pdev = found.ok_or(invalid(operand::RCX))?;
        if state.objects.iter().any(|o| o.pdev.dev_id() == rid) {
            return Err(invalid(operand::RCX));
        }
        if HpaArray::from_raw(args.rdx).count != SPDM_MT_PAGES {
            return Err(invalid(operand::RDX));
        }
        let mt = Self::hpa_pages(state, args.rdx, operand::RDX)?;
        Self::set_owner(state, &mt, true);
        let id = state.next_id;
        state.next_id += 1;
        let obj = SpdmObj {
            id,
            pdev,
            mt,
            root: args.rdx & !0xfff & ((1 << 52) - 1),
            link: None,
            needs_key_update: false,
            stream: None,
        };
        if state.objects.push(obj, GFP_KERNEL).is_err() {
            return Err(Status::new(StatusClass::Other, 0));
        }
        args.rcx = id;
        Ok(())
    }

    fn spdm_delete(state: &mut State, args: &mut Args) -> Tdx<()> {
        let i = state
            .objects
            .iter()
            .position(|o| o.id == args.rcx)
            .ok_or(invalid(operand::RCX))?;
        let obj = &state.objects[i];
        if obj.link.is_some() || obj.stream.is_some() {
            return Err(invalid(operand::RCX));
        }
        if args.rdx != obj.root {
            return Err(invalid(operand::RDX));
        }
        let obj = state.objects.remove(i).map_err(|_| invalid(operand::RCX))?;
        Self::set_owner(state, &obj.mt, false);
        // CAST: the count was checked at create.
        args.rcx = HpaArray {
            pfn: obj.root >> 12,
            count: obj.mt.len() as u16,
        }
        .raw()
        .unwrap_or(0);
        Ok(())
    }

    /// The Root Port's Selective IDE Stream register blocks: (offset, address blocks).
    fn rp_blocks(port: &pci::Device) -> Tdx<KVec<(u16, u16)>> {
        let cap = port.ide_cap().ok_or(invalid(operand::RCX))?;
        let fail = |_| invalid(operand::RCX);
        // CAST: the uapi register offsets are small.
        let caps = port
            .read_config_dword(cap + uapi::PCI_IDE_CAP as u16)
            .map_err(fail)?;
        let link_tcs = if caps & uapi::PCI_IDE_CAP_LINK != 0 {
            ((caps >> 13) & 7) + 1
        } else {
            0
        };
        let streams = ((caps >> 16) & 0xff) + 1;
        // CAST: at most 8 link blocks of 8 bytes.
        let mut at = cap + uapi::PCI_IDE_LINK_STREAM_0 as u16 + link_tcs as u16 * 8;
        let mut blocks = KVec::new();
        for _ in 0..streams {
            let sel_cap = port.read_config_dword(at).map_err(fail)?;
            // CAST: 4 bits.
            let assoc = (sel_cap & 0xf) as u16;
            blocks
                .push((at, assoc), GFP_KERNEL)
                .map_err(|_| Status::new(StatusClass::Other, 0))?;
            at += 20 + 12 * assoc;
        }
        Ok(blocks)
    }

    fn stream_create(state: &mut State, args: &mut Args) -> Tdx<()> {
        let (devfn, selective) = parse_stream_info(args.rcx).map_err(|_| invalid(operand::RCX))?;
        // Link IDE streams are not modelled.
        if !selective {
            return Err(invalid(operand::RCX));
        }
        // CAST: Selective IDE Stream Control values are 32 bits.
        let ctrl = args.r9 as u32;
        if args.r9 >> 32 != 0 || ctrl & !STREAM_CTRL_HOST_BITS != 0 {
            return Err(invalid(operand::R9));
        }
        if HpaArray::from_raw(args.r8).count != STREAM_MT_PAGES {
            return Err(invalid(operand::R8));
        }
        let mt = Self::hpa_pages(state, args.r8, operand::R8)?;
        let used: KVec<u8> = {
            let mut ids = KVec::new();
            for o in state.objects.iter() {
                if let Some(s) = &o.stream {
                    let _ = ids.push(s.id, GFP_KERNEL);
                }
            }
            ids
        };
        let pdev = {
            let obj = Self::object(state, args.rdx, operand::RDX)?;
            if obj.link.is_none() || obj.stream.is_some() || obj.needs_key_update {
                return Err(invalid(operand::RDX));
            }
            obj.pdev.clone()
        };
        let port = pdev.root_port().ok_or(invalid(operand::RCX))?;
        // CAST: devfn is bits 7:0 of the RID.
        if port.dev_id() as u8 != devfn {
            return Err(invalid(operand::RCX));
        }
        let blocks = Self::rp_blocks(port)?;
        // A free block: disabled, no RID association (its Stream ID may be the reserved one
        // the kernel's IDE library parks there).
        let free = blocks.iter().copied().find(|&(at, _)| {
            let ctl = port.read_config_dword(at + 4).unwrap_or(1);
            let rid2 = port.read_config_dword(at + 0x10).unwrap_or(1);
            ctl & 1 == 0 && rid2 & 1 == 0
        });
        let (block, assoc) = free.ok_or(invalid(operand::RCX))?;
        let index = blocks.iter().position(|&(at, _)| at == block).unwrap_or(0);
        let id = (0..=u8::MAX)
            .find(|id| !used.contains(id))
            .ok_or(invalid(operand::RCX))?;
        // CAST: association registers are 32 bits.
        let write = |off: u16, v: u64| port.write_config_dword(block + off, v as u32);
        let programmed = write(0x0c, args.r10)
            .and_then(|()| write(0x10, args.r11))
            .and_then(|()| {
                if assoc == 0 {
                    return Ok(());
                }
                write(0x14, args.r12)?;
                write(0x18, args.r13)?;
                write(0x1c, args.r14)
            })
            .and_then(|()| write(4, u64::from(ctrl) | (u64::from(id) << 24)));
        if programmed.is_err() {
            Self::clear_block(port, block);
            return Err(device_failure());
        }
        let root = args.r8 & !0xfff & ((1 << 52) - 1);
        Self::set_owner(state, &mt, true);
        let obj = Self::object(state, args.rdx, operand::RDX)?;
        obj.stream = Some(StreamObj {
            id,
            rp_block: block,
            mt,
            root,
            state: StreamState::Created,
        });
        args.rcx = id.into();
        // CAST: at most 256 blocks.
        args.rdx = index as u64;
        Ok(())
    }

    /// Clears a Root Port stream register block (Control, RID and the first address block).
    fn clear_block(port: &pci::Device, block: u16) {
        for off in [4u16, 0x0c, 0x10, 0x14, 0x18, 0x1c] {
            let _ = port.write_config_dword(block + off, 0);
        }
    }

    fn stream_of<'a>(
        state: &'a mut State,
        args: &Args,
    ) -> Tdx<(ARef<pci::Device>, &'a mut StreamObj)> {
        let obj = Self::object(state, args.rcx, operand::RCX)?;
        let pdev = obj.pdev.clone();
        let stream = obj
            .stream
            .as_mut()
            .filter(|s| u64::from(s.id) == args.rdx)
            .ok_or(invalid(operand::RDX))?;
        Ok((pdev, stream))
    }

    fn stream_block(state: &mut State, args: &mut Args) -> Tdx<()> {
        let (pdev, stream) = Self::stream_of(state, args)?;
        if !matches!(stream.state, StreamState::Created | StreamState::Stopped) {
            return Err(invalid(operand::RDX));
        }
        let port = pdev.root_port().ok_or(invalid(operand::RCX))?;
        Self::clear_block(port, stream.rp_block);
        stream.state = StreamState::Blocked;
        Ok(())
    }

    fn stream_delete(state: &mut State, args: &mut Args) -> Tdx<()> {
        let (_, stream) = Self::stream_of(state, args)?;
        if stream.state != StreamState::Blocked {
            return Err(invalid(operand::RDX));
        }
        if stream.root != args.r8 {
            return Err(invalid(operand::R8));
        }
        let obj = Self::object(state, args.rcx, operand::RCX)?;
        let Some(stream) = obj.stream.take() else {
            return Err(invalid(operand::RDX));
        };
        Self::set_owner(state, &stream.mt, false);
        // CAST: the count was checked at create.
        args.rcx = HpaArray {
            pfn: stream.root >> 12,
            count: stream.mt.len() as u16,
        }
        .raw()
        .unwrap_or(0);
        Ok(())
    }

    /// The response and request page addresses of a session leaf, and the request's operand.
    fn relay_pages(args: &Args) -> (u64, u64, u32) {
        match args.leaf {
            leaf::SPDM_CONNECT => (args.r8, args.r9, operand::R9),
            leaf::SPDM_DISCONNECT => (args.rdx, args.r8, operand::R8),
            _ => (args.r9, args.r10, operand::R10),
        }
    }

    /// A leaf that needs the device: starts its job (or hands it the host's answer) and runs it
    /// to its next relay or its end.
    fn session_call(&self, state: &mut State, args: &mut Args, reissue: bool) -> Tdx<()> {
        let input = *args;
        let (rsp_pa, req_pa, req_op) = Self::relay_pages(args);
        let rsp_op = match args.leaf {
            leaf::SPDM_CONNECT => operand::R8,
            leaf::SPDM_DISCONNECT => operand::RDX,
            _ => operand::R9,
        };
        let rsp = Self::host_page(state, rsp_pa, rsp_op)?;
        let req = Self::host_page(state, req_pa, req_op)?;
        let relay = if reissue {
            let Some(pending) = state.pending.take() else {
                return Err(invalid(0));
            };
            let answer = {
                let rsp = rsp.lock();
                let len = doe::Header::read(&mut wire::Reader::new(&rsp))
                    .map(|h| h.len_bytes())
                    .unwrap_or(0);
                rsp.get(..len)
                    .and_then(|object| doe::decode_object(object).ok())
                    .and_then(|(_, payload)| {
                        let mut v = KVVec::new();
                        v.extend_from_slice(payload, GFP_KERNEL).ok()?;
                        Some(v)
                    })
            };
            // A malformed answer is an empty one: the job's exchange fails.
            pending.relay.answer(Some(answer.unwrap_or(KVVec::new())));
            pending.relay
        } else {
            self.start(state, args)?
        };
        let object_type;
        let payload;
        loop {
            match relay.next() {
                Exchange::Request(t, p) => {
                    object_type = t;
                    payload = p;
                    break;
                }
                Exchange::Done(end) => return self.finish(state, args, end),
                _ => relay.answer(None),
            }
        }
        let mut req = req.lock();
        req.fill(0);
        match doe::encode_object(doe::PCI_SIG_VENDOR_ID, object_type, &payload, &mut req) {
            Ok(len) => {
                // CAST: at most a page.
                args.rcx = len as u64;
                // The reissue is matched on the inputs.
                state.pending = Some(Pending { args: input, relay });
                Err(Status::new(StatusClass::SpdmRequest, 0))
            }
            Err(_) => {
                drop(req);
                let end = relay.abandon();
                self.finish(state, args, end)
            }
        }
    }

    /// Checks a session leaf's operands and starts its job.
    fn start(&self, state: &mut State, args: &Args) -> Tdx<Arc<Relay>> {
        let refresh = Status::new(StatusClass::SessionKeyRequireRefresh, 0);
        let job = match args.leaf {
            leaf::SPDM_CONNECT => {
                let conf = Self::host_page(state, args.rdx, operand::RDX)?;
                let config = SpdmConfig::decode(&conf.lock()).map_err(|_| invalid(operand::RDX))?;
                if config.certificate_slot_mask & 1 == 0 {
                    return Err(invalid(operand::RDX));
                }
                if HpaArray::from_raw(args.r10).count > DEV_INFO_PAGES {
                    return Err(invalid(operand::R10));
                }
                Self::hpa_pages(state, args.r10, operand::R10)?;
                if Self::object(state, args.rcx, operand::RCX)?.link.is_some() {
                    return Err(invalid(operand::RCX));
                }
                Job::Connect
            }
            leaf::SPDM_DISCONNECT => {
                let obj = Self::object(state, args.rcx, operand::RCX)?;
                if obj.link.is_none() || obj.stream.is_some() {
                    return Err(invalid(operand::RCX));
                }
                Job::Disconnect
            }
            leaf::SPDM_MNG => {
                let op = args.rdx;
                let recollect = op == SpdmMngOp::DevInfoRecollect as u64;
                let mut nonce = [0u8; RECOLLECT_NONCE_LEN];
                if recollect {
                    let param = Self::host_page(state, args.r8, operand::R8)?;
                    nonce.copy_from_slice(&param.lock()[..RECOLLECT_NONCE_LEN]);
                    if args.r11 == NO_PAGE || HpaArray::from_raw(args.r11).count > DEV_INFO_PAGES {
                        return Err(invalid(operand::R11));
                    }
                    Self::hpa_pages(state, args.r11, operand::R11)?;
                }
                let obj = Self::object(state, args.rcx, operand::RCX)?;
                if obj.link.is_none() {
                    return Err(invalid(operand::RCX));
                }
                match op {
                    o if o == SpdmMngOp::KeyUpdate as u64 => Job::KeyUpdate,
                    _ if obj.needs_key_update => return Err(refresh),
                    o if o == SpdmMngOp::Heartbeat as u64 => Job::Heartbeat,
                    _ if recollect => Job::Recollect(nonce),
                    _ => return Err(invalid(operand::RDX)),
                }
            }
            _ => {
                let obj = Self::object(state, args.rcx, operand::RCX)?;
                if obj.link.is_none() {
                    return Err(invalid(operand::RCX));
                }
                if obj.needs_key_update {
                    return Err(refresh);
                }
                let stream = obj
                    .stream
                    .as_ref()
                    .filter(|s| u64::from(s.id) == args.rdx)
                    .ok_or(invalid(operand::RDX))?;
                match (args.r8, stream.state) {
                    (o, StreamState::Created) if o == StreamKmOp::Setup as u64 => {
                        Job::KeySetup(stream.id)
                    }
                    (o, StreamState::Keyed) if o == StreamKmOp::Refresh as u64 => {
                        Job::KeyRefresh(stream.id)
                    }
                    (o, StreamState::Created | StreamState::Keyed)
                        if o == StreamKmOp::Stop as u64 =>
                    {
                        Job::KeyStop(stream.id)
                    }
                    (o, _) if o <= StreamKmOp::Stop as u64 => return Err(invalid(operand::RDX)),
                    _ => return Err(invalid(operand::R8)),
                }
            }
        };
        // Every fault fires once: the first connect and the first key setup meet them.
        let mut fail_at = 0;
        let mut key_step = 0;
        match job {
            Job::Connect => {
                state.connects += 1;
                if state.connects == 1 {
                    fail_at = self.faults.relay.into();
                }
            }
            Job::KeySetup(_) => {
                state.setups += 1;
                if state.setups == 1 {
                    key_step = self.faults.key_step;
                }
            }
            _ => {}
        }
        let obj = Self::object(state, args.rcx, operand::RCX)?;
        let link = obj.link.take();
        let pdev = obj.pdev.clone();
        Relay::start(fail_at, move |relay| job.run(&pdev, relay, link, key_step))
            .map_err(|_| Status::new(StatusClass::Other, 0))
    }

    /// Copies DEV_INFO into the pages the HPA_ARRAY_T `raw` names.
    fn write_dev_info(state: &State, raw: u64, op: u32, data: &[u8]) -> Tdx<u64> {
        let pfns = Self::hpa_pages(state, raw, op)?;
        if data.len() > pfns.len() * PAGE {
            return Err(invalid(op));
        }
        for (chunk, pfn) in data.chunks(PAGE).zip(pfns.iter()) {
            let page = Self::host_page(state, pfn << 12, op)?;
            page.lock()[..chunk.len()].copy_from_slice(chunk);
        }
        // CAST: at most a few pages.
        Ok(data.len() as u64)
    }

    /// Applies the end of a leaf's job.
    fn finish(&self, state: &mut State, args: &mut Args, end: JobEnd) -> Tdx<()> {
        let obj = Self::object(state, args.rcx, operand::RCX)?;
        obj.link = end.link;
        let ok = end.status == SUCCESS;
        match args.leaf {
            leaf::SPDM_MNG if ok && args.rdx == SpdmMngOp::KeyUpdate as u64 => {
                obj.needs_key_update = false;
            }
            leaf::IDE_STREAM_KM => {
                let pdev = obj.pdev.clone();
                if let (Some(stream), Some(port)) = (obj.stream.as_mut(), pdev.root_port()) {
                    let ctl = stream.rp_block + 4;
                    let value = port.read_config_dword(ctl).unwrap_or(0);
                    if args.r8 == StreamKmOp::Setup as u64 && ok {
                        let _ = port.write_config_dword(ctl, value | 1);
                        stream.state = StreamState::Keyed;
                    } else if args.r8 == StreamKmOp::Stop as u64 {
                        // Stopped whatever the device answered: its keys are gone from use.
                        let _ = port.write_config_dword(ctl, value & !1);
                        stream.state = StreamState::Stopped;
                    }
                }
            }
            _ => {}
        }
        if !ok {
            return Err(end.status);
        }
        if let Some(info) = end.dev_info {
            let (raw, op) = match args.leaf {
                leaf::SPDM_CONNECT => (args.r10, operand::R10),
                _ => (args.r11, operand::R11),
            };
            args.rcx = Self::write_dev_info(state, raw, op, &info)?;
        }
        Ok(())
    }
}

impl Job {
    fn run(self, pdev: &pci::Device, relay: &Relay, link: Option<Link>, key_step: u32) -> JobEnd {
        let mut doe = fw_job::RelayDoe(relay);
        let end = |status, link, dev_info| JobEnd {
            status,
            link,
            dev_info,
        };
        let Some(mut link) = link else {
            return match self {
                Job::Connect => match Self::connect(pdev, &mut doe) {
                    Ok((link, info)) => end(SUCCESS, Some(link), Some(info)),
                    Err(status) => end(status, None, None),
                },
                _ => end(invalid(operand::RCX), None, None),
            };
        };
        let status = match self {
            Job::Connect => invalid(operand::RCX),
            Job::Disconnect => {
                // The session's keys are gone whatever the device answers.
                platform_fw::end_session(pdev, &mut link.spdm, &mut doe);
                return end(SUCCESS, None, None);
            }
            Job::Heartbeat => match link.spdm.heartbeat(&mut doe) {
                Ok(()) => SUCCESS,
                Err(e) => {
                    dev_warn!(pdev.as_ref(), "TDX Connect model: HEARTBEAT: {:?}\n", e);
                    device_failure()
                }
            },
            Job::KeyUpdate => match link.spdm.key_update(&mut doe) {
                Ok(()) => SUCCESS,
                Err(e) => {
                    dev_warn!(pdev.as_ref(), "TDX Connect model: KEY_UPDATE: {:?}\n", e);
                    device_failure()
                }
            },
            Job::Recollect(nonce) => match link.spdm.measure(&mut doe, Some(&nonce)) {
                Ok(m) => {
                    link.measurements = m;
                    return match link.dev_info() {
                        Ok(info) => end(SUCCESS, Some(link), Some(info)),
                        Err(_) => end(Status::new(StatusClass::Other, 0), Some(link), None),
                    };
                }
                Err(_) => device_failure(),
            },
            Job::KeySetup(id) => {
                let fault = fw_job::key_fault(key_step);
                match platform_fw::key_stream(pdev, &mut link.spdm, &mut doe, id, fault) {
                    Ok(()) => SUCCESS,
                    Err(_) => device_failure(),
                }
            }
            Job::KeyRefresh(id) => {
                let _ = platform_fw::unkey_stream(pdev, &mut link.spdm, &mut doe, id);
                match platform_fw::key_stream(pdev, &mut link.spdm, &mut doe, id, |_| Ok(())) {
                    Ok(()) => SUCCESS,
                    Err(_) => device_failure(),
                }
            }
            Job::KeyStop(id) => match platform_fw::unkey_stream(pdev, &mut link.spdm, &mut doe, id)
            {
                Ok(()) => SUCCESS,
                Err(_) => device_failure(),
            },
        };
        end(status, Some(link), None)
    }

    /// Authenticates the device and opens the session; returns it with its DEV_INFO.
    fn connect(pdev: &pci::Device, doe: &mut RelayDoe<'_>) -> Tdx<(Link, KVVec<u8>)> {
        let (spdm, shown) = fw_job::authenticated_session(pdev, doe, "TDX Connect", true)
            .map_err(|_| device_failure())?;
        let hash = match shown.algorithms.hash {
            tsm_proto::spdm::crypto::HashAlgo::Sha256 => 0,
            tsm_proto::spdm::crypto::HashAlgo::Sha384 => 1,
        };
        let link = Link {
            spdm,
            version: shown.version,
            hash,
            cert_chain: shown.cert_chain,
            vca: shown.vca,
            measurements: shown.measurements,
        };
        let info = link
            .dev_info()
            .map_err(|_| Status::new(StatusClass::Other, 0))?;
        Ok((link, info))
    }
}
