// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `sev_tio`: the SEV-TIO backend's firmware commands against the firmware model of
//! the emulated platform (`../emu/sev_tio_model.rs`), from the same files as `tsm_sev_tio`:
//! platform bring-up, command encoding and the status of every malformed command, buffer
//! ownership, addresses the firmware no longer knows after a buffer is returned, the errno of
//! each PSP status, and an injected failure in each command of bring-up.
//!
//! What needs a device (the DOE relay of TIO_DEV_CONNECT and the commands after it, and the
//! rollback of each failure there) runs in the e2e suite `tsm_e2e_backends` against the device
//! model, which KUnit's boot does not start.

use kernel::prelude::*;

#[path = "commands.rs"]
mod commands;
#[path = "firmware.rs"]
#[allow(dead_code)]
mod firmware;
#[path = "../emu/fw_job.rs"]
#[allow(dead_code)]
mod fw_job;
#[path = "../emu/sev_tio_model.rs"]
#[allow(dead_code)]
mod model;
#[path = "../emu/platform_fw.rs"]
#[allow(dead_code)]
mod platform_fw;

module! {
    type: SevTioTest,
    name: "sev_tio_test",
    authors: ["tsm-rs developers"],
    description: "KUnit tests of the SEV-TIO backend against its firmware model",
    license: "GPL",
}

struct SevTioTest;

impl kernel::Module for SevTioTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

#[kunit_tests(sev_tio)]
mod tests {
    use super::commands::{encode, platform_init, simple, status_errno, Sizes, COMMAND_MAX};
    use super::firmware::{Buffer, Firmware, ModelFirmware};
    use super::model::{Faults, Model};
    use kernel::prelude::*;
    use tsm_proto::vendor::sev_tio::{cmd, Command, SlaAddr, SpdmCtrl, Status, TIO_STATUS_LEN};

    fn firmware(faults: Faults) -> ModelFirmware {
        ModelFirmware(Model::new(faults).unwrap())
    }

    fn initialised() -> ModelFirmware {
        let fw = firmware(Faults::default());
        platform_init(&fw).unwrap();
        fw
    }

    /// Issues `command` and returns the firmware's status.
    fn issue(fw: &dyn Firmware, command: &Command) -> Status {
        let mut buf = [0u8; COMMAND_MAX];
        let len = encode(command, &mut buf).unwrap();
        fw.command(command.id(), &mut buf[..len]).unwrap()
    }

    fn status_paddr(buffer: &dyn Buffer) -> u64 {
        buffer.sla().pfn << 12
    }

    fn ctrl(fw: &dyn Firmware) -> (SpdmCtrl, KVec<KBox<dyn Buffer>>) {
        let req = fw.alloc(0x1000, true).unwrap();
        let resp = fw.alloc(0x1000, false).unwrap();
        let scratch = fw.alloc(0x1000, true).unwrap();
        let output = fw.alloc(0x1000, true).unwrap();
        let ctrl = SpdmCtrl {
            req: req.sla(),
            resp: resp.sla(),
            scratch: scratch.sla(),
            output: output.sla(),
        };
        let mut kept = KVec::new();
        for b in [req, resp, scratch, output] {
            kept.push(b, GFP_KERNEL).unwrap();
        }
        (ctrl, kept)
    }

    #[test]
    fn bring_up_reads_the_sizes_and_initialises_once() {
        let fw = firmware(Faults::default());
        let sizes = platform_init(&fw).unwrap();
        let expected = Sizes {
            spdm: 0x1000,
            output: 0x1000,
            output_max: 0x20000,
            devctx: 0x1000,
            tdictx: 0x1000,
        };
        assert_eq!(sizes, expected);
        // Initialised: the second bring-up does not issue TIO_INIT, which would now fail.
        assert_eq!(platform_init(&fw), Ok(expected));
        assert_eq!(issue(&fw, &Command::Init), Status::InvalidPlatformState);
        assert_eq!(simple(&fw, &Command::Init), Err(EIO));
    }

    #[test]
    fn device_commands_need_tio_init() {
        let fw = firmware(Faults::default());
        let ctx = fw.alloc(0x1000, true).unwrap();
        let reclaim = Command::DevReclaim { dev_ctx: ctx.sla() };
        assert_eq!(issue(&fw, &reclaim), Status::InvalidPlatformState);
        platform_init(&fw).unwrap();
        assert_eq!(issue(&fw, &reclaim), Status::InvalidDevCtx);
    }

    #[test]
    fn malformed_command_buffers() {
        let fw = initialised();
        let page = fw.alloc(0x1000, false).unwrap();
        let command = Command::Status {
            status_paddr: status_paddr(&*page),
        };
        let mut buf = [0u8; COMMAND_MAX];
        let len = encode(&command, &mut buf).unwrap();
        assert_eq!(
            fw.command(cmd::TIO_STATUS, &mut buf[..len]),
            Ok(Status::Success)
        );
        // The length field must be the buffer's length.
        let length = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        buf[..4].copy_from_slice(&(length + 4).to_le_bytes());
        assert_eq!(
            fw.command(cmd::TIO_STATUS, &mut buf[..len]),
            Ok(Status::InvalidLen)
        );
        buf[..4].copy_from_slice(&length.to_le_bytes());
        assert_eq!(
            fw.command(cmd::TIO_STATUS, &mut buf[..len - 1]),
            Ok(Status::InvalidLen)
        );
        // TIO_ROLL_KEY is not modelled; 0xFF is no command.
        assert_eq!(
            fw.command(cmd::TIO_ROLL_KEY, &mut buf[..len]),
            Ok(Status::InvalidCommand)
        );
        assert_eq!(
            fw.command(0xff, &mut buf[..len]),
            Ok(Status::InvalidCommand)
        );
    }

