// SPDX-License-Identifier: GPL-2.0
//! The device model driven by `tsm-proto`'s requester over both framings:
//! the full flow, the certificate chain, and every fault option.

mod common;

use std::io::{self, Read, Write};
use std::time::Duration;

use common::{over_pair, over_relay, over_tcp, profile, Host, HostError};
use der::{Decode, Encode};
use sha2::{Digest as _, Sha384};
use tsm_devmodel::certs::{self, CertChain, PciIdentity};
use tsm_devmodel::crypto::{self, ModelCrypto};
use tsm_devmodel::model::{
    interface_report, mmio_ranges, ModelConfig, Profile, Suite, OVERSIZE_LEN,
};
use tsm_devmodel::transport::{
    self, Frame, Framed, Transport, COMPLETION_SC, COMPLETION_UR, QEMU_MAX_MESSAGE,
};
use tsm_proto::doe;
use tsm_proto::spdm::crypto::{
    AeadAlgo, Algorithms, AsymAlgo, CryptoError, DheGroup, HashAlgo, SpdmCrypto, Supported,
};
use tsm_proto::spdm::{error_code, Error};
use tsm_proto::tdisp::{self, Body, InterfaceId, InterfaceReport, LockParams, MmioRange, TdiState};
use tsm_proto::wire;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::Certificate;

/// VERSION .. MEASUREMENTS .. KEY_EXCHANGE/FINISH .. HEARTBEAT, KEY_UPDATE ..
/// IDE_KM .. TDISP .. END_SESSION; returns the certificate chain the requester accepted.
fn full_flow<T: Read + Write>(host: &mut Host<T>, profile: &Profile) -> Vec<u8> {
    host.connect().unwrap();
    host.challenge().unwrap();
    let blocks = host.measurements().unwrap();
    assert_eq!(blocks, profile.measurements);
    let id = host.open_session().unwrap();
    assert_eq!(id >> 16, 0x7D5E);
    host.heartbeat().unwrap();
    host.key_update().unwrap();
    host.heartbeat().unwrap();
    let registers = host.program_ide_keys().unwrap();
    assert_eq!(registers, profile.ide_registers);
    let report = host.tdisp_flow(profile.interface()).unwrap();
    // Nobody reported BARs: the TDI has no MMIO.
    assert_eq!(report, interface_report(&[]));
    host.end_session().unwrap();
    let chain = host
        .requester
        .cert_chain()
        .expect("chain accepted")
        .to_vec();
    assert_eq!(chain, profile.served_chain(HashAlgo::Sha384).unwrap());
    chain
}

#[test]
fn full_flow_over_tcp_loopback() {
    let p = profile(&[]);
    let (mut host, server) = over_tcp(&p);
    full_flow(&mut host, &p);
    // A second connection would be a new device; this one ends with the stream.
    drop(host);
    server.join().unwrap().unwrap();
}

#[test]
fn full_flow_over_a_socket_pair() {
    let p = profile(&[]);
    let (mut host, server) = over_pair(&p, true);
    full_flow(&mut host, &p);
    // A second session on the same connection, after a fresh GET_VERSION.
    host.connect().unwrap();
    host.open_session().unwrap();
    host.end_session().unwrap();
    drop(host);
    assert_eq!(server.join().unwrap().unwrap(), transport::Ended::Eof);
}

fn extension(cert: &Certificate, oid: der::oid::ObjectIdentifier) -> Option<&[u8]> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

