// SPDX-License-Identifier: GPL-2.0
//! TDISP message and interface report parsers, and the TDISP responder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsm_proto::tdisp::{
    DsmCapabilities, InterfaceId, InterfaceReport, Message, Tdi, TdispResponder,
};
use tsm_proto::wire::Writer;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        // Re-encoding and decoding again is stable.
        let mut out = vec![0u8; data.len() + 64];
        let mut w = Writer::new(&mut out);
        m.write(&mut w).expect("decoded messages re-encode");
        assert_eq!(Message::decode(w.written()), Ok(m));
    }
    if let Ok(report) = InterfaceReport::decode(data) {
        assert!(report.ranges().count() <= data.len() / 16);
    }
    let mut dsm = TdispResponder {
        interface: InterfaceId::new(0x0100, None),
        capabilities: DsmCapabilities {
            dsm_caps: 0,
            req_msgs_supported: [0; 16],
            lock_flags_supported: 0,
            dev_addr_width: 52,
            num_req_this: 1,
            num_req_all: 1,
        },
        report: data,
        max_portion: 32,
        tdi: Tdi::new(),
    };
    let mut out = [0u8; 128];
    for keyed in [false, true] {
        let mut w = Writer::new(&mut out);
        dsm.handle(data, keyed, [1; 32], &mut w)
            .expect("a response always fits 128 bytes");
        assert!(Message::decode(w.written()).is_ok());
    }
});
