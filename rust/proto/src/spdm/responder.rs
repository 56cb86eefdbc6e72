// SPDX-License-Identifier: GPL-2.0
//! SPDM 1.2/1.3 responder (the device side) over DOE.
//!
//! [`Responder::process`] takes one DOE request object and writes one DOE
//! response object. Requests out of the order DSP0274 allows get an ERROR
//! response (UnexpectedRequest); malformed requests get InvalidRequest.
//! A secured record for an unknown session or one that fails to decrypt
//! yields `Err` and no response: the record cannot be answered safely
//! (the session, if any, is torn down).
//!
//! Supported: GET_VERSION, GET_CAPABILITIES, NEGOTIATE_ALGORITHMS,
//! GET_DIGESTS, GET_CERTIFICATE, CHALLENGE (with or without a measurement
//! summary hash), GET_MEASUREMENTS (outside or inside a session),
//! KEY_EXCHANGE (slot 0, no mutual authentication), FINISH, HEARTBEAT,
//! KEY_UPDATE, END_SESSION and PCI-SIG VENDOR_DEFINED_REQUEST in a session,
//! one session at a time. SPDM 1.2 and 1.3 and secured messages 1.1 and 1.2
//! are offered unless [`Responder::set_versions`] narrows them.
//!
//! NEGOTIATE_ALGORITHMS: of each kind (BaseHashAlgo, BaseAsymAlgo, DHE,
//! AEAD) the responder selects the strongest algorithm that the requester
//! offers, the crypto provider supports ([`SpdmCrypto::supported`]; for
//! the signature algorithm, the key it signs with) and
//! [`ResponderConfig::algorithms`] allows. DSP0274 1.3 Table 21 and Table
//! 22 ask for at most one selected bit of what was offered and give the
//! offered bits no order, so the choice among common algorithms is the
//! responder's: P-384 over P-256, SHA-384 over SHA-256, secp384r1 over
//! secp256r1, AES-256-GCM over AES-128-GCM. Where nothing is common the
//! field is answered with no bit set, which tells the requester so, and
//! the connection stays where it was (later requests are unexpected).
//! The certificate chain is served in the SPDM format of the negotiated
//! hash: Length, Reserved and RootHash (H bytes) are built in front of
//! [`ResponderConfig::certificates`].
//!
//! Measurement summary hashes cover whole measurement blocks in index
//! order (DSP0274 1.3 Tables 45 and 71, MeasurementSummaryHash): all of
//! them for type ALL, and for type TCB the blocks of the immutable ROM and
//! mutable firmware types, which this model counts as its TCB.
//!
//! KEY_UPDATE needs KEY_UPD_CAP on both sides (else UnsupportedRequest).
//! UpdateKey switches the request keys, UpdateAllKeys both, before
//! KEY_UPDATE_ACK is sealed: the ACK to UpdateAllKeys goes under the new
//! response keys, as DMTF's libspdm and spdm-rs send it. The old keys are
//! dropped at once: the DOE binding's sequence numbers are implicit, so a
//! KEY_UPDATE whose ACK was lost cannot be retried anyway (the two sides'
//! response sequence numbers no longer agree), and a record under the old
//! keys fails like any other. The update awaits VerifyNewKey, under the new
//! keys; another update before it, or VerifyNewKey without one, is an
//! InvalidRequest.

use super::super::doe;
use super::crypto::{ct_eq, hash_all, Algorithms, Digest, HashAlgo, SpdmCrypto, Supported};
use super::key_schedule::Direction;
use super::msg::{self, Header, KeyOperation, MeasurementBlock};
use super::session::{self, EarlyTranscript, Session, SessionParams, PLAIN_OFFSET, SECURED_OFFSET};
use super::vendor::PciSigMessage;
use super::wire::{self, Reader, Writer};
use super::{
    alg, cap, code, error_code, opaque, Error, Result, Versions, MAX_HASH_LEN, MAX_SIGNATURE_LEN,
    NONCE_LEN, VERSION_10,
};

/// What the device offers.
#[derive(Clone, Copy, Debug)]
pub struct ResponderConfig<'a> {
    /// CAPABILITIES flags, see [`cap`].
    pub flags: u32,
    /// CTExponent.
    pub ct_exponent: u8,
    /// DataTransferSize: largest request accepted.
    pub data_transfer_size: u32,
    /// MaxSPDMmsgSize.
    pub max_spdm_msg_size: u32,
    /// The certificates of slot 0, DER, root first and leaf last: the
    /// SPDM certificate chain without its Length, Reserved and RootHash,
    /// which depend on the negotiated hash and are added in front. The
    /// leaf key is the one the crypto provider signs with.
    pub certificates: &'a [u8],
    /// Measurement blocks served by GET_MEASUREMENTS.
    pub measurements: &'a [MeasurementBlock<'a>],
    /// The hash of the digest-type measurement blocks, selected as
    /// MeasurementHashAlgo (which DSP0274 1.3 Table 21 lets the responder
    /// choose independently of the base hash).
    pub measurement_hash: HashAlgo,
    /// The algorithms the responder may select (further limited to what
    /// the crypto provider supports): [`Supported::ALL`], or e.g.
    /// [`Supported::P384`] for a device that only does the P-384 suite.
    pub algorithms: Supported,
    /// RspSessionID to hand out.
    pub rsp_session_id: u16,
}

