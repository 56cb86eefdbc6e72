// SPDX-License-Identifier: GPL-2.0
//! PCIe IDE key management (IDE_KM, PCIe r6.x section 6.33.8), carried as
//! PCI-SIG vendor-defined protocol 0 inside an SPDM session.
//!
//! Layouts follow the PCIe IDE_KM object tables as mirrored by DMTF libspdm
//! `pci_idekm.h`. Every object starts with ObjectID; all but QUERY/QUERY_RESP
//! share the 7-byte header `ObjectID, Reserved(2), StreamID, Reserved/Status,
//! KeySubStream, PortIndex`.
//!
//! Key byte order (intel/tee-io-validator `doc/key_byte_order.md`, **not
//! confirmed** against the PCIe text): the AES-256 key `k[0..32]` travels as
//! eight little-endian dwords with DW7 = `k[0..4]` (k\[0\] in bits 31:24) down
//! to DW0 = `k[28..32]`, so the wire bytes are the key reversed; the IFV
//! likewise (DW1 = `ifv[0..4]`, DW0 = `ifv[4..8]`).

use super::wire::{Error, Reader, Result, Writer};

/// QUERY.
pub const QUERY: u8 = 0x00;
/// QUERY_RESP.
pub const QUERY_RESP: u8 = 0x01;
/// KEY_PROG.
pub const KEY_PROG: u8 = 0x02;
/// KP_ACK.
pub const KP_ACK: u8 = 0x03;
/// K_SET_GO.
pub const K_SET_GO: u8 = 0x04;
/// K_SET_STOP.
pub const K_SET_STOP: u8 = 0x05;
/// K_GOSTOP_ACK.
pub const K_GOSTOP_ACK: u8 = 0x06;

/// KP_ACK status: success.
pub const STATUS_OK: u8 = 0;
/// KP_ACK status: incorrect length.
pub const STATUS_INCORRECT_LENGTH: u8 = 1;
/// KP_ACK status: unsupported PortIndex.
pub const STATUS_UNSUPPORTED_PORT: u8 = 2;
/// KP_ACK status: unsupported value.
pub const STATUS_UNSUPPORTED_VALUE: u8 = 3;
/// KP_ACK status: unspecified failure.
pub const STATUS_UNSPECIFIED: u8 = 4;

/// AES-256-GCM key size.
pub const KEY_LEN: usize = 32;
/// Initial IFV size.
pub const IFV_LEN: usize = 8;

/// Sub-streams of a selective IDE stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubStream {
    /// Posted requests.
    Posted = 0,
    /// Non-posted requests.
    NonPosted = 1,
    /// Completions.
    Completion = 2,
}

/// All three sub-streams, in the order firmware programs them.
pub const SUB_STREAMS: [SubStream; 3] = [
    SubStream::Posted,
    SubStream::NonPosted,
    SubStream::Completion,
];

/// The KeySubStream byte: bit 0 key set, bit 1 direction (1 = TX),
/// bits 7:4 sub-stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySubStream {
    /// Key set K0 (0) or K1 (1).
    pub key_set: u8,
    /// Transmit (true) or receive (false), from the device's view.
    pub tx: bool,
    /// Sub-stream.
    pub sub_stream: SubStream,
}

impl KeySubStream {
    /// Decodes the byte; bits 3:2 are reserved.
    pub fn from_byte(b: u8) -> Result<Self> {
        let sub_stream = match b >> 4 {
            0 => SubStream::Posted,
            1 => SubStream::NonPosted,
            2 => SubStream::Completion,
            _ => return Err(Error::InvalidField("KeySubStream")),
        };
        Ok(Self {
            key_set: b & 1,
            tx: b & 2 != 0,
            sub_stream,
        })
    }

    /// Encodes the byte.
    pub fn to_byte(self) -> u8 {
        (self.key_set & 1) | (u8::from(self.tx) << 1) | ((self.sub_stream as u8) << 4)
    }

    /// A dense index 0..12 (key set, direction, sub-stream) for bitmaps.
    pub fn index(self) -> u32 {
        u32::from(self.key_set & 1) * 6 + u32::from(self.tx) * 3 + self.sub_stream as u32
    }
}

/// Converts an AES key in natural byte order to KEY_PROG wire order.
pub fn key_to_wire(key: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
    reverse_dwords(key)
}

