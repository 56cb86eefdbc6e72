// SPDX-License-Identifier: GPL-2.0
//! `Requester::response` before the session: the input's header picks a
//! step of the good exchange (GET_VERSION .. KEY_EXCHANGE), the harness
//! replays the exchange up to it with real crypto, the requester sends the
//! step's request, and the rest of the input is the answer it gets.
//! See `tsm_proto_fuzz` for the input layout.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsm_proto_fuzz::{run_requester, Phase};

fuzz_target!(|data: &[u8]| {
    let _ = run_requester(Phase::Plain, data);
});
