/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Functions of the Rust PCI/TSM core (drivers/pci/tsm/abi.rs) that no
 * public header declares: its initcalls, and the tsm-rs addition that link
 * TSMs reach through kernel::tsm::connect_mode().
 */
#ifndef _PCI_TSM_RS_H
#define _PCI_TSM_RS_H

#include <linux/types.h>

struct pci_dev;

int pci_tsm_core_init(void);
int pci_tsm_netlink_init(void);
bool pci_tsm_rs_connect_mode(struct pci_dev *pdev);

#endif /* _PCI_TSM_RS_H */
