// SPDX-License-Identifier: GPL-2.0
//! IDE_KM object parser and the device-side key state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsm_proto::ide_km::{IdeKmResponder, Message};
use tsm_proto::wire::Writer;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        let mut out = vec![0u8; data.len()];
        let mut w = Writer::new(&mut out);
        m.write(&mut w).expect("decoded objects re-encode");
        assert_eq!(Message::decode(w.written()), Ok(m));
    }
    // Feed the input as a sequence of objects split at every 47 bytes
    // (the KEY_PROG size) to walk the responder through states.
    let registers = [0u8; 8];
    let mut port = IdeKmResponder::new(0, 1, 0, &registers);
    let mut out = [0u8; 64];
    for chunk in data.chunks(47) {
        let _ = port.handle(chunk, &mut Writer::new(&mut out));
        let _ = port.stream_keyed();
    }
});