/// Handles PCI-SIG vendor-defined protocols (IDE_KM, TDISP) in a session.
pub trait VendorHandler {
    /// Handles the protocol message `request` of `protocol` and writes the
    /// response protocol message (without the protocol ID byte).
    /// An `Err` carries the SPDM error code to answer with instead.
    fn handle(
        &mut self,
        session_id: u32,
        protocol: u8,
        request: &[u8],
        response: &mut Writer<'_>,
    ) -> core::result::Result<(), u8>;
    /// The session ended (END_SESSION, GET_VERSION reset or a failed record).
    fn session_ended(&mut self, session_id: u32);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Connection {
    /// Waiting for GET_VERSION.
    Start,
    /// VERSION sent; GET_CAPABILITIES next.
    Versioned,
    /// CAPABILITIES sent; NEGOTIATE_ALGORITHMS next.
    Capable,
    /// Algorithms negotiated.
    Negotiated,
}

/// Why a request was not answered normally.
enum Fail {
    /// Answer with an SPDM ERROR (code, data).
    Reply(u8, u8),
    /// Local failure: no answer can be produced.
    Local(Error),
}

impl From<wire::Error> for Fail {
    fn from(e: wire::Error) -> Self {
        Fail::Local(e.into())
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Local(e)
    }
}

impl From<super::crypto::CryptoError> for Fail {
    fn from(e: super::crypto::CryptoError) -> Self {
        Fail::Local(e.into())
    }
}

type Handled = core::result::Result<usize, Fail>;

/// What happens to the session after a secured answer is sealed.
enum After {
    Nothing,
    /// FINISH_RSP was sent: switch to application data keys.
    Establish,
    /// END_SESSION_ACK (or a fatal ERROR) was sent: drop the session.
    End,
}

/// Maps a request decoding error to an InvalidRequest answer.
fn invalid<T>(r: wire::Result<T>) -> core::result::Result<T, Fail> {
    r.map_err(|_| Fail::Reply(error_code::INVALID_REQUEST, 0))
}

/// Reads a plain request and checks that only DOE padding follows.
fn decode_plain<'m, T>(
    msg: &'m [u8],
    read: impl FnOnce(&mut Reader<'m>) -> wire::Result<T>,
) -> core::result::Result<(T, &'m [u8]), Fail> {
    let mut r = Reader::new(msg);
    let value = invalid(read(&mut r))?;
    let exact = msg.get(..r.consumed()).unwrap_or(&[]);
    invalid(doe::check_padding(r.rest()))?;
    Ok((value, exact))
}

/// Reads a secured request, which must fill its application data exactly.
fn decode_exact<'m, T>(
    msg: &'m [u8],
    read: impl FnOnce(&mut Reader<'m>) -> wire::Result<T>,
) -> core::result::Result<T, Fail> {
    let mut r = Reader::new(msg);
    let value = invalid(read(&mut r))?;
    invalid(r.finish())?;
    Ok(value)
}

/// The SPDM responder.
pub struct Responder<'a, C: SpdmCrypto> {
    crypto: C,
    config: ResponderConfig<'a>,
    state: Connection,
    /// Negotiated SPDMVersion (1.0 until VERSION).
    version: u8,
    requester_flags: u32,
    /// VCA while the hash is not known yet.
    early: EarlyTranscript<C>,
    /// What ALGORITHMS selected.
    algorithms: Option<Algorithms>,
    /// The SPDM chain header for the negotiated hash and the chain's digest.
    chain: Option<(ChainHeader, Digest)>,
    /// VCA: GET_VERSION .. ALGORITHMS.
    vca: C::Hash,
    /// M1 for CHALLENGE_AUTH: VCA || digests/certificates || CHALLENGE...
    m1: C::Hash,
    /// L1 for MEASUREMENTS: VCA || GET_MEASUREMENTS/MEASUREMENTS...
    l1: C::Hash,
    session: Option<Session<C>>,
    versions: Versions,
    heartbeat_period: u8,
}

/// Length(2), Reserved(2) and RootHash(H) of the served SPDM chain.
#[derive(Clone, Copy)]
struct ChainHeader {
    bytes: [u8; 4 + MAX_HASH_LEN],
    len: usize,
}

impl ChainHeader {
    fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// Size of the first DER element (tag, length, contents) of `der`, if it
/// is complete: the root certificate of a chain.
fn der_element_len(der: &[u8]) -> Option<usize> {
    let mut r = Reader::new(der);
    let tag = r.u8().ok()?;
    if tag & 0x1F == 0x1F {
        return None;
    }
    let first = r.u8().ok()?;
    let content = match first {
        0..=0x7F => usize::from(first),
        0x81..=0x83 => {
            let mut len = 0usize;
            for _ in 0..first & 0x7F {
                len = (len << 8) | usize::from(r.u8().ok()?);
            }
            len
        }
        _ => return None,
    };
    let total = r.consumed().checked_add(content)?;
    (total <= der.len()).then_some(total)
}

/// DMTFSpecMeasurementValueType of immutable ROM.
const VALUE_TYPE_IMMUTABLE_ROM: u8 = 0x00;
/// DMTFSpecMeasurementValueType of mutable firmware.
const VALUE_TYPE_MUTABLE_FIRMWARE: u8 = 0x01;

impl<'a, C: SpdmCrypto> Responder<'a, C> {
    /// A responder waiting for GET_VERSION.
    pub fn new(crypto: C, config: ResponderConfig<'a>) -> Self {
        // Placeholders until NEGOTIATE_ALGORITHMS settles the hash.
        let placeholder = crypto.supported().strongest_hash();
        let vca = crypto.hash_new(placeholder.unwrap_or(HashAlgo::Sha384));
        Self {
            early: EarlyTranscript::new(&crypto, Supported::NONE),
            algorithms: None,
            chain: None,
            m1: vca.clone(),
            l1: vca.clone(),
            vca,
            crypto,
            config,
            state: Connection::Start,
            version: VERSION_10,
            requester_flags: 0,
            session: None,
            versions: Versions::ALL,
            heartbeat_period: super::DEFAULT_HEARTBEAT_PERIOD,
        }
    }

    /// Limits the SPDM and secured-message versions offered (default
    /// [`Versions::ALL`]); takes effect at the next GET_VERSION.
    pub fn set_versions(&mut self, versions: Versions) {
        self.versions = versions;
    }

    /// Sets the HeartbeatPeriod in seconds that KEY_EXCHANGE_RSP offers
    /// when both sides have HBEAT_CAP (default
    /// [`super::DEFAULT_HEARTBEAT_PERIOD`]; 0 asks for no heartbeats).
    pub fn set_heartbeat_period(&mut self, seconds: u8) {
        self.heartbeat_period = seconds;
    }

    /// What the responder may select: its configuration limited to what
    /// the provider supports.
    pub fn supported(&self) -> Supported {
        self.config
            .algorithms
            .known()
            .intersect(self.crypto.supported())
    }

