// SPDX-License-Identifier: GPL-2.0

//! AMD SEV-TIO link TSM backend.
//!
//! Secures PCIe devices through the SEV-TIO commands of the AMD Platform Security Processor
//! (PSP), the command set Linux 7.3's ccp driver uses (`drivers/crypto/ccp/sev-dev-tio.c`,
//! `sev-dev-tsm.c`), encoded with `tsm_proto::vendor::sev_tio`: the IDs and layouts of 7.3 for
//! TIO_STATUS, TIO_INIT, TIO_DEV_CREATE, TIO_DEV_CONNECT, TIO_DEV_DISCONNECT and
//! TIO_DEV_RECLAIM, 7.3's declared buffers of TIO_DEV_MEASUREMENTS and TIO_DEV_CERTIFICATES
//! with the IDs of the SEV-TIO RFC host driver (0xD7, 0xD8), and the status codes of
//! `include/uapi/linux/psp-sev.h`. The specification behind them is AMD's "SEV-TIO Firmware
//! Interface Specification" (document #58271), revision 0.91 as far as the public sources show
//! it; where 7.3 is silent (the IDs above, the certificate and measurement data objects) the
//! layouts are **not confirmed** against it.
//!
//! * `connect`: a Selective IDE Stream is allocated and set up at both ends with the kernel's
//!   IDE library (the host's part, as in 7.3), the device context created (TIO_DEV_CREATE), and
//!   TIO_DEV_CONNECT issued, in which the firmware authenticates the device over SPDM, opens a
//!   secure session and programs the stream's keys into the device (IDE_KM) and the Root Port.
//!   The firmware cannot reach the device: whenever it returns SPDM_REQUEST (0x32) the backend
//!   relays the request data object from the `spdm_ctrl` request buffer to the device's DOE
//!   mailbox and puts the answer into the response buffer, then issues the same command buffer
//!   again, until another status comes back (EXPAND_BUFFER_LENGTH_REQUEST, 0x31, grows the
//!   output buffer to the size the firmware wrote into its header). The stream is then enabled,
//!   which reads Secure only with the firmware's keys at both ends, and the device's
//!   certificate chain and signed measurements (TIO_DEV_CERTIFICATES, TIO_DEV_MEASUREMENTS) are
//!   published as its evidence (`kernel::tsm::evidence`: `cert0`, `measurements`; SEV-TIO
//!   gives no VCA transcript). A nonce read of the evidence issues TIO_DEV_MEASUREMENTS with it.
//!   Any failure undoes what was done: a forced TIO_DEV_DISCONNECT of a connected context, then
//!   TIO_DEV_RECLAIM, then the stream.
//! * `disconnect`: TIO_DEV_DISCONNECT (forced if the device does not answer), TIO_DEV_RECLAIM,
//!   the stream released.
//! * `bind`: TIO_TDI_CREATE, then TIO_TDI_BIND, relayed, in which the firmware locks the
//!   interface (TDISP LOCK_INTERFACE) and reads its report; the report joins the function's
//!   evidence. `unbind`: TIO_TDI_UNBIND (STOP_INTERFACE; forced if the device does not answer),
//!   TIO_TDI_RECLAIM. `guest_req`: TIO_GUEST_REQUEST with the guest's message in a request page
//!   and its answer in a response page (opaque here: the firmware checks it). The TDI command
//!   layouts and the report object's ID are the RFC host driver's, **not confirmed**.
//!
//! Two firmware transports ([`firmware::Firmware`]), chosen by the module parameter `model`:
//!
//! * `model=0` (default): the PSP through the ccp driver's `sev_do_cmd()`. **Untested**: it
//!   needs SEV-SNP hardware with SEV-TIO, which the test machines lack; it is compiled only.
//! * `model=1`: the SEV-TIO firmware model of the emulated TDISP platform
//!   (`drivers/virt/coco/tsm/emu/sev_tio_model.rs`, compiled into this module when
//!   `CONFIG_TSM_EMU` is set), which executes the command set with the vendor's status codes
//!   and buffer rules and runs SPDM, IDE_KM and the Root Port keys as the PSP would (the
//!   platform part is shared with `tsm_emu_link`: `emu/platform_fw.rs`). It manages the
//!   emulated platform's devices only, and takes fault injection: `fail_cmd` (a command ID that
//!   fails at entry with status `fail_status`), `fail_relay` (the exchange of that number in
//!   TIO_DEV_CONNECT fails) and `fail_key` (1: after the device's KEY_PROGs, 2: before K_SET_GO).
//!
//! The model is compiled into this module rather than being a module of its own because the
//! transport is a Rust trait: Rust modules cannot export Rust items to each other, and the
//! hardware path has no C interface to stand in for other than `sev_do_cmd()` itself.

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
use tsm_proto::vendor::sev_tio::{
    self, Command, SlaAddr, SpdmCtrl, Status, DISCONNECT_FORCE, DOBJ_ID_CERTIFICATE,
    DOBJ_ID_MEASUREMENT, DOBJ_ID_REQ, DOBJ_ID_RESP,
};

