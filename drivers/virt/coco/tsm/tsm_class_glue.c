// SPDX-License-Identifier: GPL-2.0
/*
 * C side of the Rust TSM class core: exports for TSM driver modules, and
 * registration of the class before device_initcall, where built-in TSM
 * drivers may already call tsm_register().
 */
#include <linux/export.h>
#include <linux/init.h>
#include <linux/tsm.h>

int tsm_class_init(void);
/* tsm-rs addition, see drivers/virt/coco/tsm/abi.rs; called from Rust only. */
struct tsm_dev *tsm_rs_register_link(struct device *parent, struct pci_tsm_ops *ops,
				     bool link_ide, u32 selective_streams);

EXPORT_SYMBOL_GPL(tsm_register);
EXPORT_SYMBOL_GPL(tsm_unregister);
EXPORT_SYMBOL_GPL(tsm_rs_register_link);

subsys_initcall(tsm_class_init);
