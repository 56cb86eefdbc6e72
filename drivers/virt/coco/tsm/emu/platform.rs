// SPDX-License-Identifier: GPL-2.0

//! The emulated hierarchy: a Root Port on the root bus and, on its secondary bus, a
//! multi-function TDISP Endpoint or a switch.
//!
//! * Root Port `00:01.0`: PCI-to-PCI bridge header with a non-prefetchable and a 64-bit
//!   prefetchable window, PCIe capability (Root Port), IDE capability (Link IDE and Selective
//!   IDE Streams, two address association blocks each), and the key port through which the
//!   platform firmware programs its IDE keys ([`crate::ide_keys`]).
//! * Endpoint function 0 (the DSM): a 64-bit prefetchable memory BAR 0, PCIe capability
//!   (Endpoint, TEE-IO supported in Device Capabilities), a DOE mailbox answering Discovery,
//!   CMA and secured CMA (or, given a [`Relay`], relaying CMA to a device model in user space),
//!   an IDE capability (Selective IDE Streams) and a key port ([`crate::ide_keys`]; its keys
//!   come from the device model through the relay).
//! * Endpoint functions 1..: plain TDIs with a PCIe capability that advertises TEE-IO.
//! * With [`Options::vfs`] above 0, Endpoint function 0 also has an SR-IOV capability: TotalVFs
//!   and InitialVFs [`Options::vfs`], First VF Offset [`VF_OFFSET`] and VF Stride 1 (the VFs are
//!   devices 1 and up of the Endpoint's bus, clear of the physical functions of device 0), VF
//!   Device ID [`VF_DEVICE_ID`], no VF BARs, no VF Migration. While VF Enable is set, the first
//!   NumVFs VFs answer configuration requests: Vendor and Device ID read `0xffff` as the spec
//!   requires of a VF, and a PCIe capability (Endpoint, TEE-IO supported) follows.
//! * With [`Options::switch_ports`] above 0, a switch replaces the Endpoint: its Upstream Port
//!   (the DSM: Type 1 header, PCIe Upstream Port with TEE-IO, the same DOE mailbox and IDE
//!   capability as Endpoint function 0) has the switch's internal bus as secondary bus, with one
//!   Downstream Port per device number, and below each Downstream Port a single-function
//!   Endpoint without TEE-IO or IDE (a TEE-IO function 0 would be a DSM itself, so the Upstream
//!   Port would not be its DSM). With [`Options::dsm_below_switch`] the Endpoint below the first
//!   Downstream Port is a TEE-IO Endpoint of [`Options::functions`] functions instead, for the
//!   cases where an Endpoint DSM and the switch's DSM meet.
//!
//! Configuration requests are routed as Type 1 bridges would: each bridge forwards a request for
//! a bus in its secondary..=subordinate range (bus numbers the kernel programs), as a Type 0
//! request on its secondary bus. On the Root Port's secondary bus, device 0 is the Endpoint's
//! physical functions and the enabled VFs' Routing IDs are the VFs (the model forwards VF
//! Routing IDs without ARI, as a downstream port with ARI Forwarding would); below a Downstream
//! Port only device 0 answers.

use crate::{
    config_space::{self, ConfigSpace},
    ide_keys::{self, KeyPort, PortKeys, KEY_PORT_SIZE},
    ide_regs::IdeCapability,
    mailbox::{self, Mailbox, VersionResponder},
    relay::Relay,
};
use kernel::{
    pci::emul::ConfigOps,
    prelude::*,
    sync::{new_raw_spinlock_irq, Arc, RawSpinLockIrq},
    uapi,
};

