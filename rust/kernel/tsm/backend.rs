// SPDX-License-Identifier: GPL-2.0

//! What a TSM backend implements: [`LinkTsm`] or [`DevsecTsm`], and the types they see.

use super::TsmDevice;
use crate::{bindings, error::to_result, pci, prelude::*};

/// Scope of a guest request (C `enum pci_tsm_req_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestScope {
    /// Read-only TDISP collateral (interface reports, ...).
    Info,
    /// TDISP state changes (UNLOCKED -> LOCKED -> RUN).
    StateChange,
    /// Read-only debug information.
    DebugRead,
    /// Debug state changes.
    DebugWrite,
}

impl RequestScope {
    pub(super) fn as_raw(self) -> bindings::pci_tsm_req_scope {
        match self {
            Self::Info => bindings::pci_tsm_req_scope::PCI_TSM_REQ_INFO,
            Self::StateChange => bindings::pci_tsm_req_scope::PCI_TSM_REQ_STATE_CHANGE,
            Self::DebugRead => bindings::pci_tsm_req_scope::PCI_TSM_REQ_DEBUG_READ,
            Self::DebugWrite => bindings::pci_tsm_req_scope::PCI_TSM_REQ_DEBUG_WRITE,
        }
    }

    /// Whether the C `scope` is a TDISP one (information or state change), the only scopes a
    /// PCI/TSM core passes on, as 7.3.
    pub fn is_tdisp(scope: bindings::pci_tsm_req_scope) -> bool {
        matches!(Self::from_raw(scope), Some(Self::Info | Self::StateChange))
    }

    pub(super) fn from_raw(scope: bindings::pci_tsm_req_scope) -> Option<Self> {
        Some(match scope {
            bindings::pci_tsm_req_scope::PCI_TSM_REQ_INFO => Self::Info,
            bindings::pci_tsm_req_scope::PCI_TSM_REQ_STATE_CHANGE => Self::StateChange,
            bindings::pci_tsm_req_scope::PCI_TSM_REQ_DEBUG_READ => Self::DebugRead,
            bindings::pci_tsm_req_scope::PCI_TSM_REQ_DEBUG_WRITE => Self::DebugWrite,
            _ => return None,
        })
    }
}

/// The VM a TDI is bound to: an opaque handle (`struct kvm *` in C), compared, never
/// dereferenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmHandle(pub(super) usize);

impl VmHandle {
    /// A handle made from a number (7.3 has no VFIO/KVM caller of the bind interface yet).
    ///
    /// # Safety
    ///
    /// The handle reaches TSM backends as a `struct kvm *`: `cookie` is the address of a
    /// `struct kvm` that outlives every binding to it, or every TSM the handle can reach (such
    /// as the emulated platform's and test TSMs) treats it as a number only.
    pub const unsafe fn from_cookie(cookie: core::num::NonZeroUsize) -> Self {
        Self(cookie.get())
    }

    /// The handle as a number: how a TSM that names VMs by number (a CoVE TSM's TVM ID, whose
    /// TVMs 7.3's KVM does not create) can tell them apart.
    pub fn cookie(self) -> usize {
        self.0
    }

    pub(super) fn as_raw(self) -> *mut bindings::kvm {
        self.0 as *mut bindings::kvm
    }
}

/// The buffers of one guest request; user or kernel memory (C `sockptr_t`).
pub struct GuestRequest {
    pub(super) input: bindings::sockptr_t,
    pub(super) input_len: usize,
    pub(super) output: bindings::sockptr_t,
    pub(super) output_len: usize,
}

impl GuestRequest {
    /// Length of the request payload.
    pub fn input_len(&self) -> usize {
        self.input_len
    }

    /// Room for the response.
    pub fn output_len(&self) -> usize {
        self.output_len
    }

    /// Copies the request payload, from `offset`, into `buf`.
    pub fn read_input(&self, offset: usize, buf: &mut [u8]) -> Result {
        let end = offset.checked_add(buf.len()).ok_or(EINVAL)?;
        if end > self.input_len {
            return Err(EINVAL);
        }
        // SAFETY: The range was checked against the caller's declared input length.
        to_result(unsafe {
            bindings::copy_from_sockptr_offset(
                buf.as_mut_ptr().cast(),
                self.input,
                offset,
                buf.len(),
            )
        })
    }

