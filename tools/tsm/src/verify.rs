// SPDX-License-Identifier: GPL-2.0
//! The verifier: is this device, as its evidence shows it, one the operator
//! trusts, and is the evidence fresh?
//!
//! From the objects of the `pci-tsm` family (formats in
//! `Documentation/netlink/specs/pci-tsm.yaml`):
//!
//! 1. `vca`: GET_VERSION .. ALGORITHMS, parsed with `tsm_proto`'s codecs;
//!    gives the SPDM version, base hash and signature algorithm.
//! 2. `certN`, N the slot the signed GET_MEASUREMENTS names (0 for native
//!    CMA): the chain in SPDM format; RootHash must be the hash
//!    of its first certificate, each certificate must be signed by the one
//!    before it (issuers are CAs), and the first must be the operator's
//!    root or be signed by it. The leaf's key (P-256 or P-384, the
//!    negotiated algorithm) is the device's identity.
//! 3. `measurements`: GET_MEASUREMENTS/MEASUREMENTS pairs, the last one
//!    signed; the signature must verify under the leaf key over the DSP0274
//!    1.2/1.3 signing input (prefix, context "responder-measurements
//!    signing", hash of VCA || the pairs without the signature).
//! 4. Freshness: the Nonce of the signed GET_MEASUREMENTS must be the one
//!    derived from the operator's nonce ([`spdm_nonce`]); without a nonce
//!    freshness is reported as not checked.
//!
//! A failed check is a verdict of "not trusted" with the reason, and so is
//! evidence that is missing or malformed (the device, through its TSM,
//! produced it; a device that sends junk is not trusted). Problems of the
//! operator's own inputs (an unreadable root certificate) are errors.
//! Certificate validity periods are not checked.

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, SliceReader};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use tsm_proto::spdm::crypto::{AsymAlgo, Digest, HashAlgo};
use tsm_proto::spdm::{code, msg, signing_input, AlgSizes, CONTEXT_MEASUREMENTS, NONCE_LEN};
use tsm_proto::wire::Reader;
use tsm_spdm_rustcrypto::{asym_of_key, VerifyingKey};
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::Certificate;

use crate::evidence::{kind, Evidence};
use crate::hex;

const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// SPDM certificate chain header: Length (2) and Reserved (2).
const CHAIN_HEADER_LEN: usize = 4;

/// The SPDM Nonce the kernel puts into GET_MEASUREMENTS for the `nonce`
/// attribute `nonce`: itself when it is 32 bytes long, else its SHA-256.
pub fn spdm_nonce(nonce: &[u8]) -> [u8; NONCE_LEN] {
    match <[u8; NONCE_LEN]>::try_from(nonce) {
        Ok(n) => n,
        Err(_) => Sha256::digest(nonce).into(),
    }
}

/// The operator's trust anchor.
#[derive(Clone, Debug)]
pub struct Root {
    cert: Certificate,
    der: Vec<u8>,
}

impl Root {
    /// Reads the first certificate of a PEM file (text around it is
    /// ignored, as `openssl x509 -text` writes it) or a DER file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
        let der = if bytes.windows(BEGIN.len()).any(|w| w == BEGIN) {
            let text = std::str::from_utf8(bytes).map_err(|_| "PEM file is not text")?;
            let start = text
                .find("-----BEGIN CERTIFICATE-----")
                .ok_or("no CERTIFICATE in the PEM file")?;
            let end = text[start..]
                .find("-----END CERTIFICATE-----")
                .map(|e| start + e + "-----END CERTIFICATE-----".len())
                .ok_or("unterminated CERTIFICATE in the PEM file")?;
            let (_, der) = der::pem::decode_vec(&text.as_bytes()[start..end])
                .map_err(|e| format!("PEM: {e}"))?;
            der
        } else {
            bytes.to_vec()
        };
        let cert = Certificate::from_der(&der).map_err(|e| format!("certificate: {e}"))?;
        Ok(Self { cert, der })
    }

    /// The root's subject.
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }
}

/// The verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check passed (freshness may be unchecked, see `nonce`).
    Trusted,
    /// A check failed; `reason` says which.
    NotTrusted,
}

/// How freshness was established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NonceCheck {
    /// The signed request carries the operator's nonce.
    Matches,
    /// It carries another nonce: replayed or stale measurements.
    Mismatch,
    /// No nonce was given.
    NotChecked,
}

