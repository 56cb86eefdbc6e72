// SPDX-License-Identifier: GPL-2.0
//! Evidence recorded in process: `tsm_proto`'s requester (RustCrypto, the
//! device model's provider) talks to `tsm-devmodel`'s model, and the
//! recorder keeps exactly what the kernel's evidence objects hold
//! (Documentation/netlink/specs/pci-tsm.yaml): the slot 0 chain, the VCA
//! messages, the GET_MEASUREMENTS/MEASUREMENTS pair, the interface report.
#![allow(dead_code)]

use std::path::Path;

use tsm_cli::evidence::{kind, Evidence};
use tsm_devmodel::certs::cert_pem;
use tsm_devmodel::crypto::{self, ModelCrypto};
use tsm_devmodel::faults::Fault;
use tsm_devmodel::model::{interface_report, mmio_ranges, Model, ModelConfig, Profile, Suite};
use tsm_proto::doe;
use tsm_proto::spdm::crypto::{AsymAlgo, Supported};
use tsm_proto::spdm::requester::{Request, Requester, RequesterConfig, Response};
use tsm_proto::spdm::{cap, code, msg, AlgSizes, Versions, NONCE_LEN, VERSION_12};
use tsm_proto::wire::Reader;

/// How the recorded device behaves.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Seed of the device (its keys and chain).
    pub seed: u64,
    /// Device model faults.
    pub faults: Vec<&'static str>,
    /// Negotiate SPDM 1.2 only (default: the highest, 1.3).
    pub spdm_12: bool,
    /// P-256 suite and chain (default P-384).
    pub p256: bool,
    /// Send an unsigned GET_MEASUREMENTS (count) before the signed one.
    pub count_first: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            seed: 7,
            faults: Vec::new(),
            spdm_12: false,
            p256: false,
            count_first: false,
        }
    }
}

/// What a recording gives a test.
pub struct Recorded {
    /// The evidence objects.
    pub evidence: Evidence,
    /// The device's root certificate, PEM.
    pub root_pem: String,
    /// The Nonce the requester put into the signed GET_MEASUREMENTS.
    pub nonce: [u8; NONCE_LEN],
    /// The device's leaf certificate, DER.
    pub leaf_der: Vec<u8>,
}

const REQUESTER_CONFIG: RequesterConfig = RequesterConfig {
    flags: cap::ENCRYPT | cap::MAC | cap::KEY_EX,
    ct_exponent: 12,
    data_transfer_size: 0x1000,
    max_spdm_msg_size: 0x1000,
    req_session_id: 0xFFFE,
    algorithms: Supported::ALL,
};

/// The SPDM message inside a DOE object, cut to its exact length (DOE pads
/// to dwords; the transcript has no padding): `len` says how long the
/// message is.
fn spdm_message(object: &[u8], len: impl FnOnce(&[u8]) -> usize) -> Vec<u8> {
    let (_, payload) = doe::decode_object(object).expect("DOE object");
    let n = len(payload);
    payload[..n].to_vec()
}

