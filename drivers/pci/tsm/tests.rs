// SPDX-License-Identifier: GPL-2.0

//! KUnit suites of the core, run against the emulated TDISP platform (a Root Port and a
//! multi-function Endpoint per emulated host bridge) with a mock link TSM that records every
//! call it gets.

use crate::{
    attrs::{AUTHENTICATED_ATTR, BOUND_ATTR, CONNECT_ATTR, DISCONNECT_ATTR, DSM_ATTR},
    lifecycle,
    platform::{Options, Platform},
};
use core::num::NonZeroUsize;
use kernel::{
    class::ClassDevice,
    device::Device,
    faux,
    pci::{self, emul::RootBus},
    prelude::*,
    signal::PendingSignal,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
    },
    time::{delay::fsleep, Delta},
    tsm::{self, LinkTsm, RequestScope, TsmDevice, VmHandle},
    workqueue,
};

/// Host bridge window of a test platform.
const WINDOW_SIZE: u64 = 16 << 20;
/// Name prefix of the faux devices the test platforms hang from; the mock manages only those.
const PLATFORM_PREFIX: &[u8] = b"pci_tsm_kunit_bus";

/// What the mock TSM was asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
enum Op {
    Probe = 1,
    Remove,
    Connect,
    Disconnect,
    Bind,
    Unbind,
    GuestReq,
}

/// The mock's call log: `op << 16 | bus << 8 | devfn`, lock-free so that every path may log.
static LOG: [Atomic<u32>; 64] = [const { Atomic::new(0) }; 64];
static LOG_LEN: Atomic<usize> = Atomic::new(0);
/// Knobs of the mock, set by each test.
static DECLINE_PROBE: Atomic<bool> = Atomic::new(false);
static FAIL_CONNECT: Atomic<bool> = Atomic::new(false);
/// Address of a function whose connect fails (0: none), like [`FAIL_CONNECT`] for one DSM.
static FAIL_CONNECT_OF: Atomic<usize> = Atomic::new(0);
/// Address of the function whose connect waits for [`RELEASE`] (0: none); every test platform
/// has the same bus numbers, so the address tells them apart.
static BLOCK_CONNECT: Atomic<usize> = Atomic::new(0);
static RELEASE: Atomic<bool> = Atomic::new(false);
static BLOCKED: Atomic<bool> = Atomic::new(false);

/// Calls of operations that include/linux/pci-tsm.h says run under the DSM lock
/// (`pci_tsm_pf0::lock`): how many, and how many found it free.
static LOCKED_OPS: Atomic<u32> = Atomic::new(0);
static UNLOCKED_OPS: Atomic<u32> = Atomic::new(0);
/// `remove` calls that found `pdev->tsm` already cleared (7.3 clears it after `remove`).
static REMOVED_UNPUBLISHED: Atomic<u32> = Atomic::new(0);
/// `connect` publishes evidence that a nonce refreshes.
static PUBLISH_AT_CONNECT: Atomic<bool> = Atomic::new(false);
/// Refreshes that ran under the DSM lock, with the DSM's own context.
static REFRESHES: Atomic<i32> = Atomic::new(0);

/// Whether the lock of `pdev`'s DSM is held, from inside a TSM operation on `pdev`.
fn dsm_lock_held(pdev: &pci::Device) -> bool {
    // SAFETY: A TSM operation on `pdev` runs while its context and its DSM's are alive.
    let Some(ctx) = (unsafe { pdev.tsm_context() }) else {
        return false;
    };
    // SAFETY: As above.
    let dsm = unsafe { lifecycle::dsm_context_of(ctx) };
    // SAFETY: A DSM context is a `pci_tsm_pf0`, alive as above. The mutex is not recursive: if
    // this thread (or another) holds it, taking it again fails.
    dsm.is_some_and(|dsm| unsafe { dsm.dsm_lock() }.try_lock().is_none())
}

fn log(op: Op, pdev: &pci::Device) {
    if matches!(
        op,
        Op::Connect | Op::Disconnect | Op::Bind | Op::Unbind | Op::GuestReq
    ) {
        LOCKED_OPS.fetch_add(1, Relaxed);
        if !dsm_lock_held(pdev) {
            UNLOCKED_OPS.fetch_add(1, Relaxed);
        }
    }
    let slot = LOG_LEN.fetch_add(1, Relaxed);
    if let Some(entry) = LOG.get(slot) {
        entry.store((op as u32) << 16 | u32::from(pdev.dev_id()), Relaxed);
    }
}

fn logged() -> KVec<(Op, u16)> {
    let len = LOG_LEN.load(Relaxed).min(LOG.len());
    let mut out = KVec::new();
    for entry in &LOG[..len] {
        let raw = entry.load(Relaxed);
        let op = match raw >> 16 {
            1 => Op::Probe,
            2 => Op::Remove,
            3 => Op::Connect,
            4 => Op::Disconnect,
            5 => Op::Bind,
            6 => Op::Unbind,
            _ => Op::GuestReq,
        };
        // CAST: the low half is a `dev_id()`.
        out.push((op, raw as u16), GFP_KERNEL).unwrap();
    }
    out
}

fn reset_mock() {
    LOG_LEN.store(0, Relaxed);
    LOCKED_OPS.store(0, Relaxed);
    UNLOCKED_OPS.store(0, Relaxed);
    REMOVED_UNPUBLISHED.store(0, Relaxed);
    DECLINE_PROBE.store(false, Relaxed);
    FAIL_CONNECT.store(false, Relaxed);
    FAIL_CONNECT_OF.store(0, Relaxed);
    BLOCK_CONNECT.store(0, Relaxed);
    RELEASE.store(false, Relaxed);
    BLOCKED.store(false, Relaxed);
    PUBLISH_AT_CONNECT.store(false, Relaxed);
}

fn on_test_platform(pdev: &pci::Device) -> bool {
    pdev.host_bridge()
        .parent()
        .is_some_and(|p| p.name().to_bytes().starts_with(PLATFORM_PREFIX))
}