/// One measurement block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Block {
    /// Index.
    pub index: u8,
    /// DMTFSpecMeasurementValueType.
    pub value_type: u8,
    /// The value, hex.
    pub value: String,
}

/// What the verifier found, check by check.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The verdict.
    pub verdict: Verdict,
    /// Why the verdict is "not trusted".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Negotiated SPDM version, e.g. `1.2`.
    pub spdm_version: Option<String>,
    /// Negotiated base hash (`sha256`, `sha384`).
    pub hash: Option<String>,
    /// Negotiated signature algorithm (`ecdsa-p256`, `ecdsa-p384`).
    pub signature_algorithm: Option<String>,
    /// The certificate slot whose key signed the measurements.
    pub slot: Option<u8>,
    /// Subjects of that slot's chain, first to leaf.
    pub chain: Vec<String>,
    /// The chain leads to the operator's root.
    pub chain_trusted: bool,
    /// The measurement signature verified under the leaf key.
    pub signature_valid: bool,
    /// Freshness.
    pub nonce: NonceCheck,
    /// The Nonce of the signed GET_MEASUREMENTS, hex.
    pub measurement_nonce: Option<String>,
    /// The signed measurement blocks.
    pub measurements: Vec<Block>,
    /// Size of the TDISP interface report, if there is one (not signed by
    /// itself: it is trusted through the SPDM session that carried it).
    pub report_len: Option<usize>,
    /// The interface report's MMIO ranges, if it parses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<InterfaceReport>,
}

/// What the TDISP DEVICE_INTERFACE_REPORT says (informational: the verdict
/// does not depend on it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterfaceReport {
    /// INTERFACE_INFO.
    pub interface_info: u16,
    /// MMIO ranges: first 4K page, number of pages, attributes.
    pub mmio_ranges: Vec<(u64, u32, u16)>,
    /// Why it does not parse, if it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn interface_report(bytes: &[u8]) -> InterfaceReport {
    match tsm_proto::tdisp::InterfaceReport::decode(bytes) {
        Ok(r) => InterfaceReport {
            interface_info: r.interface_info,
            mmio_ranges: r
                .ranges()
                .map(|m| (m.first_page, m.number_of_pages, m.attributes))
                .collect(),
            error: None,
        },
        Err(e) => InterfaceReport {
            interface_info: 0,
            mmio_ranges: Vec::new(),
            error: Some(e.to_string()),
        },
    }
}

impl Report {
    fn new() -> Self {
        Self {
            verdict: Verdict::NotTrusted,
            reason: None,
            spdm_version: None,
            hash: None,
            signature_algorithm: None,
            slot: None,
            chain: Vec::new(),
            chain_trusted: false,
            signature_valid: false,
            nonce: NonceCheck::NotChecked,
            measurement_nonce: None,
            measurements: Vec::new(),
            report_len: None,
            report: None,
        }
    }
}

/// What VCA settled.
struct Vca {
    version: u8,
    hash: HashAlgo,
    asym: AsymAlgo,
}

fn codec(what: &'static str) -> impl Fn(tsm_proto::wire::Error) -> String {
    move |e| format!("{what}: {e}")
}

fn parse_vca(vca: &[u8]) -> Result<Vca, String> {
    let mut r = Reader::new(vca);
    msg::GetVersion::read(&mut r).map_err(codec("vca: GET_VERSION"))?;
    let v = msg::Version::read(&mut r).map_err(codec("vca: VERSION"))?;
    let get_caps = msg::Capabilities::read(&mut r, code::GET_CAPABILITIES)
        .map_err(codec("vca: GET_CAPABILITIES"))?;
    let version = get_caps.version;
    if !matches!(
        version,
        tsm_proto::spdm::VERSION_12 | tsm_proto::spdm::VERSION_13
    ) {
        return Err(format!(
            "vca: SPDM version {version:#04x} (only 1.2 and 1.3 are known)"
        ));
    }
    if !v.versions().any(|x| x == version) {
        return Err("vca: the version in use is not one VERSION offered".into());
    }
    let caps =
        msg::Capabilities::read(&mut r, code::CAPABILITIES).map_err(codec("vca: CAPABILITIES"))?;
    let neg = msg::NegotiateAlgorithms::read(&mut r).map_err(codec("vca: NEGOTIATE_ALGORITHMS"))?;
    let algs = msg::Algorithms::read(&mut r).map_err(codec("vca: ALGORITHMS"))?;
    if r.remaining() != 0 {
        return Err("vca: trailing bytes after ALGORITHMS".into());
    }
    if caps.version != version || neg.version != version || algs.version != version {
        return Err("vca: messages of different SPDM versions".into());
    }
    if caps.flags & tsm_proto::spdm::cap::MEAS_SIG == 0 {
        return Err("vca: the device cannot sign measurements (no MEAS_CAP with signature)".into());
    }
    let hash = HashAlgo::from_bits(algs.base_hash).ok_or("vca: unknown base hash selected")?;
    let asym = AsymAlgo::from_bits(algs.base_asym)
        .ok_or("vca: signature algorithm is not ECDSA P-256 or P-384")?;
    if neg.base_hash & algs.base_hash == 0 || neg.base_asym & algs.base_asym == 0 {
        return Err("vca: ALGORITHMS selected what was not offered".into());
    }
    Ok(Vca {
        version,
        hash,
        asym,
    })
}