/// Vendor ID of the emulated devices: unassigned by the PCI-SIG, so no real driver matches it.
pub(crate) const VENDOR_ID: u16 = 0xfffe;
const ROOT_PORT_DEVICE_ID: u16 = 0x0001;
const ENDPOINT_DEVICE_ID: u16 = 0x0002;
const UPSTREAM_PORT_DEVICE_ID: u16 = 0x0004;
const DOWNSTREAM_PORT_DEVICE_ID: u16 = 0x0005;
const SWITCH_ENDPOINT_DEVICE_ID: u16 = 0x0006;
/// Most Downstream Ports of the switch: devices 0 to 7 of its internal bus.
pub(crate) const MAX_DOWNSTREAM_PORTS: u8 = 8;
/// Device ID the SR-IOV capability gives the VFs.
pub(crate) const VF_DEVICE_ID: u16 = 0x0003;
/// Most VFs the Endpoint can offer: with [`VF_OFFSET`] and stride 1 they take devices 1 and 2.
pub(crate) const MAX_VFS: u8 = 16;
/// First VF Offset: the first VF is device 1, function 0 of the Endpoint's bus.
const VF_OFFSET: u8 = 8;
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

/// Where the keys of an IDE port are kept.
enum Keys {
    /// In the model: the Root Port's, and a DSM's without a device model.
    Own(KBox<PortKeys>),
    /// With the relay: the DSM's keys, which its device model programs.
    Relayed(Arc<Relay>),
}

impl Keys {
    fn with<R>(&self, f: impl FnOnce(&PortKeys) -> R) -> R {
        match self {
            Keys::Own(keys) => f(keys),
            Keys::Relayed(relay) => relay.with_device_keys(|keys| f(keys)),
        }
    }

    fn with_mut<R>(&mut self, f: impl FnOnce(&mut PortKeys) -> R) -> R {
        match self {
            Keys::Own(keys) => f(keys),
            Keys::Relayed(relay) => relay.with_device_keys(f),
        }
    }
}

/// An IDE port: its key port and its keys.
struct IdeKeys {
    port: KeyPort,
    keys: Keys,
}

/// One emulated function.
struct Function {
    cfg: KBox<ConfigSpace>,
    doe: Option<(u16, Mailbox)>,
    ide: Option<IdeCapability>,
    key_port: Option<IdeKeys>,
}

impl Function {
    /// A function with the common header fields and a PCIe capability of `port_type` with
    /// Device Capabilities `devcap`.
    fn new(
        device_id: u16,
        class: u32,
        header_type: u8,
        port_type: u32,
        devcap: u32,
    ) -> Result<Self> {
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
        cfg.set(
            PCIE_CAP + reg(uapi::PCI_EXP_LNKCAP2),
            4,
            uapi::PCI_EXP_LNKCAP2_SLS_2_5GB,
        );
        cfg.writable(PCIE_CAP + reg(uapi::PCI_EXP_LNKCTL2), 2, 0xffff);
        cfg.set(PCIE_CAP + reg(uapi::PCI_EXP_LNKCTL2), 2, 1);
        Ok(Self {
            cfg,
            doe: None,
            ide: None,
            key_port: None,
        })
    }

    /// A PCI-to-PCI bridge (Type 1 header) with writable bus numbers and memory windows.
    fn bridge(device_id: u16, port_type: u32, devcap: u32) -> Result<Self> {
        let mut f = Self::new(
            device_id,
            // PCI-to-PCI bridge.
            0x06_04_00,
            uapi::PCI_HEADER_TYPE_BRIDGE as u8,
            port_type,
            devcap,
        )?;
        let cfg = &mut f.cfg;
        for bus in [
            uapi::PCI_PRIMARY_BUS,
            uapi::PCI_SECONDARY_BUS,
            uapi::PCI_SUBORDINATE_BUS,
        ] {
            cfg.writable(reg(bus), 1, 0xff);
        }
        // No I/O window. Memory windows start disabled (base above limit).
        cfg.set(reg(uapi::PCI_MEMORY_BASE), 2, 0xfff0);
        cfg.writable(reg(uapi::PCI_MEMORY_BASE), 4, 0xfff0_fff0);
        cfg.set(
            reg(uapi::PCI_PREF_MEMORY_BASE),
            2,
            0xfff0 | uapi::PCI_PREF_RANGE_TYPE_64,
        );
        cfg.set(
            reg(uapi::PCI_PREF_MEMORY_LIMIT),
            2,
            uapi::PCI_PREF_RANGE_TYPE_64,
        );
        cfg.writable(reg(uapi::PCI_PREF_MEMORY_BASE), 4, 0xfff0_fff0);
        cfg.writable(reg(uapi::PCI_PREF_BASE_UPPER32), 4, !0);
        cfg.writable(reg(uapi::PCI_PREF_LIMIT_UPPER32), 4, !0);
        cfg.writable(reg(uapi::PCI_BRIDGE_CONTROL), 2, 0x0fff);
        Ok(f)
    }