struct MockTsm;

/// What the mock keeps for a function.
struct MockFunction {
    dsm: bool,
}

/// Evidence whose measurements are the SPDM Nonce of `nonce` (empty without one).
fn mock_evidence(nonce: &[u8]) -> Result<tsm::evidence::Evidence> {
    let mut ev = tsm::evidence::Evidence::new(None);
    if !nonce.is_empty() {
        ev.set(
            tsm::evidence::Kind::Measurements,
            &tsm::evidence::spdm_nonce(nonce),
        )?;
    }
    Ok(ev)
}

#[vtable]
impl LinkTsm for MockTsm {
    type Function = MockFunction;
    type Tdi = ();

    fn probe(_tsm: &TsmDevice, pdev: &pci::Device, dsm: bool) -> Result<Option<MockFunction>> {
        if !on_test_platform(pdev) || DECLINE_PROBE.load(Relaxed) {
            return Ok(None);
        }
        log(Op::Probe, pdev);
        Ok(Some(MockFunction { dsm }))
    }

    fn remove(pdev: &pci::Device, _function: MockFunction) {
        if !pdev.has_tsm_context() {
            REMOVED_UNPUBLISHED.fetch_add(1, Relaxed);
        }
        log(Op::Remove, pdev);
    }

    fn connect(pdev: &pci::Device, function: &MockFunction) -> Result {
        log(Op::Connect, pdev);
        if PUBLISH_AT_CONNECT.load(Relaxed) {
            tsm::evidence::publish_for::<Self>(pdev, function, mock_evidence(b"")?)?;
        }
        if BLOCK_CONNECT.load(Relaxed) == core::ptr::from_ref(pdev) as usize {
            BLOCKED.store(true, Relaxed);
            // Bounded: a core that serialises connects fails the test instead of hanging it.
            for _ in 0..500 {
                if RELEASE.load(Relaxed) {
                    break;
                }
                fsleep(Delta::from_millis(10));
            }
        }
        if FAIL_CONNECT.load(Relaxed)
            || FAIL_CONNECT_OF.load(Relaxed) == core::ptr::from_ref(pdev) as usize
        {
            return Err(EIO);
        }
        Ok(())
    }

    fn disconnect(pdev: &pci::Device, _function: &MockFunction) {
        log(Op::Disconnect, pdev);
    }

    fn refresh_evidence(pdev: &pci::Device, function: &MockFunction, nonce: &[u8]) -> Result {
        if dsm_lock_held(pdev) && function.dsm {
            REFRESHES.fetch_add(1, Relaxed);
        }
        tsm::evidence::publish_for::<Self>(pdev, function, mock_evidence(nonce)?)?;
        Ok(())
    }

    fn bind(
        pdev: &pci::Device,
        _function: &MockFunction,
        _dsm: &MockFunction,
        _vm: VmHandle,
        _tdi_id: u32,
    ) -> Result<()> {
        log(Op::Bind, pdev);
        Ok(())
    }

    fn unbind(pdev: &pci::Device, _tdi: ()) {
        log(Op::Unbind, pdev);
    }

    fn guest_req(
        pdev: &pci::Device,
        _tdi: &(),
        _scope: RequestScope,
        req: &tsm::GuestRequest,
        tsm_code: &mut u64,
    ) -> Result<usize> {
        log(Op::GuestReq, pdev);
        *tsm_code = 0x5a;
        req.write_output(0, b"ok")?;
        Ok(req.output_len() - 2)
    }
}

/// A platform with an Endpoint of `functions` functions and `vfs` TotalVFs below the Root Port.
fn endpoint(functions: u8, vfs: u8) -> Options {
    Options {
        functions,
        vfs,
        switch_ports: 0,
        dsm_below_switch: false,
    }
}

/// A platform with a switch of `ports` Downstream Ports below the Root Port.
fn switch(ports: u8) -> Options {
    Options {
        functions: 1,
        vfs: 0,
        switch_ports: ports,
        dsm_below_switch: false,
    }
}

/// A switch of `ports` Downstream Ports whose first one leads to a TEE-IO Endpoint of
/// `functions` functions (a DSM of its own below the switch's DSM).
fn switch_over_dsm(ports: u8, functions: u8) -> Options {
    Options {
        functions,
        vfs: 0,
        switch_ports: ports,
        dsm_below_switch: true,
    }
}

/// Waits up to five seconds for `flag`; whether it was set.
fn wait_for(flag: &Atomic<bool>) -> bool {
    for _ in 0..5000 {
        if flag.load(Relaxed) {
            return true;
        }
        fsleep(Delta::from_millis(1));
    }
    false
}

/// One emulated host bridge (Root Port + Endpoint or switch) below a faux device.
struct TestPlatform {
    // Fields drop in declaration order: the hierarchy goes before its parent device.
    bus: RootBus<Platform>,
    _parent: faux::Registration,
}

impl TestPlatform {
    fn new(index: u8, functions: u8) -> Result<Self> {
        Self::with_options(index, endpoint(functions, 0))
    }

    fn with_options(index: u8, options: Options) -> Result<Self> {
        let mut name = [0u8; 24];
        name[..PLATFORM_PREFIX.len()].copy_from_slice(PLATFORM_PREFIX);
        name[PLATFORM_PREFIX.len()] = b'0' + index;
        let name = CStr::from_bytes_until_nul(&name).map_err(|_| EINVAL)?;
        let parent = faux::Registration::new(name, None)?;
        let bus = RootBus::new(
            parent.as_ref().as_ref(),
            WINDOW_SIZE,
            Platform::new(options, None)?,
        )?;
        bus.scan();
        Ok(Self {
            bus,
            _parent: parent,
        })
    }

    /// Function `function` of the Endpoint (bus 1, device 0).
    fn function(&self, function: u8) -> ARef<pci::Device> {
        self.device(1, function).unwrap()
    }

    /// VF `index` of the Endpoint's function 0 (bus 1, devfn 8 and up), if enabled.
    fn vf(&self, index: u8) -> Result<ARef<pci::Device>> {
        self.device(1, 8 + index)
    }

