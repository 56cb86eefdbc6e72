// SPDX-License-Identifier: GPL-2.0
//! SPDM 1.2/1.3 requester (the platform firmware side, or native CMA) over DOE.
//!
//! The requester does no I/O. [`Requester::request`] encodes the next
//! request as a DOE object; the caller relays it to the device and hands the
//! answer to [`Requester::response`], which checks it against the pending
//! request, updates the transcripts and verifies signatures and MACs.
//!
//! Order enforced (DSP0274 "connection" and "session" sequences):
//! GET_VERSION -> GET_CAPABILITIES -> NEGOTIATE_ALGORITHMS ->
//! {GET_DIGESTS, GET_CERTIFICATE*, CHALLENGE, GET_MEASUREMENTS} ->
//! KEY_EXCHANGE (needs the full certificate chain) -> FINISH ->
//! {VENDOR_DEFINED_REQUEST, GET_MEASUREMENTS, HEARTBEAT, KEY_UPDATE}* -> END_SESSION.
//! GET_VERSION may be sent at any time and restarts everything.
//!
//! The highest SPDM version (1.2 or 1.3) and secured-message version (1.1
//! or 1.2) both sides offer is used; [`Requester::set_versions`] narrows
//! the offer. NEGOTIATE_ALGORITHMS offers every algorithm both the crypto
//! provider ([`SpdmCrypto::supported`]) and [`RequesterConfig::algorithms`]
//! allow; the responder's selection must be one of them, one of each kind,
//! and from then on hashes, signatures, DHE and AEAD follow it
//! ([`Requester::algorithms`]). A selection of nothing (the responder's
//! way of saying there is no common algorithm) fails with
//! [`Error::Negotiation`]`("no common algorithm")`.
//!
//! HEARTBEAT is sent only when both sides have HBEAT_CAP and the responder
//! gave a HeartbeatPeriod, which [`Requester::heartbeat_period`] reports so
//! the caller can schedule heartbeats.
//!
//! KEY_UPDATE is sent only when both sides have KEY_UPD_CAP, in an
//! established session: UpdateKey or UpdateAllKeys under the current keys,
//! then, once acknowledged, VerifyNewKey under the new request keys before
//! any further update. The requester switches its request keys when
//! KEY_UPDATE_ACK arrives; the ACK to UpdateAllKeys comes under the
//! responder's new keys already (an ERROR under the old ones changes
//! nothing), as DMTF's libspdm and spdm-rs responders send it.

use core::ops::DerefMut;

use super::super::doe;
use super::crypto::{ct_eq, hash_all, Algorithms, Digest, HashAlgo, SpdmCrypto, Supported};
use super::key_schedule::{DataSecrets, Direction, DirectionKeys};
use super::msg::{self, Header, KeyOperation};
use super::msg::{RequesterContext, REQUESTER_CONTEXT_LEN};
use super::session::{self, Session, PLAIN_OFFSET, SECURED_OFFSET};
use super::session::{EarlyTranscript, SessionParams};
use super::vendor::PciSigMessage;
use super::wire::{self, Reader, Writer};
use super::{alg, cap, code, opaque, Error, Result, Versions, NONCE_LEN};

/// What the requester advertises.
#[derive(Clone, Copy, Debug)]
pub struct RequesterConfig {
    /// GET_CAPABILITIES flags, see [`cap`].
    pub flags: u32,
    /// CTExponent.
    pub ct_exponent: u8,
    /// DataTransferSize: largest response accepted in one message.
    pub data_transfer_size: u32,
    /// MaxSPDMmsgSize.
    pub max_spdm_msg_size: u32,
    /// ReqSessionID to offer in KEY_EXCHANGE.
    pub req_session_id: u16,
    /// The algorithms to offer in NEGOTIATE_ALGORITHMS (further limited to
    /// what the crypto provider supports): [`Supported::ALL`], or e.g.
    /// [`Supported::P256`] to insist on the P-256 suite.
    pub algorithms: Supported,
}

/// The request to send next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'r> {
    /// GET_VERSION (restarts the connection).
    GetVersion,
    /// GET_CAPABILITIES.
    GetCapabilities,
    /// NEGOTIATE_ALGORITHMS offering every algorithm both the provider and
    /// the configuration allow.
    NegotiateAlgorithms,
    /// GET_DIGESTS.
    GetDigests,
    /// GET_CERTIFICATE for the next portion of the slot 0 chain.
    GetCertificate,
    /// CHALLENGE on slot 0 without a measurement summary.
    Challenge,
    /// CHALLENGE on slot 0 asking for the measurement summary hash of the
    /// given type ([`msg::meas_summary::TCB`] or [`msg::meas_summary::ALL`];
    /// other types, or a responder without MEAS_CAP, are refused like an
    /// out-of-order request).
    ChallengeWithSummary(u8),
    /// GET_MEASUREMENTS with the given operation, optionally signed; sent
    /// inside the session once one is established.
    GetMeasurements {
        /// Param2: index, [`msg::MEAS_OP_COUNT`] or [`msg::MEAS_OP_ALL`].
        operation: u8,
        /// Ask for a signature.
        signed: bool,
        /// The Nonce of a signed request; `None`: a fresh random one.
        nonce: Option<&'r [u8; NONCE_LEN]>,
    },
    /// KEY_EXCHANGE on slot 0.
    KeyExchange,
    /// FINISH (in the session, under handshake keys).
    Finish,
    /// HEARTBEAT (in the session).
    Heartbeat,
    /// KEY_UPDATE with this operation (in the session).
    KeyUpdate(KeyOperation),
    /// END_SESSION (in the session).
    EndSession,
    /// A PCI-SIG VENDOR_DEFINED_REQUEST (in the session).
    Vendor {
        /// Protocol ID.
        protocol: u8,
        /// Protocol message after the protocol ID.
        body: &'r [u8],
    },
}

