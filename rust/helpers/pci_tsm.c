// SPDX-License-Identifier: GPL-2.0

#include <linux/pci.h>
#include <linux/pci-tsm.h>
#include <linux/sockptr.h>
#include "../../drivers/pci/pci.h"

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
__rust_helper bool rust_helper_pci_is_pcie(struct pci_dev *pdev)
{
	return pci_is_pcie(pdev);
}

__rust_helper int rust_helper_pci_pcie_type(const struct pci_dev *pdev)
{
	return pci_pcie_type(pdev);
}

__rust_helper struct pci_dev *rust_helper_pci_physfn(struct pci_dev *pdev)
{
	return pci_physfn(pdev);
}

__rust_helper int rust_helper_pci_tsm_domain_nr(struct pci_dev *pdev)
{
	return pci_domain_nr(pdev->bus);
}

__rust_helper int rust_helper_pci_tsm_num_vf(struct pci_dev *pf)
{
	return pci_num_vf(pf);
}

/* Virtual function @id of @pf with a reference, or NULL. */
__rust_helper struct pci_dev *rust_helper_pci_tsm_get_vf(struct pci_dev *pf, int id)
{
	return pci_get_domain_bus_and_slot(pci_domain_nr(pf->bus),
					   pci_iov_virtfn_bus(pf, id),
					   pci_iov_virtfn_devfn(pf, id));
}

__rust_helper bool rust_helper_pci_tsm_dev_is_added(struct pci_dev *pdev)
{
	return pci_dev_is_added(pdev);
}
#endif

#ifdef CONFIG_X86
#include <linux/mm.h>
#include <linux/psp-sev.h>
#include <asm/sev.h>

__rust_helper int rust_helper_sev_do_cmd(int cmd, void *data, int *psp_ret)
{
	return sev_do_cmd(cmd, data, psp_ret);
}

__rust_helper u64 rust_helper_tsm_page_to_pfn(struct page *page)
{
	return page_to_pfn(page);
}

__rust_helper int rust_helper_tsm_rmp_make_private(u64 pfn)
{
	return rmp_make_private(pfn, 0, PG_LEVEL_4K, 0, true);
}

__rust_helper int rust_helper_tsm_rmp_make_shared(u64 pfn)
{
	return rmp_make_shared(pfn, PG_LEVEL_4K);
}
#endif

#ifdef CONFIG_X86_64
/*
 * TDX Connect leaves run in the TDX Module Extension, which 7.3 does not
 * enable (TDH.EXT.MEM.ADD/TDH.EXT.INIT come with the unmerged "Enable TDX
 * Module Extensions" series) and whose SEAMCALL 7.3 does not export: there
 * is nothing to call yet. @regs: RCX, RDX, R8-R14 in and out.
 */
__rust_helper int rust_helper_tsm_tdx_ext_seamcall(u64 leaf, u64 *regs, u64 *status)
{
	return -ENODEV;
}
#endif

#ifdef CONFIG_RISCV
#include <linux/mm.h>
#include <asm/sbi.h>

/* One SBI call; the error half is returned, the value half stored in *value. */
__rust_helper long rust_helper_tsm_sbi_ecall(int ext, int fid, unsigned long arg0,
					     unsigned long arg1, unsigned long arg2,
					     unsigned long arg3, unsigned long arg4,
					     unsigned long arg5, unsigned long *value)
{
	struct sbiret ret = sbi_ecall(ext, fid, arg0, arg1, arg2, arg3, arg4, arg5);

	*value = ret.value;
	return ret.error;
}

__rust_helper long rust_helper_tsm_sbi_probe_extension(int ext)
{
	return sbi_probe_extension(ext);
}

__rust_helper u64 rust_helper_tsm_page_to_phys(struct page *page)
{
	return page_to_phys(page);
}
#endif