    fn device(&self, bus: u8, devfn: u8) -> Result<ARef<pci::Device>> {
        let mut name = [0u8; 16];
        let mut w = kernel::str::Formatter::new(&mut name);
        core::fmt::Write::write_fmt(
            &mut w,
            format_args!(
                "{:04x}:{:02x}:{:02x}.{}",
                self.bus.domain(),
                bus,
                devfn >> 3,
                devfn & 7
            ),
        )
        .unwrap();
        let len = w.bytes_written();
        pci::Device::find_by_name(&name[..len])
    }
}

/// The mock TSM, registered below its own faux device.
struct TestTsm {
    tsm: tsm::Registration,
    _parent: faux::Registration,
}

impl TestTsm {
    fn new() -> Result<Self> {
        let parent = faux::Registration::new(c"pci_tsm_kunit_tsm", None)?;
        let tsm = tsm::Registration::new_link::<MockTsm>(parent.as_ref().as_ref())?;
        Ok(Self {
            tsm,
            _parent: parent,
        })
    }

    fn id(&self) -> u32 {
        self.tsm.device().id()
    }

    fn name(&self) -> KVec<u8> {
        let mut name = KVec::new();
        name.extend_from_slice(self.tsm.device().device().name().to_bytes(), GFP_KERNEL)
            .unwrap();
        name
    }
}

fn dev_id(bus: u8, function: u8) -> u16 {
    u16::from(bus) << 8 | u16::from(function)
}

fn dsm_name(pdev: &pci::Device) -> Option<KVec<u8>> {
    let mut name = KVec::new();
    let found = lifecycle::dsm_of(pdev, &mut |dsm| {
        let dev: &kernel::device::Device = dsm.as_ref();
        name.extend_from_slice(dev.name().to_bytes(), GFP_KERNEL)?;
        Ok(())
    })
    .unwrap();
    found.then_some(name)
}

fn device_name(pdev: &pci::Device) -> KVec<u8> {
    let dev: &kernel::device::Device = pdev.as_ref();
    let mut name = KVec::new();
    name.extend_from_slice(dev.name().to_bytes(), GFP_KERNEL)
        .unwrap();
    name
}

fn vm(cookie: usize) -> VmHandle {
    // SAFETY: The mock TSM never dereferences a VM handle.
    unsafe { VmHandle::from_cookie(NonZeroUsize::new(cookie).unwrap()) }
}

#[kunit_tests(pci_tsm_core)]
mod cases {
    use super::*;

    #[test]
    fn connect_then_disconnect_in_order() {
        reset_mock();
        let platform = TestPlatform::new(0, 3).unwrap();
        let tsm = TestTsm::new().unwrap();
        let (pf0, fn1, fn2) = (
            platform.function(0),
            platform.function(1),
            platform.function(2),
        );

        assert_eq!(dsm_name(&fn1), None);
        lifecycle::connect(&pf0, tsm.id()).unwrap();
        assert_eq!(
            &logged()[..],
            &[
                (Op::Probe, dev_id(1, 0)),
                (Op::Connect, dev_id(1, 0)),
                (Op::Probe, dev_id(1, 1)),
                (Op::Probe, dev_id(1, 2)),
            ]
        );
        let pf0_name = device_name(&pf0);
        assert_eq!(dsm_name(&pf0).as_deref(), Some(&pf0_name[..]));
        assert_eq!(dsm_name(&fn2).as_deref(), Some(&pf0_name[..]));

        tsm::bind(&fn1, vm(1), 1).unwrap();
        tsm::bind(&pf0, vm(1), 0).unwrap();
        reset_mock();
        lifecycle::disconnect(&pf0, &tsm.name()).unwrap();
        assert_eq!(
            &logged()[..],
            &[
                (Op::Unbind, dev_id(1, 1)),
                (Op::Unbind, dev_id(1, 0)),
                (Op::Remove, dev_id(1, 2)),
                (Op::Remove, dev_id(1, 1)),
                (Op::Disconnect, dev_id(1, 0)),
                (Op::Remove, dev_id(1, 0)),
            ]
        );
        assert!(!pf0.has_tsm_context() && !fn1.has_tsm_context() && !fn2.has_tsm_context());
    }

    #[test]
    fn connect_errors_leave_nothing_behind() {
        reset_mock();
        let platform = TestPlatform::new(0, 2).unwrap();
        let tsm = TestTsm::new().unwrap();
        let (pf0, fn1) = (platform.function(0), platform.function(1));

        assert_eq!(lifecycle::connect(&pf0, tsm.id() + 1), Err(ENXIO));
        DECLINE_PROBE.store(true, Relaxed);
        assert_eq!(lifecycle::connect(&pf0, tsm.id()), Err(ENXIO));
        DECLINE_PROBE.store(false, Relaxed);

        FAIL_CONNECT.store(true, Relaxed);
        assert_eq!(lifecycle::connect(&pf0, tsm.id()), Err(EIO));
        assert_eq!(
            &logged()[..],
            &[
                (Op::Probe, dev_id(1, 0)),
                (Op::Connect, dev_id(1, 0)),
                (Op::Remove, dev_id(1, 0)),
            ]
        );
        assert!(!pf0.has_tsm_context() && !fn1.has_tsm_context());
        FAIL_CONNECT.store(false, Relaxed);

        assert_eq!(lifecycle::disconnect(&pf0, &tsm.name()), Err(ENXIO));
        lifecycle::connect(&pf0, tsm.id()).unwrap();
        assert_eq!(lifecycle::connect(&pf0, tsm.id()), Err(EBUSY));
        assert_eq!(lifecycle::disconnect(&pf0, b"tsm99"), Err(EINVAL));
        assert_eq!(lifecycle::disconnect(&fn1, &tsm.name()), Err(ENXIO));
        assert!(pf0.has_tsm_context() && fn1.has_tsm_context());
        lifecycle::disconnect(&pf0, &tsm.name()).unwrap();
    }