    /// The algorithms ALGORITHMS selected.
    pub fn algorithms(&self) -> Option<Algorithms> {
        self.algorithms
    }

    /// The negotiated algorithms (the state checks make this infallible
    /// where it is used).
    fn algs(&self) -> core::result::Result<Algorithms, Fail> {
        self.algorithms
            .ok_or(Fail::Reply(error_code::UNEXPECTED_REQUEST, 0))
    }

    /// The negotiated SPDMVersion, once GET_CAPABILITIES chose it.
    pub fn spdm_version(&self) -> Option<u8> {
        (self.state != Connection::Start && self.state != Connection::Versioned)
            .then_some(self.version)
    }

    /// The secured-message version of the current session.
    pub fn secured_version(&self) -> Option<u16> {
        self.session.as_ref().map(|s| s.secured_version)
    }

    /// The crypto provider (for tests that swap keys).
    pub fn crypto_mut(&mut self) -> &mut C {
        &mut self.crypto
    }

    /// The current SessionID, if a session exists.
    pub fn session_id(&self) -> Option<u32> {
        self.session.as_ref().map(|s| s.id)
    }

    /// Processes one DOE request object and writes the DOE response object
    /// into `response`, returning its length. `request` is decrypted in place.
    pub fn process(
        &mut self,
        request: &mut [u8],
        response: &mut [u8],
        vendor: &mut dyn VendorHandler,
    ) -> Result<usize> {
        let (header, payload_len) = {
            let (header, payload) = doe::decode_object(request)?;
            (header, payload.len())
        };
        if header.vendor_id != doe::PCI_SIG_VENDOR_ID {
            return Err(wire::Error::InvalidField("VendorID").into());
        }
        let payload = request
            .get_mut(doe::HEADER_LEN..doe::HEADER_LEN + payload_len)
            .ok_or(wire::Error::Truncated)?;
        match header.object_type {
            doe::TYPE_CMA => self.process_plain(payload, response, vendor),
            doe::TYPE_SECURED_CMA => self.process_secured(payload, response, vendor),
            _ => Err(wire::Error::InvalidField("DataObjectType").into()),
        }
    }

    fn process_plain(
        &mut self,
        msg: &[u8],
        out: &mut [u8],
        vendor: &mut dyn VendorHandler,
    ) -> Result<usize> {
        let body = out
            .get_mut(PLAIN_OFFSET..)
            .ok_or(wire::Error::BufferTooSmall)?;
        let handled = match Header::peek(msg) {
            Err(_) => Err(Fail::Reply(error_code::INVALID_REQUEST, 0)),
            Ok(h) => self.dispatch_plain(&h, msg, body, vendor),
        };
        let len = self.answer(
            handled,
            out.get_mut(PLAIN_OFFSET..)
                .ok_or(wire::Error::BufferTooSmall)?,
        )?;
        session::frame::<C>(out, len, None)
    }

    /// Turns a handler outcome into a message length, writing ERROR if needed.
    fn answer(&self, handled: Handled, body: &mut [u8]) -> Result<usize> {
        match handled {
            Ok(len) => Ok(len),
            Err(Fail::Local(e)) => Err(e),
            Err(Fail::Reply(code, data)) => Ok(wire::encode_into(body, |w| {
                msg::ErrorRsp {
                    version: self.version,
                    code,
                    data,
                    extended: &[],
                }
                .write(w)
            })?),
        }
    }

    fn dispatch_plain(
        &mut self,
        h: &Header,
        msg: &[u8],
        out: &mut [u8],
        vendor: &mut dyn VendorHandler,
    ) -> Handled {
        if h.code == code::GET_VERSION {
            return self.get_version(msg, out, vendor);
        }
        if self.state == Connection::Start {
            return Err(Fail::Reply(error_code::UNEXPECTED_REQUEST, 0));
        }
        // GET_CAPABILITIES is where the requester picks the version.
        if h.version != self.version && h.code != code::GET_CAPABILITIES {
            return Err(Fail::Reply(error_code::VERSION_MISMATCH, 0));
        }
        match h.code {
            code::GET_CAPABILITIES => self.get_capabilities(msg, out),
            code::NEGOTIATE_ALGORITHMS => self.negotiate_algorithms(msg, out),
            code::GET_DIGESTS => self.get_digests(msg, out),
            code::GET_CERTIFICATE => self.get_certificate(msg, out),
            code::CHALLENGE => self.challenge(msg, out),
            code::GET_MEASUREMENTS => self.get_measurements(msg, out),
            code::KEY_EXCHANGE => self.key_exchange(msg, out),
            code::FINISH => Err(Fail::Reply(error_code::UNEXPECTED_REQUEST, 0)),
            code::END_SESSION
            | code::HEARTBEAT
            | code::KEY_UPDATE
            | code::VENDOR_DEFINED_REQUEST => Err(Fail::Reply(error_code::SESSION_REQUIRED, 0)),
            other => Err(Fail::Reply(error_code::UNSUPPORTED_REQUEST, other)),
        }
    }

    /// Fails with UnexpectedRequest unless the connection is in `state`.
    fn expect(&self, state: Connection) -> core::result::Result<(), Fail> {
        if self.state == state {
            Ok(())
        } else {
            Err(Fail::Reply(error_code::UNEXPECTED_REQUEST, 0))
        }
    }

    fn end_session(&mut self, vendor: &mut dyn VendorHandler) {
        if let Some(s) = self.session.take() {
            vendor.session_ended(s.id);
        }
    }

