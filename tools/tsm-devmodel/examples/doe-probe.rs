// SPDX-License-Identifier: GPL-2.0
//! Diagnostic: speaks SPDM to a PCI function through its DOE mailbox from
//! user space, writing the mailbox registers through
//! `/sys/bus/pci/devices/BDF/config` (root, no kernel CMA support needed).
//! Runs DOE discovery, then `rust/proto`'s requester: VERSION .. CERTIFICATE,
//! CHALLENGE, MEASUREMENTS, KEY_EXCHANGE/FINISH, HEARTBEAT, END_SESSION, and
//! prints the time each exchange took.
//!
//! `doe-probe /sys/bus/pci/devices/0000:01:00.0 [ROOT.pem] [CONNECTS]`, or
//! `doe-probe tcp:127.0.0.1:PORT ...` to talk to a model directly. With
//! ROOT.pem the chain must end in that root; CONNECTS repeats the whole flow
//! (each starts with GET_VERSION). The requester side is the host tests'
//! (`tests/common`); mailbox timing goes to stderr, one line per exchange.
//!
//! The kernel must not use the mailbox meanwhile (nothing does once the PCI
//! core's discovery is over, unless a CMA driver is bound).

#[path = "../tests/common/mod.rs"]
mod common;

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use common::Host;
use der::{DecodePem, Encode};
use tsm_devmodel::transport::Framed;

const EXT_CAP_DOE: u32 = 0x2E;
const CTRL: u64 = 0x08;
const STATUS: u64 = 0x0C;
const WRITE_MB: u64 = 0x10;
const READ_MB: u64 = 0x14;
const CTRL_ABORT: u32 = 1 << 0;
const CTRL_GO: u32 = 1 << 31;
const STATUS_BUSY: u32 = 1 << 0;
const STATUS_ERROR: u32 = 1 << 2;
const STATUS_READY: u32 = 1 << 31;
/// Linux' PCI_DOE_TIMEOUT.
const TIMEOUT: Duration = Duration::from_secs(1);

struct Mailbox {
    config: File,
    cap: u64,
}

fn err(msg: String) -> io::Error {
    io::Error::other(msg)
}

impl Mailbox {
    fn open(dev: &str) -> io::Result<Self> {
        let config = OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("{dev}/config"))?;
        let mut mb = Self { config, cap: 0 };
        let mut at = 0x100u64;
        while at != 0 {
            let header = mb.rd(at)?;
            if header & 0xFFFF == EXT_CAP_DOE {
                mb.cap = at;
                return Ok(mb);
            }
            at = u64::from(header >> 20);
        }
        Err(err(format!("{dev}: no DOE extended capability")))
    }

    fn rd(&self, off: u64) -> io::Result<u32> {
        let mut b = [0u8; 4];
        self.config.read_exact_at(&mut b, off)?;
        Ok(u32::from_le_bytes(b))
    }

    fn wr(&self, off: u64, v: u32) -> io::Result<()> {
        self.config.write_all_at(&v.to_le_bytes(), off)
    }

    /// One request object in, one response object out, as Linux'
    /// drivers/pci/doe.c does it (busy check, write, GO, poll, read).
    fn exchange(&self, request: &[u8]) -> io::Result<Vec<u8>> {
        let cap = self.cap;
        if self.rd(cap + STATUS)? & (STATUS_BUSY | STATUS_ERROR) != 0 {
            self.wr(cap + CTRL, CTRL_ABORT)?;
        }
        for dw in request.chunks(4) {
            let mut b = [0u8; 4];
            b[..dw.len()].copy_from_slice(dw);
            self.wr(cap + WRITE_MB, u32::from_le_bytes(b))?;
        }
        let go = Instant::now();
        self.wr(cap + CTRL, CTRL_GO)?;
        let after_go = go.elapsed();
        loop {
            let status = self.rd(cap + STATUS)?;
            if status & STATUS_ERROR != 0 {
                self.wr(cap + CTRL, CTRL_ABORT)?;
                return Err(err("mailbox error (no answer)".into()));
            }
            if status & STATUS_READY != 0 {
                break;
            }
            if go.elapsed() > TIMEOUT {
                // As Linux does: abort, so the next request finds it idle.
                self.wr(cap + CTRL, CTRL_ABORT)?;
                return Err(err("no answer within 1 s".into()));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let ready = go.elapsed();
        let mut out = Vec::new();
        let mut want = 2usize;
        while out.len() / 4 < want {
            let dw = self.rd(cap + READ_MB)?;
            self.wr(cap + READ_MB, 0)?;
            out.extend_from_slice(&dw.to_le_bytes());
            if out.len() == 8 {
                want = match dw & 0x3_FFFF {
                    0 => 1 << 18,
                    n => n as usize,
                };
            }
        }
        eprintln!(
            "doe-probe: {:>5} -> {:>5} bytes: GO write {:>7.1} ms, ready {:>7.1} ms, total {:>7.1} ms",
            request.len(),
            out.len(),
            after_go.as_secs_f64() * 1e3,
            ready.as_secs_f64() * 1e3,
            go.elapsed().as_secs_f64() * 1e3
        );
        Ok(out)
    }
}

/// The spdm-socket framing the test requester writes, turned into mailbox
/// exchanges.
struct DoeStream {
    mb: Mailbox,
    pending: Vec<u8>,
    answer: Vec<u8>,
    /// The certificate chain as received (GET_CERTIFICATE portions).
    chain: Vec<u8>,
}

impl Write for DoeStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= 12 {
            let size = u32::from_be_bytes(self.pending[8..12].try_into().unwrap()) as usize;
            if self.pending.len() >= 12 + size {
                let frame: Vec<u8> = self.pending.drain(..12 + size).collect();
                let answer = match self.mb.exchange(&frame[12..]) {
                    Ok(a) => {
                        // CERTIFICATE: DOE header, then version, code 0x02,
                        // slot, param2, portion length, remainder length.
                        if a.len() >= 16 && a[9] == 0x02 {
                            let n = u16::from_le_bytes([a[12], a[13]]) as usize;
                            if frame[12 + 8 + 4..12 + 8 + 6] == [0, 0] {
                                self.chain.clear();
                            }
                            self.chain.extend_from_slice(&a[16..(16 + n).min(a.len())]);
                        }
                        a
                    }
                    Err(e) => {
                        eprintln!("doe-probe: {e}");
                        Vec::new()
                    }
                };
                self.answer.extend_from_slice(&frame[..8]);
                self.answer
                    .extend_from_slice(&(answer.len() as u32).to_be_bytes());
                self.answer.extend_from_slice(&answer);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for DoeStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.answer.len());
        buf[..n].copy_from_slice(&self.answer[..n]);
        self.answer.drain(..n);
        Ok(n)
    }
}

