// SPDX-License-Identifier: GPL-2.0

//! Emulated link TSM backend.
//!
//! Registers a link TSM below a faux device named `tsm_emu_link`. It plays the platform firmware
//! of the emulated TDISP platform (`tsm_emu_bus`) and manages that platform's functions only,
//! declining every other device:
//!
//! * `connect` authenticates the DSM over its CMA DOE mailbox as native CMA does (the platform
//!   relays the mailbox to the device model in user space), opens a secure SPDM session
//!   (KEY_EXCHANGE, FINISH), then sets up a Selective IDE Stream between an Endpoint and its Root
//!   Port: the stream is allocated and set up with the kernel's IDE library, fresh keys for
//!   every sub-stream (PR, NPR, CPL) in both directions go to the device over IDE_KM in the
//!   session (QUERY, KEY_PROG, K_SET_GO) and to the Root Port through the platform's key port,
//!   and the stream is enabled, which the IDE library accepts only when both ends report Secure,
//!   that is when their keys match. Any failure undoes the steps already taken, in reverse order:
//!   keys stopped and wiped at both ends, stream released, session ended. A switch Upstream Port
//!   DSM gets the session but no stream: the kernel's IDE library (`pci_ide_stream_alloc()`)
//!   serves Endpoints only. With `tsm/connect_mode` set to `link` (tsm-rs' core), an Endpoint
//!   directly below its Root Port gets Link IDE instead: the same keys for Stream ID
//!   [`LINK_STREAM_ID`], then the Link IDE Stream Control registers of traffic class 0 enabled
//!   at both ends, which must then read Secure (`EOPNOTSUPP` below a switch).
//!   The DSM's evidence (certificate chain, VCA messages, signed measurement exchange) is
//!   published to the evidence store (`kernel::tsm::evidence`); a read of it with a nonce asks
//!   the device, in the session, for measurements signed over that nonce.
//! * `disconnect` stops the keys at both ends (K_SET_STOP), releases the stream and ends the
//!   session (END_SESSION); the evidence goes.
//! * `bind` locks the function's TDI through TDISP in the DSM's session: LOCK_INTERFACE (the
//!   START_INTERFACE nonce stays with the TSM), GET_DEVICE_INTERFACE_REPORT (published as the
//!   function's evidence `report`, with the DSM's objects, until unbind),
//!   GET_DEVICE_INTERFACE_STATE must read CONFIG_LOCKED. `unbind` sends STOP_INTERFACE
//!   (CONFIG_UNLOCKED). Guest requests carry one TDISP request code: with scope INFO,
//!   GET_DEVICE_INTERFACE_REPORT (answered with the report) or GET_DEVICE_INTERFACE_STATE (the
//!   state byte); with scope STATE_CHANGE, START_INTERFACE, which the TSM sends with the lock's
//!   nonce (the TDI goes to RUN; the answer is the state byte). Below a switch Upstream Port
//!   DSM there is no IDE stream, which LOCK_INTERFACE requires: such a TDI is bound without
//!   TDISP, and its guest requests get `EOPNOTSUPP`.
//!
//! Each DOE exchange takes `doe_latency_ms` longer, for measurements with a firmware latency.
//! Linux 7.3 has no VFIO/KVM caller of bind, unbind and guest requests, so the faux device carries
//! test controls for them and for fault injection
//! (`Documentation/ABI/testing/sysfs-devices-faux-tsm_emu_link`).

use kernel::{
    alloc::KVVec,
    faux,
    pci::{
        self,
        ide::{Partner, Stream},
    },
    prelude::*,
    sync::{aref::ARef, new_mutex, Arc, Mutex},
    time::{delay::fsleep, Delta},
    tsm::{
        self,
        evidence::{self, Evidence, Kind},
        ConnectMode, GuestRequest, LinkTsm, RequestScope, TsmDevice, VmHandle,
    },
    uapi,
};
use tsm_proto::{
    spdm::crypto::Supported,
    tdisp::{self, Body, InterfaceId, TdiState, NONCE_LEN},
};
use tsm_spdm::{Authenticated, Connection, DoeTransfer};

