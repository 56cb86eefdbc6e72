// SPDX-License-Identifier: GPL-2.0

//! SPDM device authentication for kernel TSM drivers.
//!
//! Couples the sans-I/O SPDM requester of the `tsm_proto` crate to the kernel: [`KernelCrypto`]
//! implements its crypto provider on the kernel's crypto API and X.509 parser, and a
//! [`Connection`] runs the exchanges over a DOE transfer function: [`Connection::authenticate`]
//! (VERSION, CAPABILITIES, ALGORITHMS, DIGESTS, every CERTIFICATE portion, CHALLENGE with the
//! signature over the transcript checked, signed MEASUREMENTS), then, for a platform TSM, a
//! secure session ([`Connection::open_session`]: KEY_EXCHANGE, FINISH) that carries the
//! PCI-SIG vendor-defined protocols IDE_KM and TDISP ([`Connection::vendor`]), keeps it alive
//! ([`Connection::heartbeat`]) and renews its keys ([`Connection::key_update`]) until
//! [`Connection::end_session`]. [`authenticate`] is the one-shot form native CMA uses.
//!
//! The kernel checks what the protocol requires: the chain is well formed and each certificate
//! is signed by the one above it, the root matches the digest the device reported, and the
//! device's signatures verify with the leaf key. Whether the root is trusted is user space's
//! decision, from the evidence [`authenticate`] returns.
#![no_std]

mod crypto;

pub use crypto::{ChainError, KernelCrypto, KernelHash};

#[cfg(all(CONFIG_PCI_TSM_CORE, CONFIG_SYSFS))]
use kernel::tsm::evidence::{Evidence, Hash, Kind};
use kernel::{
    alloc::{AllocError, KVVec},
    prelude::*,
};
use tsm_proto::{
    doe,
    spdm::{
        cap,
        crypto::{Algorithms, CryptoError, Supported},
        msg::{self, KeyOperation},
        requester::{Request, Requester, RequesterConfig, Response},
        Error as SpdmError, NONCE_LEN,
    },
};

/// Largest SPDM message the requester accepts in one response (DataTransferSize), and the
/// largest it assembles (MaxSPDMmsgSize). Certificate chains arrive in portions of this size.
const TRANSFER_SIZE: u32 = 0x1000;

/// Largest certificate chain kept (the SPDM length field is 16 bits).
const CHAIN_CAPACITY: usize = 0xffff;

/// Portions of a certificate chain fetched at most (a chain of 64 KiB in 1 KiB pieces).
const MAX_CERTIFICATE_PORTIONS: usize = 64;

/// What an authenticated device showed, for evidence and later checks.
pub struct Authenticated {
    /// The negotiated SPDM version (e.g. `0x12`).
    pub version: u8,
    /// The negotiated algorithms.
    pub algorithms: Algorithms,
    /// The certificate chain of slot 0 in SPDM format (Length, Reserved, RootHash, DER
    /// certificates).
    pub cert_chain: KVVec<u8>,
    /// The VCA messages (GET_VERSION to ALGORITHMS) exactly as exchanged.
    pub vca: KVVec<u8>,
    /// The signed GET_MEASUREMENTS request and its MEASUREMENTS response, exactly as
    /// exchanged; empty if the device cannot sign measurements.
    pub measurements: KVVec<u8>,
}

// The evidence store is part of the kernel crate's PCI/TSM support.
#[cfg(all(CONFIG_PCI_TSM_CORE, CONFIG_SYSFS))]
impl Authenticated {
    /// The evidence objects of the authentication (`cert0`, `vca`, `measurements`), with
    /// digests in the negotiated hash, for [`kernel::tsm::evidence::publish_for`].
    pub fn evidence(&self) -> Result<Evidence> {
        use tsm_proto::spdm::crypto::HashAlgo;
        let hash = match self.algorithms.hash {
            HashAlgo::Sha256 => Hash::Sha256,
            HashAlgo::Sha384 => Hash::Sha384,
        };
        let mut evidence = Evidence::new(Some(hash));
        evidence.set(Kind::Cert0, &self.cert_chain)?;
        evidence.set(Kind::Vca, &self.vca)?;
        if !self.measurements.is_empty() {
            evidence.set(Kind::Measurements, &self.measurements)?;
        }
        Ok(evidence)
    }
}

