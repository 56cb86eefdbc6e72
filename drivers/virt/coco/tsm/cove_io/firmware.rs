// SPDX-License-Identifier: GPL-2.0

//! The firmware transport: how the backend reaches a CoVE TSM. [`Covh`] issues SBI ecalls to
//! the TSM of a RISC-V host; [`ModelFirmware`] calls the firmware model of the emulated
//! platform.

use kernel::{pci, prelude::*};
use tsm_proto::vendor::cove_io::{SbiCall, SbiError};

/// What a COVH function returned (`struct sbiret`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SbiRet {
    pub(crate) error: SbiError,
    pub(crate) value: u64,
}

/// SBI error as an errno: the TSM refused (`EIO`), except for what the host did wrong.
pub(crate) fn sbi_errno(error: SbiError) -> Error {
    match error {
        SbiError::InvalidParam | SbiError::InvalidAddress | SbiError::BadRange => EINVAL,
        SbiError::NotSupported => EOPNOTSUPP,
        SbiError::InvalidState | SbiError::AlreadyAvailable => EBUSY,
        SbiError::Timeout => ETIMEDOUT,
        SbiError::NoShmem => ENOMEM,
        _ => EIO,
    }
}

/// Memory the host shares with the TSM by physical address (IDE stream descriptors,
/// connection transcripts).
pub(crate) trait Buffer: Send + Sync {
    /// Its address as the TSM sees it (4 KiB aligned).
    fn addr(&self) -> u64;
    /// Its size in bytes.
    fn len(&self) -> usize;
    /// Copies bytes from `offset` into `out`.
    fn read(&self, offset: usize, out: &mut [u8]) -> Result;
    /// Copies `data` to `offset`.
    fn write(&mut self, offset: usize, data: &[u8]) -> Result;
}

/// A CoVE TSM, as the backend drives it.
pub(crate) trait Firmware: Send + Sync {
    /// Whether this TSM can secure `pdev`.
    fn manages(&self, pdev: &pci::Device) -> bool;
    /// Largest buffer [`Firmware::alloc`] gives.
    fn max_buffer(&self) -> usize;
    /// A zeroed shared buffer of `len` bytes.
    fn alloc(&self, len: usize) -> Result<KBox<dyn Buffer>>;
    /// Issues `call`; an error when the TSM could not be reached.
    fn call(&self, call: &SbiCall) -> Result<SbiRet>;
    /// Copies the pending SPDM transaction buffer of `device_id` into `out`.
    fn read_pending(&self, device_id: u32, out: &mut [u8]) -> Result;
    /// Writes `data` to the start of the pending SPDM transaction buffer of `device_id`.
    fn write_pending(&self, device_id: u32, data: &[u8]) -> Result;
}

/// The CoVE TSM through SBI ecalls (extension COVH). **Untested**: it needs a RISC-V platform
/// whose TSM implements CoVE-IO, which nothing available provides (no released firmware or
/// emulator); it is compiled only.
///
/// The pending SPDM transaction buffers live in the CoVE NACL shared memory, but the draft does
/// not say where in it, and 7.3 keeps that memory inside KVM (`kvm_riscv_nacl`, per CPU, not
/// exported). A function that asks the host to relay an SPDM request therefore fails here with
/// `EOPNOTSUPP` rather than guessing a layout; functions that need no relay work as specified.
/// Buffers are single pages: a transcript that does not fit is the TSM's error.
#[cfg(CONFIG_RISCV)]
pub(crate) struct Covh;

#[cfg(CONFIG_RISCV)]
impl Covh {
    /// The TSM, if the SBI implementation has the COVH extension.
    pub(crate) fn probe() -> Result<Self> {
        if kernel::tsm::sbi::probe_extension(tsm_proto::vendor::cove_io::EID_COVH) {
            Ok(Self)
        } else {
            Err(ENODEV)
        }
    }
}

#[cfg(CONFIG_RISCV)]
impl Buffer for kernel::tsm::sbi::SharedPage {
    fn addr(&self) -> u64 {
        self.phys()
    }

    fn len(&self) -> usize {
        Self::SIZE
    }

    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        kernel::tsm::sbi::SharedPage::read(self, offset, out)
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result {
        kernel::tsm::sbi::SharedPage::write(self, offset, data)
    }
}

#[cfg(CONFIG_RISCV)]
impl Firmware for Covh {
    fn manages(&self, pdev: &pci::Device) -> bool {
        pdev.root_port().is_some()
    }

    fn max_buffer(&self) -> usize {
        kernel::tsm::sbi::SharedPage::SIZE
    }

    fn alloc(&self, len: usize) -> Result<KBox<dyn Buffer>> {
        use kernel::tsm::sbi::SharedPage;
        if len > SharedPage::SIZE {
            return Err(ENOSPC);
        }
        Ok(KBox::new(SharedPage::new()?, GFP_KERNEL)?)
    }

    fn call(&self, call: &SbiCall) -> Result<SbiRet> {
        // SAFETY: The backend passes only addresses of `SharedPage`s it keeps until the call
        // returns (COVH output and descriptor buffers are not used after the call).
        let ret = unsafe { kernel::tsm::sbi::ecall(call.eid, call.fid, call.args) };
        Ok(SbiRet {
            error: SbiError::from_raw(ret.error),
            value: ret.value,
        })
    }

    fn read_pending(&self, _device_id: u32, _out: &mut [u8]) -> Result {
        Err(EOPNOTSUPP)
    }

    fn write_pending(&self, _device_id: u32, _data: &[u8]) -> Result {
        Err(EOPNOTSUPP)
    }
}

/// The CoVE-IO firmware model of the emulated platform (`emu/cove_io_model.rs`).
#[cfg(CONFIG_TSM_EMU)]
pub(crate) struct ModelFirmware(pub(crate) kernel::sync::Arc<crate::model::Model>);

/// A buffer of the model's memory; returned to the host when dropped.
#[cfg(CONFIG_TSM_EMU)]
struct ModelBuffer {
    model: kernel::sync::Arc<crate::model::Model>,
    addr: u64,
    memory: crate::model::Memory,
}

#[cfg(CONFIG_TSM_EMU)]
impl Buffer for ModelBuffer {
    fn addr(&self) -> u64 {
        self.addr
    }

    fn len(&self) -> usize {
        self.memory.lock().len()
    }

    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        let memory = self.memory.lock();
        let end = offset.checked_add(out.len()).ok_or(EINVAL)?;
        out.copy_from_slice(memory.get(offset..end).ok_or(EINVAL)?);
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result {
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
        self.model.free(self.addr);
    }
}

#[cfg(CONFIG_TSM_EMU)]
impl Firmware for ModelFirmware {
    fn manages(&self, pdev: &pci::Device) -> bool {
        crate::platform_fw::on_platform(pdev)
    }

    fn max_buffer(&self) -> usize {
        crate::model::MAX_BUFFER
    }

    fn alloc(&self, len: usize) -> Result<KBox<dyn Buffer>> {
        let (addr, memory) = self.0.alloc(len)?;
        Ok(KBox::new(
            ModelBuffer {
                model: self.0.clone(),
                addr,
                memory,
            },
            GFP_KERNEL,
        )?)
    }

    fn call(&self, call: &SbiCall) -> Result<SbiRet> {
        let (error, value) = self.0.call(call);
        Ok(SbiRet { error, value })
    }

    fn read_pending(&self, device_id: u32, out: &mut [u8]) -> Result {
        self.0.read_pending(device_id, out)
    }

    fn write_pending(&self, device_id: u32, data: &[u8]) -> Result {
        self.0.write_pending(device_id, data)
    }
}