fn step<T>(what: &str, r: Result<T, common::HostError>) -> bool {
    match r {
        Ok(_) => {
            println!("doe-probe: {what}: ok");
            true
        }
        Err(e) => {
            println!("doe-probe: {what}: FAILED {e:?}");
            false
        }
    }
}

fn run<T: Read + Write>(host: &mut Host<T>, connects: u32) -> bool {
    let mut ok = true;
    for n in 1..=connects {
        let start = Instant::now();
        let good = step(&format!("connect {n}"), host.connect())
            && step("challenge", host.challenge())
            && step("measurements", host.measurements())
            && step("key exchange + finish", host.open_session())
            && step("heartbeat", host.heartbeat())
            && step("end session", host.end_session());
        println!(
            "doe-probe: connect {n}: {} in {:.0} ms",
            if good { "authenticated" } else { "failed" },
            start.elapsed().as_secs_f64() * 1e3
        );
        ok &= good;
    }
    ok
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(dev) = args.get(1) else {
        eprintln!("usage: doe-probe /sys/bus/pci/devices/BDF [ROOT.pem] [CONNECTS]");
        return std::process::ExitCode::FAILURE;
    };
    let root = args.get(2).filter(|p| !p.is_empty()).map(|p| {
        let pem = std::fs::read(p).expect("root certificate");
        x509_cert::Certificate::from_pem(&pem)
            .expect("PEM certificate")
            .to_der()
            .unwrap()
    });
    let connects: u32 = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1);
    let ok = if let Some(addr) = dev.strip_prefix("tcp:") {
        // The model directly, without QEMU (for comparison).
        let stream = std::net::TcpStream::connect(addr).expect("connect");
        run(&mut Host::new(Framed::new(stream), root), connects)
    } else {
        let mb = match Mailbox::open(dev) {
            Ok(mb) => mb,
            Err(e) => {
                eprintln!("doe-probe: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        println!("doe-probe: {dev}: DOE capability at {:#x}", mb.cap);
        // DOE discovery index 0 (QEMU answers it itself).
        match mb.exchange(&[0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0, 0, 0, 0]) {
            Ok(a) => println!("doe-probe: discovery 0 -> {:02x?}", &a[8..]),
            Err(e) => println!("doe-probe: discovery failed: {e}"),
        }
        let stream = DoeStream {
            mb,
            pending: Vec::new(),
            answer: Vec::new(),
            chain: Vec::new(),
        };
        let check = root.clone();
        let mut host = Host::new(Framed::new(stream), root);
        let ok = run(&mut host, connects);
        let chain = &host.link.get_ref().chain;
        println!(
            "doe-probe: received chain ({} bytes) checks: {:?}",
            chain.len(),
            tsm_devmodel::certs::verify_spdm_chain(chain, check.as_deref()).map(|_| ())
        );
        ok
    };
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
