// SPDX-License-Identifier: GPL-2.0
//! The `tsm` binary: list, connect and disconnect against a fake sysfs
//! tree, verify on saved evidence, exit statuses and JSON.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{record, write_root, Setup};
use serde_json::Value;

fn tsm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tsm"))
        .args(args)
        .output()
        .expect("run tsm")
}

/// `tsm verify --evidence EV --root ROOT` with `extra` arguments.
fn verify_saved(ev: &str, root: &str, extra: &[&str]) -> Output {
    let mut args = vec!["verify", "--evidence", ev, "--root", root];
    args.extend_from_slice(extra);
    tsm(&args)
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit status")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

const DEV: &str = "0000:01:00.0";
const PLAIN: &str = "0000:02:00.0";

/// A sysfs tree: `tsms` TSMs provided by faux devices, one device with
/// `tsm/` (DEV) and one without (PLAIN).
fn fake_sysfs(tsms: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    for (i, t) in tsms.iter().enumerate() {
        let provider = root.join(format!("devices/faux/tsm_emu_{i}"));
        fs::create_dir_all(provider.join("tsm").join(t)).unwrap();
        fs::create_dir_all(root.join("class/tsm")).unwrap();
        let class = root.join("class/tsm").join(t);
        fs::create_dir_all(&class).unwrap();
        symlink(&provider, class.join("device")).unwrap();
    }
    let dev = root.join("bus/pci/devices").join(DEV);
    fs::create_dir_all(dev.join("tsm")).unwrap();
    fs::write(dev.join("tsm/connect"), "\n").unwrap();
    fs::write(dev.join("tsm/disconnect"), "").unwrap();
    fs::write(dev.join("tsm/dsm"), format!("{DEV}\n")).unwrap();
    fs::write(dev.join("authenticated"), "\n").unwrap();
    fs::create_dir_all(root.join("bus/pci/devices").join(PLAIN)).unwrap();
    (dir, root)
}

fn sysfs_args<'a>(root: &'a Path, args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--sysfs", root.to_str().unwrap()];
    v.extend_from_slice(args);
    v
}

#[test]
fn help_and_usage_errors() {
    let o = tsm(&["--help"]);
    assert_eq!(code(&o), 0);
    for word in [
        "list",
        "connect",
        "disconnect",
        "evidence",
        "verify",
        "Exit status",
    ] {
        assert!(stdout(&o).contains(word), "--help lacks {word}");
    }
    assert_eq!(code(&tsm(&["frobnicate"])), 2);
    assert!(!stdout(&o).contains("raw-read"), "raw-read is hidden");
    assert_eq!(code(&tsm(&["raw-read", "--type-mask", "0x800"])), 2);
    assert_eq!(code(&tsm(&["verify"])), 2, "no --root");
    assert_eq!(code(&tsm(&["verify", "--root", "/nonexistent"])), 2);
    assert_eq!(code(&tsm(&["evidence", DEV, "--types", "cert9"])), 2);
    assert_eq!(code(&tsm(&["evidence", DEV, "--nonce", "xyz"])), 2);
}

#[test]
fn list_shows_tsms_and_devices() {
    let (_d, root) = fake_sysfs(&["tsm0"]);
    let o = tsm(&sysfs_args(&root, &["list", "--json"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["tsms"][0]["name"], "tsm0");
    assert_eq!(v["tsms"][0]["provider"], "tsm_emu_0");
    // The only TSM, and a device shows tsm/connect: a link TSM.
    assert_eq!(v["tsms"][0]["personality"], "link");
    let devs = v["devices"].as_array().unwrap();
    assert_eq!(devs.len(), 1, "only devices with tsm/");
    assert_eq!(devs[0]["name"], DEV);
    assert_eq!(devs[0]["connect"], Value::Null);
    assert_eq!(devs[0]["dsm"], DEV);
    assert_eq!(devs[0]["bound"], Value::Null);

    let o = tsm(&sysfs_args(&root, &["list"]));
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("tsm0"));
    assert!(stdout(&o).contains(DEV));
    assert!(!stdout(&o).contains(PLAIN));

    let (_e, empty) = fake_sysfs(&[]);
    let o = tsm(&sysfs_args(&empty, &["list"]));
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("no TSM registered"));
}

