// SPDX-License-Identifier: GPL-2.0
//! Writes the seed corpus of the SPDM state-machine fuzz targets: the real
//! DOE objects (and record plaintexts) of a good requester <-> responder
//! exchange, one file per chosen step, each behind the input header that
//! replays the exchange up to that step. Deterministic: running it again
//! writes the same bytes.
//!
//! `cargo run --example make_corpus -- [DIR]` (DIR defaults to `corpus`);
//! `scripts/fuzz --make-corpus` runs it. Files it writes are named
//! `seed-*`; old `seed-*` files of the four targets are removed first, any
//! other file is left alone.

use std::fs;
use std::path::{Path, PathBuf};

use tsm_proto_fuzz::{
    join_messages, run_requester, sealed_messages, run_responder, with_harness, Header, Phase, Step, MODE_SEALED,
    SCRIPT, TdispStep,
};

/// Session steps worth a seed (the other IDE_KM key slots only repeat).
fn session_seed_steps() -> impl Iterator<Item = usize> {
    Phase::Session.steps().filter(|&i| match SCRIPT[i] {
        Step::IdeKeyProg(n) | Step::IdeGo(n) => n == 0,
        Step::Tdisp(TdispStep::State) => false,
        _ => true,
    })
}

/// Short name of a script step for file names.
fn step_name(i: usize) -> String {
    match SCRIPT[i] {
        Step::Spdm(req) => {
            let name = format!("{req:?}");
            let name = name.split([' ', '(']).next().unwrap_or("spdm");
            name.to_lowercase()
        }
        Step::IdeQuery => "ide-query".into(),
        Step::IdeKeyProg(n) => format!("ide-key-prog-{n}"),
        Step::IdeGo(n) => format!("ide-k-set-go-{n}"),
        Step::Tdisp(t) => format!("tdisp-{t:?}").to_lowercase(),
    }
}

#[derive(Clone, Copy)]
enum Target {
    Requester(Phase),
    Responder(Phase),
}

struct Writer {
    dir: PathBuf,
    files: usize,
    bytes: usize,
}

impl Writer {
    fn target(&self, target: &str) -> PathBuf {
        let dir = self.dir.join(target);
        fs::create_dir_all(&dir).expect("corpus directory");
        for entry in fs::read_dir(&dir).expect("corpus directory").flatten() {
            if entry.file_name().to_string_lossy().starts_with("seed-") {
                fs::remove_file(entry.path()).expect("old seed");
            }
        }
        dir
    }

    /// Writes one seed after checking that the target accepts it, i.e.
    /// that replaying it reproduces the recorded exchange.
    fn write(&mut self, dir: &Path, target: Target, step: usize, mode: u8, body: &[u8]) {
        let (phase, run): (Phase, fn(Phase, &[u8]) -> Option<bool>) = match target {
            Target::Requester(phase) => (phase, run_requester),
            Target::Responder(phase) => (phase, run_responder),
        };
        let mut data = Header::bytes(phase, step, mode, 0).to_vec();
        data.extend_from_slice(body);
        assert_eq!(
            run(phase, &data),
            Some(true),
            "seed of step {step} mode {mode:#x} does not replay"
        );
        let name = format!("{step:02}-m{mode:02x}-{}", step_name(step));
        fs::write(dir.join(format!("seed-{name}")), &data).expect("seed file");
        self.files += 1;
        self.bytes += data.len();
    }
}

/// Requester seeds: the device's real answer at `step`, raw, or (sealed
/// mode) its plaintext.
fn requester_seed(phase: Phase, step: usize, mode: u8) -> Vec<u8> {
    with_harness(0, mode, |h| {
        h.replay_to(step);
        let len = h.send(step).expect("good request");
        let rsp = h.deliver(len).expect("good answer");
        if mode & MODE_SEALED != 0 {
            let (_, plain) = h.response_keys().expect("a sealed answer");
            assert_eq!(phase, Phase::Session);
            plain
        } else {
            h.response[..rsp].to_vec()
        }
    })
}

/// Responder seeds: the requester's real request at `step`, raw, or
/// (sealed mode) the plaintexts of it and the next two steps (FINISH
/// alone: the keys change after it).
fn responder_seed(step: usize, mode: u8) -> Vec<u8> {
    with_harness(0, mode, |h| {
        h.replay_to(step);
        if mode & MODE_SEALED == 0 {
            let len = h.send(step).expect("good request");
            return h.request[..len].to_vec();
        }
        let mut plains = Vec::new();
        let count = sealed_messages(step).min(3);
        for i in step..(step + count).min(SCRIPT.len()) {
            let len = h.send(i).expect("good request");
            let (_, plain) = h.request_keys().expect("a sealed request");
            plains.push(plain);
            let rsp = h.deliver(len).expect("good answer");
            h.receive(rsp).expect("good answer accepted");
        }
        join_messages(plains.iter().map(Vec::as_slice))
    })
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "corpus".into());
    let mut w = Writer {
        dir: PathBuf::from(dir),
        files: 0,
        bytes: 0,
    };
    // Version mode 1 (SPDM 1.2, secured 1.1) adds a second dialect of the
    // negotiation steps; mode 0 offers everything.
    let plain_modes = |step: usize| if step <= 2 { vec![0u8, 1 << 2] } else { vec![0] };

    let dir = w.target("spdm_requester");
    for step in Phase::Plain.steps() {
        for mode in plain_modes(step) {
            let seed = requester_seed(Phase::Plain, step, mode);
            w.write(&dir, Target::Requester(Phase::Plain), step, mode, &seed);
        }
    }
    let dir = w.target("spdm_responder");
    for step in Phase::Plain.steps() {
        for mode in plain_modes(step) {
            let seed = responder_seed(step, mode);
            w.write(&dir, Target::Responder(Phase::Plain), step, mode, &seed);
        }
    }
    let first = Phase::Session.steps().start;
    let last = Phase::Session.steps().end - 1;
    let dir = w.target("spdm_requester_session");
    for step in session_seed_steps() {
        let mut modes = vec![MODE_SEALED];
        if step == first || step == last {
            modes.push(0);
        }
        for mode in modes {
            let seed = requester_seed(Phase::Session, step, mode);
            w.write(&dir, Target::Requester(Phase::Session), step, mode, &seed);
        }
    }
    let dir = w.target("spdm_responder_session");
    for step in session_seed_steps() {
        let mut modes = vec![MODE_SEALED];
        if step == first || step == last {
            modes.push(0);
        }
        for mode in modes {
            let seed = responder_seed(step, mode);
            w.write(&dir, Target::Responder(Phase::Session), step, mode, &seed);
        }
    }
    println!(
        "wrote {} seed files ({} bytes) under {}",
        w.files,
        w.bytes,
        w.dir.display()
    );
}