mod commands;
mod firmware;
#[cfg(CONFIG_TSM_EMU)]
#[path = "../emu/fw_job.rs"]
mod fw_job;
#[cfg(CONFIG_TSM_EMU)]
#[path = "../emu/sev_tio_model.rs"]
mod model;
#[cfg(CONFIG_TSM_EMU)]
#[path = "../emu/platform_fw.rs"]
#[allow(dead_code)]
mod platform_fw;

use commands::{encode, platform_init, simple, status_errno, Sizes, COMMAND_MAX};
use firmware::{Buffer, Firmware};

module! {
    type: SevTioModule,
    name: "tsm_sev_tio",
    authors: ["tsm-rs developers"],
    description: "AMD SEV-TIO link TSM backend",
    license: "GPL",
    params: {
        model: u32 {
            default: 0,
            description: "Firmware: 0 the PSP (ccp driver), 1 the emulated platform's model",
        },
        fail_cmd: u32 {
            default: 0,
            description: "Model: SEV-TIO command ID that fails at entry (0: none)",
        },
        fail_status: u32 {
            default: 0x35,
            description: "Model: the PSP status fail_cmd fails with",
        },
        fail_relay: u32 {
            default: 0,
            description: "Model: the TIO_DEV_CONNECT exchange of this number fails",
        },
        fail_key: u32 {
            default: 0,
            description: "Model: key step that fails (1 after device KEY_PROG, 2 before K_SET_GO)",
        },
    },
}

/// The firmware this module drives.
enum Transport {
    #[cfg(CONFIG_X86)]
    Psp(firmware::Psp),
    #[cfg(CONFIG_TSM_EMU)]
    Model(firmware::ModelFirmware),
}

impl Transport {
    fn get(&self) -> &dyn Firmware {
        match self {
            #[cfg(CONFIG_X86)]
            Transport::Psp(psp) => psp,
            #[cfg(CONFIG_TSM_EMU)]
            Transport::Model(m) => m,
        }
    }