    fn root_port() -> Result<Self> {
        let mut f = Self::bridge(ROOT_PORT_DEVICE_ID, uapi::PCI_EXP_TYPE_ROOT_PORT, 0)?;
        let cfg = &mut f.cfg;
        cfg.writable(PCIE_CAP + reg(uapi::PCI_EXP_RTCTL), 2, 0xffff);
        let ide = IdeCapability {
            offset: EXT_CAP,
            link_tcs: 1,
            sel_streams: 4,
            assoc: 2,
        };
        let key_port = key_port_offset(ide);
        ide.install(cfg, key_port);
        f.ide = Some(ide);
        f.key_port = Some(IdeKeys {
            port: KeyPort::install(&mut f.cfg, key_port, 0, true),
            keys: Keys::Own(PortKeys::new()?),
        });
        Ok(f)
    }

    fn endpoint(function: u8, functions: u8, vfs: u8) -> Result<Self> {
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
        f.cfg
            .writable(reg(uapi::PCI_BASE_ADDRESS_0), 4, size_mask & !0xf);
        f.cfg.writable(reg(uapi::PCI_BASE_ADDRESS_1), 4, !0);
        let ide = f.install_doe_and_ide(vfs)?;
        if vfs > 0 {
            install_sriov(&mut f.cfg, sriov_offset(ide), vfs);
        }
        Ok(f)
    }

    /// The DSM's extended capabilities: a DOE mailbox answering CMA, then an IDE capability,
    /// then, with `vfs` above 0, room for an SR-IOV capability.
    fn install_doe_and_ide(&mut self, vfs: u8) -> Result<IdeCapability> {
        let ide_offset = EXT_CAP + mailbox::CAP_SIZE + 8;
        // DOE capability, version 2 (DOE 1.1), followed by the IDE capability.
        self.cfg
            .set(EXT_CAP, 4, 0x2e | (2 << 16) | (u32::from(ide_offset) << 20));
        self.doe = Some((
            EXT_CAP,
            Mailbox::new(KBox::new(VersionResponder, GFP_KERNEL)?)?,
        ));
        let ide = IdeCapability {
            offset: ide_offset,
            link_tcs: 1,
            sel_streams: 2,
            assoc: 1,
        };
        let key_port = key_port_offset(ide);
        ide.install(&mut self.cfg, key_port);
        self.ide = Some(ide);
        self.key_port = Some(IdeKeys {
            port: KeyPort::install(
                &mut self.cfg,
                key_port,
                if vfs > 0 { sriov_offset(ide) } else { 0 },
                false,
            ),
            keys: Keys::Own(PortKeys::new()?),
        });
        Ok(ide)
    }

    /// A switch Upstream Port that is a DSM: TEE-IO, DOE mailbox, IDE capability.
    fn upstream_port() -> Result<Self> {
        let mut f = Self::bridge(
            UPSTREAM_PORT_DEVICE_ID,
            uapi::PCI_EXP_TYPE_UPSTREAM,
            uapi::PCI_EXP_DEVCAP_TEE,
        )?;
        f.install_doe_and_ide(0)?;
        Ok(f)
    }

    /// An Endpoint below a switch Downstream Port: one function, neither TEE-IO nor IDE, so
    /// that it is no DSM itself and the switch's Upstream Port is its DSM.
    fn switch_endpoint() -> Result<Self> {
        Self::new(
            SWITCH_ENDPOINT_DEVICE_ID,
            0x12_00_00,
            0,
            uapi::PCI_EXP_TYPE_ENDPOINT,
            0,
        )
    }

    /// A VF of the Endpoint.
    fn vf() -> Result<Self> {
        let mut f = Self::new(
            VF_DEVICE_ID,
            0x12_00_00,
            0,
            uapi::PCI_EXP_TYPE_ENDPOINT,
            uapi::PCI_EXP_DEVCAP_TEE,
        )?;
        // A VF's Vendor and Device ID registers read all ones.
        f.cfg.set(reg(uapi::PCI_VENDOR_ID), 4, !0);
        Ok(f)
    }

