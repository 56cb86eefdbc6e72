// SPDX-License-Identifier: GPL-2.0

//! Intel TDX Connect link TSM backend.
//!
//! Secures PCIe devices through the TDX Connect leaves of the TDX Module Extension, as the
//! unmerged host series "PCI/TSM: TDX Connect: SPDM Session and IDE Establishment" (Xu Yilun,
//! v1, 2025-11-17; devsec `tdx-host.c`) issues them after Intel's "TDX Connect ABI
//! Specification" (doc 858625), encoded with `tsm_proto::vendor::tdx_connect` (**not
//! confirmed** against that document, which is not public here).
//!
//! * `connect`: TDH.SPDM.CREATE gives the module the SPDM object's metadata pages;
//!   TDH.SPDM.CONNECT authenticates the device and opens the session, filling the DEV_INFO
//!   pages (certificate chain, VCA, measurements); a stream is allocated with the kernel's IDE
//!   library and TDH.IDE.STREAM.CREATE makes the module program the Root Port's end and choose
//!   the Stream ID; the host sets up the Endpoint's end; TDH.IDE.STREAM.KM SETUP keys both ends
//!   and enables the Root Port's; the host enables the Endpoint's, which reads Secure only with
//!   the module's keys. DEV_INFO is published as evidence (`cert0`, `vca`, `measurements`).
//!   A leaf that needs the device returns TDX_SPDM_REQUEST with a DOE object in the request
//!   page: the backend exchanges it with the device (`kernel::tsm::doe_transfer`), writes the
//!   answer into the response page and issues the identical leaf again, until it completes; a
//!   DOE failure is answered with an empty object, which ends the leaf with an error.
//!   TDX_INTERRUPTED_RESUMABLE is reissued as is, and TDX_SPDM_SESSION_KEY_REQUIRE_REFRESH is
//!   answered with TDH.SPDM.MNG KEY_UPDATE before the leaf is issued again. The extension
//!   takes one call at a time: all calls are serialized. Any failure undoes what was done.
//! * `disconnect`: KM STOP, TDH.IDE.STREAM.BLOCK and DELETE (the metadata pages come back),
//!   the stream released, TDH.SPDM.DISCONNECT, TDH.SPDM.DELETE. A teardown leaf that fails is
//!   issued once more; if it fails again, the pages the module still holds are never reused.
//! * `refresh_evidence`: TDH.SPDM.MNG HEARTBEAT, KM REFRESH of the stream keys when
//!   `refresh_keys=1`, then DEV_INFO_RECOLLECT with the nonce, republished.
//! * TDI binding: `EOPNOTSUPP`. The TDI leaves (TDH.DEVIF.*, TDH.DMAR.*, TDH.MMIO.*) exist only
//!   in prototypes without a public ABI, and 7.3's core has no TDI binding to drive them.
//!
//! Two firmware transports ([`firmware::Firmware`]), chosen by the module parameter `model`:
//! `model=0` (default) SEAMCALL through `kernel::tsm::seamcall` (**compiled only**: 7.3 has no
//! TDX Module Extension, so loading fails with `ENODEV`), and `model=1` the firmware model of
//! the emulated platform (`drivers/virt/coco/tsm/emu/tdx_connect_model.rs`), with fault
//! injection, each fault firing once: `fail_leaf`/`fail_status` (the first call of a leaf
//! fails with that status), `fail_relay`, `fail_key`, `key_refresh` (the first call of a leaf
//! finds the session keys needing an update) and `interrupt` (every Nth call is interrupted).

use kernel::{
    alloc::KVVec,
    faux,
    pci::{
        self,
        ide::{Partner, Stream},
    },
    prelude::*,
    sync::{new_mutex, Arc, Mutex},
    tsm::{
        self,
        evidence::{self, Evidence, Hash, Kind},
        LinkTsm, TsmDevice,
    },
};
use tsm_proto::{
    doe,
    vendor::tdx_connect::{
        func_id, stream_info, Args, DevInfo, SpdmMngOp, StatusClass, StreamKmOp, NO_PAGE,
        RECOLLECT_NONCE_LEN,
    },
};