#[test]
fn certificate_chain_is_root_intermediate_leaf() {
    let p = profile(&[]);
    let (mut host, _server) = over_pair(&p, true);
    host.connect().unwrap();
    let chain = host.requester.cert_chain().unwrap().to_vec();

    // Length(2) Reserved(2) RootHash(48) certificates.
    assert_eq!(
        u16::from_le_bytes([chain[0], chain[1]]) as usize,
        chain.len()
    );
    assert_eq!(&chain[2..4], &[0, 0]);
    let (root_hash, certs) = certs::parse_spdm_chain(&chain, HashAlgo::Sha384).unwrap();
    assert_eq!(certs.len(), 3);
    assert_eq!(root_hash, &Sha384::digest(certs[0].to_der().unwrap())[..]);
    // Each certificate is signed by the next one up; the root by itself.
    // First independently of the crate: P-384 key from the issuer's SPKI,
    // DER ECDSA signature over the TBSCertificate DER.
    for (cert, issuer) in [(0, 0), (1, 0), (2, 1)] {
        use p384::ecdsa::signature::Verifier as _;
        let issuer_key = p384::ecdsa::VerifyingKey::from_sec1_bytes(
            certs[issuer]
                .tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        )
        .unwrap();
        let sig = p384::ecdsa::DerSignature::try_from(certs[cert].signature.raw_bytes()).unwrap();
        let tbs = certs[cert].tbs_certificate.to_der().unwrap();
        issuer_key.verify(&tbs, &sig).unwrap();
        assert_eq!(
            certs[cert].tbs_certificate.issuer,
            certs[issuer].tbs_certificate.subject
        );
    }
    certs::verify_signed_by(&certs[0], &certs[0]).unwrap();
    certs::verify_signed_by(&certs[1], &certs[0]).unwrap();
    certs::verify_signed_by(&certs[2], &certs[1]).unwrap();
    assert!(certs::verify_signed_by(&certs[2], &certs[0]).is_err());

    let ca = |c: &Certificate| {
        BasicConstraints::from_der(
            extension(c, der::oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS).unwrap(),
        )
        .unwrap()
        .ca
    };
    assert!(ca(&certs[0]) && ca(&certs[1]) && !ca(&certs[2]));
    let leaf = &certs[2];
    let usage =
        KeyUsage::from_der(extension(leaf, der::oid::db::rfc5280::ID_CE_KEY_USAGE).unwrap())
            .unwrap();
    assert!(usage.0.contains(KeyUsages::DigitalSignature));
    assert!(!usage.0.contains(KeyUsages::KeyCertSign));
    let eku = ExtendedKeyUsage::from_der(
        extension(leaf, der::oid::db::rfc5280::ID_CE_EXT_KEY_USAGE).unwrap(),
    )
    .unwrap();
    assert_eq!(eku.0, vec![certs::OID_DMTF_EKU_RESPONDER_AUTH]);
    // id-DMTF-spdm-extension listing id-DMTF-hardware-identity.
    let spdm_ext = extension(leaf, certs::OID_DMTF_SPDM_EXTENSION).unwrap();
    let hw = certs::OID_DMTF_HARDWARE_IDENTITY.to_der().unwrap();
    assert!(spdm_ext.windows(hw.len()).any(|w| w == hw.as_slice()));
    // subjectAltName otherName 2.23.147 with the PCI identity.
    let san = SubjectAltName::from_der(
        extension(leaf, der::oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME).unwrap(),
    )
    .unwrap();
    let GeneralName::OtherName(other) = &san.0[0] else {
        panic!("{san:?}")
    };
    assert_eq!(other.type_id, certs::OID_PCIE_CMA_IDENTITY);
    let text = other
        .value
        .decode_as::<der::asn1::Utf8StringRef<'_>>()
        .unwrap();
    assert_eq!(text.as_str(), PciIdentity::QEMU_NVME.san_string());
    assert_eq!(
        text.as_str(),
        "Vendor=1b36:Device=0010:CC=010802:REV=02:SSVID=1af4:SSID=1100"
    );

    // The leaf key is the device's signing key.
    let key = certs::verify_spdm_chain(&chain, HashAlgo::Sha384, Some(&p.chain.root.der)).unwrap();
    assert_eq!(key, p.chain.leaf.key.verifying_key());
}

#[test]
fn chain_validation_rejects_damage() {
    let p = profile(&[]);
    let chain = p.served_chain(HashAlgo::Sha384).unwrap();
    certs::verify_spdm_chain(&chain, HashAlgo::Sha384, None).unwrap();
    // Wrong root hash.
    let mut bad = chain.clone();
    bad[10] ^= 1;
    assert!(certs::verify_spdm_chain(&bad, HashAlgo::Sha384, None).is_err());
    // A flipped byte in the leaf's signature.
    let mut bad = chain.clone();
    let last = bad.len() - 3;
    bad[last] ^= 1;
    assert!(certs::verify_spdm_chain(&bad, HashAlgo::Sha384, None).is_err());
    // Wrong Length field.
    let mut bad = chain.clone();
    bad[0] ^= 1;
    assert!(certs::verify_spdm_chain(&bad, HashAlgo::Sha384, None).is_err());
    // Pinned to the right root, and to another one.
    assert!(certs::verify_spdm_chain(&chain, HashAlgo::Sha384, Some(&p.chain.root.der)).is_ok());
    let other = profile(&["foreign-chain"]);
    let foreign = other.served_chain(HashAlgo::Sha384).unwrap();
    certs::verify_spdm_chain(&foreign, HashAlgo::Sha384, None).unwrap();
    let pinned = Some(&p.chain.root.der[..]);
    assert!(certs::verify_spdm_chain(&foreign, HashAlgo::Sha384, pinned).is_err());
}

