// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `cove_io`: the CoVE-IO backend's COVH calls against the firmware model of the
//! emulated platform (`../emu/cove_io_model.rs`), from the same files as `tsm_cove_io`: the
//! functions the model executes and those it does not, the SBI error of every malformed call
//! (output buffers, IDE stream descriptors, device IDs, interface regions), addresses the model
//! no longer knows after a buffer is returned, injected failures, and the errno of each SBI
//! error.
//!
//! What needs a device (the relay of connect_device, disconnect_device, bind_interface and
//! unbind_interface through the pending buffer, wrong states, and the rollback of each failure
//! there) runs in the e2e suite `tsm_e2e_backends` against the device model, which KUnit's
//! boot does not start.

use kernel::prelude::*;

#[path = "firmware.rs"]
#[allow(dead_code)]
mod firmware;
#[path = "../emu/fw_job.rs"]
#[allow(dead_code)]
mod fw_job;
#[path = "../emu/cove_io_model.rs"]
#[allow(dead_code)]
mod model;
#[path = "../emu/platform_fw.rs"]
#[allow(dead_code)]
mod platform_fw;

module! {
    type: CoveIoTest,
    name: "cove_io_test",
    authors: ["tsm-rs developers"],
    description: "KUnit tests of the CoVE-IO backend against its firmware model",
    license: "GPL",
}

struct CoveIoTest;

impl kernel::Module for CoveIoTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

#[kunit_tests(cove_io)]
mod tests {
    use super::firmware::{sbi_errno, Buffer, Firmware, ModelFirmware};
    use super::model::{Faults, Model, MAX_BUFFER};
    use kernel::prelude::*;
    use tsm_proto::{
        vendor::cove_io::{
            covh, device_id, IdeStreamDesc, SbiCall, SbiError, EID_COVG, SPDM_REQUEST_COMPLETED,
        },
        wire,
    };

    fn firmware(faults: Faults) -> ModelFirmware {
        ModelFirmware(Model::new(faults).unwrap())
    }

    /// Issues `call` and returns its error; no call here gets as far as a relay.
    fn issue(fw: &dyn Firmware, call: &SbiCall) -> SbiError {
        let ret = fw.call(call).unwrap();
        assert_eq!(ret.value, SPDM_REQUEST_COMPLETED);
        ret.error
    }

    /// An IDE stream descriptor of Stream ID 0 for RID 01:00.0 in a buffer of the model.
    fn descriptor(fw: &dyn Firmware, rid_assoc_2: u32) -> KBox<dyn Buffer> {
        let desc = IdeStreamDesc {
            stream_id: 0,
            rid_assoc_1: 0x0107 << 8,
            rid_assoc_2,
            addr_assoc: &[],
        };
        let mut raw = [0u8; 12];
        wire::encode_into(&mut raw, |w| desc.write(w)).unwrap();
        let mut buffer = fw.alloc(raw.len()).unwrap();
        buffer.write(0, &raw).unwrap();
        buffer
    }

    const VALID: u32 = (0x0100 << 8) | 1;
    /// A device of the emulated platform's first domain, which this boot does not create.
    const ABSENT: u64 = 0x0000_0100;

    #[test]
    fn only_the_modelled_functions_execute() {
        let fw = firmware(Faults::default());
        let mut guest = SbiCall::disconnect_device(ABSENT);
        guest.eid = EID_COVG;
        assert_eq!(issue(&fw, &guest), SbiError::NotSupported);
        // Key update and refresh, heartbeat; the unused 1029; then no function.
        let unmodelled = covh::SPDM_KEY_UPDATE..=covh::SPDM_HEARTBEAT;
        for fid in Iterator::chain(unmodelled, [0, 1029, 1035]) {
            let call = SbiCall::device_only(fid, ABSENT);
            assert_eq!(issue(&fw, &call), SbiError::NotSupported);
        }
        // The modelled ones get as far as the device.
        let disconnect = SbiCall::disconnect_device(ABSENT);
        assert_eq!(issue(&fw, &disconnect), SbiError::InvalidParam);
    }