mod commands;
mod firmware;
#[cfg(CONFIG_TSM_EMU)]
#[path = "../emu/fw_job.rs"]
#[allow(dead_code)]
mod fw_job;
#[cfg(CONFIG_TSM_EMU)]
#[path = "../emu/tdx_connect_model.rs"]
mod model;
#[cfg(CONFIG_TSM_EMU)]
#[path = "../emu/platform_fw.rs"]
#[allow(dead_code)]
mod platform_fw;

use commands::{status_errno, write_spdm_config, PageArray, PAGE};
use firmware::{Firmware, Info, Page};

module! {
    type: TdxConnectModule,
    name: "tsm_tdx_connect",
    authors: ["tsm-rs developers"],
    description: "Intel TDX Connect link TSM backend",
    license: "GPL",
    params: {
        model: u32 {
            default: 0,
            description: "Firmware: 0 SEAMCALL, 1 the emulated platform's model",
        },
        refresh_keys: u32 {
            default: 0,
            description: "1: refresh the IDE stream keys with each evidence refresh",
        },
        fail_leaf: u32 {
            default: 0,
            description: "Model: TDX Connect leaf whose first call fails at entry (0: none)",
        },
        fail_status: u64 {
            default: 0xC000_0F40_0000_0000,
            description: "Model: the completion status fail_leaf fails with",
        },
        fail_relay: u32 {
            default: 0,
            description: "Model: the TDH.SPDM.CONNECT exchange of this number fails",
        },
        fail_key: u32 {
            default: 0,
            description: "Model: key step that fails (1 after device KEY_PROG, 2 before K_SET_GO)",
        },
        key_refresh: u32 {
            default: 0,
            description: "Model: leaf whose first call needs a session KEY_UPDATE (0: none)",
        },
        interrupt: u32 {
            default: 0,
            description: "Model: every this many calls are interrupted (resumable; 0: none)",
        },
    },
}

/// The firmware this module drives.
enum Transport {
    Seam(firmware::Seam),
    #[cfg(CONFIG_TSM_EMU)]
    Model(firmware::ModelFirmware),
}

impl Transport {
    fn get(&self) -> &dyn Firmware {
        match self {
            Transport::Seam(seam) => seam,
            #[cfg(CONFIG_TSM_EMU)]
            Transport::Model(m) => m,
        }
    }

    fn new() -> Result<Self> {
        if module_parameters::model.value() != 0 {
            #[cfg(CONFIG_TSM_EMU)]
            {
                let faults = model::Faults {
                    leaf: module_parameters::fail_leaf.value(),
                    status: module_parameters::fail_status.value(),
                    relay: module_parameters::fail_relay.value(),
                    key_step: module_parameters::fail_key.value(),
                    key_refresh: module_parameters::key_refresh.value(),
                    interrupt: module_parameters::interrupt.value(),
                };
                return Ok(Transport::Model(firmware::ModelFirmware(
                    model::Model::new(faults)?,
                )));
            }
            #[cfg(not(CONFIG_TSM_EMU))]
            return Err(ENODEV);
        }
        Ok(Transport::Seam(firmware::Seam))
    }
}

kernel::sync::global_lock! {
    // SAFETY: `TdxConnectModule::init` initialises the lock before registering the TSM, the
    // only way into this module's users of it.
    unsafe(uninit) static FIRMWARE: Mutex<Option<(Arc<Transport>, Info)>> = None;
}

kernel::sync::global_lock! {
    // SAFETY: Initialised with `FIRMWARE`, in `TdxConnectModule::init`.
    unsafe(uninit) static CALLS: Mutex<()> = ();
}

fn firmware() -> Result<(Arc<Transport>, Info)> {
    FIRMWARE.lock().clone().ok_or(ENODEV)
}

