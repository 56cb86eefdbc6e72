// SPDX-License-Identifier: GPL-2.0
//! DMTF SPDM 1.2 and 1.3 (DSP0274) and secured messages 1.1 and 1.2
//! (DSP0277) as carried over PCIe DOE (CMA, DOE types 1 and 2).
//!
//! * [`msg`]: zero-copy codecs for every message the requester and
//!   responder use.
//! * [`opaque`]: the secured-message version negotiation carried in opaque data.
//! * [`algo`]: the negotiable algorithms, their sizes and bit values.
//! * [`crypto`]: the [`crypto::SpdmCrypto`] trait the caller implements.
//! * [`key_schedule`]: the DSP0274 1.2/1.3 key schedule.
//! * [`secured`]: DSP0277 record framing with AEAD.
//! * [`vendor`]: PCI-SIG `VENDOR_DEFINED_REQUEST`/`RESPONSE` payload header.
//! * [`requester`] and [`responder`]: state machines enforcing message order.
//!
//! Layout facts come from DSP0274 1.2.x and 1.3 and DSP0277 1.1 and 1.2.
//! The state machines negotiate each algorithm from what both sides
//! support ([`algo`]): ECDSA P-256 or P-384, SHA-256 or SHA-384, ECDHE
//! secp256r1 or secp384r1, AES-128-GCM or AES-256-GCM, and the SPDM key
//! schedule. The codecs accept any sizes ([`AlgSizes`]).

use core::fmt;

use super::wire;

pub mod algo;
pub mod crypto;
pub mod key_schedule;
pub mod msg;
pub mod opaque;
pub mod requester;
pub mod responder;
pub mod secured;
mod session;
pub mod vendor;

/// The SPDM 1.2/1.3 signing prefix (a verifier of recorded evidence
/// rebuilds what a signature covers with these).
pub use session::{
    signing_input, SigningInput, CONTEXT_CHALLENGE_AUTH, CONTEXT_KEY_EXCHANGE_RSP,
    CONTEXT_MEASUREMENTS,
};

/// SPDMVersion byte of 1.0 (used by GET_VERSION and VERSION).
pub const VERSION_10: u8 = 0x10;
/// SPDMVersion byte of 1.1.
pub const VERSION_11: u8 = 0x11;
/// SPDMVersion byte of 1.2.
pub const VERSION_12: u8 = 0x12;
/// SPDMVersion byte of 1.3.
pub const VERSION_13: u8 = 0x13;

/// The SPDM and secured-message versions one side is willing to use. The
/// state machines know SPDM 1.2 and 1.3 and secured messages 1.1 and 1.2;
/// other entries are ignored. Each side picks the highest version both
/// offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versions {
    /// SPDMVersion bytes ([`VERSION_12`], [`VERSION_13`]).
    pub spdm: &'static [u8],
    /// Secured-message version entries
    /// ([`opaque::SECURED_MESSAGE_VERSION_11`], [`opaque::SECURED_MESSAGE_VERSION_12`]).
    pub secured: &'static [u16],
}

impl Versions {
    /// Everything the state machines support; the default of both sides.
    pub const ALL: Versions = Versions {
        spdm: &[VERSION_12, VERSION_13],
        secured: &[
            opaque::SECURED_MESSAGE_VERSION_11,
            opaque::SECURED_MESSAGE_VERSION_12,
        ],
    };

    /// The SPDM versions offered that the state machines support, lowest first.
    pub(crate) fn spdm(&self) -> impl Iterator<Item = u8> + '_ {
        [VERSION_12, VERSION_13]
            .into_iter()
            .filter(|v| self.spdm.contains(v))
    }

    /// The highest SPDM version offered here and in `peer`.
    pub(crate) fn best_spdm(&self, mut peer: impl FnMut(u8) -> bool) -> Option<u8> {
        self.spdm().filter(|&v| peer(v)).last()
    }

    /// The secured-message versions offered that the state machines
    /// support, lowest first.
    pub(crate) fn secured(&self) -> impl Iterator<Item = u16> + '_ {
        [
            opaque::SECURED_MESSAGE_VERSION_11,
            opaque::SECURED_MESSAGE_VERSION_12,
        ]
        .into_iter()
        .filter(|v| self.secured.contains(v))
    }
}