mod controls;
mod platform_fw;

use controls::Step;
use platform_fw::{errno, logged, on_platform, state_name, KeyStep, Tdisp};

module! {
    type: EmuLinkModule,
    name: "tsm_emu_link",
    authors: ["tsm-rs developers"],
    description: "Emulated link TSM backend for tsm-rs tests and demo",
    license: "GPL",
    params: {
        doe_latency_ms: u32 {
            default: 0,
            description: "Firmware latency added to each DOE exchange, in milliseconds",
        },
    },
}

struct EmuLinkModule {
    // Fields drop in declaration order: the TSM goes before the device it hangs from.
    _tsm: tsm::Registration,
    _parent: faux::Registration,
}

impl kernel::Module for EmuLinkModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let parent = faux::Registration::new_with_groups(c"tsm_emu_link", None, &controls::GROUPS)?;
        let tsm = tsm::Registration::new_link::<EmuLink>(parent.as_ref().as_ref())?;
        Ok(Self {
            _tsm: tsm,
            _parent: parent,
        })
    }
}

/// What the backend keeps for a managed function.
enum Function {
    /// Function 0, the DSM, with its link while connected (bound TDIs share it).
    Dsm(Arc<Mutex<Option<Link>>>),
    /// Another function of a connected DSM.
    SubFunction,
}

/// How a connected DSM's link is protected.
enum Ide {
    /// A switch Upstream Port: no IDE.
    None,
    /// An Endpoint's keyed Selective IDE Stream.
    Selective(Stream),
    /// Link IDE with the Root Port, keyed for this Stream ID.
    Link(u8),
}

impl Ide {
    /// The Stream ID of the keys in use.
    fn stream_id(&self) -> Option<u8> {
        match self {
            Ide::None => None,
            Ide::Selective(stream) => stream.stream_id(),
            Ide::Link(stream_id) => Some(*stream_id),
        }
    }
}

/// Stream ID of Link IDE streams (one Link IDE stream per DSM here, traffic class 0).
const LINK_STREAM_ID: u8 = 0;

/// What the firmware keeps for a connected DSM.
struct Link {
    /// The DSM, whose mailbox carries the session.
    dsm: ARef<pci::Device>,
    /// The SPDM connection with its secure session.
    spdm: Connection,
    /// What authentication showed; its measurements are the latest signed ones.
    shown: Authenticated,
    /// The interface report of the DSM's own TDI while it is locked.
    report: Option<KVVec<u8>>,
    /// The IDE protection of the link.
    ide: Ide,
}

/// A TDI bound to a VM, locked.
struct Tdi {
    /// The link of its DSM.
    link: Arc<Mutex<Option<Link>>>,
    interface: InterfaceId,
    tdi_id: u32,
    /// Locked through TDISP (the DSM has an IDE stream).
    locked: bool,
    /// START_INTERFACE_NONCE: the TSM starts the TDI; the guest never sees the nonce.
    nonce: [u8; NONCE_LEN],
    /// The DEVICE_INTERFACE_REPORT read at bind (also published as evidence).
    report: KVVec<u8>,
}

impl Link {
    /// The DSM's evidence, with `report` (the report of a TDI of the DSM) if given.
    fn evidence(&self, report: Option<&[u8]>) -> Result<Evidence> {
        let mut evidence = self.shown.evidence()?;
        if let Some(report) = report {
            evidence.set(Kind::Report, report)?;
        }
        Ok(evidence)
    }

    /// Runs `f` with TDISP requests in the session.
    fn in_session<R>(&mut self, f: impl FnOnce(&mut Tdisp<'_, Firmware<'_>>) -> R) -> R {
        let mut doe = Firmware(&self.dsm);
        f(&mut Tdisp {
            pdev: &self.dsm,
            spdm: &mut self.spdm,
            doe: &mut doe,
        })
    }