/// Why [`authenticate`] failed. [`AuthError::errno`] gives the errno a driver reports.
#[derive(Debug)]
pub enum AuthError {
    /// The DOE transfer failed (the transfer function's error).
    Transport(Error),
    /// The device broke the protocol: malformed or unexpected responses, an SPDM ERROR, no
    /// common version or algorithm.
    Protocol(SpdmError),
    /// The certificate chain or a signature did not verify.
    Rejected(SpdmError),
    /// Memory or the crypto API failed.
    Local(Error),
}

impl AuthError {
    /// The errno of this failure: `EIO` for the transport (`ENOMEM` if it ran out of memory),
    /// `EPROTO` for a protocol violation, `EKEYREJECTED` for a chain or signature that does not
    /// verify, `ENOMEM` otherwise (an allocation that failed while checking one is not a
    /// rejection).
    pub fn errno(&self) -> Error {
        match self {
            AuthError::Transport(e) if *e == ENOMEM => ENOMEM,
            AuthError::Transport(_) => EIO,
            AuthError::Protocol(_) => EPROTO,
            AuthError::Rejected(_) => EKEYREJECTED,
            AuthError::Local(e) => *e,
        }
    }

    fn from_spdm(e: SpdmError) -> Self {
        match e {
            SpdmError::Crypto(
                CryptoError::BadSignature | CryptoError::BadMac | CryptoError::BadKey,
            ) => AuthError::Rejected(e),
            SpdmError::Crypto(CryptoError::Failed) => AuthError::Local(ENOMEM),
            _ => AuthError::Protocol(e),
        }
    }
}

impl From<Error> for AuthError {
    fn from(e: Error) -> Self {
        AuthError::Local(e)
    }
}

impl From<AllocError> for AuthError {
    fn from(_: AllocError) -> Self {
        AuthError::Local(ENOMEM)
    }
}

/// Relays DOE objects to a device: sends `request` (a DOE object of `object_type`, header
/// excluded) and returns the length of the answer written to `response`.
pub trait DoeTransfer {
    /// One DOE exchange (C `pci_doe()` or `pci_tsm_doe_transfer()`).
    fn transfer(&mut self, object_type: u8, request: &[u8], response: &mut [u8]) -> Result<usize>;
}

/// The SPDM connection to one device, from the requester's side: the requester state, its
/// certificate buffer and the object buffers. The DOE transfer is passed to each call, so a
/// connection can be kept (for its session) between calls without borrowing the device.
pub struct Connection {
    /// On the heap: the requester's hash states and session keys take kilobytes, which the
    /// callers' stack frames (a connection moves with what holds it) cannot afford on a 16 KiB
    /// kernel stack.
    requester: KBox<Requester<KernelCrypto, KVVec<u8>>>,
    request: KVVec<u8>,
    response: KVVec<u8>,
    /// The responder's capability flags, once CAPABILITIES arrived.
    responder_flags: u32,
}

/// Capabilities a requester advertises when it will open a session: KEY_EXCHANGE with encrypted
/// and authenticated secured messages.
const SESSION_CAPS: u32 = cap::KEY_EX | cap::ENCRYPT | cap::MAC;

impl Connection {
    /// A connection that has sent nothing and offers `algorithms` (e.g. [`Supported::ALL`]);
    /// with `session`, it advertises what a secure session needs, and KEY_UPDATE. It does not
    /// advertise HEARTBEAT: a device that agrees to heartbeats may end a session in which none
    /// comes within its HeartbeatPeriod (see [`Connection::with_heartbeat`]).
    pub fn new(algorithms: Supported, session: bool) -> Result<Self, AuthError> {
        let session_caps = if session {
            SESSION_CAPS | cap::KEY_UPD
        } else {
            0
        };
        Self::with_caps(algorithms, session_caps)
    }

