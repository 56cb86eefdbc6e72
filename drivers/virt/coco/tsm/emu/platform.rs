// SPDX-License-Identifier: GPL-2.0

//! The emulated hierarchy: a Root Port on the root bus and, on its secondary bus, a
//! multi-function TDISP Endpoint.
//!
//! * Root Port `00:01.0`: PCI-to-PCI bridge header with a non-prefetchable and a 64-bit
//!   prefetchable window, PCIe capability (Root Port), IDE capability (Link IDE and Selective
//!   IDE Streams, two address association blocks each).
//! * Endpoint function 0 (the DSM): a 64-bit prefetchable memory BAR 0, PCIe capability
//!   (Endpoint, TEE-IO supported in Device Capabilities), a DOE mailbox answering Discovery,
//!   CMA and secured CMA, and an IDE capability (Selective IDE Streams).
//! * Endpoint functions 1..: plain TDIs with a PCIe capability that advertises TEE-IO.
//!
//! Configuration requests are routed as a Type 1 bridge would: the Root Port forwards a request
//! to its secondary bus (device 0 only, as for any PCIe downstream port) when the bus number is
//! its secondary bus number.

use crate::{
    config_space::{self, ConfigSpace},
    ide_regs::IdeCapability,
    mailbox::{self, Mailbox, VersionResponder},
};
use kernel::{
    pci::emul::ConfigOps,
    prelude::*,
    sync::{new_raw_spinlock_irq, RawSpinLockIrq},
    uapi,
};

/// Vendor ID of the emulated devices: unassigned by the PCI-SIG, so no real driver matches it.
pub(crate) const VENDOR_ID: u16 = 0xfffe;
const ROOT_PORT_DEVICE_ID: u16 = 0x0001;
const ENDPOINT_DEVICE_ID: u16 = 0x0002;
/// Device and function of the Root Port on the root bus.
const ROOT_PORT_DEVFN: u8 = 1 << 3;
/// Size of the Endpoint's BAR 0.
pub(crate) const BAR_SIZE: u64 = 2 << 20;

/// Offset of the PCIe capability, the only one in the capability list.
const PCIE_CAP: u16 = 0x40;
/// Offset of the first extended capability.
const EXT_CAP: u16 = 0x100;

// Register offsets from `include/uapi/linux/pci_regs.h`.
// CAST: all of them are configuration space offsets, far below `u16::MAX`.
const fn reg(offset: u32) -> u16 {
    offset as u16
}

/// One emulated function.
struct Function {
    cfg: KBox<ConfigSpace>,
    doe: Option<(u16, Mailbox)>,
    ide: Option<IdeCapability>,
}

impl Function {
    /// A function with the common header fields and a PCIe capability of `port_type` with
    /// Device Capabilities `devcap`.
    fn new(device_id: u16, class: u32, header_type: u8, port_type: u32, devcap: u32) -> Result<Self> {
        let mut cfg = ConfigSpace::new()?;
        cfg.set(reg(uapi::PCI_VENDOR_ID), 2, VENDOR_ID.into());
        cfg.set(reg(uapi::PCI_DEVICE_ID), 2, device_id.into());
        cfg.writable(
            reg(uapi::PCI_COMMAND),
            2,
            uapi::PCI_COMMAND_MEMORY
                | uapi::PCI_COMMAND_MASTER
                | uapi::PCI_COMMAND_PARITY
                | uapi::PCI_COMMAND_SERR
                | uapi::PCI_COMMAND_INTX_DISABLE,
        );
        cfg.set(reg(uapi::PCI_STATUS), 2, uapi::PCI_STATUS_CAP_LIST);
        // Class code in bits 31:8, revision 1.
        cfg.set(reg(uapi::PCI_CLASS_REVISION), 4, (class << 8) | 1);
        cfg.writable(reg(uapi::PCI_CACHE_LINE_SIZE), 1, 0xff);
        cfg.writable(reg(uapi::PCI_LATENCY_TIMER), 1, 0xff);
        cfg.set(reg(uapi::PCI_HEADER_TYPE), 1, header_type.into());
        cfg.set(reg(uapi::PCI_CAPABILITY_LIST), 1, PCIE_CAP.into());
        cfg.writable(reg(uapi::PCI_INTERRUPT_LINE), 1, 0xff);

        // PCIe capability, version 2, no next capability.
        cfg.set(PCIE_CAP, 2, uapi::PCI_CAP_ID_EXP);
        cfg.set(PCIE_CAP + reg(uapi::PCI_EXP_FLAGS), 2, 2 | (port_type << 4));
        cfg.set(PCIE_CAP + reg(uapi::PCI_EXP_DEVCAP), 4, devcap);
        cfg.writable(PCIE_CAP + reg(uapi::PCI_EXP_DEVCTL), 2, 0xffff);
        // One lane at 2.5 GT/s, trained.
        cfg.set(PCIE_CAP + reg(uapi::PCI_EXP_LNKCAP), 4, 0x11);
        cfg.writable(PCIE_CAP + reg(uapi::PCI_EXP_LNKCTL), 2, 0x0fff);
        cfg.set(PCIE_CAP + reg(uapi::PCI_EXP_LNKSTA), 2, 0x11);
        cfg.writable(PCIE_CAP + reg(uapi::PCI_EXP_DEVCTL2), 2, 0xffff);
        cfg.set(PCIE_CAP + reg(uapi::PCI_EXP_LNKCAP2), 4, uapi::PCI_EXP_LNKCAP2_SLS_2_5GB);
        cfg.writable(PCIE_CAP + reg(uapi::PCI_EXP_LNKCTL2), 2, 0xffff);
        cfg.set(PCIE_CAP + reg(uapi::PCI_EXP_LNKCTL2), 2, 1);
        Ok(Self {
            cfg,
            doe: None,
            ide: None,
        })
    }

