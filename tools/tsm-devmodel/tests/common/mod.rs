// SPDX-License-Identifier: GPL-2.0
//! A host-side requester driving the device model through a transport, and
//! helpers that start the model on a loopback TCP port or a socket pair.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tsm_devmodel::crypto::{self, ModelCrypto};
use tsm_devmodel::faults::Fault;
use tsm_devmodel::model::{ModelConfig, Profile};
use tsm_devmodel::transport::{self, Frame, Framed, Transport as _};
use tsm_proto::ide_km::{self, KeySubStream, KeyTarget, SUB_STREAMS};
use tsm_proto::spdm::crypto::Supported;
use tsm_proto::spdm::msg;
use tsm_proto::spdm::requester::{Request, Requester, RequesterConfig, Response};
use tsm_proto::spdm::vendor::{PROTOCOL_IDE_KM, PROTOCOL_TDISP};
use tsm_proto::spdm::{cap, Error};
use tsm_proto::tdisp::{self, Body, InterfaceId, InterfaceReport, TdiState};
use tsm_proto::wire::encode_into;

/// Longest a test waits for one answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How an exchange failed.
#[derive(Debug)]
pub enum HostError {
    /// The transport failed (closed, timed out, oversized frame).
    Io(io::Error),
    /// The device sent an empty answer (no response).
    NoAnswer,
    /// The requester refused the answer or the device sent ERROR.
    Spdm(Error),
}

impl HostError {
    /// The SPDM error, for asserts.
    pub fn spdm(&self) -> Option<Error> {
        match self {
            HostError::Spdm(e) => Some(*e),
            _ => None,
        }
    }
}

const REQUESTER_CONFIG: RequesterConfig = RequesterConfig {
    flags: cap::ENCRYPT | cap::MAC | cap::KEY_EX | cap::HBEAT | cap::KEY_UPD,
    ct_exponent: 12,
    data_transfer_size: 0x1000,
    max_spdm_msg_size: 0x1000,
    req_session_id: 0xFFFE,
    algorithms: Supported::ALL,
};

/// A requester talking to the model over a framed stream.
pub struct Host<T: Read + Write> {
    pub requester: Requester<ModelCrypto, Vec<u8>>,
    pub link: Framed<T>,
    request: Vec<u8>,
}

impl<T: Read + Write> Host<T> {
    /// A requester that trusts `root` (DER) if given.
    pub fn new(link: Framed<T>, root: Option<Vec<u8>>) -> Self {
        Self::offering(link, root, Supported::ALL)
    }

    /// A requester that trusts `root` (DER) if given and offers only
    /// `algorithms`.
    pub fn offering(link: Framed<T>, root: Option<Vec<u8>>, algorithms: Supported) -> Self {
        let mut crypto = ModelCrypto::new(crypto::rng(Some(99)), None);
        if let Some(root) = root {
            crypto.hooks.trusted_root = Some(root);
        }
        let cert_buf = vec![0u8; 0x4000];
        Self {
            requester: Requester::new(
                crypto,
                RequesterConfig {
                    algorithms,
                    ..REQUESTER_CONFIG
                },
                cert_buf,
            ),
            link,
            request: vec![0u8; 0x2000],
        }
    }

