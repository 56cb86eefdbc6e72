// SPDX-License-Identifier: GPL-2.0

//! RISC-V CoVE-IO link TSM backend.
//!
//! Secures PCIe devices through the host-side functions (SBI extension COVH, EID 0x434F5648)
//! of "Confidential VM Extension I/O (CoVE-IO) for Confidential Computing on RISC-V
//! platforms" (RISC-V AP-TEE-IO task group), revision 0.3.0, a draft in development state:
//! function IDs, arguments and layouts as `tsm_proto::vendor::cove_io` encodes them, errors as
//! the SBI error codes. See `README.md` for what is modelled and what needs hardware.
//!
//! * `connect`: a Selective IDE Stream is allocated and set up at both ends with the kernel's
//!   IDE library, described to the TSM in an IDE stream descriptor (Stream_ID, the RID
//!   association of the device), and `sbi_covh_connect_device()` issued, in which the TSM
//!   authenticates the device over SPDM, opens a secure session and keys the stream at the
//!   device (IDE_KM) and the Root Port. The TSM cannot reach the device: while a call returns
//!   `SBI_SUCCESS` with `SPDM_PENDING_REQUEST`, the backend takes the request from the
//!   device's pending SPDM transaction buffer (FUNCTION_ID, DEVICE_ID, SPDM_PAYLOAD_LENGTH,
//!   payload), sends it to the device's DOE mailbox, writes the answer into the same buffer
//!   and repeats the same call, until it returns `SPDM_REQUEST_COMPLETED` with its final
//!   error. The stream is then enabled, which reads Secure only with the TSM's keys, and the
//!   connection transcript the call wrote (certificate chain, VCA, measurements) is published
//!   as the device's evidence (`kernel::tsm::evidence`: `cert0`, `vca`, `measurements`).
//!   Any failure undoes what was done: `sbi_covh_disconnect_device()`, then the stream.
//! * `disconnect`: `sbi_covh_disconnect_device()` (relayed; issued once more if the TSM
//!   fails it), the stream released.
//! * `bind`: each memory BAR of the function (in whole 4 KiB pages) is given to the TVM with
//!   `sbi_covh_add_tvm_interface_region()`, then `sbi_covh_bind_interface()` is relayed: the
//!   TSM locks the interface (TDISP CONFIG_LOCKED) and checks its report against those
//!   regions. The interface is named like a device (`device_if_id`: segment and RID); the TVM
//!   ID is the VM handle's value, since 7.3's KVM creates no CoVE TVMs. Any failure reclaims
//!   the regions given. `unbind`: `sbi_covh_unbind_interface()` (relayed), then
//!   `sbi_covh_reclaim_tvm_interface_region()` for each region (relayed: the TSM unbinds an
//!   interface still bound first).
//! * Not implemented: a nonce for the evidence (COVH has no measurement function: fresh
//!   measurements are a TVM's request, COVG `get_device_measurements`), so a nonce read gets
//!   `EOPNOTSUPP`; guest requests (`EOPNOTSUPP`): a TVM makes its requests about a bound
//!   interface (report, state, START_INTERFACE) to the TSM itself through COVG, not through
//!   the host; SPDM key update, IDE key refresh and heartbeat, which no PCI/TSM
//!   operation asks for.
//!
//! Two firmware transports ([`firmware::Firmware`]), chosen by the module parameter `model`:
//!
//! * `model=0` (default, riscv64 only): SBI ecalls to the TSM. **Untested**, compiled only.
//! * `model=1`: the CoVE-IO firmware model of the emulated TDISP platform
//!   (`drivers/virt/coco/tsm/emu/cove_io_model.rs`, compiled into this module when
//!   `CONFIG_TSM_EMU` is set). Fault injection: `fail_fid` (a COVH function ID whose next
//!   call fails at entry with `fail_error`), `fail_relay` (connect_device's relayed exchange
//!   of that number fails) and `fail_key` (1: after the device's KEY_PROGs, 2: before
//!   K_SET_GO).

use kernel::{
    alloc::KVVec,
    faux,
    pci::{
        self,
        ide::{Partner, Stream},
    },
    prelude::*,
    sync::{aref::ARef, new_mutex, Arc, Mutex},
    tsm::{
        self,
        evidence::{self, Evidence, Hash, Kind},
        GuestRequest, LinkTsm, RequestScope, TsmDevice, VmHandle,
    },
};
use tsm_proto::{
    vendor::cove_io::{
        self, element, IdeStreamDesc, PendingRequest, SbiCall, SbiError, Transcript,
        COVE_IO_VERSION, PENDING_HEADER_LEN, SPDM_PENDING_REQUEST, SPDM_REQUEST_COMPLETED,
    },
    wire,
};