    /// A connection for a secure session whose owner sends [`Connection::heartbeat`] within
    /// every HeartbeatPeriod the device sets: as [`Connection::new`] with `session`, and
    /// HEARTBEAT advertised too.
    pub fn with_heartbeat(algorithms: Supported) -> Result<Self, AuthError> {
        Self::with_caps(algorithms, SESSION_CAPS | cap::KEY_UPD | cap::HBEAT)
    }

    fn with_caps(algorithms: Supported, session_caps: u32) -> Result<Self, AuthError> {
        let config = RequesterConfig {
            flags: cap::CHAL | cap::CERT | session_caps,
            ct_exponent: 20,
            data_transfer_size: TRANSFER_SIZE,
            max_spdm_msg_size: TRANSFER_SIZE,
            req_session_id: 0xffff,
            algorithms,
        };
        let object_capacity = doe::HEADER_LEN + TRANSFER_SIZE as usize + 64;
        Ok(Self {
            requester: KBox::new(
                Requester::new(
                    KernelCrypto::new(),
                    config,
                    KVVec::from_elem(0u8, CHAIN_CAPACITY, GFP_KERNEL)?,
                ),
                GFP_KERNEL,
            )?,
            request: KVVec::from_elem(0u8, object_capacity, GFP_KERNEL)?,
            response: KVVec::from_elem(0u8, object_capacity, GFP_KERNEL)?,
            responder_flags: 0,
        })
    }

