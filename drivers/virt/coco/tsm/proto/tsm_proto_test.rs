// SPDX-License-Identifier: GPL-2.0

//! KUnit cases of the `tsm_proto` crate (`rust/proto`) as the kernel builds it: the same source
//! the host tests and fuzzers use, linked into the kernel and used by this module like any
//! other crate.

use kernel::prelude::*;

module! {
    type: ProtoTest,
    name: "tsm_proto_test",
    authors: ["tsm-rs developers"],
    description: "KUnit tests of rust/proto compiled into the kernel",
    license: "GPL",
}

struct ProtoTest;

impl kernel::Module for ProtoTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

#[kunit_tests(tsm_proto)]
mod tests {
    use tsm_proto::{doe, spdm::msg, wire};

    /// GET_VERSION (DSP0274 table "GET_VERSION request message format") in a DOE object of the
    /// PCI-SIG CMA type (PCIe r6.1 section 6.31.3).
    const GET_VERSION_OBJECT: [u8; 12] = [
        0x01, 0x00, 0x01, 0x00, // vendor 0x0001 (PCI-SIG), type 1 (CMA)
        0x03, 0x00, 0x00, 0x00, // length: 3 dwords
        0x10, 0x84, 0x00, 0x00, // SPDM 1.0, GET_VERSION, param1, param2
    ];

    #[test]
    fn doe_object_round_trip() -> Result<(), wire::Error> {
        let (header, payload) = doe::decode_object(&GET_VERSION_OBJECT)?;
        assert_eq!(header.vendor_id, 0x0001);
        assert_eq!(header.object_type, 1);
        assert_eq!(header.len_bytes(), 12);
        let mut r = wire::Reader::new(payload);
        msg::GetVersion::read(&mut r)?;

        let mut out = [0u8; 12];
        let mut w = wire::Writer::new(&mut out);
        doe::Header::for_payload(0x0001, 1, 4)?.write(&mut w)?;
        msg::GetVersion.write(&mut w)?;
        assert_eq!(out, GET_VERSION_OBJECT);
        Ok(())
    }

    #[test]
    fn untrusted_lengths_are_refused() {
        // Length 1 dword is below the header size; a truncated object is refused too.
        let mut bad = GET_VERSION_OBJECT;
        bad[4] = 1;
        assert!(doe::decode_object(&bad).is_err());
        assert!(doe::decode_object(&GET_VERSION_OBJECT[..10]).is_err());
    }

    #[test]
    fn version_response_lists_versions() -> Result<(), wire::Error> {
        // VERSION with entries 1.1 and 1.2 (DSP0274 "Successful VERSION response").
        let bytes = [0x10, 0x04, 0x00, 0x00, 0x00, 0x02, 0x00, 0x11, 0x00, 0x12];
        let version = msg::Version::read(&mut wire::Reader::new(&bytes))?;
        let mut seen = [0u8; 2];
        for (slot, v) in seen.iter_mut().zip(version.versions()) {
            *slot = v;
        }
        assert_eq!(seen, [0x11, 0x12]);
        Ok(())
    }

    /// The TDI state machine the device model enforces (TDISP: CONFIG_UNLOCKED -> LOCK ->
    /// CONFIG_LOCKED -> START with the lock's nonce -> RUN; STOP from anywhere; an asynchronous
    /// fault of a locked or running TDI -> ERROR).
    #[test]
    fn tdi_state_machine() {
        use tsm_proto::tdisp::{error_code, Tdi, TdiState};
        let nonce = [0x5a; 32];
        let mut tdi = Tdi::new();
        assert_eq!(tdi.state(), TdiState::ConfigUnlocked);
        // Neither a report nor a start before the lock; no lock without a keyed IDE stream.
        assert_eq!(
            tdi.report_allowed(),
            Err(error_code::INVALID_INTERFACE_STATE)
        );
        assert_eq!(tdi.start(&nonce), Err(error_code::INVALID_INTERFACE_STATE));
        assert_eq!(tdi.lock(false, nonce), Err(error_code::INVALID_REQUEST));
        assert_eq!(tdi.lock(true, nonce), Ok(()));
        assert_eq!(tdi.state(), TdiState::ConfigLocked);
        assert_eq!(tdi.report_allowed(), Ok(()));
        assert_eq!(
            tdi.lock(true, nonce),
            Err(error_code::INVALID_INTERFACE_STATE)
        );
        // Only the lock's nonce starts it.
        assert_eq!(tdi.start(&[0; 32]), Err(error_code::INVALID_NONCE));
        assert_eq!(tdi.start(&nonce), Ok(()));
        assert_eq!(tdi.state(), TdiState::Run);
        assert_eq!(tdi.start(&nonce), Err(error_code::INVALID_INTERFACE_STATE));
        // A fault while running: ERROR until STOP.
        tdi.fault();
        assert_eq!(tdi.state(), TdiState::Error);
        assert_eq!(
            tdi.report_allowed(),
            Err(error_code::INVALID_INTERFACE_STATE)
        );
        tdi.stop();
        assert_eq!(tdi.state(), TdiState::ConfigUnlocked);
        // A fault of an unlocked TDI changes nothing; the old nonce is gone after STOP.
        tdi.fault();
        assert_eq!(tdi.state(), TdiState::ConfigUnlocked);
        assert_eq!(tdi.lock(true, [1; 32]), Ok(()));
        assert_eq!(tdi.start(&nonce), Err(error_code::INVALID_NONCE));
    }
}
