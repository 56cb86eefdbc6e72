// SPDX-License-Identifier: GPL-2.0
//! The verifier on evidence recorded from the device model in process:
//! trusted with the right root, refused with another root, an impostor
//! chain, replayed measurements, a corrupt signature, damaged objects.

mod common;

use common::{record, Recorded, Setup};
use tsm_cli::evidence::kind;
use tsm_cli::verify::{verify, NonceCheck, Report, Root, Verdict};

fn root(r: &Recorded) -> Root {
    Root::from_bytes(r.root_pem.as_bytes()).expect("root PEM")
}

fn honest() -> Recorded {
    record(&Setup::default())
}

fn other_device() -> Recorded {
    record(&Setup {
        seed: 1234,
        ..Setup::default()
    })
}

fn refused(report: &Report, reason: &str) {
    assert_eq!(report.verdict, Verdict::NotTrusted, "{report:?}");
    let got = report.reason.as_deref().unwrap_or("");
    assert!(got.contains(reason), "reason {got:?} lacks {reason:?}");
}

#[test]
fn trusted_with_the_devices_root_and_nonce() {
    let r = honest();
    let report = verify(&r.evidence, &root(&r), Some(&r.nonce));
    assert_eq!(report.verdict, Verdict::Trusted, "{report:?}");
    assert_eq!(report.nonce, NonceCheck::Matches);
    assert!(report.chain_trusted && report.signature_valid);
    assert_eq!(report.spdm_version.as_deref(), Some("1.3"));
    assert_eq!(report.hash.as_deref(), Some("sha384"));
    assert_eq!(report.signature_algorithm.as_deref(), Some("ecdsa-p384"));
    assert_eq!(report.chain.len(), 3);
    assert_eq!(report.measurements.len(), 4);
    assert!(report.report_len.is_some());
    let ir = report.report.expect("interface report");
    assert_eq!(ir.error, None);
    assert_eq!(ir.mmio_ranges.len(), 2, "the model reports two ranges");
}

#[test]
fn trusted_without_a_nonce_reports_freshness_unchecked() {
    let r = honest();
    let report = verify(&r.evidence, &root(&r), None);
    assert_eq!(report.verdict, Verdict::Trusted);
    assert_eq!(report.nonce, NonceCheck::NotChecked);
}

#[test]
fn spdm_12_p256_and_a_count_before_the_signed_request() {
    let r = record(&Setup {
        spdm_12: true,
        p256: true,
        count_first: true,
        ..Setup::default()
    });
    let report = verify(&r.evidence, &root(&r), Some(&r.nonce));
    assert_eq!(report.verdict, Verdict::Trusted, "{report:?}");
    assert_eq!(report.spdm_version.as_deref(), Some("1.2"));
    assert_eq!(report.signature_algorithm.as_deref(), Some("ecdsa-p256"));
    assert_eq!(report.hash.as_deref(), Some("sha256"));
}

#[test]
fn another_root_is_not_trusted() {
    let r = honest();
    let report = verify(&r.evidence, &root(&other_device()), Some(&r.nonce));
    refused(&report, "does not lead to the given root");
    assert!(!report.chain_trusted);
}

#[test]
fn a_chain_issued_by_the_root_is_trusted_through_it() {
    // The chain may start below the operator's root: drop the root
    // certificate from cert0 (and fix Length and RootHash).
    let r = honest();
    let chain = r.evidence.get(kind::CERT0).unwrap();
    let h = 48;
    let certs = &chain[4 + h..];
    let root_len = der_len(certs);
    let rest = &certs[root_len..];
    let first_len = der_len(rest);
    let mut new = Vec::new();
    new.extend_from_slice(&((4 + h + rest.len()) as u16).to_le_bytes());
    new.extend_from_slice(&[0, 0]);
    new.extend(tsm_spdm_rustcrypto::digest(
        tsm_proto::spdm::crypto::HashAlgo::Sha384,
        &rest[..first_len],
    ));
    new.extend_from_slice(rest);
    let mut ev = r.evidence.clone();
    ev.objects.insert(kind::CERT0, new);
    let report = verify(&ev, &root(&r), Some(&r.nonce));
    assert_eq!(report.verdict, Verdict::Trusted, "{report:?}");
    assert_eq!(report.chain.len(), 2);
}