    #[test]
    fn addresses_and_owners_are_checked() {
        let fw = initialised();
        let host = fw.alloc(0x1000, false).unwrap();
        let owned = fw.alloc(0x1000, true).unwrap();
        let status = |paddr| Command::Status {
            status_paddr: paddr,
        };
        assert_eq!(
            issue(&fw, &status(status_paddr(&*host) + 8)),
            Status::InvalidAddress
        );
        assert_eq!(issue(&fw, &status(0x1000)), Status::InvalidAddress);
        // The status page is the host's, a context the firmware's.
        assert_eq!(
            issue(&fw, &status(status_paddr(&*owned))),
            Status::InvalidPageOwner
        );
        let create = |dev_ctx: SlaAddr| Command::DevCreate {
            dev_ctx,
            device_id: 0x0100,
            root_port_id: 0x08,
            segment: 0,
        };
        assert_eq!(issue(&fw, &create(host.sla())), Status::InvalidPageOwner);
        let mut two_meg = owned.sla();
        two_meg.page_2m = true;
        assert_eq!(issue(&fw, &create(two_meg)), Status::InvalidParam);
        // No device of the emulated platform exists in this boot.
        assert_eq!(issue(&fw, &create(owned.sla())), Status::InvalidParam);
        let (spdm_ctrl, _buffers) = ctrl(&fw);
        let connect = |tc_mask, ide_stream_id: [u8; 8]| Command::DevConnect {
            spdm_ctrl,
            dev_ctx: owned.sla(),
            tc_mask,
            cert_slot: 0,
            ide_stream_id,
        };
        assert_eq!(issue(&fw, &connect(0, [0; 8])), Status::InvalidParam);
        assert_eq!(issue(&fw, &connect(1, [u8::MAX; 8])), Status::InvalidParam);
        assert_eq!(issue(&fw, &connect(1, [0; 8])), Status::InvalidDevCtx);
        // The request buffer is the firmware's, the response buffer the host's.
        let mut swapped = spdm_ctrl;
        core::mem::swap(&mut swapped.req, &mut swapped.resp);
        let certificates = Command::DevCertificates {
            spdm_ctrl: swapped,
            dev_ctx: owned.sla(),
        };
        assert_eq!(issue(&fw, &certificates), Status::InvalidPageOwner);
    }

    #[test]
    fn a_returned_buffer_is_unknown_to_the_firmware() {
        let fw = initialised();
        let page = fw.alloc(0x1000, false).unwrap();
        let paddr = status_paddr(&*page);
        assert_eq!(
            issue(
                &fw,
                &Command::Status {
                    status_paddr: paddr
                }
            ),
            Status::Success
        );
        drop(page);
        assert_eq!(
            issue(
                &fw,
                &Command::Status {
                    status_paddr: paddr
                }
            ),
            Status::InvalidAddress
        );
    }

    #[test]
    fn the_host_writes_only_its_own_buffers() {
        let fw = initialised();
        let mut host = fw.alloc(0x1000, false).unwrap();
        let mut owned = fw.alloc(0x1000, true).unwrap();
        assert_eq!(owned.write(0, b"host"), Err(EPERM));
        assert_eq!(host.write(0x1000 - 2, b"host"), Err(EINVAL));
        host.write(0x10, b"host").unwrap();
        let mut back = [0u8; 4];
        host.read(0x10, &mut back).unwrap();
        assert_eq!(&back, b"host");
        // What the firmware wrote the host reads: TIO_STATUS's length field.
        issue(
            &fw,
            &Command::Status {
                status_paddr: status_paddr(&*host),
            },
        );
        host.read(0, &mut back).unwrap();
        assert_eq!(u32::from_le_bytes(back) as usize, TIO_STATUS_LEN);
    }

    #[test]
    fn an_injected_status_fails_bring_up() {
        let faults = |command, status| Faults {
            command,
            status,
            ..Faults::default()
        };
        let fw = firmware(faults(cmd::TIO_INIT, 0x35));
        assert_eq!(platform_init(&fw), Err(EIO));
        let fw = firmware(faults(cmd::TIO_STATUS, 0x17));
        assert_eq!(platform_init(&fw), Err(ENOSPC));
        // The fault names one command: the others go through.
        let fw = firmware(faults(cmd::TIO_DEV_CREATE, 0x35));
        assert!(platform_init(&fw).is_ok());
    }

    #[test]
    fn status_to_errno() {
        let cases = [
            (0x04, EINVAL),
            (0x11, EINVAL),
            (0x16, EINVAL),
            (0x17, ENOSPC),
            (0x3A, EBUSY),
            (0x3B, EBUSY),
            (0x33, EIO),
            (0x35, EIO),
            (0x36, EIO),
            (0x1C, EIO),
        ];
        for (raw, errno) in cases {
            assert_eq!(status_errno(Status::from_raw(raw)), errno);
        }
    }
}