    fn new() -> Result<Self> {
        if module_parameters::model.value() != 0 {
            #[cfg(CONFIG_TSM_EMU)]
            {
                let faults = model::Faults {
                    command: module_parameters::fail_cmd.value(),
                    status: module_parameters::fail_status.value(),
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
        #[cfg(CONFIG_X86)]
        return Ok(Transport::Psp(firmware::Psp));
        #[cfg(not(CONFIG_X86))]
        Err(ENODEV)
    }
}

kernel::sync::global_lock! {
    // SAFETY: `SevTioModule::init` initialises the lock before registering the TSM, the only
    // way into this module's users of it.
    unsafe(uninit) static FIRMWARE: Mutex<Option<Arc<Platform>>> = None;
}

/// The initialised firmware and the buffer sizes it asked for.
struct Platform {
    transport: Transport,
    sizes: Sizes,
}

impl Platform {
    fn get(&self) -> &dyn Firmware {
        self.transport.get()
    }
}

/// The firmware, while the module is loaded.
fn firmware() -> Result<Arc<Platform>> {
    FIRMWARE.lock().clone().ok_or(ENODEV)
}

struct SevTioModule {
    // Fields drop in declaration order: the TSM goes before the device it hangs from.
    _tsm: tsm::Registration,
    _parent: faux::Registration,
}

impl kernel::Module for SevTioModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: Runs once, before the TSM that uses `FIRMWARE` is registered.
        unsafe { FIRMWARE.init() };
        let transport = Transport::new()?;
        let sizes = platform_init(transport.get())?;
        *FIRMWARE.lock() = Some(Arc::new(Platform { transport, sizes }, GFP_KERNEL)?);
        let parent = faux::Registration::new(c"tsm_sev_tio", None)?;
        let tsm = tsm::Registration::new_link::<SevTio>(parent.as_ref().as_ref())?;
        Ok(Self {
            _tsm: tsm,
            _parent: parent,
        })
    }
}

impl Drop for SevTioModule {
    fn drop(&mut self) {
        // Runs before the TSM is unregistered: connected devices keep their own reference to
        // the firmware for their disconnect.
        FIRMWARE.lock().take();
    }
}

/// Largest number of SPDM objects one command may relay (a firmware that never ends is
/// stopped).
const MAX_RELAYS: usize = 4096;

/// What the backend keeps for a managed function.
enum Function {
    /// The DSM, with its device context while connected.
    Dsm(Arc<Mutex<Option<Device>>>),
    /// Another function of a connected DSM.
    SubFunction,
}

/// A connected (or connecting) device: its context and SPDM buffers, and its stream.
struct Device {
    fw: Arc<Platform>,
    dev_ctx: KBox<dyn Buffer>,
    req: KBox<dyn Buffer>,
    resp: KBox<dyn Buffer>,
    scratch: KBox<dyn Buffer>,
    output: KBox<dyn Buffer>,
    /// Created in the firmware (TIO_DEV_CREATE succeeded).
    created: bool,
    /// Connected in the firmware (TIO_DEV_CONNECT succeeded).
    connected: bool,
    stream: Option<Stream>,
    /// The evidence last read: the certificate chain and the signed measurements.
    chain: KVVec<u8>,
    measurements: KVVec<u8>,
    /// The interface report of the DSM's own TDI while it is bound.
    report: Option<KVVec<u8>>,
    /// The DSM, whose mailbox carries the firmware's SPDM objects.
    dsm: ARef<pci::Device>,
}

impl Device {
    fn new(fw: Arc<Platform>, dsm: &pci::Device) -> Result<Self> {
        let f = fw.get();
        let sizes = fw.sizes;
        Ok(Self {
            dev_ctx: f.alloc(sizes.devctx, true)?,
            req: f.alloc(sizes.spdm, true)?,
            resp: f.alloc(sizes.spdm, false)?,
            scratch: f.alloc(sizes.spdm, true)?,
            output: f.alloc(sizes.output, true)?,
            created: false,
            connected: false,
            stream: None,
            chain: KVVec::new(),
            measurements: KVVec::new(),
            report: None,
            dsm: dsm.into(),
            fw,
        })
    }

    fn ctrl(&self) -> SpdmCtrl {
        SpdmCtrl {
            req: self.req.sla(),
            resp: self.resp.sla(),
            scratch: self.scratch.sla(),
            output: self.output.sla(),
        }
    }

    fn ctx(&self) -> SlaAddr {
        self.dev_ctx.sla()
    }

