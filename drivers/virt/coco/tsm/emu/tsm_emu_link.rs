// SPDX-License-Identifier: GPL-2.0

//! Emulated link TSM backend.
//!
//! Registers a link TSM below a faux device named `tsm_emu_link`. It manages the functions of the
//! emulated TDISP platform (`tsm_emu_bus`) only, and declines every other device:
//!
//! * `connect` authenticates function 0 (the DSM) over its CMA DOE mailbox (SPDM GET_VERSION;
//!   the platform's device model answers SPDM 1.2), then establishes a Selective IDE Stream
//!   between the Endpoint and its Root Port with the kernel's IDE library. Any failure undoes
//!   the steps already taken, in reverse order. A switch Upstream Port DSM is only
//!   authenticated: the kernel's IDE library (`pci_ide_stream_alloc()`) serves Endpoints, so it
//!   gets no stream.
//! * `disconnect` releases the stream.
//! * `bind`, `unbind` and `guest_req` keep a TDI record, log, and echo guest requests.
//!
//! Linux 7.3 has no VFIO/KVM caller of bind, unbind and guest requests, so the faux device carries
//! test controls for them and for fault injection
//! (`Documentation/ABI/testing/sysfs-devices-faux-tsm_emu_link`).

use kernel::{
    faux,
    pci::{
        self,
        ide::{Partner, Stream},
    },
    prelude::*,
    sync::{new_mutex, Mutex},
    tsm::{self, GuestRequest, LinkTsm, RequestScope, TsmDevice, VmHandle},
};
use tsm_proto::{doe, spdm, wire};

mod controls;

use controls::Step;

module! {
    type: EmuLinkModule,
    name: "tsm_emu_link",
    authors: ["tsm-rs developers"],
    description: "Emulated link TSM backend for tsm-rs tests and demo",
    license: "GPL",
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

/// Name of the faux device that provides the emulated platform's host bridge.
const PLATFORM: &CStr = c"tsm_emu_bus";

/// Whether `pdev` belongs to the emulated platform.
pub(crate) fn on_platform(pdev: &pci::Device) -> bool {
    pdev.host_bridge()
        .parent()
        .is_some_and(|p| p.name() == PLATFORM)
}

/// What the backend keeps for a managed function.
enum Function {
    /// Function 0, the DSM, with its IDE stream while connected.
    Dsm(Pin<KBox<Mutex<Option<Stream>>>>),
    /// Another function of a connected DSM.
    SubFunction,
}

/// A TDI bound to a VM.
struct Tdi {
    tdi_id: u32,
}

struct EmuLink;

impl EmuLink {
    /// Checks that the DSM speaks SPDM 1.2 over its CMA mailbox.
    fn authenticate(pdev: &pci::Device) -> Result {
        let mut request = [0u8; 4];
        spdm::msg::GetVersion
            .write(&mut wire::Writer::new(&mut request))
            .map_err(|_| EINVAL)?;
        let mut response = [0u8; 64];
        let len = tsm::doe_transfer(pdev, doe::TYPE_CMA, &request, &mut response)?;
        let version = spdm::msg::Version::read(&mut wire::Reader::new(&response[..len]))
            .map_err(|_| EPROTO)?;
        if !version.versions().any(|v| v == spdm::VERSION_12) {
            return Err(EPROTO);
        }
        Ok(())
    }

    /// Establishes the Selective IDE Stream of the Endpoint `pdev`.
    fn establish_stream(pdev: &pci::Device) -> Result<Stream> {
        Step::StreamAlloc.check()?;
        let mut stream = Stream::alloc(pdev)?;
        Step::StreamRegister.check()?;
        // One Stream ID per pool slot keeps IDs unique below the host bridge.
        stream.set_stream_id(stream.host_bridge_stream())?;
        stream.register()?;
        Step::StreamSetup.check()?;
        stream.setup(Partner::Endpoint)?;
        stream.setup(Partner::RootPort)?;
        Step::StreamEnable.check()?;
        stream.enable(Partner::Endpoint)?;
        stream.enable(Partner::RootPort)?;
        Ok(stream)
    }
}

#[vtable]
impl LinkTsm for EmuLink {
    type Function = Function;
    type Tdi = Tdi;

    fn probe(_tsm: &TsmDevice, pdev: &pci::Device, dsm: bool) -> Result<Option<Function>> {
        if !on_platform(pdev) {
            return Ok(None);
        }
        Ok(Some(if dsm {
            Function::Dsm(KBox::pin_init(new_mutex!(None), GFP_KERNEL)?)
        } else {
            Function::SubFunction
        }))
    }

    fn connect(pdev: &pci::Device, function: &Function) -> Result {
        let Function::Dsm(stream) = function else {
            return Err(ENXIO);
        };
        controls::check_busy()?;
        Step::Doe.check()?;
        Self::authenticate(pdev)?;
        if pdev.is_upstream_port() {
            // The kernel's IDE library sets up streams to Endpoints only.
            dev_info!(
                pdev.as_ref(),
                "connected: switch upstream port, no IDE stream\n"
            );
            return Ok(());
        }
        let established = Self::establish_stream(pdev)?;
        dev_info!(
            pdev.as_ref(),
            "connected: IDE stream{}.{}.{}, Stream ID {}\n",
            established.host_bridge_stream(),
            established.stream_index(Partner::RootPort),
            established.stream_index(Partner::Endpoint),
            // A registered stream has an ID; 255 is the reserved "no stream" ID.
            established.stream_id().unwrap_or(u8::MAX)
        );
        *stream.lock() = Some(established);
        Ok(())
    }

    fn disconnect(pdev: &pci::Device, function: &Function) {
        if let Function::Dsm(stream) = function {
            // Dropping the stream disables, tears down and releases it.
            drop(stream.lock().take());
            dev_info!(pdev.as_ref(), "disconnected\n");
        }
    }

    fn bind(pdev: &pci::Device, _function: &Function, _vm: VmHandle, tdi_id: u32) -> Result<Tdi> {
        dev_info!(pdev.as_ref(), "TDI {:#x} bound\n", tdi_id);
        Ok(Tdi { tdi_id })
    }

    fn unbind(pdev: &pci::Device, tdi: Tdi) {
        dev_info!(pdev.as_ref(), "TDI {:#x} unbound\n", tdi.tdi_id);
    }

    fn guest_req(
        pdev: &pci::Device,
        tdi: &Tdi,
        scope: RequestScope,
        req: &GuestRequest,
        tsm_code: &mut u64,
    ) -> Result<usize> {
        let mut buf = [0u8; 64];
        let len = req.input_len().min(req.output_len()).min(buf.len());
        req.read_input(0, &mut buf[..len])?;
        dev_info!(
            pdev.as_ref(),
            "TDI {:#x} guest request ({:?}, {} bytes): {:02x?}\n",
            tdi.tdi_id,
            scope,
            req.input_len(),
            &buf[..len]
        );
        // Echo the request back.
        req.write_output(0, &buf[..len])?;
        *tsm_code = 0;
        Ok(req.output_len() - len)
    }
}