/// HeartbeatPeriod (seconds) a responder offers when both sides have
/// HBEAT_CAP, unless configured otherwise.
pub const DEFAULT_HEARTBEAT_PERIOD: u8 = 60;

/// Request codes (DSP0274 "SPDM request codes" table).
pub mod code {
    /// GET_DIGESTS.
    pub const GET_DIGESTS: u8 = 0x81;
    /// GET_CERTIFICATE.
    pub const GET_CERTIFICATE: u8 = 0x82;
    /// CHALLENGE.
    pub const CHALLENGE: u8 = 0x83;
    /// GET_VERSION.
    pub const GET_VERSION: u8 = 0x84;
    /// CHUNK_SEND (1.2).
    pub const CHUNK_SEND: u8 = 0x85;
    /// CHUNK_GET (1.2).
    pub const CHUNK_GET: u8 = 0x86;
    /// GET_MEASUREMENTS.
    pub const GET_MEASUREMENTS: u8 = 0xE0;
    /// GET_CAPABILITIES.
    pub const GET_CAPABILITIES: u8 = 0xE1;
    /// NEGOTIATE_ALGORITHMS.
    pub const NEGOTIATE_ALGORITHMS: u8 = 0xE3;
    /// KEY_EXCHANGE.
    pub const KEY_EXCHANGE: u8 = 0xE4;
    /// FINISH.
    pub const FINISH: u8 = 0xE5;
    /// PSK_EXCHANGE.
    pub const PSK_EXCHANGE: u8 = 0xE6;
    /// PSK_FINISH.
    pub const PSK_FINISH: u8 = 0xE7;
    /// HEARTBEAT.
    pub const HEARTBEAT: u8 = 0xE8;
    /// KEY_UPDATE.
    pub const KEY_UPDATE: u8 = 0xE9;
    /// GET_ENCAPSULATED_REQUEST.
    pub const GET_ENCAPSULATED_REQUEST: u8 = 0xEA;
    /// DELIVER_ENCAPSULATED_RESPONSE.
    pub const DELIVER_ENCAPSULATED_RESPONSE: u8 = 0xEB;
    /// END_SESSION.
    pub const END_SESSION: u8 = 0xEC;
    /// VENDOR_DEFINED_REQUEST.
    pub const VENDOR_DEFINED_REQUEST: u8 = 0xFE;
    /// RESPOND_IF_READY.
    pub const RESPOND_IF_READY: u8 = 0xFF;

    /// DIGESTS.
    pub const DIGESTS: u8 = 0x01;
    /// CERTIFICATE.
    pub const CERTIFICATE: u8 = 0x02;
    /// CHALLENGE_AUTH.
    pub const CHALLENGE_AUTH: u8 = 0x03;
    /// VERSION.
    pub const VERSION: u8 = 0x04;
    /// CHUNK_SEND_ACK (1.2).
    pub const CHUNK_SEND_ACK: u8 = 0x05;
    /// CHUNK_RESPONSE (1.2).
    pub const CHUNK_RESPONSE: u8 = 0x06;
    /// MEASUREMENTS.
    pub const MEASUREMENTS: u8 = 0x60;
    /// CAPABILITIES.
    pub const CAPABILITIES: u8 = 0x61;
    /// ALGORITHMS.
    pub const ALGORITHMS: u8 = 0x63;
    /// KEY_EXCHANGE_RSP.
    pub const KEY_EXCHANGE_RSP: u8 = 0x64;
    /// FINISH_RSP.
    pub const FINISH_RSP: u8 = 0x65;
    /// HEARTBEAT_ACK.
    pub const HEARTBEAT_ACK: u8 = 0x68;
    /// KEY_UPDATE_ACK.
    pub const KEY_UPDATE_ACK: u8 = 0x69;
    /// END_SESSION_ACK.
    pub const END_SESSION_ACK: u8 = 0x6C;
    /// VENDOR_DEFINED_RESPONSE.
    pub const VENDOR_DEFINED_RESPONSE: u8 = 0x7E;
    /// ERROR.
    pub const ERROR: u8 = 0x7F;
}