mod firmware;
#[cfg(CONFIG_TSM_EMU)]
#[path = "../emu/fw_job.rs"]
mod fw_job;
#[cfg(CONFIG_TSM_EMU)]
#[path = "../emu/cove_io_model.rs"]
mod model;
#[cfg(CONFIG_TSM_EMU)]
#[path = "../emu/platform_fw.rs"]
#[allow(dead_code)]
mod platform_fw;

use firmware::{sbi_errno, Buffer, Firmware, SbiRet};

module! {
    type: CoveIoModule,
    name: "tsm_cove_io",
    authors: ["tsm-rs developers"],
    description: "RISC-V CoVE-IO link TSM backend",
    license: "GPL",
    params: {
        model: u32 {
            default: 0,
            description: "Firmware: 0 the TSM (SBI COVH), 1 the emulated platform's model",
        },
        fail_fid: u32 {
            default: 0,
            description: "Model: COVH function ID whose next call fails at entry (0: none)",
        },
        fail_error: i32 {
            default: -1,
            description: "Model: the SBI error fail_fid fails with",
        },
        fail_relay: u32 {
            default: 0,
            description: "Model: connect_device's relayed exchange of this number fails",
        },
        fail_key: u32 {
            default: 0,
            description: "Model: key step that fails (1 after device KEY_PROG, 2 before K_SET_GO)",
        },
    },
}

/// The TSM this module drives.
enum Transport {
    #[cfg(CONFIG_RISCV)]
    Covh(firmware::Covh),
    #[cfg(CONFIG_TSM_EMU)]
    Model(firmware::ModelFirmware),
}

impl Transport {
    fn get(&self) -> &dyn Firmware {
        match self {
            #[cfg(CONFIG_RISCV)]
            Transport::Covh(covh) => covh,
            #[cfg(CONFIG_TSM_EMU)]
            Transport::Model(m) => m,
        }
    }

    fn new() -> Result<Self> {
        if module_parameters::model.value() != 0 {
            #[cfg(CONFIG_TSM_EMU)]
            {
                let faults = model::Faults {
                    fid: module_parameters::fail_fid.value(),
                    error: module_parameters::fail_error.value().into(),
                    relay: module_parameters::fail_relay.value(),
                    key_step: module_parameters::fail_key.value(),
                };
                return Ok(Transport::Model(firmware::ModelFirmware(
                    model::Model::new(faults)?,
                )));
            }
            #[cfg(not(CONFIG_TSM_EMU))]
            return Err(ENODEV);
        }
        #[cfg(CONFIG_RISCV)]
        return Ok(Transport::Covh(firmware::Covh::probe()?));
        #[cfg(not(CONFIG_RISCV))]
        Err(ENODEV)
    }
}

kernel::sync::global_lock! {
    // SAFETY: `CoveIoModule::init` initialises the lock before registering the TSM, the only
    // way into this module's users of it.
    unsafe(uninit) static FIRMWARE: Mutex<Option<Arc<Transport>>> = None;
}

/// The TSM, while the module is loaded.
fn firmware() -> Result<Arc<Transport>> {
    FIRMWARE.lock().clone().ok_or(ENODEV)
}

struct CoveIoModule {
    // Fields drop in declaration order: the TSM goes before the device it hangs from.
    _tsm: tsm::Registration,
    _parent: faux::Registration,
}

impl kernel::Module for CoveIoModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: Runs once, before the TSM that uses `FIRMWARE` is registered.
        unsafe { FIRMWARE.init() };
        *FIRMWARE.lock() = Some(Arc::new(Transport::new()?, GFP_KERNEL)?);
        let parent = faux::Registration::new(c"tsm_cove_io", None)?;
        let tsm = tsm::Registration::new_link::<CoveIo>(parent.as_ref().as_ref())?;
        Ok(Self {
            _tsm: tsm,
            _parent: parent,
        })
    }
}

impl Drop for CoveIoModule {
    fn drop(&mut self) {
        // Runs before the TSM is unregistered: connected devices keep their own reference to
        // the firmware for their disconnect.
        FIRMWARE.lock().take();
    }
}

/// Largest number of SPDM requests one call may relay (a TSM that never ends is stopped).
const MAX_RELAYS: usize = 4096;

/// Bytes asked for the connection transcript (certificate chain, VCA, measurements).
const TRANSCRIPT_LEN: usize = 0x4000;

