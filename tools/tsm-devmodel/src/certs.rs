// SPDX-License-Identifier: GPL-2.0
//! The device's certificate chain: root CA -> intermediate CA -> device
//! leaf, all ECDSA P-384 with SHA-384 (the default) or all ECDSA P-256
//! with SHA-256, in the shape PCIe CMA and DSP0274 expect, and the SPDM
//! certificate chain format built from it for either SPDM base hash.
//!
//! Leaf extensions (besides the builder's subject/authority key
//! identifiers):
//! * basicConstraints CA:FALSE (critical), keyUsage digitalSignature (and
//!   nonRepudiation, the builder's leaf default);
//! * extendedKeyUsage `id-DMTF-eku-responder-auth` (1.3.6.1.4.1.412.274.3):
//!   the key authenticates an SPDM Responder;
//! * the DMTF SPDM extension (1.3.6.1.4.1.412.274.6) listing
//!   `id-DMTF-hardware-identity` (1.3.6.1.4.1.412.274.2): in the DeviceCert
//!   model the leaf carries the device's hardware identity;
//! * subjectAltName otherName 2.23.147 (PCI-SIG), a UTF8String
//!   `Vendor=vvvv:Device=dddd:CC=cccccc:REV=rr:SSVID=ssss:SSID=ssss`, the
//!   PCIe r6.1 CMA leaf identity that Linux' CMA series checks.

use std::fmt;
use std::fs;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use der::asn1::{ObjectIdentifier, OctetString, UtcTime, Utf8StringRef};
use der::oid::AssociatedOid;
use der::pem::LineEnding;
use der::{Any, Decode, DecodePem, Encode, EncodePem, Reader as _, Sequence, SliceReader};
use p384::ecdsa::signature::{Keypair, Signer};
use p384::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::CryptoRngCore;
use sha2::{Digest as _, Sha256, Sha384};
use tsm_proto::spdm::crypto::{AsymAlgo, HashAlgo};
use tsm_spdm_rustcrypto::{digest, SigningKey, VerifyingKey};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};
use x509_cert::ext::AsExtension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{
    DynSignatureAlgorithmIdentifier, EncodePublicKey, SignatureBitStringEncoding,
    SubjectPublicKeyInfoOwned,
};
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

/// `id-DMTF-hardware-identity`.
pub const OID_DMTF_HARDWARE_IDENTITY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.412.274.2");
/// `id-DMTF-eku-responder-auth`.
pub const OID_DMTF_EKU_RESPONDER_AUTH: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.412.274.3");
/// `id-DMTF-spdm-extension`: a SEQUENCE OF { OID, OCTET STRING OPTIONAL }.
pub const OID_DMTF_SPDM_EXTENSION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.412.274.6");
/// PCI-SIG otherName type of the CMA device identity.
pub const OID_PCIE_CMA_IDENTITY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.147");

const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_CURVE_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_CURVE_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// Size of the SPDM chain header before the root hash: Length(2), Reserved(2).
pub const SPDM_CHAIN_HEADER_LEN: usize = 4;

/// Why a chain could not be built, loaded or accepted.
#[derive(Debug)]
pub enum CertError {
    /// Reading or writing a file failed.
    Io(std::io::Error),
    /// DER/PEM/PKCS#8 encoding or decoding failed.
    Encoding(String),
    /// The chain is not acceptable.
    Invalid(&'static str),
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::Io(e) => write!(f, "{e}"),
            CertError::Encoding(e) => write!(f, "encoding: {e}"),
            CertError::Invalid(why) => write!(f, "invalid chain: {why}"),
        }
    }
}

impl std::error::Error for CertError {}

impl From<std::io::Error> for CertError {
    fn from(e: std::io::Error) -> Self {
        CertError::Io(e)
    }
}

fn enc<E: fmt::Display>(e: E) -> CertError {
    CertError::Encoding(e.to_string())
}

/// The PCI identity written into the leaf's subjectAltName.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciIdentity {
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Class code (base, sub, programming interface).
    pub class: u32,
    /// Revision ID.
    pub revision: u8,
    /// Subsystem vendor ID.
    pub ssvid: u16,
    /// Subsystem ID.
    pub ssid: u16,
}

impl PciIdentity {
    /// QEMU's emulated NVMe controller (`-device nvme`).
    pub const QEMU_NVME: PciIdentity = PciIdentity {
        vendor: 0x1b36,
        device: 0x0010,
        class: 0x010802,
        revision: 0x02,
        ssvid: 0x1af4,
        ssid: 0x1100,
    };