    /// Issues the command `make` builds from the current buffers, relaying SPDM objects to the
    /// DSM until the firmware is done; returns its final status.
    fn relay(&mut self, make: impl Fn(&Self) -> Command) -> Result<Status> {
        let mut command = make(self);
        let mut buf = [0u8; COMMAND_MAX];
        let mut len = encode(&command, &mut buf)?;
        let mut object = KVVec::from_elem(0u8, self.req.len(), GFP_KERNEL)?;
        let mut answer = KVVec::from_elem(0u8, self.resp.len(), GFP_KERNEL)?;
        for _ in 0..MAX_RELAYS {
            let status = self.fw.get().command(command.id(), &mut buf[..len])?;
            match status {
                Status::SpdmRequest => {
                    self.req.read(0, &mut object)?;
                    let (_, header, payload) = sev_tio::read_object(&object).map_err(|_| EPROTO)?;
                    if header.id != DOBJ_ID_REQ {
                        return Err(EPROTO);
                    }
                    let doe_type = header.doe_type().map_err(|_| EPROTO)?;
                    // Room for the answer: the response buffer less its two headers.
                    let room = answer.len() - sev_tio::DOBJ_OFFSET - sev_tio::DOBJ_HEADER_LEN;
                    let mut rsp = KVVec::from_elem(0u8, room, GFP_KERNEL)?;
                    let got = tsm::doe_transfer(&self.dsm, doe_type, payload, &mut rsp)?;
                    answer.fill(0);
                    sev_tio::write_object(&mut answer, DOBJ_ID_RESP, header.data_type, &rsp[..got])
                        .map_err(|_| EMSGSIZE)?;
                    self.resp.write(0, &answer)?;
                }
                Status::ExpandBufferLengthRequest => {
                    // The firmware wrote the size it needs into the output buffer's header.
                    let mut need = [0u8; 4];
                    self.output.read(0, &mut need)?;
                    let need = u32::from_le_bytes(need) as usize;
                    if need <= self.output.len() || need > self.fw.sizes.output_max {
                        return Err(EPROTO);
                    }
                    self.output = self.fw.get().alloc(need, true)?;
                    command = make(self);
                    len = encode(&command, &mut buf)?;
                }
                status => return Ok(status),
            }
        }
        Err(ETIMEDOUT)
    }

    /// A command relayed to the end that must succeed.
    fn run(&mut self, pdev: &pci::Device, what: &str, make: impl Fn(&Self) -> Command) -> Result {
        match self.relay(make) {
            Ok(Status::Success) => Ok(()),
            Ok(status) => {
                dev_warn!(pdev.as_ref(), "{}: PSP status {:#x}\n", what, status.raw());
                Err(status_errno(status))
            }
            Err(e) => {
                dev_warn!(pdev.as_ref(), "{} failed: {:?}\n", what, e);
                Err(e)
            }
        }
    }

    /// The data object `id` of the output buffer.
    fn output_object(&self, id: u32) -> Result<KVVec<u8>> {
        let mut raw = KVVec::from_elem(0u8, self.output.len(), GFP_KERNEL)?;
        self.output.read(0, &mut raw)?;
        let (_, header, payload) = sev_tio::read_object(&raw).map_err(|_| EPROTO)?;
        if header.id != id {
            return Err(EPROTO);
        }
        let mut out = KVVec::with_capacity(payload.len(), GFP_KERNEL)?;
        out.extend_from_slice(payload, GFP_KERNEL)?;
        Ok(out)
    }

    /// Signed measurements over `nonce` (TIO_DEV_MEASUREMENTS).
    fn measurements(&mut self, pdev: &pci::Device, nonce: [u8; 32]) -> Result<KVVec<u8>> {
        self.run(pdev, "TIO_DEV_MEASUREMENTS", |d| Command::DevMeasurements {
            flags: 0,
            spdm_ctrl: d.ctrl(),
            dev_ctx: d.ctx(),
            meas_nonce: nonce,
        })?;
        self.output_object(DOBJ_ID_MEASUREMENT)
    }

    /// Reads the chain (TIO_DEV_CERTIFICATES) and measurements over `nonce` afresh, and returns
    /// the evidence with them.
    fn evidence(&mut self, pdev: &pci::Device, nonce: [u8; 32]) -> Result<Evidence> {
        self.run(pdev, "TIO_DEV_CERTIFICATES", |d| Command::DevCertificates {
            spdm_ctrl: d.ctrl(),
            dev_ctx: d.ctx(),
        })?;
        self.chain = self.output_object(DOBJ_ID_CERTIFICATE)?;
        self.measurements = self.measurements(pdev, nonce)?;
        self.evidence_with(self.report.as_deref())
    }