/// Length of the DER element at the start of `b`.
fn der_len(b: &[u8]) -> usize {
    assert_eq!(b[0], 0x30);
    match b[1] {
        n if n < 0x80 => 2 + usize::from(n),
        0x81 => 3 + usize::from(b[2]),
        0x82 => 4 + usize::from(u16::from_be_bytes([b[2], b[3]])),
        other => panic!("length form {other:#x}"),
    }
}

#[test]
fn impostor_presenting_a_trusted_chain_is_refused() {
    // The device shows the honest device's chain, but VCA and measurements
    // come from another device signing with its own key.
    let honest = honest();
    let impostor = other_device();
    let mut ev = impostor.evidence.clone();
    ev.objects.insert(
        kind::CERT0,
        honest.evidence.get(kind::CERT0).unwrap().to_vec(),
    );
    let report = verify(&ev, &root(&honest), Some(&impostor.nonce));
    assert!(report.chain_trusted);
    refused(&report, "does not verify under the leaf key");
}

#[test]
fn swapped_leaf_is_refused() {
    // The honest chain with its leaf replaced by another device's leaf.
    let honest = honest();
    let other = other_device();
    let chain = honest.evidence.get(kind::CERT0).unwrap();
    let at = chain
        .windows(honest.leaf_der.len())
        .position(|w| w == honest.leaf_der.as_slice())
        .expect("leaf in chain");
    let mut new = chain[..at].to_vec();
    new.extend_from_slice(&other.leaf_der);
    let len = new.len() as u16;
    new[..2].copy_from_slice(&len.to_le_bytes());
    let mut ev = honest.evidence.clone();
    ev.objects.insert(kind::CERT0, new);
    let report = verify(&ev, &root(&honest), Some(&honest.nonce));
    refused(&report, "device");
    assert!(!report.chain_trusted);
}

#[test]
fn foreign_chain_fault_is_refused_under_either_root() {
    // The model serves another device's valid chain but signs with its own
    // key (the e2e impostor): the foreign root trusts the chain, and the
    // signature then fails; the device's own root does not trust it.
    let r = record(&Setup {
        faults: vec!["foreign-chain"],
        ..Setup::default()
    });
    let report = verify(&r.evidence, &root(&r), Some(&r.nonce));
    refused(&report, "does not lead to the given root");
    // Extract the foreign chain's root (first certificate of cert0).
    let chain = r.evidence.get(kind::CERT0).unwrap();
    let certs = &chain[4 + 48..];
    let foreign_root = &certs[..der_len(certs)];
    let foreign = Root::from_bytes(foreign_root).unwrap();
    let report = verify(&r.evidence, &foreign, Some(&r.nonce));
    assert!(report.chain_trusted);
    refused(&report, "does not verify under the leaf key");
}

#[test]
fn replayed_measurements_are_refused() {
    let r = honest();
    let other_nonce = [0x5Au8; 32];
    let report = verify(&r.evidence, &root(&r), Some(&other_nonce));
    refused(&report, "replayed or stale measurements");
    assert_eq!(report.nonce, NonceCheck::Mismatch);
    assert!(report.signature_valid);
}

#[test]
fn corrupt_signature_is_refused() {
    let r = record(&Setup {
        faults: vec!["corrupt-signature@get-measurements"],
        ..Setup::default()
    });
    let report = verify(&r.evidence, &root(&r), Some(&r.nonce));
    assert!(report.chain_trusted);
    refused(&report, "does not verify under the leaf key");

    // Any flipped bit in what the signature covers, too.
    let r = honest();
    let mut ev = r.evidence.clone();
    let m = ev.objects.get_mut(&kind::MEASUREMENTS).unwrap();
    // Inside the first measurement block's value: after the 1.3 signed
    // request (45 bytes) and the response's 8 bytes before the record.
    m[45 + 8 + 10] ^= 0x01;
    refused(
        &verify(&ev, &root(&r), Some(&r.nonce)),
        "does not verify under the leaf key",
    );
    let mut ev = r.evidence.clone();
    let vca = ev.objects.get_mut(&kind::VCA).unwrap();
    let last = vca.len() - 1;
    vca[last] ^= 0x01;
    assert_eq!(
        verify(&ev, &root(&r), Some(&r.nonce)).verdict,
        Verdict::NotTrusted
    );
}