    #[test]
    fn bind_and_guest_request_rules() {
        reset_mock();
        let platform = TestPlatform::new(0, 2).unwrap();
        let tsm = TestTsm::new().unwrap();
        let (pf0, fn1) = (platform.function(0), platform.function(1));

        assert_eq!(tsm::bind(&fn1, vm(1), 1), Err(EINVAL));
        lifecycle::connect(&pf0, tsm.id()).unwrap();
        reset_mock();
        let mut out = [0u8; 8];
        assert_eq!(
            tsm::guest_req(&fn1, RequestScope::Info, b"hi", &mut out),
            Err(ENXIO)
        );
        tsm::bind(&fn1, vm(1), 1).unwrap();
        tsm::bind(&fn1, vm(1), 1).unwrap();
        assert_eq!(tsm::bind(&fn1, vm(2), 1), Err(EBUSY));
        assert_eq!(
            tsm::guest_req(&fn1, RequestScope::DebugRead, b"hi", &mut out),
            Err(EINVAL)
        );
        assert_eq!(
            tsm::guest_req(&fn1, RequestScope::StateChange, b"hi", &mut out),
            Ok((6, 0x5a))
        );
        assert_eq!(&out[..2], b"ok");
        tsm::unbind(&fn1);
        tsm::unbind(&fn1);
        assert_eq!(
            &logged()[..],
            &[
                (Op::Bind, dev_id(1, 1)),
                (Op::GuestReq, dev_id(1, 1)),
                (Op::Unbind, dev_id(1, 1)),
            ]
        );
        lifecycle::disconnect(&pf0, &tsm.name()).unwrap();
    }

    #[test]
    fn tsm_unregistration_tears_down_newest_first() {
        reset_mock();
        let platform = TestPlatform::new(0, 2).unwrap();
        let tsm = TestTsm::new().unwrap();
        let (pf0, fn1) = (platform.function(0), platform.function(1));
        lifecycle::connect(&pf0, tsm.id()).unwrap();
        tsm::bind(&fn1, vm(7), 1).unwrap();
        reset_mock();
        drop(tsm);
        assert_eq!(
            &logged()[..],
            &[
                (Op::Unbind, dev_id(1, 1)),
                (Op::Remove, dev_id(1, 1)),
                (Op::Disconnect, dev_id(1, 0)),
                (Op::Remove, dev_id(1, 0)),
            ]
        );
        assert!(!pf0.has_tsm_context() && !fn1.has_tsm_context());
        assert!(!lifecycle::link_tsm_registered());
    }

    #[test]
    fn device_removal_disconnects_its_dsm() {
        reset_mock();
        let platform = TestPlatform::new(0, 2).unwrap();
        let tsm = TestTsm::new().unwrap();
        lifecycle::connect(&platform.function(0), tsm.id()).unwrap();
        reset_mock();
        drop(platform);
        // Removal goes child first: function 1 leaves as a managed function, then the DSM.
        assert_eq!(
            &logged()[..],
            &[
                (Op::Remove, dev_id(1, 1)),
                (Op::Disconnect, dev_id(1, 0)),
                (Op::Remove, dev_id(1, 0)),
            ]
        );
        drop(tsm);
    }

    #[test]
    fn dsm_lookup() {
        reset_mock();
        let platform = TestPlatform::new(0, 2).unwrap();
        let tsm = TestTsm::new().unwrap();
        let (pf0, fn1) = (platform.function(0), platform.function(1));
        // Function 0 of a TEE-IO endpoint is its own DSM once connected; the other functions
        // have one only while function 0 is connected. Outside a probe the core runs, the
        // constructor's lookup finds nothing.
        assert!(lifecycle::find_dsm(&pf0).is_none());
        assert_eq!(dsm_name(&fn1), None);
        lifecycle::connect(&pf0, tsm.id()).unwrap();
        let pf0_name = device_name(&pf0);
        assert_eq!(dsm_name(&pf0).as_deref(), Some(&pf0_name[..]));
        assert_eq!(dsm_name(&fn1).as_deref(), Some(&pf0_name[..]));
        assert!(lifecycle::find_dsm(&fn1).is_none());
        lifecycle::disconnect(&pf0, &tsm.name()).unwrap();
        assert_eq!(dsm_name(&fn1), None);
    }

    #[test]
    fn readers_wait_for_a_connect_in_progress() {
        for fail in [false, true] {
            reset_mock();
            let platform = TestPlatform::new(0, 1).unwrap();
            let tsm = TestTsm::new().unwrap();
            let dsm = platform.function(0);
            let id = tsm.id();
            FAIL_CONNECT.store(fail, Relaxed);
            BLOCK_CONNECT.store(core::ptr::from_ref(&*dsm) as usize, Relaxed);
            static CONNECT_DONE: Atomic<bool> = Atomic::new(false);
            CONNECT_DONE.store(false, Relaxed);
            let slow = dsm.clone();
            workqueue::system_unbound()
                .try_spawn(GFP_KERNEL, move || {
                    let _ = lifecycle::connect(&slow, id);
                    CONNECT_DONE.store(true, Relaxed);
                })
                .unwrap();
            assert!(wait_for(&BLOCKED));
            // The TSM answers after 50 ms; the reader below starts while the context is
            // published but the connect is not done.
            workqueue::system_unbound()
                .try_spawn(GFP_KERNEL, || {
                    fsleep(Delta::from_millis(50));
                    RELEASE.store(true, Relaxed);
                })
                .unwrap();
            let connected = lifecycle::connected_tsm(&dsm, &mut |_| Ok(())).unwrap();
            assert!(RELEASE.load(Relaxed));
            assert_eq!(connected, !fail);
            assert!(wait_for(&CONNECT_DONE));
            assert_eq!(dsm.has_tsm_context(), !fail);
        }
    }