fn consumed(payload: &[u8], read: impl FnOnce(&mut Reader<'_>)) -> usize {
    let mut r = Reader::new(payload);
    read(&mut r);
    r.consumed()
}

/// The exact length of the plain SPDM message `payload` of code `code`.
fn exact_len(payload: &[u8], sizes: Option<AlgSizes>, signed: bool) -> usize {
    let c = payload[1];
    consumed(payload, |r| match c {
        code::GET_VERSION => {
            msg::GetVersion::read(r).unwrap();
        }
        code::VERSION => {
            msg::Version::read(r).unwrap();
        }
        code::GET_CAPABILITIES | code::CAPABILITIES => {
            msg::Capabilities::read(r, c).unwrap();
        }
        code::NEGOTIATE_ALGORITHMS => {
            msg::NegotiateAlgorithms::read(r).unwrap();
        }
        code::ALGORITHMS => {
            msg::Algorithms::read(r).unwrap();
        }
        code::GET_MEASUREMENTS => {
            msg::GetMeasurements::read(r).unwrap();
        }
        code::MEASUREMENTS => {
            msg::Measurements::read(r, &sizes.unwrap(), signed).unwrap();
        }
        other => panic!("no length rule for code {other:#04x}"),
    })
}

/// What one request/response gave.
type Exchanged = (
    Vec<u8>,
    Vec<u8>,
    Result<Option<AlgSizes>, tsm_proto::spdm::Error>,
);

/// One exchange: the request and response objects and what the requester
/// made of the response (a fault may make it refuse).
fn exchange(
    requester: &mut Requester<ModelCrypto, Vec<u8>>,
    model: &mut Model<'_>,
    buf: &mut [u8],
    req: Request<'_>,
) -> Exchanged {
    let len = requester.request(req, buf).expect("request");
    let request = buf[..len].to_vec();
    let mut object = request.clone();
    let mut answer = model.handle(&mut object).expect("an answer");
    let response = answer.clone();
    let ok = requester.response(&mut answer).map(|r| match r {
        Response::Algorithms(a) => Some(a.sizes()),
        _ => None,
    });
    (request, response, ok)
}

/// Records the evidence of a device built from `setup`.
pub fn record(setup: &Setup) -> Recorded {
    let config = ModelConfig {
        seed: Some(setup.seed),
        faults: setup
            .faults
            .iter()
            .map(|f| f.parse::<Fault>().expect("fault spec"))
            .collect(),
        suite: if setup.p256 { Suite::P256 } else { Suite::Any },
        chain_curve: if setup.p256 {
            AsymAlgo::EcdsaP256
        } else {
            AsymAlgo::EcdsaP384
        },
        ..ModelConfig::default()
    };
    let profile = Profile::new(config).expect("profile");
    let blocks = profile.measurement_blocks();
    let mut model = Model::new(&profile, &blocks);

    let crypto = ModelCrypto::new(crypto::rng(Some(setup.seed ^ 0x99)), None);
    let mut requester = Requester::new(crypto, REQUESTER_CONFIG, vec![0u8; 0x4000]);
    if setup.spdm_12 {
        requester.set_versions(Versions {
            spdm: &[VERSION_12],
            ..Versions::ALL
        });
    }
    let mut buf = vec![0u8; 0x2000];
    let mut vca = Vec::new();
    let mut measurements = Vec::new();
    let mut nonce = [0u8; NONCE_LEN];

    let mut sizes = None;
    for req in [
        Request::GetVersion,
        Request::GetCapabilities,
        Request::NegotiateAlgorithms,
    ] {
        let (q, a, ok) = exchange(&mut requester, &mut model, &mut buf, req);
        if let Some(s) = ok.expect("VCA exchange") {
            sizes = Some(s);
        }
        vca.extend(spdm_message(&q, |p| exact_len(p, None, false)));
        vca.extend(spdm_message(&a, |p| exact_len(p, None, false)));
    }
    let (_, _, ok) = exchange(&mut requester, &mut model, &mut buf, Request::GetDigests);
    ok.expect("DIGESTS");
    loop {
        let len = requester
            .request(Request::GetCertificate, &mut buf)
            .expect("GET_CERTIFICATE");
        let mut object = buf[..len].to_vec();
        let mut answer = model.handle(&mut object).expect("CERTIFICATE");
        // A fault may make the requester refuse the chain; the kernel
        // would have refused the connect, but the verifier must refuse
        // such evidence on its own too, so keep going with what was sent.
        match requester.response(&mut answer) {
            Ok(Response::Certificate { complete: true }) => break,
            Ok(Response::Certificate { complete: false }) => {}
            other => panic!("CERTIFICATE: {other:?}"),
        }
    }
    let chain = requester.cert_chain().expect("complete chain").to_vec();

    let signed_exchange = |requester: &mut Requester<ModelCrypto, Vec<u8>>,
                           model: &mut Model<'_>,
                           buf: &mut Vec<u8>,
                           signed: bool| {
        let op = if signed {
            msg::MEAS_OP_ALL
        } else {
            msg::MEAS_OP_COUNT
        };
        let (q, a, _ok) = exchange(
            requester,
            model,
            buf,
            Request::GetMeasurements {
                operation: op,
                signed,
                nonce: None,
            },
        );
        let q = spdm_message(&q, |p| exact_len(p, None, false));
        let a = spdm_message(&a, |p| exact_len(p, sizes, signed));
        (q, a)
    };
    if setup.count_first {
        let (q, a) = signed_exchange(&mut requester, &mut model, &mut buf, false);
        measurements.extend(q);
        measurements.extend(a);
    }
    let (q, a) = signed_exchange(&mut requester, &mut model, &mut buf, true);
    if let Some((n, _)) = msg::GetMeasurements::read(&mut Reader::new(&q))
        .expect("GET_MEASUREMENTS")
        .signed
    {
        nonce = *n;
    }
    measurements.extend(q);
    measurements.extend(a);

    let mut evidence = Evidence::default();
    evidence.objects.insert(kind::CERT0, chain);
    evidence.objects.insert(kind::VCA, vca);
    evidence.objects.insert(kind::MEASUREMENTS, measurements);
    // The report of a TDI locked with BAR 0 at 0x9_0000_0000 (64-bit, prefetchable).
    let ranges = mmio_ranges(&[0x0000_000c, 0x9, 0, 0, 0, 0], 0);
    evidence
        .objects
        .insert(kind::REPORT, interface_report(&ranges));
    Recorded {
        evidence,
        root_pem: cert_pem(&profile.chain.root.der).expect("PEM"),
        nonce,
        leaf_der: profile.chain.leaf.der.clone(),
    }
}

/// Writes `pem` into `dir/name` and returns the path.
pub fn write_root(dir: &Path, name: &str, pem: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).expect("write root");
    path
}