struct TdxConnectModule {
    // Fields drop in declaration order: the TSM goes before the device it hangs from.
    _tsm: tsm::Registration,
    _parent: faux::Registration,
}

impl kernel::Module for TdxConnectModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: Runs once, before the TSM that uses the locks is registered.
        unsafe { FIRMWARE.init() };
        // SAFETY: As above.
        unsafe { CALLS.init() };
        let transport = Arc::new(Transport::new()?, GFP_KERNEL)?;
        let info = transport.get().info()?;
        *FIRMWARE.lock() = Some((transport, info));
        let parent = faux::Registration::new(c"tsm_tdx_connect", None)?;
        let tsm = tsm::Registration::new_link::<TdxConnect>(parent.as_ref().as_ref())?;
        Ok(Self {
            _tsm: tsm,
            _parent: parent,
        })
    }
}

impl Drop for TdxConnectModule {
    fn drop(&mut self) {
        // Connected devices keep their own reference to the firmware for their disconnect.
        FIRMWARE.lock().take();
    }
}

/// Most relays and resumptions of one leaf (a module that never completes is stopped).
const MAX_STEPS: usize = 4096;

impl PageArray {
    /// Pages the module did not give back are never reused.
    fn leak(self) {
        core::mem::forget(self);
    }
}

/// What the backend keeps for a managed function.
enum Function {
    /// The DSM, with its state while connected.
    Dsm(Arc<Mutex<Option<Device>>>),
    /// Another function of a connected DSM.
    SubFunction,
}

/// The module's stream of a connected device.
struct IdeStream {
    stream: Stream,
    id: u8,
    mt: Option<PageArray>,
    keyed: bool,
}

/// A connected (or connecting) device.
struct Device {
    fw: Arc<Transport>,
    info: Info,
    spdm_mt: Option<PageArray>,
    spdm_id: Option<u64>,
    connected: bool,
    conf: KBox<dyn Page>,
    rsp: KBox<dyn Page>,
    req: KBox<dyn Page>,
    param: KBox<dyn Page>,
    dev_info: PageArray,
    stream: Option<IdeStream>,
}

impl Device {
    fn new(fw: Arc<Transport>, info: Info) -> Result<Self> {
        let f = fw.get();
        Ok(Self {
            conf: f.alloc()?,
            rsp: f.alloc()?,
            req: f.alloc()?,
            param: f.alloc()?,
            dev_info: PageArray::new(f, info.dev_info_pages)?,
            spdm_mt: None,
            spdm_id: None,
            connected: false,
            stream: None,
            info,
            fw,
        })
    }

    fn id(&self) -> Result<u64> {
        self.spdm_id.ok_or(EINVAL)
    }

    /// Issues `args` until it completes, relaying the device's DOE objects; returns the
    /// outputs. The extension takes one call at a time.
    fn issue(&mut self, pdev: &pci::Device, what: &str, args: Args) -> Result<Args> {
        let _one = CALLS.lock();
        self.run(pdev, what, args, true)
    }

    fn run(&mut self, pdev: &pci::Device, what: &str, args: Args, refresh: bool) -> Result<Args> {
        let mut refresh = refresh;
        for _ in 0..MAX_STEPS {
            let (status, out) = commands::call(self.fw.get(), args)?;
            match status.class() {
                StatusClass::Success => return Ok(out),
                StatusClass::InterruptedResumable => {}
                StatusClass::SpdmRequest => {
                    // CAST: a length within the request page, checked by `relay`.
                    self.relay(pdev, out.rcx as usize)?;
                }
                StatusClass::SessionKeyRequireRefresh if refresh => {
                    refresh = false;
                    dev_info!(pdev.as_ref(), "TDX Connect: {}: session KEY_UPDATE\n", what);
                    let update = Args::spdm_mng(
                        self.id()?,
                        SpdmMngOp::KeyUpdate,
                        NO_PAGE,
                        self.rsp.pfn() << 12,
                        self.req.pfn() << 12,
                        NO_PAGE,
                    );
                    self.run(pdev, "TDH.SPDM.MNG KEY_UPDATE", update, false)?;
                }
                _ => {
                    dev_warn!(pdev.as_ref(), "{}: status {:#018x}\n", what, status.0);
                    return Err(status_errno(status));
                }
            }
        }
        dev_warn!(pdev.as_ref(), "{}: does not complete\n", what);
        Err(ETIMEDOUT)
    }