    fn read(&mut self, offset: u16, size: u8) -> u32 {
        if let Some((base, mailbox)) = &mut self.doe {
            if mailbox::REGS.contains(&offset.wrapping_sub(*base)) {
                return sub_dword(mailbox.read((offset - *base) & !3), offset, size);
            }
        }
        if let Some(ide) = &self.key_port {
            if ide.port.contains(offset) {
                let reg = (offset - ide.port.offset) & !3;
                let value = ide.keys.with(|keys| ide.port.read(&self.cfg, keys, reg));
                return sub_dword(value, offset, size);
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
        if let Some(ide) = &mut self.key_port {
            if ide.port.contains(offset) {
                // So are the key port's.
                if size == 4 {
                    let reg = offset - ide.port.offset;
                    let (port, cfg) = (&mut ide.port, &mut self.cfg);
                    ide.keys.with_mut(|keys| port.write(cfg, keys, reg, value));
                }
                return;
            }
        }
        self.cfg.write(offset, size, value);
    }

    /// The state a Link or Selective IDE Stream Status register of this port reads when its
    /// stream's Control register is `control` and `partners` are the IDE ports at the other end
    /// of its streams: Secure while enabled with matching keys at both ends, else Insecure, with
    /// "IDE Fail Message received" when enabled.
    fn stream_status<'a>(
        &self,
        control: u32,
        mut partners: impl Iterator<Item = &'a Function>,
    ) -> u32 {
        // Enable is bit 0 and the Stream ID bits 31:24 in both kinds of Control register.
        if control & uapi::PCI_IDE_SEL_CTL_EN == 0 {
            return uapi::PCI_IDE_SEL_STS_STATE_INSECURE;
        }
        // CAST: bits 31:24.
        let stream_id = (control >> 24) as u8;
        let secure = self.key_port.as_ref().is_some_and(|local| {
            local.keys.with(|local| {
                partners.any(|partner| {
                    partner.key_port.as_ref().is_some_and(|p| {
                        p.keys
                            .with(|remote| ide_keys::keys_match(local, remote, stream_id))
                    })
                })
            })
        });
        if secure {
            uapi::PCI_IDE_SEL_STS_STATE_SECURE
        } else {
            uapi::PCI_IDE_SEL_STS_STATE_INSECURE | uapi::PCI_IDE_SEL_STS_IDE_FAIL
        }
    }
}

/// The `size` bytes at `offset` of the dword register whose value is `value` (sub-dword reads
/// see the matching bytes).
fn sub_dword(value: u32, offset: u16, size: u8) -> u32 {
    let value = value >> (8 * u32::from(offset % 4));
    if size == 4 {
        value
    } else {
        value & ((1 << (8 * u32::from(size))) - 1)
    }
}

/// Offset of a port's key port: after its IDE capability.
fn key_port_offset(ide: IdeCapability) -> u16 {
    (ide.offset + ide.size() + 3) & !3
}

/// Offset of Endpoint function 0's SR-IOV capability: after its key port.
fn sriov_offset(ide: IdeCapability) -> u16 {
    key_port_offset(ide) + KEY_PORT_SIZE
}

/// Writes an SR-IOV capability offering `vfs` VFs at `offset` of `cfg`, last in the list.
fn install_sriov(cfg: &mut ConfigSpace, offset: u16, vfs: u8) {
    let at = |register: u32| offset + reg(register);
    // Header: ID, version 1, no next capability.
    cfg.set(offset, 4, uapi::PCI_EXT_CAP_ID_SRIOV | (1 << 16));
    cfg.writable(
        at(uapi::PCI_SRIOV_CTRL),
        2,
        uapi::PCI_SRIOV_CTRL_VFE | uapi::PCI_SRIOV_CTRL_MSE | uapi::PCI_SRIOV_CTRL_ARI,
    );
    // Without VF Migration, InitialVFs must equal TotalVFs.
    cfg.set(at(uapi::PCI_SRIOV_INITIAL_VF), 2, vfs.into());
    cfg.set(at(uapi::PCI_SRIOV_TOTAL_VF), 2, vfs.into());
    cfg.writable(at(uapi::PCI_SRIOV_NUM_VF), 2, 0xffff);
    // Function Dependency Link stays 0: function 0 itself.
    cfg.set(at(uapi::PCI_SRIOV_VF_OFFSET), 2, VF_OFFSET.into());
    cfg.set(at(uapi::PCI_SRIOV_VF_STRIDE), 2, 1);
    cfg.set(at(uapi::PCI_SRIOV_VF_DID), 2, VF_DEVICE_ID.into());
    // 4 KiB pages only, selected.
    cfg.set(at(uapi::PCI_SRIOV_SUP_PGSIZE), 4, 1);
    cfg.set(at(uapi::PCI_SRIOV_SYS_PGSIZE), 4, 1);
    cfg.writable(at(uapi::PCI_SRIOV_SYS_PGSIZE), 4, 1);
}

/// A switch Downstream Port and the Endpoint functions on its secondary bus (device 0).
struct DownstreamPort {
    port: Function,
    endpoint: KVec<Function>,
}

/// A switch below the Root Port: the Upstream Port, whose secondary bus is the switch's internal
/// bus with one Downstream Port per device number.
struct Switch {
    upstream: Function,
    downstream: KVec<DownstreamPort>,
}

/// The secondary bus number of a bridge if it is programmed and `bus` is in its bus range.
fn forwards(bridge: &Function, bus: u8) -> Option<u8> {
    // CAST: one-byte registers.
    let secondary = bridge.cfg.read(reg(uapi::PCI_SECONDARY_BUS), 1) as u8;
    let subordinate = bridge.cfg.read(reg(uapi::PCI_SUBORDINATE_BUS), 1) as u8;
    (secondary != 0 && (secondary..=subordinate).contains(&bus)).then_some(secondary)
}

/// The configuration state of the whole hierarchy.
struct Hierarchy {
    root_port: Function,
    /// The switch below the Root Port, if any; otherwise the Endpoint is there.
    switch: Option<Switch>,
    endpoint: KVec<Function>,
    /// The Endpoint's VFs, all of TotalVFs allocated up front.
    vfs: KVec<Function>,
    /// Offset of Endpoint function 0's SR-IOV capability, if it has VFs.
    sriov: Option<u16>,
    /// The relay to the DSM's device model, which hears of writes to locked settings.
    relay: Option<Arc<Relay>>,
}

impl Hierarchy {
    /// The function that answers a configuration request to `bus`, `devfn`.
    fn route(&mut self, bus: u8, devfn: u8) -> Option<&mut Function> {
        if bus == 0 {
            return (devfn == ROOT_PORT_DEVFN).then_some(&mut self.root_port);
        }
        let secondary = forwards(&self.root_port, bus)?;
        if self.switch.is_some() {
            return self.switch.as_mut()?.route(secondary, bus, devfn);
        }
        if bus != secondary {
            return None;
        }
        if devfn >> 3 == 0 {
            return self.endpoint.get_mut(usize::from(devfn & 7));
        }
        let vf = usize::from(devfn.checked_sub(VF_OFFSET)?);
        (vf < self.enabled_vfs())
            .then(|| self.vfs.get_mut(vf))
            .flatten()
    }