#[test]
fn truncated_or_missing_objects_are_not_trusted_with_a_reason() {
    let r = honest();
    for (t, reason) in [
        (kind::CERT0, "cert0: Length field"),
        (kind::VCA, "vca: "),
        (kind::MEASUREMENTS, "measurements: MEASUREMENTS"),
    ] {
        let mut ev = r.evidence.clone();
        let o = ev.objects.get_mut(&t).unwrap();
        o.truncate(o.len() - 7);
        refused(&verify(&ev, &root(&r), Some(&r.nonce)), reason);

        let mut ev = r.evidence.clone();
        ev.objects.remove(&t);
        refused(
            &verify(&ev, &root(&r), Some(&r.nonce)),
            "evidence incomplete",
        );
    }
    // Trailing junk after the signed pair.
    let mut ev = r.evidence.clone();
    ev.objects
        .get_mut(&kind::MEASUREMENTS)
        .unwrap()
        .extend_from_slice(&[0; 3]);
    assert_eq!(
        verify(&ev, &root(&r), Some(&r.nonce)).verdict,
        Verdict::NotTrusted
    );
}

#[test]
fn no_damaged_evidence_is_trusted() {
    // Every truncation of every object, and a flipped bit at every byte of
    // what the signature covers (and at every 5th byte of the chain, whose
    // checks cost three ECDSA verifications each): never a panic, never
    // "trusted". The chain's Reserved field (bytes 2..4) is covered by
    // nothing, as in DSP0274, and is left alone.
    let r = record(&Setup {
        p256: true,
        spdm_12: true,
        ..Setup::default()
    });
    let root = root(&r);
    assert_eq!(
        verify(&r.evidence, &root, Some(&r.nonce)).verdict,
        Verdict::Trusted
    );
    for (t, stride) in [(kind::VCA, 1), (kind::MEASUREMENTS, 1), (kind::CERT0, 5)] {
        let object = r.evidence.get(t).unwrap().to_vec();
        for len in 0..object.len() {
            let mut ev = r.evidence.clone();
            ev.objects.insert(t, object[..len].to_vec());
            let report = verify(&ev, &root, Some(&r.nonce));
            assert_eq!(report.verdict, Verdict::NotTrusted, "type {t} cut at {len}");
        }
        for i in (0..object.len()).step_by(stride) {
            if t == kind::CERT0 && (2..4).contains(&i) {
                continue;
            }
            let mut ev = r.evidence.clone();
            ev.objects.get_mut(&t).unwrap()[i] ^= 0x01;
            let report = verify(&ev, &root, Some(&r.nonce));
            assert_eq!(
                report.verdict,
                Verdict::NotTrusted,
                "type {t} bit 0 of byte {i} flipped: {report:?}"
            );
        }
    }
}

#[test]
fn the_chain_is_the_one_of_the_signing_slot() {
    let r = honest();
    let other = other_device();
    // Another slot holding another chain does not matter.
    let mut ev = r.evidence.clone();
    ev.objects.insert(
        kind::CERT0 + 1,
        other.evidence.get(kind::CERT0).unwrap().to_vec(),
    );
    let report = verify(&ev, &root(&r), Some(&r.nonce));
    assert_eq!(report.verdict, Verdict::Trusted, "{report:?}");
    assert_eq!(report.slot, Some(0));
    // The chain in another slot than the signing one is not used.
    let mut ev = r.evidence.clone();
    let chain = ev.objects.remove(&kind::CERT0).unwrap();
    ev.objects.insert(kind::CERT0 + 1, chain);
    refused(
        &verify(&ev, &root(&r), Some(&r.nonce)),
        "evidence incomplete: no cert0",
    );
}