    /// The otherName string PCIe r6.1 section 6.31.3 describes.
    pub fn san_string(&self) -> String {
        format!(
            "Vendor={:04x}:Device={:04x}:CC={:06x}:REV={:02x}:SSVID={:04x}:SSID={:04x}",
            self.vendor, self.device, self.class, self.revision, self.ssvid, self.ssid
        )
    }
}

impl FromStr for PciIdentity {
    type Err = String;

    /// `VVVV:DDDD:CCCCCC:RR:SSVID:SSID`, all hexadecimal.
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let [v, d, c, r, sv, ss] = parts.as_slice() else {
            return Err("expected VENDOR:DEVICE:CLASS:REV:SSVID:SSID in hex".into());
        };
        let hex = |s: &str, max: u32| {
            u32::from_str_radix(s, 16)
                .ok()
                .filter(|v| *v <= max)
                .ok_or_else(|| format!("bad hex field {s:?}"))
        };
        Ok(PciIdentity {
            vendor: hex(v, 0xffff)? as u16,
            device: hex(d, 0xffff)? as u16,
            class: hex(c, 0xff_ffff)?,
            revision: hex(r, 0xff)? as u8,
            ssvid: hex(sv, 0xffff)? as u16,
            ssid: hex(ss, 0xffff)? as u16,
        })
    }
}

/// One entry of the DMTF SPDM extension.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SpdmCertOid {
    oid: ObjectIdentifier,
    #[asn1(optional = "true")]
    data: Option<OctetString>,
}

/// The DMTF SPDM extension value: SEQUENCE OF SpdmCertOid.
struct SpdmExtension(Vec<SpdmCertOid>);

impl AssociatedOid for SpdmExtension {
    const OID: ObjectIdentifier = OID_DMTF_SPDM_EXTENSION;
}

impl Encode for SpdmExtension {
    fn encoded_len(&self) -> der::Result<der::Length> {
        self.0.encoded_len()
    }

    fn encode(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        self.0.encode(writer)
    }
}

impl AsExtension for SpdmExtension {
    fn critical(&self, _: &Name, _: &[x509_cert::ext::Extension]) -> bool {
        false
    }
}