    fn get_version(
        &mut self,
        msg: &[u8],
        out: &mut [u8],
        vendor: &mut dyn VendorHandler,
    ) -> Handled {
        let (_, req) = decode_plain(msg, msg::GetVersion::read)?;
        // GET_VERSION resets the connection and ends any session.
        self.end_session(vendor);
        self.state = Connection::Start;
        self.version = VERSION_10;
        self.algorithms = None;
        self.chain = None;
        // One entry per version: bits 15:12 major, 11:8 minor, update and
        // alpha 0, so the high byte is the SPDMVersion byte.
        let mut entries = [0u8; 4];
        let mut count = 0;
        for (entry, version) in entries.chunks_exact_mut(2).zip(self.versions.spdm()) {
            entry[1] = version;
            count += 2;
        }
        let len = wire::encode_into(out, |w| {
            msg::Version {
                entries: entries.get(..count).unwrap_or(&[]),
            }
            .write(w)
        })?;
        // VCA is hashed with every algorithm that may be selected.
        self.early = EarlyTranscript::new(&self.crypto, self.supported());
        self.early.update(&self.crypto, req);
        self.early
            .update(&self.crypto, out.get(..len).unwrap_or(&[]));
        self.state = Connection::Versioned;
        Ok(len)
    }

    fn get_capabilities(&mut self, msg: &[u8], out: &mut [u8]) -> Handled {
        self.expect(Connection::Versioned)?;
        let (caps, req) =
            decode_plain(msg, |r| msg::Capabilities::read(r, code::GET_CAPABILITIES))?;
        if !self.versions.spdm().any(|v| v == caps.version) {
            return Err(Fail::Reply(error_code::VERSION_MISMATCH, 0));
        }
        // 1.3 Param1 bit 0 asks for the Supported Algorithms block, which
        // needs CHUNK_CAP (DSP0274 1.3 Table 11): without it the request is
        // invalid; with it the block is simply not offered (Table 12).
        let supported_algorithms = invalid(Header::peek(msg))?.param1 & 1 != 0;
        if caps.version >= super::VERSION_13
            && supported_algorithms
            && self.config.flags & cap::CHUNK == 0
        {
            return Err(Fail::Reply(error_code::INVALID_REQUEST, 0));
        }
        self.version = caps.version;
        self.requester_flags = caps.flags;
        let rsp = msg::Capabilities {
            version: self.version,
            ct_exponent: self.config.ct_exponent,
            flags: self.config.flags,
            data_transfer_size: self.config.data_transfer_size,
            max_spdm_msg_size: self.config.max_spdm_msg_size,
        };
        let len = wire::encode_into(out, |w| rsp.write(w, code::CAPABILITIES))?;
        self.early.update(&self.crypto, req);
        self.early
            .update(&self.crypto, out.get(..len).unwrap_or(&[]));
        self.state = Connection::Capable;
        Ok(len)
    }

    fn negotiate_algorithms(&mut self, msg: &[u8], out: &mut [u8]) -> Handled {
        self.expect(Connection::Capable)?;
        let (req, bytes) = decode_plain(msg, msg::NegotiateAlgorithms::read)?;
        // Of each kind the strongest algorithm both sides support; a zero
        // selection tells the requester there is no common algorithm.
        let common = self.supported().intersect(Supported {
            hash: req.base_hash,
            asym: req.base_asym,
            dhe: req.structs.dhe,
            aead: req.structs.aead,
        });
        let hash = common.strongest_hash();
        let asym = common.strongest_asym();
        let dhe = common.strongest_dhe();
        let aead = common.strongest_aead();
        let key_schedule = req.structs.key_schedule & alg::KEY_SCHEDULE_SPDM;
        // Without MEAS_CAP there is no measurement specification or hash
        // to select (DSP0274 1.3 Table 21, MeasurementHashAlgo).
        let measurement_spec = if self.config.flags & cap::MEAS != 0 {
            req.measurement_spec & alg::MEAS_SPEC_DMTF
        } else {
            0
        };
        let measurement_hash = if measurement_spec != 0 {
            self.config.measurement_hash.measurement_bit()
        } else {
            0
        };
        // Only AlgTypes the requester sent can be selected (Table 22): one
        // it did not send decodes as 0, selects nothing and is not encoded.
        let rsp = msg::Algorithms {
            version: self.version,
            measurement_spec,
            other_params: req.other_params & alg::OPAQUE_DATA_FMT1,
            measurement_hash,
            base_asym: asym.map_or(0, |a| a.bit()),
            base_hash: hash.map_or(0, |h| h.bit()),
            structs: msg::AlgStructs {
                dhe: dhe.map_or(0, |g| g.bit()),
                aead: aead.map_or(0, |a| a.bit()),
                req_base_asym: 0,
                key_schedule,
            },
        };
        let len = wire::encode_into(out, |w| rsp.write(w))?;
        let selected = match (hash, asym, dhe, aead) {
            (Some(hash), Some(asym), Some(dhe), Some(aead)) if key_schedule != 0 => Algorithms {
                hash,
                asym,
                dhe,
                aead,
            },
            // Nothing in common: the answer says so and nothing is negotiated.
            _ => return Ok(len),
        };
        self.early.update(&self.crypto, bytes);
        self.early
            .update(&self.crypto, out.get(..len).unwrap_or(&[]));
        self.vca = self
            .early
            .take(selected.hash)
            .ok_or(Fail::Reply(error_code::UNSPECIFIED, 0))?;
        self.algorithms = Some(selected);
        self.chain = self.chain_header(selected.hash);
        self.m1 = self.vca.clone();
        self.l1 = self.vca.clone();
        self.state = Connection::Negotiated;
        Ok(len)
    }

    /// The SPDM chain header (Length, Reserved, RootHash) of the configured
    /// certificates for hash `alg`, and the digest of the whole chain; `None`
    /// if the certificates do not start with a complete DER element or the
    /// chain would exceed 64 KiB.
    fn chain_header(&self, alg: HashAlgo) -> Option<(ChainHeader, Digest)> {
        let certs = self.config.certificates;
        let root = certs.get(..der_element_len(certs)?)?;
        let root_hash = hash_all(&self.crypto, alg, root);
        let len = 4 + root_hash.len();
        let total = u16::try_from(len.checked_add(certs.len())?).ok()?;
        let mut header = ChainHeader {
            bytes: [0; 4 + MAX_HASH_LEN],
            len,
        };
        header
            .bytes
            .get_mut(..2)?
            .copy_from_slice(&total.to_le_bytes());
        header
            .bytes
            .get_mut(4..len)?
            .copy_from_slice(root_hash.as_slice());
        let mut digest = self.crypto.hash_new(alg);
        self.crypto.hash_update(&mut digest, header.as_slice());
        self.crypto.hash_update(&mut digest, certs);
        Some((header, self.crypto.hash_finish(digest)))
    }