    #[test]
    fn output_buffers_are_checked() {
        let fw = firmware(Faults::default());
        let desc = descriptor(&fw, VALID);
        let out = fw.alloc(0x2000).unwrap();
        let connect = |out, size| SbiCall::connect_device(ABSENT, desc.addr(), out, size);
        // Not 4 KiB aligned, not handed out, beyond the buffer.
        assert_eq!(
            issue(&fw, &connect(out.addr() + 8, 0x1000)),
            SbiError::InvalidAddress
        );
        assert_eq!(
            issue(&fw, &connect(0x1000, 0x1000)),
            SbiError::InvalidAddress
        );
        assert_eq!(
            issue(&fw, &connect(out.addr(), 0x3000)),
            SbiError::InvalidParam
        );
        let transcript = |out| SbiCall::get_connection_transcript(ABSENT, out, 0x1000);
        assert_eq!(
            issue(&fw, &transcript(out.addr() + 0x10)),
            SbiError::InvalidAddress
        );
        // A buffer given back is no longer known.
        let addr = out.addr();
        drop(out);
        assert_eq!(issue(&fw, &connect(addr, 0x1000)), SbiError::InvalidAddress);
        assert_eq!(issue(&fw, &transcript(addr)), SbiError::InvalidAddress);
    }

    #[test]
    fn descriptors_and_devices_are_checked() {
        let fw = firmware(Faults::default());
        let out = fw.alloc(0x1000).unwrap();
        let connect = |device, desc| SbiCall::connect_device(device, desc, out.addr(), 0x1000);
        // RID association not valid; a descriptor address not handed out.
        let invalid = descriptor(&fw, VALID & !1);
        assert_eq!(
            issue(&fw, &connect(ABSENT, invalid.addr())),
            SbiError::InvalidParam
        );
        assert_eq!(
            issue(&fw, &connect(ABSENT, 0x2000)),
            SbiError::InvalidAddress
        );
        // Reserved bytes not zero; more address blocks than the buffer holds.
        let mut reserved = descriptor(&fw, VALID);
        reserved.write(2, &[1]).unwrap();
        assert_eq!(
            issue(&fw, &connect(ABSENT, reserved.addr())),
            SbiError::InvalidParam
        );
        let mut blocks = descriptor(&fw, VALID);
        blocks.write(1, &[2]).unwrap();
        assert_eq!(
            issue(&fw, &connect(ABSENT, blocks.addr())),
            SbiError::InvalidParam
        );
        // A well-formed call for a device the platform does not have, or no device ID at all.
        let desc = descriptor(&fw, VALID);
        assert_eq!(
            issue(&fw, &connect(ABSENT, desc.addr())),
            SbiError::InvalidParam
        );
        let too_wide = u64::from(u32::MAX) + 1;
        assert_eq!(
            issue(&fw, &connect(too_wide, desc.addr())),
            SbiError::InvalidParam
        );
        let transcript = SbiCall::get_connection_transcript(ABSENT, out.addr(), 0x1000);
        assert_eq!(issue(&fw, &transcript), SbiError::InvalidParam);
        assert_eq!(device_id(0x1_0000, 0x0100), ABSENT as u32);
    }

