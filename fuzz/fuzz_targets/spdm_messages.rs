// SPDX-License-Identifier: GPL-2.0
//! Every SPDM message decoder, the opaque-data parsers and the vendor
//! header; decode/encode must be stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsm_proto::spdm::msg::*;
use tsm_proto::spdm::{code, opaque, vendor::PciSigMessage, AlgSizes};
use tsm_proto::wire::{Reader, Writer};

/// The field sizes of both suites.
const SIZES: [AlgSizes; 2] = [AlgSizes::P384_SHA384, AlgSizes::P256_SHA256];

/// Encodes with `write` into a fresh buffer.
fn encoded(
    size: usize,
    write: impl FnOnce(&mut Writer<'_>) -> tsm_proto::wire::Result<()>,
) -> Option<Vec<u8>> {
    let mut out = vec![0u8; size + 64];
    let mut w = Writer::new(&mut out);
    write(&mut w).ok()?;
    let len = w.len();
    out.truncate(len);
    Some(out)
}

/// Decodes `$data` with `$read`; a decoded message must re-encode, decode
/// again and re-encode to the same bytes (reserved fields are ignored on
/// decode and zeroed on encode, so the first encoding may differ from the
/// input).
macro_rules! round_trip {
    ($data:expr, $r:ident => $read:expr, ($m:ident, $w:ident) => $write:expr) => {{
        let mut $r = Reader::new($data);
        if let Ok($m) = $read {
            if let Some(first) = encoded($data.len(), |$w| $write) {
                let mut $r = Reader::new(&first);
                let $m = $read.expect("a re-encoded message decodes");
                assert_eq!(encoded(first.len(), |$w| $write).as_ref(), Some(&first));
            }
        }
    }};
}

fuzz_target!(|data: &[u8]| {
    let _ = Header::peek(data);
    round_trip!(data, r => GetVersion::read(&mut r), (m, w) => m.write(w));
    round_trip!(data, r => Version::read(&mut r), (m, w) => m.write(w));
    for c in [code::GET_CAPABILITIES, code::CAPABILITIES] {
        round_trip!(data, r => Capabilities::read(&mut r, c), (m, w) => m.write(w, c));
    }
    round_trip!(data, r => NegotiateAlgorithms::read(&mut r), (m, w) => m.write(w));
    round_trip!(data, r => Algorithms::read(&mut r), (m, w) => m.write(w));
    round_trip!(data, r => Bare::read(&mut r, code::GET_DIGESTS), (m, w) => m.write(w));
    round_trip!(data, r => GetCertificate::read(&mut r), (m, w) => m.write(w));
    round_trip!(data, r => Certificate::read(&mut r), (m, w) => m.write(w));
    round_trip!(data, r => Challenge::read(&mut r), (m, w) => m.write(w));
    round_trip!(data, r => GetMeasurements::read(&mut r), (m, w) => m.write(w));
    for sizes in &SIZES {
        round_trip!(data, r => Digests::read(&mut r, sizes), (m, w) => m.write(w, sizes));
        for summary in [meas_summary::NONE, meas_summary::ALL] {
            round_trip!(data, r => ChallengeAuth::read(&mut r, sizes, summary),
                (m, w) => m.write(w));
            round_trip!(data, r => KeyExchangeRsp::read(&mut r, sizes, summary),
                (m, w) => m.write(w));
        }
        for signed in [false, true] {
            round_trip!(data, r => Measurements::read(&mut r, sizes, signed), (m, w) => m.write(w));
        }
        round_trip!(data, r => KeyExchange::read(&mut r, sizes), (m, w) => m.write(w));
        round_trip!(data, r => Finish::read(&mut r, sizes), (m, w) => m.write(w));
    }
    round_trip!(data, r => EndSession::read(&mut r), (m, w) => m.write(w));
    round_trip!(data, r => ErrorRsp::read(&mut r), (m, w) => m.write(w));
    for c in [code::VENDOR_DEFINED_REQUEST, code::VENDOR_DEFINED_RESPONSE] {
        round_trip!(data, r => PciSigMessage::read(&mut r, c), (m, w) => m.write(w, c));
    }
    let _ = opaque::supports(data, opaque::SECURED_MESSAGE_VERSION_11);
    let _ = opaque::selection(data);
});