    /// The chain header and digest, or ERROR Unspecified for certificates
    /// that cannot be served.
    fn chain(&self) -> core::result::Result<(ChainHeader, Digest), Fail> {
        self.chain.ok_or(Fail::Reply(error_code::UNSPECIFIED, 0))
    }

    /// Fails with UnsupportedRequest unless CAPABILITIES advertised `flag`.
    fn require_cap(&self, flag: u32, request_code: u8) -> core::result::Result<(), Fail> {
        if self.config.flags & flag == 0 {
            return Err(Fail::Reply(error_code::UNSUPPORTED_REQUEST, request_code));
        }
        Ok(())
    }

    fn get_digests(&mut self, msg: &[u8], out: &mut [u8]) -> Handled {
        self.expect(Connection::Negotiated)?;
        self.require_cap(cap::CERT, code::GET_DIGESTS)?;
        let (_, req) = decode_plain(msg, |r| msg::Bare::read(r, code::GET_DIGESTS))?;
        let sizes = self.algs()?.sizes();
        let (_, digest) = self.chain()?;
        let len = wire::encode_into(out, |w| {
            msg::Digests {
                version: self.version,
                slot_mask: 1,
                digests: digest.as_slice(),
            }
            .write(w, &sizes)
        })?;
        self.crypto.hash_update(&mut self.m1, req);
        self.crypto
            .hash_update(&mut self.m1, out.get(..len).unwrap_or(&[]));
        Ok(len)
    }

    fn get_certificate(&mut self, msg: &[u8], out: &mut [u8]) -> Handled {
        self.expect(Connection::Negotiated)?;
        self.require_cap(cap::CERT, code::GET_CERTIFICATE)?;
        let (req, bytes) = decode_plain(msg, msg::GetCertificate::read)?;
        let (header, _) = self.chain()?;
        // The chain is the header followed by the certificates.
        let (head, certs) = (header.as_slice(), self.config.certificates);
        let chain_len = head.len() + certs.len();
        let offset = usize::from(req.offset);
        if req.slot != 0 || offset >= chain_len {
            return Err(Fail::Reply(error_code::INVALID_REQUEST, 0));
        }
        // Keep each response within DataTransferSize.
        let limit = (self.config.data_transfer_size as usize).saturating_sub(8);
        let portion_len = usize::from(req.length).min(limit).min(chain_len - offset);
        let end = offset + portion_len;
        let remainder =
            u16::try_from(chain_len - end).map_err(|_| Fail::Reply(error_code::UNSPECIFIED, 0))?;
        let from_head = head.get(offset.min(head.len())..end.min(head.len()));
        let from_certs = certs.get(offset.saturating_sub(head.len())..end - head.len().min(end));
        let len = wire::encode_into(out, |w| {
            Header {
                version: self.version,
                code: code::CERTIFICATE,
                param1: 0,
                param2: 0,
            }
            .write(w)?;
            w.len_u16(portion_len)?;
            w.u16(remainder)?;
            w.bytes(from_head.unwrap_or(&[]))?;
            w.bytes(from_certs.unwrap_or(&[]))
        })?;
        self.crypto.hash_update(&mut self.m1, bytes);
        self.crypto
            .hash_update(&mut self.m1, out.get(..len).unwrap_or(&[]));
        Ok(len)
    }

    /// Signs `out[..sig_end - S]` (already hashed into `transcript`) and
    /// writes the signature at `out[sig_end - S..sig_end]`.
    fn sign_into(
        &mut self,
        transcript: C::Hash,
        context: &[u8],
        out: &mut [u8],
        sig_end: usize,
    ) -> core::result::Result<(), Fail> {
        let algs = self.algs()?;
        let digest = self.crypto.hash_finish(transcript);
        let input = session::signing_input(self.version, context, &digest);
        let signature = self.crypto.sign(algs.asym, algs.hash, input.as_slice())?;
        let len = algs.asym.signature_len();
        if signature.len() != len {
            return Err(Fail::Local(super::crypto::CryptoError::Failed.into()));
        }
        out.get_mut(sig_end.saturating_sub(len)..sig_end)
            .ok_or(Fail::Local(wire::Error::BufferTooSmall.into()))?
            .copy_from_slice(signature.as_slice());
        Ok(())
    }

    fn challenge(&mut self, msg: &[u8], out: &mut [u8]) -> Handled {
        self.expect(Connection::Negotiated)?;
        self.require_cap(cap::CHAL, code::CHALLENGE)?;
        let (req, bytes) = decode_plain(msg, msg::Challenge::read)?;
        if req.slot != 0 {
            return Err(Fail::Reply(error_code::INVALID_REQUEST, 0));
        }
        let summary = self.measurement_summary(req.meas_summary_type)?;
        let mut nonce = [0u8; NONCE_LEN];
        self.crypto.random(&mut nonce)?;
        let sizes = self.algs()?.sizes();
        let (_, chain_hash) = self.chain()?;
        let zeros = [0; MAX_SIGNATURE_LEN];
        let rsp = msg::ChallengeAuth {
            version: self.version,
            slot: 0,
            slot_mask: 1,
            cert_chain_hash: chain_hash.as_slice(),
            nonce: &nonce,
            meas_summary_hash: summary.as_ref().map_or(&[][..], |d| d.as_slice()),
            opaque: &[],
            requester_context: req.requester_context,
            signature: zeros.get(..sizes.signature).unwrap_or(&[]),
        };
        let len = wire::encode_into(out, |w| rsp.write(w))?;
        let mut m1 = self.m1.clone();
        self.crypto.hash_update(&mut m1, bytes);
        let signed = len.saturating_sub(sizes.signature);
        self.crypto
            .hash_update(&mut m1, out.get(..signed).unwrap_or(&[]));
        self.sign_into(m1, session::CONTEXT_CHALLENGE_AUTH, out, len)?;
        // A completed CHALLENGE starts a new M1.
        self.m1 = self.vca.clone();
        Ok(len)
    }