#[test]
fn gen_certs_files_round_trip() {
    let dir = std::env::temp_dir().join(format!("tsm-devmodel-test-{}", std::process::id()));
    let mut rng = crypto::rng(Some(3));
    let chain = CertChain::generate(
        &mut rng,
        &PciIdentity::QEMU_NVME,
        "test",
        AsymAlgo::EcdsaP384,
    )
    .unwrap();
    chain.write_pem(&dir).unwrap();
    let loaded = CertChain::read_pem(&dir).unwrap();
    assert_eq!(
        loaded.spdm_chain(HashAlgo::Sha384).unwrap(),
        chain.spdm_chain(HashAlgo::Sha384).unwrap()
    );
    // A model built from the files serves that chain, and a requester that
    // trusts root.pem accepts it.
    let profile = std::sync::Arc::new(
        Profile::with_chain(
            ModelConfig {
                seed: Some(1),
                ..Default::default()
            },
            loaded,
        )
        .unwrap(),
    );
    let root_pem = std::fs::read(dir.join("root.pem")).unwrap();
    let root = <Certificate as der::DecodePem>::from_pem(&root_pem)
        .unwrap()
        .to_der()
        .unwrap();
    let (device, host) = std::os::unix::net::UnixStream::pair().unwrap();
    let p = std::sync::Arc::clone(&profile);
    let server = std::thread::spawn(move || transport::serve(&p, &mut Framed::new(device)));
    host.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let mut h = Host::new(Framed::new(host), Some(root));
    h.connect().unwrap();
    h.challenge().unwrap();
    drop(h);
    server.join().unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn crypto_provider_round_trips() {
    let p = profile(&[]);
    let (asym, hash) = (AsymAlgo::EcdsaP384, HashAlgo::Sha384);
    let chain = p.served_chain(hash).unwrap();
    let mut device = ModelCrypto::new(crypto::rng(Some(1)), Some(p.chain.leaf.key.clone()));
    let mut host = ModelCrypto::new(crypto::rng(Some(2)), None);
    host.set_peer_cert_chain(asym, hash, &chain).unwrap();
    // The leaf is P-384: a chain offered as P-256 is refused.
    assert_eq!(
        host.set_peer_cert_chain(AsymAlgo::EcdsaP256, hash, &chain),
        Err(CryptoError::BadKey)
    );
    host.set_peer_cert_chain(asym, hash, &chain).unwrap();
    let sig = device.sign(asym, hash, b"transcript").unwrap();
    host.verify_peer(asym, hash, b"transcript", sig.as_slice())
        .unwrap();
    assert_eq!(
        host.verify_peer(asym, hash, b"other", sig.as_slice()),
        Err(CryptoError::BadSignature)
    );
    device.hooks.corrupt_signatures = true;
    let sig = device.sign(asym, hash, b"transcript").unwrap();
    assert_eq!(
        host.verify_peer(asym, hash, b"transcript", sig.as_slice()),
        Err(CryptoError::BadSignature)
    );
    // ECDHE agrees on both sides, in both groups.
    for group in [DheGroup::Secp384r1, DheGroup::Secp256r1] {
        let (a, a_pub) = device.dhe_generate(group).unwrap();
        let (b, b_pub) = host.dhe_generate(group).unwrap();
        assert_eq!(a_pub.len(), group.public_len());
        let shared = device
            .dhe_shared_secret(group, a, b_pub.as_slice())
            .unwrap();
        assert_eq!(shared.len(), group.shared_secret_len());
        assert_eq!(
            shared,
            host.dhe_shared_secret(group, b, a_pub.as_slice()).unwrap()
        );
    }
    // AES-256-GCM and AES-128-GCM.
    for aead in [AeadAlgo::Aes256Gcm, AeadAlgo::Aes128Gcm] {
        let key = &[1u8; 32][..aead.key_len()];
        let mut buf = *b"secret message";
        let tag = device
            .aead_encrypt(aead, key, &[2; 12], b"aad", &mut buf)
            .unwrap();
        assert_ne!(&buf, b"secret message");
        host.aead_decrypt(aead, key, &[2; 12], b"aad", &mut buf, &tag)
            .unwrap();
        assert_eq!(&buf, b"secret message");
        assert_eq!(
            host.aead_decrypt(aead, key, &[2; 12], b"AAD", &mut buf, &tag),
            Err(CryptoError::DecryptFailed)
        );
    }
}

#[test]
fn doe_discovery_and_socket_commands() {
    let p = profile(&[]);
    let (mut host, server) = over_pair(&p, false);
    let mut walk = Vec::new();
    let mut index = 0u8;
    for _ in 0..4 {
        let mut object = [0u8; 12];
        let len = doe::encode_object_with(
            doe::PCI_SIG_VENDOR_ID,
            doe::TYPE_DISCOVERY,
            &mut object,
            |w| doe::DiscoveryRequest { index, version: 0 }.write(w),
        )
        .unwrap();
        let answer = host.link.exchange(&object[..len]).unwrap();
        let (_, payload) = doe::decode_object(&answer).unwrap();
        let rsp = doe::DiscoveryResponse::read(&mut wire::Reader::new(payload)).unwrap();
        walk.push((rsp.vendor_id, rsp.object_type));
        if rsp.next_index == 0 {
            break;
        }
        index = rsp.next_index;
    }
    assert_eq!(walk, vec![(1, 0), (1, 1), (1, 2)]);
    // TEST is echoed; an unknown command is answered with UNKNOWN.
    let test = Frame {
        command: transport::COMMAND_TEST,
        transport: transport::TRANSPORT_PCI_DOE,
        payload: b"ping".to_vec(),
    };
    host.link.send(&test).unwrap();
    assert_eq!(host.link.recv().unwrap().unwrap(), test);
    host.link
        .send(&Frame {
            command: 0x1234,
            transport: 2,
            payload: vec![],
        })
        .unwrap();
    assert_eq!(
        host.link.recv().unwrap().unwrap().command,
        transport::COMMAND_UNKNOWN
    );
    // SHUTDOWN is acknowledged and ends the device.
    host.link
        .send(&Frame {
            command: transport::COMMAND_SHUTDOWN,
            transport: 2,
            payload: vec![],
        })
        .unwrap();
    assert_eq!(
        host.link.recv().unwrap().unwrap().command,
        transport::COMMAND_SHUTDOWN
    );
    assert_eq!(server.join().unwrap().unwrap(), transport::Ended::Shutdown);
}

// ---- faults ----

fn spdm_err(r: Result<impl std::fmt::Debug, HostError>) -> Error {
    match r {
        Err(HostError::Spdm(e)) => e,
        other => panic!("expected an SPDM error, got {other:?}"),
    }
}

#[test]
fn fault_corrupt_signature() {
    let p = profile(&["corrupt-signature"]);
    let (mut host, _s) = over_pair(&p, true);
    host.connect().unwrap();
    assert_eq!(
        spdm_err(host.challenge()),
        Error::Crypto(CryptoError::BadSignature)
    );
    assert_eq!(
        spdm_err(host.measurements()),
        Error::Crypto(CryptoError::BadSignature)
    );
    assert_eq!(
        spdm_err(host.open_session()),
        Error::Crypto(CryptoError::BadSignature)
    );

    // Limited to KEY_EXCHANGE: CHALLENGE and MEASUREMENTS verify.
    let p = profile(&["corrupt-signature@key-exchange"]);
    let (mut host, _s) = over_tcp(&p);
    host.connect().unwrap();
    host.challenge().unwrap();
    host.measurements().unwrap();
    assert_eq!(
        spdm_err(host.open_session()),
        Error::Crypto(CryptoError::BadSignature)
    );
}

#[test]
fn fault_foreign_chain() {
    let p = profile(&["foreign-chain"]);
    assert_ne!(p.served_certificates(), p.chain.certificates());
    // A requester that trusts the device's root refuses the chain.
    let (mut host, _s) = over_pair(&p, true);
    assert_eq!(spdm_err(host.connect()), Error::Crypto(CryptoError::BadKey));
    // One that accepts any well-formed chain catches the signature instead.
    let (mut host, _s) = over_pair(&p, false);
    host.connect().unwrap();
    assert_eq!(
        spdm_err(host.challenge()),
        Error::Crypto(CryptoError::BadSignature)
    );
}

#[test]
fn fault_truncate() {
    let p = profile(&["truncate"]);
    let (mut host, _s) = over_pair(&p, true);
    assert_eq!(
        spdm_err(host.connect()),
        Error::Codec(wire::Error::Truncated)
    );

    let p = profile(&["truncate@key-exchange"]);
    let (mut host, _s) = over_tcp(&p);
    host.connect().unwrap();
    host.challenge().unwrap();
    assert!(matches!(spdm_err(host.open_session()), Error::Codec(_)));
}

#[test]
fn fault_oversize() {
    let p = profile(&["oversize"]);
    let (mut host, _s) = over_pair(&p, true);
    assert_eq!(
        spdm_err(host.connect()),
        Error::Codec(wire::Error::TrailingBytes)
    );
    // QEMU's socket buffer refuses the frame outright.
    let (host_end, device) = std::os::unix::net::UnixStream::pair().unwrap();
    let p2 = std::sync::Arc::clone(&p);
    let server = std::thread::spawn(move || transport::serve(&p2, &mut Framed::new(device)));
    host_end.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let mut link = Framed::new(host_end).with_max_payload(QEMU_MAX_MESSAGE);
    let mut object = [0u8; 12];
    let len = doe::encode_object(
        doe::PCI_SIG_VENDOR_ID,
        doe::TYPE_CMA,
        &[0x10, 0x84, 0, 0],
        &mut object,
    )
    .unwrap();
    let err = link.exchange(&object[..len]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    const { assert!(OVERSIZE_LEN > QEMU_MAX_MESSAGE) };
    drop(link);
    // The device may see the connection reset: the host left its frame unread.
    let _ = server.join().unwrap();
}

#[test]
fn fault_wrong_length() {
    let p = profile(&["wrong-length@get-digests"]);
    let (mut host, _s) = over_pair(&p, true);
    assert_eq!(
        spdm_err(host.connect()),
        Error::Codec(wire::Error::Truncated)
    );
}

#[test]
fn fault_error_response() {
    let p = profile(&["error-response"]);
    let (mut host, _s) = over_pair(&p, true);
    assert_eq!(
        spdm_err(host.connect()),
        Error::Peer {
            code: error_code::UNSPECIFIED,
            data: 0
        }
    );
    let p = profile(&["error-response=0x03@challenge"]);
    let (mut host, _s) = over_pair(&p, true);
    host.connect().unwrap();
    assert_eq!(
        spdm_err(host.challenge()),
        Error::Peer {
            code: error_code::BUSY,
            data: 0
        }
    );
    // Inside the session: vendor-defined requests fail with the error.
    let p = profile(&["error-response=0x07@vendor"]);
    let (mut host, _s) = over_tcp(&p);
    host.connect().unwrap();
    host.open_session().unwrap();
    host.heartbeat().unwrap();
    assert_eq!(
        spdm_err(host.program_ide_keys()),
        Error::Peer {
            code: error_code::UNSUPPORTED_REQUEST,
            data: 0
        }
    );
}

#[test]
fn fault_slow() {
    // Slower than the requester waits: the read times out.
    let p = profile(&["slow=400@get-capabilities"]);
    let (device, host_end) = std::os::unix::net::UnixStream::pair().unwrap();
    let p2 = std::sync::Arc::clone(&p);
    let server = std::thread::spawn(move || transport::serve(&p2, &mut Framed::new(device)));
    host_end
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut host = Host::new(Framed::new(host_end), None);
    host.exchange(tsm_proto::spdm::requester::Request::GetVersion, |_| ())
        .unwrap();
    match host.exchange(tsm_proto::spdm::requester::Request::GetCapabilities, |_| ()) {
        Err(HostError::Io(e)) => assert!(
            matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{e:?}"
        ),
        other => panic!("{other:?}"),
    }
    drop(host);
    server.join().unwrap().ok();

    // Slow but within the wait: everything works, just later.
    let p = profile(&["slow=30"]);
    let (mut host, _s) = over_pair(&p, true);
    let start = std::time::Instant::now();
    host.connect().unwrap();
    assert!(start.elapsed() >= Duration::from_millis(30 * 5));
}

#[test]
fn fault_drop_session_after() {
    let p = profile(&["drop-session-after=2"]);
    let (mut host, _s) = over_tcp(&p);
    host.connect().unwrap();
    host.open_session().unwrap(); // FINISH: secured request 1
    host.heartbeat().unwrap(); // 2
    assert!(matches!(host.heartbeat(), Err(HostError::NoAnswer)));
    // The device came back from its "reset": a new connection and session work.
    host.connect().unwrap();
    host.open_session().unwrap();
    host.program_ide_keys().map(|_| ()).unwrap_err();

    // Dropping a session with a locked TDI faults the TDI.
    let p = profile(&["drop-session-after=17"]);
    let (mut host, _s) = over_pair(&p, true);
    host.connect().unwrap();
    host.open_session().unwrap(); // 1
    host.program_ide_keys().unwrap(); // 13 more: 14
    let lock = tsm_proto::tdisp::LockParams {
        flags: 0,
        default_stream_id: 1,
        mmio_reporting_offset: 0,
        bind_p2p_address_mask: 0,
    };
    host.tdisp(p.interface(), tsm_proto::tdisp::Body::LockInterface(lock))
        .unwrap(); // 15
    assert_eq!(
        host.tdi_state(p.interface()).unwrap(),
        TdiState::ConfigLocked
    ); // 16
    host.heartbeat().unwrap(); // 17
    assert!(matches!(host.heartbeat(), Err(HostError::NoAnswer)));
    host.connect().unwrap();
    host.open_session().unwrap();
    assert_eq!(host.tdi_state(p.interface()).unwrap(), TdiState::Error);
}

#[test]
fn requester_sees_no_answer_for_garbage() {
    let p = profile(&[]);
    let (mut host, _s) = over_pair(&p, true);
    // Not a DOE object at all: the device answers with an empty frame.
    assert_eq!(host.link.exchange(&[1, 2, 3]).unwrap(), Vec::<u8>::new());
    // The device still works afterwards.
    host.connect().unwrap();
}

#[test]
fn seeded_profiles_are_reproducible() {
    let a = Profile::new(ModelConfig {
        seed: Some(5),
        ..Default::default()
    })
    .unwrap();
    let b = Profile::new(ModelConfig {
        seed: Some(5),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        a.chain.leaf.key.verifying_key(),
        b.chain.leaf.key.verifying_key()
    );
    // Byte-identical certificates: fixed validity, deterministic ECDSA.
    assert_eq!(a.served_certificates(), b.served_certificates());
    let c = Profile::new(ModelConfig {
        seed: None,
        ..Default::default()
    })
    .unwrap();
    assert_ne!(
        a.chain.leaf.key.verifying_key(),
        c.chain.leaf.key.verifying_key()
    );
}

#[test]
fn fault_limited_to_first_connections() {
    // The first authentication fails, the next one on the same device passes.
    let p = profile(&["corrupt-signature@challenge*1"]);
    let (mut host, _s) = over_pair(&p, true);
    assert_eq!(p.connection(), 0);
    host.connect().unwrap();
    assert_eq!(p.connection(), 1);
    assert_eq!(
        spdm_err(host.challenge()),
        Error::Crypto(CryptoError::BadSignature)
    );
    host.connect().unwrap();
    assert_eq!(p.connection(), 2);
    host.challenge().unwrap();
    host.measurements().unwrap();

    // Two connections fail at GET_VERSION itself, the third succeeds; the
    // count carries over from one TCP connection to the next.
    let p = profile(&["error-response=0x03@get-version*2"]);
    let busy = Error::Peer {
        code: error_code::BUSY,
        data: 0,
    };
    let (mut host, _s) = over_pair(&p, true);
    assert_eq!(spdm_err(host.connect()), busy);
    drop(host);
    let listener = transport::listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let p2 = std::sync::Arc::clone(&p);
    let server = std::thread::spawn(move || transport::serve_listener(&p2, &listener, false));
    let stream = || {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(common::TIMEOUT)).unwrap();
        Host::new(Framed::new(s), Some(p.chain.root.der.clone()))
    };
    let mut host = stream();
    assert_eq!(spdm_err(host.connect()), busy);
    drop(host);
    let mut host = stream();
    host.connect().unwrap();
    host.challenge().unwrap();
    assert_eq!(p.connection(), 3);
    drop(host);
    drop(server);
}

/// The foreign chain is served only while its fault is active: the next
/// connection on the same stream gets the device's own chain again.
#[test]
fn foreign_chain_limited_to_first_connection() {
    let p = profile(&["foreign-chain*1"]);
    assert_ne!(p.served_certificates(), p.chain.certificates());
    let (mut host, _s) = over_pair(&p, false);
    host.connect().unwrap();
    assert_eq!(
        spdm_err(host.challenge()),
        Error::Crypto(CryptoError::BadSignature)
    );
    host.connect().unwrap();
    assert_eq!(p.served_certificates(), p.chain.certificates());
    host.challenge().unwrap();
}

#[test]
fn fault_no_answer() {
    let p = profile(&["no-answer@challenge*1"]);
    let (mut host, _s) = over_pair(&p, true);
    host.connect().unwrap();
    assert!(matches!(host.challenge(), Err(HostError::NoAnswer)));
    // The next connection is answered.
    host.connect().unwrap();
    host.challenge().unwrap();
}

/// A seeded profile with the given suite and chain curve.
fn suite_profile(suite: Suite, curve: AsymAlgo) -> std::sync::Arc<Profile> {
    std::sync::Arc::new(
        Profile::new(ModelConfig {
            seed: Some(11),
            suite,
            chain_curve: curve,
            ..ModelConfig::default()
        })
        .expect("profile"),
    )
}

/// `--suite` and `--chain-curve`: each combination runs the whole flow
/// (certificates, CHALLENGE, signed measurements, session, IDE_KM, TDISP,
/// END_SESSION) against a requester offering the given set, and settles on
/// the expected algorithms; the chain the requester accepts has a RootHash
/// of the negotiated hash and a leaf on the negotiated curve.
#[test]
fn every_suite_runs_the_full_flow() {
    let p256_aes256 = Algorithms {
        aead: AeadAlgo::Aes256Gcm,
        ..Algorithms::P256
    };
    let p256_aes128 = Supported {
        aead: tsm_proto::spdm::alg::AEAD_AES_128_GCM,
        ..Supported::P256
    };
    for (suite, curve, offer, expected) in [
        (
            Suite::P384,
            AsymAlgo::EcdsaP384,
            Supported::ALL,
            Algorithms::P384,
        ),
        (
            Suite::Any,
            AsymAlgo::EcdsaP384,
            Supported::ALL,
            Algorithms::P384,
        ),
        (
            Suite::P256,
            AsymAlgo::EcdsaP256,
            Supported::ALL,
            p256_aes256,
        ),
        (
            Suite::P256,
            AsymAlgo::EcdsaP256,
            p256_aes128,
            Algorithms::P256,
        ),
        (
            Suite::Any,
            AsymAlgo::EcdsaP256,
            Supported::P256,
            p256_aes256,
        ),
        (
            Suite::Any,
            AsymAlgo::EcdsaP384,
            Supported::P384,
            Algorithms::P384,
        ),
    ] {
        let p = suite_profile(suite, curve);
        let (device, link) = std::os::unix::net::UnixStream::pair().unwrap();
        let server = {
            let p = std::sync::Arc::clone(&p);
            std::thread::spawn(move || transport::serve(&p, &mut Framed::new(device)))
        };
        link.set_read_timeout(Some(common::TIMEOUT)).unwrap();
        let root = Some(p.chain.root.der.clone());
        let mut host = Host::offering(Framed::new(link), root, offer);
        host.connect().unwrap();
        let what = format!("{suite:?} {curve:?} offering {offer:?}");
        assert_eq!(host.requester.algorithms(), Some(expected), "{what}");
        let chain = host.requester.cert_chain().unwrap().to_vec();
        assert_eq!(chain, p.served_chain(expected.hash).unwrap(), "{what}");
        let key = certs::verify_spdm_chain(&chain, expected.hash, None).unwrap();
        assert_eq!(key.asym(), curve, "{what}");
        host.challenge().unwrap();
        let blocks = host.measurements().unwrap();
        assert_eq!(blocks, p.measurements, "{what}");
        assert_eq!(blocks[0].2.len(), suite.measurement_hash().digest_len());
        host.open_session().unwrap();
        host.heartbeat().unwrap();
        host.program_ide_keys().unwrap();
        host.tdisp_flow(p.interface()).unwrap();
        host.end_session().unwrap();
        drop(host);
        server.join().unwrap().unwrap();
    }
}

/// A P-256 device's chain is P-256 throughout, each certificate signed
/// with ecdsa-with-SHA256 by its issuer; `--suite p256` with a P-384
/// chain (or `--suite p384` with a P-256 one) is refused.
#[test]
fn p256_chain_is_signed_with_p256() {
    let p = suite_profile(Suite::P256, AsymAlgo::EcdsaP256);
    let chain = p.served_chain(HashAlgo::Sha256).unwrap();
    let (root_hash, list) = certs::parse_spdm_chain(&chain, HashAlgo::Sha256).unwrap();
    assert_eq!(root_hash.len(), 32);
    assert_eq!(list.len(), 3);
    let ecdsa_sha256 = der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
    let p256 = der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    for cert in &list {
        assert_eq!(cert.signature_algorithm.oid, ecdsa_sha256);
        let curve = cert
            .tbs_certificate
            .subject_public_key_info
            .algorithm
            .parameters
            .as_ref()
            .unwrap()
            .decode_as::<der::oid::ObjectIdentifier>()
            .unwrap();
        assert_eq!(curve, p256);
    }
    certs::verify_signed_by(&list[1], &list[0]).unwrap();
    certs::verify_signed_by(&list[2], &list[1]).unwrap();
    assert_eq!(
        certs::verify_spdm_chain(&chain, HashAlgo::Sha256, Some(&p.chain.root.der)).unwrap(),
        p.chain.leaf.key.verifying_key()
    );
    // The same certificates under a SHA-384 header validate as well.
    let chain384 = p.served_chain(HashAlgo::Sha384).unwrap();
    assert_eq!(chain384.len(), chain.len() + 16);
    certs::verify_spdm_chain(&chain384, HashAlgo::Sha384, None).unwrap();
    assert!(certs::verify_spdm_chain(&chain384, HashAlgo::Sha256, None).is_err());

    for (suite, curve) in [
        (Suite::P256, AsymAlgo::EcdsaP384),
        (Suite::P384, AsymAlgo::EcdsaP256),
    ] {
        let config = ModelConfig {
            seed: Some(1),
            suite,
            chain_curve: curve,
            ..ModelConfig::default()
        };
        assert!(Profile::new(config).is_err(), "{suite:?} {curve:?}");
    }
}

/// A P-384-only device and a requester that offers only the P-256 suite
/// have no common algorithm: ALGORITHMS selects nothing and the requester
/// says so.
#[test]
fn suite_mismatch_is_no_common_algorithm() {
    let p = suite_profile(Suite::P384, AsymAlgo::EcdsaP384);
    let (device, link) = std::os::unix::net::UnixStream::pair().unwrap();
    let server = {
        let p = std::sync::Arc::clone(&p);
        std::thread::spawn(move || transport::serve(&p, &mut Framed::new(device)))
    };
    link.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let mut host = Host::offering(Framed::new(link), None, Supported::P256);
    assert_eq!(
        spdm_err(host.connect()),
        Error::Negotiation("no common algorithm")
    );
    drop(host);
    server.join().unwrap().unwrap();
}

/// LOCK_INTERFACE with `offset`; returns the START_INTERFACE nonce.
fn lock<T: Read + Write>(host: &mut Host<T>, interface: InterfaceId, offset: u64) -> [u8; 32] {
    let params = LockParams {
        flags: 0,
        default_stream_id: 1,
        mmio_reporting_offset: offset,
        bind_p2p_address_mask: 0,
    };
    let rsp = host.tdisp(interface, Body::LockInterface(params)).unwrap();
    match tdisp::Message::decode(&rsp).unwrap().body {
        Body::LockInterfaceRsp(nonce) => *nonce,
        other => panic!("lock: {other:?}"),
    }
}

/// BAR 0 of function 0 at 0x9_0000_0000 (64-bit, prefetchable), as the platform assigns it.
const BAR0: [u32; 2] = [0x0000_000c, 0x9];
const BASE: u64 = 0x9_0000_0000;

/// The report of a lock lists the MMIO the function's BARs decode at the lock, and while the
/// TDI is locked or running only accesses within those ranges complete; in ERROR none does;
/// unlocked, all do.
#[test]
fn locked_mmio_is_confined_to_the_reported_ranges() {
    let p = profile(&[]);
    let (mut host, _s) = over_relay(&p);
    host.connect().unwrap();
    host.open_session().unwrap();
    host.program_ide_keys().unwrap();
    let rid = p.config.rid;
    // The emulated link TSM names the TDI without its segment.
    let id = InterfaceId::new(rid, None);
    // BAR sizing, then the assignment, as the kernel writes them.
    host.config_write(rid, 0x10, 0xffe0_000c);
    host.config_write(rid, 0x10, BAR0[0]);
    host.config_write(rid, 0x14, BAR0[1]);
    let outside = BASE + 0x10_0000;
    assert_eq!(host.mmio(rid, outside, 4, false), COMPLETION_SC, "unlocked");

    let nonce = lock(&mut host, id, 0);
    let report = host.read_report(id, 0x400).unwrap();
    let decoded = InterfaceReport::decode(&report).unwrap();
    let ranges: Vec<MmioRange> = decoded.ranges().collect();
    assert_eq!(ranges, mmio_ranges(&[BAR0[0], BAR0[1], 0, 0, 0, 0], 0));
    assert_eq!(ranges[0].first_page, BASE >> 12);
    assert_eq!(ranges[1].first_page, (BASE >> 12) + 4);
    let confined = |host: &mut Host<_>, state: &str| {
        assert_eq!(host.mmio(rid, BASE, 4, false), COMPLETION_SC, "{state}");
        assert_eq!(
            host.mmio(rid, BASE + 0x3ffc, 4, true),
            COMPLETION_SC,
            "{state}"
        );
        // The MSI-X table page.
        assert_eq!(
            host.mmio(rid, BASE + 0x4ff8, 8, true),
            COMPLETION_SC,
            "{state}"
        );
        // Past the last reported page, across its end, elsewhere in BAR 0.
        assert_eq!(
            host.mmio(rid, BASE + 0x5000, 4, false),
            COMPLETION_UR,
            "{state}"
        );
        assert_eq!(
            host.mmio(rid, BASE + 0x4ffc, 8, false),
            COMPLETION_UR,
            "{state}"
        );
        assert_eq!(host.mmio(rid, outside, 4, true), COMPLETION_UR, "{state}");
    };
    confined(&mut host, "CONFIG_LOCKED");
    let started = host.tdisp(id, Body::Start(&nonce)).unwrap();
    assert_eq!(
        tdisp::Message::decode(&started).unwrap().body,
        Body::StartRsp
    );
    confined(&mut host, "RUN");
    assert_eq!(host.tdi_state(id).unwrap(), TdiState::Run);

    // Moving BAR 0 breaks the lock: ERROR refuses even the reported ranges.
    host.config_write(rid, 0x10, BAR0[0] + 0x20_0000);
    assert_eq!(host.tdi_state(id).unwrap(), TdiState::Error);
    assert_eq!(host.mmio(rid, BASE, 4, false), COMPLETION_UR);
    host.tdisp(id, Body::Stop).unwrap();
    assert_eq!(
        host.mmio(rid, outside, 4, false),
        COMPLETION_SC,
        "unlocked again"
    );

    // A lock takes the BARs of its time, with the lock's MMIO_REPORTING_OFFSET added.
    let moved = BASE + 0x20_0000;
    lock(&mut host, id, 0x1_0000_0000);
    let report = host.read_report(id, 0x400).unwrap();
    let first = InterfaceReport::decode(&report)
        .unwrap()
        .ranges()
        .next()
        .unwrap();
    assert_eq!(first.first_page, (moved + 0x1_0000_0000) >> 12);
    assert_eq!(host.mmio(rid, moved, 4, false), COMPLETION_SC);
    assert_eq!(host.mmio(rid, BASE, 4, false), COMPLETION_UR);

    // Function 1 has no BAR: its locked TDI has no MMIO at all.
    let fn1 = InterfaceId::new(rid + 1, Some(p.config.segment));
    lock(&mut host, fn1, 0);
    let report = host.read_report(fn1, 0x400).unwrap();
    assert_eq!(report, interface_report(&[]));
    assert_eq!(host.mmio(rid + 1, BASE, 4, false), COMPLETION_UR);
    // Another function's lock leaves function 0's alone.
    assert_eq!(host.mmio(rid, moved, 4, false), COMPLETION_SC);
}
