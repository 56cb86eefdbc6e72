// SPDX-License-Identifier: GPL-2.0

#include <linux/pci.h>

__rust_helper struct pci_dev *rust_helper_pcie_find_root_port(struct pci_dev *dev)
{
	return pcie_find_root_port(dev);
}