/// ERROR response codes, carried in Param1 (DSP0274 "Error code and error data" table).
pub mod error_code {
    /// One or more request fields are invalid.
    pub const INVALID_REQUEST: u8 = 0x01;
    /// The responder cannot answer now; retry.
    pub const BUSY: u8 = 0x03;
    /// The request is valid but not allowed in the current state.
    pub const UNEXPECTED_REQUEST: u8 = 0x04;
    /// Unspecified error.
    pub const UNSPECIFIED: u8 = 0x05;
    /// A secured message could not be decrypted or authenticated.
    pub const DECRYPT_ERROR: u8 = 0x06;
    /// The request code is not supported; Param2 echoes it.
    pub const UNSUPPORTED_REQUEST: u8 = 0x07;
    /// A request is already being processed.
    pub const REQUEST_IN_FLIGHT: u8 = 0x08;
    /// The response code is invalid (encapsulated flows).
    pub const INVALID_RESPONSE_CODE: u8 = 0x09;
    /// No more sessions can be opened.
    pub const SESSION_LIMIT_EXCEEDED: u8 = 0x0A;
    /// The request is only allowed inside a session.
    pub const SESSION_REQUIRED: u8 = 0x0B;
    /// The responder needs a reset.
    pub const RESET_REQUIRED: u8 = 0x0C;
    /// The response does not fit the requester's limit.
    pub const RESPONSE_TOO_LARGE: u8 = 0x0D;
    /// The request exceeds the responder's limit.
    pub const REQUEST_TOO_LARGE: u8 = 0x0E;
    /// The response must be fetched with CHUNK_GET.
    pub const LARGE_RESPONSE: u8 = 0x0F;
    /// A message was lost.
    pub const MESSAGE_LOST: u8 = 0x10;
    /// The requested SPDM version is not supported.
    pub const VERSION_MISMATCH: u8 = 0x41;
    /// The response is not ready; extended data tells when to ask again.
    pub const RESPONSE_NOT_READY: u8 = 0x42;
    /// The requester must restart with GET_VERSION.
    pub const REQUEST_RESYNCH: u8 = 0x43;
    /// Vendor- or other-standards-defined error.
    pub const VENDOR_DEFINED: u8 = 0xFF;
}

/// Capability flags of CAPABILITIES/GET_CAPABILITIES (DSP0274 1.3 Tables 13
/// and 14; the bits used here are the same in 1.2).
pub mod cap {
    /// Responder: supports GET_DIGESTS and GET_CERTIFICATE.
    pub const CERT: u32 = 1 << 1;
    /// Responder: supports CHALLENGE.
    pub const CHAL: u32 = 1 << 2;
    /// Responder: measurements without signature.
    pub const MEAS_NO_SIG: u32 = 1 << 3;
    /// Responder: measurements with signature.
    pub const MEAS_SIG: u32 = 1 << 4;
    /// Responder: MEAS_CAP, either form of measurements.
    pub const MEAS: u32 = MEAS_NO_SIG | MEAS_SIG;
    /// Responder: fresh measurements after reset.
    pub const MEAS_FRESH: u32 = 1 << 5;
    /// Both: encryption of secured messages.
    pub const ENCRYPT: u32 = 1 << 6;
    /// Both: authentication (MAC) of secured messages.
    pub const MAC: u32 = 1 << 7;
    /// Both: mutual authentication.
    pub const MUT_AUTH: u32 = 1 << 8;
    /// Both: KEY_EXCHANGE.
    pub const KEY_EX: u32 = 1 << 9;
    /// Both: handshake messages in the clear.
    pub const HANDSHAKE_IN_THE_CLEAR: u32 = 1 << 15;
    /// Both: HEARTBEAT.
    pub const HBEAT: u32 = 1 << 13;
    /// Both: KEY_UPDATE.
    pub const KEY_UPD: u32 = 1 << 14;
    /// Both: CHUNK_SEND/CHUNK_GET.
    pub const CHUNK: u32 = 1 << 17;
}