fn digest(alg: HashAlgo, data: &[u8]) -> Vec<u8> {
    tsm_spdm_rustcrypto::digest(alg, data)
}

fn is_ca(cert: &Certificate) -> bool {
    cert.tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .find(|e| e.extn_id == <BasicConstraints as der::oid::AssociatedOid>::OID)
        .and_then(|e| BasicConstraints::from_der(e.extn_value.as_bytes()).ok())
        .is_some_and(|b| b.ca)
}

/// The P-256 or P-384 key of a certificate.
fn public_key(cert: &Certificate) -> Result<VerifyingKey, String> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let asym = asym_of_key(spki).ok_or("key is not ECDSA P-256 or P-384")?;
    VerifyingKey::from_sec1(asym, spki.subject_public_key.raw_bytes())
        .map_err(|_| "malformed public key".to_string())
}

/// Checks that `issuer` signed `cert` (name and ECDSA signature).
fn signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), String> {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(format!(
            "'{}' names issuer '{}', not '{}'",
            cert.tbs_certificate.subject,
            cert.tbs_certificate.issuer,
            issuer.tbs_certificate.subject
        ));
    }
    let tbs = cert
        .tbs_certificate
        .to_der()
        .map_err(|e| format!("re-encoding: {e}"))?;
    let prehash = match cert.signature_algorithm.oid {
        OID_ECDSA_SHA256 => digest(HashAlgo::Sha256, &tbs),
        OID_ECDSA_SHA384 => digest(HashAlgo::Sha384, &tbs),
        other => {
            return Err(format!(
                "unsupported certificate signature algorithm {other}"
            ))
        }
    };
    let sig = cert
        .signature
        .as_bytes()
        .ok_or("certificate signature is not whole bytes")?;
    let key = public_key(issuer)
        .map_err(|e| format!("issuer '{}': {e}", issuer.tbs_certificate.subject))?;
    let bad = || {
        format!(
            "the signature of '{}' does not verify under the key of '{}'",
            cert.tbs_certificate.subject, issuer.tbs_certificate.subject
        )
    };
    let ok = match key {
        VerifyingKey::P256(k) => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            let s = p256::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
            k.verify_prehash(&prehash, &s).is_ok()
        }
        VerifyingKey::P384(k) => {
            use p384::ecdsa::signature::hazmat::PrehashVerifier;
            let s = p384::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
            k.verify_prehash(&prehash, &s).is_ok()
        }
    };
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Splits an SPDM chain into its certificates and checks Length and
/// RootHash.
fn parse_chain(name: &str, chain: &[u8], hash: HashAlgo) -> Result<Vec<Certificate>, String> {
    let length = chain
        .get(..2)
        .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        .ok_or_else(|| format!("{name}: truncated (no header)"))?;
    if length != chain.len() {
        return Err(format!(
            "{name}: Length field says {length} bytes, the object has {}",
            chain.len()
        ));
    }
    let h = hash.digest_len();
    let root_hash = chain
        .get(CHAIN_HEADER_LEN..CHAIN_HEADER_LEN + h)
        .ok_or_else(|| format!("{name}: truncated (no RootHash)"))?;
    let mut reader =
        SliceReader::new(&chain[CHAIN_HEADER_LEN + h..]).map_err(|e| format!("{name}: {e}"))?;
    let mut certs = Vec::new();
    while !der::Reader::is_finished(&reader) {
        if certs.len() == 16 {
            return Err(format!("{name}: more than 16 certificates"));
        }
        certs.push(
            der::Reader::decode::<Certificate>(&mut reader)
                .map_err(|e| format!("{name}: certificate {}: {e}", certs.len()))?,
        );
    }
    let first = certs
        .first()
        .ok_or_else(|| format!("{name}: no certificates"))?;
    let first_der = first.to_der().map_err(|e| format!("{name}: {e}"))?;
    if digest(hash, &first_der) != root_hash {
        return Err(format!(
            "{name}: RootHash is not the hash of the first certificate"
        ));
    }
    Ok(certs)
}

