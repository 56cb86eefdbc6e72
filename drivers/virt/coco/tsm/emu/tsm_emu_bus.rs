// SPDX-License-Identifier: GPL-2.0

//! Emulated TDISP PCI platform.
//!
//! Creates a PCI host bridge in an emulated PCI domain (`10000` and up) below a faux device named
//! `tsm_emu_bus`, with a Root Port and a multi-function TDISP Endpoint behind it, optionally with
//! SR-IOV VFs (`vfs`), or, with `switch` above 0, a PCIe switch whose Upstream Port is the DSM
//! and whose Downstream Ports each have a plain Endpoint below them; see
//! [`platform`] for the devices and [`mailbox`] for the DOE mailbox. The host bridge offers a
//! pool of `streams` IDE streams (`available_secure_streams`).
//!
//! With `relay=1` the DSM's mailbox relays CMA and secured CMA objects to a device model in user
//! space (`tools/tsm-devmodel serve --device /dev/tsm_emu_mbox0`) through the character device
//! `/dev/tsm_emu_mbox0` ([`relay`], [`relay_dev`]) instead of answering GET_VERSION itself.
//!
//! The faux device carries test controls
//! (`Documentation/ABI/testing/sysfs-devices-faux-tsm_emu_bus`).

use kernel::{
    class::GroupList,
    device::Device,
    faux,
    pci::{emul::RootBus, ide},
    prelude::*,
    sysfs, //
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
            description: "1: the DSM's mailbox relays CMA to a device model via /dev/tsm_emu_mbox0",
        },
    },
}

/// Size of the host bridge's prefetchable window: room for the Endpoint's BAR.
const WINDOW_SIZE: u64 = 16 << 20;

struct EmuBusModule {
    // Fields drop in declaration order: the character device goes first (an open file holds the
    // module), then the PCI hierarchy, then the device it hangs from.
    _relay: Option<Pin<KBox<relay_dev::RelayDevice>>>,
    _bus: RootBus<platform::Platform>,
    _parent: faux::Registration,
}

impl kernel::Module for EmuBusModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let streams = module_parameters::streams.value();
        if !(1..=256).contains(&streams) {
            return Err(EINVAL);
        }
        let relay = match module_parameters::relay.value() {
            0 => None,
            1 => Some(relay::Relay::new()?),
            _ => return Err(EINVAL),
        };
        let parent = faux::Registration::new_with_groups(c"tsm_emu_bus", None, &CONTROL_GROUPS)?;
        let bus = RootBus::new(
            parent.as_ref().as_ref(),
            WINDOW_SIZE,
            platform::Platform::new(
                platform::Options {
                    functions: module_parameters::functions.value(),
                    vfs: module_parameters::vfs.value(),
                    switch_ports: module_parameters::switch.value(),
                    dsm_below_switch: false,
                },
                relay.clone(),
            )?,
        )?;
        ide::set_nr_streams(bus.host_bridge(), streams);
        let relay = relay
            .map(|r| {
                KBox::pin_init(
                    relay_dev::RelayDevice::register(c"tsm_emu_mbox0", r),
                    GFP_KERNEL,
                )
            })
            .transpose()?;
        bus.scan();
        Ok(Self {
            _relay: relay,
            _bus: bus,
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

kernel::device_attribute_group! {
    static CONTROLS = {
        visibility: sysfs::AlwaysVisible,
        attributes: [DOE_FAULT: DoeFault = (c"doe_fault", 0o200)],
    };
}

static CONTROL_GROUPS: GroupList = GroupList::one(&CONTROLS);
