// SPDX-License-Identifier: GPL-2.0
//! `Responder::process` in the session: the harness replays the good
//! exchange with real crypto through KEY_EXCHANGE and on to the chosen
//! step, and the requester seals the step's request (which the device
//! never sees). In sealed mode the rest of the input is up to four
//! plaintext requests (each after a little-endian u16 length), sealed in
//! turn with the requester's keys from that record on; otherwise it is
//! one raw DOE object. See `tsm_proto_fuzz` for the input layout.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsm_proto_fuzz::{run_responder, Phase};

fuzz_target!(|data: &[u8]| {
    let _ = run_responder(Phase::Session, data);
});