/// Converts a KEY_PROG key back to natural byte order.
pub fn key_from_wire(wire: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
    reverse_dwords(wire)
}

/// Converts an IFV in natural byte order to KEY_PROG wire order.
pub fn ifv_to_wire(ifv: &[u8; IFV_LEN]) -> [u8; IFV_LEN] {
    reverse_dwords(ifv)
}

/// Wire DW i holds natural bytes `[4(n-1-i) .. 4(n-i)]` as a big-endian
/// value, written little-endian: the whole field reversed.
fn reverse_dwords<const N: usize>(natural: &[u8; N]) -> [u8; N] {
    let mut out = [0u8; N];
    for (dw_index, dw) in out.chunks_exact_mut(4).enumerate() {
        let src = N / 4 - 1 - dw_index;
        if let Some(src) = natural.get(src * 4..src * 4 + 4) {
            let value = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
            dw.copy_from_slice(&value.to_le_bytes());
        }
    }
    out
}

/// The common 7-byte addressing of KEY_PROG, KP_ACK and the key-set objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyTarget {
    /// Stream ID.
    pub stream_id: u8,
    /// KeySubStream.
    pub key_sub_stream: KeySubStream,
    /// Port index (0 = the function itself).
    pub port_index: u8,
}

impl KeyTarget {
    /// Reads after ObjectID; returns the target and the Status/reserved byte.
    fn read(r: &mut Reader<'_>) -> Result<(Self, u8)> {
        r.skip(2)?;
        let stream_id = r.u8()?;
        let status = r.u8()?;
        let key_sub_stream = KeySubStream::from_byte(r.u8()?)?;
        Ok((
            Self {
                stream_id,
                key_sub_stream,
                port_index: r.u8()?,
            },
            status,
        ))
    }

    fn write(&self, w: &mut Writer<'_>, object_id: u8, status: u8) -> Result<()> {
        w.u8(object_id)?;
        w.zeros(2)?;
        w.u8(self.stream_id)?;
        w.u8(status)?;
        w.u8(self.key_sub_stream.to_byte())?;
        w.u8(self.port_index)
    }
}

/// An IDE_KM object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// QUERY: asks for the IDE registers of a port.
    Query {
        /// Port index.
        port_index: u8,
    },
    /// QUERY_RESP.
    QueryResp {
        /// Port index.
        port_index: u8,
        /// Device/function number.
        dev_func: u8,
        /// Bus number.
        bus: u8,
        /// Segment.
        segment: u8,
        /// Highest port index.
        max_port_index: u8,
        /// IDE extended capability registers from offset 0x04 on.
        registers: &'a [u8],
    },
    /// KEY_PROG: key and IFV in wire order.
    KeyProg {
        /// Target.
        target: KeyTarget,
        /// Key in wire order, see [`key_to_wire`].
        key: &'a [u8; KEY_LEN],
        /// IFV in wire order.
        ifv: &'a [u8; IFV_LEN],
    },
    /// KP_ACK.
    KpAck {
        /// Target.
        target: KeyTarget,
        /// Status.
        status: u8,
    },
    /// K_SET_GO.
    KSetGo(KeyTarget),
    /// K_SET_STOP.
    KSetStop(KeyTarget),
    /// K_GOSTOP_ACK.
    KGoStopAck(KeyTarget),
}

impl<'a> Message<'a> {
    /// Decodes one object; the input must hold exactly one.
    pub fn decode(buf: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let m = match r.u8()? {
            QUERY => {
                r.skip(1)?;
                Message::Query {
                    port_index: r.u8()?,
                }
            }
            QUERY_RESP => {
                r.skip(1)?;
                let m = Message::QueryResp {
                    port_index: r.u8()?,
                    dev_func: r.u8()?,
                    bus: r.u8()?,
                    segment: r.u8()?,
                    max_port_index: r.u8()?,
                    registers: r.rest(),
                };
                if let Message::QueryResp { registers, .. } = m {
                    // At least the IDE Capability and Control registers, in dwords.
                    if registers.len() < 8 || registers.len() % 4 != 0 {
                        return Err(Error::InvalidField("IDE registers"));
                    }
                }
                m
            }
            KEY_PROG => {
                let (target, _) = KeyTarget::read(&mut r)?;
                Message::KeyProg {
                    target,
                    key: r.array()?,
                    ifv: r.array()?,
                }
            }
            KP_ACK => {
                let (target, status) = KeyTarget::read(&mut r)?;
                Message::KpAck { target, status }
            }
            K_SET_GO => Message::KSetGo(KeyTarget::read(&mut r)?.0),
            K_SET_STOP => Message::KSetStop(KeyTarget::read(&mut r)?.0),
            K_GOSTOP_ACK => Message::KGoStopAck(KeyTarget::read(&mut r)?.0),
            other => return Err(Error::UnexpectedCode(other)),
        };
        r.finish()?;
        Ok(m)
    }