/// Bytes of a pending SPDM transaction buffer the backend reads: the header and the largest
/// DOE object the TSM's requester sends or accepts in one message.
const PENDING_LEN: usize = 0x1000;

/// What the backend keeps for a managed function.
enum Function {
    /// The DSM, with its connection while connected.
    Dsm(Arc<Mutex<Option<Device>>>),
    /// Another function of a connected DSM.
    SubFunction,
}

/// A connected (or connecting) device.
struct Device {
    fw: Arc<Transport>,
    /// The DSM, whose DOE mailbox carries the requests of its interfaces too.
    dsm: ARef<pci::Device>,
    device_id: u32,
    /// connect_device was issued: the TSM may hold a connection until disconnect_device.
    issued: bool,
    stream: Option<Stream>,
}

impl Device {
    fn new(fw: Arc<Transport>, pdev: &pci::Device) -> Self {
        Self {
            fw,
            dsm: pdev.into(),
            device_id: cove_io::device_id(pdev.domain(), pdev.dev_id()),
            issued: false,
            stream: None,
        }
    }

    /// Issues `call` about `pdev` (the DSM or one of its interfaces), relaying the SPDM requests
    /// the TSM leaves in the device's pending buffer to the DSM until the call completes;
    /// returns its final error.
    fn relay(&self, pdev: &pci::Device, call: &SbiCall) -> Result<SbiError> {
        let fw = self.fw.get();
        let mut pending = KVVec::from_elem(0u8, PENDING_LEN, GFP_KERNEL)?;
        let mut answer = KVVec::from_elem(0u8, PENDING_LEN - PENDING_HEADER_LEN, GFP_KERNEL)?;
        for _ in 0..MAX_RELAYS {
            match fw.call(call)? {
                SbiRet {
                    error: SbiError::Success,
                    value: SPDM_PENDING_REQUEST,
                } => {}
                SbiRet {
                    error,
                    value: SPDM_REQUEST_COMPLETED,
                } => return Ok(error),
                SbiRet { error, value } => {
                    dev_warn!(
                        pdev.as_ref(),
                        "CoVE-IO function {}: unexpected value {} ({:?})\n",
                        call.fid,
                        value,
                        error
                    );
                    return Err(EPROTO);
                }
            }
            fw.read_pending(self.device_id, &mut pending)?;
            let request = PendingRequest::decode(&pending).map_err(|_| EPROTO)?;
            if request.function_id != call.fid || request.device_id != self.device_id {
                return Err(EPROTO);
            }
            let got =
                tsm::doe_transfer(&self.dsm, request.doe_type(), request.payload, &mut answer)?;
            let response = PendingRequest {
                function_id: call.fid,
                device_id: self.device_id,
                payload: &answer[..got],
            };
            let len =
                wire::encode_into(&mut pending, |w| response.write(w)).map_err(|_| EMSGSIZE)?;
            fw.write_pending(self.device_id, &pending[..len])?;
        }
        Err(ETIMEDOUT)
    }

    /// A relayed call that must succeed.
    fn run(&self, pdev: &pci::Device, what: &str, call: &SbiCall) -> Result {
        match self.relay(pdev, call) {
            Ok(SbiError::Success) => Ok(()),
            Ok(error) => {
                dev_warn!(pdev.as_ref(), "{}: SBI error {}\n", what, error.raw());
                Err(sbi_errno(error))
            }
            Err(e) => {
                dev_warn!(pdev.as_ref(), "{} failed: {:?}\n", what, e);
                Err(e)
            }
        }
    }

    /// The IDE stream descriptor of `stream_id` for `pdev`: the RID association of the
    /// device's functions, no address association (all memory).
    fn stream_desc(&self, pdev: &pci::Device, stream_id: u8) -> Result<KBox<dyn Buffer>> {
        let rid = u32::from(pdev.dev_id());
        let desc = IdeStreamDesc {
            stream_id,
            // RID Association 1: RID Limit (bits 23:8), the device's last function.
            rid_assoc_1: (rid | 0x7) << 8,
            // RID Association 2: Valid (bit 0), RID Base (bits 23:8).
            rid_assoc_2: (rid << 8) | 1,
            addr_assoc: &[],
        };
        let mut raw = [0u8; 12];
        let len = wire::encode_into(&mut raw, |w| desc.write(w)).map_err(|_| EINVAL)?;
        let mut buf = self.fw.get().alloc(len)?;
        buf.write(0, &raw[..len])?;
        Ok(buf)
    }