    /// One TDISP exchange about `interface` in the session.
    fn tdisp<'b>(
        &mut self,
        interface: InterfaceId,
        body: Body<'_>,
        answer: &'b mut [u8],
    ) -> Result<Body<'b>> {
        self.in_session(|t| t.exchange(interface, body, answer))
    }

    /// The TDI's state (GET_DEVICE_INTERFACE_STATE).
    fn tdi_state(&mut self, interface: InterfaceId) -> Result<TdiState> {
        self.in_session(|t| t.state(interface))
    }
}

/// DOE exchanges with the DSM through the PCI/TSM core, after the firmware latency.
struct Firmware<'a>(&'a pci::Device);

impl DoeTransfer for Firmware<'_> {
    fn transfer(&mut self, object_type: u8, request: &[u8], response: &mut [u8]) -> Result<usize> {
        let latency = module_parameters::doe_latency_ms.value();
        if latency > 0 {
            fsleep(Delta::from_millis(latency.into()));
        }
        tsm::doe_transfer(self.0, object_type, request, response)
    }
}

struct EmuLink;

/// The fault points of the key programming: `tsm_emu_link`'s own steps.
fn key_fault(step: KeyStep) -> Result {
    match step {
        KeyStep::KeyProg => Step::KeyProg.check(),
        KeyStep::KeySetGo => Step::KeySetGo.check(),
    }
}

impl EmuLink {
    fn establish_stream(
        pdev: &pci::Device,
        spdm: &mut Connection,
        doe: &mut Firmware<'_>,
    ) -> Result<Stream> {
        Step::StreamAlloc.check()?;
        let mut stream = Stream::alloc(pdev)?;
        Step::StreamRegister.check()?;
        // One Stream ID per pool slot keeps IDs unique below the host bridge.
        stream.set_stream_id(stream.host_bridge_stream())?;
        stream.register()?;
        Step::StreamSetup.check()?;
        stream.setup(Partner::Endpoint)?;
        stream.setup(Partner::RootPort)?;
        let stream_id = stream.stream_id().ok_or(EINVAL)?;
        platform_fw::key_stream(pdev, spdm, doe, stream_id, key_fault)?;
        let enabled = (|| {
            Step::StreamEnable.check()?;
            // The IDE library refuses an end that does not report Secure.
            logged(
                pdev,
                "Endpoint stream enable",
                stream.enable(Partner::Endpoint),
            )?;
            logged(
                pdev,
                "Root Port stream enable",
                stream.enable(Partner::RootPort),
            )
        })();
        if let Err(e) = enabled {
            let _ = platform_fw::unkey_stream(pdev, spdm, doe, stream_id);
            return Err(e);
        }
        Ok(stream)
    }

    /// The Link IDE Stream Control register of traffic class 0 of `dev`.
    fn link_control(dev: &pci::Device) -> Result<u16> {
        let ide_cap = dev.ide_cap().ok_or(EOPNOTSUPP)?;
        // CAST: register offsets below 0x100.
        Ok(ide_cap + uapi::PCI_IDE_LINK_STREAM_0 as u16 + uapi::PCI_IDE_LINK_CTL_0 as u16)
    }

    /// Enables (`Some(stream_id)`) or disables Link IDE of traffic class 0 on both ends.
    fn set_link_ide(pdev: &pci::Device, stream_id: Option<u8>) -> Result {
        let root_port = pdev.root_port().ok_or(ENODEV)?;
        let value = stream_id.map_or(0, |id| uapi::PCI_IDE_LINK_CTL_EN | (u32::from(id) << 24));
        for dev in [pdev, root_port] {
            dev.write_config_dword(Self::link_control(dev)?, value)?;
        }
        Ok(())
    }

    /// Whether Link IDE of traffic class 0 reads Secure at `dev`.
    fn link_secure(dev: &pci::Device) -> Result<bool> {
        // CAST: register offsets below 0x100.
        let status = Self::link_control(dev)? + uapi::PCI_IDE_LINK_STS_0 as u16
            - uapi::PCI_IDE_LINK_CTL_0 as u16;
        // Link IDE Stream State: bits 3:0.
        let state = dev.read_config_dword(status)? & 0xf;
        Ok(state == uapi::PCI_IDE_SEL_STS_STATE_SECURE)
    }

