// SPDX-License-Identifier: GPL-2.0

//! Native PCIe CMA: device authentication with SPDM over the function's CMA DOE mailbox, as a
//! link TSM.
//!
//! Registers `tsmN` below a faux device `pci_cma`. A `connect` to it authenticates the
//! function (see [`tsm_spdm::authenticate`]) and publishes what the device showed, its
//! certificate chain, the VCA messages and the signed measurement exchange, as the function's
//! evidence (`kernel::tsm::evidence`, read through the `pci-tsm` netlink family) until
//! `disconnect`; nothing is set up on the link. A read of the evidence with a nonce
//! authenticates the function again with that nonce in the signed measurement request and
//! publishes the new evidence (CMA keeps no session between the two). Failures leave no state
//! and report `EIO` (the DOE transfer), `EPROTO` (the device broke the protocol or offers
//! nothing in common) or `EKEYREJECTED` (a certificate link or a signature does not verify).
//! TDISP operations are not part of CMA: bind, unbind and guest requests fail with
//! `EOPNOTSUPP`.
//!
//! Only one TSM owns a function's SPDM session: the PCI/TSM core gives a function one TSM
//! context, so while another TSM is connected a `connect` here fails with `EBUSY`, and the DOE
//! mailbox is driven only through the connected TSM (`pci_tsm_doe_transfer()`).

use kernel::{
    faux, pci,
    prelude::*,
    sync::{new_mutex, Mutex},
    tsm::{self, evidence, GuestRequest, LinkTsm, RequestScope, TsmDevice, VmHandle},
};
use tsm_proto::spdm::crypto::Supported;
use tsm_spdm::DoeTransfer;

module! {
    type: CmaModule,
    name: "pci_cma",
    authors: ["tsm-rs developers"],
    description: "PCIe CMA device authentication (SPDM over DOE) as a link TSM",
    license: "GPL",
    params: {
        algorithms: u32 {
            default: 0,
            description: "SPDM algorithm suites offered: 0 all, 256 P-256, 384 P-384",
        },
    },
}

struct CmaModule {
    // Fields drop in declaration order: the TSM goes before the device it hangs from.
    _tsm: tsm::Registration,
    _parent: faux::Registration,
}

impl kernel::Module for CmaModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        offered(module_parameters::algorithms.value())?;
        let parent = faux::Registration::new(c"pci_cma", None)?;
        let tsm = tsm::Registration::new_link::<Cma>(parent.as_ref().as_ref())?;
        Ok(Self {
            _tsm: tsm,
            _parent: parent,
        })
    }
}

/// The algorithm suites the `algorithms` parameter selects (`EINVAL` for an unknown value).
fn offered(param: u32) -> Result<Supported> {
    match param {
        0 => Ok(Supported::ALL),
        256 => Ok(Supported::P256),
        384 => Ok(Supported::P384),
        _ => Err(EINVAL),
    }
}

/// DOE exchanges of a connected function through the PCI/TSM core.
struct CoreDoe<'a>(&'a pci::Device);

impl DoeTransfer for CoreDoe<'_> {
    fn transfer(&mut self, object_type: u8, request: &[u8], response: &mut [u8]) -> Result<usize> {
        tsm::doe_transfer(self.0, object_type, request, response)
    }
}

/// Authenticates `pdev` (with `nonce` in the signed measurement request, else a random one)
/// and publishes the evidence, replacing what the function had.
fn authenticate_and_publish(
    pdev: &pci::Device,
    function: &Function,
    nonce: Option<&[u8; evidence::SPDM_NONCE_SIZE]>,
) -> Result {
    let algorithms = offered(module_parameters::algorithms.value())?;
    let shown = tsm_spdm::authenticate(&mut CoreDoe(pdev), algorithms, nonce).map_err(|e| {
        dev_warn!(pdev.as_ref(), "CMA: authentication failed: {:?}\n", e);
        e.errno()
    })?;
    evidence::publish_for::<Cma>(pdev, function, shown.evidence()?)?;
    dev_info!(
        pdev.as_ref(),
        "CMA: authenticated (SPDM {}.{}, {:?}, chain {} bytes, measurements {} bytes)\n",
        shown.version >> 4,
        shown.version & 0xf,
        shown.algorithms,
        shown.cert_chain.len(),
        shown.measurements.len()
    );
    Ok(())
}

/// What CMA keeps for a function it can connect: whether it is connected (its evidence is
/// in the evidence store).
struct Function {
    connected: Pin<KBox<Mutex<bool>>>,
}

/// CMA binds nothing: no value of this type exists.
enum NoTdi {}

struct Cma;

#[vtable]
impl LinkTsm for Cma {
    type Function = Function;
    type Tdi = NoTdi;

    fn probe(_tsm: &TsmDevice, pdev: &pci::Device, dsm: bool) -> Result<Option<Function>> {
        // CMA authenticates the function that has the mailbox; it manages no other function.
        if !dsm || !pdev.has_cma_mailbox() {
            return Ok(None);
        }
        Ok(Some(Function {
            connected: KBox::pin_init(new_mutex!(false), GFP_KERNEL)?,
        }))
    }

    fn connect(pdev: &pci::Device, function: &Function) -> Result {
        let mut connected = function.connected.lock();
        authenticate_and_publish(pdev, function, None)?;
        *connected = true;
        Ok(())
    }

    fn disconnect(pdev: &pci::Device, function: &Function) {
        let mut connected = function.connected.lock();
        if core::mem::take(&mut *connected) {
            evidence::clear(pdev);
            dev_info!(pdev.as_ref(), "CMA: disconnected\n");
        }
    }

    fn refresh_evidence(pdev: &pci::Device, function: &Function, nonce: &[u8]) -> Result {
        let connected = function.connected.lock();
        if !*connected {
            return Err(ENXIO);
        }
        authenticate_and_publish(pdev, function, Some(&evidence::spdm_nonce(nonce)))
    }

    fn bind(
        _pdev: &pci::Device,
        _function: &Function,
        _dsm: &Function,
        _vm: VmHandle,
        _tdi_id: u32,
    ) -> Result<NoTdi> {
        Err(EOPNOTSUPP)
    }

    fn unbind(_pdev: &pci::Device, tdi: NoTdi) {
        match tdi {}
    }

    fn guest_req(
        _pdev: &pci::Device,
        tdi: &NoTdi,
        _scope: RequestScope,
        _req: &GuestRequest,
        _tsm_code: &mut u64,
    ) -> Result<usize> {
        match *tdi {}
    }
}
