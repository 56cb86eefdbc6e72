// SPDX-License-Identifier: GPL-2.0
//! `tsm`: list TSMs and devices, connect and disconnect devices, read a
//! device's security evidence over the `pci-tsm` generic netlink family and
//! verify it against a root the operator trusts.
//!
//! Exit status: 0 success (verify: trusted), 1 refused or not trusted, 2
//! usage or system error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use serde_json::json;

use tsm_cli::evidence::{self, kind, Evidence};
use tsm_cli::nl::{self, ReadRequest, MAX_NONCE_SIZE};
use tsm_cli::sysfs::{Sysfs, SysfsError};
use tsm_cli::verify::{self, NonceCheck, Root, Verdict};
use tsm_cli::{hex, parse_hex};

/// PCI device security (TDISP TSM) for operators: connect devices, read
/// their evidence, verify it against a root you trust.
#[derive(Parser)]
#[command(name = "tsm", version)]
#[command(
    after_help = "Exit status: 0 success (verify: trusted), 1 refused or not trusted, \
2 usage or system error."
)]
struct Cli {
    /// Root of the sysfs tree (for tests and chroots).
    #[arg(long, global = true, default_value = "/sys", value_name = "ROOT")]
    sysfs: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List TSMs and the PCI devices a TSM can secure, with their state.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Connect DEVICE through TSM (tsm/connect); TSM may be omitted when
    /// there is exactly one.
    Connect {
        /// PCI device, e.g. 0000:01:00.0.
        device: String,
        /// TSM device, e.g. tsm0.
        tsm: Option<String>,
    },
    /// Disconnect DEVICE from its TSM (tsm/disconnect).
    Disconnect {
        /// PCI device, e.g. 0000:01:00.0.
        device: String,
    },
    /// Read DEVICE's evidence over netlink (pci-tsm evidence-read).
    Evidence(EvidenceArgs),
    /// Verify a device's evidence: certificate chain up to --root,
    /// measurement signature under the leaf key, nonce (replay).
    Verify(VerifyArgs),
    /// Send an evidence-read with exactly the attributes given (tests of
    /// the kernel's request checks); prints the objects' sizes, or the
    /// kernel's errno name and message.
    #[command(hide = true)]
    RawRead(RawArgs),
}

#[derive(Args)]
struct RawArgs {
    /// dev-name (omitted when not given).
    #[arg(long)]
    dev_name: Option<String>,
    /// type-mask, any u32 (0x.. or decimal; omitted when not given).
    #[arg(long, value_parser = parse_u32)]
    type_mask: Option<u32>,
    /// flags, any u32.
    #[arg(long, value_parser = parse_u32)]
    flags: Option<u32>,
    /// A nonce of this many bytes (0xA5 each).
    #[arg(long)]
    nonce_len: Option<usize>,
    /// An extra attribute of this number (4 bytes of zeros).
    #[arg(long)]
    extra_attr: Option<u16>,
}

fn parse_u32(s: &str) -> Result<u32, String> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse(),
    }
    .map_err(|e| format!("{s:?}: {e}"))
}