    /// The evidence last read, with `report` (the interface report of a TDI) if given.
    fn evidence_with(&self, report: Option<&[u8]>) -> Result<Evidence> {
        let mut evidence = Evidence::new(Some(Hash::Sha384));
        evidence.set(Kind::Cert0, &self.chain)?;
        evidence.set(Kind::Measurements, &self.measurements)?;
        if let Some(report) = report {
            evidence.set(Kind::Report, report)?;
        }
        Ok(evidence)
    }

    /// Connects the DSM `pdev`: stream, TIO_DEV_CREATE, TIO_DEV_CONNECT, stream enabled.
    fn connect(&mut self, pdev: &pci::Device) -> Result {
        let mut stream = Stream::alloc(pdev)?;
        stream.set_stream_id(stream.host_bridge_stream())?;
        stream.register()?;
        stream.setup(Partner::Endpoint)?;
        stream.setup(Partner::RootPort)?;
        let stream_id = stream.stream_id().ok_or(EINVAL)?;
        self.stream = Some(stream);
        let root_port = pdev.root_port().ok_or(ENODEV)?;
        // As 7.3 does: the Root Port's LnkCap Port Number, and the domain in SEV-TIO's 8-bit
        // segment field (the emulated platform's domains, 10000 and up, do not fit; the model
        // does not check it).
        let root_port_id = root_port.link_port_number().ok_or(ENODEV)?;
        let create = Command::DevCreate {
            dev_ctx: self.ctx(),
            device_id: pdev.dev_id(),
            root_port_id: root_port_id.into(),
            // CAST: truncated to the field, as 7.3's `u8 segment_id = pci_domain_nr()`.
            segment: pdev.domain() as u8,
        };
        simple(self.fw.get(), &create)?;
        self.created = true;
        let mut ide_stream_id = [u8::MAX; 8];
        ide_stream_id[0] = stream_id;
        self.run(pdev, "TIO_DEV_CONNECT", |d| Command::DevConnect {
            spdm_ctrl: d.ctrl(),
            dev_ctx: d.ctx(),
            tc_mask: 1,
            cert_slot: 0,
            ide_stream_id,
        })?;
        self.connected = true;
        let stream = self.stream.as_mut().ok_or(EINVAL)?;
        // The IDE library refuses an end that does not read Secure.
        stream.enable(Partner::Endpoint)?;
        stream.enable(Partner::RootPort)?;
        dev_info!(
            pdev.as_ref(),
            "SEV-TIO: connected, IDE Stream ID {} keyed by the firmware, Secure\n",
            stream_id
        );
        Ok(())
    }

    /// Undoes whatever `connect` did: TIO_DEV_DISCONNECT (forced if need be), TIO_DEV_RECLAIM,
    /// the stream.
    fn teardown(&mut self, pdev: &pci::Device) {
        if self.connected {
            let disconnect = |d: &Self, flags| Command::DevDisconnect {
                flags,
                spdm_ctrl: d.ctrl(),
                dev_ctx: d.ctx(),
            };
            if self
                .run(pdev, "TIO_DEV_DISCONNECT", |d| disconnect(d, 0))
                .is_err()
            {
                let _ = self.run(pdev, "TIO_DEV_DISCONNECT (force)", |d| {
                    disconnect(d, DISCONNECT_FORCE)
                });
            }
            self.connected = false;
        }
        if self.created {
            if let Err(e) = simple(
                self.fw.get(),
                &Command::DevReclaim {
                    dev_ctx: self.ctx(),
                },
            ) {
                dev_warn!(pdev.as_ref(), "TIO_DEV_RECLAIM failed: {:?}\n", e);
            }
            self.created = false;
        }
        // Dropping the stream disables, tears down and releases it.
        self.stream = None;
    }
}

/// A TDI bound to a VM: its context in the firmware.
struct SevTdi {
    /// Its DSM's device, whose context and SPDM buffers the TDI commands use.
    device: Arc<Mutex<Option<Device>>>,
    tdi_ctx: KBox<dyn Buffer>,
    tdi_id: u32,
    /// The TDI is the DSM's own function.
    own: bool,
}

impl SevTdi {
    fn unbind_command(&self, device: &Device, flags: u32) -> Command {
        Command::TdiUnbind {
            flags,
            spdm_ctrl: device.ctrl(),
            dev_ctx: device.ctx(),
            tdi_ctx: self.tdi_ctx.sla(),
            gctx_paddr: 0,
        }
    }
}

/// TIO_TDI_RECLAIM of `tdi_ctx`, logged on failure (the context stays the firmware's).
fn reclaim_tdi(pdev: &pci::Device, device: &Device, tdi_ctx: &dyn Buffer) {
    let reclaim = Command::TdiReclaim {
        dev_ctx: device.ctx(),
        tdi_ctx: tdi_ctx.sla(),
    };
    if let Err(e) = simple(device.fw.get(), &reclaim) {
        dev_warn!(pdev.as_ref(), "TIO_TDI_RECLAIM failed: {:?}\n", e);
    }
}

/// Withdraws the interface report of `pdev`'s TDI from its evidence: the DSM keeps the rest of
/// its evidence, another function had only the copy made at bind.
fn withdraw_report(pdev: &pci::Device, device: &mut Device, own: bool) {
    if own {
        device.report = None;
        if let Err(e) = evidence::withdraw(pdev, Kind::Report) {
            dev_warn!(pdev.as_ref(), "withdrawing the report failed: {:?}\n", e);
        }
    } else {
        evidence::clear(pdev);
    }
}

/// Largest guest request or answer: a page less its length field.
const GUEST_MESSAGE_MAX: usize = 0x1000 - 4;

struct SevTio;

#[vtable]
impl LinkTsm for SevTio {
    type Function = Function;
    type Tdi = SevTdi;