    /// Sends `req` through `transport` and hands the device's answer to `check`; with
    /// `record`, appends the request and the answer, exactly as exchanged, to it.
    fn run<T: DoeTransfer, R>(
        &mut self,
        transport: &mut T,
        req: Request<'_>,
        record: Option<&mut KVVec<u8>>,
        check: impl FnOnce(Response<'_>) -> Result<R, AuthError>,
    ) -> Result<R, AuthError> {
        let len = self
            .requester
            .request(req, &mut self.request)
            .map_err(AuthError::from_spdm)?;
        let (header, payload) =
            doe::decode_object(&self.request[..len]).map_err(|e| AuthError::Protocol(e.into()))?;
        let object_type = header.object_type;
        let payload_len = payload.len();
        // The requester writes whole objects; the transfer adds the DOE header itself.
        let (head, body) = self.response.split_at_mut(doe::HEADER_LEN);
        let got = transport
            .transfer(
                object_type,
                &self.request[doe::HEADER_LEN..][..payload_len],
                body,
            )
            .map_err(AuthError::Transport)?;
        let mut w = tsm_proto::wire::Writer::new(head);
        doe::Header::for_payload(header.vendor_id, object_type, got)
            .and_then(|h| h.write(&mut w))
            .map_err(|e| AuthError::Protocol(e.into()))?;
        let object = &mut self.response[..doe::HEADER_LEN + got];
        let response = self
            .requester
            .response(object)
            .map_err(AuthError::from_spdm)?;
        let result = check(response)?;
        if let Some(record) = record {
            let (request, answer) = self.requester.last_exchange(&self.response);
            record.extend_from_slice(request, GFP_KERNEL)?;
            record.extend_from_slice(answer, GFP_KERNEL)?;
        }
        Ok(result)
    }

    /// Authenticates the device: on success it has proven, with a fresh nonce, that it holds
    /// the private key of the leaf certificate of a chain that is internally consistent; the
    /// chain, the VCA messages and a signed measurement exchange (whose Nonce is `nonce`, or a
    /// random one) are returned as evidence. Sleeps (DOE exchanges, allocation).
    pub fn authenticate<T: DoeTransfer>(
        &mut self,
        transport: &mut T,
        nonce: Option<&[u8; NONCE_LEN]>,
    ) -> Result<Authenticated, AuthError> {
        let mut vca = KVVec::new();
        self.run(
            transport,
            Request::GetVersion,
            Some(&mut vca),
            |r| match r {
                Response::Version => Ok(()),
                other => unexpected(other),
            },
        )?;
        let flags = self.run(
            transport,
            Request::GetCapabilities,
            Some(&mut vca),
            |r| match r {
                Response::Capabilities(flags) => Ok(flags),
                other => unexpected(other),
            },
        )?;
        self.responder_flags = flags;
        if flags & cap::CERT == 0 || flags & cap::CHAL == 0 {
            return Err(AuthError::Protocol(SpdmError::Negotiation(
                "device cannot prove its identity (no CERT_CAP or CHAL_CAP)",
            )));
        }
        let algorithms = self.run(
            transport,
            Request::NegotiateAlgorithms,
            Some(&mut vca),
            |r| match r {
                Response::Algorithms(a) => Ok(a),
                other => unexpected(other),
            },
        )?;
        self.run(transport, Request::GetDigests, None, |r| match r {
            Response::Digests(slots) if slots & 1 != 0 => Ok(()),
            Response::Digests(_) => Err(AuthError::Protocol(SpdmError::Negotiation(
                "no certificate chain in slot 0",
            ))),
            other => unexpected(other),
        })?;
        let mut complete = false;
        for _ in 0..MAX_CERTIFICATE_PORTIONS {
            complete = self.run(transport, Request::GetCertificate, None, |r| match r {
                Response::Certificate { complete } => Ok(complete),
                other => unexpected(other),
            })?;
            if complete {
                break;
            }
        }
        if !complete {
            return Err(AuthError::Protocol(SpdmError::Negotiation(
                "certificate chain does not end",
            )));
        }
        self.run(transport, Request::Challenge, None, |r| match r {
            Response::ChallengeAuth => Ok(()),
            other => unexpected(other),
        })?;
        let measurements = if flags & cap::MEAS_SIG != 0 {
            self.measure(transport, nonce)?
        } else {
            KVVec::new()
        };
        let version = self.requester.spdm_version().unwrap_or(0);
        let chain = self.requester.cert_chain().unwrap_or(&[]);
        let mut cert_chain = KVVec::with_capacity(chain.len(), GFP_KERNEL)?;
        cert_chain.extend_from_slice(chain, GFP_KERNEL)?;
        Ok(Authenticated {
            version,
            algorithms,
            cert_chain,
            vca,
            measurements,
        })
    }

    /// Asks the authenticated device for all its measurements, signed over a request whose
    /// Nonce is `nonce` (or a random one), inside the session once one is open; returns the
    /// GET_MEASUREMENTS request and the MEASUREMENTS response exactly as exchanged (decrypted
    /// in a session), after checking the signature.
    pub fn measure<T: DoeTransfer>(
        &mut self,
        transport: &mut T,
        nonce: Option<&[u8; NONCE_LEN]>,
    ) -> Result<KVVec<u8>, AuthError> {
        let mut exchange = KVVec::new();
        let request = Request::GetMeasurements {
            operation: msg::MEAS_OP_ALL,
            signed: true,
            nonce,
        };
        self.run(transport, request, Some(&mut exchange), |r| match r {
            Response::Measurements(_) => Ok(()),
            other => unexpected(other),
        })?;
        Ok(exchange)
    }

    /// Opens a secure session with the authenticated device (KEY_EXCHANGE, whose signature is
    /// checked with the leaf key, then FINISH) and returns its SessionID.
    pub fn open_session<T: DoeTransfer>(&mut self, transport: &mut T) -> Result<u32, AuthError> {
        if self.responder_flags & SESSION_CAPS != SESSION_CAPS {
            return Err(AuthError::Protocol(SpdmError::Negotiation(
                "device cannot open a secure session (KEY_EX_CAP, ENCRYPT_CAP, MAC_CAP)",
            )));
        }
        let session_id = self.run(transport, Request::KeyExchange, None, |r| match r {
            Response::KeyExchange { session_id } => Ok(session_id),
            other => unexpected(other),
        })?;
        self.run(transport, Request::Finish, None, |r| match r {
            Response::Finish => Ok(()),
            other => unexpected(other),
        })?;
        Ok(session_id)
    }

    /// The SessionID of the open session, if any.
    pub fn session_id(&self) -> Option<u32> {
        self.requester.session_id()
    }

    /// One PCI-SIG vendor-defined exchange in the session: sends `body` of `protocol`
    /// (`tsm_proto::spdm::vendor::PROTOCOL_IDE_KM`, `PROTOCOL_TDISP`) and copies the answer's
    /// body into `answer`, returning its length. An answer of another protocol, or longer than
    /// `answer`, is a protocol error.
    pub fn vendor<T: DoeTransfer>(
        &mut self,
        transport: &mut T,
        protocol: u8,
        body: &[u8],
        answer: &mut [u8],
    ) -> Result<usize, AuthError> {
        self.run(
            transport,
            Request::Vendor { protocol, body },
            None,
            |r| match r {
                Response::Vendor {
                    protocol: got,
                    body,
                } if got == protocol => {
                    let out = answer.get_mut(..body.len()).ok_or(AuthError::Protocol(
                        SpdmError::Negotiation("vendor-defined answer too long"),
                    ))?;
                    out.copy_from_slice(body);
                    Ok(body.len())
                }
                Response::Vendor { .. } => Err(AuthError::Protocol(SpdmError::Negotiation(
                    "vendor-defined answer of another protocol",
                ))),
                other => unexpected(other),
            },
        )
    }

    /// Sends HEARTBEAT in the session. Fails with a protocol error (before sending anything) if
    /// the device did not agree to heartbeats (HBEAT_CAP and a HeartbeatPeriod).
    pub fn heartbeat<T: DoeTransfer>(&mut self, transport: &mut T) -> Result<(), AuthError> {
        self.run(transport, Request::Heartbeat, None, |r| match r {
            Response::Heartbeat => Ok(()),
            other => unexpected(other),
        })
    }

    /// Renews the session keys of both directions: KEY_UPDATE UpdateAllKeys, then VerifyNewKey
    /// under the new keys. Fails with a protocol error (before sending anything) if the device
    /// has no KEY_UPD_CAP.
    pub fn key_update<T: DoeTransfer>(&mut self, transport: &mut T) -> Result<(), AuthError> {
        for op in [KeyOperation::UpdateAllKeys, KeyOperation::VerifyNewKey] {
            self.run(transport, Request::KeyUpdate(op), None, |r| match r {
                Response::KeyUpdate(done) if done == op => Ok(()),
                other => unexpected(other),
            })?;
        }
        Ok(())
    }

    /// Ends the session (END_SESSION); the session keys are gone either way.
    pub fn end_session<T: DoeTransfer>(&mut self, transport: &mut T) -> Result<(), AuthError> {
        self.run(transport, Request::EndSession, None, |r| match r {
            Response::EndSession => Ok(()),
            other => unexpected(other),
        })
    }
}

/// An answer of another kind than the request asked for (the requester refuses those before
/// they get here; kept so that a new response kind cannot pass unnoticed).
fn unexpected<R>(_response: Response<'_>) -> Result<R, AuthError> {
    Err(AuthError::Protocol(SpdmError::Negotiation(
        "unexpected response",
    )))
}

/// Authenticates the device behind `transport`, offering `algorithms` (e.g.
/// [`Supported::ALL`]), with `nonce` in the signed measurement request; see
/// [`Connection::authenticate`].
pub fn authenticate<T: DoeTransfer>(
    transport: &mut T,
    algorithms: Supported,
    nonce: Option<&[u8; NONCE_LEN]>,
) -> Result<Authenticated, AuthError> {
    Connection::new(algorithms, false)?.authenticate(transport, nonce)
}