    /// Establishes keyed Link IDE between the Endpoint `pdev` and its Root Port.
    fn establish_link_ide(
        pdev: &pci::Device,
        spdm: &mut Connection,
        doe: &mut Firmware<'_>,
    ) -> Result<u8> {
        let root_port = pdev.root_port().ok_or(ENODEV)?;
        // Link IDE protects one link: a switch between them would end it.
        if pdev.upstream_port_above().is_some() || !pdev.has_link_ide() || !root_port.has_link_ide()
        {
            return Err(EOPNOTSUPP);
        }
        platform_fw::key_stream(pdev, spdm, doe, LINK_STREAM_ID, key_fault)?;
        let enabled = (|| {
            Step::StreamEnable.check()?;
            Self::set_link_ide(pdev, Some(LINK_STREAM_ID))?;
            for (dev, what) in [(pdev, "Endpoint"), (root_port, "Root Port")] {
                if !Self::link_secure(dev)? {
                    dev_warn!(pdev.as_ref(), "{} Link IDE is not Secure\n", what);
                    return Err(ENXIO);
                }
            }
            Ok(())
        })();
        if let Err(e) = enabled {
            let _ = Self::set_link_ide(pdev, None);
            let _ = platform_fw::unkey_stream(pdev, spdm, doe, LINK_STREAM_ID);
            return Err(e);
        }
        Ok(LINK_STREAM_ID)
    }

    fn withdraw_report(pdev: &pci::Device, link: &mut Link) {
        if core::ptr::eq(pdev, &*link.dsm) {
            link.report = None;
            // Without memory for the copy the report stays until disconnect; it was true.
            if let Err(e) = evidence::withdraw(pdev, Kind::Report) {
                dev_warn!(pdev.as_ref(), "withdrawing the report failed: {:?}\n", e);
            }
        } else {
            evidence::clear(pdev);
        }
    }

    /// Authenticates the DSM, opens the session and, for an Endpoint, establishes its stream.
    fn connect_link(pdev: &pci::Device) -> Result<Link> {
        let mut doe = Firmware(pdev);
        Step::Doe.check()?;
        let mut spdm = Connection::new(Supported::ALL, true).map_err(errno)?;
        let shown = spdm.authenticate(&mut doe, None).map_err(errno)?;
        Step::Session.check()?;
        let session = spdm.open_session(&mut doe).map_err(errno)?;
        dev_info!(
            pdev.as_ref(),
            "SPDM {}.{} session {:#010x} established\n",
            shown.version >> 4,
            shown.version & 0xf,
            session
        );
        let link_mode = tsm::connect_mode(pdev) == ConnectMode::Link;
        let ide = if pdev.is_upstream_port() {
            // The firmware sets up Link IDE to Endpoints only.
            if link_mode {
                Err(EOPNOTSUPP)
            } else {
                Ok(Ide::None)
            }
        } else if link_mode {
            Self::establish_link_ide(pdev, &mut spdm, &mut doe).map(Ide::Link)
        } else {
            Self::establish_stream(pdev, &mut spdm, &mut doe).map(Ide::Selective)
        };
        let ide = match ide {
            Ok(ide) => ide,
            Err(e) => {
                platform_fw::end_session(pdev, &mut spdm, &mut doe);
                return Err(e);
            }
        };
        Ok(Link {
            dsm: pdev.into(),
            spdm,
            shown,
            report: None,
            ide,
        })
    }
}

#[vtable]
impl LinkTsm for EmuLink {
    type Function = Function;
    type Tdi = Tdi;

    const LINK_IDE: bool = true;
    /// Each IDE port of the platform holds keys for this many streams at once.
    const SELECTIVE_STREAMS: u32 = 4;

    fn probe(_tsm: &TsmDevice, pdev: &pci::Device, dsm: bool) -> Result<Option<Function>> {
        if !on_platform(pdev) {
            return Ok(None);
        }
        Ok(Some(if dsm {
            Function::Dsm(Arc::pin_init(new_mutex!(None), GFP_KERNEL)?)
        } else {
            Function::SubFunction
        }))
    }

