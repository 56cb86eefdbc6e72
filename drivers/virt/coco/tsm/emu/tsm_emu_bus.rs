// SPDX-License-Identifier: GPL-2.0

//! Emulated TDISP PCI platform.
//!
//! Creates a PCI host bridge in an emulated PCI domain (`10000` and up) below a faux device named
//! `tsm_emu_bus`, with a Root Port and a multi-function TDISP Endpoint behind it, optionally with
//! SR-IOV VFs (`vfs`), or, with `switch` above 0, a PCIe switch whose Upstream Port is the DSM
//! and whose Downstream Ports each have a plain Endpoint below them; see
//! [`platform`] for the devices and [`mailbox`] for the DOE mailbox. The host bridge offers a
//! pool of `streams` IDE streams (`available_secure_streams`). With `platforms` above 1 there are
//! that many such host bridges, each with the same hierarchy in a domain of its own: many DSMs,
//! for measurements of connects in parallel and of enumeration.
//!
//! With `relay=1` each DSM's mailbox relays CMA and secured CMA objects to a device model in user
//! space (`tools/tsm-devmodel serve --device /dev/tsm_emu_mbox0`) through the character device
//! `/dev/tsm_emu_mbox<N>` of platform N ([`relay`], [`relay_dev`]) instead of answering
//! GET_VERSION itself.
//!
//! The faux device carries test controls
//! (`Documentation/ABI/testing/sysfs-devices-faux-tsm_emu_bus`): DOE fault injection, and
//! `mmio_probe`, a memory request to a function of the platform, the stand-in for an MMIO TLP
//! (there is no memory behind the BARs): the platform decodes it with the function's BARs and
//! the device model completes it, refusing what TDISP does not let a locked TDI accept.

use core::fmt::Write;
use kernel::{
    class::GroupList,
    device::Device,
    faux,
    pci::{self, emul::RootBus, ide},
    prelude::*,
    str::{parse_int::ParseInt, BStr, Formatter},
    sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    },
    sysfs,
    uapi, //
};

mod config_space;
mod ide_keys;
mod ide_regs;
mod mailbox;
mod platform;
mod relay;
mod relay_dev;

module! {
    type: EmuBusModule,
    name: "tsm_emu_bus",
    authors: ["tsm-rs developers"],
    description: "Emulated TDISP PCI platform for tsm-rs tests and demo",
    license: "GPL",
    imports_ns: ["PCI_IDE"],
    params: {
        functions: u8 {
            default: 2,
            description: "Functions of the Endpoint, 1 to 8 (function 0 is the DSM)",
        },
        vfs: u8 {
            default: 0,
            description: "SR-IOV TotalVFs of Endpoint function 0, 0 (no SR-IOV) to 16",
        },
        switch: u8 {
            default: 0,
            description: "Downstream Ports of a switch below the Root Port, 0 (none) to 8",
        },
        streams: u16 {
            default: 4,
            description: "IDE streams the host bridge offers, 1 to 256",
        },
        relay: u8 {
            default: 0,
            description: "1: each DSM's mailbox relays CMA to a model via /dev/tsm_emu_mboxN",
        },
        platforms: u16 {
            default: 1,
            description: "Copies of the platform, each in a PCI domain of its own, 1 to 512",
        },
    },
}

/// Size of a host bridge's prefetchable window: room for the Endpoint's BAR.
const WINDOW_SIZE: u64 = 16 << 20;
/// Most copies of the platform: with 8 functions each, 4096 Endpoint functions.
const MAX_PLATFORMS: u16 = 512;

/// The relay of the platform below a host bridge, found by the host bridge's address.
struct PlatformRelay {
    host_bridge: usize,
    relay: Arc<relay::Relay>,
}

kernel::sync::global_lock! {
    // SAFETY: `init()` runs in the module's init, before the faux device and its controls, the
    // only users, exist.
    unsafe(uninit) static RELAYS: Mutex<KVec<PlatformRelay>> = KVec::new();
}

/// The key of `host_bridge` in `RELAYS`.
fn host_bridge_key(host_bridge: &pci::HostBridge) -> usize {
    core::ptr::from_ref(host_bridge) as usize
}

