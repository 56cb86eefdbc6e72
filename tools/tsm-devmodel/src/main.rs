// SPDX-License-Identifier: GPL-2.0
//! `tsm-devmodel`: run the device model, or write a certificate chain.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand};
use tsm_devmodel::certs::{self, CertChain, PciIdentity};
use tsm_devmodel::crypto;
use tsm_devmodel::faults::Fault;
use tsm_devmodel::model::{parse_curve, ModelConfig, Profile, Suite};
use tsm_devmodel::transport::{self, Framed, Stdio};
use tsm_proto::spdm::crypto::AsymAlgo;

/// User-space PCIe device model: SPDM 1.2/1.3 responder with IDE_KM and TDISP,
/// for QEMU's NVMe `spdm_port` socket or the emulated platform's mailbox.
#[derive(Parser)]
#[command(name = "tsm-devmodel", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the device on a loopback TCP port, a character device or stdio.
    Serve(Serve),
    /// Generate root -> intermediate -> leaf (ECDSA P-384, or P-256 with
    /// --chain-curve p256) and write them as PEM: root.pem,
    /// intermediate.pem, leaf.pem, chain.pem and the keys root.key,
    /// intermediate.key, leaf.key (PKCS#8).
    GenCerts(GenCerts),
}

#[derive(Args)]
#[group(required = true, multiple = false, id = "endpoint")]
struct Endpoint {
    /// Listen on 127.0.0.1:PORT (QEMU: -device nvme,spdm_port=PORT); 0 picks
    /// a free port. The line "listening on 127.0.0.1:PORT" goes to stdout.
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,
    /// Open this character device (or FIFO, or file) read/write and serve
    /// the same framing over it, e.g. /dev/tsm_emu_mbox0.
    #[arg(long, value_name = "PATH")]
    device: Option<PathBuf>,
    /// Serve the framing over standard input and output.
    #[arg(long)]
    stdio: bool,
}

#[derive(Args)]
struct Identity {
    /// Seed for keys and nonces (reproducible runs); default: OS randomness.
    #[arg(long)]
    seed: Option<u64>,
    /// PCI identity for the leaf certificate's subjectAltName, hexadecimal
    /// VENDOR:DEVICE:CLASS:REV:SSVID:SSID.
    #[arg(
        long,
        value_name = "ID",
        default_value = "1b36:0010:010802:02:1af4:1100"
    )]
    pci_id: PciIdentity,
}

#[derive(Args)]
struct Serve {
    #[command(flatten)]
    endpoint: Endpoint,
    #[command(flatten)]
    identity: Identity,
    /// Use the chain and leaf key in DIR (written by gen-certs) instead of
    /// generating one.
    #[arg(long, value_name = "DIR")]
    certs: Option<PathBuf>,
    /// Write the root certificate of the chain in use to FILE (PEM), so an
    /// operator or test can trust it.
    #[arg(long, value_name = "FILE")]
    root_out: Option<PathBuf>,
    /// Requester ID (bus << 8 | devfn) of the function, for IDE_KM and the
    /// TDISP interface ID; hex with 0x or decimal.
    #[arg(long, default_value = "0x0100", value_parser = parse_u16)]
    rid: u16,
    /// PCI segment of the function.
    #[arg(long, default_value_t = 0)]
    segment: u8,
    /// Firmware version string (measured into blocks 2 and 4).
    #[arg(long, default_value = "1.0.0")]
    firmware_version: String,
    /// Inject a fault, KIND[=VALUE][@REQUEST][*N] (repeatable). KIND is
    /// corrupt-signature, foreign-chain, truncate, oversize, wrong-length,
    /// no-answer, error-response[=CODE], slow=MS or drop-session-after=N; REQUEST
    /// limits it to one SPDM request (get-version, get-capabilities,
    /// negotiate-algorithms, get-digests, get-certificate, challenge,
    /// get-measurements, key-exchange, finish, heartbeat, key-update, end-session,
    /// vendor, or a code like 0xe4); *N limits it to the first N SPDM
    /// connections, counted by GET_VERSION requests since the model started
    /// (quote it for the shell). slow=MS delays each answer; through QEMU
    /// the delay stalls the guest's configuration write, so Linux's 1 s DOE
    /// timeout does not fire (see the README).
    #[arg(long, value_name = "FAULT")]
    fault: Vec<Fault>,
    /// The algorithms the SPDM responder may select: p256 (ECDSA P-256,
    /// SHA-256, secp256r1, AES-128/256-GCM), p384 (ECDSA P-384, SHA-384,
    /// secp384r1, AES-256-GCM) or any (the strongest of each kind that the
    /// requester offers and the leaf key can sign).
    #[arg(long, value_name = "SUITE", default_value = "any", value_parser = Suite::from_str)]
    suite: Suite,
    /// Curve of the generated certificate chain (root, intermediate and
    /// the signing leaf), p256 or p384; default p256 for --suite p256,
    /// p384 otherwise. Must be in the suite.
    #[arg(long, value_name = "CURVE", value_parser = parse_curve)]
    chain_curve: Option<AsymAlgo>,
    /// With --port: exit after the first connection ends.
    #[arg(long)]
    once: bool,
    /// Log every request to stderr.
    #[arg(short, long)]
    verbose: bool,
}

#[derive(Args)]
struct GenCerts {
    /// Directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Curve of the chain, p256 or p384.
    #[arg(long, value_name = "CURVE", default_value = "p384", value_parser = parse_curve)]
    chain_curve: AsymAlgo,
    #[command(flatten)]
    identity: Identity,
}

fn parse_u16(s: &str) -> std::result::Result<u16, String> {
    let v = match s.strip_prefix("0x") {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => s.parse(),
    };
    v.map_err(|e| format!("{s:?}: {e}"))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tsm-devmodel: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::GenCerts(g) => {
            let mut rng = crypto::rng(g.identity.seed);
            let chain =
                CertChain::generate(&mut rng, &g.identity.pci_id, "tsm-devmodel", g.chain_curve)?;
            chain.write_pem(&g.out)?;
            println!("wrote {}", g.out.display());
            Ok(())
        }
        Command::Serve(s) => serve(s),
    }
}

fn serve(s: Serve) -> Result<()> {
    let config = ModelConfig {
        seed: s.identity.seed,
        rid: s.rid,
        segment: s.segment,
        identity: s.identity.pci_id,
        firmware_version: s.firmware_version,
        faults: s.fault,
        verbose: s.verbose,
        suite: s.suite,
        chain_curve: s.chain_curve.unwrap_or(s.suite.default_curve()),
    };
    let profile = match &s.certs {
        Some(dir) => Profile::with_chain(config, CertChain::read_pem(dir)?)?,
        None => Profile::new(config)?,
    };
    if let Some(path) = &s.root_out {
        std::fs::write(path, certs::cert_pem(&profile.chain.root.der)?)?;
    }
    for f in &profile.config.faults {
        eprintln!("tsm-devmodel: fault {f}");
    }
    if let Some(port) = s.endpoint.port {
        let listener = transport::listen(port)?;
        let addr = listener.local_addr()?;
        let mut out = std::io::stdout();
        writeln!(out, "listening on {addr}")?;
        out.flush()?;
        transport::serve_listener(&profile, &listener, s.once)?;
    } else if let Some(path) = &s.endpoint.device {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        transport::serve_relay(&profile, &mut Framed::new(file))?;
    } else {
        transport::serve(&profile, &mut Framed::new(Stdio::new()))?;
    }
    Ok(())
}
