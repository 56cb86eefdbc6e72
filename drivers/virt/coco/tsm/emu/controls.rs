// SPDX-License-Identifier: GPL-2.0

//! Test controls of the emulated link TSM: the `tsm_emu_link` faux device's write-only
//! attributes standing in for the VFIO/KVM callers that Linux 7.3 lacks, plus fault injection
//! into `connect`.

use crate::platform_fw::on_platform;
use core::num::NonZeroUsize;
use kernel::{
    alloc::KVVec,
    class::GroupList,
    device::Device,
    pci,
    prelude::*,
    str::kstrtobool_bytes,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
    },
    sysfs,
    tsm::{self, RequestScope, VmHandle},
};
use tsm_proto::tdisp;

/// A step of `connect` at which a failure (`EIO`) can be injected.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Step {
    /// No injected failure.
    None = 0,
    /// Before the SPDM exchanges over DOE.
    Doe = 1,
    /// Before the IDE stream is allocated.
    StreamAlloc = 2,
    /// Before it is registered (`streamH.R.E`).
    StreamRegister = 3,
    /// Before the Endpoint and Root Port are set up.
    StreamSetup = 4,
    /// Before the stream is enabled (the keys are in use at both ends).
    StreamEnable = 5,
    /// After authentication, before KEY_EXCHANGE.
    Session = 6,
    /// After the device's KEY_PROGs, before the Root Port's.
    KeyProg = 7,
    /// After every KEY_PROG, before K_SET_GO.
    KeySetGo = 8,
}

static FAIL_AT: Atomic<u32> = Atomic::new(Step::None as u32);
static BUSY: Atomic<bool> = Atomic::new(false);

impl Step {
    const NAMES: [(&'static [u8], Step); 9] = [
        (b"none", Step::None),
        (b"doe", Step::Doe),
        (b"stream_alloc", Step::StreamAlloc),
        (b"stream_register", Step::StreamRegister),
        (b"stream_setup", Step::StreamSetup),
        (b"stream_enable", Step::StreamEnable),
        (b"session", Step::Session),
        (b"key_prog", Step::KeyProg),
        (b"key_set_go", Step::KeySetGo),
    ];

    /// Fails with `EIO` if a failure is injected at this step.
    pub(crate) fn check(self) -> Result {
        if FAIL_AT.load(Relaxed) == self as u32 {
            return Err(EIO);
        }
        Ok(())
    }
}

/// Fails with `EBUSY` while `busy` is set.
pub(crate) fn check_busy() -> Result {
    if BUSY.load(Relaxed) {
        return Err(EBUSY);
    }
    Ok(())
}

/// The emulated platform's device named `name`; `ENXIO` for a device of another platform,
/// whatever TSM owns it.
fn platform_device(name: &[u8]) -> Result<ARef<pci::Device>> {
    let pdev = pci::Device::find_by_name(name)?;
    if !on_platform(&pdev) {
        return Err(ENXIO);
    }
    Ok(pdev)
}

/// The VM that test binds use: 7.3 only compares VM handles.
// SAFETY: Only the TSMs of the emulated platform see this one: the emulated link TSM and the
// vendor backends on their firmware models, which compare VM handles or pass them on as numbers
// and never dereference them.
const TEST_VM: VmHandle = unsafe { VmHandle::from_cookie(NonZeroUsize::MIN) };

struct Bind;

#[vtable]
impl sysfs::DeviceAttributeOps for Bind {
    fn store(_dev: &Device, input: &[u8]) -> Result {
        let pdev = platform_device(input)?;
        tsm::bind(&pdev, TEST_VM, pdev.dev_id().into())
    }
}

struct Unbind;

#[vtable]
impl sysfs::DeviceAttributeOps for Unbind {
    fn store(_dev: &Device, input: &[u8]) -> Result {
        let pdev = platform_device(input)?;
        tsm::unbind(&pdev);
        Ok(())
    }
}

struct GuestReq;

#[vtable]
impl sysfs::DeviceAttributeOps for GuestReq {
    /// `DEV report`, `DEV state` (scope INFO) or `DEV start` (scope STATE_CHANGE).
    fn store(_dev: &Device, input: &[u8]) -> Result {
        let space = input.iter().position(|&b| b == b' ').ok_or(EINVAL)?;
        let (name, request) = (&input[..space], &input[space + 1..]);
        let (scope, code) = match request {
            b"report" => (RequestScope::Info, tdisp::code::GET_DEVICE_INTERFACE_REPORT),
            b"state" => (RequestScope::Info, tdisp::code::GET_DEVICE_INTERFACE_STATE),
            b"start" => (RequestScope::StateChange, tdisp::code::START_INTERFACE),
            _ => return Err(EINVAL),
        };
        let pdev = platform_device(name)?;
        let mut response = KVVec::from_elem(0u8, 0x4000, GFP_KERNEL)?;
        let (residue, tsm_code) = tsm::guest_req(&pdev, scope, &[code], &mut response)?;
        let answered = response.len() - residue;
        // A state request's answer is the TDI's state: shown by name, whichever TSM answered.
        let state = match (code, answered) {
            (tdisp::code::GET_DEVICE_INTERFACE_STATE, 1) => tdisp::TdiState::from_byte(response[0])
                .map(crate::platform_fw::state_name)
                .unwrap_or("invalid"),
            _ => "-",
        };
        dev_info!(
            pdev.as_ref(),
            "guest request {} answered: {} bytes, TSM code {}, TDI state {}\n",
            kernel::str::BStr::from_bytes(request),
            answered,
            tsm_code,
            state
        );
        Ok(())
    }
}

struct FailConnect;

#[vtable]
impl sysfs::DeviceAttributeOps for FailConnect {
    fn store(_dev: &Device, input: &[u8]) -> Result {
        let (_, step) = Step::NAMES
            .iter()
            .find(|(name, _)| *name == input)
            .ok_or(EINVAL)?;
        FAIL_AT.store(*step as u32, Relaxed);
        Ok(())
    }
}

struct Busy;

#[vtable]
impl sysfs::DeviceAttributeOps for Busy {
    fn store(_dev: &Device, input: &[u8]) -> Result {
        BUSY.store(kstrtobool_bytes(input)?, Relaxed);
        Ok(())
    }
}

kernel::device_attribute_group! {
    static CONTROLS = {
        visibility: sysfs::AlwaysVisible,
        attributes: [
            BIND: Bind = (c"bind", 0o200),
            UNBIND: Unbind = (c"unbind", 0o200),
            GUEST_REQUEST: GuestReq = (c"guest_request", 0o200),
            FAIL_CONNECT: FailConnect = (c"fail_connect", 0o200),
            BUSY_CONTROL: Busy = (c"busy", 0o200),
        ],
    };
}

/// The attribute groups of the `tsm_emu_link` faux device.
pub(crate) static GROUPS: GroupList = GroupList::one(&CONTROLS);