    /// Connects the DSM `pdev`: stream, connect_device, stream enabled; returns the
    /// connection transcript's evidence.
    fn connect(&mut self, pdev: &pci::Device) -> Result<Evidence> {
        let mut stream = Stream::alloc(pdev)?;
        stream.set_stream_id(stream.host_bridge_stream())?;
        stream.register()?;
        stream.setup(Partner::Endpoint)?;
        stream.setup(Partner::RootPort)?;
        let stream_id = stream.stream_id().ok_or(EINVAL)?;
        self.stream = Some(stream);
        let desc = self.stream_desc(pdev, stream_id)?;
        let len = TRANSCRIPT_LEN.min(self.fw.get().max_buffer());
        let out = self.fw.get().alloc(len)?;
        self.issued = true;
        let call = SbiCall::connect_device(
            self.device_id.into(),
            desc.addr(),
            out.addr(),
            out.len() as u64,
        );
        self.run(pdev, "connect_device", &call)?;
        let stream = self.stream.as_mut().ok_or(EINVAL)?;
        // The IDE library refuses an end that does not read Secure.
        stream.enable(Partner::Endpoint)?;
        stream.enable(Partner::RootPort)?;
        let evidence = Self::evidence(&*out)?;
        dev_info!(
            pdev.as_ref(),
            "CoVE-IO: connected, IDE Stream ID {} keyed by the TSM, Secure\n",
            stream_id
        );
        Ok(evidence)
    }

    /// The evidence in a connection transcript: chain of slot 0, VCA, measurements.
    fn evidence(out: &dyn Buffer) -> Result<Evidence> {
        let mut raw = KVVec::from_elem(0u8, out.len(), GFP_KERNEL)?;
        out.read(0, &mut raw)?;
        let transcript = Transcript::decode(&raw).map_err(|_| EPROTO)?;
        if transcript.version != COVE_IO_VERSION {
            return Err(EPROTO);
        }
        let mut evidence = Evidence::new(Some(Hash::Sha384));
        for (id, kind) in [
            (element::DEVICE_CERTIFICATE, Kind::Cert0),
            (element::VCA, Kind::Vca),
            (element::DEVICE_MEASUREMENT, Kind::Measurements),
        ] {
            let found = transcript.element(id).map_err(|_| EPROTO)?;
            if let Some(e) = found.filter(|e| e.param == 0) {
                evidence.set(kind, e.data)?;
            }
        }
        Ok(evidence)
    }

    /// Undoes whatever `connect` did: disconnect_device (once more if the TSM fails it), the
    /// stream.
    fn teardown(&mut self, pdev: &pci::Device) {
        if self.issued {
            let call = SbiCall::disconnect_device(self.device_id.into());
            match self.relay(pdev, &call) {
                // Not connected: a connect that failed left nothing in the TSM.
                Ok(SbiError::Success) | Ok(SbiError::InvalidState) => {}
                _ => {
                    let _ = self.run(pdev, "disconnect_device", &call);
                }
            }
            self.issued = false;
        }
        // Dropping the stream disables, tears down and releases it.
        self.stream = None;
    }
}

/// A TDI bound to a TVM: the interface and the MMIO regions given to the TVM.
struct CoveTdi {
    /// Its DSM's device, whose pending buffer relays the interface's requests.
    device: Arc<Mutex<Option<Device>>>,
    tvm_id: u64,
    if_id: u32,
    /// Regions add_tvm_interface_region gave the TVM: base and length.
    mmio: KVec<(u64, u64)>,
}

impl CoveTdi {
    /// Gives the TVM the memory BARs of `pdev` (whole pages), the MMIO the interface's report
    /// may show.
    fn add_regions(&mut self, pdev: &pci::Device, device: &Device) -> Result {
        for bar in 0..PCI_STD_NUM_BARS {
            let Some((base, len)) = pdev.memory_bar(bar) else {
                continue;
            };
            let len = len.next_multiple_of(TSM_PAGE);
            let call = SbiCall::interface_region(true, self.tvm_id, self.if_id.into(), base, len);
            // Through the relay loop like every COVH call: it checks the call's value too.
            match device.relay(pdev, &call)? {
                SbiError::Success => self.mmio.push((base, len), GFP_KERNEL)?,
                error => {
                    dev_warn!(
                        pdev.as_ref(),
                        "add_tvm_interface_region of BAR {}: SBI error {}\n",
                        bar,
                        error.raw()
                    );
                    return Err(sbi_errno(error));
                }
            }
        }
        Ok(())
    }

