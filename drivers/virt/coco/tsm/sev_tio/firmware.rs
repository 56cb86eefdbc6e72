// SPDX-License-Identifier: GPL-2.0

//! The firmware transport: how the backend reaches SEV-TIO firmware. [`Psp`] issues commands to
//! the AMD PSP through the ccp driver; [`ModelFirmware`] to the firmware model of the emulated
//! platform.

use kernel::{pci, prelude::*, sync::Arc};
use tsm_proto::vendor::sev_tio::{SlaAddr, Status};

/// A buffer the firmware reads or writes by address.
pub(crate) trait Buffer: Send + Sync {
    /// Its address as the firmware sees it.
    fn sla(&self) -> SlaAddr;
    /// Its size in bytes.
    fn len(&self) -> usize;
    /// Copies bytes from `offset` into `out`.
    fn read(&self, offset: usize, out: &mut [u8]) -> Result;
    /// Copies `data` to `offset` (host-owned buffers only).
    fn write(&mut self, offset: usize, data: &[u8]) -> Result;
}

/// SEV-TIO firmware, as the backend drives it.
pub(crate) trait Firmware: Send + Sync {
    /// Whether this firmware can secure `pdev`.
    fn manages(&self, pdev: &pci::Device) -> bool;
    /// A zeroed buffer of `len` bytes; `firmware`: owned by the firmware (request, scratch and
    /// output buffers, contexts), else by the host (response buffer, status page).
    fn alloc(&self, len: usize, firmware: bool) -> Result<KBox<dyn Buffer>>;
    /// Issues command `id` with its buffer `buf` (updated in place) and returns the firmware's
    /// status; an error when the firmware could not be reached.
    fn command(&self, id: u32, buf: &mut [u8]) -> Result<Status>;
}

/// The AMD PSP through the ccp driver (`sev_do_cmd()`). **Untested**: it needs SEV-SNP hardware
/// with SEV-TIO enabled by `SNP_INIT_EX`, which the test machines do not have; it is compiled
/// and documented only.
///
/// Buffers are single 4 KiB pages (firmware-owned ones assigned to the firmware in the RMP), so
/// firmware that asks for bigger buffers or contexts is refused with `ENOSPC`; scatter lists
/// are not built.
#[cfg(CONFIG_X86)]
pub(crate) struct Psp;

#[cfg(CONFIG_X86)]
struct PspBuffer(kernel::tsm::psp::FirmwarePage);

#[cfg(CONFIG_X86)]
impl Buffer for PspBuffer {
    fn sla(&self) -> SlaAddr {
        SlaAddr {
            scatter_list: false,
            page_2m: false,
            pfn: self.0.pfn(),
        }
    }

    fn len(&self) -> usize {
        kernel::tsm::psp::FirmwarePage::SIZE
    }

    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        self.0.read(offset, out)
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result {
        self.0.write(offset, data)
    }
}

#[cfg(CONFIG_X86)]
impl Firmware for Psp {
    fn manages(&self, pdev: &pci::Device) -> bool {
        pdev.root_port().is_some()
    }

    fn alloc(&self, len: usize, firmware: bool) -> Result<KBox<dyn Buffer>> {
        use kernel::tsm::psp::FirmwarePage;
        if len > FirmwarePage::SIZE {
            return Err(ENOSPC);
        }
        Ok(KBox::new(
            PspBuffer(FirmwarePage::new(firmware)?),
            GFP_KERNEL,
        )?)
    }

    fn command(&self, id: u32, buf: &mut [u8]) -> Result<Status> {
        // SAFETY: `buf` is a whole command buffer encoded by `tsm_proto::vendor::sev_tio`,
        // whose lengths are those of 7.3's structures (`sev_tio_cmd_buffer_len()`), and the
        // addresses in it are of `FirmwarePage`s the backend keeps until the command is done
        // and the context reclaimed.
        let outcome = unsafe { kernel::tsm::psp::do_cmd(id, buf) };
        let status = Status::from_raw(outcome.status);
        match outcome.result {
            Ok(()) => Ok(status),
            // The ccp driver reports firmware errors as EIO with the status set.
            Err(e) if e == EIO && status != Status::Success => Ok(status),
            Err(e) => Err(e),
        }
    }
}

/// The SEV-TIO firmware model of the emulated platform (`emu/sev_tio_model.rs`).
#[cfg(CONFIG_TSM_EMU)]
pub(crate) struct ModelFirmware(pub(crate) Arc<crate::model::Model>);

/// A buffer of the model's memory; returned to the host when dropped.
#[cfg(CONFIG_TSM_EMU)]
struct ModelBuffer {
    model: Arc<crate::model::Model>,
    pfn: u64,
    len: usize,
    memory: Arc<kernel::sync::Mutex<kernel::alloc::KVVec<u8>>>,
    firmware: bool,
}

#[cfg(CONFIG_TSM_EMU)]
impl Buffer for ModelBuffer {
    fn sla(&self) -> SlaAddr {
        SlaAddr {
            scatter_list: false,
            page_2m: false,
            pfn: self.pfn,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        let memory = self.memory.lock();
        let end = offset.checked_add(out.len()).ok_or(EINVAL)?;
        out.copy_from_slice(memory.get(offset..end).ok_or(EINVAL)?);
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result {
        if self.firmware {
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
impl Drop for ModelBuffer {
    fn drop(&mut self) {
        self.model.free(self.pfn);
    }
}

#[cfg(CONFIG_TSM_EMU)]
impl Firmware for ModelFirmware {
    fn manages(&self, pdev: &pci::Device) -> bool {
        crate::platform_fw::on_platform(pdev)
    }

    fn alloc(&self, len: usize, firmware: bool) -> Result<KBox<dyn Buffer>> {
        let (pfn, memory) = self.0.alloc(len, firmware)?;
        Ok(KBox::new(
            ModelBuffer {
                model: self.0.clone(),
                pfn,
                len,
                memory,
                firmware,
            },
            GFP_KERNEL,
        )?)
    }

    fn command(&self, id: u32, buf: &mut [u8]) -> Result<Status> {
        Ok(self.0.command(id, buf))
    }
}