    fn root_port() -> Result<Self> {
        let mut f = Self::new(
            ROOT_PORT_DEVICE_ID,
            // PCI-to-PCI bridge.
            0x06_04_00,
            uapi::PCI_HEADER_TYPE_BRIDGE as u8,
            uapi::PCI_EXP_TYPE_ROOT_PORT,
            0,
        )?;
        let cfg = &mut f.cfg;
        for bus in [uapi::PCI_PRIMARY_BUS, uapi::PCI_SECONDARY_BUS, uapi::PCI_SUBORDINATE_BUS] {
            cfg.writable(reg(bus), 1, 0xff);
        }
        // No I/O window. Memory windows start disabled (base above limit).
        cfg.set(reg(uapi::PCI_MEMORY_BASE), 2, 0xfff0);
        cfg.writable(reg(uapi::PCI_MEMORY_BASE), 4, 0xfff0_fff0);
        cfg.set(reg(uapi::PCI_PREF_MEMORY_BASE), 2, 0xfff0 | uapi::PCI_PREF_RANGE_TYPE_64);
        cfg.set(reg(uapi::PCI_PREF_MEMORY_LIMIT), 2, uapi::PCI_PREF_RANGE_TYPE_64);
        cfg.writable(reg(uapi::PCI_PREF_MEMORY_BASE), 4, 0xfff0_fff0);
        cfg.writable(reg(uapi::PCI_PREF_BASE_UPPER32), 4, !0);
        cfg.writable(reg(uapi::PCI_PREF_LIMIT_UPPER32), 4, !0);
        cfg.writable(reg(uapi::PCI_BRIDGE_CONTROL), 2, 0x0fff);
        cfg.writable(PCIE_CAP + reg(uapi::PCI_EXP_RTCTL), 2, 0xffff);
        let ide = IdeCapability {
            offset: EXT_CAP,
            link_tcs: 1,
            sel_streams: 4,
            assoc: 2,
        };
        ide.install(cfg, 0);
        f.ide = Some(ide);
        Ok(f)
    }

    fn endpoint(function: u8, functions: u8) -> Result<Self> {
        let header_type = if functions > 1 && function == 0 {
            uapi::PCI_HEADER_TYPE_MFD as u8
        } else {
            0
        };
        let mut f = Self::new(
            ENDPOINT_DEVICE_ID,
            // Processing accelerator.
            0x12_00_00,
            header_type,
            uapi::PCI_EXP_TYPE_ENDPOINT,
            uapi::PCI_EXP_DEVCAP_TEE,
        )?;
        if function != 0 {
            return Ok(f);
        }
        // BAR 0: 64-bit prefetchable memory; only the address bits above the size are writable.
        let flags = uapi::PCI_BASE_ADDRESS_MEM_TYPE_64 | uapi::PCI_BASE_ADDRESS_MEM_PREFETCH;
        // CAST: the BAR is smaller than 4 GiB.
        let size_mask = !(BAR_SIZE as u32 - 1);
        f.cfg.set(reg(uapi::PCI_BASE_ADDRESS_0), 4, flags);
        f.cfg.writable(reg(uapi::PCI_BASE_ADDRESS_0), 4, size_mask & !0xf);
        f.cfg.writable(reg(uapi::PCI_BASE_ADDRESS_1), 4, !0);

        let ide_offset = EXT_CAP + mailbox::CAP_SIZE + 8;
        // DOE capability, version 2 (DOE 1.1), followed by the IDE capability.
        f.cfg.set(EXT_CAP, 4, 0x2e | (2 << 16) | (u32::from(ide_offset) << 20));
        f.doe = Some((EXT_CAP, Mailbox::new(KBox::new(VersionResponder, GFP_KERNEL)?)?));
        let ide = IdeCapability {
            offset: ide_offset,
            link_tcs: 1,
            sel_streams: 2,
            assoc: 1,
        };
        ide.install(&mut f.cfg, 0);
        f.ide = Some(ide);
        Ok(f)
    }