    /// The MeasurementSummaryHash a CHALLENGE or KEY_EXCHANGE asked for, or
    /// `None` for type NONE. Without MEAS_CAP only NONE is valid (DSP0274
    /// 1.3 Table 14, MEAS_CAP).
    fn measurement_summary(&self, summary_type: u8) -> core::result::Result<Option<Digest>, Fail> {
        if summary_type == msg::meas_summary::NONE {
            return Ok(None);
        }
        if self.config.flags & cap::MEAS == 0 {
            return Err(Fail::Reply(error_code::INVALID_REQUEST, 0));
        }
        let in_summary = |b: &&MeasurementBlock<'_>| {
            summary_type == msg::meas_summary::ALL
                || matches!(
                    b.value_type & 0x7F,
                    VALUE_TYPE_IMMUTABLE_ROM | VALUE_TYPE_MUTABLE_FIRMWARE
                )
        };
        // Blocks of indices 1..=0xFE in ascending index order (DSP0274 1.3
        // Table 71, MeasurementSummaryHash); a TCB without blocks gives 0.
        let blocks = self.config.measurements;
        let alg = self.algs()?.hash;
        let mut hash = self.crypto.hash_new(alg);
        let mut any = false;
        for index in 1..=0xFE {
            for b in blocks
                .iter()
                .filter(in_summary)
                .filter(|b| b.index == index)
            {
                self.crypto.hash_update(&mut hash, &b.encoded_header()?);
                self.crypto.hash_update(&mut hash, b.value);
                any = true;
            }
        }
        if !any && summary_type == msg::meas_summary::TCB {
            return Ok(Some(Digest::zeroed(alg.digest_len())?));
        }
        Ok(Some(self.crypto.hash_finish(hash)))
    }

    /// GET_MEASUREMENTS outside a session.
    fn get_measurements(&mut self, msg: &[u8], out: &mut [u8]) -> Handled {
        self.expect(Connection::Negotiated)?;
        let (req, bytes) = decode_plain(msg, msg::GetMeasurements::read)?;
        let mut l1 = self.l1.clone();
        let len = self.measurements(&req, bytes, &mut l1, out)?;
        self.l1 = l1;
        Ok(len)
    }

