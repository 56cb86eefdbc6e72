// SPDX-License-Identifier: GPL-2.0
//! The `tsm-devmodel` binary: help, gen-certs, and serve over a loopback
//! port, stdio and a file opened with --device.

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::Host;
use der::{DecodePem, Encode};
use tsm_devmodel::transport::{Frame, Framed, Transport};
use tsm_proto::doe;
use x509_cert::Certificate;

const BIN: &str = env!("CARGO_BIN_EXE_tsm-devmodel");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tsm-devmodel-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits for the child to exit (bounded), killing it on timeout.
fn wait(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("tsm-devmodel did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn help_lists_commands_and_options() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("serve") && text.contains("gen-certs"),
        "{text}"
    );
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for opt in [
        "--port",
        "--device",
        "--stdio",
        "--fault",
        "--certs",
        "--root-out",
        "--suite",
        "--chain-curve",
        "drop-session-after",
        "[*N]",
    ] {
        assert!(text.contains(opt), "{opt} missing from:\n{text}");
    }
    // A bad fault is refused before anything starts.
    let out = Command::new(BIN)
        .args(["serve", "--stdio", "--fault", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn gen_certs_then_serve_on_loopback() {
    let dir = scratch("certs");
    let out = Command::new(BIN)
        .args(["gen-certs", "--seed", "4", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for f in [
        "root.pem",
        "intermediate.pem",
        "leaf.pem",
        "chain.pem",
        "root.key",
        "intermediate.key",
        "leaf.key",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("leaf.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others");
    }

    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0", "--once", "--seed", "4", "--certs"])
        .arg(&dir)
        .arg("--root-out")
        .arg(dir.join("served-root.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");

    let root_pem = std::fs::read(dir.join("root.pem")).unwrap();
    assert_eq!(
        std::fs::read(dir.join("served-root.pem")).unwrap(),
        root_pem
    );
    let root = Certificate::from_pem(&root_pem).unwrap().to_der().unwrap();
    let stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let mut host = Host::new(Framed::new(stream), Some(root));
    host.connect().unwrap();
    host.challenge().unwrap();
    host.measurements().unwrap();
    host.open_session().unwrap();
    host.program_ide_keys().unwrap();
    host.end_session().unwrap();
    drop(host);
    assert!(wait(&mut child).success());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The child's stdout and stdin as one stream.
struct ChildIo {
    rx: ChildStdout,
    tx: ChildStdin,
}

impl Read for ChildIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.rx.read(buf)
    }
}

impl Write for ChildIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tx.flush()
    }
}

#[test]
fn serve_over_stdio() {
    let mut child = Command::new(BIN)
        .args(["serve", "--stdio", "--seed", "9"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let io = ChildIo {
        rx: child.stdout.take().unwrap(),
        tx: child.stdin.take().unwrap(),
    };
    let mut host = Host::new(Framed::new(io), None);
    host.connect().unwrap();
    host.open_session().unwrap();
    host.heartbeat().unwrap();
    host.end_session().unwrap();
    drop(host); // closes stdin: the model sees end of stream
    assert!(wait(&mut child).success());
}

/// `--suite p256` generates a P-256 chain and settles on the P-256 suite;
/// a P-384 chain with it is refused at start-up.
#[test]
fn serve_the_p256_suite_over_stdio() {
    use tsm_proto::spdm::crypto::{AsymAlgo, HashAlgo};
    let mut child = Command::new(BIN)
        .args(["serve", "--stdio", "--seed", "9", "--suite", "p256"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let io = ChildIo {
        rx: child.stdout.take().unwrap(),
        tx: child.stdin.take().unwrap(),
    };
    let mut host = Host::new(Framed::new(io), None);
    host.connect().unwrap();
    let algorithms = host.requester.algorithms().unwrap();
    assert_eq!(algorithms.asym, AsymAlgo::EcdsaP256);
    assert_eq!(algorithms.hash, HashAlgo::Sha256);
    host.open_session().unwrap();
    host.end_session().unwrap();
    drop(host);
    assert!(wait(&mut child).success());

    let out = Command::new(BIN)
        .args([
            "serve",
            "--stdio",
            "--suite",
            "p256",
            "--chain-curve",
            "p384",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = Command::new(BIN)
        .args(["serve", "--stdio", "--suite", "p521"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn serve_a_device_file() {
    // A file opened read/write stands in for the mailbox character device:
    // the model reads the request frame, appends its answer, then hits EOF.
    let dir = scratch("device");
    let path = dir.join("mbox");
    let mut object = [0u8; 12];
    let len = doe::encode_object(
        doe::PCI_SIG_VENDOR_ID,
        doe::TYPE_CMA,
        &[0x10, 0x84, 0, 0],
        &mut object,
    )
    .unwrap();
    let mut request = Vec::new();
    Framed::new(io::Cursor::new(&mut request))
        .send(&Frame::doe(object[..len].to_vec()))
        .unwrap();
    std::fs::write(&path, &request).unwrap();
    let status = Command::new(BIN)
        .args(["serve", "--device"])
        .arg(&path)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let written = std::fs::read(&path).unwrap();
    let mut answer = Framed::new(io::Cursor::new(written[request.len()..].to_vec()));
    let frame = answer.recv().unwrap().expect("an answer frame");
    assert_eq!(frame.command, 1);
    assert_eq!(frame.transport, 2);
    let (_, payload) = doe::decode_object(&frame.payload).unwrap();
    // VERSION with an SPDM 1.0 header; its entries include 1.2.
    assert_eq!(&payload[..4], &[0x10, 0x04, 0, 0]);
    let count = usize::from(payload[5]);
    let entries: Vec<u16> = payload[6..6 + 2 * count]
        .chunks(2)
        .map(|e| u16::from_le_bytes([e[0], e[1]]))
        .collect();
    assert!(entries.iter().any(|e| e >> 8 == 0x12), "{entries:x?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