    fn read(&self, offset: u16, size: u8) -> u32 {
        if let Some((base, mailbox)) = &self.doe {
            if mailbox::REGS.contains(&offset.wrapping_sub(*base)) {
                // Sub-dword reads see the matching bytes of the register.
                let shift = 8 * u32::from(offset % 4);
                let value = mailbox.read((offset - base) & !3) >> shift;
                return if size == 4 { value } else { value & ((1 << (8 * u32::from(size))) - 1) };
            }
        }
        self.cfg.read(offset, size)
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        if let Some((base, mailbox)) = &mut self.doe {
            if mailbox::REGS.contains(&offset.wrapping_sub(*base)) {
                // The mailbox registers are only defined for dword accesses.
                if size == 4 {
                    mailbox.write(offset - *base, value);
                }
                return;
            }
        }
        self.cfg.write(offset, size, value);
        if let Some(ide) = &self.ide {
            if ide.contains(offset) {
                ide.update_states(&mut self.cfg);
            }
        }
    }
}

/// The configuration state of the whole hierarchy.
struct Hierarchy {
    root_port: Function,
    endpoint: KVec<Function>,
}

impl Hierarchy {
    /// The function that answers a configuration request to `bus`, `devfn`.
    fn route(&mut self, bus: u8, devfn: u8) -> Option<&mut Function> {
        if bus == 0 {
            return (devfn == ROOT_PORT_DEVFN).then_some(&mut self.root_port);
        }
        let cfg = &self.root_port.cfg;
        // CAST: one-byte registers.
        let secondary = cfg.read(reg(uapi::PCI_SECONDARY_BUS), 1) as u8;
        if secondary == 0 || bus != secondary || devfn >> 3 != 0 {
            return None;
        }
        self.endpoint.get_mut(usize::from(devfn & 7))
    }
}

/// The emulated hierarchy as seen through configuration space.
///
/// Configuration accessors run in atomic context: user space reads and writes of
/// `/sys/bus/pci/devices/*/config` reach them under the PCI core's raw spinlock `pci_lock` with
/// interrupts off. A `spinlock_t` (`SpinLock`, `SpinLockIrq`) there is an invalid lock nesting
/// (a sleeping lock under PREEMPT_RT; lockdep reports "Invalid wait context" with
/// `PROVE_RAW_LOCK_NESTING`), and so is a `Mutex`. Hence the raw spinlock, and all state,
/// including the DOE buffers, allocated up front: nothing below allocates or sleeps.
#[pin_data]
pub(crate) struct Platform {
    #[pin]
    hierarchy: RawSpinLockIrq<Hierarchy>,
}

impl Platform {
    /// A Root Port with an Endpoint of `functions` functions (1 to 8) below it.
    pub(crate) fn new(functions: u8) -> Result<impl PinInit<Self, Error>> {
        if !(1..=8).contains(&functions) {
            return Err(EINVAL);
        }
        let mut endpoint = KVec::with_capacity(usize::from(functions), GFP_KERNEL)?;
        for function in 0..functions {
            endpoint.push(Function::endpoint(function, functions)?, GFP_KERNEL)?;
        }
        let hierarchy = Hierarchy {
            root_port: Function::root_port()?,
            endpoint,
        };
        Ok(try_pin_init!(Self {
            hierarchy <- new_raw_spinlock_irq!(hierarchy),
        }))
    }
}

impl ConfigOps for Platform {
    fn read(&self, bus: u8, devfn: u8, offset: u16, size: u8) -> Option<u32> {
        let mut hierarchy = self.hierarchy.lock();
        let function = hierarchy.route(bus, devfn)?;
        Some(if config_space::valid_access(offset, size) {
            function.read(offset, size)
        } else {
            !0
        })
    }

    fn write(&self, bus: u8, devfn: u8, offset: u16, size: u8, value: u32) -> bool {
        let mut hierarchy = self.hierarchy.lock();
        let Some(function) = hierarchy.route(bus, devfn) else {
            return false;
        };
        if config_space::valid_access(offset, size) {
            function.write(offset, size, value);
        }
        true
    }
}