    fn connect(pdev: &pci::Device, function: &Function) -> Result {
        let Function::Dsm(link) = function else {
            return Err(ENXIO);
        };
        controls::check_busy()?;
        let established = Self::connect_link(pdev)?;
        match &established.ide {
            Ide::Selective(stream) => dev_info!(
                pdev.as_ref(),
                "connected: IDE stream{}.{}.{}, Stream ID {}, 12 keys programmed, Secure\n",
                stream.host_bridge_stream(),
                stream.stream_index(Partner::RootPort),
                stream.stream_index(Partner::Endpoint),
                // A registered stream has an ID; 255 is the reserved "no stream" ID.
                stream.stream_id().unwrap_or(u8::MAX)
            ),
            Ide::Link(stream_id) => dev_info!(
                pdev.as_ref(),
                "connected: Link IDE, Stream ID {}, 12 keys programmed, Secure\n",
                stream_id
            ),
            // The kernel's IDE library sets up streams to Endpoints only.
            Ide::None => dev_info!(
                pdev.as_ref(),
                "connected: switch upstream port, no IDE stream\n"
            ),
        }
        let published = established
            .evidence(None)
            .and_then(|ev| evidence::publish_for::<Self>(pdev, function, ev));
        *link.lock() = Some(established);
        if let Err(e) = published {
            Self::disconnect(pdev, function);
            return Err(e);
        }
        Ok(())
    }

    fn refresh_evidence(pdev: &pci::Device, function: &Function, nonce: &[u8]) -> Result {
        let Function::Dsm(link) = function else {
            return Err(ENXIO);
        };
        let mut guard = link.lock();
        let link = (*guard).as_mut().ok_or(ENXIO)?;
        let fresh = link
            .spdm
            .measure(&mut Firmware(pdev), Some(&evidence::spdm_nonce(nonce)))
            .map_err(errno)?;
        link.shown.measurements = fresh;
        let ev = link.evidence(link.report.as_deref())?;
        evidence::publish_for::<Self>(pdev, function, ev)?;
        Ok(())
    }

    fn disconnect(pdev: &pci::Device, function: &Function) {
        let Function::Dsm(link) = function else {
            return;
        };
        let Some(mut link) = link.lock().take() else {
            return;
        };
        let mut doe = Firmware(pdev);
        if let Ide::Link(_) = link.ide {
            if let Err(e) = Self::set_link_ide(pdev, None) {
                dev_warn!(pdev.as_ref(), "disabling Link IDE failed: {:?}\n", e);
            }
        }
        if let Some(stream_id) = link.ide.stream_id() {
            if let Err(e) = platform_fw::unkey_stream(pdev, &mut link.spdm, &mut doe, stream_id) {
                dev_warn!(pdev.as_ref(), "stopping the IDE keys failed: {:?}\n", e);
            }
        }
        // Dropping a Selective IDE Stream disables, tears down and releases it.
        link.ide = Ide::None;
        platform_fw::end_session(pdev, &mut link.spdm, &mut doe);
        dev_info!(pdev.as_ref(), "disconnected\n");
    }