    /// Copies `data` into the response at `offset`.
    pub fn write_output(&self, offset: usize, data: &[u8]) -> Result {
        let end = offset.checked_add(data.len()).ok_or(EINVAL)?;
        if end > self.output_len {
            return Err(EINVAL);
        }
        // SAFETY: The range was checked against the caller's declared output length.
        to_result(unsafe {
            bindings::copy_to_sockptr_offset(self.output, offset, data.as_ptr().cast(), data.len())
        })
    }
}

/// A host-side ("link") TSM backend: `struct pci_tsm_link_ops`.
///
/// The PCI/TSM core calls these with the locks of `include/linux/pci-tsm.h`: `probe`, `remove`,
/// `connect` and `disconnect` are serialised against TSM unregistration and against each other
/// on one device security manager (DSM); `bind`, `unbind` and `guest_req` hold the DSM lock.
#[vtable]
pub trait LinkTsm: Sized + 'static {
    /// What the backend keeps for a function it manages (the DSM, i.e. function 0, or a
    /// sub-function of a connected DSM).
    type Function: Send + Sync;
    /// What the backend keeps for a TDI bound to a VM.
    type Tdi: Send + Sync;

    /// The backend sets up Link IDE when a DSM's [`super::connect_mode`] asks for it
    /// (`tsmN/pci/link_capable`; with tsm-rs' class core only).
    const LINK_IDE: bool = false;
    /// Selective IDE Streams the backend can key at once (`tsmN/pci/selective_streams`).
    const SELECTIVE_STREAMS: u32 = 0;

    /// Decides whether `tsm` manages `pdev`; `Ok(None)` leaves it unmanaged, which is not an
    /// error for a sub-function. `dsm` is true when `pdev` is a DSM candidate
    /// ([`pci::Device::is_tsm_host`]: function 0 with IDE or TEE-IO, or a function with a CMA
    /// DOE mailbox).
    fn probe(tsm: &TsmDevice, pdev: &pci::Device, dsm: bool) -> Result<Option<Self::Function>>;

    /// Forgets a function that `probe` accepted.
    fn remove(_pdev: &pci::Device, _function: Self::Function) {}

    /// Establishes the secure session (SPDM, optionally IDE) with the DSM `pdev`.
    fn connect(pdev: &pci::Device, function: &Self::Function) -> Result;

    /// Tears the secure session down. Cannot fail: it also runs on device removal.
    fn disconnect(pdev: &pci::Device, function: &Self::Function);

    /// Binds the function's TDI to `vm` (TDISP CONFIG_LOCKED). `dsm` is what the backend keeps
    /// for the function's connected DSM (the same as `function` when `pdev` is the DSM), whose
    /// secure session carries the TDISP messages.
    fn bind(
        _pdev: &pci::Device,
        _function: &Self::Function,
        _dsm: &Self::Function,
        _vm: VmHandle,
        _tdi_id: u32,
    ) -> Result<Self::Tdi> {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Returns the TDI to the host (TDISP CONFIG_UNLOCKED).
    fn unbind(_pdev: &pci::Device, _tdi: Self::Tdi) {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Asks the connected DSM `pdev` (managed with `function`) for fresh signed measurements
    /// whose SPDM Nonce is [`super::evidence::spdm_nonce`] of `nonce` (1 to 256 bytes), and
    /// publishes the new evidence ([`super::evidence::publish_for`]). Reached through the
    /// evidence a backend published with [`super::evidence::publish_for`]; runs under the DSM
    /// lock. The default cannot refresh: `EOPNOTSUPP`.
    fn refresh_evidence(_pdev: &pci::Device, _function: &Self::Function, _nonce: &[u8]) -> Result {
        Err(EOPNOTSUPP)
    }

    /// Relays a request of the VM the TDI is bound to. Returns the residue (bytes of the
    /// response buffer left unused) and sets `tsm_code` to the firmware's status.
    fn guest_req(
        _pdev: &pci::Device,
        _tdi: &Self::Tdi,
        _scope: RequestScope,
        _req: &GuestRequest,
        _tsm_code: &mut u64,
    ) -> Result<usize> {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// A guest-side ("devsec") TSM backend: `struct pci_tsm_devsec_ops`.
#[vtable]
pub trait DevsecTsm: Sized + 'static {
    /// What the backend keeps for a locked function.
    type Function: Send + Sync;

    /// Moves `pdev` to TDISP CONFIG_LOCKED under `tsm`.
    fn lock(tsm: &TsmDevice, pdev: &pci::Device) -> Result<Self::Function>;

    /// Returns `pdev` to CONFIG_UNLOCKED.
    fn unlock(_pdev: &pci::Device, _function: Self::Function) {}
}
