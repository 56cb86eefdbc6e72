// SPDX-License-Identifier: GPL-2.0
//! Writes the seed corpus of the SPDM state-machine fuzz targets: the real
//! DOE objects (and record plaintexts) of a good requester <-> responder
//! exchange, one file per chosen step, each behind the input header that
//! replays the exchange up to that step; and a few real objects of the
//! same exchange for the `spdm_messages`, `doe` and `secured_message`
//! targets. Deterministic: running it again writes the same bytes.
//!
//! `cargo run --example make_corpus -- [DIR]` (DIR defaults to `corpus`);
//! `scripts/fuzz --make-corpus` runs it. Files it writes are named
//! `seed-*`; old `seed-*` files of those targets are removed first, any
//! other file is left alone.

use std::fs;
use std::path::{Path, PathBuf};

use tsm_proto_fuzz::{
    join_messages, run_requester, run_responder, sealed_messages, with_harness, Header, Phase,
    Step, TdispStep, MODE_SEALED, SCRIPT,
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

/// `run_requester` or `run_responder`.
type RunTarget = fn(Phase, &[u8]) -> Option<bool>;

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

    /// Writes one seed of a parser target as it is.
    fn write_raw(&mut self, dir: &Path, name: String, data: &[u8]) {
        fs::write(dir.join(format!("seed-{name}")), data).expect("seed file");
        self.files += 1;
        self.bytes += data.len();
    }

    /// Writes one seed after checking that the target accepts it, i.e.
    /// that replaying it reproduces the recorded exchange.
    fn write(&mut self, dir: &Path, target: Target, step: usize, mode: u8, body: &[u8]) {
        let (phase, run): (Phase, RunTarget) = match target {
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

/// One step of the good exchange as it went over the wire.
struct Recorded {
    request: Vec<u8>,
    response: Vec<u8>,
    /// The SPDM messages: the DOE payloads of plain steps, the record
    /// plaintexts of session steps.
    request_message: Vec<u8>,
    response_message: Vec<u8>,
}

/// Runs the whole good exchange once and records every step.
fn record_exchange() -> Vec<Recorded> {
    with_harness(0, 0, |h| {
        let mut steps = Vec::new();
        for i in 0..SCRIPT.len() {
            let len = h.send(i).expect("good request");
            let request = h.request[..len].to_vec();
            let rsp = h.deliver(len).expect("good answer");
            let response = h.response[..rsp].to_vec();
            let (request_message, response_message) =
                if h.requester.session_id().is_some() && i >= tsm_proto_fuzz::FIRST_SESSION_STEP {
                    let (_, req) = h.request_keys().expect("a sealed request");
                    let (_, rsp) = h.response_keys().expect("a sealed answer");
                    (req, rsp)
                } else {
                    let payload = |o: &[u8]| tsm_proto::doe::decode_object(o).unwrap().1.to_vec();
                    (payload(&request), payload(&response))
                };
            h.receive(rsp).expect("good answer accepted");
            steps.push(Recorded {
                request,
                response,
                request_message,
                response_message,
            });
        }
        steps
    })
}

/// Seeds of the parser targets, which take bare objects: a few real
/// messages of the exchange (no replay header).
fn parser_seeds(w: &mut Writer) {
    let steps = record_exchange();
    let named = |i: usize| format!("{i:02}-{}", step_name(i));
    // SPDM messages: every answer before the session, the requests that
    // carry more than a header, and the FINISH pair and a TDISP exchange
    // from inside the session.
    let dir = w.target("spdm_messages");
    for i in Phase::Plain.steps() {
        w.write_raw(
            &dir,
            format!("{}-rsp", named(i)),
            &steps[i].response_message,
        );
    }
    for i in [1, 2, 6, 7, 8] {
        w.write_raw(&dir, format!("{}-req", named(i)), &steps[i].request_message);
    }
    w.write_raw(
        &dir,
        format!("{}-rsp", named(8)),
        &steps[8].response_message,
    );
    let lock = SCRIPT
        .iter()
        .position(|s| *s == Step::Tdisp(TdispStep::Lock))
        .expect("LOCK in the script");
    w.write_raw(
        &dir,
        format!("{}-rsp", named(lock)),
        &steps[lock].response_message,
    );
    // DOE objects: a plain request, a long plain answer, a secured record.
    let dir = w.target("doe");
    w.write_raw(&dir, format!("{}-req", named(0)), &steps[0].request);
    w.write_raw(&dir, format!("{}-rsp", named(4)), &steps[4].response);
    w.write_raw(&dir, format!("{}-req", named(8)), &steps[8].request);
    // Secured records (the DOE payload of a type 2 object).
    let dir = w.target("secured_message");
    for i in [8, lock] {
        let record = tsm_proto::doe::decode_object(&steps[i].response).unwrap().1;
        w.write_raw(&dir, format!("{}-rsp", named(i)), record);
    }
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "corpus".into());
    let mut w = Writer {
        dir: PathBuf::from(dir),
        files: 0,
        bytes: 0,
    };
    // Version mode 1 (SPDM 1.2, secured 1.1) adds a second dialect of the
    // negotiation steps; mode 0 offers everything (the P-384 suite is
    // chosen), suite mode 1 (bits 5..6) runs every plain step with the
    // P-256 suite.
    let plain_modes = |step: usize| {
        if step <= 2 {
            vec![0u8, 1 << 2, 1 << 5]
        } else {
            vec![0, 1 << 5]
        }
    };

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
        if step == first {
            // FINISH under AES-128-GCM (the P-256 suite with it only).
            modes.push(MODE_SEALED | 2 << 5);
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
        if step == first {
            // FINISH under AES-128-GCM (the P-256 suite with it only).
            modes.push(MODE_SEALED | 2 << 5);
        }
        for mode in modes {
            let seed = responder_seed(step, mode);
            w.write(&dir, Target::Responder(Phase::Session), step, mode, &seed);
        }
    }
    parser_seeds(&mut w);
    println!(
        "wrote {} seed files ({} bytes) under {}",
        w.files,
        w.bytes,
        w.dir.display()
    );
}