    #[test]
    fn vfs_follow_their_pf_in_walk_order() {
        reset_mock();
        let platform = TestPlatform::with_options(0, endpoint(2, 3)).unwrap();
        let tsm = TestTsm::new().unwrap();
        let pf0 = platform.function(0);
        // SAFETY: No driver is bound to the test platform's devices.
        unsafe { pf0.enable_sriov(2) }.unwrap();
        let (vf0, vf1) = (platform.vf(0).unwrap(), platform.vf(1).unwrap());
        assert_eq!(platform.vf(2).err(), Some(ENODEV));
        // Not connected yet: no DSM for the VFs.
        assert_eq!(dsm_name(&vf0), None);

        lifecycle::connect(&pf0, tsm.id()).unwrap();
        // Function 0's VFs come right after it, before function 1.
        assert_eq!(
            &logged()[..],
            &[
                (Op::Probe, dev_id(1, 0)),
                (Op::Connect, dev_id(1, 0)),
                (Op::Probe, dev_id(1, 8)),
                (Op::Probe, dev_id(1, 9)),
                (Op::Probe, dev_id(1, 1)),
            ]
        );
        let pf0_name = device_name(&pf0);
        assert_eq!(dsm_name(&vf1).as_deref(), Some(&pf0_name[..]));
        assert_eq!(dsm_name(&vf0).as_deref(), Some(&pf0_name[..]));

        tsm::bind(&vf1, vm(1), 1).unwrap();
        reset_mock();
        lifecycle::disconnect(&pf0, &tsm.name()).unwrap();
        assert_eq!(
            &logged()[..],
            &[
                (Op::Unbind, dev_id(1, 9)),
                (Op::Remove, dev_id(1, 1)),
                (Op::Remove, dev_id(1, 9)),
                (Op::Remove, dev_id(1, 8)),
                (Op::Disconnect, dev_id(1, 0)),
                (Op::Remove, dev_id(1, 0)),
            ]
        );
        assert!(!vf0.has_tsm_context() && !vf1.has_tsm_context());
        // SAFETY: As above.
        unsafe { pf0.disable_sriov() };
    }

    #[test]
    fn late_vfs_join_a_connection() {
        reset_mock();
        let platform = TestPlatform::with_options(0, endpoint(1, 2)).unwrap();
        let tsm = TestTsm::new().unwrap();
        let pf0 = platform.function(0);
        lifecycle::connect(&pf0, tsm.id()).unwrap();
        reset_mock();
        // SAFETY: No driver is bound to the test platform's devices.
        unsafe { pf0.enable_sriov(2) }.unwrap();
        assert_eq!(
            &logged()[..],
            &[(Op::Probe, dev_id(1, 8)), (Op::Probe, dev_id(1, 9))]
        );
        let (vf0, vf1) = (platform.vf(0).unwrap(), platform.vf(1).unwrap());
        let pf0_name = device_name(&pf0);
        assert_eq!(dsm_name(&vf0).as_deref(), Some(&pf0_name[..]));
        assert_eq!(dsm_name(&vf1).as_deref(), Some(&pf0_name[..]));

        // Removing the VFs while connected ends only their contexts.
        tsm::bind(&vf0, vm(1), 1).unwrap();
        reset_mock();
        // SAFETY: As above.
        unsafe { pf0.disable_sriov() };
        assert_eq!(
            &logged()[..],
            &[
                (Op::Unbind, dev_id(1, 8)),
                (Op::Remove, dev_id(1, 8)),
                (Op::Remove, dev_id(1, 9)),
            ]
        );
        assert!(pf0.has_tsm_context());
        lifecycle::disconnect(&pf0, &tsm.name()).unwrap();
    }

    #[test]
    fn switch_upstream_port_is_the_dsm_below_it() {
        reset_mock();
        let platform = TestPlatform::with_options(0, switch(2)).unwrap();
        let tsm = TestTsm::new().unwrap();
        let usp = platform.device(1, 0).unwrap();
        let dsp = platform.device(2, 0).unwrap();
        let (ep0, ep1) = (
            platform.device(3, 0).unwrap(),
            platform.device(4, 0).unwrap(),
        );
        assert_eq!(dsm_name(&ep0), None);

        lifecycle::connect(&usp, tsm.id()).unwrap();
        // Everything below the Upstream Port, depth first; a Downstream Port has no DSM (it is
        // not two levels below the Upstream Port), so its context is dropped again.
        assert_eq!(
            &logged()[..],
            &[
                (Op::Probe, dev_id(1, 0)),
                (Op::Connect, dev_id(1, 0)),
                (Op::Probe, dev_id(2, 0)),
                (Op::Remove, dev_id(2, 0)),
                (Op::Probe, dev_id(3, 0)),
                (Op::Probe, dev_id(2, 8)),
                (Op::Remove, dev_id(2, 8)),
                (Op::Probe, dev_id(4, 0)),
            ]
        );
        let usp_name = device_name(&usp);
        assert_eq!(dsm_name(&ep0).as_deref(), Some(&usp_name[..]));
        assert_eq!(dsm_name(&ep1).as_deref(), Some(&usp_name[..]));
        assert_eq!(dsm_name(&usp).as_deref(), Some(&usp_name[..]));
        assert!(!dsp.has_tsm_context());

        tsm::bind(&ep1, vm(1), 1).unwrap();
        reset_mock();
        lifecycle::disconnect(&usp, &tsm.name()).unwrap();
        assert_eq!(
            &logged()[..],
            &[
                (Op::Unbind, dev_id(4, 0)),
                (Op::Remove, dev_id(4, 0)),
                (Op::Remove, dev_id(3, 0)),
                (Op::Disconnect, dev_id(1, 0)),
                (Op::Remove, dev_id(1, 0)),
            ]
        );
        assert!(!ep0.has_tsm_context() && !ep1.has_tsm_context());
        assert_eq!(dsm_name(&ep0), None);
    }