struct EmuBusModule {
    // Fields drop in declaration order: the character devices go first (an open file holds the
    // module), then the PCI hierarchies, then the device they hang from.
    _relays: KVec<Pin<KBox<relay_dev::RelayDevice>>>,
    _buses: KVec<RootBus<platform::Platform>>,
    _parent: faux::Registration,
}

impl kernel::Module for EmuBusModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let streams = module_parameters::streams.value();
        if !(1..=256).contains(&streams) {
            return Err(EINVAL);
        }
        let relayed = match module_parameters::relay.value() {
            0 => false,
            1 => true,
            _ => return Err(EINVAL),
        };
        let count = module_parameters::platforms.value();
        if !(1..=MAX_PLATFORMS).contains(&count) {
            return Err(EINVAL);
        }
        let options = platform::Options {
            functions: module_parameters::functions.value(),
            vfs: module_parameters::vfs.value(),
            switch_ports: module_parameters::switch.value(),
            dsm_below_switch: false,
        };
        // SAFETY: Runs once per load of the module, before any use of `RELAYS`.
        unsafe { RELAYS.init() };
        let parent = faux::Registration::new_with_groups(c"tsm_emu_bus", None, &CONTROL_GROUPS)?;
        let mut buses = KVec::with_capacity(count.into(), GFP_KERNEL)?;
        let mut relays = KVec::new();
        let mut devices = KVec::new();
        for index in 0..count {
            let relay = relayed.then(relay::Relay::new).transpose()?;
            let bus = RootBus::new(
                parent.as_ref().as_ref(),
                WINDOW_SIZE,
                platform::Platform::new(options, relay.clone())?,
            )?;
            ide::set_nr_streams(bus.host_bridge(), streams);
            if let Some(relay) = relay {
                let device = relay_dev::RelayDevice::register(index, relay.clone())?;
                devices.push(KBox::pin_init(device, GFP_KERNEL)?, GFP_KERNEL)?;
                relays.push(
                    PlatformRelay {
                        host_bridge: host_bridge_key(bus.host_bridge()),
                        relay,
                    },
                    GFP_KERNEL,
                )?;
            }
            buses.push(bus, GFP_KERNEL)?;
        }
        *RELAYS.lock() = relays;
        for bus in &buses {
            bus.scan();
        }
        Ok(Self {
            _relays: devices,
            _buses: buses,
            _parent: parent,
        })
    }
}

/// `doe_fault`: the fault every DOE mailbox of the platform injects.
struct DoeFault;

#[vtable]
impl sysfs::DeviceAttributeOps for DoeFault {
    fn store(_dev: &Device, input: &[u8]) -> Result {
        match input {
            b"none" => mailbox::Fault::None,
            b"error" => mailbox::Fault::Error,
            b"timeout" => mailbox::Fault::Timeout,
            _ => return Err(EINVAL),
        }
        .set();
        Ok(())
    }
}

impl Drop for EmuBusModule {
    fn drop(&mut self) {
        // The static outlives the module: its buffer must go too, not only its elements.
        drop(core::mem::take(&mut *RELAYS.lock()));
    }
}

/// How the last memory request of `mmio_probe` ended.
#[derive(Clone, Copy)]
#[repr(u32)]
enum Verdict {
    /// No request yet.
    None = 0,
    /// No BAR of the function decodes the whole request (or Memory Space is disabled): it never
    /// reaches the device.
    Unclaimed = 1,
    /// The device completed it.
    Completed = 2,
    /// The device answered Unsupported Request.
    Refused = 3,
}

