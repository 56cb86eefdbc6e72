// SPDX-License-Identifier: GPL-2.0

//! Native PCIe CMA: device authentication with SPDM over the function's CMA DOE mailbox, as a
//! link TSM.
//!
//! Registers `tsmN` below a faux device `pci_cma`. A `connect` to it authenticates the
//! function (see [`tsm_spdm::authenticate`]) and keeps the certificate chain and the signed
//! measurements as the function's evidence until `disconnect`; nothing is set up on the link.
//! Failures leave no state and report `EIO` (the DOE transfer), `EPROTO` (the device broke the
//! protocol or offers nothing in common) or `EKEYREJECTED` (a certificate link or a signature
//! does not verify). TDISP operations are not part of CMA: bind, unbind and guest requests fail
//! with `EOPNOTSUPP`.
//!
//! Only one TSM owns a function's SPDM session: the PCI/TSM core gives a function one TSM
//! context, so while another TSM is connected a `connect` here fails with `EBUSY`, and the DOE
//! mailbox is driven only through the connected TSM (`pci_tsm_doe_transfer()`).

use kernel::{
    alloc::KVVec,
    faux, pci,
    prelude::*,
    sync::{new_mutex, Mutex},
    tsm::{self, GuestRequest, LinkTsm, RequestScope, TsmDevice, VmHandle},
};
use tsm_proto::spdm::crypto::Supported;
use tsm_spdm::{Authenticated, DoeTransfer};

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

/// What CMA keeps for a function it can connect: the evidence of the last authentication.
struct Function {
    evidence: Pin<KBox<Mutex<Option<Evidence>>>>,
}

/// What an authentication left, kept until disconnect.
struct Evidence {
    _cert_chain: KVVec<u8>,
    _measurements: KVVec<u8>,
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
            evidence: KBox::pin_init(new_mutex!(None), GFP_KERNEL)?,
        }))
    }

    fn connect(pdev: &pci::Device, function: &Function) -> Result {
        let algorithms = offered(module_parameters::algorithms.value())?;
        let Authenticated {
            version,
            algorithms,
            cert_chain,
            measurements,
        } = tsm_spdm::authenticate(&mut CoreDoe(pdev), algorithms).map_err(|e| {
            dev_warn!(pdev.as_ref(), "CMA: authentication failed: {:?}\n", e);
            e.errno()
        })?;
        dev_info!(
            pdev.as_ref(),
            "CMA: authenticated (SPDM {}.{}, {:?}, chain {} bytes, measurements {} bytes)\n",
            version >> 4,
            version & 0xf,
            algorithms,
            cert_chain.len(),
            measurements.len()
        );
        *function.evidence.lock() = Some(Evidence {
            _cert_chain: cert_chain,
            _measurements: measurements,
        });
        Ok(())
    }

    fn disconnect(pdev: &pci::Device, function: &Function) {
        if function.evidence.lock().take().is_some() {
            dev_info!(pdev.as_ref(), "CMA: disconnected\n");
        }
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