/// A P-384 or P-256 key pair and its certificate.
pub struct Issued {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Its private key (not needed for the root and intermediate once the
    /// chain exists, but kept so `gen-certs` can write them).
    pub key: SigningKey,
}

/// Root -> intermediate -> leaf.
pub struct CertChain {
    /// Self-signed root CA.
    pub root: Issued,
    /// Intermediate CA signed by the root.
    pub intermediate: Issued,
    /// Device leaf signed by the intermediate; its key signs SPDM messages.
    pub leaf: Issued,
}

fn spki(key: &SigningKey) -> Result<SubjectPublicKeyInfoOwned, CertError> {
    match key {
        SigningKey::P256(k) => SubjectPublicKeyInfoOwned::from_key(*k.verifying_key()),
        SigningKey::P384(k) => SubjectPublicKeyInfoOwned::from_key(*k.verifying_key()),
    }
    .map_err(enc)
}

/// The leaf's DMTF and PCI-SIG extensions: responder-auth EKU, the SPDM
/// extension naming the hardware identity, the CMA subjectAltName.
fn add_leaf_extensions<S>(b: &mut CertificateBuilder<'_, S>, san: &str) -> Result<(), CertError>
where
    S: Keypair + DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: EncodePublicKey,
{
    b.add_extension(&ExtendedKeyUsage(vec![OID_DMTF_EKU_RESPONDER_AUTH]))
        .map_err(enc)?;
    b.add_extension(&SpdmExtension(vec![SpdmCertOid {
        oid: OID_DMTF_HARDWARE_IDENTITY,
        data: None,
    }]))
    .map_err(enc)?;
    let value = Any::encode_from(&Utf8StringRef::new(san).map_err(enc)?).map_err(enc)?;
    b.add_extension(&SubjectAltName(vec![GeneralName::OtherName(OtherName {
        type_id: OID_PCIE_CMA_IDENTITY,
        value,
    })]))
    .map_err(enc)
}

/// One certificate for `spki`, signed by `issuer_key` (whose curve picks
/// the signature algorithm); a leaf (`leaf_san`) gets the leaf extensions.
fn issue_with<S, Sig>(
    profile: Profile,
    serial: u32,
    subject: &Name,
    spki: SubjectPublicKeyInfoOwned,
    issuer_key: &S,
    leaf_san: Option<&str>,
) -> Result<Vec<u8>, CertError>
where
    S: Keypair + DynSignatureAlgorithmIdentifier + Signer<Sig>,
    S::VerifyingKey: EncodePublicKey,
    Sig: SignatureBitStringEncoding,
{
    // A fixed window (2025-01-01 .. 2049-12-31, UTCTime's last year): no
    // dependence on the clock, and seeded runs give identical certificates.
    let utc = |secs: u64| {
        UtcTime::from_unix_duration(Duration::from_secs(secs))
            .map(Time::UtcTime)
            .map_err(enc)
    };
    let validity = Validity {
        not_before: utc(1_735_689_600)?,
        not_after: utc(2_524_607_999)?,
    };
    let mut builder = CertificateBuilder::new(
        profile,
        SerialNumber::from(serial),
        validity,
        subject.clone(),
        spki,
        issuer_key,
    )
    .map_err(enc)?;
    if let Some(san) = leaf_san {
        add_leaf_extensions(&mut builder, san)?;
    }
    let cert = builder.build::<Sig>().map_err(enc)?;
    cert.to_der().map_err(enc)
}

fn issue(
    profile: Profile,
    serial: u32,
    subject: &Name,
    key: &SigningKey,
    issuer_key: &SigningKey,
    leaf_san: Option<&str>,
) -> Result<Vec<u8>, CertError> {
    let spki = spki(key)?;
    match issuer_key {
        SigningKey::P256(k) => {
            issue_with::<_, p256::ecdsa::DerSignature>(profile, serial, subject, spki, k, leaf_san)
        }
        SigningKey::P384(k) => {
            issue_with::<_, p384::ecdsa::DerSignature>(profile, serial, subject, spki, k, leaf_san)
        }
    }
}

/// PKCS#8 PEM of a private key.
fn key_pem(key: &SigningKey) -> Result<String, CertError> {
    let pem = match key {
        SigningKey::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
        SigningKey::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
    };
    Ok(pem.map_err(enc)?.to_string())
}

/// A private key from PKCS#8 PEM, P-384 or P-256.
fn key_from_pem(pem: &str) -> Result<SigningKey, CertError> {
    if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_pem(pem) {
        return Ok(SigningKey::P384(k));
    }
    p256::ecdsa::SigningKey::from_pkcs8_pem(pem)
        .map(SigningKey::P256)
        .map_err(enc)
}

fn name(s: &str) -> Result<Name, CertError> {
    Name::from_str(s).map_err(enc)
}

impl CertChain {
    /// Generates fresh keys on the curve of `curve` and the three
    /// certificates, each signed with the issuer's curve and its hash
    /// (ECDSA with SHA-384 for P-384, with SHA-256 for P-256). `label`
    /// goes into the subject names (e.g. to tell a foreign chain apart).
    pub fn generate(
        rng: &mut impl CryptoRngCore,
        identity: &PciIdentity,
        label: &str,
        curve: AsymAlgo,
    ) -> Result<Self, CertError> {
        let root_key = SigningKey::random(curve, rng);
        let inter_key = SigningKey::random(curve, rng);
        let leaf_key = SigningKey::random(curve, rng);
        let root_name = name(&format!("CN={label} root CA,O=tsm-rs"))?;
        let inter_name = name(&format!("CN={label} intermediate CA,O=tsm-rs"))?;
        let leaf_name = name(&format!("CN={label} device,O=tsm-rs"))?;

        let root = issue(Profile::Root, 1, &root_name, &root_key, &root_key, None)?;
        let inter = issue(
            Profile::SubCA {
                issuer: root_name,
                path_len_constraint: Some(0),
            },
            2,
            &inter_name,
            &inter_key,
            &root_key,
            None,
        )?;
        let san = identity.san_string();
        let leaf = issue(
            Profile::Leaf {
                issuer: inter_name,
                enable_key_agreement: false,
                enable_key_encipherment: false,
            },
            3,
            &leaf_name,
            &leaf_key,
            &inter_key,
            Some(&san),
        )?;
        Ok(Self {
            root: Issued {
                der: root,
                key: root_key,
            },
            intermediate: Issued {
                der: inter,
                key: inter_key,
            },
            leaf: Issued {
                der: leaf,
                key: leaf_key,
            },
        })
    }

    /// The signature algorithm of the leaf key (and of the whole chain).
    pub fn curve(&self) -> AsymAlgo {
        self.leaf.key.asym()
    }

    /// The DER certificates from the root to the leaf, concatenated: what
    /// the responder serves after the SPDM chain header.
    pub fn certificates(&self) -> Vec<u8> {
        [&self.root.der, &self.intermediate.der, &self.leaf.der]
            .into_iter()
            .flatten()
            .copied()
            .collect()
    }

    /// The chain in SPDM format for base hash `hash`: Length(2),
    /// Reserved(2), the hash of the root certificate, then the DER
    /// certificates from the root to the leaf.
    pub fn spdm_chain(&self, hash: HashAlgo) -> Result<Vec<u8>, CertError> {
        spdm_chain(&self.certificates(), hash)
    }

    /// Writes `root.pem`, `intermediate.pem`, `leaf.pem`, `chain.pem`
    /// (leaf first, as TLS tools expect) and the PKCS#8 keys
    /// `root.key`, `intermediate.key`, `leaf.key` into `dir`.
    pub fn write_pem(&self, dir: &Path) -> Result<(), CertError> {
        fs::create_dir_all(dir)?;
        let mut chain_pem = String::new();
        for (file, issued) in [
            ("leaf", &self.leaf),
            ("intermediate", &self.intermediate),
            ("root", &self.root),
        ] {
            let pem = cert_pem(&issued.der)?;
            fs::write(dir.join(format!("{file}.pem")), &pem)?;
            chain_pem.push_str(&pem);
            let key = key_pem(&issued.key)?;
            write_private(&dir.join(format!("{file}.key")), key.as_bytes())?;
        }
        fs::write(dir.join("chain.pem"), chain_pem)?;
        Ok(())
    }

    /// Reads what [`Self::write_pem`] wrote.
    pub fn read_pem(dir: &Path) -> Result<Self, CertError> {
        let load = |file: &str| -> Result<Issued, CertError> {
            let pem = fs::read(dir.join(format!("{file}.pem")))?;
            let der = Certificate::from_pem(&pem)
                .and_then(|c| c.to_der())
                .map_err(enc)?;
            let key = fs::read_to_string(dir.join(format!("{file}.key")))?;
            let key = key_from_pem(&key)?;
            Ok(Issued { der, key })
        };
        let chain = Self {
            root: load("root")?,
            intermediate: load("intermediate")?,
            leaf: load("leaf")?,
        };
        // Refuse a directory whose leaf key does not match its leaf.
        let hash = HashAlgo::Sha384;
        let leaf_key = verify_spdm_chain(&chain.spdm_chain(hash)?, hash, None)?;
        if leaf_key != chain.leaf.key.verifying_key() {
            return Err(CertError::Invalid("leaf.key does not match leaf.pem"));
        }
        Ok(chain)
    }
}

/// The SPDM-format chain for base hash `hash` around `certificates` (DER,
/// root first): Length(2), Reserved(2), RootHash (the hash of the first
/// certificate), the certificates.
pub fn spdm_chain(certificates: &[u8], hash: HashAlgo) -> Result<Vec<u8>, CertError> {
    let root_len = SliceReader::new(certificates)
        .and_then(|r| r.peek_header())
        .and_then(|h| h.encoded_len().and_then(|l| l + h.length))
        .map_err(enc)?;
    let root = certificates
        .get(..usize::try_from(root_len).map_err(enc)?)
        .ok_or(CertError::Invalid("truncated root certificate"))?;
    let root_hash = digest(hash, root);
    let total = SPDM_CHAIN_HEADER_LEN + root_hash.len() + certificates.len();
    let length = u16::try_from(total).map_err(|_| CertError::Invalid("chain over 64 KiB"))?;
    let mut chain = Vec::with_capacity(total);
    chain.extend_from_slice(&length.to_le_bytes());
    chain.extend_from_slice(&[0, 0]);
    chain.extend_from_slice(&root_hash);
    chain.extend_from_slice(certificates);
    Ok(chain)
}

/// PEM text of a DER certificate.
pub fn cert_pem(der: &[u8]) -> Result<String, CertError> {
    Certificate::from_der(der)
        .and_then(|c| c.to_pem(LineEnding::LF))
        .map_err(enc)
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    fs::write(path, data)
}

/// Splits an SPDM-format chain for base hash `hash` into its root hash and
/// certificates (root first), checking the Length field.
pub fn parse_spdm_chain(
    chain: &[u8],
    hash: HashAlgo,
) -> Result<(&[u8], Vec<Certificate>), CertError> {
    let h = hash.digest_len();
    let length = chain
        .get(..2)
        .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        .ok_or(CertError::Invalid("too short"))?;
    if length != chain.len() {
        return Err(CertError::Invalid("Length field does not match"));
    }
    let root_hash = chain
        .get(SPDM_CHAIN_HEADER_LEN..SPDM_CHAIN_HEADER_LEN + h)
        .ok_or(CertError::Invalid("too short"))?;
    let mut reader = SliceReader::new(&chain[SPDM_CHAIN_HEADER_LEN + h..]).map_err(enc)?;
    let mut certs = Vec::new();
    while !reader.is_finished() {
        if certs.len() == 16 {
            return Err(CertError::Invalid("more than 16 certificates"));
        }
        certs.push(reader.decode::<Certificate>().map_err(enc)?);
    }
    if certs.is_empty() {
        return Err(CertError::Invalid("no certificates"));
    }
    Ok((root_hash, certs))
}

/// Checks that `issuer`'s key signed `cert`.
pub fn verify_signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), CertError> {
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(CertError::Invalid("issuer name does not match"));
    }
    let tbs = cert.tbs_certificate.to_der().map_err(enc)?;
    let prehash: Vec<u8> = match cert.signature_algorithm.oid {
        OID_ECDSA_SHA256 => Sha256::digest(&tbs).to_vec(),
        OID_ECDSA_SHA384 => Sha384::digest(&tbs).to_vec(),
        _ => return Err(CertError::Invalid("unsupported signature algorithm")),
    };
    let sig = cert
        .signature
        .as_bytes()
        .ok_or(CertError::Invalid("signature bit string"))?;
    let spki = &issuer.tbs_certificate.subject_public_key_info;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let point = spki.subject_public_key.raw_bytes();
    let bad = |_| CertError::Invalid("bad signature");
    match curve {
        Some(OID_CURVE_P384) => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| CertError::Invalid("key"))?;
            let sig = p384::ecdsa::Signature::from_der(sig).map_err(bad)?;
            key.verify_prehash(&prehash, &sig).map_err(bad)
        }
        Some(OID_CURVE_P256) => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| CertError::Invalid("key"))?;
            let sig = p256::ecdsa::Signature::from_der(sig).map_err(bad)?;
            key.verify_prehash(&prehash, &sig).map_err(bad)
        }
        _ => Err(CertError::Invalid("unsupported issuer key")),
    }
}

