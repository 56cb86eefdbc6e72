// SPDX-License-Identifier: GPL-2.0

//! The `tsm/` group and the `authenticated` file of PCI devices, with 7.3's visibility rules.

use crate::{connect_mode, input::parse_tsm_name, lifecycle};
use core::fmt::Write;
use kernel::{
    class::ClassDevice,
    device::Device,
    pci,
    prelude::*,
    str::Formatter,
    sysfs::{Attribute, DeviceAttributeOps, GroupVisibility},
};

fn pci_device(dev: &Device) -> Result<&pci::Device> {
    dev.try_into().map_err(|_| ENODEV)
}

/// Prints a device's name on a line of its own.
fn write_name(out: &mut Formatter<'_>, dev: &Device) -> Result {
    Ok(writeln!(
        out,
        "{}",
        dev.name().to_str().map_err(|_| EINVAL)?
    )?)
}

/// Prints the connected (or managing) TSM's name, or an empty line.
fn show_tsm_name(dev: &Device, out: &mut Formatter<'_>) -> Result {
    let pdev = pci_device(dev)?;
    if !lifecycle::connected_tsm(pdev, &mut |tsm| write_name(out, tsm.device()))? {
        writeln!(out)?;
    }
    Ok(())
}

pub(crate) struct Connect;

#[vtable]
impl DeviceAttributeOps for Connect {
    fn show(dev: &Device, out: &mut Formatter<'_>) -> Result {
        show_tsm_name(dev, out)
    }

    fn store(dev: &Device, input: &[u8]) -> Result {
        let tsm_id = parse_tsm_name(input)?;
        lifecycle::connect(pci_device(dev)?, tsm_id)
    }
}

pub(crate) struct Disconnect;

#[vtable]
impl DeviceAttributeOps for Disconnect {
    fn store(dev: &Device, input: &[u8]) -> Result {
        lifecycle::disconnect(pci_device(dev)?, input)
    }
}

pub(crate) struct Bound;

#[vtable]
impl DeviceAttributeOps for Bound {
    fn show(dev: &Device, out: &mut Formatter<'_>) -> Result {
        let pdev = pci_device(dev)?;
        if !lifecycle::bound_tsm(pdev, &mut |tsm| write_name(out, tsm.device()))? {
            writeln!(out)?;
        }
        Ok(())
    }
}

pub(crate) struct Dsm;

#[vtable]
impl DeviceAttributeOps for Dsm {
    fn show(dev: &Device, out: &mut Formatter<'_>) -> Result {
        let pdev = pci_device(dev)?;
        let shown = lifecycle::dsm_of(pdev, &mut |dsm| write_name(out, dsm.as_ref()))?;
        if !shown {
            writeln!(out)?;
        }
        Ok(())
    }
}

/// `tsm/connect_mode` (tsm-rs addition, see [`connect_mode`]).
pub(crate) struct ConnectMode;

#[vtable]
impl DeviceAttributeOps for ConnectMode {
    /// The modes, the current one in brackets.
    fn show(dev: &Device, out: &mut Formatter<'_>) -> Result {
        let line = if connect_mode::is_link(pci_device(dev)?) {
            "[link] selective"
        } else {
            "link [selective]"
        };
        Ok(writeln!(out, "{line}")?)
    }

    /// `link` or `selective` (one trailing newline allowed, as sysfs strips it); `EINVAL`
    /// otherwise, `EBUSY` while connected.
    fn store(dev: &Device, input: &[u8]) -> Result {
        let link = match input {
            b"link" => true,
            b"selective" => false,
            _ => return Err(EINVAL),
        };
        connect_mode::set(pci_device(dev)?, link)
    }
}

pub(crate) struct Authenticated;

#[vtable]
impl DeviceAttributeOps for Authenticated {
    /// With the SPDM session held by a TSM, "authenticated" is the connect state.
    fn show(dev: &Device, out: &mut Formatter<'_>) -> Result {
        show_tsm_name(dev, out)
    }
}

/// Where the groups show: while a link TSM is registered, on PCIe functions that can be
/// connected (function 0 with IDE or TEE-IO, or a function with a CMA DOE mailbox) and on
/// functions a connected DSM manages.
struct LinkVisibility;

impl GroupVisibility for LinkVisibility {
    fn group_visible(dev: &Device) -> bool {
        let Ok(pdev) = pci_device(dev) else {
            return false;
        };
        lifecycle::link_tsm_registered()
            && pdev.is_pcie()
            && (pdev.is_tsm_host() || pdev.has_tsm_context())
    }
}

/// Per-file rules of `tsm/`: `connect` and `disconnect` only on DSM-capable functions, `bound`
/// only where a TDI can exist (TEE-IO function 0, or a managed function), `dsm` on both kinds.
struct TsmFileVisibility;

impl GroupVisibility for TsmFileVisibility {
    fn group_visible(dev: &Device) -> bool {
        LinkVisibility::group_visible(dev)
    }

    fn attr_visible(dev: &Device, attr: &Attribute, mode: u16) -> u16 {
        let Ok(pdev) = pci_device(dev) else {
            return 0;
        };
        let pf0 = pdev.is_tsm_host();
        // A managed function's DSM always has TEE-IO: only such DSMs manage other functions.
        // A function 0 below a switch may be one too (7.3 shows its `bound`).
        let managed = pdev.has_tsm_context() && (!pf0 || lifecycle::is_managed(pdev));
        let visible = if CONNECT_ATTR.is(attr) || DISCONNECT_ATTR.is(attr) {
            pf0
        } else if CONNECT_MODE_ATTR.is(attr) {
            pf0 && connect_mode::offered(pdev)
        } else if BOUND_ATTR.is(attr) {
            (pf0 && pdev.has_tee()) || managed
        } else if DSM_ATTR.is(attr) {
            pf0 || managed
        } else {
            false
        };
        if visible {
            mode
        } else {
            0
        }
    }
}

kernel::device_attribute_group! {
    /// `tsm/`: listed in the PCI core's `pci_dev_attr_groups[]`.
    #[no_mangle]
    #[allow(non_upper_case_globals)]
    pub static pci_tsm_attr_group = {
        name: c"tsm",
        visibility: TsmFileVisibility,
        attributes: [
            CONNECT_ATTR: Connect = (c"connect", 0o644),
            DISCONNECT_ATTR: Disconnect = (c"disconnect", 0o200),
            BOUND_ATTR: Bound = (c"bound", 0o444),
            DSM_ATTR: Dsm = (c"dsm", 0o444),
            CONNECT_MODE_ATTR: ConnectMode = (c"connect_mode", 0o644),
        ],
    };
}

kernel::device_attribute_group! {
    /// `authenticated`: listed in the PCI core's `pci_dev_attr_groups[]`.
    #[no_mangle]
    #[allow(non_upper_case_globals)]
    pub static pci_tsm_auth_attr_group = {
        visibility: LinkVisibility,
        attributes: [AUTHENTICATED_ATTR: Authenticated = (c"authenticated", 0o444)],
    };
}

/// Re-evaluates both groups on `pdev` after its state changed.
pub(crate) fn refresh(pdev: &pci::Device) {
    let dev: &Device = pdev.as_ref();
    // A device being removed has no groups left to update; nothing to undo either way.
    let _ = pci_tsm_auth_attr_group.update(dev);
    let _ = pci_tsm_attr_group.update(dev);
}