#[test]
fn connect_and_disconnect() {
    let (_d, root) = fake_sysfs(&["tsm0"]);
    let dev = root.join("bus/pci/devices").join(DEV);
    // The only TSM is picked.
    let o = tsm(&sysfs_args(&root, &["connect", DEV]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(fs::read_to_string(dev.join("tsm/connect")).unwrap(), "tsm0");
    // Connected through tsm0: list says so, and calls it a link TSM.
    let v = json(&tsm(&sysfs_args(&root, &["list", "--json"])));
    assert_eq!(v["devices"][0]["connect"], "tsm0");
    assert_eq!(v["tsms"][0]["personality"], "link");
    // Connecting again through the same TSM is a no-op.
    assert_eq!(code(&tsm(&sysfs_args(&root, &["connect", DEV, "tsm0"]))), 0);
    // Disconnect writes the connected TSM's name.
    let o = tsm(&sysfs_args(&root, &["disconnect", DEV]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(dev.join("tsm/disconnect")).unwrap(),
        "tsm0"
    );
    // Not connected: nothing to do.
    fs::write(dev.join("tsm/connect"), "\n").unwrap();
    let o = tsm(&sysfs_args(&root, &["disconnect", DEV]));
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("not connected"));
}

#[test]
fn connect_errors() {
    let (_d, root) = fake_sysfs(&["tsm0", "tsm1"]);
    let dev = root.join("bus/pci/devices").join(DEV);
    // Two TSMs, nothing connected: which is the link TSM is unknown.
    let v = json(&tsm(&sysfs_args(&root, &["list", "--json"])));
    assert_eq!(v["tsms"][0]["personality"], "unknown");
    assert_eq!(v["tsms"][1]["personality"], "unknown");
    // Two TSMs: name one.
    let o = tsm(&sysfs_args(&root, &["connect", DEV]));
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("several TSMs"), "{}", stderr(&o));
    assert_eq!(code(&tsm(&sysfs_args(&root, &["connect", DEV, "tsm7"]))), 2);
    assert_eq!(
        code(&tsm(&sysfs_args(&root, &["connect", PLAIN, "tsm0"]))),
        2
    );
    assert_eq!(
        code(&tsm(&sysfs_args(
            &root,
            &["connect", "0000:09:00.0", "tsm0"]
        ))),
        2
    );
    assert_eq!(
        code(&tsm(&sysfs_args(&root, &["connect", "../x", "tsm0"]))),
        2
    );
    assert_eq!(code(&tsm(&sysfs_args(&root, &["disconnect", PLAIN]))), 2);
    // Connected elsewhere: refused.
    fs::write(dev.join("tsm/connect"), "tsm1\n").unwrap();
    let o = tsm(&sysfs_args(&root, &["connect", DEV, "tsm0"]));
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("already connected through tsm1"));
    // The kernel refuses the write (here: connect cannot be written).
    fs::remove_file(dev.join("tsm/connect")).unwrap();
    fs::create_dir(dev.join("tsm/connect")).unwrap();
    assert_eq!(code(&tsm(&sysfs_args(&root, &["connect", DEV, "tsm0"]))), 1);
}

#[test]
fn evidence_without_the_netlink_family_is_a_system_error() {
    // The host kernel has no pci-tsm family (or no generic netlink here).
    let o = tsm(&["evidence", DEV]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("pci-tsm") || stderr(&o).contains("netlink"));
}

#[test]
fn verify_saved_evidence() {
    let r = record(&Setup::default());
    let other = record(&Setup {
        seed: 99,
        ..Setup::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev");
    r.evidence.write_dir(&ev, Some(&r.nonce)).unwrap();
    let root = write_root(dir.path(), "root.pem", &r.root_pem);
    let wrong = write_root(dir.path(), "other.pem", &other.root_pem);
    let nonce = tsm_cli::hex(&r.nonce);
    let (ev, root, wrong) = (
        ev.to_str().unwrap(),
        root.to_str().unwrap(),
        wrong.to_str().unwrap(),
    );

    let o = verify_saved(ev, root, &["--nonce", &nonce]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("verdict: trusted"));
    assert!(stdout(&o).contains("nonce: matches"));

    let o = verify_saved(ev, root, &["--nonce", &nonce, "--json"]);
    assert_eq!(code(&o), 0);
    let v = json(&o);
    assert_eq!(v["result"]["verdict"], "trusted");
    assert_eq!(v["result"]["nonce"], "matches");
    assert_eq!(v["result"]["measurements"].as_array().unwrap().len(), 4);

    // Without a nonce: trusted, freshness not checked.
    let o = verify_saved(ev, root, &[]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("not checked"));
    let o = verify_saved(ev, root, &["--nonce", "none"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("not checked"));

    // Another root: not trusted.
    let o = verify_saved(ev, wrong, &["--json"]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert_eq!(v["result"]["verdict"], "not-trusted");
    assert!(v["result"]["reason"]
        .as_str()
        .unwrap()
        .contains("does not lead to the given root"));

    // A replay: the operator asked with another nonce.
    let o = verify_saved(ev, root, &["--nonce", "00112233"]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("replayed"));

    // Usage and system errors.
    assert_eq!(code(&verify_saved(ev, root, &["--nonce", "random"])), 2);
    assert_eq!(code(&verify_saved("/nonexistent", root, &[])), 2);
    assert_eq!(
        code(&verify_saved(ev, ev, &[])),
        2,
        "a directory is no root"
    );
    assert_eq!(
        code(&tsm(&["verify", DEV, "--evidence", ev, "--root", root])),
        2
    );

    // A truncated object: not trusted, with the reason.
    let meas = Path::new(ev).join("measurements.bin");
    let bytes = fs::read(&meas).unwrap();
    fs::write(&meas, &bytes[..bytes.len() - 5]).unwrap();
    let o = verify_saved(ev, root, &["--nonce", &nonce]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("truncated"), "{}", stdout(&o));
    // A missing object: not trusted either.
    fs::remove_file(&meas).unwrap();
    let o = verify_saved(ev, root, &[]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("evidence incomplete"));
}