    /// Encodes the object.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        match *self {
            Message::Query { port_index } => w.bytes(&[QUERY, 0, port_index]),
            Message::QueryResp {
                port_index,
                dev_func,
                bus,
                segment,
                max_port_index,
                registers,
            } => {
                w.bytes(&[
                    QUERY_RESP,
                    0,
                    port_index,
                    dev_func,
                    bus,
                    segment,
                    max_port_index,
                ])?;
                w.bytes(registers)
            }
            Message::KeyProg { target, key, ifv } => {
                target.write(w, KEY_PROG, 0)?;
                w.bytes(key)?;
                w.bytes(ifv)
            }
            Message::KpAck { target, status } => target.write(w, KP_ACK, status),
            Message::KSetGo(target) => target.write(w, K_SET_GO, 0),
            Message::KSetStop(target) => target.write(w, K_SET_STOP, 0),
            Message::KGoStopAck(target) => target.write(w, K_GOSTOP_ACK, 0),
        }
    }
}

/// Key state of one IDE port: one selective stream, six key slots per key
/// set.
///
/// A key slot must be programmed before K_SET_GO; the stream is keyed once
/// all six (RX/TX x PR/NPR/CPL) slots of one key set are programmed and
/// went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdePort<'a> {
    /// IDE extended capability registers reported by QUERY_RESP.
    pub registers: &'a [u8],
    stream_id: Option<u8>,
    /// Bit [`KeySubStream::index`] set when that slot holds a key.
    programmed: u16,
    /// Bit set when that slot was K_SET_GO'd.
    active: u16,
    /// Last programmed key per slot, natural order (for link models).
    keys: [[u8; KEY_LEN]; 12],
}

/// All six slots of key set 0 (bits 0..6) or key set 1 (bits 6..12).
const KEY_SET_MASK: [u16; 2] = [0x003F, 0x0FC0];

impl<'a> IdePort<'a> {
    /// A port with no keys.
    pub fn new(registers: &'a [u8]) -> Self {
        Self {
            registers,
            stream_id: None,
            programmed: 0,
            active: 0,
            keys: [[0; KEY_LEN]; 12],
        }
    }

    /// The stream ID once a key set is programmed and active in all six slots.
    pub fn stream_keyed(&self) -> Option<u8> {
        let live = KEY_SET_MASK
            .iter()
            .any(|&m| self.programmed & m == m && self.active & m == m);
        if live {
            self.stream_id
        } else {
            None
        }
    }

    /// The key last programmed into a slot, in natural byte order.
    pub fn key(&self, slot: KeySubStream) -> Option<&[u8; KEY_LEN]> {
        if self.programmed & (1 << slot.index()) == 0 {
            return None;
        }
        self.keys.get(slot.index() as usize)
    }

    /// The Stream ID the port's keys belong to, while it holds any.
    pub fn stream_id(&self) -> Option<u8> {
        self.stream_id.filter(|_| self.programmed != 0)
    }

    /// Slots holding a key.
    pub fn programmed_slots(&self) -> u32 {
        self.programmed.count_ones()
    }

    /// Slots holding a key that went into use with K_SET_GO.
    pub fn active_slots(&self) -> u32 {
        (self.programmed & self.active).count_ones()
    }

    /// The key of the key set in use (went with K_SET_GO) for one direction and sub-stream, in
    /// natural byte order.
    pub fn active_key(&self, tx: bool, sub_stream: SubStream) -> Option<&[u8; KEY_LEN]> {
        [0, 1]
            .into_iter()
            .map(|key_set| KeySubStream {
                key_set,
                tx,
                sub_stream,
            })
            .find(|slot| self.active & (1 << slot.index()) != 0)
            .and_then(|slot| self.key(slot))
    }