    #[test]
    fn connects_on_different_dsms_run_in_parallel() {
        reset_mock();
        let platforms = [
            TestPlatform::new(0, 1).unwrap(),
            TestPlatform::new(1, 1).unwrap(),
            TestPlatform::new(2, 1).unwrap(),
        ];
        let tsm = TestTsm::new().unwrap();
        let dsms = platforms.each_ref().map(|p| p.function(0));
        let id = tsm.id();

        // The third DSM's connect blocks inside the TSM until released.
        static SLOW_DONE: Atomic<bool> = Atomic::new(false);
        SLOW_DONE.store(false, Relaxed);
        BLOCK_CONNECT.store(core::ptr::from_ref(&*dsms[2]) as usize, Relaxed);
        let slow = dsms[2].clone();
        workqueue::system_unbound()
            .try_spawn(GFP_KERNEL, move || {
                let _ = lifecycle::connect(&slow, id);
                SLOW_DONE.store(true, Relaxed);
            })
            .unwrap();
        assert!(wait_for(&BLOCKED));

        // With one global lock (7.3) these would wait for the slow connect.
        lifecycle::connect(&dsms[0], id).unwrap();
        lifecycle::connect(&dsms[1], id).unwrap();
        assert!(!SLOW_DONE.load(Relaxed));

        RELEASE.store(true, Relaxed);
        assert!(wait_for(&SLOW_DONE));
        assert!(dsms.iter().all(|dsm| dsm.has_tsm_context()));
        drop(tsm);
        assert!(dsms.iter().all(|dsm| !dsm.has_tsm_context()));
    }

    /// Finding 1: an Endpoint DSM below a switch fails its connect while the switch's DSM
    /// connects and walks past it. Before, the switch's walk read the Endpoint's context
    /// unlocked (a use-after-free under KASAN when it was freed) and handed function 1 to the
    /// Endpoint's DSM, which then never connected. Now every function has exactly one owner,
    /// probed once, and only a connected DSM owns anything.
    #[test]
    fn endpoint_dsm_failing_while_the_switch_connects() {
        reset_mock();
        let platform = TestPlatform::with_options(0, switch_over_dsm(2, 2)).unwrap();
        let tsm = TestTsm::new().unwrap();
        let usp = platform.device(1, 0).unwrap();
        let (ep0, ep1) = (
            platform.device(3, 0).unwrap(),
            platform.device(3, 1).unwrap(),
        );
        let id = tsm.id();

        static DONE: Atomic<bool> = Atomic::new(false);
        static FAILED_WITH_EIO: Atomic<bool> = Atomic::new(false);
        DONE.store(false, Relaxed);
        FAILED_WITH_EIO.store(false, Relaxed);
        BLOCK_CONNECT.store(core::ptr::from_ref(&*ep0) as usize, Relaxed);
        FAIL_CONNECT_OF.store(core::ptr::from_ref(&*ep0) as usize, Relaxed);
        let slow = ep0.clone();
        workqueue::system_unbound()
            .try_spawn(GFP_KERNEL, move || {
                FAILED_WITH_EIO.store(lifecycle::connect(&slow, id) == Err(EIO), Relaxed);
                DONE.store(true, Relaxed);
            })
            .unwrap();
        assert!(wait_for(&BLOCKED));
        // The Endpoint's context is published and its connect in progress.
        lifecycle::connect(&usp, id).unwrap();
        RELEASE.store(true, Relaxed);
        assert!(wait_for(&DONE));
        assert!(FAILED_WITH_EIO.load(Relaxed));

        let usp_name = device_name(&usp);
        assert!(!ep0.has_tsm_context());
        assert_eq!(dsm_name(&ep1).as_deref(), Some(&usp_name[..]));
        // Each function was probed once.
        let log = logged();
        for dev in [dev_id(3, 0), dev_id(3, 1), dev_id(4, 0)] {
            let probes = log
                .iter()
                .filter(|&&(op, id)| op == Op::Probe && id == dev)
                .count();
            assert_eq!(probes, 1);
        }
        lifecycle::disconnect(&usp, &tsm.name()).unwrap();
        assert!(!usp.has_tsm_context() && !ep1.has_tsm_context());
    }

    /// Findings 4 and 5: a switch DSM over a multi-function Endpoint. Before, the walk ran the
    /// TSM's probe inside `pci_walk_bus()` and the constructor took `pci_bus_sem` again
    /// (lockdep: recursive locking); and the switch's disconnect left the context it had given
    /// the Endpoint's function 0, which then took `disconnect` as if it were connected.
    #[test]
    fn switch_dsm_over_a_multi_function_endpoint() {
        reset_mock();
        let platform = TestPlatform::with_options(0, switch_over_dsm(1, 2)).unwrap();
        let tsm = TestTsm::new().unwrap();
        let usp = platform.device(1, 0).unwrap();
        let (ep0, ep1) = (
            platform.device(3, 0).unwrap(),
            platform.device(3, 1).unwrap(),
        );

        lifecycle::connect(&usp, tsm.id()).unwrap();
        let usp_name = device_name(&usp);
        assert_eq!(dsm_name(&ep0).as_deref(), Some(&usp_name[..]));
        assert_eq!(dsm_name(&ep1).as_deref(), Some(&usp_name[..]));
        // Only the port that owns it disconnects the Endpoint.
        assert_eq!(lifecycle::disconnect(&ep0, &tsm.name()), Err(ENXIO));

        reset_mock();
        lifecycle::disconnect(&usp, &tsm.name()).unwrap();
        assert_eq!(
            &logged()[..],
            &[
                (Op::Remove, dev_id(3, 1)),
                (Op::Remove, dev_id(3, 0)),
                (Op::Disconnect, dev_id(1, 0)),
                (Op::Remove, dev_id(1, 0)),
            ]
        );
        assert!(!ep0.has_tsm_context() && !ep1.has_tsm_context());
        assert_eq!(lifecycle::disconnect(&ep0, &tsm.name()), Err(ENXIO));
        // The Endpoint is a DSM of its own again.
        lifecycle::connect(&ep0, tsm.id()).unwrap();
        let ep0_name = device_name(&ep0);
        assert_eq!(dsm_name(&ep1).as_deref(), Some(&ep0_name[..]));
        lifecycle::disconnect(&ep0, &tsm.name()).unwrap();
    }