    /// The IDE ports: the Root Port, then each DSM-capable function (Endpoint function 0, the
    /// switch's Upstream Port, the Endpoint below the first Downstream Port).
    fn ide_ports(&self) -> impl Iterator<Item = &Function> {
        let switch = self.switch.as_ref();
        [
            Some(&self.root_port),
            self.endpoint.first(),
            switch.map(|s| &s.upstream),
            switch
                .and_then(|s| s.downstream.first())
                .and_then(|d| d.endpoint.first()),
        ]
        .into_iter()
        .flatten()
        .filter(|f| f.key_port.is_some())
    }

    /// The value of the IDE Stream Status register at `offset` of `port`, an IDE port whose
    /// stream Control register there is `control`: the Root Port's streams end at the DSMs, the
    /// DSMs' at the Root Port.
    fn stream_status(&self, port: *const Function, control: u32) -> Option<u32> {
        let local = self.ide_ports().find(|f| core::ptr::eq(*f, port))?;
        let root: *const Function = &self.root_port;
        let local_is_root = core::ptr::eq(local, root);
        let partners = self
            .ide_ports()
            .filter(move |f| core::ptr::eq(*f, root) != local_is_root);
        Some(local.stream_status(control, partners))
    }

    /// VFs that answer configuration requests: NumVFs (at most TotalVFs) while VF Enable is set.
    fn enabled_vfs(&self) -> usize {
        let (Some(sriov), Some(pf)) = (self.sriov, self.endpoint.first()) else {
            return 0;
        };
        let ctrl = pf.cfg.read(sriov + reg(uapi::PCI_SRIOV_CTRL), 2);
        if ctrl & uapi::PCI_SRIOV_CTRL_VFE == 0 {
            return 0;
        }
        // CAST: a two-byte register.
        let num = pf.cfg.read(sriov + reg(uapi::PCI_SRIOV_NUM_VF), 2) as usize;
        num.min(self.vfs.len())
    }
}

impl Switch {
    /// The function of the switch or below it that answers `bus`, `devfn`, for a request the
    /// Root Port forwarded to its `secondary` bus or below.
    fn route(&mut self, secondary: u8, bus: u8, devfn: u8) -> Option<&mut Function> {
        if bus == secondary {
            return (devfn == 0).then_some(&mut self.upstream);
        }
        let internal = forwards(&self.upstream, bus)?;
        if bus == internal {
            // Each Downstream Port is function 0 of its own device number.
            if devfn & 7 != 0 {
                return None;
            }
            return self
                .downstream
                .get_mut(usize::from(devfn >> 3))
                .map(|d| &mut d.port);
        }
        // Below a Downstream Port, only its secondary bus has a device (device 0).
        let below = self
            .downstream
            .iter_mut()
            .find(|d| forwards(&d.port, bus) == Some(bus))?;
        if devfn >> 3 != 0 {
            return None;
        }
        below.endpoint.get_mut(usize::from(devfn & 7))
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

/// What the hierarchy contains.
#[derive(Clone, Copy)]
pub(crate) struct Options {
    /// Functions of the Endpoint, 1 to 8.
    pub(crate) functions: u8,
    /// TotalVFs of Endpoint function 0, 0 (no SR-IOV capability) to [`MAX_VFS`].
    pub(crate) vfs: u8,
    /// Downstream Ports of a switch that replaces the Endpoint below the Root Port, each with a
    /// plain Endpoint below it: 0 (no switch) to [`MAX_DOWNSTREAM_PORTS`]. With a switch, `vfs`
    /// does not apply, and `functions` only with [`Options::dsm_below_switch`].
    pub(crate) switch_ports: u8,
    /// With a switch: the Endpoint below the first Downstream Port is a TEE-IO Endpoint of
    /// `functions` functions whose function 0 is DSM-capable (DOE mailbox, IDE), like the
    /// Endpoint without a switch.
    pub(crate) dsm_below_switch: bool,
}

impl Platform {
    /// A Root Port with the Endpoint, or the switch, that `options` describes below it. With
    /// `relay`, the DSM's mailbox (Endpoint function 0, or the switch's Upstream Port) relays
    /// CMA objects through it to a device model instead of answering them itself.
    pub(crate) fn new(
        options: Options,
        relay: Option<Arc<Relay>>,
    ) -> Result<impl PinInit<Self, Error>> {
        let Options {
            functions,
            vfs,
            switch_ports,
            dsm_below_switch,
        } = options;
        if !(1..=8).contains(&functions) || vfs > MAX_VFS || switch_ports > MAX_DOWNSTREAM_PORTS {
            return Err(EINVAL);
        }
        let switch = if switch_ports > 0 {
            let mut downstream = KVec::with_capacity(usize::from(switch_ports), GFP_KERNEL)?;
            for index in 0..switch_ports {
                let port =
                    Function::bridge(DOWNSTREAM_PORT_DEVICE_ID, uapi::PCI_EXP_TYPE_DOWNSTREAM, 0)?;
                let mut endpoint = KVec::new();
                if index == 0 && dsm_below_switch {
                    endpoint.reserve(usize::from(functions), GFP_KERNEL)?;
                    for function in 0..functions {
                        endpoint.push(Function::endpoint(function, functions, 0)?, GFP_KERNEL)?;
                    }
                } else {
                    endpoint.push(Function::switch_endpoint()?, GFP_KERNEL)?;
                }
                downstream.push(DownstreamPort { port, endpoint }, GFP_KERNEL)?;
            }
            Some(Switch {
                upstream: Function::upstream_port()?,
                downstream,
            })
        } else {
            None
        };
        let (mut endpoint, mut vf_functions) = (KVec::new(), KVec::new());
        if switch.is_none() {
            endpoint.reserve(usize::from(functions), GFP_KERNEL)?;
            for function in 0..functions {
                endpoint.push(Function::endpoint(function, functions, vfs)?, GFP_KERNEL)?;
            }
            vf_functions.reserve(usize::from(vfs), GFP_KERNEL)?;
            for _ in 0..vfs {
                vf_functions.push(Function::vf()?, GFP_KERNEL)?;
            }
        }
        let sriov = (vfs > 0)
            .then(|| endpoint.first().and_then(|pf0| pf0.ide))
            .flatten()
            .map(sriov_offset);
        let mut hierarchy = Hierarchy {
            root_port: Function::root_port()?,
            switch,
            endpoint,
            vfs: vf_functions,
            sriov,
            relay: relay.clone(),
        };
        if let Some(relay) = relay {
            let dsm = match &mut hierarchy.switch {
                Some(switch) => Some(&mut switch.upstream),
                None => hierarchy.endpoint.first_mut(),
            };
            if let Some(dsm) = dsm {
                // The device model answers the DSM's CMA objects and programs its IDE keys.
                if let Some(ide) = dsm.key_port.as_mut() {
                    ide.keys = Keys::Relayed(relay.clone());
                }
                if let Some((_, mailbox)) = dsm.doe.as_mut() {
                    *mailbox = Mailbox::relayed(relay)?;
                }
            }
        }
        Ok(try_pin_init!(Self {
            hierarchy <- new_raw_spinlock_irq!(hierarchy),
        }))
    }
}

impl ConfigOps for Platform {
    fn read(&self, bus: u8, devfn: u8, offset: u16, size: u8) -> Option<u32> {
        let mut hierarchy = self.hierarchy.lock();
        let function = hierarchy.route(bus, devfn)?;
        if !config_space::valid_access(offset, size) {
            return Some(!0);
        }
        let Some(control) = function.ide.and_then(|ide| ide.status_to_control(offset)) else {
            return Some(function.read(offset, size));
        };
        let control = function.cfg.read(control, 4);
        let port: *const Function = function;
        let status = hierarchy.stream_status(port, control)?;
        Some(sub_dword(status, offset, size))
    }

    fn write(&self, bus: u8, devfn: u8, offset: u16, size: u8, value: u32) -> bool {
        let mut hierarchy = self.hierarchy.lock();
        let Some(function) = hierarchy.route(bus, devfn) else {
            return false;
        };
        if !config_space::valid_access(offset, size) {
            return true;
        }
        function.write(offset, size, value);
        // The device model watches the settings TDISP locks of the Endpoint's functions: the
        // Command register and the BARs.
        let register = offset & !3;
        let header_type = function.cfg.read(reg(uapi::PCI_HEADER_TYPE), 1) & 0x7f;
        let watched = register == reg(uapi::PCI_COMMAND)
            || (reg(uapi::PCI_BASE_ADDRESS_0)..=reg(uapi::PCI_BASE_ADDRESS_5)).contains(&register);
        if watched && header_type == uapi::PCI_HEADER_TYPE_NORMAL {
            let now = function.cfg.read(register, 4);
            if let Some(relay) = &hierarchy.relay {
                relay.config_written(u16::from_be_bytes([bus, devfn]), register, now);
            }
        }
        true
    }
}