    /// One request/response through the model.
    pub fn exchange<R>(
        &mut self,
        req: Request<'_>,
        check: impl FnOnce(Response<'_>) -> R,
    ) -> Result<R, HostError> {
        let len = self
            .requester
            .request(req, &mut self.request)
            .map_err(HostError::Spdm)?;
        let mut answer =
            Self::answer(&mut self.link, &self.request[..len]).map_err(HostError::Io)?;
        if answer.is_empty() {
            return Err(HostError::NoAnswer);
        }
        self.requester
            .response(&mut answer)
            .map(check)
            .map_err(HostError::Spdm)
    }

    /// Sends `request` and returns the answer's payload, past the IDE_KM frames a model on the
    /// relay sends before it.
    fn answer(link: &mut Framed<T>, request: &[u8]) -> io::Result<Vec<u8>> {
        link.send(&Frame::doe(request.to_vec()))?;
        loop {
            match link.recv()? {
                Some(f) if f.command == transport::COMMAND_DEVICE_IDE_KM => {}
                Some(f) if f.command == transport::COMMAND_NORMAL => return Ok(f.payload),
                Some(f) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("unexpected command {:#x}", f.command),
                    ))
                }
                None => return Err(io::ErrorKind::UnexpectedEof.into()),
            }
        }
    }

    /// Tells a model on the relay that `value` was written to the register at `offset` of the
    /// function `rid`, as the platform does.
    pub fn config_write(&mut self, rid: u16, offset: u16, value: u32) {
        let mut payload = rid.to_le_bytes().to_vec();
        payload.extend_from_slice(&offset.to_le_bytes());
        payload.extend_from_slice(&value.to_le_bytes());
        self.link
            .send(&Frame {
                command: transport::COMMAND_CONFIG_WRITE,
                transport: transport::TRANSPORT_PCI_DOE,
                payload,
            })
            .expect("config write frame");
    }

    /// A memory request of `len` bytes at `address` to the function `rid`, through a model on
    /// the relay; returns the Completion Status.
    pub fn mmio(&mut self, rid: u16, address: u64, len: u32, write: bool) -> u32 {
        const TAG: u32 = 0x5eed;
        let mut payload = TAG.to_le_bytes().to_vec();
        payload.extend_from_slice(&rid.to_le_bytes());
        payload.extend_from_slice(&u16::from(write).to_le_bytes());
        payload.extend_from_slice(&address.to_le_bytes());
        payload.extend_from_slice(&len.to_le_bytes());
        self.link
            .send(&Frame {
                command: transport::COMMAND_MMIO_ACCESS,
                transport: transport::TRANSPORT_PCI_DOE,
                payload,
            })
            .expect("MMIO access frame");
        let f = self.link.recv().expect("completion").expect("a frame");
        assert_eq!(f.command, transport::COMMAND_MMIO_COMPLETION);
        assert_eq!(f.payload.len(), 8);
        assert_eq!(f.payload[..4], TAG.to_le_bytes());
        u32::from_le_bytes([f.payload[4], f.payload[5], f.payload[6], f.payload[7]])
    }

    /// VERSION, CAPABILITIES, ALGORITHMS, DIGESTS, whole CERTIFICATE chain.
    pub fn connect(&mut self) -> Result<(), HostError> {
        self.exchange(Request::GetVersion, |r| assert_eq!(r, Response::Version))?;
        let flags = self.exchange(Request::GetCapabilities, |r| match r {
            Response::Capabilities(f) => f,
            other => panic!("{other:?}"),
        })?;
        assert_ne!(flags & cap::KEY_EX, 0);
        assert_ne!(flags & cap::MEAS_SIG, 0);
        self.exchange(Request::NegotiateAlgorithms, |r| {
            assert!(matches!(r, Response::Algorithms(_)), "{r:?}")
        })?;
        self.exchange(Request::GetDigests, |r| assert_eq!(r, Response::Digests(1)))?;
        for _ in 0..64 {
            let complete = self.exchange(Request::GetCertificate, |r| match r {
                Response::Certificate { complete } => complete,
                other => panic!("{other:?}"),
            })?;
            if complete {
                return Ok(());
            }
        }
        panic!("certificate never completed");
    }

    pub fn challenge(&mut self) -> Result<(), HostError> {
        self.exchange(Request::Challenge, |r| {
            assert_eq!(r, Response::ChallengeAuth)
        })
    }

    /// Signed measurements of all blocks: (index, value type, value).
    pub fn measurements(&mut self) -> Result<Vec<(u8, u8, Vec<u8>)>, HostError> {
        self.exchange(
            Request::GetMeasurements {
                operation: msg::MEAS_OP_ALL,
                signed: true,
                nonce: None,
            },
            |r| match r {
                Response::Measurements(m) => m
                    .blocks()
                    .map(|b| b.map(|b| (b.index, b.value_type, b.value.to_vec())))
                    .collect::<Result<Vec<_>, _>>()
                    .expect("well-formed blocks"),
                other => panic!("{other:?}"),
            },
        )
    }

    /// KEY_EXCHANGE + FINISH; returns the SessionID.
    pub fn open_session(&mut self) -> Result<u32, HostError> {
        let id = self.exchange(Request::KeyExchange, |r| match r {
            Response::KeyExchange { session_id } => session_id,
            other => panic!("{other:?}"),
        })?;
        self.exchange(Request::Finish, |r| assert_eq!(r, Response::Finish))?;
        Ok(id)
    }

    pub fn heartbeat(&mut self) -> Result<(), HostError> {
        self.exchange(Request::Heartbeat, |r| assert_eq!(r, Response::Heartbeat))
    }

    /// KEY_UPDATE UpdateAllKeys, then VerifyNewKey under the new keys.
    pub fn key_update(&mut self) -> Result<(), HostError> {
        for op in [
            msg::KeyOperation::UpdateAllKeys,
            msg::KeyOperation::VerifyNewKey,
        ] {
            self.exchange(Request::KeyUpdate(op), |r| {
                assert_eq!(r, Response::KeyUpdate(op))
            })?;
        }
        Ok(())
    }

    pub fn end_session(&mut self) -> Result<(), HostError> {
        self.exchange(Request::EndSession, |r| assert_eq!(r, Response::EndSession))
    }

    fn vendor(&mut self, protocol: u8, body: &[u8]) -> Result<Vec<u8>, HostError> {
        self.exchange(Request::Vendor { protocol, body }, |r| match r {
            Response::Vendor { body, .. } => body.to_vec(),
            other => panic!("{other:?}"),
        })
    }

    pub fn ide_km(&mut self, m: ide_km::Message<'_>) -> Result<Vec<u8>, HostError> {
        let mut body = [0u8; 64];
        let len = encode_into(&mut body, |w| m.write(w)).expect("encodes");
        self.vendor(PROTOCOL_IDE_KM, &body[..len])
    }

    pub fn tdisp(&mut self, interface: InterfaceId, body: Body<'_>) -> Result<Vec<u8>, HostError> {
        let mut buf = [0u8; 128];
        let len = encode_into(&mut buf, |w| {
            tdisp::Message {
                version: tdisp::VERSION_10,
                interface,
                body,
            }
            .write(w)
        })
        .expect("encodes");
        self.vendor(PROTOCOL_TDISP, &buf[..len])
    }

    /// IDE_KM: QUERY, then KEY_PROG and K_SET_GO for all six slots of key
    /// set 0 on stream 1. Returns the QUERY_RESP register bytes.
    pub fn program_ide_keys(&mut self) -> Result<Vec<u8>, HostError> {
        let query = self.ide_km(ide_km::Message::Query { port_index: 0 })?;
        let registers = match ide_km::Message::decode(&query).expect("QUERY_RESP") {
            ide_km::Message::QueryResp { registers, .. } => registers.to_vec(),
            other => panic!("{other:?}"),
        };
        let ifv = ide_km::ifv_to_wire(&[0, 0, 0, 0, 0, 0, 0, 1]);
        let mut slots = Vec::new();
        for tx in [false, true] {
            for sub_stream in SUB_STREAMS {
                slots.push(KeyTarget {
                    stream_id: 1,
                    key_sub_stream: KeySubStream {
                        key_set: 0,
                        tx,
                        sub_stream,
                    },
                    port_index: 0,
                });
            }
        }
        for (i, target) in slots.iter().enumerate() {
            let key = ide_km::key_to_wire(&[i as u8 + 0x40; ide_km::KEY_LEN]);
            let ack = self.ide_km(ide_km::Message::KeyProg {
                target: *target,
                key: &key,
                ifv: &ifv,
            })?;
            assert_eq!(
                ide_km::Message::decode(&ack),
                Ok(ide_km::Message::KpAck {
                    target: *target,
                    status: ide_km::STATUS_OK
                })
            );
        }
        for target in &slots {
            let ack = self.ide_km(ide_km::Message::KSetGo(*target))?;
            assert_eq!(
                ide_km::Message::decode(&ack),
                Ok(ide_km::Message::KGoStopAck(*target))
            );
        }
        Ok(registers)
    }

    /// TDISP: version, capabilities, lock, state, report, start, stop.
    /// Returns the interface report.
    pub fn tdisp_flow(&mut self, interface: InterfaceId) -> Result<Vec<u8>, HostError> {
        let body = |bytes: &[u8]| {
            tdisp::Message::decode(bytes)
                .expect("TDISP message")
                .body
                .message_type()
        };
        let v = self.tdisp(interface, Body::GetVersion)?;
        assert_eq!(
            tdisp::Message::decode(&v).unwrap().body,
            Body::Version(&[tdisp::VERSION_10])
        );
        let c = self.tdisp(interface, Body::GetCapabilities(0))?;
        assert_eq!(
            body(&c),
            tdisp::code::response(tdisp::code::GET_CAPABILITIES)
        );
        let lock = tdisp::LockParams {
            flags: tdisp::lock_flags::NO_FW_UPDATE,
            default_stream_id: 1,
            mmio_reporting_offset: 0,
            bind_p2p_address_mask: 0,
        };
        let locked = self.tdisp(interface, Body::LockInterface(lock))?;
        let nonce = match tdisp::Message::decode(&locked).unwrap().body {
            Body::LockInterfaceRsp(n) => *n,
            other => panic!("lock: {other:?}"),
        };
        self.expect_state(interface, TdiState::ConfigLocked)?;
        let report = self.read_report(interface, 0x40)?;
        InterfaceReport::decode(&report).expect("report parses");
        let started = self.tdisp(interface, Body::Start(&nonce))?;
        assert_eq!(
            tdisp::Message::decode(&started).unwrap().body,
            Body::StartRsp
        );
        self.expect_state(interface, TdiState::Run)?;
        let stopped = self.tdisp(interface, Body::Stop)?;
        assert_eq!(
            tdisp::Message::decode(&stopped).unwrap().body,
            Body::StopRsp
        );
        self.expect_state(interface, TdiState::ConfigUnlocked)?;
        Ok(report)
    }

    /// Reads the whole DEVICE_INTERFACE_REPORT of a locked TDI, `portion` bytes per
    /// GET_DEVICE_INTERFACE_REPORT.
    pub fn read_report(
        &mut self,
        interface: InterfaceId,
        portion: u16,
    ) -> Result<Vec<u8>, HostError> {
        let mut report = Vec::new();
        for _ in 0..64 {
            let rsp = self.tdisp(
                interface,
                Body::GetReport {
                    offset: report.len() as u16,
                    length: portion,
                },
            )?;
            let Body::Report {
                portion,
                remainder_length,
            } = tdisp::Message::decode(&rsp).unwrap().body
            else {
                panic!("{rsp:?}")
            };
            report.extend_from_slice(portion);
            if remainder_length == 0 {
                return Ok(report);
            }
        }
        panic!("the report does not end")
    }

    pub fn tdi_state(&mut self, interface: InterfaceId) -> Result<TdiState, HostError> {
        let rsp = self.tdisp(interface, Body::GetState)?;
        match tdisp::Message::decode(&rsp).unwrap().body {
            Body::State(s) => Ok(s),
            other => panic!("{other:?}"),
        }
    }

    fn expect_state(&mut self, interface: InterfaceId, want: TdiState) -> Result<(), HostError> {
        assert_eq!(self.tdi_state(interface)?, want);
        Ok(())
    }
}