/// Algorithm selection bits (DSP0274 1.2 NEGOTIATE_ALGORITHMS tables).
pub mod alg {
    /// MeasurementSpecification: DMTF.
    pub const MEAS_SPEC_DMTF: u8 = 0x01;
    /// OtherParams: opaque data format 1 (1.2 general opaque data).
    pub const OPAQUE_DATA_FMT1: u8 = 0x02;
    /// BaseAsymAlgo: RSASSA-3072.
    pub const ASYM_RSASSA_3072: u32 = 1 << 2;
    /// BaseAsymAlgo: ECDSA P-256.
    pub const ASYM_ECDSA_P256: u32 = 1 << 4;
    /// BaseAsymAlgo: ECDSA P-384.
    pub const ASYM_ECDSA_P384: u32 = 1 << 7;
    /// BaseHashAlgo: SHA-256.
    pub const HASH_SHA256: u32 = 1 << 0;
    /// BaseHashAlgo: SHA-384.
    pub const HASH_SHA384: u32 = 1 << 1;
    /// MeasurementHashAlgo: raw bit stream only.
    pub const MEAS_HASH_RAW: u32 = 1 << 0;
    /// MeasurementHashAlgo: SHA-256.
    pub const MEAS_HASH_SHA256: u32 = 1 << 1;
    /// MeasurementHashAlgo: SHA-384.
    pub const MEAS_HASH_SHA384: u32 = 1 << 2;
    /// DHE group: secp256r1.
    pub const DHE_SECP256R1: u16 = 1 << 3;
    /// DHE group: secp384r1.
    pub const DHE_SECP384R1: u16 = 1 << 4;
    /// AEAD: AES-128-GCM.
    pub const AEAD_AES_128_GCM: u16 = 1 << 0;
    /// AEAD: AES-256-GCM.
    pub const AEAD_AES_256_GCM: u16 = 1 << 1;
    /// Key schedule: the SPDM key schedule.
    pub const KEY_SCHEDULE_SPDM: u16 = 1 << 0;
    /// AlgStruct AlgType: DHE.
    pub const TYPE_DHE: u8 = 2;
    /// AlgStruct AlgType: AEAD cipher suite.
    pub const TYPE_AEAD: u8 = 3;
    /// AlgStruct AlgType: requester base asymmetric algorithm.
    pub const TYPE_REQ_BASE_ASYM: u8 = 4;
    /// AlgStruct AlgType: key schedule.
    pub const TYPE_KEY_SCHEDULE: u8 = 5;
}

/// Size of nonces and random data fields.
pub const NONCE_LEN: usize = 32;
pub use algo::{
    AEAD_IV_LEN, AEAD_TAG_LEN, MAX_AEAD_KEY_LEN, MAX_DHE_LEN, MAX_HASH_LEN, MAX_SHARED_SECRET_LEN,
    MAX_SIGNATURE_LEN,
};

/// Field sizes that depend on the negotiated algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlgSizes {
    /// Base hash digest size H.
    pub hash: usize,
    /// Base asymmetric signature size S.
    pub signature: usize,
    /// DHE exchange data size D.
    pub dhe: usize,
}

impl AlgSizes {
    /// Sizes of the ECDSA-P384 / SHA-384 / secp384r1 suite.
    pub const P384_SHA384: AlgSizes = algo::Algorithms::P384.sizes();
    /// Sizes of the ECDSA-P256 / SHA-256 / secp256r1 suite.
    pub const P256_SHA256: AlgSizes = algo::Algorithms::P256.sizes();
}

/// What went wrong in a requester or responder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A message or object is malformed, or an output buffer is too small.
    Codec(wire::Error),
    /// The crypto provider failed or a signature/MAC did not verify.
    Crypto(crypto::CryptoError),
    /// The peer answered with an SPDM ERROR response.
    Peer {
        /// ERROR Param1, see [`error_code`].
        code: u8,
        /// ERROR Param2.
        data: u8,
    },
    /// A message arrived (or was asked for) out of the order DSP0274 allows.
    UnexpectedMessage(u8),
    /// No common version, capability or algorithm, or a field the
    /// negotiated state forbids.
    Negotiation(&'static str),
    /// A secured message named an unknown session or failed to decrypt.
    Session(&'static str),
}

impl From<wire::Error> for Error {
    fn from(e: wire::Error) -> Self {
        Error::Codec(e)
    }
}

impl From<crypto::CryptoError> for Error {
    fn from(e: crypto::CryptoError) -> Self {
        Error::Crypto(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Codec(e) => write!(f, "codec: {e}"),
            Error::Crypto(e) => write!(f, "crypto: {e:?}"),
            Error::Peer { code, data } => write!(f, "peer error {code:#04x} data {data:#04x}"),
            Error::UnexpectedMessage(code) => write!(f, "unexpected message {code:#04x}"),
            Error::Negotiation(what) => write!(f, "negotiation failed: {what}"),
            Error::Session(what) => write!(f, "session: {what}"),
        }
    }
}

/// Result of a requester or responder operation.
pub type Result<T> = core::result::Result<T, Error>;