    fn bind(
        pdev: &pci::Device,
        function: &Function,
        dsm: &Function,
        _vm: VmHandle,
        tdi_id: u32,
    ) -> Result<Tdi> {
        let Function::Dsm(cell) = dsm else {
            return Err(ENXIO);
        };
        let mut guard = cell.lock();
        let link = (*guard).as_mut().ok_or(ENXIO)?;
        let interface = InterfaceId::new(pdev.dev_id(), None);
        if link.ide.stream_id().is_none() {
            dev_info!(
                pdev.as_ref(),
                "TDI {:#x}: bound without TDISP (no IDE stream)\n",
                tdi_id
            );
            return Ok(Tdi {
                link: cell.clone(),
                interface,
                tdi_id,
                locked: false,
                nonce: [0; NONCE_LEN],
                report: KVVec::new(),
            });
        }
        let stream_id = link.ide.stream_id().unwrap_or(0);
        let (nonce, report) = link.in_session(|t| t.lock(interface, stream_id))?;
        // Locked: from here a failure unlocks the TDI again. The report is evidence of the
        // TDI's function: the DSM's own (which a nonce refreshes) or, for another function, a
        // copy of the DSM's objects with it.
        let own = core::ptr::eq(pdev, &*link.dsm);
        let published = (|| {
            let ev = link.evidence(Some(&report))?;
            if own {
                evidence::publish_for::<Self>(pdev, function, ev)?;
                let mut kept = KVVec::with_capacity(report.len(), GFP_KERNEL)?;
                kept.extend_from_slice(&report, GFP_KERNEL)?;
                link.report = Some(kept);
            } else {
                evidence::publish(pdev, ev)?;
            }
            Ok(())
        })();
        if let Err(e) = published {
            let _ = link.in_session(|t| t.stop(interface));
            Self::withdraw_report(pdev, link);
            return Err(e);
        }
        dev_info!(
            pdev.as_ref(),
            "TDI {:#x}: CONFIG_LOCKED, interface report of {} bytes\n",
            tdi_id,
            report.len()
        );
        drop(guard);
        Ok(Tdi {
            link: cell.clone(),
            interface,
            tdi_id,
            locked: true,
            nonce,
            report,
        })
    }

    fn unbind(pdev: &pci::Device, tdi: Tdi) {
        if !tdi.locked {
            return;
        }
        let mut guard = tdi.link.lock();
        // Disconnect unbinds first: the link is there.
        let Some(link) = (*guard).as_mut() else {
            return;
        };
        Self::withdraw_report(pdev, link);
        let state = link
            .in_session(|t| t.stop(tdi.interface))
            .and_then(|()| link.tdi_state(tdi.interface));
        match state {
            Ok(state) => dev_info!(
                pdev.as_ref(),
                "TDI {:#x}: {}\n",
                tdi.tdi_id,
                state_name(state)
            ),
            Err(e) => dev_warn!(
                pdev.as_ref(),
                "TDI {:#x}: STOP_INTERFACE failed: {:?}\n",
                tdi.tdi_id,
                e
            ),
        }
    }

    fn guest_req(
        pdev: &pci::Device,
        tdi: &Tdi,
        scope: RequestScope,
        req: &GuestRequest,
        tsm_code: &mut u64,
    ) -> Result<usize> {
        if !tdi.locked {
            return Err(EOPNOTSUPP);
        }
        let mut code = [0u8; 1];
        if req.input_len() != code.len() {
            return Err(EINVAL);
        }
        req.read_input(0, &mut code)?;
        let mut guard = tdi.link.lock();
        let link = (*guard).as_mut().ok_or(ENXIO)?;
        let mut answer = [0u8; 64];
        let (state, reply): (Option<TdiState>, &[u8]) = match (scope, code[0]) {
            (RequestScope::Info, tdisp::code::GET_DEVICE_INTERFACE_REPORT) => (None, &tdi.report),
            (RequestScope::Info, tdisp::code::GET_DEVICE_INTERFACE_STATE) => {
                (Some(link.tdi_state(tdi.interface)?), &[])
            }
            (RequestScope::StateChange, tdisp::code::START_INTERFACE) => {
                match link.tdisp(tdi.interface, Body::Start(&tdi.nonce), &mut answer)? {
                    Body::StartRsp => (Some(link.tdi_state(tdi.interface)?), &[]),
                    _ => return Err(EPROTO),
                }
            }
            _ => return Err(EINVAL),
        };
        let state_byte;
        let reply = match state {
            Some(state) => {
                dev_info!(
                    pdev.as_ref(),
                    "TDI {:#x}: {}\n",
                    tdi.tdi_id,
                    state_name(state)
                );
                state_byte = [state as u8];
                &state_byte[..]
            }
            None => reply,
        };
        if reply.len() > req.output_len() {
            return Err(ENOSPC);
        }
        req.write_output(0, reply)?;
        *tsm_code = 0;
        Ok(req.output_len() - reply.len())
    }
}