/// A device profile with a fixed seed and the given faults.
pub fn profile(faults: &[&str]) -> Arc<Profile> {
    let config = ModelConfig {
        seed: Some(7),
        faults: faults
            .iter()
            .map(|f| f.parse::<Fault>().expect("fault spec"))
            .collect(),
        ..ModelConfig::default()
    };
    Arc::new(Profile::new(config).expect("profile"))
}

/// Starts the model on a free loopback port (one connection) and connects.
pub fn over_tcp(profile: &Arc<Profile>) -> (Host<TcpStream>, JoinHandle<io::Result<()>>) {
    let listener = transport::listen(0).expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().unwrap();
    assert!(addr.ip().is_loopback());
    let p = Arc::clone(profile);
    let server = thread::spawn(move || transport::serve_listener(&p, &listener, true));
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let root = profile.chain.root.der.clone();
    (Host::new(Framed::new(stream), Some(root)), server)
}

/// Starts the model on one end of a socket pair as it serves the emulated platform's relay
/// (`serve_relay`).
pub fn over_relay(
    profile: &Arc<Profile>,
) -> (Host<UnixStream>, JoinHandle<io::Result<transport::Ended>>) {
    let (device, host) = UnixStream::pair().expect("socketpair");
    let p = Arc::clone(profile);
    let server = thread::spawn(move || transport::serve_relay(&p, &mut Framed::new(device)));
    host.set_read_timeout(Some(TIMEOUT)).unwrap();
    let root = profile.chain.root.der.clone();
    (Host::new(Framed::new(host), Some(root)), server)
}

/// Starts the model on one end of a socket pair (the mailbox-relay framing
/// over an arbitrary stream).
pub fn over_pair(
    profile: &Arc<Profile>,
    trust_root: bool,
) -> (Host<UnixStream>, JoinHandle<io::Result<transport::Ended>>) {
    let (device, host) = UnixStream::pair().expect("socketpair");
    let p = Arc::clone(profile);
    let server = thread::spawn(move || transport::serve(&p, &mut Framed::new(device)));
    host.set_read_timeout(Some(TIMEOUT)).unwrap();
    let root = trust_root.then(|| profile.chain.root.der.clone());
    (Host::new(Framed::new(host), root), server)
}
