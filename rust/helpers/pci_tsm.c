// SPDX-License-Identifier: GPL-2.0

#include <linux/pci-tsm.h>
#include <linux/sockptr.h>

#ifdef CONFIG_PCI_TSM_CORE
__rust_helper bool rust_helper_is_pci_tsm_pf0(struct pci_dev *pdev)
{
	return is_pci_tsm_pf0(pdev);
}

__rust_helper int rust_helper_copy_from_sockptr_offset(void *dst, sockptr_t src,
						       size_t offset, size_t size)
{
	return copy_from_sockptr_offset(dst, src, offset, size);
}

__rust_helper sockptr_t rust_helper_kernel_sockptr(void *p)
{
	return KERNEL_SOCKPTR(p);
}

__rust_helper int rust_helper_copy_to_sockptr_offset(sockptr_t dst, size_t offset,
						     const void *src, size_t size)
{
	return copy_to_sockptr_offset(dst, offset, src, size);
}
#endif