    /// One stream per device: traffic class 0.
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
        let mut device = Device::new(firmware()?, pdev)?;
        let connected = device.connect(pdev).and_then(|()| {
            let mut nonce = [0u8; 32];
            kernel::crypto::random_bytes(&mut nonce);
            device.evidence(pdev, nonce)
        });
        let evidence = match connected {
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
        let evidence = device.evidence(pdev, evidence::spdm_nonce(nonce))?;
        evidence::publish_for::<Self>(pdev, function, evidence)?;
        Ok(())
    }

    fn disconnect(pdev: &pci::Device, function: &Function) {
        let Function::Dsm(slot) = function else {
            return;
        };
        if let Some(mut device) = slot.lock().take() {
            device.teardown(pdev);
            dev_info!(pdev.as_ref(), "SEV-TIO: disconnected\n");
        }
    }

    /// TIO_TDI_CREATE and TIO_TDI_BIND, in which the firmware locks the interface and reads its
    /// report; the report joins the function's evidence.
    fn bind(
        pdev: &pci::Device,
        function: &Function,
        dsm: &Function,
        _vm: VmHandle,
        tdi_id: u32,
    ) -> Result<SevTdi> {
        let Function::Dsm(slot) = dsm else {
            return Err(ENXIO);
        };
        let mut guard = slot.lock();
        let device = (*guard).as_mut().ok_or(ENXIO)?;
        let tdi_ctx = device.fw.get().alloc(device.fw.sizes.tdictx, true)?;
        // CAST: the segment field holds the domain's low 8 bits, as TIO_DEV_CREATE's.
        let interface_id = sev_tio::interface_id(pdev.dev_id(), Some(pdev.domain() as u8));
        let create = Command::TdiCreate {
            dev_ctx: device.ctx(),
            tdi_ctx: tdi_ctx.sla(),
            interface_id,
        };
        simple(device.fw.get(), &create)?;
        let tdi_sla = tdi_ctx.sla();
        let bound = device.run(pdev, "TIO_TDI_BIND", |d| Command::TdiBind {
            spdm_ctrl: d.ctrl(),
            dev_ctx: d.ctx(),
            tdi_ctx: tdi_sla,
            // No guest context without SEV-SNP guests (7.3 has no KVM caller of bind).
            gctx_paddr: 0,
            // CAST: the guest's requester ID is 16 bits.
            guest_device_id: tdi_id as u16,
            lock_flags: 0,
            run_flags: 0,
        });
        let own = matches!(function, Function::Dsm(_));
        let tdi = SevTdi {
            device: slot.clone(),
            tdi_ctx,
            tdi_id,
            own,
        };
        let published = bound
            .and_then(|()| device.output_object(sev_tio::DOBJ_ID_REPORT))
            .and_then(|report| {
                let evidence = device.evidence_with(Some(&report))?;
                if own {
                    evidence::publish_for::<Self>(pdev, function, evidence)?;
                    device.report = Some(report);
                } else {
                    evidence::publish(pdev, evidence)?;
                }
                Ok(())
            });
        if let Err(e) = published {
            if bound.is_ok() {
                let _ = device.run(pdev, "TIO_TDI_UNBIND (force)", |d| {
                    tdi.unbind_command(d, sev_tio::UNBIND_FORCE)
                });
                withdraw_report(pdev, device, own);
            }
            reclaim_tdi(pdev, device, &*tdi.tdi_ctx);
            return Err(e);
        }
        dev_info!(
            pdev.as_ref(),
            "SEV-TIO: TDI {:#x} bound, CONFIG_LOCKED\n",
            tdi_id
        );
        Ok(tdi)
    }