    /// Exchanges the DOE object of `len` bytes in the request page with the device and puts
    /// the answer into the response page. Whatever goes wrong, an answer is written: a
    /// failed exchange gets an empty object, which ends the leaf with an error rather than
    /// leaving it pending in the module (whose queue depth is one).
    fn relay(&mut self, pdev: &pci::Device, len: usize) -> Result {
        let mut object = KVVec::from_elem(0u8, len.min(PAGE), GFP_KERNEL)?;
        self.req.read(0, &mut object)?;
        let mut answer = KVVec::from_elem(0u8, PAGE - doe::HEADER_LEN, GFP_KERNEL)?;
        let (vendor_id, object_type, got) = match doe::decode_object(&object) {
            Ok((header, payload)) => {
                let got = tsm::doe_transfer(pdev, header.object_type, payload, &mut answer)
                    .unwrap_or_else(|e| {
                        dev_warn!(pdev.as_ref(), "TDX Connect: DOE exchange: {:?}\n", e);
                        0
                    });
                (header.vendor_id, header.object_type, got)
            }
            Err(_) => {
                dev_warn!(
                    pdev.as_ref(),
                    "TDX Connect: malformed DOE object from the module\n"
                );
                (doe::PCI_SIG_VENDOR_ID, doe::TYPE_CMA, 0)
            }
        };
        let mut page = KVVec::from_elem(0u8, PAGE, GFP_KERNEL)?;
        let n = doe::encode_object(vendor_id, object_type, &answer[..got], &mut page)
            .map_err(|_| EMSGSIZE)?;
        self.rsp.write(0, &page[..n])
    }

    /// The evidence in `len` bytes of DEV_INFO.
    fn evidence(&self, len: u64) -> Result<Evidence> {
        let raw = self
            .dev_info
            .read(usize::try_from(len).map_err(|_| EPROTO)?)?;
        let info = DevInfo::decode(&raw).map_err(|_| EPROTO)?;
        let hash = if info.hash == 0 {
            Hash::Sha256
        } else {
            Hash::Sha384
        };
        let mut evidence = Evidence::new(Some(hash));
        evidence.set(Kind::Cert0, info.cert_chain)?;
        evidence.set(Kind::Vca, info.vca)?;
        if !info.measurements.is_empty() {
            evidence.set(Kind::Measurements, info.measurements)?;
        }
        Ok(evidence)
    }

