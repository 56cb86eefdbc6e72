// SPDX-License-Identifier: GPL-2.0
//! `Requester::response` in the session: the harness replays the good
//! exchange with real crypto through KEY_EXCHANGE and on to the chosen
//! step (FINISH, measurements, heartbeat, IDE_KM, TDISP, END_SESSION); the
//! requester sends the step's request and the device answers it. In
//! sealed mode the rest of the input is the plaintext answer, sealed with
//! the keys and sequence number the device just used; otherwise it is the
//! raw DOE object. See `tsm_proto_fuzz` for the input layout.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsm_proto_fuzz::{run_requester, Phase};

fuzz_target!(|data: &[u8]| {
    let _ = run_requester(Phase::Session, data);
});