impl Verdict {
    /// What `mmio_probe` shows, by discriminant.
    const NAMES: [&'static str; 4] = ["none", "unclaimed", "completed", "refused"];
}

static VERDICT: Atomic<u32> = Atomic::new(Verdict::None as u32);

/// How long `mmio_probe` waits for the device model, as Linux' DOE core does for a mailbox.
const MMIO_TIMEOUT_MS: u32 = 1000;

/// Whether a memory BAR of `pdev` decodes all `len` bytes at `address`, from the function's
/// Command and BAR registers as its hardware decodes them (the sizes are the ones the PCI core
/// found at enumeration, which never change).
fn decodes(pdev: &pci::Device, address: u64, len: u32) -> Result<bool> {
    // CAST: register offsets below 0x40.
    let command = pdev.read_config_dword(uapi::PCI_COMMAND as u16)?;
    if command & uapi::PCI_COMMAND_MEMORY == 0 {
        return Ok(false);
    }
    let end = address.checked_add(len.into()).ok_or(EINVAL)?;
    let mut bar = 0;
    while bar < 6 {
        // CAST: as above.
        let offset = (uapi::PCI_BASE_ADDRESS_0 + 4 * bar) as u16;
        let low = pdev.read_config_dword(offset)?;
        if low & uapi::PCI_BASE_ADDRESS_SPACE_IO != 0 {
            bar += 1;
            continue;
        }
        let wide = low & uapi::PCI_BASE_ADDRESS_MEM_TYPE_MASK == uapi::PCI_BASE_ADDRESS_MEM_TYPE_64;
        let mut base = u64::from(low & !0xf);
        if wide && bar < 5 {
            base |= u64::from(pdev.read_config_dword(offset + 4)?) << 32;
        }
        let size = pdev.resource_len(bar)?;
        if size > 0 && base <= address && base.checked_add(size).is_some_and(|e| end <= e) {
            return Ok(true);
        }
        bar += if wide { 2 } else { 1 };
    }
    Ok(false)
}

/// `mmio_probe`: a memory request to a function of the platform, and how the last one ended.
struct MmioProbe;

#[vtable]
impl sysfs::DeviceAttributeOps for MmioProbe {
    fn show(_dev: &Device, out: &mut Formatter<'_>) -> Result {
        let verdict = usize::try_from(VERDICT.load(Relaxed))
            .ok()
            .and_then(|at| Verdict::NAMES.get(at))
            .map_or("none", |name| *name);
        Ok(writeln!(out, "{verdict}")?)
    }

    /// `DEVICE ADDRESS [ACCESS]`: ACCESS is `r` or `w` and the length in bytes, 1 to 8
    /// (default `r4`).
    fn store(_dev: &Device, input: &[u8]) -> Result {
        let mut words = input.split(|&b| b == b' ');
        let (Some(name), Some(address)) = (words.next(), words.next()) else {
            return Err(EINVAL);
        };
        let address = u64::from_str(BStr::from_bytes(address))?;
        let (write, len) = match words.next() {
            None => (false, 4),
            Some([kind @ (b'r' | b'w'), len]) if (b'1'..=b'8').contains(len) => {
                (*kind == b'w', u32::from(len - b'0'))
            }
            Some(_) => return Err(EINVAL),
        };
        if words.next().is_some() {
            return Err(EINVAL);
        }
        let pdev = pci::Device::find_by_name(name)?;
        let on_platform = pdev
            .host_bridge()
            .parent()
            .is_some_and(|p| p.name() == c"tsm_emu_bus");
        if !on_platform {
            return Err(ENXIO);
        }
        // Without the relay there is no device model to complete requests.
        let key = host_bridge_key(pdev.host_bridge());
        let relay = RELAYS
            .lock()
            .iter()
            .find(|r| r.host_bridge == key)
            .map(|r| r.relay.clone())
            .ok_or(EOPNOTSUPP)?;
        let verdict = if decodes(&pdev, address, len)? {
            let access = relay::MmioAccess {
                rid: pdev.dev_id(),
                address,
                len,
                write,
            };
            let tag = relay.submit_mmio(access)?;
            if relay.await_mmio(tag, MMIO_TIMEOUT_MS)? {
                Verdict::Completed
            } else {
                Verdict::Refused
            }
        } else {
            Verdict::Unclaimed
        };
        VERDICT.store(verdict as u32, Relaxed);
        Ok(())
    }
}

kernel::device_attribute_group! {
    static CONTROLS = {
        visibility: sysfs::AlwaysVisible,
        attributes: [
            DOE_FAULT: DoeFault = (c"doe_fault", 0o200),
            MMIO_PROBE: MmioProbe = (c"mmio_probe", 0o600),
        ],
    };
}

static CONTROL_GROUPS: GroupList = GroupList::one(&CONTROLS);