    /// Applies KEY_PROG: stores `key` (wire order) in the target's slot. Returns the KP_ACK
    /// status: [`STATUS_UNSUPPORTED_VALUE`] while the port holds keys of another stream.
    pub fn program(&mut self, target: &KeyTarget, key: &[u8; KEY_LEN]) -> u8 {
        if self.stream_id.is_some_and(|id| id != target.stream_id) && self.programmed != 0 {
            return STATUS_UNSUPPORTED_VALUE;
        }
        self.stream_id = Some(target.stream_id);
        let index = target.key_sub_stream.index();
        if let Some(slot) = self.keys.get_mut(index as usize) {
            *slot = key_from_wire(key);
        }
        self.programmed |= 1 << index;
        STATUS_OK
    }

    /// Applies K_SET_GO: the target's key set goes into use for its slot.
    pub fn go(&mut self, target: &KeyTarget) -> Result<()> {
        let bit = 1u16 << target.key_sub_stream.index();
        if self.stream_id != Some(target.stream_id) || self.programmed & bit == 0 {
            return Err(Error::InvalidField("K_SET_GO target"));
        }
        // Going to one key set retires the other in the same slot.
        let other = 1u16 << ((target.key_sub_stream.index() + 6) % 12);
        self.active = (self.active | bit) & !other;
        Ok(())
    }

    /// Applies K_SET_STOP: the target's slot stops and its key is wiped.
    pub fn stop(&mut self, target: &KeyTarget) -> Result<()> {
        if self.stream_id != Some(target.stream_id) {
            return Err(Error::InvalidField("K_SET_STOP target"));
        }
        let index = target.key_sub_stream.index();
        let bit = 1u16 << index;
        self.active &= !bit;
        self.programmed &= !bit;
        if let Some(slot) = self.keys.get_mut(index as usize) {
            *slot = [0; KEY_LEN];
        }
        Ok(())
    }

    /// Whether every key byte of every slot is zero (nothing left after K_SET_STOP).
    pub fn wiped(&self) -> bool {
        self.programmed == 0 && self.keys.iter().flatten().all(|&b| b == 0)
    }
}

/// Device-side IDE_KM responder for a function with `PORTS` IDE ports
/// (PortIndex 0 is the function itself; a switch or root port model has
/// more). Each port has its own registers and key state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdeKmResponder<'a, const PORTS: usize = 1> {
    /// Device/function number reported by QUERY_RESP.
    pub dev_func: u8,
    /// Bus number reported by QUERY_RESP.
    pub bus: u8,
    /// Segment reported by QUERY_RESP.
    pub segment: u8,
    ports: [IdePort<'a>; PORTS],
}

impl<'a> IdeKmResponder<'a> {
    /// A function with one IDE port (PortIndex 0) and no keys.
    pub fn new(dev_func: u8, bus: u8, segment: u8, registers: &'a [u8]) -> Self {
        Self::with_ports(dev_func, bus, segment, [IdePort::new(registers)])
    }
}

impl<'a, const PORTS: usize> IdeKmResponder<'a, PORTS> {
    /// A function with the given ports, PortIndex 0 first.
    pub fn with_ports(dev_func: u8, bus: u8, segment: u8, ports: [IdePort<'a>; PORTS]) -> Self {
        Self {
            dev_func,
            bus,
            segment,
            ports,
        }
    }

    /// The port with PortIndex `index`.
    pub fn port(&self, index: u8) -> Option<&IdePort<'a>> {
        self.ports.get(usize::from(index))
    }

    /// Whether port 0's stream is keyed, see [`IdePort::stream_keyed`].
    pub fn stream_keyed(&self) -> Option<u8> {
        self.port(0).and_then(IdePort::stream_keyed)
    }

    /// Port 0's key in a slot, see [`IdePort::key`].
    pub fn key(&self, slot: KeySubStream) -> Option<&[u8; KEY_LEN]> {
        self.port(0).and_then(|p| p.key(slot))
    }