    #[test]
    fn interface_calls_are_checked() {
        let fw = firmware(Faults::default());
        let region = |add, tvm, base, len| {
            issue(&fw, &SbiCall::interface_region(add, tvm, ABSENT, base, len))
        };
        // No TVM, a base or length that is not whole pages, a range that wraps.
        assert_eq!(region(true, 0, 0x1000, 0x1000), SbiError::InvalidParam);
        assert_eq!(region(true, 1, 0x1800, 0x1000), SbiError::InvalidAddress);
        assert_eq!(region(true, 1, 0x1000, 0x800), SbiError::InvalidParam);
        assert_eq!(region(true, 1, 0x1000, 0), SbiError::InvalidParam);
        assert_eq!(region(true, 1, !0xfff, 0x2000), SbiError::BadRange);
        // Well formed, for a function the platform does not have; an interface ID too wide.
        assert_eq!(region(true, 1, 0x1000, 0x1000), SbiError::InvalidParam);
        let wide = SbiCall::interface_region(true, 1, u64::from(u32::MAX) + 1, 0x1000, 0x1000);
        assert_eq!(issue(&fw, &wide), SbiError::InvalidParam);
        // Nothing was given: nothing to reclaim, bind or unbind.
        assert_eq!(region(false, 1, 0x1000, 0x1000), SbiError::InvalidParam);
        assert_eq!(
            issue(&fw, &SbiCall::bind_interface(1, ABSENT)),
            SbiError::InvalidParam
        );
        assert_eq!(
            issue(&fw, &SbiCall::bind_interface(0, ABSENT)),
            SbiError::InvalidParam
        );
        assert_eq!(
            issue(&fw, &SbiCall::unbind_interface(1, ABSENT)),
            SbiError::InvalidParam
        );
    }

    #[test]
    fn a_fault_fails_its_function_once() {
        let faults = Faults {
            fid: covh::DISCONNECT_DEVICE,
            error: SbiError::Denied.raw(),
            ..Faults::default()
        };
        let fw = firmware(faults);
        let disconnect = SbiCall::disconnect_device(ABSENT);
        let out = fw.alloc(0x1000).unwrap();
        let transcript = SbiCall::get_connection_transcript(ABSENT, out.addr(), 0x1000);
        assert_eq!(issue(&fw, &transcript), SbiError::InvalidParam);
        assert_eq!(issue(&fw, &disconnect), SbiError::Denied);
        assert_eq!(issue(&fw, &disconnect), SbiError::InvalidParam);
        // An interface function's fault fires before its arguments are looked at.
        let faults = Faults {
            fid: covh::BIND_INTERFACE,
            error: SbiError::Io.raw(),
            ..Faults::default()
        };
        let fw = firmware(faults);
        let bind = SbiCall::bind_interface(0, ABSENT);
        assert_eq!(issue(&fw, &bind), SbiError::Io);
        assert_eq!(issue(&fw, &bind), SbiError::InvalidParam);
    }

    #[test]
    fn pending_buffers_and_memory() {
        let fw = firmware(Faults::default());
        let mut raw = [0u8; 16];
        assert_eq!(fw.read_pending(ABSENT as u32, &mut raw), Err(ENODEV));
        assert_eq!(fw.write_pending(ABSENT as u32, &raw), Err(ENODEV));
        assert_eq!(fw.max_buffer(), MAX_BUFFER);
        assert!(fw.alloc(MAX_BUFFER + 1).is_err());
        let a = fw.alloc(1).unwrap();
        let b = fw.alloc(MAX_BUFFER).unwrap();
        assert_eq!((a.addr() % 0x1000, b.addr() % 0x1000), (0, 0));
        assert_ne!(a.addr(), b.addr());
        assert_eq!((a.len(), b.len()), (1, MAX_BUFFER));
    }

    #[test]
    fn errno_of_each_sbi_error() {
        let expected = [
            (SbiError::Failed, EIO),
            (SbiError::NotSupported, EOPNOTSUPP),
            (SbiError::InvalidParam, EINVAL),
            (SbiError::Denied, EIO),
            (SbiError::InvalidAddress, EINVAL),
            (SbiError::AlreadyAvailable, EBUSY),
            (SbiError::InvalidState, EBUSY),
            (SbiError::BadRange, EINVAL),
            (SbiError::Timeout, ETIMEDOUT),
            (SbiError::NoShmem, ENOMEM),
            (SbiError::Io, EIO),
            (SbiError::Other(-100), EIO),
        ];
        for (error, errno) in expected {
            assert_eq!(sbi_errno(error), errno);
        }
    }
}