    /// Finding 6, first window: `pci_tsm_unregister()` has run but the TSM's class device is
    /// still findable (`tsm_unregister()` removes it afterwards). A connect must not start a
    /// context nothing would ever tear down; a second unregistration changes nothing.
    #[test]
    fn connect_after_tsm_unregistration_is_refused() {
        reset_mock();
        let platform = TestPlatform::new(0, 2).unwrap();
        let tsm = TestTsm::new().unwrap();
        let pf0 = platform.function(0);
        lifecycle::unregister(tsm.tsm.device());
        assert!(!lifecycle::link_tsm_registered());
        assert_eq!(lifecycle::connect(&pf0, tsm.id()), Err(ENXIO));
        assert!(!pf0.has_tsm_context());
        assert!(logged().is_empty());
        drop(tsm);
        assert!(!lifecycle::link_tsm_registered());
    }

    /// Finding 6, second window: the device is being removed (`pci_tsm_destroy()` ran) while a
    /// write to its `connect` is still in flight.
    #[test]
    fn connect_to_a_removed_device_is_refused() {
        reset_mock();
        let platform = TestPlatform::new(0, 1).unwrap();
        let tsm = TestTsm::new().unwrap();
        let pf0 = platform.function(0);
        // SAFETY: The test platform owns the device; no lock is held.
        unsafe { pf0.remove_from_bus() };
        assert_eq!(lifecycle::connect(&pf0, tsm.id()), Err(ENODEV));
        assert!(!pf0.has_tsm_context());
        assert!(logged().is_empty());
    }

    /// The files as user space reaches them: through the C callbacks of the attribute group,
    /// with sysfs' newline, byte counts and negative errnos.
    #[test]
    fn files_through_their_sysfs_callbacks() {
        reset_mock();
        let platform = TestPlatform::new(0, 2).unwrap();
        let tsm = TestTsm::new().unwrap();
        let (pf0, fn1) = (platform.function(0), platform.function(1));
        let (dsm, function): (&Device, &Device) = (pf0.as_ref(), fn1.as_ref());
        let mut line = tsm.name();
        line.push(b'\n', GFP_KERNEL).unwrap();
        let count = line.len() as isize;

        assert_eq!(CONNECT_ATTR.read(dsm).unwrap(), b"\n");
        assert_eq!(CONNECT_ATTR.write(dsm, b"tsm"), EINVAL.to_errno() as isize);
        assert_eq!(
            CONNECT_ATTR.write(dsm, b"tsm999\n"),
            ENXIO.to_errno() as isize
        );
        assert_eq!(CONNECT_ATTR.write(dsm, &line), count);
        assert_eq!(CONNECT_ATTR.write(dsm, &line), EBUSY.to_errno() as isize);
        assert_eq!(CONNECT_ATTR.read(dsm).unwrap(), &line[..]);
        assert_eq!(AUTHENTICATED_ATTR.read(function).unwrap(), &line[..]);
        let mut dsm_line = device_name(&pf0);
        dsm_line.push(b'\n', GFP_KERNEL).unwrap();
        assert_eq!(DSM_ATTR.read(function).unwrap(), &dsm_line[..]);
        assert_eq!(BOUND_ATTR.read(function).unwrap(), b"\n");
        tsm::bind(&fn1, vm(3), 1).unwrap();
        assert_eq!(BOUND_ATTR.read(function).unwrap(), &line[..]);

        assert_eq!(
            DISCONNECT_ATTR.write(dsm, b"tsm99\n"),
            EINVAL.to_errno() as isize
        );
        assert_eq!(
            DISCONNECT_ATTR.write(function, &line),
            ENXIO.to_errno() as isize
        );
        assert_eq!(DISCONNECT_ATTR.write(dsm, &line), count);
        assert_eq!(CONNECT_ATTR.read(dsm).unwrap(), b"\n");
        assert_eq!(DSM_ATTR.read(function).unwrap(), b"\n");
    }

    /// A signal ends a reader's or a guest request's wait for a DSM whose connect is in
    /// progress with `EINTR` (7.3's interruptible waits); the connect itself is unaffected.
    #[test]
    fn a_signal_ends_a_wait_for_a_busy_dsm() {
        reset_mock();
        let platform = TestPlatform::new(0, 1).unwrap();
        let tsm = TestTsm::new().unwrap();
        let dsm = platform.function(0);
        let id = tsm.id();
        static DONE: Atomic<bool> = Atomic::new(false);
        DONE.store(false, Relaxed);
        BLOCK_CONNECT.store(core::ptr::from_ref(&*dsm) as usize, Relaxed);
        let slow = dsm.clone();
        workqueue::system_unbound()
            .try_spawn(GFP_KERNEL, move || {
                let _ = lifecycle::connect(&slow, id);
                DONE.store(true, Relaxed);
            })
            .unwrap();
        assert!(wait_for(&BLOCKED));
        {
            let _signal = PendingSignal::user1();
            assert_eq!(lifecycle::connected_tsm(&dsm, &mut |_| Ok(())), Err(EINTR));
            let mut out = [0u8; 4];
            assert_eq!(
                tsm::guest_req(&dsm, RequestScope::Info, b"x", &mut out),
                Err(EINTR)
            );
        }
        RELEASE.store(true, Relaxed);
        assert!(wait_for(&DONE));
        assert_eq!(lifecycle::connected_tsm(&dsm, &mut |_| Ok(())), Ok(true));
    }