    fn port_mut(&mut self, index: u8) -> Result<&mut IdePort<'a>> {
        self.ports
            .get_mut(usize::from(index))
            .ok_or(Error::InvalidField("PortIndex"))
    }

    /// Handles one request object and writes the answer object.
    pub fn handle(&mut self, request: &[u8], w: &mut Writer<'_>) -> Result<()> {
        match Message::decode(request)? {
            Message::Query { port_index } => Message::QueryResp {
                port_index,
                dev_func: self.dev_func,
                bus: self.bus,
                segment: self.segment,
                // More than 256 ports cannot be addressed anyway.
                max_port_index: u8::try_from(PORTS.saturating_sub(1)).unwrap_or(u8::MAX),
                registers: self.port_mut(port_index)?.registers,
            }
            .write(w),
            Message::KeyProg { target, key, .. } => {
                let status = match self.port_mut(target.port_index) {
                    Ok(port) => port.program(&target, key),
                    Err(_) => STATUS_UNSUPPORTED_PORT,
                };
                Message::KpAck { target, status }.write(w)
            }
            Message::KSetGo(target) => {
                self.port_mut(target.port_index)?.go(&target)?;
                Message::KGoStopAck(target).write(w)
            }
            Message::KSetStop(target) => {
                self.port_mut(target.port_index)?.stop(&target)?;
                Message::KGoStopAck(target).write(w)
            }
            Message::QueryResp { .. } | Message::KpAck { .. } | Message::KGoStopAck(_) => {
                Err(Error::InvalidField("ObjectID"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Key byte order from tee-io-validator `doc/key_byte_order.md`: key
    /// bytes 00 01 .. 1f go on the wire as 1f 1e .. 00.
    #[test]
    fn golden_key_byte_order() {
        let mut key = [0u8; KEY_LEN];
        for (i, b) in key.iter_mut().enumerate() {
            *b = i as u8;
        }
        let wire = key_to_wire(&key);
        assert_eq!(wire[0], 0x1f);
        assert_eq!(&wire[..4], &[0x1f, 0x1e, 0x1d, 0x1c]);
        assert_eq!(&wire[28..], &[0x03, 0x02, 0x01, 0x00]);
        assert_eq!(key_from_wire(&wire), key);
        assert_eq!(
            ifv_to_wire(&[0, 0, 0, 0, 0, 0, 0, 1]),
            [1, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    /// KEY_PROG for stream 1, K0 RX PR, port 0 (PCIe IDE_KM KEY_PROG table):
    /// 02 00 00 01 00 00 00 | key(32) | ifv(8).
    #[test]
    fn golden_key_prog_and_ack() {
        let target = KeyTarget {
            stream_id: 1,
            key_sub_stream: KeySubStream {
                key_set: 0,
                tx: false,
                sub_stream: SubStream::Posted,
            },
            port_index: 0,
        };
        let key = [0xAA; KEY_LEN];
        let ifv = ifv_to_wire(&[0, 0, 0, 0, 0, 0, 0, 1]);
        let mut out = [0u8; 64];
        let len = super::super::wire::encode_into(&mut out, |w| {
            Message::KeyProg {
                target,
                key: &key,
                ifv: &ifv,
            }
            .write(w)
        })
        .unwrap();
        assert_eq!(len, 7 + 32 + 8);
        assert_eq!(&out[..7], &[0x02, 0, 0, 1, 0, 0x00, 0]);
        assert_eq!(
            Message::decode(&out[..len]),
            Ok(Message::KeyProg {
                target,
                key: &key,
                ifv: &ifv
            })
        );

        let tx_cpl_k1 = KeySubStream {
            key_set: 1,
            tx: true,
            sub_stream: SubStream::Completion,
        };
        assert_eq!(tx_cpl_k1.to_byte(), 0x23);
        let ack = [0x03, 0, 0, 1, STATUS_UNSUPPORTED_PORT, 0x23, 2];
        let target = KeyTarget {
            stream_id: 1,
            key_sub_stream: tx_cpl_k1,
            port_index: 2,
        };
        assert_eq!(
            Message::decode(&ack),
            Ok(Message::KpAck {
                target,
                status: STATUS_UNSUPPORTED_PORT
            })
        );
        assert_eq!(Message::decode(&ack[..6]), Err(Error::Truncated));
    }

    /// A function with two ports: QUERY_RESP names each port's registers
    /// and MaxPortIndex 1 (PCIe IDE_KM QUERY_RESP: ObjectID, Reserved,
    /// PortIndex, DevFuncNum, BusNum, Segment, MaxPortIndex, registers);
    /// keys go to the addressed port only; port 2 does not exist.
    #[test]
    fn ports_are_keyed_separately() {
        let regs0 = [0x10u8; 8];
        let regs1 = [0x11u8; 8];
        let mut ide =
            IdeKmResponder::with_ports(0x08, 3, 0, [IdePort::new(&regs0), IdePort::new(&regs1)]);
        let mut out = [0u8; 64];
        let mut req = [0u8; 64];
        let mut ask = |ide: &mut IdeKmResponder<'_, 2>, m: Message<'_>| {
            let len = super::super::wire::encode_into(&mut req, |w| m.write(w)).unwrap();
            let mut w = Writer::new(&mut out);
            ide.handle(&req[..len], &mut w)
                .map(|_| w.written().to_vec())
        };
        let rsp = ask(&mut ide, Message::Query { port_index: 1 }).unwrap();
        assert_eq!(&rsp[..7], &[QUERY_RESP, 0, 1, 0x08, 3, 0, 1]);
        assert_eq!(&rsp[7..], &regs1);
        assert_eq!(
            ask(&mut ide, Message::Query { port_index: 2 }),
            Err(Error::InvalidField("PortIndex"))
        );
        let key = [5u8; KEY_LEN];
        for port_index in [1, 2] {
            for tx in [false, true] {
                for sub_stream in SUB_STREAMS {
                    let target = KeyTarget {
                        stream_id: 4,
                        key_sub_stream: KeySubStream {
                            key_set: 0,
                            tx,
                            sub_stream,
                        },
                        port_index,
                    };
                    let ack = ask(
                        &mut ide,
                        Message::KeyProg {
                            target,
                            key: &key,
                            ifv: &[0; IFV_LEN],
                        },
                    )
                    .unwrap();
                    let status = if port_index == 1 {
                        STATUS_OK
                    } else {
                        STATUS_UNSUPPORTED_PORT
                    };
                    assert_eq!(ack[4], status);
                    if port_index == 1 {
                        ask(&mut ide, Message::KSetGo(target)).unwrap();
                    }
                }
            }
        }
        assert_eq!(ide.port(1).and_then(IdePort::stream_keyed), Some(4));
        assert_eq!(ide.stream_keyed(), None, "port 0 untouched");
    }

    #[test]
    fn stream_is_keyed_only_after_all_six_slots_go() {
        let regs = [0u8; 8];
        let mut port = IdeKmResponder::new(0, 1, 0, &regs);
        let mut out = [0u8; 64];
        let mut exchange = |port: &mut IdeKmResponder<'_>, m: Message<'_>| {
            let mut req = [0u8; 64];
            let len = super::super::wire::encode_into(&mut req, |w| m.write(w)).unwrap();
            port.handle(&req[..len], &mut Writer::new(&mut out))
                .map(|_| out[0])
        };
        let key = [7u8; KEY_LEN];
        let ifv = [0u8; IFV_LEN];
        let mut slots = [KeyTarget {
            stream_id: 3,
            key_sub_stream: KeySubStream {
                key_set: 0,
                tx: false,
                sub_stream: SubStream::Posted,
            },
            port_index: 0,
        }; 6];
        for (i, slot) in slots.iter_mut().enumerate() {
            slot.key_sub_stream = KeySubStream {
                key_set: 0,
                tx: i >= 3,
                sub_stream: SUB_STREAMS[i % 3],
            };
        }
        // GO before KEY_PROG is refused.
        assert!(exchange(&mut port, Message::KSetGo(slots[0])).is_err());
        for slot in slots {
            assert_eq!(
                exchange(
                    &mut port,
                    Message::KeyProg {
                        target: slot,
                        key: &key,
                        ifv: &ifv
                    }
                ),
                Ok(KP_ACK)
            );
            assert_eq!(port.stream_keyed(), None);
        }
        for slot in slots {
            assert_eq!(exchange(&mut port, Message::KSetGo(slot)), Ok(K_GOSTOP_ACK));
        }
        assert_eq!(port.stream_keyed(), Some(3));
        assert_eq!(
            port.key(slots[5].key_sub_stream),
            Some(&key_from_wire(&key))
        );
        assert_eq!(
            exchange(&mut port, Message::KSetStop(slots[2])),
            Ok(K_GOSTOP_ACK)
        );
        assert_eq!(port.stream_keyed(), None);
    }
}