fn is_ca(cert: &Certificate) -> Option<bool> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == BasicConstraints::OID)
        .and_then(|e| BasicConstraints::from_der(e.extn_value.as_bytes()).ok())
        .map(|b| b.ca)
}

/// Validates an SPDM-format chain for base hash `hash` and returns the
/// leaf's P-256 or P-384 key.
///
/// Checks: Length field, RootHash = `hash`(first certificate), every
/// certificate signed by the one before it (the first by itself), CA
/// certificates above the leaf, a non-CA P-256 or P-384 leaf, and, with
/// `trusted_root`, that the first certificate is exactly that root.
/// Validity periods are not checked (the model has no trusted clock).
pub fn verify_spdm_chain(
    chain: &[u8],
    hash: HashAlgo,
    trusted_root: Option<&[u8]>,
) -> Result<VerifyingKey, CertError> {
    let (root_hash, certs) = parse_spdm_chain(chain, hash)?;
    let root = &certs[0];
    let root_der = root.to_der().map_err(enc)?;
    if digest(hash, &root_der)[..] != *root_hash {
        return Err(CertError::Invalid(
            "RootHash does not match the root certificate",
        ));
    }
    if let Some(trusted) = trusted_root {
        if trusted != root_der.as_slice() {
            return Err(CertError::Invalid("root is not the trusted root"));
        }
    }
    verify_signed_by(root, root)?;
    for pair in certs.windows(2) {
        if is_ca(&pair[0]) != Some(true) {
            return Err(CertError::Invalid("issuer is not a CA"));
        }
        verify_signed_by(&pair[1], &pair[0])?;
    }
    let leaf = certs.last().ok_or(CertError::Invalid("no certificates"))?;
    if certs.len() > 1 && is_ca(leaf) == Some(true) {
        return Err(CertError::Invalid("leaf is a CA"));
    }
    let spki = &leaf.tbs_certificate.subject_public_key_info;
    let asym = tsm_spdm_rustcrypto::asym_of_key(spki)
        .ok_or(CertError::Invalid("leaf key is not P-256 or P-384"))?;
    VerifyingKey::from_sec1(asym, spki.subject_public_key.raw_bytes())
        .map_err(|_| CertError::Invalid("leaf key"))
}
