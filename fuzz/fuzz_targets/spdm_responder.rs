// SPDX-License-Identifier: GPL-2.0
//! `Responder::process` before the session: the input's header picks a
//! step of the good exchange (GET_VERSION .. KEY_EXCHANGE), the harness
//! replays the exchange up to it with real crypto, and the rest of the
//! input is the DOE request object the device gets instead of the step's
//! request. See `tsm_proto_fuzz` for the input layout.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsm_proto_fuzz::{run_responder, Phase};

fuzz_target!(|data: &[u8]| {
    let _ = run_responder(Phase::Plain, data);
});