    /// TIO_TDI_UNBIND (forced if the device does not answer), TIO_TDI_RECLAIM.
    fn unbind(pdev: &pci::Device, tdi: SevTdi) {
        let mut guard = tdi.device.lock();
        // Disconnect unbinds first: the device is there.
        let Some(device) = (*guard).as_mut() else {
            return;
        };
        withdraw_report(pdev, device, tdi.own);
        if device
            .run(pdev, "TIO_TDI_UNBIND", |d| tdi.unbind_command(d, 0))
            .is_err()
        {
            let _ = device.run(pdev, "TIO_TDI_UNBIND (force)", |d| {
                tdi.unbind_command(d, sev_tio::UNBIND_FORCE)
            });
        }
        reclaim_tdi(pdev, device, &*tdi.tdi_ctx);
        dev_info!(pdev.as_ref(), "SEV-TIO: TDI {:#x} unbound\n", tdi.tdi_id);
    }

    /// TIO_GUEST_REQUEST: the guest's message goes to the firmware in a request page, whose
    /// answer comes back in a response page (each: a 32-bit length, then the bytes). The
    /// message is the guest's own and opaque here, so `scope` is the firmware's to check.
    fn guest_req(
        pdev: &pci::Device,
        tdi: &SevTdi,
        _scope: RequestScope,
        req: &GuestRequest,
        tsm_code: &mut u64,
    ) -> Result<usize> {
        if req.input_len() > GUEST_MESSAGE_MAX {
            return Err(EINVAL);
        }
        let mut guard = tdi.device.lock();
        let device = (*guard).as_mut().ok_or(ENXIO)?;
        let mut message = KVVec::from_elem(0u8, 4 + req.input_len(), GFP_KERNEL)?;
        // CAST: at most a page.
        message[..4].copy_from_slice(&(req.input_len() as u32).to_le_bytes());
        req.read_input(0, &mut message[4..])?;
        let mut request = device.fw.get().alloc(0x1000, false)?;
        request.write(0, &message)?;
        let response = device.fw.get().alloc(0x1000, false)?;
        let (req_paddr, res_paddr) = (request.sla().pfn << 12, response.sla().pfn << 12);
        let tdi_sla = tdi.tdi_ctx.sla();
        device.run(pdev, "TIO_GUEST_REQUEST", |d| Command::GuestRequest {
            spdm_ctrl: d.ctrl(),
            dev_ctx: d.ctx(),
            tdi_ctx: tdi_sla,
            gctx_paddr: 0,
            req_paddr,
            res_paddr,
        })?;
        let mut len = [0u8; 4];
        response.read(0, &mut len)?;
        let len = u32::from_le_bytes(len) as usize;
        if len > GUEST_MESSAGE_MAX || len > req.output_len() {
            return Err(ENOSPC);
        }
        let mut answer = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
        response.read(4, &mut answer)?;
        req.write_output(0, &answer)?;
        *tsm_code = 0;
        Ok(req.output_len() - len)
    }
}