    /// Returns the TVM's regions to the host (logged where the TSM refuses). Relayed: the TSM
    /// unbinds an interface that is still bound first.
    fn reclaim_regions(&mut self, pdev: &pci::Device, device: &Device) {
        for (base, len) in self.mmio.drain_all() {
            let call = SbiCall::interface_region(false, self.tvm_id, self.if_id.into(), base, len);
            match device.relay(pdev, &call) {
                Ok(SbiError::Success) => {}
                result => dev_warn!(
                    pdev.as_ref(),
                    "reclaim_tvm_interface_region {:#x}+{:#x}: {:?}\n",
                    base,
                    len,
                    result
                ),
            }
        }
    }
}

/// The standard BARs of a function.
const PCI_STD_NUM_BARS: u32 = 6;
/// The TSM's page: regions are whole pages of 4 KiB.
const TSM_PAGE: u64 = 0x1000;

struct CoveIo;

#[vtable]
impl LinkTsm for CoveIo {
    type Function = Function;
    type Tdi = CoveTdi;

    /// One stream per device.
    const SELECTIVE_STREAMS: u32 = 4;

    fn probe(_tsm: &TsmDevice, pdev: &pci::Device, dsm: bool) -> Result<Option<Function>> {
        if !firmware()?.get().manages(pdev) {
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
        let mut device = Device::new(firmware()?, pdev);
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

    fn disconnect(pdev: &pci::Device, function: &Function) {
        let Function::Dsm(slot) = function else {
            return;
        };
        if let Some(mut device) = slot.lock().take() {
            device.teardown(pdev);
            dev_info!(pdev.as_ref(), "CoVE-IO: disconnected\n");
        }
    }

    /// add_tvm_interface_region for each memory BAR of the function, then bind_interface, in
    /// which the TSM locks the interface and checks its report against those regions. The TVM
    /// ID is the VM handle's value (7.3's KVM creates no CoVE TVMs).
    fn bind(
        pdev: &pci::Device,
        _function: &Function,
        dsm: &Function,
        vm: VmHandle,
        tdi_id: u32,
    ) -> Result<CoveTdi> {
        let Function::Dsm(slot) = dsm else {
            return Err(ENXIO);
        };
        let guard = slot.lock();
        let device = (*guard).as_ref().ok_or(ENXIO)?;
        let mut tdi = CoveTdi {
            device: slot.clone(),
            // CAST: `usize` is at most 64 bits.
            tvm_id: vm.cookie() as u64,
            if_id: cove_io::device_id(pdev.domain(), pdev.dev_id()),
            mmio: KVec::new(),
        };
        let call = SbiCall::bind_interface(tdi.tvm_id, tdi.if_id.into());
        let bound = tdi
            .add_regions(pdev, device)
            .and_then(|()| device.run(pdev, "bind_interface", &call));
        if let Err(e) = bound {
            tdi.reclaim_regions(pdev, device);
            return Err(e);
        }
        dev_info!(
            pdev.as_ref(),
            "CoVE-IO: TDI {:#x} bound to TVM {:#x}, {} MMIO regions, CONFIG_LOCKED\n",
            tdi_id,
            tdi.tvm_id,
            tdi.mmio.len()
        );
        Ok(tdi)
    }

    /// unbind_interface, then the regions reclaimed (which unbinds the interface if the first
    /// failed). An interface without regions that the TSM cannot unbind stays bound there until
    /// disconnect_device.
    fn unbind(pdev: &pci::Device, mut tdi: CoveTdi) {
        let slot = tdi.device.clone();
        let guard = slot.lock();
        // Disconnect unbinds first: the device is there.
        let Some(device) = (*guard).as_ref() else {
            return;
        };
        let call = SbiCall::unbind_interface(tdi.tvm_id, tdi.if_id.into());
        // Whatever unbind_interface answered: reclaiming a region unbinds an interface the TSM
        // still holds bound.
        let _ = device.run(pdev, "unbind_interface", &call);
        tdi.reclaim_regions(pdev, device);
        dev_info!(
            pdev.as_ref(),
            "CoVE-IO: TDI of TVM {:#x} unbound\n",
            tdi.tvm_id
        );
    }

    /// A TVM asks the TSM about its interface through COVG itself: there is nothing for the
    /// host to relay. Defined rather than left out because 7.3's C core calls `guest_req`
    /// without checking that a TSM with `bind` has it.
    fn guest_req(
        _pdev: &pci::Device,
        _tdi: &CoveTdi,
        _scope: RequestScope,
        _req: &GuestRequest,
        _tsm_code: &mut u64,
    ) -> Result<usize> {
        Err(EOPNOTSUPP)
    }
}
