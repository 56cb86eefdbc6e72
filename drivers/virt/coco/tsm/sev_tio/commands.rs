// SPDX-License-Identifier: GPL-2.0

//! The SEV-TIO commands that need no device: platform bring-up and one-shot commands, with the
//! PSP status mapped to an errno. Shared by the backend and its KUnit suite.

use crate::firmware::Firmware;
use kernel::prelude::*;
use tsm_proto::{
    vendor::sev_tio::{Command, Status, TioStatus, TIO_STATUS_INIT_DONE, TIO_STATUS_LEN},
    wire,
};

/// The largest command buffer (TIO_DEV_CONNECT and TIO_DEV_MEASUREMENTS, 80 bytes).
pub(crate) const COMMAND_MAX: usize = 80;

/// Buffer sizes the firmware asked for in TIO_STATUS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sizes {
    /// Request, response and scratch buffers.
    pub(crate) spdm: usize,
    /// The output buffer, at first.
    pub(crate) output: usize,
    /// The largest output buffer the firmware may ask for.
    pub(crate) output_max: usize,
    /// A device context.
    pub(crate) devctx: usize,
    /// A TDI context.
    pub(crate) tdictx: usize,
}

/// PSP status as an errno: the firmware refused (`EIO`), except for what the host did wrong.
pub(crate) fn status_errno(status: Status) -> Error {
    match status {
        Status::Success => EINVAL,
        Status::InvalidLen | Status::InvalidParam | Status::InvalidCommand => EINVAL,
        Status::ResourceLimit => ENOSPC,
        Status::InvalidDevState | Status::InUse => EBUSY,
        _ => EIO,
    }
}

/// `command` encoded into `buf`; its length.
pub(crate) fn encode(command: &Command, buf: &mut [u8; COMMAND_MAX]) -> Result<usize> {
    wire::encode_into(buf, |w| command.write(w)).map_err(|_| EINVAL)
}

/// Issues `command` once and checks for success.
pub(crate) fn simple(fw: &dyn Firmware, command: &Command) -> Result {
    let mut buf = [0u8; COMMAND_MAX];
    let len = encode(command, &mut buf)?;
    match fw.command(command.id(), &mut buf[..len])? {
        Status::Success => Ok(()),
        status => {
            pr_warn!(
                "SEV-TIO command {:#x}: status {:#x}\n",
                command.id(),
                status.raw()
            );
            Err(status_errno(status))
        }
    }
}

/// TIO_STATUS, TIO_INIT if not done, TIO_STATUS again (7.3 `sev_tio_init_locked()`).
pub(crate) fn platform_init(fw: &dyn Firmware) -> Result<Sizes> {
    let page = fw.alloc(0x1000, false)?;
    let status_paddr = page.sla().pfn << 12;
    let read = |fw: &dyn Firmware| -> Result<TioStatus> {
        simple(fw, &Command::Status { status_paddr })?;
        let mut raw = [0u8; TIO_STATUS_LEN];
        page.read(0, &mut raw)?;
        TioStatus::decode(&raw).map_err(|_| EPROTO)
    };
    let mut status = read(fw)?;
    if status.flags & TIO_STATUS_INIT_DONE == 0 {
        simple(fw, &Command::Init)?;
        status = read(fw)?;
    }
    if status.flags & TIO_STATUS_INIT_DONE == 0 {
        return Err(ENODEV);
    }
    // CAST: u32 sizes fit usize.
    let size = |v: u32| v as usize;
    Ok(Sizes {
        spdm: size(status.spdm_req_size_min.max(status.spdm_rsp_size_min))
            .max(size(status.spdm_scratch_size_min)),
        output: size(status.spdm_out_size_min),
        output_max: size(status.spdm_out_size_max),
        devctx: size(status.devctx_size),
        tdictx: size(status.tdictx_size),
    })
}