    /// Connects the DSM `pdev` and returns its evidence.
    fn connect(&mut self, pdev: &pci::Device) -> Result<Evidence> {
        let f = self.fw.clone();
        let spdm_mt = self
            .spdm_mt
            .insert(PageArray::new(f.get(), self.info.spdm_mt_pages)?);
        let create =
            Args::spdm_create(func_id(pdev.dev_id(), None), spdm_mt.hpa()).map_err(|_| EINVAL)?;
        self.spdm_id = Some(self.issue(pdev, "TDH.SPDM.CREATE", create)?.rcx);

        write_spdm_config(&mut *self.conf)?;
        let connect = Args::spdm_connect(
            self.id()?,
            self.conf.pfn() << 12,
            self.rsp.pfn() << 12,
            self.req.pfn() << 12,
            self.dev_info.hpa(),
        )
        .map_err(|_| EINVAL)?;
        let len = self.issue(pdev, "TDH.SPDM.CONNECT", connect)?.rcx;
        self.connected = true;
        let evidence = self.evidence(len)?;

        let root_port = pdev.root_port().ok_or(ENODEV)?;
        let mut stream = IdeStream {
            stream: Stream::alloc(pdev)?,
            id: 0,
            mt: Some(PageArray::new(f.get(), self.info.stream_mt_pages)?),
            keyed: false,
        };
        let rid = u32::from(pdev.dev_id());
        let create = Args::ide_stream_create(
            // CAST: devfn is bits 7:0 of the RID.
            stream_info(root_port.dev_id() as u8, true),
            self.id()?,
            stream.mt.as_ref().ok_or(EINVAL)?.hpa(),
            // Traffic class 0, no PCRC.
            0,
            // The Root Port's RID association: the Endpoint (7.3's pci_ide_stream_alloc()).
            [rid << 8, 1 | (rid << 8)],
            // No address association.
            [0; 3],
        )
        .map_err(|_| EINVAL)?;
        // On failure the module did not take the stream's pages: they go with `stream`.
        let created = self.issue(pdev, "TDH.IDE.STREAM.CREATE", create)?;
        // CAST: Stream IDs are 8 bits.
        stream.id = created.rcx as u8;
        let id = stream.id;
        self.stream = Some(stream);
        let s = &mut self.stream.as_mut().ok_or(EINVAL)?.stream;
        s.set_stream_id(id)?;
        s.register()?;
        s.setup(Partner::Endpoint)?;

        let km = Args::ide_stream_km(
            self.id()?,
            id.into(),
            StreamKmOp::Setup,
            self.rsp.pfn() << 12,
            self.req.pfn() << 12,
        );
        self.issue(pdev, "TDH.IDE.STREAM.KM SETUP", km)?;
        let stream = self.stream.as_mut().ok_or(EINVAL)?;
        stream.keyed = true;
        // The IDE library refuses an end that does not read Secure.
        stream.stream.enable(Partner::Endpoint)?;
        dev_info!(
            pdev.as_ref(),
            "TDX Connect: connected, IDE Stream ID {} keyed by the TDX module, Secure\n",
            id
        );
        Ok(evidence)
    }

    /// Issues a teardown leaf, once more if it fails.
    fn teardown_leaf(&mut self, pdev: &pci::Device, what: &str, args: Args) -> Result<Args> {
        self.issue(pdev, what, args)
            .or_else(|_| self.issue(pdev, what, args))
    }

    /// Undoes whatever `connect` did.
    fn teardown(&mut self, pdev: &pci::Device) {
        if let Some(mut stream) = self.stream.take() {
            let id = self.spdm_id.unwrap_or(0);
            if stream.keyed {
                let stop = Args::ide_stream_km(
                    id,
                    stream.id.into(),
                    StreamKmOp::Stop,
                    self.rsp.pfn() << 12,
                    self.req.pfn() << 12,
                );
                let _ = self.teardown_leaf(pdev, "TDH.IDE.STREAM.KM STOP", stop);
            }
            if let Some(mt) = stream.mt.take() {
                let block = Args::ide_stream_block(id, stream.id.into());
                let deleted = self
                    .teardown_leaf(pdev, "TDH.IDE.STREAM.BLOCK", block)
                    .and_then(|_| {
                        let delete = Args::ide_stream_delete(id, stream.id.into(), mt.root_pa());
                        self.teardown_leaf(pdev, "TDH.IDE.STREAM.DELETE", delete)
                    });
                if deleted.is_err() {
                    mt.leak();
                }
            }
            // Dropping the stream disables and releases the Endpoint's end.
        }
        if self.connected {
            let disconnect = Args::spdm_disconnect(
                self.spdm_id.unwrap_or(0),
                self.rsp.pfn() << 12,
                self.req.pfn() << 12,
            );
            let _ = self.teardown_leaf(pdev, "TDH.SPDM.DISCONNECT", disconnect);
            self.connected = false;
        }
        if let Some(mt) = self.spdm_mt.take() {
            let deleted = match self.spdm_id.take() {
                Some(id) => {
                    let delete = Args::spdm_delete(id, mt.root_pa());
                    self.teardown_leaf(pdev, "TDH.SPDM.DELETE", delete).is_ok()
                }
                // TDH.SPDM.CREATE failed: the module did not take the pages.
                None => true,
            };
            if !deleted {
                mt.leak();
            }
        }
    }

