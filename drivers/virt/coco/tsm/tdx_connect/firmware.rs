// SPDX-License-Identifier: GPL-2.0

//! The firmware transport: how the backend reaches the TDX module. [`Seam`] issues SEAMCALLs
//! to the TDX Module Extension; [`ModelFirmware`] calls the firmware model of the emulated
//! platform.

#[cfg(CONFIG_TSM_EMU)]
use kernel::sync::Arc;
use kernel::{pci, prelude::*};
use tsm_proto::vendor::tdx_connect::{Args, Status};

/// A 4 KiB page the module is given by address.
pub(crate) trait Page: Send + Sync {
    /// Its page frame number.
    fn pfn(&self) -> u64;
    /// Copies bytes from `offset` into `out`.
    fn read(&self, offset: usize, out: &mut [u8]) -> Result;
    /// Copies `data` to `offset` (`EPERM` while the module owns the page).
    fn write(&mut self, offset: usize, data: &[u8]) -> Result;
}

/// Sizes the TDX module asks for (global metadata of TDX Connect).
#[derive(Clone, Copy)]
pub(crate) struct Info {
    /// Pages of an SPDM object's metadata (`spdm_mt_page_count`).
    pub(crate) spdm_mt_pages: u16,
    /// Most DEV_INFO pages (`spdm_max_dev_info_pages`).
    pub(crate) dev_info_pages: u16,
    /// Pages of an IDE stream's metadata.
    pub(crate) stream_mt_pages: u16,
}

/// The TDX module, as the backend drives it.
pub(crate) trait Firmware: Send + Sync {
    /// Whether this firmware can secure `pdev`.
    fn manages(&self, pdev: &pci::Device) -> bool;
    /// The module's TDX Connect sizes; `ENODEV` without TDX Connect.
    fn info(&self) -> Result<Info>;
    /// A zeroed page.
    fn alloc(&self) -> Result<KBox<dyn Page>>;
    /// Issues `args` once; the outputs replace its registers. An error when the module could
    /// not be reached.
    fn call(&self, args: &mut Args) -> Result<Status>;
}

/// The TDX module through SEAMCALL (`kernel::tsm::seamcall`). **Untested**: 7.3 has no TDX
/// Module Extension to call, so [`Firmware::info`] fails with `ENODEV` and the module does not
/// load; the leaves are encoded as the host series defines them and compiled only.
pub(crate) struct Seam;

struct SeamPage(kernel::tsm::seamcall::ModulePage);

impl Page for SeamPage {
    fn pfn(&self) -> u64 {
        self.0.pfn()
    }

    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        self.0.read(offset, out)
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result {
        self.0.write(offset, data)
    }
}

impl Firmware for Seam {
    fn manages(&self, pdev: &pci::Device) -> bool {
        pdev.root_port().is_some()
    }

    fn info(&self) -> Result<Info> {
        // 7.3 can neither enable the extension nor read TDX Connect's global metadata.
        Err(ENODEV)
    }

    fn alloc(&self) -> Result<KBox<dyn Page>> {
        Ok(KBox::new(
            SeamPage(kernel::tsm::seamcall::ModulePage::new()?),
            GFP_KERNEL,
        )?)
    }

    fn call(&self, args: &mut Args) -> Result<Status> {
        use kernel::tsm::seamcall::{call, Regs};
        let mut regs = Regs {
            rcx: args.rcx,
            rdx: args.rdx,
            r8: args.r8,
            r9: args.r9,
            r10: args.r10,
            r11: args.r11,
            r12: args.r12,
            r13: args.r13,
            r14: args.r14,
        };
        // SAFETY: The backend names only pages it keeps (`Page`s) until the object they were
        // given for is deleted and the pages are released.
        let status = unsafe { call(args.leaf, &mut regs) }?;
        args.rcx = regs.rcx;
        args.rdx = regs.rdx;
        Ok(Status(status))
    }
}

/// The TDX Connect firmware model of the emulated platform (`emu/tdx_connect_model.rs`).
#[cfg(CONFIG_TSM_EMU)]
pub(crate) struct ModelFirmware(pub(crate) Arc<crate::model::Model>);

/// A page of the model's memory; returned when dropped.
#[cfg(CONFIG_TSM_EMU)]
struct ModelPage {
    model: Arc<crate::model::Model>,
    pfn: u64,
    memory: crate::model::Memory,
}

#[cfg(CONFIG_TSM_EMU)]
impl Page for ModelPage {
    fn pfn(&self) -> u64 {
        self.pfn
    }

    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        let memory = self.memory.lock();
        let end = offset.checked_add(out.len()).ok_or(EINVAL)?;
        out.copy_from_slice(memory.get(offset..end).ok_or(EINVAL)?);
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result {
        if self.model.module_owned(self.pfn) {
            return Err(EPERM);
        }
        let mut memory = self.memory.lock();
        let end = offset.checked_add(data.len()).ok_or(EINVAL)?;
        memory
            .get_mut(offset..end)
            .ok_or(EINVAL)?
            .copy_from_slice(data);
        Ok(())
    }
}

#[cfg(CONFIG_TSM_EMU)]
impl Drop for ModelPage {
    fn drop(&mut self) {
        self.model.free(self.pfn);
    }
}

#[cfg(CONFIG_TSM_EMU)]
impl Firmware for ModelFirmware {
    fn manages(&self, pdev: &pci::Device) -> bool {
        crate::platform_fw::on_platform(pdev)
    }

    fn info(&self) -> Result<Info> {
        Ok(self.0.info())
    }

    fn alloc(&self) -> Result<KBox<dyn Page>> {
        let (pfn, memory) = self.0.alloc()?;
        Ok(KBox::new(
            ModelPage {
                model: self.0.clone(),
                pfn,
                memory,
            },
            GFP_KERNEL,
        )?)
    }

    fn call(&self, args: &mut Args) -> Result<Status> {
        Ok(self.0.call(args))
    }
}