    /// Answers a decoded GET_MEASUREMENTS (`bytes` as received) and runs
    /// `l1`, the connection's or the session's transcript: a signed answer
    /// signs it and restarts it at VCA.
    fn measurements(
        &mut self,
        req: &msg::GetMeasurements<'_>,
        bytes: &[u8],
        l1: &mut C::Hash,
        out: &mut [u8],
    ) -> Handled {
        let signed = req.signed.is_some();
        self.require_cap(
            if signed { cap::MEAS_SIG } else { cap::MEAS },
            code::GET_MEASUREMENTS,
        )?;
        if req.signed.is_some_and(|(_, slot)| slot != 0) {
            return Err(Fail::Reply(error_code::INVALID_REQUEST, 0));
        }
        let blocks = self.config.measurements;
        let selected = |b: &&MeasurementBlock<'_>| {
            req.operation == msg::MEAS_OP_ALL || b.index == req.operation
        };
        let (total, count) = match req.operation {
            msg::MEAS_OP_COUNT => (u8::try_from(blocks.len()).unwrap_or(u8::MAX), 0),
            _ => (0, blocks.iter().filter(selected).count()),
        };
        if req.operation != msg::MEAS_OP_COUNT && count == 0 {
            return Err(Fail::Reply(error_code::INVALID_REQUEST, 0));
        }
        let mut nonce = [0u8; NONCE_LEN];
        self.crypto.random(&mut nonce)?;
        let sig_len = if signed {
            self.algs()?.asym.signature_len()
        } else {
            0
        };
        let version = self.version;
        // The record is written in place, block by block.
        let len = wire::encode_into(out, |w| {
            Header {
                version,
                code: code::MEASUREMENTS,
                param1: total,
                param2: 0,
            }
            .write(w)?;
            w.u8(u8::try_from(count).map_err(|_| wire::Error::InvalidField("NumberOfBlocks"))?)?;
            let record_len: usize = blocks
                .iter()
                .filter(selected)
                .map(|b| b.encoded_len())
                .sum();
            w.u24(
                u32::try_from(if req.operation == msg::MEAS_OP_COUNT {
                    0
                } else {
                    record_len
                })
                .unwrap_or(u32::MAX),
            )?;
            if req.operation != msg::MEAS_OP_COUNT {
                for b in blocks.iter().filter(selected) {
                    b.write(w)?;
                }
            }
            w.bytes(&nonce)?;
            w.u16(0)?;
            if version >= super::VERSION_13 {
                w.bytes(&req.requester_context)?;
            }
            w.zeros(sig_len)
        })?;
        self.crypto.hash_update(l1, bytes);
        self.crypto
            .hash_update(l1, out.get(..len - sig_len).unwrap_or(&[]));
        if signed {
            let transcript = core::mem::replace(l1, self.vca.clone());
            self.sign_into(transcript, session::CONTEXT_MEASUREMENTS, out, len)?;
        }
        Ok(len)
    }

    fn key_exchange(&mut self, msg: &[u8], out: &mut [u8]) -> Handled {
        self.expect(Connection::Negotiated)?;
        self.require_cap(cap::KEY_EX, code::KEY_EXCHANGE)?;
        if self.requester_flags & cap::KEY_EX == 0 {
            return Err(Fail::Reply(error_code::UNEXPECTED_REQUEST, 0));
        }
        if self.session.is_some() {
            return Err(Fail::Reply(error_code::SESSION_LIMIT_EXCEEDED, 0));
        }
        let algs = self.algs()?;
        let sizes = algs.sizes();
        let (req, bytes) = decode_plain(msg, |r| msg::KeyExchange::read(r, &sizes))?;
        if req.slot != 0 {
            return Err(Fail::Reply(error_code::INVALID_REQUEST, 0));
        }
        let summary = self.measurement_summary(req.meas_summary_type)?;
        // The highest secured-message version both sides offer.
        let mut secured_version = None;
        for version in self.versions.secured() {
            if invalid(opaque::supports(req.opaque, version))? {
                secured_version = Some(version);
            }
        }
        let secured_version = secured_version.ok_or(Fail::Reply(error_code::INVALID_REQUEST, 0))?;
        // HEARTBEAT needs HBEAT_CAP on both sides.
        let heartbeat_period = if self.config.flags & self.requester_flags & cap::HBEAT != 0 {
            self.heartbeat_period
        } else {
            0
        };
        let (secret, public) = self.crypto.dhe_generate(algs.dhe)?;
        if public.len() != sizes.dhe {
            return Err(Fail::Local(super::crypto::CryptoError::Failed.into()));
        }
        let shared = self
            .crypto
            .dhe_shared_secret(algs.dhe, secret, req.exchange_data)
            .map_err(|_| Fail::Reply(error_code::INVALID_REQUEST, 0))?;
        let mut random = [0u8; NONCE_LEN];
        self.crypto.random(&mut random)?;
        let mut selection = [0u8; opaque::MAX_LEN];
        let selection_len = wire::encode_into(&mut selection, |w| {
            opaque::write_selection(w, secured_version)
        })?;
        let rsp = msg::KeyExchangeRsp {
            version: self.version,
            heartbeat_period,
            rsp_session_id: self.config.rsp_session_id,
            mut_auth_requested: 0,
            req_slot_id_param: 0,
            random: &random,
            exchange_data: public.as_slice(),
            meas_summary_hash: summary.as_ref().map_or(&[][..], |d| d.as_slice()),
            opaque: selection.get(..selection_len).unwrap_or(&[]),
            signature: [0; MAX_SIGNATURE_LEN].get(..sizes.signature).unwrap_or(&[]),
            verify_data: [0; MAX_HASH_LEN].get(..sizes.hash).unwrap_or(&[]),
        };
        let len = wire::encode_into(out, |w| rsp.write(w))?;
        let sig_end = len.saturating_sub(sizes.hash);
        let sig_start = sig_end.saturating_sub(sizes.signature);
        let (_, chain_hash) = self.chain()?;
        let mut th = self.vca.clone();
        self.crypto.hash_update(&mut th, chain_hash.as_slice());
        self.crypto.hash_update(&mut th, bytes);
        self.crypto
            .hash_update(&mut th, out.get(..sig_start).unwrap_or(&[]));
        self.sign_into(th.clone(), session::CONTEXT_KEY_EXCHANGE_RSP, out, sig_end)?;
        self.crypto
            .hash_update(&mut th, out.get(sig_start..sig_end).unwrap_or(&[]));
        let params = SessionParams {
            id: (u32::from(self.config.rsp_session_id) << 16) | u32::from(req.req_session_id),
            version: self.version,
            algorithms: algs,
            secured_version,
            heartbeat_period,
            vca: &self.vca,
        };
        let mut session = Session::new(&self.crypto, params, th, shared.as_slice())?;
        let verify = session.responder_verify_data(&self.crypto)?;
        session.append(&self.crypto, verify.as_slice());
        out.get_mut(sig_end..len)
            .ok_or(Fail::Local(wire::Error::BufferTooSmall.into()))?
            .copy_from_slice(verify.as_slice());
        self.session = Some(session);
        Ok(len)
    }

    fn process_secured(
        &mut self,
        record: &mut [u8],
        out: &mut [u8],
        vendor: &mut dyn VendorHandler,
    ) -> Result<usize> {
        let id = super::secured::session_id(record)?;
        let Some(session) = self.session.as_mut().filter(|s| s.id == id) else {
            return Err(Error::Session("unknown session"));
        };
        let opened = super::secured::open(&self.crypto, &mut session.keys.request, record);
        let msg = match opened {
            Ok((_, msg)) => msg,
            Err(e) => {
                self.end_session(vendor);
                return Err(e);
            }
        };
        let body = out
            .get_mut(SECURED_OFFSET..)
            .ok_or(wire::Error::BufferTooSmall)?;
        let (handled, after) = match Header::peek(msg) {
            Err(_) => (
                Err(Fail::Reply(error_code::INVALID_REQUEST, 0)),
                After::Nothing,
            ),
            Ok(h) if h.version != self.version => (
                Err(Fail::Reply(error_code::VERSION_MISMATCH, 0)),
                After::Nothing,
            ),
            Ok(h) => self.dispatch_secured(&h, msg, body, vendor),
        };
        let len = self.answer(
            handled,
            out.get_mut(SECURED_OFFSET..)
                .ok_or(wire::Error::BufferTooSmall)?,
        )?;
        let session = self
            .session
            .as_mut()
            .ok_or(Error::Session("unknown session"))?;
        let framed = session::frame(
            out,
            len,
            Some((&self.crypto, &mut session.keys.response, id)),
        );
        match after {
            After::Nothing => {}
            // FINISH_RSP went out under the handshake keys; switch now.
            After::Establish => session.establish(&self.crypto)?,
            After::End => self.end_session(vendor),
        }
        framed
    }

    /// Handles a decrypted request and says what happens to the session
    /// once the answer is sealed.
    fn dispatch_secured(
        &mut self,
        h: &Header,
        msg: &[u8],
        out: &mut [u8],
        vendor: &mut dyn VendorHandler,
    ) -> (Handled, After) {
        let Some(session) = self.session.as_mut() else {
            return (
                Err(Fail::Local(Error::Session("unknown session"))),
                After::Nothing,
            );
        };
        if !session.established {
            if h.code != code::FINISH {
                return (
                    Err(Fail::Reply(error_code::UNEXPECTED_REQUEST, 0)),
                    After::Nothing,
                );
            }
            let Some(sizes) = self.algorithms.map(|a| a.sizes()) else {
                return (
                    Err(Fail::Reply(error_code::UNEXPECTED_REQUEST, 0)),
                    After::Nothing,
                );
            };
            let finish = match decode_exact(msg, |r| msg::Finish::read(r, &sizes)) {
                Ok(f) => f,
                Err(e) => return (Err(e), After::Nothing),
            };
            session.append(
                &self.crypto,
                msg.get(..msg::FINISH_HEADER_LEN).unwrap_or(&[]),
            );
            let expected = match session.requester_verify_data(&self.crypto) {
                Ok(v) => v,
                Err(e) => return (Err(Fail::Local(e)), After::Nothing),
            };
            if !ct_eq(expected.as_slice(), finish.verify_data) {
                // A wrong RequesterVerifyData kills the session after the ERROR.
                return (Err(Fail::Reply(error_code::DECRYPT_ERROR, 0)), After::End);
            }
            session.append(&self.crypto, finish.verify_data);
            let handled = wire::encode_into(out, |w| {
                msg::Bare {
                    version: self.version,
                    code: code::FINISH_RSP,
                }
                .write(w)
            });
            return match handled {
                Ok(len) => {
                    session.append(&self.crypto, out.get(..len).unwrap_or(&[]));
                    (Ok(len), After::Establish)
                }
                Err(e) => (Err(e.into()), After::Nothing),
            };
        }
        let id = session.id;
        match h.code {
            code::END_SESSION => {
                let handled = decode_exact(msg, msg::EndSession::read).and_then(|_| {
                    Ok(wire::encode_into(out, |w| {
                        msg::Bare {
                            version: self.version,
                            code: code::END_SESSION_ACK,
                        }
                        .write(w)
                    })?)
                });
                let after = if handled.is_ok() {
                    After::End
                } else {
                    After::Nothing
                };
                (handled, after)
            }
            code::HEARTBEAT if self.config.flags & cap::HBEAT == 0 => (
                Err(Fail::Reply(
                    error_code::UNSUPPORTED_REQUEST,
                    code::HEARTBEAT,
                )),
                After::Nothing,
            ),
            code::HEARTBEAT => {
                let handled =
                    decode_exact(msg, |r| msg::Bare::read(r, code::HEARTBEAT)).and_then(|_| {
                        Ok(wire::encode_into(out, |w| {
                            msg::Bare {
                                version: self.version,
                                code: code::HEARTBEAT_ACK,
                            }
                            .write(w)
                        })?)
                    });
                (handled, After::Nothing)
            }
            code::KEY_UPDATE => (self.key_update(msg, out), After::Nothing),
            code::VENDOR_DEFINED_REQUEST => {
                (self.vendor_request(id, msg, out, vendor), After::Nothing)
            }
            code::GET_MEASUREMENTS => (self.session_measurements(msg, out), After::Nothing),
            code::GET_VERSION
            | code::GET_CAPABILITIES
            | code::NEGOTIATE_ALGORITHMS
            | code::KEY_EXCHANGE
            | code::FINISH
            | code::GET_DIGESTS
            | code::GET_CERTIFICATE
            | code::CHALLENGE => (
                Err(Fail::Reply(error_code::UNEXPECTED_REQUEST, 0)),
                After::Nothing,
            ),
            other => (
                Err(Fail::Reply(error_code::UNSUPPORTED_REQUEST, other)),
                After::Nothing,
            ),
        }
    }

    /// KEY_UPDATE in an established session: switches the keys the
    /// operation updates (the ACK is sealed after) or ends an update.
    fn key_update(&mut self, msg: &[u8], out: &mut [u8]) -> Handled {
        if self.config.flags & self.requester_flags & cap::KEY_UPD == 0 {
            return Err(Fail::Reply(
                error_code::UNSUPPORTED_REQUEST,
                code::KEY_UPDATE,
            ));
        }
        let req = decode_exact(msg, |r| msg::KeyUpdate::read(r, code::KEY_UPDATE))?;
        let len = wire::encode_into(out, |w| {
            msg::KeyUpdate {
                version: self.version,
                code: code::KEY_UPDATE_ACK,
                ..req
            }
            .write(w)
        })?;
        let session = self
            .session
            .as_mut()
            .ok_or(Fail::Local(Error::Session("unknown session")))?;
        let all = match (req.operation, session.unverified_update) {
            (KeyOperation::VerifyNewKey, true) => {
                session.unverified_update = false;
                return Ok(len);
            }
            (KeyOperation::UpdateKey, false) => false,
            (KeyOperation::UpdateAllKeys, false) => true,
            _ => return Err(Fail::Reply(error_code::INVALID_REQUEST, 0)),
        };
        let (data, request) = session.data()?.updated(&self.crypto, Direction::Request)?;
        let data = if all {
            let (data, response) = data.updated(&self.crypto, Direction::Response)?;
            session.keys.response = response;
            data
        } else {
            data
        };
        session.keys.request = request;
        session.data = Some(data);
        session.unverified_update = true;
        Ok(len)
    }

    /// GET_MEASUREMENTS in an established session, on the session's L1.
    fn session_measurements(&mut self, msg: &[u8], out: &mut [u8]) -> Handled {
        let req = decode_exact(msg, msg::GetMeasurements::read)?;
        let mut l1 = self
            .session
            .as_ref()
            .map(|s| s.l1.clone())
            .ok_or(Fail::Local(Error::Session("unknown session")))?;
        let len = self.measurements(&req, msg, &mut l1, out)?;
        if let Some(session) = self.session.as_mut() {
            session.l1 = l1;
        }
        Ok(len)
    }

    fn vendor_request(
        &mut self,
        id: u32,
        msg: &[u8],
        out: &mut [u8],
        vendor: &mut dyn VendorHandler,
    ) -> Handled {
        let req = decode_exact(msg, |r| {
            PciSigMessage::read(r, code::VENDOR_DEFINED_REQUEST)
        })?;
        let mut outcome = Ok(());
        let len = wire::encode_into(out, |w| {
            PciSigMessage::write_with(
                w,
                self.version,
                code::VENDOR_DEFINED_RESPONSE,
                req.protocol,
                |w| {
                    outcome = vendor.handle(id, req.protocol, req.body, w);
                    Ok(())
                },
            )
        })?;
        outcome.map_err(|code| Fail::Reply(code, 0))?;
        Ok(len)
    }
}