/// Checks the chain up to `root`; returns the leaf key.
fn check_chain(certs: &[Certificate], root: &Root) -> Result<VerifyingKey, String> {
    let first = &certs[0];
    let first_der = first.to_der().map_err(|e| e.to_string())?;
    if first_der != root.der {
        signed_by(first, &root.cert).map_err(|e| {
            format!(
                "the chain does not lead to the given root '{}': {e}",
                root.subject()
            )
        })?;
    }
    for pair in certs.windows(2) {
        if !is_ca(&pair[0]) {
            return Err(format!(
                "'{}' issues a certificate but is not a CA",
                pair[0].tbs_certificate.subject
            ));
        }
        signed_by(&pair[1], &pair[0])?;
    }
    let leaf = certs.last().ok_or("no certificates")?;
    if certs.len() > 1 && is_ca(leaf) {
        return Err("the leaf certificate is a CA".into());
    }
    public_key(leaf).map_err(|e| format!("leaf: {e}"))
}

/// The signed exchange of the measurements object.
struct Signed<'a> {
    /// VCA || pairs, without the final signature.
    transcript: Vec<u8>,
    request_nonce: [u8; NONCE_LEN],
    /// The certificate slot whose leaf key signed.
    slot: u8,
    response: msg::Measurements<'a>,
}

fn parse_measurements<'a>(vca: &[u8], v: &Vca, meas: &'a [u8]) -> Result<Signed<'a>, String> {
    let sizes = AlgSizes {
        hash: v.hash.digest_len(),
        signature: v.asym.signature_len(),
        dhe: 0,
    };
    let mut r = Reader::new(meas);
    let mut transcript = vca.to_vec();
    loop {
        let start = r.consumed();
        let req =
            msg::GetMeasurements::read(&mut r).map_err(codec("measurements: GET_MEASUREMENTS"))?;
        let req_end = r.consumed();
        let m = msg::Measurements::read(&mut r, &sizes, req.signed.is_some())
            .map_err(codec("measurements: MEASUREMENTS"))?;
        if req.version != v.version || m.version != v.version {
            return Err("measurements: SPDM version differs from VCA's".into());
        }
        if m.requester_context != req.requester_context {
            return Err("measurements: RequesterContext not echoed".into());
        }
        let sig_start = r.consumed() - m.signature.len();
        transcript.extend_from_slice(&meas[start..req_end]);
        transcript.extend_from_slice(&meas[req_end..sig_start]);
        let last = r.remaining() == 0;
        match (req.signed, last) {
            (Some((nonce, slot)), true) => {
                if m.param2 & 0x0F != slot {
                    return Err(format!(
                        "measurements: the response names slot {}, the request slot {slot}",
                        m.param2 & 0x0F
                    ));
                }
                return Ok(Signed {
                    transcript,
                    request_nonce: *nonce,
                    slot,
                    response: m,
                });
            }
            (None, true) => return Err("measurements: the last response is not signed".into()),
            (Some(_), false) => {
                return Err("measurements: a signed pair before the last one".into())
            }
            (None, false) => {}
        }
    }
}

/// Verifies `evidence` against `root`; `nonce` is the operator's nonce (the
/// `nonce` attribute of the read), if freshness is to be checked.
pub fn verify(evidence: &Evidence, root: &Root, nonce: Option<&[u8]>) -> Report {
    let mut report = Report::new();
    report.report_len = evidence.get(kind::REPORT).map(<[u8]>::len);
    report.report = evidence.get(kind::REPORT).map(interface_report);
    if let Err(reason) = run(evidence, root, nonce, &mut report) {
        report.reason = Some(reason);
        report.verdict = Verdict::NotTrusted;
    } else {
        report.verdict = Verdict::Trusted;
    }
    report
}