    /// Fresh evidence: HEARTBEAT, optionally a key refresh, DEV_INFO_RECOLLECT over `nonce`.
    fn refresh(
        &mut self,
        pdev: &pci::Device,
        nonce: &[u8; RECOLLECT_NONCE_LEN],
    ) -> Result<Evidence> {
        let (id, rsp, req) = (self.id()?, self.rsp.pfn() << 12, self.req.pfn() << 12);
        let heartbeat = Args::spdm_mng(id, SpdmMngOp::Heartbeat, NO_PAGE, rsp, req, NO_PAGE);
        self.issue(pdev, "TDH.SPDM.MNG HEARTBEAT", heartbeat)?;
        if module_parameters::refresh_keys.value() != 0 {
            let stream = self.stream.as_ref().ok_or(EINVAL)?.id;
            let km = Args::ide_stream_km(id, stream.into(), StreamKmOp::Refresh, rsp, req);
            self.issue(pdev, "TDH.IDE.STREAM.KM REFRESH", km)?;
        }
        self.param.write(0, nonce)?;
        let out = self.dev_info.raw()?;
        let param = self.param.pfn() << 12;
        let recollect = Args::spdm_mng(id, SpdmMngOp::DevInfoRecollect, param, rsp, req, out);
        let len = self
            .issue(pdev, "TDH.SPDM.MNG DEV_INFO_RECOLLECT", recollect)?
            .rcx;
        self.evidence(len)
    }
}

struct TdxConnect;

#[vtable]
impl LinkTsm for TdxConnect {
    type Function = Function;
    type Tdi = ();

    /// One stream per device.
    const SELECTIVE_STREAMS: u32 = 4;

    fn probe(_tsm: &TsmDevice, pdev: &pci::Device, dsm: bool) -> Result<Option<Function>> {
        if !firmware()?.0.get().manages(pdev) {
            return Ok(None);
        }
        Ok(Some(if dsm {
            Function::Dsm(Arc::pin_init(new_mutex!(None), GFP_KERNEL)?)
        } else {
            Function::SubFunction
        }))
    }

    fn connect(pdev: &pci::Device, function: &Function) -> Result {
        let Function::Dsm(slot) = function else {
            return Err(ENXIO);
        };
        let (fw, info) = firmware()?;
        let mut device = Device::new(fw, info)?;
        let evidence = match device.connect(pdev) {
            Ok(evidence) => evidence,
            Err(e) => {
                device.teardown(pdev);
                return Err(e);
            }
        };
        *slot.lock() = Some(device);
        if let Err(e) = evidence::publish_for::<Self>(pdev, function, evidence) {
            Self::disconnect(pdev, function);
            return Err(e);
        }
        Ok(())
    }

    fn refresh_evidence(pdev: &pci::Device, function: &Function, nonce: &[u8]) -> Result {
        let Function::Dsm(slot) = function else {
            return Err(ENXIO);
        };
        let mut guard = slot.lock();
        let device = (*guard).as_mut().ok_or(ENXIO)?;
        let evidence = device.refresh(pdev, &evidence::spdm_nonce(nonce))?;
        evidence::publish_for::<Self>(pdev, function, evidence)?;
        Ok(())
    }

    fn disconnect(pdev: &pci::Device, function: &Function) {
        let Function::Dsm(slot) = function else {
            return;
        };
        if let Some(mut device) = slot.lock().take() {
            device.teardown(pdev);
            dev_info!(pdev.as_ref(), "TDX Connect: disconnected\n");
        }
    }
}