/// What a response told the requester.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response<'b> {
    /// VERSION: SPDM 1.2 selected.
    Version,
    /// CAPABILITIES: the responder's flags.
    Capabilities(u32),
    /// ALGORITHMS: what the responder selected.
    Algorithms(Algorithms),
    /// DIGESTS: the slot mask.
    Digests(u8),
    /// CERTIFICATE: whether the chain is now complete (and accepted).
    Certificate {
        /// The last portion arrived and the chain was accepted.
        complete: bool,
    },
    /// CHALLENGE_AUTH verified.
    ChallengeAuth,
    /// CHALLENGE_AUTH verified; it carried this measurement summary hash.
    ChallengeAuthWithSummary(Digest),
    /// MEASUREMENTS (signature verified if one was asked for).
    Measurements(msg::Measurements<'b>),
    /// KEY_EXCHANGE_RSP verified; the session exists (handshake phase).
    KeyExchange {
        /// The SessionID.
        session_id: u32,
    },
    /// FINISH_RSP: the session is established.
    Finish,
    /// HEARTBEAT_ACK.
    Heartbeat,
    /// KEY_UPDATE_ACK: the operation took effect.
    KeyUpdate(KeyOperation),
    /// END_SESSION_ACK: the session is gone.
    EndSession,
    /// VENDOR_DEFINED_RESPONSE.
    Vendor {
        /// Protocol ID.
        protocol: u8,
        /// Protocol message after the protocol ID.
        body: &'b [u8],
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Connection {
    Start,
    Versioned,
    Capable,
    Negotiated,
}

/// The request in flight and what checking its answer needs.
enum Pending<C: SpdmCrypto> {
    Version,
    Capabilities,
    Algorithms,
    Digests,
    Certificate {
        offset: usize,
        length: usize,
    },
    Challenge {
        summary: u8,
        context: RequesterContext,
    },
    Measurements {
        signed: bool,
        in_session: bool,
        context: RequesterContext,
    },
    /// The ephemeral secret is created while encoding.
    KeyExchange {
        secret: Option<C::DheSecret>,
    },
    Finish,
    Heartbeat,
    KeyUpdate {
        operation: KeyOperation,
        tag: u8,
    },
    EndSession,
    Vendor {
        protocol: u8,
    },
}

impl<C: SpdmCrypto> Pending<C> {
    fn in_session(&self) -> bool {
        matches!(
            self,
            Pending::Finish
                | Pending::Heartbeat
                | Pending::KeyUpdate { .. }
                | Pending::EndSession
                | Pending::Vendor { .. }
                | Pending::Measurements {
                    in_session: true,
                    ..
                }
        )
    }
}

/// Largest request whose bytes are kept for the transcript (KEY_EXCHANGE
/// with P-384 and the opaque data is 4 + 4 + 32 + 96 + 2 + 16 = 154).
const MAX_KEPT_REQUEST: usize = 192;
/// Portion size asked for per GET_CERTIFICATE.
const CERT_PORTION: usize = 0x400;

/// The SPDM requester.
pub struct Requester<C: SpdmCrypto, B: DerefMut<Target = [u8]>> {
    crypto: C,
    config: RequesterConfig,
    state: Connection,
    version: u8,
    responder_flags: u32,
    /// VCA while the hash is not known yet.
    early: EarlyTranscript<C>,
    /// What ALGORITHMS selected.
    algorithms: Option<Algorithms>,
    /// VCA, valid once the algorithms are negotiated.
    vca: C::Hash,
    m1: C::Hash,
    l1: C::Hash,
    /// Storage for the responder's certificate chain.
    cert_buf: B,
    cert_len: usize,
    /// Total chain size once the first CERTIFICATE told it.
    cert_total: Option<usize>,
    /// Ct: hash of the accepted chain.
    cert_chain_hash: Option<Digest>,
    slot0_digest: Option<Digest>,
    pending: Option<Pending<C>>,
    request_bytes: [u8; MAX_KEPT_REQUEST],
    request_len: usize,
    /// Where the last accepted response's SPDM message lies in its object.
    response_span: core::ops::Range<usize>,
    session: Option<Session<C>>,
    versions: Versions,
}

impl<C: SpdmCrypto, B: DerefMut<Target = [u8]>> Requester<C, B> {
    /// A requester that has sent nothing; `cert_buf` (a slice, or a buffer that owns one)
    /// receives the chain.
    pub fn new(crypto: C, config: RequesterConfig, cert_buf: B) -> Self {
        // Placeholders until ALGORITHMS names the hash.
        let placeholder = crypto.supported().strongest_hash();
        let vca = crypto.hash_new(placeholder.unwrap_or(HashAlgo::Sha384));
        Self {
            early: EarlyTranscript::new(&crypto, Supported::NONE),
            algorithms: None,
            m1: vca.clone(),
            l1: vca.clone(),
            vca,
            crypto,
            config,
            state: Connection::Start,
            version: super::VERSION_10,
            responder_flags: 0,
            cert_buf,
            cert_len: 0,
            cert_total: None,
            cert_chain_hash: None,
            slot0_digest: None,
            pending: None,
            request_bytes: [0; MAX_KEPT_REQUEST],
            request_len: 0,
            response_span: 0..0,
            session: None,
            versions: Versions::ALL,
        }
    }

    /// Limits the SPDM and secured-message versions offered (default
    /// [`Versions::ALL`]); takes effect at the next GET_VERSION.
    pub fn set_versions(&mut self, versions: Versions) {
        self.versions = versions;
    }

    /// The algorithms ALGORITHMS selected, once accepted.
    pub fn algorithms(&self) -> Option<Algorithms> {
        self.algorithms
    }

    /// What NEGOTIATE_ALGORITHMS offers: the configuration limited to
    /// what the provider supports.
    pub fn offered(&self) -> Supported {
        self.config
            .algorithms
            .known()
            .intersect(self.crypto.supported())
    }

    /// The negotiated algorithms, or `UnexpectedMessage` before ALGORITHMS.
    fn algs(&self) -> Result<Algorithms> {
        self.algorithms.ok_or(Error::UnexpectedMessage(0))
    }

    /// The negotiated SPDMVersion, once VERSION was accepted.
    pub fn spdm_version(&self) -> Option<u8> {
        (self.state != Connection::Start).then_some(self.version)
    }

    /// The secured-message version of the current session.
    pub fn secured_version(&self) -> Option<u16> {
        self.session.as_ref().map(|s| s.secured_version)
    }

    /// The HeartbeatPeriod in seconds the responder set for the current
    /// session, if heartbeats are in use: the caller sends
    /// [`Request::Heartbeat`] within each period.
    pub fn heartbeat_period(&self) -> Option<u8> {
        self.session
            .as_ref()
            .map(|s| s.heartbeat_period)
            .filter(|&p| p != 0 && self.heartbeat_negotiated())
    }

    /// Both sides advertised HBEAT_CAP.
    fn heartbeat_negotiated(&self) -> bool {
        self.config.flags & self.responder_flags & cap::HBEAT != 0
    }

    /// Both sides advertised KEY_UPD_CAP: KEY_UPDATE may be sent in a session.
    pub fn key_update_negotiated(&self) -> bool {
        self.config.flags & self.responder_flags & cap::KEY_UPD != 0
    }

    /// Whether `operation` may be sent now: an update when none awaits
    /// VerifyNewKey, VerifyNewKey only then.
    fn key_update_allowed(&self, operation: KeyOperation) -> bool {
        let Some(session) = self.session.as_ref().filter(|s| s.established) else {
            return false;
        };
        let verify = operation == KeyOperation::VerifyNewKey;
        self.key_update_negotiated() && verify == session.unverified_update
    }

    /// The crypto provider.
    pub fn crypto_mut(&mut self) -> &mut C {
        &mut self.crypto
    }

    /// The SessionID once KEY_EXCHANGE_RSP was accepted.
    pub fn session_id(&self) -> Option<u32> {
        self.session.as_ref().map(|s| s.id)
    }

    /// The accepted certificate chain, once complete.
    pub fn cert_chain(&self) -> Option<&[u8]> {
        self.cert_chain_hash?;
        self.cert_buf.get(..self.cert_len)
    }

    fn established(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.established)
    }

    /// Encodes `req` as a DOE object into `out` and returns its length.
    /// Fails with [`Error::UnexpectedMessage`] if DSP0274 does not allow
    /// `req` now.
    pub fn request(&mut self, req: Request<'_>, out: &mut [u8]) -> Result<usize> {
        let out_of_order = |c: u8| Err(Error::UnexpectedMessage(c));
        if self.pending.is_some() && req != Request::GetVersion {
            return out_of_order(0);
        }
        let negotiated = self.state == Connection::Negotiated;
        let (pending, offset) = match req {
            Request::GetVersion => (Pending::Version, PLAIN_OFFSET),
            Request::GetCapabilities if self.state == Connection::Versioned => {
                (Pending::Capabilities, PLAIN_OFFSET)
            }
            Request::NegotiateAlgorithms if self.state == Connection::Capable => {
                (Pending::Algorithms, PLAIN_OFFSET)
            }
            Request::GetDigests if negotiated && self.responder_flags & cap::CERT != 0 => {
                (Pending::Digests, PLAIN_OFFSET)
            }
            Request::GetCertificate if negotiated && self.responder_flags & cap::CERT != 0 => {
                let offset = if self.cert_chain_hash.is_some() {
                    0
                } else {
                    self.cert_len
                };
                let room = self.cert_buf.len().saturating_sub(offset);
                let length = CERT_PORTION.min(room).min(usize::from(u16::MAX));
                if length == 0 {
                    return Err(wire::Error::BufferTooSmall.into());
                }
                (Pending::Certificate { offset, length }, PLAIN_OFFSET)
            }
            Request::Challenge
                if negotiated
                    && self.cert_chain_hash.is_some()
                    && self.responder_flags & cap::CHAL != 0 =>
            {
                let summary = msg::meas_summary::NONE;
                (
                    Pending::Challenge {
                        summary,
                        context: [0; REQUESTER_CONTEXT_LEN],
                    },
                    PLAIN_OFFSET,
                )
            }
            // A summary hash needs MEAS_CAP (DSP0274 1.3 Table 14).
            Request::ChallengeWithSummary(
                summary @ (msg::meas_summary::TCB | msg::meas_summary::ALL),
            ) if negotiated
                && self.cert_chain_hash.is_some()
                && self.responder_flags & cap::CHAL != 0
                && self.responder_flags & cap::MEAS != 0 =>
            {
                (
                    Pending::Challenge {
                        summary,
                        context: [0; REQUESTER_CONTEXT_LEN],
                    },
                    PLAIN_OFFSET,
                )
            }
            Request::GetMeasurements { signed, .. }
                if negotiated
                    && self.responder_flags
                        & (if signed {
                            cap::MEAS_SIG
                        } else {
                            cap::MEAS_SIG | cap::MEAS_NO_SIG
                        })
                        != 0
                    && (!signed || self.cert_chain_hash.is_some())
                    && !matches!(&self.session, Some(s) if !s.established) =>
            {
                let in_session = self.established();
                let pending = Pending::Measurements {
                    signed,
                    in_session,
                    context: [0; REQUESTER_CONTEXT_LEN],
                };
                (
                    pending,
                    if in_session {
                        SECURED_OFFSET
                    } else {
                        PLAIN_OFFSET
                    },
                )
            }
            Request::KeyExchange
                if negotiated
                    && self.session.is_none()
                    && self.cert_chain_hash.is_some()
                    && self.responder_flags & cap::KEY_EX != 0 =>
            {
                (Pending::KeyExchange { secret: None }, PLAIN_OFFSET)
            }
            Request::Finish if self.session.as_ref().is_some_and(|s| !s.established) => {
                (Pending::Finish, SECURED_OFFSET)
            }
            Request::Heartbeat if self.established() && self.heartbeat_period().is_some() => {
                (Pending::Heartbeat, SECURED_OFFSET)
            }
            Request::KeyUpdate(operation) if self.key_update_allowed(operation) => {
                (Pending::KeyUpdate { operation, tag: 0 }, SECURED_OFFSET)
            }
            Request::EndSession if self.established() => (Pending::EndSession, SECURED_OFFSET),
            Request::Vendor { protocol, .. } if self.established() => {
                (Pending::Vendor { protocol }, SECURED_OFFSET)
            }
            other => return out_of_order(request_code(&other)),
        };
        let (pending, len) = self.encode(
            req,
            pending,
            out.get_mut(offset..).ok_or(wire::Error::BufferTooSmall)?,
        )?;
        self.request_len = 0;
        if matches!(
            pending,
            Pending::Version
                | Pending::Capabilities
                | Pending::Algorithms
                | Pending::Digests
                | Pending::Certificate { .. }
                | Pending::Challenge { .. }
                | Pending::Measurements { .. }
                | Pending::KeyExchange { .. }
        ) {
            let kept = self
                .request_bytes
                .get_mut(..len)
                .ok_or(wire::Error::BufferTooSmall)?;
            kept.copy_from_slice(
                out.get(offset..offset + len)
                    .ok_or(wire::Error::BufferTooSmall)?,
            );
            self.request_len = len;
        }
        let framed = if pending.in_session() {
            let session = self.session.as_mut().ok_or(Error::Session("no session"))?;
            session::frame(
                out,
                len,
                Some((&self.crypto, &mut session.keys.request, session.id)),
            )?
        } else {
            session::frame::<C>(out, len, None)?
        };
        if matches!(pending, Pending::Version) {
            self.reset();
        }
        self.pending = Some(pending);
        Ok(framed)
    }

    /// Forgets everything negotiated (GET_VERSION restarts the connection).
    fn reset(&mut self) {
        self.state = Connection::Start;
        self.version = super::VERSION_10;
        self.session = None;
        self.cert_len = 0;
        self.cert_total = None;
        self.cert_chain_hash = None;
        self.slot0_digest = None;
        self.algorithms = None;
    }

    /// Writes the SPDM message for `req` at the start of `out`.
    fn encode(
        &mut self,
        req: Request<'_>,
        pending: Pending<C>,
        out: &mut [u8],
    ) -> Result<(Pending<C>, usize)> {
        let version = self.version;
        let mut w = Writer::new(out);
        let mut nonce = [0u8; NONCE_LEN];
        match (&pending, req) {
            (Pending::Version, _) => msg::GetVersion.write(&mut w)?,
            (Pending::Capabilities, _) => msg::Capabilities {
                version,
                ct_exponent: self.config.ct_exponent,
                flags: self.config.flags,
                data_transfer_size: self.config.data_transfer_size,
                max_spdm_msg_size: self.config.max_spdm_msg_size,
            }
            .write(&mut w, code::GET_CAPABILITIES)?,
            (Pending::Algorithms, _) => {
                let offer = self.offered();
                if offer.hash == 0 || offer.asym == 0 || offer.dhe == 0 || offer.aead == 0 {
                    return Err(Error::Negotiation("no algorithm to offer"));
                }
                msg::NegotiateAlgorithms {
                    version,
                    measurement_spec: alg::MEAS_SPEC_DMTF,
                    other_params: alg::OPAQUE_DATA_FMT1,
                    base_asym: offer.asym,
                    base_hash: offer.hash,
                    structs: msg::AlgStructs {
                        dhe: offer.dhe,
                        aead: offer.aead,
                        req_base_asym: 0,
                        key_schedule: alg::KEY_SCHEDULE_SPDM,
                    },
                }
                .write(&mut w)?
            }
            (Pending::Digests, _) => msg::Bare {
                version,
                code: code::GET_DIGESTS,
            }
            .write(&mut w)?,
            (Pending::Certificate { offset, length }, _) => msg::GetCertificate {
                version,
                slot: 0,
                offset: u16::try_from(*offset).map_err(|_| wire::Error::InvalidField("Offset"))?,
                length: u16::try_from(*length).map_err(|_| wire::Error::InvalidField("Length"))?,
            }
            .write(&mut w)?,
            (&Pending::Challenge { summary, .. }, _) => {
                self.crypto.random(&mut nonce)?;
                let context = self.new_context()?;
                msg::Challenge {
                    version,
                    slot: 0,
                    meas_summary_type: summary,
                    nonce: &nonce,
                    requester_context: context,
                }
                .write(&mut w)?;
                return Ok((Pending::Challenge { summary, context }, w.len()));
            }
            (
                &Pending::Measurements {
                    signed, in_session, ..
                },
                Request::GetMeasurements {
                    operation,
                    nonce: chosen,
                    ..
                },
            ) => {
                match chosen {
                    Some(chosen) if signed => nonce = *chosen,
                    _ => self.crypto.random(&mut nonce)?,
                }
                let context = self.new_context()?;
                msg::GetMeasurements {
                    version,
                    attributes: 0,
                    operation,
                    signed: if signed { Some((&nonce, 0)) } else { None },
                    requester_context: context,
                }
                .write(&mut w)?;
                let pending = Pending::Measurements {
                    signed,
                    in_session,
                    context,
                };
                return Ok((pending, w.len()));
            }
            (Pending::KeyExchange { .. }, _) => {
                return self.encode_key_exchange(out);
            }
            (Pending::Finish, _) => {
                let session = self.session.as_mut().ok_or(Error::Session("no session"))?;
                let header = Header {
                    version,
                    code: code::FINISH,
                    param1: 0,
                    param2: 0,
                };
                let mut header_bytes = [0u8; msg::FINISH_HEADER_LEN];
                header.write(&mut Writer::new(&mut header_bytes))?;
                session.append(&self.crypto, &header_bytes);
                let verify = session.requester_verify_data(&self.crypto)?;
                session.append(&self.crypto, verify.as_slice());
                msg::Finish {
                    version,
                    verify_data: verify.as_slice(),
                }
                .write(&mut w)?
            }
            (Pending::Heartbeat, _) => msg::Bare {
                version,
                code: code::HEARTBEAT,
            }
            .write(&mut w)?,
            (&Pending::KeyUpdate { operation, .. }, _) => {
                let mut tag = [0u8; 1];
                self.crypto.random(&mut tag)?;
                msg::KeyUpdate {
                    version,
                    code: code::KEY_UPDATE,
                    operation,
                    tag: tag[0],
                }
                .write(&mut w)?;
                let pending = Pending::KeyUpdate {
                    operation,
                    tag: tag[0],
                };
                return Ok((pending, w.len()));
            }
            (Pending::EndSession, _) => msg::EndSession {
                version,
                attributes: 0,
            }
            .write(&mut w)?,
            (Pending::Vendor { protocol }, Request::Vendor { body, .. }) => PciSigMessage {
                version,
                protocol: *protocol,
                body,
            }
            .write(&mut w, code::VENDOR_DEFINED_REQUEST)?,
            _ => return Err(Error::UnexpectedMessage(0)),
        }
        let len = w.len();
        Ok((pending, len))
    }

    /// A fresh RequesterContext for 1.3 (none below, so no randomness is spent).
    fn new_context(&mut self) -> Result<RequesterContext> {
        let mut context = [0; REQUESTER_CONTEXT_LEN];
        if self.version >= super::VERSION_13 {
            self.crypto.random(&mut context)?;
        }
        Ok(context)
    }

    fn encode_key_exchange(&mut self, out: &mut [u8]) -> Result<(Pending<C>, usize)> {
        let group = self.algs()?.dhe;
        let (secret, public) = self.crypto.dhe_generate(group)?;
        if public.len() != group.public_len() {
            return Err(Error::Crypto(super::crypto::CryptoError::Failed));
        }
        let mut random = [0u8; NONCE_LEN];
        self.crypto.random(&mut random)?;
        let mut supported = [0u8; opaque::MAX_LEN];
        let mut versions = [0u16; opaque::MAX_VERSIONS];
        let mut count = 0;
        for (slot, version) in versions.iter_mut().zip(self.versions.secured()) {
            *slot = version;
            count += 1;
        }
        let opaque_len = wire::encode_into(&mut supported, |w| {
            opaque::write_supported(w, versions.get(..count).unwrap_or(&[]))
        })?;
        let len = wire::encode_into(out, |w| {
            msg::KeyExchange {
                version: self.version,
                meas_summary_type: msg::meas_summary::NONE,
                slot: 0,
                req_session_id: self.config.req_session_id,
                session_policy: 0,
                random: &random,
                exchange_data: public.as_slice(),
                opaque: supported.get(..opaque_len).unwrap_or(&[]),
            }
            .write(w)
        })?;
        Ok((
            Pending::KeyExchange {
                secret: Some(secret),
            },
            len,
        ))
    }

    /// Checks the DOE object answering the pending request and returns what
    /// it said. A secured answer is decrypted in place in `object`.
    pub fn response<'b>(&mut self, object: &'b mut [u8]) -> Result<Response<'b>> {
        let pending = self.pending.take().ok_or(Error::UnexpectedMessage(0))?;
        self.response_span = 0..0;
        let base = object.as_ptr() as usize;
        let (header, payload_len) = {
            let (header, payload) = doe::decode_object(object)?;
            (header, payload.len())
        };
        let expected_type = if pending.in_session() {
            doe::TYPE_SECURED_CMA
        } else {
            doe::TYPE_CMA
        };
        if header.vendor_id != doe::PCI_SIG_VENDOR_ID || header.object_type != expected_type {
            return Err(wire::Error::InvalidField("DataObjectType").into());
        }
        let payload = object
            .get_mut(doe::HEADER_LEN..doe::HEADER_LEN + payload_len)
            .ok_or(wire::Error::Truncated)?;
        if pending.in_session() {
            let session = self.session.as_mut().ok_or(Error::Session("no session"))?;
            // The ACK to UpdateAllKeys comes under the responder's new keys.
            let mut next_response = match pending {
                Pending::KeyUpdate {
                    operation: KeyOperation::UpdateAllKeys,
                    ..
                } => Some(session.data()?.updated(&self.crypto, Direction::Response)?),
                _ => None,
            };
            let (old_keys, id, msg) = match next_response.as_mut() {
                Some((_, next)) => super::secured::open_or(
                    &self.crypto,
                    next,
                    Some(&mut session.keys.response),
                    payload,
                )?,
                None => {
                    let (id, msg) =
                        super::secured::open(&self.crypto, &mut session.keys.response, payload)?;
                    (false, id, msg)
                }
            };
            if id != session.id {
                return Err(Error::Session("record for another session"));
            }
            let start = msg.as_ptr() as usize - base;
            let response = self.secured_response(pending, msg, old_keys, next_response)?;
            // A secured record carries exactly one message.
            self.response_span = start..start + msg.len();
            Ok(response)
        } else {
            let (response, len) = self.plain_response(pending, payload)?;
            self.response_span = doe::HEADER_LEN..doe::HEADER_LEN + len;
            Ok(response)
        }
    }

    /// The SPDM messages of the last exchange, for a transcript kept outside the requester
    /// (evidence): the request as sent (before any secured-message framing; kept for the
    /// requests that enter a transcript, empty for others) and, within `object`, the
    /// response that [`Requester::response`] last accepted from it (decrypted in place when
    /// secured), without DOE header, framing or padding.
    pub fn last_exchange<'o>(&self, object: &'o [u8]) -> (&[u8], &'o [u8]) {
        (
            self.kept_request(),
            object.get(self.response_span.clone()).unwrap_or(&[]),
        )
    }

    /// Fails with the peer's error if `msg` is an ERROR response.
    fn check_error(msg: &[u8]) -> Result<Header> {
        let h = Header::peek(msg)?;
        if h.code == code::ERROR {
            let e = msg::ErrorRsp::read(&mut Reader::new(msg))?;
            return Err(Error::Peer {
                code: e.code,
                data: e.data,
            });
        }
        Ok(h)
    }

    fn kept_request(&self) -> &[u8] {
        self.request_bytes.get(..self.request_len).unwrap_or(&[])
    }

    /// Handles a response outside a session; returns it and the length of its SPDM message.
    fn plain_response<'b>(
        &mut self,
        pending: Pending<C>,
        msg: &'b [u8],
    ) -> Result<(Response<'b>, usize)> {
        let h = Self::check_error(msg)?;
        if !matches!(pending, Pending::Version) {
            msg::check_version(&h, self.version)?;
        }
        let mut r = Reader::new(msg);
        let response = match pending {
            Pending::Version => {
                let v = msg::Version::read(&mut r)?;
                self.version = self
                    .versions
                    .best_spdm(|ours| v.versions().any(|theirs| theirs == ours))
                    .ok_or(Error::Negotiation("no common SPDM version"))?;
                // VCA is hashed with every algorithm that may be selected.
                self.early = EarlyTranscript::new(&self.crypto, self.offered());
                Response::Version
            }
            Pending::Capabilities => {
                let caps = msg::Capabilities::read(&mut r, code::CAPABILITIES)?;
                self.responder_flags = caps.flags;
                Response::Capabilities(caps.flags)
            }
            Pending::Algorithms => {
                let a = msg::Algorithms::read(&mut r)?;
                // DSP0274 1.3 Table 21 (BaseAsymSel, BaseHashSel) and Table
                // 22 (AlgSupported): the responder selects at most one of
                // what was offered; selecting none means no common one.
                if a.base_asym == 0
                    || a.base_hash == 0
                    || a.structs.dhe == 0
                    || a.structs.aead == 0
                    || a.structs.key_schedule == 0
                {
                    return Err(Error::Negotiation("no common algorithm"));
                }
                let selected = HashAlgo::from_bits(a.base_hash).and_then(|hash| {
                    Some(Algorithms {
                        hash,
                        asym: super::crypto::AsymAlgo::from_bits(a.base_asym)?,
                        dhe: super::crypto::DheGroup::from_bits(a.structs.dhe)?,
                        aead: super::crypto::AeadAlgo::from_bits(a.structs.aead)?,
                    })
                });
                let selected = selected
                    .filter(|s| self.offered().contains(s))
                    .filter(|_| a.structs.key_schedule == alg::KEY_SCHEDULE_SPDM)
                    .filter(|_| a.other_params == alg::OPAQUE_DATA_FMT1)
                    .ok_or(Error::Negotiation(
                        "responder selected an algorithm not offered",
                    ))?;
                // DSP0274 1.3 Table 21: without MEAS_CAP both are 0; with it
                // and a specification selected, exactly one hash bit.
                let measurements = if self.responder_flags & cap::MEAS == 0 {
                    a.measurement_spec == 0 && a.measurement_hash == 0
                } else {
                    a.measurement_spec == 0 || a.measurement_hash.count_ones() == 1
                };
                if !measurements {
                    return Err(Error::Negotiation("measurement selection"));
                }
                Response::Algorithms(selected)
            }
            Pending::Digests => {
                let sizes = self.algs()?.sizes();
                let d = msg::Digests::read(&mut r, &sizes)?;
                self.slot0_digest = d.digest(0, &sizes).and_then(|d| Digest::from_slice(d).ok());
                Response::Digests(d.slot_mask)
            }
            Pending::Certificate { offset, length } => {
                let c = msg::Certificate::read(&mut r)?;
                self.store_portion(offset, length, &c)?;
                Response::Certificate {
                    complete: c.remainder_length == 0,
                }
            }
            Pending::Challenge { summary, context } => {
                let sizes = self.algs()?.sizes();
                let c = msg::ChallengeAuth::read(&mut r, &sizes, summary)?;
                if Some(c.cert_chain_hash) != self.cert_chain_hash.as_ref().map(|h| h.as_slice()) {
                    return Err(Error::Negotiation(
                        "CHALLENGE_AUTH names another certificate chain",
                    ));
                }
                if c.requester_context != context {
                    return Err(Error::Negotiation("RequesterContext not echoed"));
                }
                let signed_len = r.consumed() - sizes.signature;
                let mut m1 = self.m1.clone();
                self.crypto.hash_update(&mut m1, self.kept_request());
                self.crypto
                    .hash_update(&mut m1, msg.get(..signed_len).unwrap_or(&[]));
                self.verify(m1, session::CONTEXT_CHALLENGE_AUTH, c.signature)?;
                self.m1 = self.vca.clone();
                if c.meas_summary_hash.is_empty() {
                    Response::ChallengeAuth
                } else {
                    Response::ChallengeAuthWithSummary(Digest::from_slice(c.meas_summary_hash)?)
                }
            }
            Pending::Measurements {
                signed, context, ..
            } => {
                let mut l1 = self.l1.clone();
                let m = self.measurements_response(&mut r, msg, &mut l1, signed, context)?;
                self.l1 = l1;
                Response::Measurements(m)
            }
            Pending::KeyExchange { secret } => {
                let secret = secret.ok_or(Error::UnexpectedMessage(code::KEY_EXCHANGE_RSP))?;
                self.key_exchange_rsp(secret, &mut r, msg)?
            }
            Pending::Finish
            | Pending::Heartbeat
            | Pending::KeyUpdate { .. }
            | Pending::EndSession
            | Pending::Vendor { .. } => {
                return Err(Error::UnexpectedMessage(h.code));
            }
        };
        let exact = msg.get(..r.consumed()).unwrap_or(&[]);
        doe::check_padding(r.rest())?;
        match response {
            Response::Version | Response::Capabilities(_) | Response::Algorithms(_) => {
                let kept = self.request_bytes;
                self.early
                    .update(&self.crypto, kept.get(..self.request_len).unwrap_or(&[]));
                self.early.update(&self.crypto, exact);
                self.state = match response {
                    Response::Version => Connection::Versioned,
                    Response::Capabilities(_) => Connection::Capable,
                    Response::Algorithms(selected) => {
                        // The selection is one of the offered hashes, each
                        // of which the early transcript has.
                        self.vca = self
                            .early
                            .take(selected.hash)
                            .ok_or(Error::Negotiation("no transcript of the selected hash"))?;
                        self.algorithms = Some(selected);
                        self.m1 = self.vca.clone();
                        self.l1 = self.vca.clone();
                        Connection::Negotiated
                    }
                    _ => return Err(Error::UnexpectedMessage(0)),
                };
            }
            Response::Digests(_) | Response::Certificate { .. } => {
                let kept = self.request_bytes;
                self.crypto
                    .hash_update(&mut self.m1, kept.get(..self.request_len).unwrap_or(&[]));
                self.crypto.hash_update(&mut self.m1, exact);
            }
            _ => {}
        }
        Ok((response, exact.len()))
    }

    /// Stores one CERTIFICATE portion; accepts the chain once complete.
    fn store_portion(
        &mut self,
        offset: usize,
        length: usize,
        c: &msg::Certificate<'_>,
    ) -> Result<()> {
        let bad = |what| Err(Error::Codec(wire::Error::InvalidField(what)));
        if c.slot != 0 {
            return bad("SlotID");
        }
        if c.portion.len() > length || (c.portion.is_empty() && c.remainder_length != 0) {
            return bad("PortionLength");
        }
        let end = offset + c.portion.len();
        let total = end + usize::from(c.remainder_length);
        if offset == 0 {
            self.cert_chain_hash = None;
            self.cert_total = Some(total);
        } else if self.cert_total != Some(total) {
            return bad("RemainderLength");
        }
        self.cert_buf
            .get_mut(offset..end)
            .ok_or(wire::Error::BufferTooSmall)?
            .copy_from_slice(c.portion);
        self.cert_len = end;
        if c.remainder_length != 0 {
            return Ok(());
        }
        let chain = self.cert_buf.get(..end).ok_or(wire::Error::Truncated)?;
        // The chain starts with its own total length.
        if Reader::new(chain).u16().map(usize::from) != Ok(end) {
            return bad("CertChainLength");
        }
        let algs = self.algs()?;
        let digest = hash_all(&self.crypto, algs.hash, chain);
        if self.slot0_digest.is_some_and(|d| d != digest) {
            return Err(Error::Negotiation(
                "certificate chain does not match DIGESTS",
            ));
        }
        self.crypto
            .set_peer_cert_chain(algs.asym, algs.hash, chain)?;
        self.cert_chain_hash = Some(digest);
        Ok(())
    }

    fn verify(&self, transcript: C::Hash, context: &[u8], signature: &[u8]) -> Result<()> {
        let algs = self.algs()?;
        let digest = self.crypto.hash_finish(transcript);
        let input = session::signing_input(self.version, context, &digest);
        Ok(self
            .crypto
            .verify_peer(algs.asym, algs.hash, input.as_slice(), signature)?)
    }

    /// Checks MEASUREMENTS against the kept request and runs `l1`, the
    /// connection's or the session's transcript: a signed answer is
    /// verified over it and restarts it at VCA.
    fn measurements_response<'b>(
        &self,
        r: &mut Reader<'b>,
        msg: &'b [u8],
        l1: &mut C::Hash,
        signed: bool,
        context: RequesterContext,
    ) -> Result<msg::Measurements<'b>> {
        let m = msg::Measurements::read(r, &self.algs()?.sizes(), signed)?;
        if m.requester_context != context {
            return Err(Error::Negotiation("RequesterContext not echoed"));
        }
        let signed_len = r.consumed() - m.signature.len();
        self.crypto.hash_update(l1, self.kept_request());
        self.crypto
            .hash_update(l1, msg.get(..signed_len).unwrap_or(&[]));
        if signed {
            let transcript = core::mem::replace(l1, self.vca.clone());
            self.verify(transcript, session::CONTEXT_MEASUREMENTS, m.signature)?;
        }
        Ok(m)
    }

    fn key_exchange_rsp<'b>(
        &mut self,
        secret: C::DheSecret,
        r: &mut Reader<'b>,
        msg: &'b [u8],
    ) -> Result<Response<'b>> {
        let algs = self.algs()?;
        let sizes = algs.sizes();
        let k = msg::KeyExchangeRsp::read(r, &sizes, msg::meas_summary::NONE)?;
        if k.mut_auth_requested != 0 {
            return Err(Error::Negotiation("mutual authentication is not supported"));
        }
        let secured_version = opaque::selection(k.opaque)?;
        if !self.versions.secured().any(|v| v == secured_version) {
            return Err(Error::Negotiation("secured message version"));
        }
        let ct = self
            .cert_chain_hash
            .ok_or(Error::UnexpectedMessage(code::KEY_EXCHANGE_RSP))?;
        let sig_end = r.consumed() - sizes.hash;
        let sig_start = sig_end - sizes.signature;
        let mut th = self.vca.clone();
        self.crypto.hash_update(&mut th, ct.as_slice());
        self.crypto.hash_update(&mut th, self.kept_request());
        self.crypto
            .hash_update(&mut th, msg.get(..sig_start).unwrap_or(&[]));
        self.verify(th.clone(), session::CONTEXT_KEY_EXCHANGE_RSP, k.signature)?;
        self.crypto.hash_update(&mut th, k.signature);
        let shared = self
            .crypto
            .dhe_shared_secret(algs.dhe, secret, k.exchange_data)?;
        let id = (u32::from(k.rsp_session_id) << 16) | u32::from(self.config.req_session_id);
        let params = SessionParams {
            id,
            version: self.version,
            algorithms: algs,
            secured_version,
            heartbeat_period: k.heartbeat_period,
            vca: &self.vca,
        };
        let mut session = Session::new(&self.crypto, params, th, shared.as_slice())?;
        let expected = session.responder_verify_data(&self.crypto)?;
        if !ct_eq(expected.as_slice(), k.verify_data) {
            return Err(Error::Crypto(super::crypto::CryptoError::BadMac));
        }
        session.append(&self.crypto, k.verify_data);
        self.session = Some(session);
        Ok(Response::KeyExchange { session_id: id })
    }

    /// Handles a decrypted response; `old_keys`: the record of a KEY_UPDATE_ACK
    /// expected under new keys came under the old ones; `next_response`: for
    /// UpdateAllKeys, the secrets with the response one advanced and the
    /// responder's new keys, which its ACK came under.
    fn secured_response<'b>(
        &mut self,
        pending: Pending<C>,
        msg: &'b [u8],
        old_keys: bool,
        next_response: Option<(DataSecrets, DirectionKeys)>,
    ) -> Result<Response<'b>> {
        let h = match Self::check_error(msg) {
            Err(e) => {
                if matches!(pending, Pending::Finish) {
                    // A failed FINISH leaves no usable session.
                    self.session = None;
                }
                return Err(e);
            }
            Ok(h) => h,
        };
        msg::check_version(&h, self.version)?;
        if old_keys {
            return Err(Error::Session("KEY_UPDATE_ACK under the old keys"));
        }
        let mut r = Reader::new(msg);
        let response = match pending {
            Pending::Finish => {
                msg::Bare::read(&mut r, code::FINISH_RSP)?;
                r.finish()?;
                let session = self.session.as_mut().ok_or(Error::Session("no session"))?;
                session.append(&self.crypto, msg);
                session.establish(&self.crypto)?;
                Response::Finish
            }
            Pending::Heartbeat => {
                msg::Bare::read(&mut r, code::HEARTBEAT_ACK)?;
                Response::Heartbeat
            }
            Pending::KeyUpdate { operation, tag } => {
                let ack = msg::KeyUpdate::read(&mut r, code::KEY_UPDATE_ACK)?;
                if ack.operation != operation || ack.tag != tag {
                    return Err(Error::Codec(wire::Error::InvalidField("KEY_UPDATE_ACK")));
                }
                self.key_updated(operation, next_response)?;
                Response::KeyUpdate(operation)
            }
            Pending::EndSession => {
                msg::Bare::read(&mut r, code::END_SESSION_ACK)?;
                self.session = None;
                Response::EndSession
            }
            Pending::Measurements {
                signed,
                context,
                in_session: true,
            } => {
                let session = self.session.as_ref().ok_or(Error::Session("no session"))?;
                let mut l1 = session.l1.clone();
                let m = self.measurements_response(&mut r, msg, &mut l1, signed, context)?;
                if let Some(session) = self.session.as_mut() {
                    session.l1 = l1;
                }
                Response::Measurements(m)
            }
            Pending::Vendor { protocol } => {
                let v = PciSigMessage::read(&mut r, code::VENDOR_DEFINED_RESPONSE)?;
                if v.protocol != protocol {
                    return Err(Error::Codec(wire::Error::InvalidField("ProtocolID")));
                }
                Response::Vendor {
                    protocol,
                    body: v.body,
                }
            }
            _ => return Err(Error::UnexpectedMessage(h.code)),
        };
        r.finish()?;
        Ok(response)
    }

    /// Applies an acknowledged KEY_UPDATE: the new request keys (and the
    /// response ones the ACK came under) are used from now on.
    fn key_updated(
        &mut self,
        operation: KeyOperation,
        next_response: Option<(DataSecrets, DirectionKeys)>,
    ) -> Result<()> {
        let session = self.session.as_mut().ok_or(Error::Session("no session"))?;
        if operation == KeyOperation::VerifyNewKey {
            session.unverified_update = false;
            return Ok(());
        }
        let (data, response) = match next_response {
            Some((data, keys)) => (data, Some(keys)),
            None => (session.data()?.clone(), None),
        };
        let (data, request) = data.updated(&self.crypto, Direction::Request)?;
        session.keys.request = request;
        if let Some(response) = response {
            session.keys.response = response;
        }
        session.data = Some(data);
        session.unverified_update = true;
        Ok(())
    }
}

/// The request code `req` would be sent with.
fn request_code(req: &Request<'_>) -> u8 {
    match req {
        Request::GetVersion => code::GET_VERSION,
        Request::GetCapabilities => code::GET_CAPABILITIES,
        Request::NegotiateAlgorithms => code::NEGOTIATE_ALGORITHMS,
        Request::GetDigests => code::GET_DIGESTS,
        Request::GetCertificate => code::GET_CERTIFICATE,
        Request::Challenge | Request::ChallengeWithSummary(_) => code::CHALLENGE,
        Request::GetMeasurements { .. } => code::GET_MEASUREMENTS,
        Request::KeyExchange => code::KEY_EXCHANGE,
        Request::Finish => code::FINISH,
        Request::Heartbeat => code::HEARTBEAT,
        Request::KeyUpdate(_) => code::KEY_UPDATE,
        Request::EndSession => code::END_SESSION,
        Request::Vendor { .. } => code::VENDOR_DEFINED_REQUEST,
    }
}
