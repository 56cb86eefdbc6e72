// SPDX-License-Identifier: GPL-2.0
/*
 * C side of the Rust PCI/TSM core: exports of the include/linux/pci-tsm.h
 * library for TSM driver modules, and set-up of the core's locks before
 * PCI enumeration, which may call pci_tsm_init().
 */
#include <linux/export.h>
#include <linux/init.h>
#include <linux/pci-tsm.h>

#include "pci_tsm_rs.h"

EXPORT_SYMBOL_GPL(pci_tsm_link_constructor);
EXPORT_SYMBOL_GPL(pci_tsm_pf0_constructor);
EXPORT_SYMBOL_GPL(pci_tsm_pf0_destructor);
EXPORT_SYMBOL_GPL(pci_tsm_tdi_constructor);
EXPORT_SYMBOL_GPL(pci_tsm_doe_transfer);
EXPORT_SYMBOL_GPL(pci_tsm_bind);
EXPORT_SYMBOL_GPL(pci_tsm_unbind);
EXPORT_SYMBOL_GPL(pci_tsm_guest_req);
EXPORT_SYMBOL_GPL(pci_tsm_rs_connect_mode);

core_initcall(pci_tsm_core_init);

#ifdef CONFIG_NET
/* The pci-tsm generic netlink family, once generic netlink is up. */
device_initcall(pci_tsm_netlink_init);
#endif