fn raw_read_cmd(a: &RawArgs) -> ExitCode {
    let req = nl::RawRequest {
        dev_name: a.dev_name.clone(),
        type_mask: a.type_mask,
        flags: a.flags,
        nonce: a.nonce_len.map(|n| vec![0xA5; n]),
        extra_attr: a.extra_attr,
    };
    match nl::raw_read(&req) {
        Ok(ev) => {
            for (t, bytes) in &ev.objects {
                println!(
                    "{}: {} bytes",
                    evidence::type_name(*t).unwrap_or("?"),
                    bytes.len()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

#[derive(Args)]
struct EvidenceArgs {
    /// PCI device, e.g. 0000:01:00.0.
    device: String,
    /// Write one file per object into DIR (cert0.bin, vca.bin,
    /// measurements.bin, report.bin; nonce.hex).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Ask for fresh signed measurements first: HEX (1 to 256 bytes) or
    /// "random" (32 bytes).
    #[arg(long, value_name = "HEX|random")]
    nonce: Option<String>,
    /// Evidence types, comma-separated: cert0..cert7, certs, vca,
    /// measurements, report, all.
    #[arg(long, value_name = "LIST", default_value = "all")]
    types: String,
    /// Read the TSM's digests of the objects instead of the objects
    /// (written as NAME.digest).
    #[arg(long)]
    digest: bool,
    /// Print JSON (objects hex-encoded).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct VerifyArgs {
    /// PCI device to read the evidence of (over netlink).
    #[arg(required_unless_present = "evidence", conflicts_with = "evidence")]
    device: Option<String>,
    /// The root certificate you trust (PEM or DER).
    #[arg(long, value_name = "CA.pem")]
    root: PathBuf,
    /// Verify evidence saved by `tsm evidence --out DIR` instead.
    #[arg(long, value_name = "DIR")]
    evidence: Option<PathBuf>,
    /// The nonce the measurements must carry: HEX, or "random" to ask the
    /// device for fresh ones (the default when reading from a device), or
    /// "none" to verify the measurements the TSM keeps without a freshness
    /// check. Without it, saved evidence is verified without one.
    #[arg(long, value_name = "random|HEX|none")]
    nonce: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Exit status 2 with a message.
fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("tsm: {msg}");
    ExitCode::from(2)
}

fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("tsm: json: {e}"),
    }
}

fn sysfs_error(e: SysfsError) -> ExitCode {
    let code = match e {
        SysfsError::Refused(_) => 1,
        SysfsError::Usage(_) | SysfsError::Io(_) => 2,
    };
    eprintln!("tsm: {e}");
    ExitCode::from(code)
}

/// `random` or hex, 1 to 256 bytes.
fn parse_nonce(s: &str) -> Result<Vec<u8>, String> {
    let nonce = if s == "random" {
        let mut n = vec![0u8; 32];
        OsRng.fill_bytes(&mut n);
        n
    } else {
        parse_hex(s).map_err(|e| format!("--nonce: {e}"))?
    };
    if nonce.is_empty() || nonce.len() > MAX_NONCE_SIZE {
        return Err(format!("--nonce: 1 to {MAX_NONCE_SIZE} bytes"));
    }
    Ok(nonce)
}

fn or_dash(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

fn list(sysfs: &Sysfs, json: bool) -> ExitCode {
    let listing = match sysfs.list() {
        Ok(l) => l,
        Err(e) => return fail(format!("reading sysfs: {e}")),
    };
    if json {
        print_json(&listing);
        return ExitCode::SUCCESS;
    }
    if listing.tsms.is_empty() {
        println!("no TSM registered");
    } else {
        println!("{:<8} {:<12} PROVIDER", "TSM", "PERSONALITY");
        for t in &listing.tsms {
            println!(
                "{:<8} {:<12} {}",
                t.name,
                t.personality,
                or_dash(&t.provider)
            );
        }
    }
    println!();
    if listing.devices.is_empty() {
        println!("no PCI device with a tsm/ directory");
    } else {
        println!(
            "{:<14} {:<8} {:<14} {:<8} AUTHENTICATED",
            "DEVICE", "CONNECT", "DSM", "BOUND"
        );
        for d in &listing.devices {
            println!(
                "{:<14} {:<8} {:<14} {:<8} {}",
                d.name,
                or_dash(&d.connect),
                or_dash(&d.dsm),
                or_dash(&d.bound),
                or_dash(&d.authenticated)
            );
        }
    }
    ExitCode::SUCCESS
}

fn read(
    device: &str,
    type_mask: u32,
    digest: bool,
    nonce: Option<Vec<u8>>,
) -> Result<Evidence, String> {
    nl::read_evidence(&ReadRequest {
        device: device.to_string(),
        type_mask,
        digest,
        nonce,
    })
    .map_err(|e| format!("{device}: {e}"))
}

fn evidence_cmd(a: &EvidenceArgs) -> ExitCode {
    let mask = match evidence::parse_types(&a.types) {
        Ok(m) => m,
        Err(e) => return fail(format!("--types: {e}")),
    };
    let nonce = match a.nonce.as_deref().map(parse_nonce).transpose() {
        Ok(n) => n,
        Err(e) => return fail(e),
    };
    let ev = match read(&a.device, mask, a.digest, nonce.clone()) {
        Ok(ev) => ev,
        Err(e) => return fail(e),
    };
    let files = match &a.out {
        Some(dir) => match ev.write_dir_as(
            dir,
            nonce.as_deref(),
            if a.digest { "digest" } else { "bin" },
        ) {
            Ok(f) => f,
            Err(e) => return fail(format!("{}: {e}", dir.display())),
        },
        None => Vec::new(),
    };
    if a.json {
        let mut v = ev.to_json();
        v["device"] = json!(a.device);
        v["digest"] = json!(a.digest);
        v["nonce"] = json!(nonce.as_deref().map(hex));
        v["files"] = json!(a
            .out
            .as_ref()
            .map(|d| files.iter().map(|f| d.join(f)).collect::<Vec<_>>()));
        print_json(&v);
        return ExitCode::SUCCESS;
    }
    if let Some(n) = &nonce {
        println!("nonce: {}", hex(n));
    }
    for (t, bytes) in &ev.objects {
        let name = evidence::type_name(*t).unwrap_or("?");
        if bytes.is_empty() {
            println!("{name}: none");
        } else if a.digest {
            println!("{name}: digest {}", hex(bytes));
        } else {
            println!("{name}: {} bytes", bytes.len());
        }
    }
    if let Some(dir) = &a.out {
        println!("written to {}: {}", dir.display(), files.join(" "));
    }
    ExitCode::SUCCESS
}

fn verify_cmd(a: &VerifyArgs) -> ExitCode {
    let root = match std::fs::read(&a.root)
        .map_err(|e| e.to_string())
        .and_then(|b| Root::from_bytes(&b))
    {
        Ok(r) => r,
        Err(e) => return fail(format!("--root {}: {e}", a.root.display())),
    };
    let (ev, nonce, source) = match (&a.evidence, &a.device) {
        (Some(dir), _) => {
            let nonce = match a.nonce.as_deref() {
                None | Some("none") => None,
                Some("random") => {
                    return fail(
                        "--nonce random needs a device: saved evidence has its nonce already",
                    )
                }
                Some(h) => match parse_nonce(h) {
                    Ok(n) => Some(n),
                    Err(e) => return fail(e),
                },
            };
            match Evidence::read_dir(dir) {
                Ok(ev) => (ev, nonce, dir.display().to_string()),
                Err(e) => return fail(format!("--evidence {}: {e}", dir.display())),
            }
        }
        (None, Some(dev)) => {
            let nonce = match a.nonce.as_deref().unwrap_or("random") {
                "none" => None,
                n => match parse_nonce(n) {
                    Ok(n) => Some(n),
                    Err(e) => return fail(e),
                },
            };
            // Every slot's chain: the measurements name the one that signed.
            let mask = 0xFF | (1 << kind::VCA) | (1 << kind::MEASUREMENTS) | (1 << kind::REPORT);
            match read(dev, mask, false, nonce.clone()) {
                Ok(ev) => (ev, nonce, dev.clone()),
                Err(e) => return fail(e),
            }
        }
        (None, None) => return fail("name a device or --evidence DIR"),
    };
    let report = verify::verify(&ev, &root, nonce.as_deref());
    if a.json {
        print_json(&json!({
            "source": source,
            "root": root.subject(),
            "nonce_asked": nonce.as_deref().map(hex),
            "result": report,
        }));
    } else {
        println!("evidence: {source}");
        println!("root: {}", root.subject());
        if let Some(v) = &report.spdm_version {
            println!(
                "spdm: {v}, {}, {}",
                report.hash.as_deref().unwrap_or("?"),
                report.signature_algorithm.as_deref().unwrap_or("?")
            );
        }
        if !report.chain.is_empty() {
            println!(
                "chain (slot {}): {}",
                report.slot.unwrap_or(0),
                report.chain.join(" -> ")
            );
            println!(
                "chain leads to the root: {}",
                if report.chain_trusted { "yes" } else { "no" }
            );
        }
        if report.chain_trusted {
            println!(
                "measurement signature: {}",
                if report.signature_valid {
                    "valid"
                } else {
                    "INVALID"
                }
            );
        }
        if report.signature_valid {
            println!(
                "nonce: {}",
                match report.nonce {
                    NonceCheck::Matches => "matches (fresh)",
                    NonceCheck::Mismatch => "MISMATCH",
                    NonceCheck::NotChecked => "not checked (no --nonce)",
                }
            );
            println!("measurements: {} blocks", report.measurements.len());
            for b in &report.measurements {
                println!("  #{} type {:#04x}: {}", b.index, b.value_type, b.value);
            }
        }
        if let Some(len) = report.report_len {
            print!("interface report: {len} bytes");
            match &report.report {
                Some(r) if r.error.is_none() => {
                    println!(", {} MMIO ranges", r.mmio_ranges.len());
                    for (page, pages, attrs) in &r.mmio_ranges {
                        println!("  page {page:#x}, {pages} pages, attributes {attrs:#06x}");
                    }
                }
                Some(r) => println!(" ({})", r.error.as_deref().unwrap_or("?")),
                None => println!(),
            }
        }
        match (&report.verdict, &report.reason) {
            (Verdict::Trusted, _) => println!("verdict: trusted"),
            (Verdict::NotTrusted, reason) => {
                println!("verdict: NOT trusted: {}", reason.as_deref().unwrap_or("?"))
            }
        }
    }
    match report.verdict {
        Verdict::Trusted => ExitCode::SUCCESS,
        Verdict::NotTrusted => ExitCode::from(1),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let sysfs = Sysfs::new(&cli.sysfs);
    match &cli.command {
        Command::List { json } => list(&sysfs, *json),
        Command::Connect { device, tsm } => match sysfs.connect(device, tsm.as_deref()) {
            Ok(t) => {
                println!("{device}: connected through {t}");
                ExitCode::SUCCESS
            }
            Err(e) => sysfs_error(e),
        },
        Command::Disconnect { device } => match sysfs.disconnect(device) {
            Ok(Some(t)) => {
                println!("{device}: disconnected from {t}");
                ExitCode::SUCCESS
            }
            Ok(None) => {
                println!("{device}: not connected");
                ExitCode::SUCCESS
            }
            Err(e) => sysfs_error(e),
        },
        Command::Evidence(a) => evidence_cmd(a),
        Command::Verify(a) => verify_cmd(a),
        Command::RawRead(a) => raw_read_cmd(a),
    }
}