fn run(
    evidence: &Evidence,
    root: &Root,
    nonce: Option<&[u8]>,
    report: &mut Report,
) -> Result<(), String> {
    let vca = evidence
        .get(kind::VCA)
        .ok_or("evidence incomplete: no vca")?;
    let meas = evidence
        .get(kind::MEASUREMENTS)
        .ok_or("evidence incomplete: no measurements")?;

    let v = parse_vca(vca)?;
    report.spdm_version = Some(format!("{}.{}", v.version >> 4, v.version & 0xF));
    report.hash = Some(
        match v.hash {
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha384 => "sha384",
        }
        .into(),
    );
    report.signature_algorithm = Some(
        match v.asym {
            AsymAlgo::EcdsaP256 => "ecdsa-p256",
            AsymAlgo::EcdsaP384 => "ecdsa-p384",
        }
        .into(),
    );

    // The measurements name the slot whose key signed them.
    let signed = parse_measurements(vca, &v, meas)?;
    report.measurement_nonce = Some(hex(&signed.request_nonce));
    report.slot = Some(signed.slot);
    let name = format!("cert{}", signed.slot);
    let chain = evidence
        .get(kind::CERT0 + u32::from(signed.slot))
        .ok_or_else(|| {
            format!(
                "evidence incomplete: no {name} (the certificate chain of slot {}, whose key signed the measurements)",
                signed.slot
            )
        })?;
    let certs = parse_chain(&name, chain, v.hash)?;
    report.chain = certs
        .iter()
        .map(|c| c.tbs_certificate.subject.to_string())
        .collect();
    let leaf = check_chain(&certs, root)?;
    report.chain_trusted = true;
    if leaf.asym() != v.asym {
        return Err("the leaf key is not of the negotiated signature algorithm".into());
    }

    let transcript_hash = Digest::from_slice(&digest(v.hash, &signed.transcript))
        .map_err(|_| "transcript hash".to_string())?;
    let input = signing_input(v.version, CONTEXT_MEASUREMENTS, &transcript_hash);
    leaf.verify_prehash(&digest(v.hash, input.as_slice()), signed.response.signature)
        .map_err(|_| {
            "the measurement signature does not verify under the leaf key (forged, corrupted, or from another device)"
                .to_string()
        })?;
    report.signature_valid = true;
    for block in signed.response.blocks() {
        let b = block.map_err(codec("measurements: block"))?;
        report.measurements.push(Block {
            index: b.index,
            value_type: b.value_type,
            value: hex(b.value),
        });
    }

    if let Some(nonce) = nonce {
        if spdm_nonce(nonce) == signed.request_nonce {
            report.nonce = NonceCheck::Matches;
        } else {
            report.nonce = NonceCheck::Mismatch;
            return Err(format!(
                "replayed or stale measurements: the signed request carries nonce {}, not the one asked for ({})",
                hex(&signed.request_nonce),
                hex(&spdm_nonce(nonce))
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed P-256 certificate in a PEM file with comment lines.
    fn test_root_pem() -> &'static str {
        include_str!("../tests/data/root-p256.pem")
    }

    #[test]
    fn nonce_derivation() {
        let n: Vec<u8> = (0..32).collect();
        assert_eq!(spdm_nonce(&n).to_vec(), n);
        let short = [1u8, 2, 3];
        assert_eq!(spdm_nonce(&short), <[u8; 32]>::from(Sha256::digest(short)));
        let long = [7u8; 256];
        assert_eq!(spdm_nonce(&long), <[u8; 32]>::from(Sha256::digest(long)));
    }

    #[test]
    fn root_parsing() {
        // A PEM root with text around it, as openssl x509 -text writes it.
        let r = test_root_pem();
        let pem = format!("Certificate:\n  Data: ...\n{r}trailer\n");
        let root = Root::from_bytes(pem.as_bytes()).expect("PEM with text around it");
        assert_eq!(Root::from_bytes(&root.der).unwrap().der, root.der, "DER");
        assert!(Root::from_bytes(b"not a certificate").is_err());
        assert!(
            Root::from_bytes(b"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n").is_err()
        );
    }
}