    /// Finding 2: the operations run under the lock include/linux/pci-tsm.h names, the DSM's
    /// `pci_tsm_pf0::lock`, which C backends may assert (the core used to keep its own side
    /// table of locks and never took this one).
    #[test]
    fn backend_ops_run_under_the_dsm_lock() {
        reset_mock();
        let platform = TestPlatform::new(0, 2).unwrap();
        let tsm = TestTsm::new().unwrap();
        let (pf0, fn1) = (platform.function(0), platform.function(1));
        lifecycle::connect(&pf0, tsm.id()).unwrap();
        tsm::bind(&fn1, vm(1), 1).unwrap();
        tsm::bind(&pf0, vm(1), 0).unwrap();
        let mut out = [0u8; 4];
        tsm::guest_req(&fn1, RequestScope::Info, b"x", &mut out).unwrap();
        tsm::unbind(&fn1);
        lifecycle::disconnect(&pf0, &tsm.name()).unwrap();
        // connect, 2 binds, a guest request, 2 unbinds, disconnect.
        assert_eq!(LOCKED_OPS.load(Relaxed), 7);
        assert_eq!(UNLOCKED_OPS.load(Relaxed), 0);
    }

    /// Finding 7 (order): as in 7.3, `remove` runs while `pdev->tsm` still points at the
    /// context, on disconnect, TSM unregistration and device removal; only the end of a failed
    /// connect (readers must see it gone first) and a probe that lost a race differ.
    #[test]
    fn remove_sees_its_context_published() {
        reset_mock();
        let platform = TestPlatform::with_options(0, endpoint(2, 0)).unwrap();
        let tsm = TestTsm::new().unwrap();
        let pf0 = platform.function(0);
        lifecycle::connect(&pf0, tsm.id()).unwrap();
        lifecycle::disconnect(&pf0, &tsm.name()).unwrap();
        lifecycle::connect(&pf0, tsm.id()).unwrap();
        drop(tsm);
        let tsm = TestTsm::new().unwrap();
        lifecycle::connect(&pf0, tsm.id()).unwrap();
        drop(platform);
        let removes = logged().iter().filter(|&&(op, _)| op == Op::Remove).count();
        assert_eq!(removes, 6);
        assert_eq!(REMOVED_UNPUBLISHED.load(Relaxed), 0);
    }
}

/// The `pci-tsm` netlink family's `nonce` path on a connected DSM: handlers called directly
/// (see `netlink::tests` for the rest of the family).
#[cfg(CONFIG_NET)]
#[kunit_tests(pci_tsm_evidence)]
mod evidence_cases {
    use super::*;
    use crate::netlink::{
        DumpState, EvidenceRead, ATTR_DEV_NAME, ATTR_NONCE, ATTR_TYPE_MASK, CMD_EVIDENCE_READ,
        POLICY,
    };
    use kernel::net::genl::{encode_attr, DumpOperation, DumpStatus, TestRequest};
    use kernel::tsm::evidence::{self, Evidence};

    /// Reads `measurements` with `nonce`: the object, or the error of the start.
    fn read_with_nonce(pdev: &pci::Device, nonce: &[u8]) -> Result<KVec<u8>> {
        let mut name = device_name(pdev);
        name.push(0, GFP_KERNEL)?;
        let mut raw = KVec::new();
        encode_attr(&mut raw, ATTR_DEV_NAME, &name)?;
        encode_attr(&mut raw, ATTR_TYPE_MASK, &(1u32 << 9).to_ne_bytes())?;
        encode_attr(&mut raw, ATTR_NONCE, nonce)?;
        let req = TestRequest::new(POLICY.as_ref(), CMD_EVIDENCE_READ, &raw)?;
        let mut state = DumpState::default();
        EvidenceRead::start(&req.request(), &mut state)?;
        let (status, messages) = req.dump::<EvidenceRead>(&mut state, 4000)?;
        assert_eq!(status, DumpStatus::Done);
        let mut object = KVec::new();
        for (_, payload) in messages.iter().flat_map(|m| m.iter()).skip(1) {
            object.extend_from_slice(payload, GFP_KERNEL)?;
        }
        Ok(object)
    }

    #[test]
    fn nonce_reaches_the_tsm_under_the_dsm_lock() {
        reset_mock();
        let platform = TestPlatform::new(0, 1).unwrap();
        let tsm = TestTsm::new().unwrap();
        let pf0 = platform.function(0);

        // Not connected: no evidence.
        assert_eq!(read_with_nonce(&pf0, b"n").err(), Some(ENXIO));
        lifecycle::connect(&pf0, tsm.id()).unwrap();

        // Evidence without a producer that refreshes.
        evidence::publish(&pf0, Evidence::new(None)).unwrap();
        assert_eq!(read_with_nonce(&pf0, b"n").err(), Some(EOPNOTSUPP));
        // Only the TSM's own context of the device makes a producer.
        let stranger = MockFunction { dsm: true };
        let refused = evidence::publish_for::<MockTsm>(&pf0, &stranger, Evidence::new(None));
        assert_eq!(refused.err(), Some(EINVAL));
        lifecycle::disconnect(&pf0, &tsm.name()).unwrap();

        // A producer that refreshes: the dump reads the measurements of the new generation.
        PUBLISH_AT_CONNECT.store(true, Relaxed);
        lifecycle::connect(&pf0, tsm.id()).unwrap();
        let before = evidence::snapshot(&pf0).unwrap().generation();
        REFRESHES.store(0, Relaxed);
        let got = read_with_nonce(&pf0, b"abc").unwrap();
        assert_eq!(&got[..], &kernel::crypto::sha2::Sha256::digest(b"abc")[..]);
        let nonce = [7u8; 32];
        assert_eq!(&read_with_nonce(&pf0, &nonce).unwrap()[..], &nonce[..]);
        assert_eq!(REFRESHES.load(Relaxed), 2);
        assert!(evidence::snapshot(&pf0).unwrap().generation() > before);

        // Disconnect withdraws the evidence, whatever the backend does.
        lifecycle::disconnect(&pf0, &tsm.name()).unwrap();
        assert!(evidence::snapshot(&pf0).is_none());
        assert_eq!(read_with_nonce(&pf0, b"n").err(), Some(ENXIO));
        evidence::publish(&pf0, Evidence::new(None)).unwrap();
        drop(platform);
        // The removal of the device took its evidence with it.
        assert!(evidence::snapshot(&pf0).is_none());
    }
}
